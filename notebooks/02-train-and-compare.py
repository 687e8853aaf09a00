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
# # 02 · Train on a window and compare
#
# Train the conversion model on the deals of a chosen window, then compare it on the same test rows with the
# points model, logistic regression, the current champion from the MLflow registry (when there is one) and,
# on synthetic data, the oracle (the true probabilities). Read the gains and calibration plots before you
# trust a number.
#
# The steps are the training pipeline's own stages (`pipelines.train`); nothing is registered unless
# `REGISTER` is set, so exploring here never moves the champion. MLflow is read from `MLFLOW_TRACKING_URI`, or
# the project's `mlflow/` store when it is not set.

# %%
# Parameters. LEADSCORE_NOTEBOOK_SMALL=1 (set by the test suite) makes the data small and the run quick.
# ruff: noqa: E402
import os

SMALL = os.environ.get("LEADSCORE_NOTEBOOK_SMALL") == "1"
ACCOUNTS = 1500 if SMALL else 8000
MONTHS = 18 if SMALL else 24
SEED = 5 if SMALL else 7
WINDOW_START = "2025-07-01"  # train on deals created from this date ...
WINDOW_END = None  # ... up to (not including) this one; None: no bound
# `key=value` overrides of the config, as `leadscore train --set` takes them
OVERRIDES = ["model.bootstrap_rounds=50"] if SMALL else []
REGISTER = False  # True: log the run, register the model and put it through the promotion gate

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from features.history_stats import deals_created_between
from features.icp import excluded_counts_frame
from features.synthetic import GeneratorConfig, generate_history
from models.evaluate import gains_table, reliability_table
from pipelines.settings import load_config, tracking_uri
from pipelines.tracking import load_champion_pair, log_training_run
from pipelines.train import (
    TrainResult,
    champion_to_compare,
    evaluate_scorer,
    shipped_scorer,
    summary_table,
    train_scorer,
    training_data,
)

# %% [markdown]
# ## The window
#
# Restricting the deals is what restricts the training window: each deal's features still see the whole
# history before its creation. Inside the window the split is out of time: train, then validation (early
# stopping, calibration, grade cut points), then the most recent deals as the test window.

# %%
history = generate_history(GeneratorConfig(accounts=ACCOUNTS, months=MONTHS, seed=SEED))
tables = deals_created_between(history.tables(), WINDOW_START, WINDOW_END)
cfg = load_config(overrides=OVERRIDES)
data = training_data(tables, cfg, history.truth)
print(f"{len(tables['deals']):,} deals created in the window; {len(data.frame):,} closed deals used")
print(
    f"left out: {data.too_recent:,} too recent, {data.excluded['total']:,} disqualified by the ICP guardrail"
)
display(excluded_counts_frame(data.excluded))

# %% [markdown]
# ## Train, and load the champion

# %%
scorer, split = train_scorer(data, cfg, cfg.registry.model_name)
display(pd.Series(split.summary(), name="split").to_frame())
# The champion as the gate scores it: the model that scores today, or its tested one (see README, the gate).
champion, champion_live = champion_to_compare(load_champion_pair(cfg.registry.model_name), data, split, cfg)
print(f"MLflow: {tracking_uri()}")
print("champion:", f"version {champion.model_version}" if champion is not None else "none registered yet")

# %% [markdown]
# ## Every contender on the same test rows
#
# AUC with its bootstrap interval, PR AUC, Brier score and expected calibration error (ECE), the lift in the
# top 10% and the share of all wins caught in the top 20%.

# %%
evaluation = evaluate_scorer(data, scorer, split, cfg, champion)
display(summary_table(evaluation))
if "oracle_auc" in evaluation.extra:
    print(f"oracle AUC (true probabilities): {evaluation.extra['oracle_auc']:.3f}")

# %% [markdown]
# ## Gains: how many of the wins the top of the list catches
#
# Leads ranked by each contender's score, cumulative share of the test window's wins caught. The diagonal is a
# random order; the points model ranks by its raw points.

# %%
scores = evaluation.test_scores
ranking = {
    "model": evaluation.gains,
    "points_model": evaluation.points_gains,
    **{
        name: gains_table(scores["won"], scores[name])
        for name in ("logistic_regression", "champion", "oracle")
        if name in scores.columns
    },
}
fig, ax = plt.subplots(figsize=(6, 5))
for name, gains in ranking.items():
    share = gains["cumulative_leads"] / gains["cumulative_leads"].iloc[-1]
    ax.plot([0, *share], [0, *gains["cumulative_capture"]], marker=".", label=name)
ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
ax.set_xlabel("share of leads, best first")
ax.set_ylabel("share of wins caught")
ax.legend()
plt.show()
display(evaluation.gains)

# %% [markdown]
# ## Calibration: does a score of 0.3 win 30% of the time?
#
# Per probability bin, the mean score against the observed win rate on the test window. Points on the
# diagonal are well calibrated; the calibrator was fitted on the validation window only.

# %%
calibration = {"model": evaluation.reliability}
if "champion" in scores.columns:
    calibration["champion"] = reliability_table(scores["won"], scores["champion"], cfg.model.ece_bins)
fig, ax = plt.subplots(figsize=(5, 5))
for name, table in calibration.items():
    ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=name)
ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
ax.set_xlabel("mean predicted probability")
ax.set_ylabel("observed win rate")
ax.legend()
plt.show()
display(evaluation.reliability)
report = scorer.model.calibration_report
print(f"calibration method: {report['method']} (requested: {report['requested']})")
display(pd.DataFrame({window: report[window] for window in ("valid", "test") if window in report}))

# %% [markdown]
# ## Grades and fit tiers on the test window

# %%
display(evaluation.by_grade.rename(columns={"group": "grade"}))
display(evaluation.by_tier.rename(columns={"group": "fit_tier"}))

# %% [markdown]
# ## Register (optional)
#
# With `REGISTER = True` the run is logged and the model registered as `challenger`; it becomes the champion
# only through the promotion gate, exactly as with `leadscore train`: the model registered is trained again on
# every deal, the test window included (`model.refit_on_test_window`), and the tested one above is logged
# beside it, whose numbers the gate compares.

# %%
if REGISTER:
    shipped = shipped_scorer(data, cfg, scorer, split)
    result = TrainResult(
        scorer=shipped,
        data=data,
        split=split,
        evaluation=evaluation,
        tested=scorer,
        champion=champion,
        champion_live=champion_live,
    )
    log_training_run(
        result,
        cfg,
        tables,
        location=f"notebooks/02-train-and-compare, deals created from {WINDOW_START} to {WINDOW_END}",
        config_path=None,
        force_reason=None,
        trigger="notebook 02-train-and-compare",
    )
    print(f"version {result.version}: {result.decision.summary()}")
else:
    print("not registered (REGISTER = False)")
