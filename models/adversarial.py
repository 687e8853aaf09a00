"""The adversarial check: which features tell the most recent labelled window from the older rows?

A feature that does so nearly perfectly on its own identifies time rather than the lead: an absolute date or
calendar month (its latest levels were never seen before), a macro series or counter that trends. Trees
learn such a feature as "which period was this", which says nothing about next quarter's leads, so the
training drops it by default (model.drift in the config).

The measure is each feature's own ROC AUC at separating recent (1) from older (0) rows, folded to >= 0.5:
numbers by their value (missing below every number), categories by their level's smoothed share of recent
rows (a level only the recent window has scores high).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.evaluate import roc_auc

_SMOOTHING = 10.0  # pseudo-rows at the overall recent share, so a level seen a few times scores near it


def _level_scores(values: pd.Series, recent: np.ndarray) -> np.ndarray:
    keys = values.astype("str").fillna("\x00missing").to_numpy(dtype=object)
    codes, _ = pd.factorize(keys)
    n = np.bincount(codes).astype(float)
    k = np.bincount(codes, weights=recent.astype(float))
    share = (k + _SMOOTHING * recent.mean()) / (n + _SMOOTHING)
    return share[codes]


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
        score = _level_scores(values, recent) if is_category else _number_scores(values)
        auc = roc_auc(recent.astype(int), score)
        aucs[name] = max(auc, 1.0 - auc)
    return pd.Series(aucs, dtype=float).sort_values(ascending=False, kind="stable")


def time_identifying(aucs: pd.Series, threshold: float, keep: Sequence[str] = ()) -> list[str]:
    """The features whose adversarial AUC reaches `threshold`, except those the config says to keep."""
    return [name for name, auc in aucs.items() if auc >= threshold and name not in set(keep)]
