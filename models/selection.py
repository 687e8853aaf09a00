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
    # Per fold k, the same choice made without fold k: (its mean held-out log loss on the other folds, fold
    # k's held-out log-odds at it). The no-signal check judges these (see cross_fitted_scores).
    left_out: list[tuple[float, np.ndarray]] = field(default_factory=list)
    # Out-of-fold log-odds of every row at each tree count chosen leaving one fold out (a blend's input).
    oof_raw_at: dict[int, np.ndarray] = field(default_factory=dict)
    left_out_trees: list[int] = field(default_factory=list)  # per fold, the tree count chosen without it


def other_folds_weights(folds: Sequence[Fold], k: int) -> np.ndarray:
    """Weights (held-out rows, summing to 1) of every fold but fold k; fold k's weight is 0."""
    weights = np.array([len(held) for _, held in folds], dtype=float)
    weights[k] = 0.0
    return weights / weights.sum()


def left_out_tree_count(fold_curve: np.ndarray, weights: np.ndarray) -> tuple[int, float]:
    """The tree count (from 1; the first on a tie) with the lowest `weights`-weighted mean held-out log loss,
    `fold_curve` holding one row per boosting round and one column per fold; and that loss."""
    mean = np.asarray(fold_curve, dtype=float) @ weights
    best = int(np.argmin(mean))
    return best + 1, float(mean[best])


def cross_fitted_scores(
    results: dict[str, BoostingResult], folds: Sequence[Fold], n_rows: int
) -> tuple[np.ndarray, list[str]]:
    """Each fold's held-out log-odds from the contender (tree count, blend weight) chosen on the other folds,
    so that no fold's labels helped choose the model that scores it; and the contender chosen for each fold.

    Choosing on the same folds that measure lifts the held-out AUC of data without signal above 0.5 (the
    lowest held-out loss of several contenders and tree counts is partly luck that also ranks the rows);
    these scores are measured without that luck. The first contender listed wins a tie, as in training.
    """
    scores = np.full(n_rows, np.nan)
    picks = []
    for k, (_, held) in enumerate(folds):  # a loop over the folds
        name = min(results, key=lambda c: results[c].left_out[k][0])
        scores[held] = results[name].left_out[k][1]
        picks.append(name)
    return scores, picks


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
    w, loss, losses = blend_weight(y, trees.oof_raw, linear_oof, folds, weights / weights.sum(), steps)
    return BoostingResult(
        trees=trees.trees,
        log_loss=loss,
        fold_log_loss=[float(v) for v in losses],
        oof_raw=w * trees.oof_raw + (1 - w) * linear_oof,
        tree_weight=w,
        left_out=[
            left_out_blend(y, trees.oof_raw_at[t], linear_oof, folds, k, steps)
            for k, t in enumerate(trees.left_out_trees)
        ],
    )


def blend_weight(
    y: np.ndarray,
    trees_raw: np.ndarray,
    linear_raw: np.ndarray,
    folds: Sequence[Fold],
    weights: np.ndarray,
    steps: int,
) -> tuple[float, float, np.ndarray]:
    """The weight w of the trees in w * trees + (1 - w) * linear with the lowest `weights`-weighted mean
    held-out log loss, on a grid of `steps` + 1 points from 1 down to 0 (a tie keeps more trees); that loss
    and each fold's."""
    best: tuple[float, float, np.ndarray] | None = None
    for w in np.linspace(1.0, 0.0, steps + 1):
        losses = fold_log_losses(y, w * trees_raw + (1 - w) * linear_raw, folds)
        loss = float(losses @ weights)
        if best is None or loss < best[1] - 1e-12:
            best = (float(w), loss, losses)
    assert best is not None
    return best


