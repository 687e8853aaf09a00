# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Explain and review
#
# What the model learned and whether a sales rep would agree: the SHAP summary (per feature and per business
# concept), example leads with the reasons they are shown, performance per segment, and the model card.
#
# The model is trained here as `leadscore train` would train it, without registering anything; the
# contributions are LightGBM's TreeSHAP values in log-odds (`TrainedModel.contributions`).

# %%
# Parameters. LEADSCORE_NOTEBOOK_SMALL=1 (set by the test suite) makes the data small and the run quick.
# ruff: noqa: E402
import os

SMALL = os.environ.get("LEADSCORE_NOTEBOOK_SMALL") == "1"
ACCOUNTS = 1500 if SMALL else 8000
MONTHS = 18 if SMALL else 24
SEED = 5 if SMALL else 7
# `key=value` overrides of the config, as `leadscore train --set` takes them
OVERRIDES = ["model.bootstrap_rounds=50", "model.segment_min_rows=30"] if SMALL else []
EXAMPLES = 5  # leads shown from the top of the list

# %%
import warnings
from html import escape

import matplotlib.pyplot as plt
import pandas as pd
import shap
from IPython.display import HTML, display

from features.build import scoring_snapshots
from features.synthetic import GeneratorConfig, generate_history
from models.card import render_card
from models.explain import concept_contributions
from pipelines.card import card_data_for
from pipelines.score import run_score, top_leads
from pipelines.settings import load_config
from pipelines.train import run_train

pd.set_option("display.max_colwidth", 300)

# %%
generator = GeneratorConfig(accounts=ACCOUNTS, months=MONTHS, seed=SEED)
history = generate_history(generator)
tables = history.tables()
cfg = load_config(overrides=OVERRIDES)
result = run_train(tables, cfg, truth=history.truth, register=False)
model = result.scorer.model
test = result.data.frame.iloc[result.split.test]
contributions = model.contributions(test)
print(
    f"trained on {result.split.summary()['n_train']:,} deals; explaining the {len(test):,} of the test window"
)

# %% [markdown]
# ## SHAP summary
#
# Each dot is a test-window deal; its position is how much the feature moved the deal's log-odds, its colour
# the feature's value (grey: a category). Features are ordered by mean absolute contribution.

# %%
shap.summary_plot(
    contributions[model.feature_names].to_numpy(),
    model.matrix(test)[model.feature_names],  # a category's win-rate column is folded into the category
    max_display=15,
    show=False,
)
plt.show()

# %% [markdown]
# The same contributions summed per business concept (all the pricing-page windows are one concept, and so
# on): the unit in which reasons are written.

# %%
by_concept = concept_contributions(contributions, model.feature_names)
strength = by_concept.abs().mean().sort_values()
fig, ax = plt.subplots(figsize=(6, 6))
ax.barh(strength.index, strength.to_numpy())
ax.set_xlabel("mean |contribution| (log-odds)")
ax.set_title("what drives the score, per concept")
plt.show()
display(model.feature_importance().head(15))

# %% [markdown]
# ## Example leads with their reasons
#
# The open leads scored as of the end of the history, as `leadscore score` scores them: best first, every
# qualified lead above every disqualified one. Reasons are the strongest concepts for and against, in words.

# %%
as_of = pd.Timestamp(generator.end)
scored = run_score(result.scorer, tables, as_of, output=None, chunk_size=cfg.scoring.chunk_size)
scores = scored.scores
display(scored.accounting)
display(top_leads(scores, EXAMPLES))
display(
    scores.loc[scores["disqualified"], ["lead_id", "score", "grade", "disqualify_reasons", "reasons"]].head(3)
)

# %% [markdown]
# One lead up close: what pushed its score up and down, per concept (log-odds, against the average deal).

# %%
lead_id = scores["lead_id"].iloc[0]
leads = tables["leads"]
lead = result.scorer.feature_frame(tables, scoring_snapshots(leads[leads["lead_id"] == lead_id], as_of))
lead_concepts = concept_contributions(model.contributions(lead), model.feature_names).iloc[0]
lead_concepts = lead_concepts[lead_concepts.abs() >= 0.02].sort_values()
fig, ax = plt.subplots(figsize=(6, 4))
ax.barh(
    lead_concepts.index,
    lead_concepts.to_numpy(),
    color=lead_concepts.gt(0).map({True: "tab:green", False: "tab:red"}),
)
ax.set_xlabel("contribution (log-odds)")
ax.set_title(f"lead {lead_id}: score {scores['score'].iloc[0]:.2f}, grade {scores['grade'].iloc[0]}")
plt.show()
print(scores["reasons"].iloc[0])

# %% [markdown]
# ## Segment performance on the test window
#
# Segments under `model.segment_min_rows` deals get counts but no metrics. A segment with a much lower AUC, or
# a mean prediction far from its win rate, is where the model should not be trusted blindly.

# %%
segments = result.evaluation.segments
display(segments)
measured = segments.dropna(subset=["roc_auc"])
fig, ax = plt.subplots(figsize=(7, 0.3 * len(measured) + 1))
ax.barh(measured["segment"] + ": " + measured["value"], measured["roc_auc"])
ax.axvline(result.evaluation.metrics()["roc_auc"], color="grey", linestyle="--", label="all test deals")
ax.set_xlim(0.5, 1)
ax.set_xlabel("ROC AUC")
ax.legend(loc="lower right")
plt.show()
display(result.evaluation.by_grade.rename(columns={"group": "grade"}))
display(result.evaluation.by_tier.rename(columns={"group": "fit_tier"}))

# %% [markdown]
# ## The model card
#
# The card sales leadership reads, from the same training result: summary, intended use, data, performance
# against the points model, drivers, drift and limitations. It is shown in a frame so that its styles stay
# inside it; `render_card` also returns a Markdown twin.

# %%
card = card_data_for(result, cfg)
card_html, card_markdown = render_card(card)
warnings.filterwarnings("ignore", message="Consider using IPython.display.IFrame")  # srcdoc needs HTML
display(HTML(f'<iframe srcdoc="{escape(card_html)}" style="width: 100%; height: 900px; border: 0"></iframe>'))
