"""Evaluation of conversion scores: ranking, calibration, lift, grades and segments. Dicts and frames out.

Conventions: `y` is 1 for won and 0 for lost; `p` is a probability of winning. Ranking metrics (AUC, PR AUC,
lift, capture) may use a separate `score` (e.g. the raw points of the points model) while the probability
metrics (log loss, Brier, ECE) use `p`. Ties in the score are shared out as under random tie-breaking, so a
coarse score (points) is not flattered or punished by the row order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

TOP_SHARES = (0.10, 0.20, 0.30)
_EPS = 1e-15
MISSING_GROUP = "(missing)"


def _arrays(y: Sequence | np.ndarray | pd.Series, p: Sequence | np.ndarray | pd.Series) -> tuple:
    y_arr = np.asarray(y, dtype=float)
    p_arr = np.asarray(p, dtype=float)
    if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
        raise ValueError(f"y and p must be 1-d and the same length, got {y_arr.shape} and {p_arr.shape}")
    if np.isnan(p_arr).any():
        raise ValueError("scores contain NaN")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise ValueError("y must be 1 (won) or 0 (lost)")
    return y_arr, p_arr


def tie_groups(score: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense rank of each score (0 = lowest) and the number of distinct scores."""
    uniques, inverse = np.unique(score, return_inverse=True)
    return inverse, len(uniques)


def auc_from_groups(groups: np.ndarray, n_groups: int, y: np.ndarray, weight: np.ndarray) -> float:
    """Mann-Whitney AUC with row weights; ties count one half."""
    pos = np.bincount(groups, weights=weight * y, minlength=n_groups)
    neg = np.bincount(groups, weights=weight * (1 - y), minlength=n_groups)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")
    neg_below = np.cumsum(neg) - neg
    return float((pos * (neg_below + 0.5 * neg)).sum() / (total_pos * total_neg))


def roc_auc(y: Sequence | np.ndarray, score: Sequence | np.ndarray) -> float:
    """Area under the ROC curve (NaN when only one class is present)."""
    y_arr, s_arr = _arrays(y, score)
    groups, n_groups = tie_groups(s_arr)
    return auc_from_groups(groups, n_groups, y_arr, np.ones_like(y_arr))


def bootstrap_weights(n: int, rounds: int, seed: int) -> Iterator[np.ndarray]:
    """Row weights of each bootstrap round (how often each of `n` rows was drawn), from one seeded stream."""
    rng = np.random.default_rng(seed)
    for _ in range(rounds):  # a loop over bootstrap rounds, each one vectorised over the rows
        yield np.bincount(rng.integers(0, n, size=n), minlength=n).astype(float)


