"""Intent features: what the lead did strictly before each snapshot.

The pairing of snapshots with activities is the merge on lead_id, done with sorted arrays: activities
and snapshots are sorted together by (lead, time), with a snapshot placed before any activity at the
same instant, so the activities a snapshot may see are one contiguous run of the sorted activities.
Expanding those runs gives one (snapshot row, activity) pair per visible activity, and every feature
is a bincount or a "last per row" over the pairs. Nothing is joined on strings beyond one hash lookup
of the lead ids, and no pair is made for an activity at or after its snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.config import FeatureConfig
from features.frames import Table
from features.text import FEW_VALUES
from features.vocab import ACTIVITY_TYPES, HIGH_INTENT_ACTIVITIES

NS_PER_DAY = 86_400 * 10**9
VELOCITY_RECENT_DAYS = 7
VELOCITY_BASELINE_DAYS = 30
ACTIVE_DAYS_WINDOW = 90


def intent_feature_names(config: FeatureConfig) -> list[str]:
    """The intent columns in output order."""
    names = []
    for window in config.windows_days:
        names += [f"n_{activity}_{window}d" for activity in ACTIVITY_TYPES]
        names.append(f"n_activities_{window}d")
    return [
        *names,
        "days_since_last_activity",
        "days_since_last_high_intent",
        "engagement_score",
        "velocity_7_30",
        "active_days_90d",
        "unsubscribed",
        "inactive_60d",
        "lead_age_days",
    ]


@dataclass(frozen=True)
class VisiblePairs:
    """One entry per (snapshot row, activity it may see), grouped by row, oldest activity first."""

    row: np.ndarray  # snapshot row number
    age_days: np.ndarray  # snapshot_at - occurred_at, in days (> 0)
    activity: np.ndarray  # index into ACTIVITY_TYPES
    day: np.ndarray  # calendar day of the activity (days since 1970-01-01)


def intent_columns(
    snapshots: Table, leads: Table, activities: Table, config: FeatureConfig
) -> dict[str, np.ndarray]:
    """The intent columns, one row per snapshot row, in intent_feature_names order.

    A snapshot of a lead created at or after snapshot_at sees no activity at all.
    """
    snapshot_ns = _nanoseconds(snapshots["snapshot_at"])
    if (snapshot_ns == _NAT).any():
        raise ValueError("snapshot_at has missing values")
    lead_id = snapshots["lead_id"]
    created = _lead_created(lead_id, leads)
    not_yet_created = (created != _NAT) & (created >= snapshot_ns)
    pairs = visible_pairs(lead_id, snapshot_ns, not_yet_created, activities)
    n_rows = len(snapshot_ns)
    columns: dict[str, np.ndarray] = {}
    for window in config.windows_days:
        counts = _counts_by_type(pairs, n_rows, pairs.age_days <= window)
        for j, activity in enumerate(ACTIVITY_TYPES):
            columns[f"n_{activity}_{window}d"] = counts[:, j]
        columns[f"n_activities_{window}d"] = counts.sum(axis=1)
    since_last = _days_since_last(pairs, n_rows, np.ones(len(pairs.row), dtype=bool))
    high = _HIGH_INTENT[pairs.activity]
    unsubscribe = pairs.activity == ACTIVITY_TYPES.index("unsubscribe")
    lead_age = np.where(created == _NAT, np.nan, (snapshot_ns - created) / NS_PER_DAY)
    columns |= {
        "days_since_last_activity": since_last,
        "days_since_last_high_intent": _days_since_last(pairs, n_rows, high),
        "engagement_score": _engagement(pairs, n_rows, config),
        "velocity_7_30": _velocity(pairs, n_rows),
        "active_days_90d": _active_days(pairs, n_rows, pairs.age_days <= ACTIVE_DAYS_WINDOW),
        "unsubscribed": np.bincount(pairs.row[unsubscribe], minlength=n_rows) > 0,
        "inactive_60d": np.isnan(since_last) | (since_last > config.inactive_after_days),
        "lead_age_days": np.clip(lead_age, 0, None),
    }
    return {name: columns[name] for name in intent_feature_names(config)}


def visible_pairs(
    lead_id: np.ndarray, snapshot_ns: np.ndarray, hide: np.ndarray, activities: Table
) -> VisiblePairs:
    """Pair each snapshot row with its lead's activities strictly before snapshot_at (none where hide).

    lead_id: the snapshots' lead ids.
    """
    snap_lead = lookup_codes(lead_id, lead_id)
    act_lead = lookup_codes(activities["lead_id"], lead_id)
    act_type = lookup_codes(activities["activity_type"], _ACTIVITY_TYPES)
    act_ns = _nanoseconds(activities["occurred_at"])
    keep = (act_lead >= 0) & (act_type >= 0) & (act_ns != _NAT)
    act_lead, act_type, act_ns = act_lead[keep], act_type[keep], act_ns[keep]

    n_act = len(act_ns)
    lead_key = np.concatenate([act_lead, snap_lead])
    time_key = np.concatenate([act_ns, snapshot_ns])
    is_snapshot = np.concatenate([np.zeros(n_act, dtype=np.int8), np.ones(len(snap_lead), dtype=np.int8)])
    # lexsort's last key is the primary one. At the same instant a snapshot sorts before the activity,
    # so it does not see it: only activities strictly before snapshot_at are visible.
    order = np.lexsort((1 - is_snapshot, time_key, lead_key))
    activities_up_to = np.cumsum(is_snapshot[order] == 0)
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    end = activities_up_to[position[n_act:]]
    sorted_act = order[is_snapshot[order] == 0]
    act_lead, act_type, act_ns = act_lead[sorted_act], act_type[sorted_act], act_ns[sorted_act]
    start = np.searchsorted(act_lead, snap_lead, side="left")
    start = np.where(hide, end, start)

    count = end - start
    row = np.repeat(np.arange(len(count)), count)
    first_of_row = np.cumsum(count) - count
    act = np.arange(count.sum()) - np.repeat(first_of_row - start, count)
    return VisiblePairs(
        row=row,
        age_days=(snapshot_ns[row] - act_ns[act]) / NS_PER_DAY,
        activity=act_type[act],
        day=act_ns[act] // NS_PER_DAY,
    )


def lookup_codes(values: np.ndarray, universe: np.ndarray) -> np.ndarray:
    """An integer code per value: its position among the distinct values of `universe`, -1 when absent.

    The distinct values, a missing one included, are numbered in order of first appearance; a missing
    value gets -1. Text is looked up with Arrow's hash table (about ten times faster than pandas on a
    million ids), a few values in a Python dict (Arrow's fixed cost per call would dominate), anything
    else with pandas.
    """
    if len(values) + len(universe) <= FEW_VALUES:
        return _few_codes(values.tolist(), universe.tolist())
    if values.dtype == object and universe.dtype == object:
        table = pc.unique(pa.array(universe, type=pa.large_string()))  # in order of first appearance
        found = pc.index_in(pa.array(values, type=pa.large_string()), value_set=table, skip_nulls=True)
        return np.asarray(found.fill_null(-1)).astype(np.int64)
    codes = pd.Index(pd.unique(universe)).get_indexer(values).astype(np.int64)
    return np.where(pd.isna(values), -1, codes)


def _few_codes(values: list[Any], universe: list[Any]) -> np.ndarray:
    """lookup_codes of a few values, in plain Python."""
    position: dict[Any, int] = {}
    for value in universe:
        if value is not None and value == value:  # NaN != NaN: a missing value takes a position, unnamed
            position.setdefault(value, len(position))
        else:
            position.setdefault(None, len(position))
    return np.array(
        [-1 if value is None or value != value else position.get(value, -1) for value in values],
        dtype=np.int64,
    )


def _counts_by_type(pairs: VisiblePairs, n_rows: int, mask: np.ndarray) -> np.ndarray:
    n_types = len(ACTIVITY_TYPES)
    cell = pairs.row[mask] * n_types + pairs.activity[mask]
    return np.bincount(cell, minlength=n_rows * n_types).reshape(n_rows, n_types)


def _days_since_last(pairs: VisiblePairs, n_rows: int, mask: np.ndarray) -> np.ndarray:
    """Age of the newest masked pair per row (pairs are oldest first within a row); NaN when none."""
    row, age = pairs.row[mask], pairs.age_days[mask]
    newest = np.append(row[1:] != row[:-1], True) if len(row) else np.zeros(0, dtype=bool)
    out = np.full(n_rows, np.nan)
    out[row[newest]] = age[newest]
    return out


def _engagement(pairs: VisiblePairs, n_rows: int, config: FeatureConfig) -> np.ndarray:
    """Sum over visible activities of weight * 0.5 ** (age / half-life); unweighted types count 0."""
    weight = np.zeros(len(ACTIVITY_TYPES))
    half_life = np.ones(len(ACTIVITY_TYPES))
    for j, activity in enumerate(ACTIVITY_TYPES):
        if activity in config.activity_weights:
            weight[j] = config.activity_weights[activity].weight
            half_life[j] = config.activity_weights[activity].half_life_days
    decayed = weight[pairs.activity] * np.exp2(-pairs.age_days / half_life[pairs.activity])
    return np.bincount(pairs.row, weights=decayed, minlength=n_rows).astype(float)


def _velocity(pairs: VisiblePairs, n_rows: int) -> np.ndarray:
    """Activities in the last 7 days over (activities in the 30 days before those 7 + 1)."""
    recent_mask = pairs.age_days <= VELOCITY_RECENT_DAYS
    baseline_mask = ~recent_mask & (pairs.age_days <= VELOCITY_RECENT_DAYS + VELOCITY_BASELINE_DAYS)
    recent = np.bincount(pairs.row[recent_mask], minlength=n_rows)
    baseline = np.bincount(pairs.row[baseline_mask], minlength=n_rows)
    return recent / (baseline + 1.0)


def _active_days(pairs: VisiblePairs, n_rows: int, mask: np.ndarray) -> np.ndarray:
    """Distinct calendar days with a masked activity per row (days are sorted within a row)."""
    row, day = pairs.row[mask], pairs.day[mask]
    new_day = np.ones(len(row), dtype=bool)
    new_day[1:] = (row[1:] != row[:-1]) | (day[1:] != day[:-1])
    return np.bincount(row[new_day], minlength=n_rows)


_NAT = np.iinfo(np.int64).min
_ACTIVITY_TYPES = np.array(ACTIVITY_TYPES, dtype=object)
_HIGH_INTENT = np.isin(_ACTIVITY_TYPES, HIGH_INTENT_ACTIVITIES)  # per activity type code


def _nanoseconds(times: np.ndarray) -> np.ndarray:
    """Naive times as int64 nanoseconds since the epoch (NaT as the int64 minimum), any unit."""
    if times.dtype != "datetime64[ns]":
        times = pd.to_datetime(pd.Series(times, copy=False)).to_numpy(dtype="datetime64[ns]")
    return times.view(np.int64)


def _lead_created(lead_id: np.ndarray, leads: Table) -> np.ndarray:
    """created_at (ns) of each snapshot's lead, from the lead's first row; NaT for an unknown lead."""
    lead_ids = leads["lead_id"]
    row_code = lookup_codes(lead_ids, lead_ids)
    rows = np.flatnonzero(row_code >= 0)[::-1]  # leads without a lead_id have no code
    first_row = np.zeros(row_code.max() + 1 if len(rows) else 0, dtype=np.int64)
    first_row[row_code[rows]] = rows  # rows run backwards and the last write wins: the first row per lead
    created = np.append(_nanoseconds(leads["created_at"])[first_row], _NAT)
    return created[lookup_codes(lead_id, lead_ids)]  # code -1 (unknown lead) picks NaT
