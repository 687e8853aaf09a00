"""Choosing the model inside the learning window: time-ordered folds, the number of trees, the contender.

The learning window is the split's train + validation rows; the test rows are never passed in here. With
snapshot times the folds are expanding windows (train on everything older, hold out the next block), which
is how the model is used: trained on the past, scoring the future. Without a time order they are grouped
(by account), stratified folds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.evaluate import auc_from_groups, roc_auc, tie_groups

Fold = tuple[np.ndarray, np.ndarray]  # (fit positions, held-out positions) into the learning rows


def time_ordered_folds(times: pd.Series | np.ndarray, n_folds: int) -> list[Fold]:
    """Expanding-window folds: the newest `n_folds` blocks of 1/(n_folds + 2) of the rows each are held out
    in turn, each fold fitting on every older row (the first fits on the oldest 2/(n_folds + 2)).

    Cuts fall between distinct times, so rows sharing a time stay on one side; cuts that coincide (too few
    distinct times) give fewer folds.
    """
    values = pd.to_datetime(pd.Series(np.asarray(times))).to_numpy()
    n = len(values)
    unique_times, counts = np.unique(values, return_counts=True)
    rows_before = np.concatenate([[0], np.cumsum(counts)[:-1]])
    starts: list[np.datetime64] = []
    for k in range(n_folds):  # the cut time of each held-out block
        share = (k + 2) / (n_folds + 2)
        position = min(int(np.searchsorted(rows_before, share * n, side="left")), len(unique_times) - 1)
        if position > 0 and (not starts or unique_times[position] > starts[-1]):
            starts.append(unique_times[position])
    ends = [*starts[1:], None]
    folds = []
    for start, end in zip(starts, ends, strict=True):
        held = values >= start if end is None else (values >= start) & (values < end)
        folds.append((np.flatnonzero(values < start), np.flatnonzero(held)))
    return folds


def grouped_folds(y: np.ndarray, groups: np.ndarray | None, n_folds: int, seed: int) -> list[Fold]:
    """Stratified folds keeping each group (account) on one side, for rows without a time order."""
    y = np.asarray(y, dtype=int)
    n_folds = max(2, min(n_folds, int(y.sum()), int((1 - y).sum())))
    X = np.zeros((len(y), 1))
    keys = None
    if groups is not None:
        keys = pd.Series(np.asarray(groups, dtype=object)).astype("str").fillna("\x00").to_numpy(dtype=object)
    if keys is None or len(pd.unique(keys)) == len(keys):  # no groups, or one row each: plain stratified
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return [(np.sort(a), np.sort(b)) for a, b in splitter.split(X, y)]
    splitter_g = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [(np.sort(a), np.sort(b)) for a, b in splitter_g.split(X, y, groups=keys)]


def usable_folds(folds: list[Fold], y: np.ndarray) -> tuple[list[Fold], int]:
    """The folds whose fitted and held-out parts both hold won and lost rows; and how many were skipped."""
    y = np.asarray(y, dtype=int)

    def both(rows: np.ndarray) -> bool:
        return len(rows) > 0 and 0 < y[rows].sum() < len(rows)

    kept = [(fit, held) for fit, held in folds if both(fit) and both(held)]
    return kept, len(folds) - len(kept)


@dataclass
class BoostingResult:
    """A contender's cross-validated boosting: its chosen tree count and out-of-fold margins there."""

    trees: int
    log_loss: float  # mean held-out log loss over the folds (weighted by rows) at `trees`
    fold_log_loss: list[float]
    oof_raw: np.ndarray  # out-of-fold log-odds of every held-out row (NaN for rows never held out)
    curve: list[float] = field(default_factory=list)
    tree_weight: float = 1.0  # a blend's weight of the trees' log-odds (the linear part gets 1 - this)


def fold_log_losses(y: np.ndarray, raw: np.ndarray, folds: Sequence[Fold]) -> np.ndarray:
    """Mean log loss of the log-odds `raw` on each fold's held-out rows."""
    y = np.asarray(y, dtype=float)
    return np.array([np.mean(np.logaddexp(0.0, raw[held]) - y[held] * raw[held]) for _, held in folds])


def best_blend(
    y: np.ndarray,
    trees: BoostingResult,
    linear_held: Sequence[np.ndarray],
    folds: Sequence[Fold],
    steps: int = 20,
) -> BoostingResult:
    """The blend w * trees + (1 - w) * linear of out-of-fold log-odds with the lowest row-weighted mean
    held-out log loss, w on a grid of `steps` + 1 points from 0 to 1 (the trees' own tree count)."""
    linear_oof = np.full(len(trees.oof_raw), np.nan)
    for (_, held), margin in zip(folds, linear_held, strict=True):
        linear_oof[held] = margin
    weights = np.array([len(held) for _, held in folds], dtype=float)
    weights /= weights.sum()
    best: tuple[float, float, np.ndarray] | None = None
    for w in np.linspace(1.0, 0.0, steps + 1):  # from all trees down, so a tie keeps more trees
        losses = fold_log_losses(y, w * trees.oof_raw + (1 - w) * linear_oof, folds)
        if best is None or float(losses @ weights) < best[1] - 1e-12:
            best = (float(w), float(losses @ weights), losses)
    assert best is not None
    w, loss, losses = best
    return BoostingResult(
        trees=trees.trees,
        log_loss=loss,
        fold_log_loss=[float(v) for v in losses],
        oof_raw=w * trees.oof_raw + (1 - w) * linear_oof,
        tree_weight=w,
    )


