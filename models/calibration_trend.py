"""Base-rate tracking across the maturity gap: a trend in the win rate's level, measured out of fold.

A model trained today learns from deals created at least `maturity_days` ago and scores leads created
from today on. When the win rate drifts steadily, every model lags it: the calibrator fitted on the newest
held-out block carries the level of that block, not of today. The time-ordered selection folds measure
the drift: each held-out row was scored by a fold model trained on earlier rows, and its residual (on the
log-odds scale, beyond that model's score) grows with the time between the row and the fold's training
rows if the level moves. `level_trend` fits that slope; `trend_shift` extrapolates it from the calibration
rows to the first day of scoring, only when the slope is clear of noise (|z| >= min_z) and the older and
newer halves of the held-out rows each show it (|z| >= min_z / 2; a cycle does not). The shift is one
constant on the log-odds scale, so the calibration stays monotone increasing. Pure functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

Fold = tuple[np.ndarray, np.ndarray]
DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class LevelTrend:
    """The win rate's drift in log-odds per day, its standard error, and the shift applied at scoring."""

    slope: float
    se: float
    horizon_days: float
    shift: float

    @property
    def z(self) -> float:
        return self.slope / self.se if self.se > 0 else 0.0

    def record(self) -> dict[str, float]:
        return {
            "slope_per_year": round(self.slope * 365, 4),
            "z": round(self.z, 2),
            "horizon_days": round(self.horizon_days, 1),
            "shift": round(self.shift, 4),
        }


def fold_lags(folds: Sequence[Fold], days: np.ndarray) -> np.ndarray:
    """Per row: the days between it and the mean time of the fitted rows of the fold that held it out
    (NaN for rows no fold held out)."""
    lags = np.full(len(days), np.nan)
    for fit, held in folds:
        lags[held] = days[held] - days[fit].mean()
    return lags


def level_trend(y: np.ndarray, raw: np.ndarray, lag: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Slope and standard error of c in  logit P(won) = b * raw + a + c * lag  (maximum likelihood, Newton)."""
    scale = float(lag.std()) or 1.0
    X = np.column_stack([raw, np.ones_like(lag), (lag - lag.mean()) / scale])
    w = np.array([1.0, 0.0, 0.0])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        hessian = X.T @ (X * (p * (1 - p))[:, None]) + 1e-9 * np.eye(3)
        step = np.linalg.solve(hessian, X.T @ (y - p))
        w += step
        if np.abs(step).max() < 1e-10:
            break
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    cov = np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]) + 1e-9 * np.eye(3))
    return float(w[2] / scale), float(np.sqrt(cov[2, 2]) / scale)


def block_offsets(
    y: np.ndarray, raw: np.ndarray, folds: Sequence[Fold], iters: int = 50
) -> list[float | None]:
    """Per held-out block, oldest first: the constant on the log-odds scale that brings its fold model's mean
    prediction to the block's win rate (positive: the fold model under-predicted its block). The calibrator
    carries the newest blocks' offset into every score; steady offsets of one sign are a level that moves,
    offsets that swing are a cycle or noise the final model may not share. None for a block of one class."""
    offsets: list[float | None] = []
    for _, held in folds:
        rate, scores = float(np.mean(y[held])), np.asarray(raw[held], dtype=float)
        if rate in (0.0, 1.0):
            offsets.append(None)
            continue
        shift = 0.0
        for _ in range(iters):  # Newton on a monotone function of one variable
            p = 1.0 / (1.0 + np.exp(-(scores + shift)))
            gap, slope = float(p.mean()) - rate, float(np.mean(p * (1 - p)))
            if abs(gap) < 1e-10 or slope <= 0:
                break
            shift = float(np.clip(shift - gap / slope, -20.0, 20.0))
        offsets.append(round(shift, 4))
    return offsets


def trend_shift(
    y: np.ndarray,
    oof_raw: np.ndarray,
    folds: Sequence[Fold],
    times: pd.Series,
    calibration_rows: np.ndarray,
    maturity_days: int,
    min_z: float,
) -> LevelTrend:
    """The drift of the level over the learning rows (`times`, aligned with `y` and `oof_raw`), and the
    log-odds shift that moves the calibrated final model to the first day of scoring (`maturity_days` after
    the newest row). The calibrator carries the calibration rows' level; the final model, trained on every
    row, sits at their mean time, and the fold models that scored the calibration rows lagged them by
    their lag: the horizon is scoring day - mean learning day - mean lag of the calibration rows."""
    stamps = pd.to_datetime(times).to_numpy()
    days = (stamps - stamps.min()) / DAY
    lags = fold_lags(folds, days)
    held = np.flatnonzero(~np.isnan(lags))
    slope, se = level_trend(y[held].astype(float), oof_raw[held], lags[held])
    horizon = days.max() + maturity_days - days.mean() - float(lags[calibration_rows].mean())
    clear = (
        se > 0
        and abs(slope / se) >= min_z
        and _in_both_halves(y, oof_raw, lags, days, held, slope, min_z / 2)
    )
    return LevelTrend(
        slope=slope, se=se, horizon_days=float(horizon), shift=slope * horizon if clear else 0.0
    )


def _in_both_halves(
    y: np.ndarray,
    raw: np.ndarray,
    lags: np.ndarray,
    days: np.ndarray,
    held: np.ndarray,
    slope: float,
    min_z: float,
) -> bool:
    """Whether the older and the newer half of the held-out rows each show the slope's sign at `min_z`:
    a steady drift does, a cycle or a single step seen as a slope does not."""
    order = held[np.argsort(days[held], kind="stable")]
    for half in (order[: len(order) // 2], order[len(order) // 2 :]):
        part, part_se = level_trend(y[half].astype(float), raw[half], lags[half])
        if part_se <= 0 or np.sign(part) != np.sign(slope) or abs(part / part_se) < min_z:
            return False
    return True
