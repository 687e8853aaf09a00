"""The adversarial check: which features tell the most recent labelled window from the older rows?

A feature that does so nearly perfectly on its own identifies time rather than the lead: an absolute date or
calendar month (its latest levels were never seen before), a macro series or counter that trends. Trees
learn such a feature as "which period was this", which says nothing about next quarter's leads, so the
training drops it by default (model.drift in the config).

The measure is each feature's own ROC AUC at separating recent (1) from older (0) rows, folded to >= 0.5:
categories by their level's smoothed share of recent rows (a level only the recent window has scores high);
numbers by their value (missing below every number), or, when that separates better, by their value's share
of recent rows among the other half of the rows: a number that is the same for every row of a period and differs between
periods (a monthly price index, a campaign wave) names the period without trending, and trees read it as
"which month was this" just as they would a calendar month.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.evaluate import roc_auc

_SMOOTHING = 10.0  # pseudo-rows at the overall recent share, so a level seen a few times scores near it


def _level_scores(values: pd.Series, recent: np.ndarray, cross_fitted: bool = False) -> np.ndarray:
    """Each row's level's smoothed share of recent rows. With `cross_fitted`, the share among the other half
    of the rows (alternate positions), so a row never counts itself: a value seen once then scores the overall
    share, and the rows of one level are not told apart by their own labels (leaving one row out would)."""
    keys = values.astype("str").fillna("\x00missing").to_numpy(dtype=object)
    codes, _ = pd.factorize(keys)
    flags = recent.astype(float)
    prior = _SMOOTHING * recent.mean()
    if not cross_fitted:
        n, k = np.bincount(codes), np.bincount(codes, weights=flags)
        return ((k + prior) / (n + _SMOOTHING))[codes]
    half = np.arange(len(codes)) % 2 == 1
    scores = np.empty(len(codes))
    for rows, others in ((half, ~half), (~half, half)):
        n = np.bincount(codes[others], minlength=codes.max() + 1)
        k = np.bincount(codes[others], weights=flags[others], minlength=codes.max() + 1)
        scores[rows] = ((k + prior) / (n + _SMOOTHING))[codes[rows]]
    return scores


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
            aucs[name] = _folded_auc(recent, _level_scores(values, recent))
        else:
            aucs[name] = max(
                _folded_auc(recent, _number_scores(values)),
                _folded_auc(recent, _level_scores(values, recent, cross_fitted=True)),
            )
    return pd.Series(aucs, dtype=float).sort_values(ascending=False, kind="stable")


def time_identifying(aucs: pd.Series, threshold: float, keep: Sequence[str] = ()) -> list[str]:
    """The features whose adversarial AUC reaches `threshold`, except those the config says to keep."""
    return [name for name, auc in aucs.items() if auc >= threshold and name not in set(keep)]