def cross_validated_boosting(
    dataset: lgb.Dataset,
    X: pd.DataFrame,
    folds: Sequence[Fold],
    init_scores: Sequence[tuple[np.ndarray, np.ndarray]] | None,
    params: dict,
    max_trees: int,
    patience: int,
    fold_sets: Sequence[tuple[lgb.Dataset, lgb.Dataset, pd.DataFrame]] | None = None,
) -> BoostingResult:
    """Boost one model per fold in lockstep and stop when the row-weighted mean held-out log loss has not
    improved for `patience` rounds; the tree count is the one with the lowest mean.

    `dataset` is the constructed learning Dataset (folds are its subsets, sharing its bins); `init_scores`,
    per fold, the starting log-odds of the fitted and held-out rows (None: start from the base rate).
    `fold_sets`, when given, are each fold's own (fitted Dataset, held-out Dataset, held-out matrix) instead
    of subsets: columns fitted on the fold's fitted rows only (target statistics) differ from fold to fold.
    """
    boosters = []
    for k, (fit, held) in enumerate(folds):  # a loop over the folds
        if fold_sets is None:
            fit_set = dataset.subset(fit.tolist()).construct()
            held_set = dataset.subset(held.tolist()).construct()
        else:
            fit_set, held_set = fold_sets[k][0], fold_sets[k][1]
        if init_scores is not None:
            fit_set.set_init_score(init_scores[k][0])
            held_set.set_init_score(init_scores[k][1])
        booster = lgb.Booster(params=params, train_set=fit_set)
        booster.add_valid(held_set, "held")
        boosters.append(booster)
    weights = np.array([len(held) for _, held in folds], dtype=float)
    weights /= weights.sum()
    curve: list[float] = []
    per_fold: list[np.ndarray] = []
    best, best_loss = 0, np.inf
    for iteration in range(1, max_trees + 1):  # a loop over boosting rounds, every fold one tree each
        losses = np.empty(len(boosters))
        for k, booster in enumerate(boosters):
            booster.update()
            losses[k] = booster.eval_valid()[0][2]
        mean = float(losses @ weights)
        curve.append(mean)
        per_fold.append(losses)
        if mean < best_loss - 1e-12:
            best, best_loss = iteration, mean
        elif iteration - best >= patience:
            break
    oof = np.full(len(X), np.nan)
    for k, (_, held) in enumerate(folds):
        X_held = X.iloc[held] if fold_sets is None else fold_sets[k][2]
        raw = boosters[k].predict(X_held, raw_score=True, num_iteration=best)
        oof[held] = np.asarray(raw) + (init_scores[k][1] if init_scores is not None else 0.0)
    return BoostingResult(
        trees=best,
        log_loss=best_loss,
        fold_log_loss=[float(v) for v in per_fold[best - 1]],
        oof_raw=oof,
        curve=curve,
    )


def fold_auc_interval(
    y: np.ndarray, score: np.ndarray, folds: Sequence[Fold], *, rounds: int, seed: int, level: float
) -> tuple[float, float, float]:
    """The held-out AUC averaged over the folds (weighted by rows; each fold ranks its own rows, so a base
    rate or score scale moving between folds does not mix in) and its percentile bootstrap interval, rows
    resampled within each fold. With `rounds` 0 the interval is the point itself."""
    y = np.asarray(y, dtype=int)
    weights = np.array([len(held) for _, held in folds], dtype=float)
    weights /= weights.sum()
    point = float(sum(w * roc_auc(y[held], score[held]) for w, (_, held) in zip(weights, folds, strict=True)))
    if rounds <= 0:
        return point, point, point
    rng = np.random.default_rng(seed)
    prepared = [(tie_groups(score[held]), y[held].astype(float)) for _, held in folds]
    aucs = np.zeros(rounds)
    for w, ((groups, n_groups), y_held) in zip(weights, prepared, strict=True):  # folds
        n = len(y_held)
        for r in range(rounds):  # bootstrap rounds, each vectorised over the fold's rows
            draw = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(float)
            aucs[r] += w * auc_from_groups(groups, n_groups, y_held, draw)
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(aucs, [tail, 100 - tail])
    return point, float(low), float(high)
