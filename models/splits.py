"""Honest train / validation / test splits: out of time by default, grouped by account without dates.

Indices are integer positions (for `frame.iloc`), sorted ascending, and the three windows never overlap.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from features.frames import naive_times
from models.config import SplitConfig
from models.minimum_data import InsufficientDataError


@dataclass(frozen=True)
class Split:
    """Positions of the train, validation and test rows, and how they were chosen (for reporting)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    method: str
    # Out of time only: train [train_start, valid_start), valid [valid_start, test_start),
    # test [test_start, test_end].
    train_start: pd.Timestamp | None = None
    valid_start: pd.Timestamp | None = None
    test_start: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Rows before the test window that the tested model does not learn: their outcome was not known on the
    # test window's first day (known_at_test_start). The model that ships learns them (refit_split).
    not_known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def summary(self) -> dict[str, Any]:
        """Row counts and window boundaries, ready to log as parameters."""
        out: dict[str, Any] = {
            "split_method": self.method,
            "n_train": len(self.train),
            "n_valid": len(self.valid),
            "n_test": len(self.test),
        }
        if len(self.not_known):
            out["n_not_known"] = len(self.not_known)
        for name in ("train_start", "valid_start", "test_start", "test_end"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value.isoformat()
        out.update(self.extra)
        return out


def _as_timestamps(snapshot_at: pd.Series | np.ndarray | pd.DatetimeIndex) -> pd.Series:
    times = pd.Series(pd.to_datetime(np.asarray(snapshot_at)))
    if times.isna().any():
        raise ValueError(
            f"{int(times.isna().sum())} rows have no snapshot time; an out-of-time split needs a date on "
            "every row (drop them, or use split.method: grouped_random for data without dates)"
        )
    return times


def _check_not_empty(train: np.ndarray, valid: np.ndarray, test: np.ndarray, hint: str) -> None:
    empty = [name for name, idx in (("train", train), ("valid", valid), ("test", test)) if len(idx) == 0]
    if empty:
        # Too little data for the windows asked (exit 4), not a programming error.
        raise InsufficientDataError(f"the split leaves the {', '.join(empty)} window empty; {hint}")


def _split_at(times: pd.Series, valid_start: pd.Timestamp, test_start: pd.Timestamp, method: str) -> Split:
    values = times.to_numpy()
    train = np.flatnonzero(values < valid_start.to_datetime64())
    valid = np.flatnonzero((values >= valid_start.to_datetime64()) & (values < test_start.to_datetime64()))
    test = np.flatnonzero(values >= test_start.to_datetime64())
    _check_not_empty(
        train,
        valid,
        test,
        f"train holds the rows before {valid_start:%Y-%m-%d}, validation those up to {test_start:%Y-%m-%d}, "
        "test the later ones: move the cut dates (model.split.valid_start and test_start; `leadscore retrain` "
        "sets them from --as-of and retrain.trailing_quarters) or change the fractions",
    )
    return Split(
        train=train,
        valid=valid,
        test=test,
        method=method,
        train_start=pd.Timestamp(times.min()),
        valid_start=valid_start,
        test_start=test_start,
        test_end=pd.Timestamp(times.max()),
    )


def out_of_time_split(
    snapshot_at: pd.Series | np.ndarray | pd.DatetimeIndex, valid_fraction: float, test_fraction: float
) -> Split:
    """Oldest rows to train, the next `valid_fraction` to validation, the newest `test_fraction` to test.

    Cut points are timestamps, so rows sharing a snapshot time always land in the same window; the realised
    fractions can therefore differ a little from the requested ones when many rows share a time.
    """
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError("valid_fraction and test_fraction must be in (0, 1) with a sum below 1")
    times = _as_timestamps(snapshot_at)
    n = len(times)
    unique_times, counts = np.unique(times.to_numpy(), return_counts=True)
    rows_before = np.concatenate([[0], np.cumsum(counts)[:-1]])  # rows strictly older than each unique time

    def first_time_with_share_before(share: float) -> pd.Timestamp:
        # The earliest time with at least `share` of the rows strictly before it.
        position = int(np.searchsorted(rows_before, share * n, side="left"))
        position = min(position, len(unique_times) - 1)
        return pd.Timestamp(unique_times[position])

    valid_start = first_time_with_share_before(1 - valid_fraction - test_fraction)
    test_start = first_time_with_share_before(1 - test_fraction)
    if test_start <= valid_start:  # not enough data to split (exit 4), never a traceback
        raise InsufficientDataError(
            f"too few distinct snapshot times to cut train, validation and test windows out of time (the "
            f"{n:,} rows were created at {len(unique_times):,} distinct times); give explicit cut dates "
            "(model.split.valid_start and test_start) or --set model.split.method=grouped_random"
        )
    return _split_at(times, valid_start, test_start, "out_of_time")


def out_of_time_split_at(
    snapshot_at: pd.Series | np.ndarray | pd.DatetimeIndex,
    valid_start: pd.Timestamp | str,
    test_start: pd.Timestamp | str,
) -> Split:
    """Out-of-time split at explicit cut dates: train < valid_start <= valid < test_start <= test."""
    valid_start, test_start = pd.Timestamp(valid_start), pd.Timestamp(test_start)
    if valid_start >= test_start:
        raise ValueError("valid_start must be earlier than test_start")
    return _split_at(_as_timestamps(snapshot_at), valid_start, test_start, "out_of_time")


def refit_split(split: Split) -> Split:
    """The split of the model that ships (model.refit_on_test_window): the tested split's train rows, and its
    validation and test rows as the newest learning rows, so nothing is held out. Its summary keeps the
    tested split's starts (test_start: where the tested model's test window began) and adds `refit` and
    `learned_end`, the newest creation time learnt from (promotion.learned_window reads either)."""
    extra: dict[str, Any] = {**split.extra, "refit": True}
    if split.test_end is not None:
        extra["learned_end"] = split.test_end.isoformat()
    return Split(
        train=split.train,
        valid=np.sort(np.concatenate([split.valid, split.not_known, split.test])),
        test=split.test[:0],
        method=split.method,
        train_start=split.train_start,
        valid_start=split.valid_start,
        test_start=split.test_start,  # what the tested model left out: its window for the gate
        extra=extra,
    )


def known_before(
    created: pd.Series | np.ndarray, closed: pd.Series | np.ndarray, start: pd.Timestamp, maturity_days: int
) -> np.ndarray:
    """Which rows `leadscore train` could have learnt from on the day `start`: closed before it, and created
    at least `maturity_days` before it (training's maturity rule, which it applies from the newest deal)."""
    created_at, closed_at = naive_times(created), naive_times(closed)
    horizon = (start - pd.Timedelta(days=maturity_days)).to_datetime64()
    return ~pd.isna(closed_at) & (closed_at < start.to_datetime64()) & (created_at <= horizon)


def known_at_test_start(
    split: Split, created: pd.Series | np.ndarray, closed: pd.Series | np.ndarray, maturity_days: int
) -> Split:
    """The split whose training and validation rows are those known on its test window's first day
    (known_before); the others move to `not_known`. Without it the tested model learnt outcomes that came
    after its test window began, as no model that scores that window could have: on a market that drifts,
    those late outcomes carry the test window's own base rate and the gate and the card measured a model
    better calibrated than the one users get. A split without a dated test window is returned as it is."""
    if split.test_start is None or len(split.test) == 0:
        return split
    known = known_before(created, closed, split.test_start, maturity_days)
    train, valid = split.train[known[split.train]], split.valid[known[split.valid]]
    not_known = np.sort(np.concatenate([split.train[~known[split.train]], split.valid[~known[split.valid]]]))
    return replace(split, train=train, valid=valid, not_known=not_known)


def seeded_hash(keys: np.ndarray, seed: int) -> np.ndarray:
    """A 64-bit hash of each text key, salted with `seed` (SipHash, the same on every run and machine)."""
    salt = hashlib.blake2b(str(seed).encode(), digest_size=8).hexdigest()  # 16 characters, as pandas needs
    return pd.util.hash_array(np.asarray(keys, dtype=object), hash_key=salt, categorize=False)


def grouped_random_split(
    groups: pd.Series | np.ndarray, valid_fraction: float, test_fraction: float, seed: int
) -> Split:
    """Whole groups (accounts) drawn at random into test, validation and train, so no group sits on two sides.

    Groups are ordered by a hash of their key salted with `seed` and taken in that order until each window
    holds about its share of the rows. A group's place in that order does not depend on the other groups, so
    an export that grew keeps its test window nearly whole: a shuffle of the sorted groups drew a new one,
    half of whose rows the previous model had learnt from, and the gate compared a challenger with a champion
    scored on its own training rows. Rows with a missing group are each treated as a group of their own.
    """
    if not (0 < valid_fraction < 1 and 0 < test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError("valid_fraction and test_fraction must be in (0, 1) with a sum below 1")
    keys = pd.Series(np.asarray(groups, dtype=object)).astype("str")
    missing = keys.isna().to_numpy()
    keys = keys.where(~missing, "\x00missing-" + pd.Series(np.arange(len(keys)), dtype="str"))
    # Sorted unique labels first, so the result does not depend on the row order, only on the seed.
    labels, codes = np.unique(keys.to_numpy(dtype=object), return_inverse=True)
    n_groups = len(labels)
    if n_groups < 3:
        raise ValueError(f"a grouped split needs at least 3 groups, got {n_groups}")
    order = np.argsort(seeded_hash(labels, seed), kind="stable")
    rows_per_group = np.bincount(codes, minlength=n_groups)[order]
    share_before = np.concatenate([[0], np.cumsum(rows_per_group)[:-1]]) / len(keys)
    window_of_ranked = np.where(
        share_before < test_fraction, 2, np.where(share_before < test_fraction + valid_fraction, 1, 0)
    )
    window_of_group = np.empty(n_groups, dtype=int)
    window_of_group[order] = window_of_ranked
    window = window_of_group[codes]
    train, valid, test = (np.flatnonzero(window == w) for w in (0, 1, 2))
    _check_not_empty(train, valid, test, "there are too few groups for these fractions")
    return Split(
        train=train,
        valid=valid,
        test=test,
        method="grouped_random",
        extra={"n_groups": int(n_groups), "seed": int(seed)},
    )


def split_from_config(
    cfg: SplitConfig,
    *,
    snapshot_at: pd.Series | np.ndarray | None = None,
    groups: pd.Series | np.ndarray | None = None,
    seed: int = 0,
) -> Split:
    """The split the configuration asks for, with a clear error when the needed column is missing."""
    if cfg.method == "out_of_time":
        if snapshot_at is None:
            raise ValueError(
                "split.method is out_of_time but the data has no snapshot dates; use grouped_random"
            )
        if cfg.valid_start is not None and cfg.test_start is not None:
            return out_of_time_split_at(
                snapshot_at, pd.Timestamp(cfg.valid_start), pd.Timestamp(cfg.test_start)
            )
        return out_of_time_split(snapshot_at, cfg.valid_fraction, cfg.test_fraction)
    if groups is None:
        raise ValueError("split.method is grouped_random but no group column (account_id) was given")
    return grouped_random_split(groups, cfg.valid_fraction, cfg.test_fraction, seed)