def left_out_blend(
    y: np.ndarray, trees_raw: np.ndarray, linear_raw: np.ndarray, folds: Sequence[Fold], k: int, steps: int
) -> tuple[float, np.ndarray]:
    """The blend weight chosen as in best_blend but on every fold except fold k: its mean held-out log loss
    there, and fold k's held-out blended log-odds. `trees_raw` are the trees' out-of-fold log-odds at the
    tree count chosen without fold k."""
    w, loss, _ = blend_weight(y, trees_raw, linear_raw, folds, other_folds_weights(folds, k), steps)
    held = folds[k][1]
    return loss, w * trees_raw[held] + (1 - w) * linear_raw[held]


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

    def oof_at(trees: int) -> np.ndarray:
        oof = np.full(len(X), np.nan)
        for k, (_, held) in enumerate(folds):
            X_held = X.iloc[held] if fold_sets is None else fold_sets[k][2]
            raw = boosters[k].predict(X_held, raw_score=True, num_iteration=trees)
            oof[held] = np.asarray(raw) + (init_scores[k][1] if init_scores is not None else 0.0)
        return oof

    # The tree count each fold would have been given without its own labels (within the rounds boosted).
    left_out = [
        left_out_tree_count(np.array(per_fold), other_folds_weights(folds, k)) for k in range(len(folds))
    ]
    oof_raw_at = {trees: oof_at(trees) for trees in sorted({best, *(t for t, _ in left_out)})}
    return BoostingResult(
        trees=best,
        log_loss=best_loss,
        fold_log_loss=[float(v) for v in per_fold[best - 1]],
        oof_raw=oof_raw_at[best],
        curve=curve,
        left_out=[(loss, oof_raw_at[t][held]) for (t, loss), (_, held) in zip(left_out, folds, strict=True)],
        oof_raw_at=oof_raw_at,
        left_out_trees=[t for t, _ in left_out],
    )


def fold_variance_factor(folds: Sequence[Fold]) -> float:
    """How much the variance of the row-weighted mean held-out AUC exceeds that of independent folds when
    the labels carry no signal: 1 for expanding windows, 2 for k-fold cross-validation.

    Two folds each fitted on the other's held-out rows share a term: each model learnt the chance pattern
    of the other's rows, and that pattern ranks both folds' rows alike, so their AUCs rise and fall together.
    With fold k fitted on t_k held-out blocks' worth of rows, the pair's correlation is 1 / sqrt(t_j * t_k)
    (a fold's AUC is the sum of its t_k chance agreements, one per block it learnt from, over sqrt(t_k)).
    Expanding windows have no such pair: a newer block's labels never reached an older fold's model.
    """
    n_held = np.array([len(held) for _, held in folds], dtype=float)
    weights = n_held / n_held.sum()
    blocks = np.array([len(fit) for fit, _ in folds], dtype=float) / n_held
    alone = float(np.sum(weights**2 / n_held))  # a fold's AUC variance is about proportional to 1 / rows
    shared = 0.0
    for j in range(len(folds)):  # pairs of folds
        for k in range(len(folds)):
            (fit_j, held_j), (fit_k, held_k) = folds[j], folds[k]
            if j != k and np.isin(held_j, fit_k).any() and np.isin(held_k, fit_j).any():
                shared += weights[j] * weights[k] / np.sqrt(blocks[j] * blocks[k] * n_held[j] * n_held[k])
    return (alone + shared) / alone


def fold_auc_interval(
    y: np.ndarray, score: np.ndarray, folds: Sequence[Fold], *, rounds: int, seed: int, level: float
) -> tuple[float, float, float]:
    """The held-out AUC averaged over the folds (weighted by rows; each fold ranks its own rows, so a base
    rate or score scale moving between folds does not mix in) and its percentile bootstrap interval, rows
    resampled within each fold. The bootstrap sees each fold's rows alone; where the folds' models learnt
    from one another's held-out rows (k-fold), its distances from the point are widened by the square root
    of fold_variance_factor. With `rounds` 0 the interval is the point itself."""
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
    factor = fold_variance_factor(folds)
    if factor > 1.0:
        widen = float(np.sqrt(factor))
        low, high = point - widen * (point - low), point + widen * (high - point)
    return point, float(low), float(high)
