"""Descriptive statistics of a CRM history for exploration: what happened around won and lost deals.

Frames in, frames out; the notebooks call these so that they hold no logic of their own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_WEEK = pd.Timedelta(days=7)


def deals_created_between(
    tables: dict[str, pd.DataFrame],
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables with only the deals created in [start, end) (either bound may be None: open).

    Accounts, leads and activities are kept whole: features only ever look before a deal's creation, so
    restricting the deals is what restricts a training window.
    """
    deals = tables["deals"]
    created = pd.to_datetime(deals["created_at"])
    keep = pd.Series(True, index=deals.index)
    if start is not None:
        keep &= created >= pd.Timestamp(start)
    if end is not None:
        keep &= created < pd.Timestamp(end)
    return {**tables, "deals": deals.loc[keep].reset_index(drop=True)}


def activity_by_week(
    activities: pd.DataFrame,
    deals: pd.DataFrame,
    weeks_before: int = 12,
    weeks_after: int = 0,
    activity_types: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Mean activities per deal of each type, per week relative to the deal's creation, by outcome.

    `week` -1 is the 7 days just before the deal was created, -2 the 7 days before those, and so on; week 0 is
    the 7 days from creation on (shown only with `weeks_after` > 0: activity after creation is what a leaky
    feature sees). A lead's activities count towards each of its deals. The grid is complete: every outcome
    of `deals`, every week in [-weeks_before, weeks_after) and every activity type (those seen, or
    `activity_types`), with zeros where nothing happened.
    Columns: outcome, week, activity_type, deals (deals with that outcome), activities, per_deal.
    """
    if weeks_before < 0 or weeks_after < 0:
        raise ValueError("weeks_before and weeks_after must be >= 0")
    outcome_deals = deals["outcome"].astype("str").value_counts().sort_index()
    types = (
        list(activity_types) if activity_types is not None else sorted(activities["activity_type"].unique())
    )
    joined = activities[["lead_id", "occurred_at", "activity_type"]].merge(
        deals[["lead_id", "created_at", "outcome"]], on="lead_id", how="inner"
    )
    offset = pd.to_datetime(joined["occurred_at"]) - pd.to_datetime(joined["created_at"])
    week = np.floor(offset / _WEEK)
    in_range = (week >= -weeks_before) & (week < weeks_after) & joined["activity_type"].isin(types)
    counts = (
        pd.DataFrame(
            {
                "outcome": joined.loc[in_range, "outcome"].astype("str"),
                "week": week[in_range].astype(int),
                "activity_type": joined.loc[in_range, "activity_type"].astype("str"),
            }
        )
        .groupby(["outcome", "week", "activity_type"])
        .size()
    )
    grid = pd.MultiIndex.from_product(
        [outcome_deals.index, range(-weeks_before, weeks_after), types],
        names=["outcome", "week", "activity_type"],
    )
    table = counts.reindex(grid, fill_value=0).rename("activities").reset_index()
    table["week"] = table["week"].astype(int)
    table["outcome"] = table["outcome"].astype("str")
    table["activity_type"] = table["activity_type"].astype("str")
    table.insert(3, "deals", table["outcome"].map(outcome_deals).astype(int))
    table["activities"] = table["activities"].astype(int)
    table["per_deal"] = table["activities"] / table["deals"]
    return table


def activity_rate_ratio(
    pattern: pd.DataFrame, numerator: str = "won", denominator: str = "lost"
) -> pd.DataFrame:
    """Per activity type, activities per deal over the weeks of `pattern` (from activity_by_week) for each of
    two outcomes, and their ratio (how much more often the `numerator` deals did it), highest ratio first."""
    per_type = (
        pattern.groupby(["activity_type", "outcome"])["activities"].sum().unstack("outcome", fill_value=0)
    )
    deals = pattern.drop_duplicates("outcome").set_index("outcome")["deals"]
    for outcome in (numerator, denominator):
        if outcome not in per_type.columns:
            raise ValueError(f"no deals with outcome {outcome!r} in the pattern")
    table = pd.DataFrame(
        {
            "activity_type": per_type.index.astype("str"),
            f"per_{numerator}_deal": (per_type[numerator] / deals[numerator]).to_numpy(dtype=float),
            f"per_{denominator}_deal": (per_type[denominator] / deals[denominator]).to_numpy(dtype=float),
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ratio"] = table[f"per_{numerator}_deal"] / table[f"per_{denominator}_deal"]
    return table.sort_values("ratio", ascending=False, kind="stable").reset_index(drop=True)
