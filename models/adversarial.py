"""The adversarial check: which features tell the most recent labelled window from the older rows?

A feature that does so nearly perfectly on its own identifies time rather than the lead: an absolute date or
calendar month (its latest levels were never seen before), a macro series or counter that trends. Trees
learn such a feature as "which period was this", which says nothing about next quarter's leads, so the
training drops it by default (model.drift in the config).

The measure is each feature's own ROC AUC at separating recent (1) from older (0) rows, folded to >= 0.5:
categories by their level's smoothed share of recent rows (a level only the recent window has scores high);
numbers by their value (missing below every number), or, when that separates better, by their value's
share of recent rows among the other half of the rows: a number that is the same for every row of a period
and differs between periods (a monthly price index, a campaign wave) names the period without trending,
and trees read it as "which month was this" just as they would a calendar month.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.evaluate import roc_auc

_SMOOTHING = 10.0  # pseudo-rows at the overall recent share, so a level seen a few times scores near it
# A number's value shared by fewer rows than this (in the other half) names a lead or an account, whose
# leads often arrive together, not a period: it scores the overall share.
_PERIOD_MIN_ROWS = 30


def _level_scores(
    codes: np.ndarray, recent: np.ndarray, cross_fitted: bool = False, min_rows: int = 0
) -> np.ndarray:
    """Each row's level's smoothed share of recent rows (`codes`: the level of each row, from 0). With
    `cross_fitted`, the share among the other half of the rows (alternate positions), so a row never counts
    itself and the rows of one level are not told apart by their own labels (leaving one row out would);
    a level with fewer than `min_rows` rows there scores the overall share."""
    flags = recent.astype(float)
    prior = _SMOOTHING * recent.mean()
    levels = int(codes.max()) + 1
    if not cross_fitted:
        n, k = np.bincount(codes, minlength=levels), np.bincount(codes, weights=flags, minlength=levels)
        return ((k + prior) / (n + _SMOOTHING))[codes]
    half = np.arange(len(codes)) % 2 == 1
    scores = np.empty(len(codes))
    for rows, others in ((half, ~half), (~half, half)):
        n = np.bincount(codes[others], minlength=levels)
        k = np.bincount(codes[others], weights=flags[others], minlength=levels)
        share = np.where(n >= min_rows, (k + prior) / (n + _SMOOTHING), recent.mean())
        scores[rows] = share[codes[rows]]
    return scores


def _category_codes(values: pd.Series) -> np.ndarray:
    return pd.factorize(values.astype("str").fillna("\x00missing").to_numpy(dtype=object))[0]


def _folded_auc(recent: np.ndarray, score: np.ndarray) -> float:
    auc = roc_auc(recent.astype(int), score)
    return max(auc, 1.0 - auc)


def _number_scores(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    finite = numbers[np.isfinite(numbers)]
    floor = (finite.min() - 1.0) if len(finite) else 0.0
    return np.where(np.isnan(numbers), floor, numbers)


def adversarial_auc(
    frame: pd.DataFrame, recent: np.ndarray, feature_names: Sequence[str], categorical: Sequence[str]
) -> pd.Series:
    """Per feature, its AUC (>= 0.5) at telling rows with `recent` true from the rest; highest first."""
    recent = np.asarray(recent, dtype=bool)
    if recent.all() or not recent.any():
        raise ValueError("the adversarial check needs both recent and older rows")
    aucs = {}
    for name in feature_names:  # a loop over the features, each vectorised over the rows
        values = frame[name]
        is_category = name in set(categorical) or not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        )
        if is_category:
            aucs[name] = _folded_auc(recent, _level_scores(_category_codes(values), recent))
        else:
            numbers = _number_scores(values)
            codes = pd.factorize(numbers)[0]
            by_value = _level_scores(codes, recent, cross_fitted=True, min_rows=_PERIOD_MIN_ROWS)
            aucs[name] = max(_folded_auc(recent, numbers), _folded_auc(recent, by_value))
    return pd.Series(aucs, dtype=float).sort_values(ascending=False, kind="stable")


def seen_share(values: pd.Series, recent: np.ndarray, before: np.ndarray, min_rows: int) -> float:
    """The share of the `recent` rows holding a value whose level at least `min_rows` of the rows just
    `before` them hold. A sales rep column whose reps come and go still names most recent leads' reps, who
    were at work in the period before (a calendar month or a dated campaign names none, and a month's name
    recurs a year later, not in the period just before): it tells the period apart, yet what its lasting
    levels say about a lead holds in the next period too. A missing value is no level: it recurs in any
    column that is often blank."""
    recent, before = np.asarray(recent, dtype=bool), np.asarray(before, dtype=bool)
    filled = (values.notna() & values.astype("str").str.strip().ne("")).to_numpy()
    codes = _category_codes(values)
    held = np.bincount(codes[before & filled], minlength=int(codes.max()) + 1)
    judged = recent & filled
    return float(np.mean(held[codes[judged]] >= min_rows)) if judged.any() else 0.0


def time_identifying(aucs: pd.Series, threshold: float, keep: Sequence[str] = ()) -> list[str]:
    """The features whose adversarial AUC reaches `threshold`, except those the config says to keep."""
    return [name for name, auc in aucs.items() if auc >= threshold and name not in set(keep)]
