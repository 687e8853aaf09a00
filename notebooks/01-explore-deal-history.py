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
# # 01 · Explore the deal history
#
# What converts, before any model: win rates by ICP fit tier, lead source and industry; what leads did in the
# weeks before their deal was won or lost; and the leak audit, which finds the columns that give the outcome
# away.
#
# Every number comes from the `features/`, `models/` and `pipelines/` packages: this notebook only calls them
# and shows what they return. It runs on the built-in synthetic history unless `DATA_DIR` points at a folder
# of your own tables (`accounts`, `leads`, `activities`, `deals` as parquet or csv).

# %%
# Parameters. LEADSCORE_NOTEBOOK_SMALL=1 (set by the test suite) makes the data small and the run quick.
# ruff: noqa: E402
import os

SMALL = os.environ.get("LEADSCORE_NOTEBOOK_SMALL") == "1"
ACCOUNTS = 1500 if SMALL else 8000
MONTHS = 18 if SMALL else 24
SEED = 5 if SMALL else 7
DIRTY_ROWS = 5  # planted defects per kind, so that the data contract has something to catch
DATA_DIR = None  # e.g. "data/crm": explore your own tables instead of the synthetic history
WEEKS_BEFORE = 12  # activity pattern: weeks before the deal's creation ...
WEEKS_AFTER = 4  # ... and after it (what a leaky feature would see)

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from features.build import feature_groups, training_snapshots
from features.contracts import validate_tables
from features.history_stats import activity_by_week, activity_rate_ratio
from features.icp import win_rate_by_tier
from features.leak_audit import flagged_features, leak_audit
from features.synthetic import GeneratorConfig, generate_history
from models.evaluate import conversion_by
from models.scorer import feature_frame
from pipelines.io import read_tables
from pipelines.settings import load_config
from pipelines.train import mature_closed_deals
from pipelines.validate import quarantine_summary

pd.set_option("display.max_colwidth", 200)

# %% [markdown]
# ## The tables and the data contract
#
# Rows that break the contract go to the quarantine with the check they failed; every row read is either
# valid or quarantined.

# %%
if DATA_DIR is None:
    tables = generate_history(
        GeneratorConfig(accounts=ACCOUNTS, months=MONTHS, seed=SEED, dirty_rows=DIRTY_ROWS)
    ).tables()
else:
    tables = read_tables(Path(DATA_DIR))
validation = validate_tables(tables)
valid = validation.valid
display(validation.counts())
display(quarantine_summary(validation))

# %% [markdown]
# ## Closed deals, as the model sees them
#
# One row per won or lost deal, with its features as of the deal's creation and the ICP guardrail's fit tier.
# Deals too young to have closed honestly (`model.maturity_days`) are left out, as in training.

# %%
cfg = load_config()
closed, too_recent = mature_closed_deals(valid["deals"], cfg.model.maturity_days)
frame = feature_frame(valid, training_snapshots(closed), cfg.features, cfg.icp)
won = (closed["outcome"] == "won").to_numpy(dtype=int)
print(f"{len(closed):,} closed deals ({won.mean():.1%} won); {too_recent:,} too recent to use")

# %% [markdown]
# ## Win rates by fit tier, lead source and industry

# %%
by_tier = win_rate_by_tier(frame.assign(outcome=closed["outcome"].to_numpy()))
display(by_tier)

# %%
rates = {column: conversion_by(won, frame[column]) for column in ("lead_source", "industry")}
fig, axes = plt.subplots(1, 3, figsize=(15, 4))
axes[0].bar(by_tier["fit_tier"], by_tier["win_rate"])
axes[0].set_title("win rate by ICP fit tier")
for ax, (column, table) in zip(axes[1:], rates.items(), strict=True):
    table = table.sort_values("win_rate")
    ax.barh(table["group"], table["win_rate"])
    ax.set_title(f"win rate by {column}")
fig.tight_layout()
plt.show()
for column, table in rates.items():
    display(table.sort_values("win_rate", ascending=False).rename(columns={"group": column}))

# %% [markdown]
# ## What leads did before their deal was won or lost
#
# Mean activities per deal in each week around the deal's creation (week -1 is the 7 days just before it).
# Only the weeks before creation are fair game for features; the weeks after show why: won deals get a burst of
# buying activity, lost ones go quiet.

# %%
pattern = activity_by_week(valid["activities"], closed, weeks_before=WEEKS_BEFORE, weeks_after=WEEKS_AFTER)
shown = ["pricing_page", "demo_request", "email_click", "careers_page"]
fig, axes = plt.subplots(1, len(shown), figsize=(16, 3.5), sharex=True)
for ax, activity in zip(axes, shown, strict=True):
    for outcome in ("won", "lost"):
        line = pattern[(pattern["activity_type"] == activity) & (pattern["outcome"] == outcome)]
        ax.plot(line["week"], line["per_deal"], marker=".", label=outcome)
    ax.axvline(-0.5, color="grey", linestyle="--", linewidth=1)
    ax.set_title(activity)
    ax.set_xlabel("week relative to deal creation")
axes[0].set_ylabel("activities per deal")
axes[0].legend()
fig.tight_layout()
plt.show()

# %%
print("before the deal was created: activities per won deal vs per lost deal")
display(activity_rate_ratio(pattern[pattern["week"] < 0]))
print("after the deal was created (never visible to the model)")
display(activity_rate_ratio(pattern[pattern["week"] >= 0]))

# %% [markdown]
# ## The leak audit
#
# The model's features (built strictly before each deal's creation) next to columns that are only known
# later: the deal's own `amount`, `closed_at` and `lost_reason`, and a few activity features built by mistake
# as of the deal's close instead of its creation. The audit flags a column that alone separates won from
# lost, is filled in for one class only, or was recorded after the snapshot. It never drops anything: a
# flagged feature goes into `features.exclude_features` in your config if you agree.

# %%
names = feature_groups(cfg.features)["fit"] + feature_groups(cfg.features)["intent"]
at_close = feature_frame(
    valid, training_snapshots(closed).assign(snapshot_at=closed["closed_at"]), cfg.features, cfg.icp
)
mistaken = at_close[["n_pricing_page_30d", "n_activities_30d", "engagement_score"]].add_suffix("_at_close")
candidates = pd.concat([frame[names], mistaken, closed[["amount", "closed_at", "lost_reason"]]], axis=1)
audit = leak_audit(
    candidates,
    pd.Series(won),
    snapshot_at=frame["snapshot_at"],
    event_times={column: closed["closed_at"] for column in mistaken.columns},
)
print("flagged:", ", ".join(flagged_features(audit)))
display(audit[["feature", "kind", "auc", "flagged", "explanation"]].head(15))