def bootstrap_auc_interval(
    y: Sequence | np.ndarray, score: Sequence | np.ndarray, *, rounds: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the ROC AUC (rows resampled with replacement)."""
    y_arr, s_arr = _arrays(y, score)
    if rounds <= 0 or len(y_arr) == 0:
        return float("nan"), float("nan")
    groups, n_groups = tie_groups(s_arr)
    aucs = np.array(
        [auc_from_groups(groups, n_groups, y_arr, w) for w in bootstrap_weights(len(y_arr), rounds, seed)]
    )
    return percentile_interval(aucs, level)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central `level` interval of bootstrap samples (NaN rounds ignored; NaN when all are NaN)."""
    if len(samples) == 0 or np.isnan(samples).all():
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def expected_wins_in_top(
    y: np.ndarray, score: np.ndarray, counts: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Expected wins among the `counts` highest-scored rows, ties shared out as under random tie-breaking."""
    groups, n_groups = tie_groups(score)
    # Distinct scores from the highest down: rows and wins per score, and how many rows rank above each.
    rows = np.bincount(groups, minlength=n_groups)[::-1].astype(float)
    wins = np.bincount(groups, weights=y, minlength=n_groups)[::-1]
    rows_above = np.cumsum(rows) - rows
    wins_above = np.cumsum(wins) - wins
    out = np.empty(len(counts))
    for i, k in enumerate(counts):  # a handful of cut-offs
        if k <= 0:
            out[i] = 0.0
            continue
        g = min(int(np.searchsorted(rows_above + rows, k, side="left")), n_groups - 1)
        taken = min(k - rows_above[g], rows[g])
        out[i] = wins_above[g] + wins[g] * taken / rows[g]
    return out


def lift_and_capture(
    y: Sequence | np.ndarray, score: Sequence | np.ndarray, shares: Sequence[float] = TOP_SHARES
) -> dict[str, float]:
    """Lift (win rate in the top share / overall win rate) and capture (share of all wins in the top)."""
    y_arr, s_arr = _arrays(y, score)
    n, total_wins = len(y_arr), y_arr.sum()
    counts = [round(share * n) for share in shares]
    wins = expected_wins_in_top(y_arr, s_arr, counts)
    out: dict[str, float] = {}
    for share, k, w in zip(shares, counts, wins, strict=True):
        label = f"top{round(share * 100)}"
        capture = w / total_wins if total_wins > 0 else float("nan")
        out[f"capture_{label}"] = float(capture)
        out[f"lift_{label}"] = float(capture * n / k) if k > 0 and total_wins > 0 else float("nan")
    return out


def _bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    # Equal-width bins on [0, 1]; p = 1 goes in the last bin.
    return np.clip((p * bins).astype(int), 0, bins - 1)


def reliability_table(y: Sequence | np.ndarray, p: Sequence | np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin (non-empty bins only): rows, mean predicted, observed win rate, gap."""
    y_arr, p_arr = _arrays(y, p)
    idx = _bin_index(p_arr, bins)
    n = np.bincount(idx, minlength=bins)
    sum_p = np.bincount(idx, weights=p_arr, minlength=bins)
    sum_y = np.bincount(idx, weights=y_arr, minlength=bins)
    keep = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_p, rate = sum_p / n, sum_y / n
    table = pd.DataFrame(
        {
            "bin": np.arange(bins),
            "p_low": np.arange(bins) / bins,
            "p_high": (np.arange(bins) + 1) / bins,
            "n": n,
            "mean_predicted": mean_p,
            "observed_rate": rate,
        }
    )[keep].reset_index(drop=True)
    table["gap"] = table["observed_rate"] - table["mean_predicted"]
    return table


def expected_calibration_error(y: Sequence | np.ndarray, p: Sequence | np.ndarray, bins: int = 10) -> float:
    """ECE: row-weighted mean of |observed win rate - mean predicted| over equal-width probability bins."""
    table = reliability_table(y, p, bins)
    if table.empty:
        return float("nan")
    return float((table["n"] * table["gap"].abs()).sum() / table["n"].sum())


def brier_score(y: Sequence | np.ndarray, p: Sequence | np.ndarray) -> float:
    y_arr, p_arr = _arrays(y, p)
    return float(np.mean((p_arr - y_arr) ** 2)) if len(y_arr) else float("nan")


def log_loss(y: Sequence | np.ndarray, p: Sequence | np.ndarray) -> float:
    y_arr, p_arr = _arrays(y, p)
    if not len(y_arr):
        return float("nan")
    q = np.clip(p_arr, _EPS, 1 - _EPS)
    return float(-np.mean(y_arr * np.log(q) + (1 - y_arr) * np.log(1 - q)))


def pr_auc(y: Sequence | np.ndarray, score: Sequence | np.ndarray) -> float:
    """Average precision (area under the precision-recall curve); NaN without any win."""
    y_arr, s_arr = _arrays(y, score)
    if y_arr.sum() == 0:
        return float("nan")
    return float(average_precision_score(y_arr, s_arr))


def evaluate(
    y: Sequence | np.ndarray,
    p: Sequence | np.ndarray,
    *,
    score: Sequence | np.ndarray | None = None,
    bootstrap_rounds: int = 200,
    seed: int = 0,
    ece_bins: int = 10,
) -> dict[str, float]:
    """All headline metrics of one set of predictions. `score` (default `p`) drives the ranking metrics."""
    y_arr, p_arr = _arrays(y, p)
    s_arr = p_arr if score is None else _arrays(y_arr, score)[1]
    low, high = bootstrap_auc_interval(y_arr, s_arr, rounds=bootstrap_rounds, seed=seed)
    n_won = int(y_arr.sum())
    metrics: dict[str, float] = {
        "n": len(y_arr),
        "n_won": n_won,
        "base_rate": float(y_arr.mean()) if len(y_arr) else float("nan"),
        "mean_predicted": float(p_arr.mean()) if len(y_arr) else float("nan"),
        "roc_auc": roc_auc(y_arr, s_arr),
        "roc_auc_low": low,
        "roc_auc_high": high,
        "pr_auc": pr_auc(y_arr, s_arr),
        "log_loss": log_loss(y_arr, p_arr),
        "brier": brier_score(y_arr, p_arr),
        "ece": expected_calibration_error(y_arr, p_arr, ece_bins),
    }
    metrics.update(lift_and_capture(y_arr, s_arr))
    return metrics


def compare_models(
    y: Sequence | np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    scores: Mapping[str, np.ndarray] | None = None,
    bootstrap_rounds: int = 200,
    seed: int = 0,
    ece_bins: int = 10,
) -> pd.DataFrame:
    """One row of `evaluate` metrics per model, same rows; `scores[name]` overrides the ranking score."""
    scores = scores or {}
    rows = {
        name: evaluate(
            y, p, score=scores.get(name), bootstrap_rounds=bootstrap_rounds, seed=seed, ece_bins=ece_bins
        )
        for name, p in predictions.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model").reset_index()


def gains_table(y: Sequence | np.ndarray, p: Sequence | np.ndarray, deciles: int = 10) -> pd.DataFrame:
    """Leads ranked by score and cut into `deciles` equal slices (1 = best): wins, win rate, capture and lift.

    Ties straddling a slice boundary are shared out in proportion, so `won` can be fractional for
    coarse scores (the points model).
    """
    y_arr, p_arr = _arrays(y, p)
    n, total_wins = len(y_arr), y_arr.sum()
    edges = np.array([round(n * d / deciles) for d in range(deciles + 1)], dtype=float)
    cumulative_won = expected_wins_in_top(y_arr, p_arr, edges) if n else np.zeros(len(edges))
    leads = np.diff(edges)
    won = np.diff(cumulative_won)
    base_rate = total_wins / n if n else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "decile": np.arange(1, deciles + 1),
                "leads": leads.astype(int),
                "won": won,
                "win_rate": won / leads,
                "cumulative_leads": edges[1:].astype(int),
                "cumulative_won": cumulative_won[1:],
                "cumulative_capture": cumulative_won[1:] / total_wins,
                "lift": (won / leads) / base_rate,
                "cumulative_lift": (cumulative_won[1:] / edges[1:]) / base_rate,
            }
        )
    return table


def grade_cutpoints(p_valid: Sequence | np.ndarray, shares: Mapping[str, float]) -> dict[str, float]:
    """Lower probability bound of each grade so that grade g holds about shares[g] of the validation leads.

    `shares` lists the grades from best to worst except the last (e.g. {"A": .1, "B": .2, "C": .3}); the grade
    after them (D) takes the rest. A lead gets the best grade whose bound it reaches.
    """
    p_arr = np.asarray(p_valid, dtype=float)
    if len(p_arr) == 0:
        raise ValueError("cannot freeze grade cut points on an empty validation window")
    cumulative = np.cumsum(list(shares.values()))
    if cumulative[-1] >= 1:
        raise ValueError("grade shares must sum to less than 1")
    thresholds = np.quantile(p_arr, 1 - cumulative)
    return {grade: float(t) for grade, t in zip(shares, thresholds, strict=True)}


def assign_grades(
    p: Sequence | np.ndarray | pd.Series, thresholds: Mapping[str, float], last_grade: str = "D"
) -> pd.Series:
    """Grade of each lead from frozen cut points: the best grade whose lower bound the probability reaches."""
    index = p.index if isinstance(p, pd.Series) else None
    grades = grade_labels(np.asarray(p, dtype=float), thresholds, last_grade)
    return pd.Series(grades, index=index, name="grade", dtype="str")


def grade_labels(p: np.ndarray, thresholds: Mapping[str, float], last_grade: str = "D") -> np.ndarray:
    """assign_grades on an array of probabilities, as an object array of grades."""
    return np.select([p >= t for t in thresholds.values()], list(thresholds), default=last_grade).astype(
        object
    )


def _group_labels(groups: Sequence | np.ndarray | pd.Series) -> pd.Series:
    labels = pd.Series(np.asarray(groups, dtype=object)).astype("str")
    return labels.fillna(MISSING_GROUP)


def rows_by_value(labels: np.ndarray) -> list[tuple[Any, np.ndarray]]:
    """Each distinct label in np.unique's order with the positions of its rows, in row order: one sort over
    the rows, where a mask per label (labels == value) made a pass over every row for each of thousands of
    labels (a lead source of 8,000 values on 60,000 test leads: 20 s)."""
    values, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    ends = np.cumsum(np.bincount(inverse.ravel(), minlength=len(values)))[:-1]
    return list(zip(values, np.split(order, ends), strict=True))


def conversion_by(y: Sequence | np.ndarray, groups: Sequence | np.ndarray | pd.Series) -> pd.DataFrame:
    """Leads, wins, win rate, share of leads and share of wins per group (e.g. grade or fit tier)."""
    y_arr = np.asarray(y, dtype=float)
    labels = _group_labels(groups)
    if len(labels) != len(y_arr):
        raise ValueError("y and groups must be the same length")
    frame = pd.DataFrame({"group": labels.to_numpy(), "won": y_arr})
    table = frame.groupby("group", sort=True).agg(leads=("won", "size"), won=("won", "sum")).reset_index()
    table["won"] = table["won"].astype(int)
    table["win_rate"] = table["won"] / table["leads"]
    table["share_of_leads"] = table["leads"] / len(y_arr)
    total_won = y_arr.sum()
    table["share_of_wins"] = table["won"] / total_won if total_won else np.nan
    return table


def segment_metrics(
    y: Sequence | np.ndarray,
    p: Sequence | np.ndarray,
    segments: pd.DataFrame,
    min_rows: int = 100,
    ece_bins: int = 10,
) -> pd.DataFrame:
    """Per value of each segment column (industry, region, lead_source, ...): n, wins, win rate, mean
    predicted, ROC AUC, PR AUC, Brier and ECE. Segments under `min_rows` rows get counts only; AUC needs
    both classes."""
    y_arr, p_arr = _arrays(y, p)
    if len(segments) != len(y_arr):
        raise ValueError("segments must have one row per prediction")
    rows = []
    for column in segments.columns:
        labels = _group_labels(segments[column]).to_numpy()
        for value, positions in rows_by_value(labels):  # loops over segment values, not over leads
            ys, ps = y_arr[positions], p_arr[positions]
            enough = len(positions) >= min_rows
            row = {
                "segment": column,
                "value": value,
                "n": len(positions),
                "n_won": int(ys.sum()),
                "win_rate": float(ys.mean()),
                "mean_predicted": float(ps.mean()),
                "roc_auc": roc_auc(ys, ps) if enough else float("nan"),
                "pr_auc": pr_auc(ys, ps) if enough else float("nan"),
                "brier": brier_score(ys, ps) if enough else float("nan"),
                "ece": expected_calibration_error(ys, ps, ece_bins) if enough else float("nan"),
            }
            rows.append(row)
    columns = [
        "segment",
        "value",
        "n",
        "n_won",
        "win_rate",
        "mean_predicted",
        "roc_auc",
        "pr_auc",
        "brier",
        "ece",
    ]
    return pd.DataFrame(rows, columns=columns)


def oracle_auc(y: Sequence | np.ndarray, true_p: Sequence | np.ndarray) -> float:
    """The AUC of the true conversion probabilities (synthetic data only): the ceiling for any model."""
    return roc_auc(y, true_p)


def _weighted_ece(y: np.ndarray, p: np.ndarray, bins: np.ndarray, n_bins: int, weight: np.ndarray) -> float:
    """expected_calibration_error with row weights (bins precomputed): sum over bins of |wins - predicted|."""
    total = weight.sum()
    wins = np.bincount(bins, weights=weight * y, minlength=n_bins)
    predicted = np.bincount(bins, weights=weight * p, minlength=n_bins)
    return float(np.abs(wins - predicted).sum() / total) if total else float("nan")


def paired_bootstrap(
    y: Sequence | np.ndarray,
    predictions: Mapping[str, np.ndarray],
    *,
    rounds: int,
    seed: int,
    ece_bins: int = 10,
) -> dict[str, dict[str, np.ndarray]]:
    """AUC and ECE of every contender on the same resampled rows, round by round (a paired bootstrap).

    Returns {"roc_auc": {name: samples}, "ece": {name: samples}}; a difference between two contenders'
    samples is the bootstrap distribution of their difference on these rows.
    """
    y_arr = np.asarray(y, dtype=float)
    arrays = {name: _arrays(y_arr, p)[1] for name, p in predictions.items()}
    groups = {name: tie_groups(p) for name, p in arrays.items()}
    bins = {name: _bin_index(p, ece_bins) for name, p in arrays.items()}
    auc = {name: np.empty(rounds) for name in arrays}
    ece = {name: np.empty(rounds) for name in arrays}
    for r, weight in enumerate(bootstrap_weights(len(y_arr), rounds, seed)):
        for name, p in arrays.items():  # a handful of contenders
            auc[name][r] = auc_from_groups(*groups[name], y_arr, weight)
            ece[name][r] = _weighted_ece(y_arr, p, bins[name], ece_bins, weight)
    return {"roc_auc": auc, "ece": ece}
