"""The feature frame: fit and intent features of a lead at a point in time, for training and scoring.

One implementation serves both: training builds it at each deal's created_at, scoring at `as_of`. The
month of that snapshot (features.season) joins the fit group: at scoring it is the same for every lead, so it
moves their level, not their intent band.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.config import FeatureConfig, ICPConfig
from features.fit import FIT_FEATURES, fit_columns
from features.frames import Table, as_table
from features.intent import intent_columns, intent_feature_names
from features.season import SEASON_FEATURES, month_of_year

KEY_COLUMNS = ("lead_id", "snapshot_at", "deal_id")
CATEGORICAL_FEATURES = (
    "industry",
    "employee_band",
    "revenue_band",
    "country",
    "region",
    "seniority",
    "department",
    "email_domain_type",
    "lead_source",
)


def build_features(
    tables: Mapping[str, Table | pd.DataFrame],
    snapshots: Table | pd.DataFrame,
    config: FeatureConfig,
    icp: ICPConfig,
) -> Table:
    """One row per snapshot (same order): keys, fit features, the snapshot's month, intent features.

    `snapshots` has lead_id and snapshot_at (deal_id is carried through when present). Only events
    strictly before snapshot_at are visible. All columns are built, also those in
    config.exclude_features; feature_groups leaves those out of the model's inputs. Frames are read as
    tables here (features.frames): the feature code reads arrays only.
    """
    snapshots = as_table(snapshots)
    missing = [c for c in ("lead_id", "snapshot_at") if c not in snapshots]
    if missing:
        raise ValueError(f"snapshots lacks columns {missing}")
    leads, accounts, activities = (as_table(tables[name]) for name in ("leads", "accounts", "activities"))
    keys = {c: snapshots[c] for c in KEY_COLUMNS if c in snapshots}
    fit = fit_columns(snapshots, leads, accounts, config, icp)
    intent = intent_columns(snapshots, leads, activities, config)
    season = {"month_of_year": month_of_year(snapshots["snapshot_at"])}
    return Table({**keys, **fit, **season, **intent}, snapshots.n_rows)


def training_snapshots(deals: pd.DataFrame) -> pd.DataFrame:
    """One snapshot per deal, at the moment the deal was created."""
    return pd.DataFrame(
        {
            "deal_id": deals["deal_id"],
            "lead_id": deals["lead_id"],
            "snapshot_at": pd.to_datetime(deals["created_at"]),
        }
    ).reset_index(drop=True)


def scoring_snapshots(leads: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """One snapshot per lead, all at `as_of`."""
    lead_id = leads["lead_id"].reset_index(drop=True)
    return pd.DataFrame(
        {"lead_id": lead_id, "snapshot_at": pd.Series(pd.Timestamp(as_of), index=lead_id.index)}
    )


def feature_groups(config: FeatureConfig) -> dict[str, list[str]]:
    """The model's input columns by kind, without config.exclude_features."""
    excluded = set(config.exclude_features)
    return {
        "fit": [c for c in (*FIT_FEATURES, *SEASON_FEATURES) if c not in excluded],
        "intent": [c for c in intent_feature_names(config) if c not in excluded],
    }
