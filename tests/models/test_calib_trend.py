"""Base-rate tracking across the maturity gap (models.calibration_trend) and its use in training."""

import numpy as np
import pandas as pd
import pytest

from models.calibration_trend import block_offsets, fold_lags, level_trend, trend_shift
from models.splits import out_of_time_split
from models.train import Calibrator, fit_calibrator, train_conversion_model
from tests.models.conftest import make_leads


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _expanding_folds(n: int, blocks: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    edges = np.linspace(0, n, blocks + 1).astype(int)
    return [(np.arange(edges[k]), np.arange(edges[k], edges[k + 1])) for k in range(1, blocks)]


def _history(n: int, drift_per_day, seed: int = 0):
    """Rows one after another over two years; a fold model's score `raw` knows the features, not the drift:
    its level is the mean level of the rows it was fitted on."""
    rng = np.random.default_rng(seed)
    days = np.sort(rng.uniform(0, 730, n))
    times = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"))
    feature = rng.normal(0, 1, n)
    level = drift_per_day(days)
    y = (rng.random(n) < _expit(feature + level)).astype(int)
    folds = _expanding_folds(n)
    raw = np.zeros(n)
    for fit, held in folds:
        raw[held] = feature[held] + level[fit].mean()
    return y, raw, folds, times


def test_level_trend_recovers_a_planted_slope():
    rng = np.random.default_rng(1)
    raw, lag = rng.normal(0, 1, 20000), rng.uniform(0, 300, 20000)
    y = (rng.random(20000) < _expit(raw + 0.004 * lag - 0.5)).astype(float)
    slope, se = level_trend(y, raw, lag)
    assert abs(slope - 0.004) < 3 * se and se < 0.001


def test_fold_lags_measure_from_the_mean_time_of_each_folds_fitted_rows():
    days = np.arange(8, dtype=float)
    lags = fold_lags([(np.arange(4), np.array([4, 5])), (np.arange(6), np.array([6, 7]))], days)
    assert np.isnan(lags[:4]).all()
    np.testing.assert_allclose(lags[4:], [2.5, 3.5, 3.5, 4.5])


def test_a_steady_drift_is_extrapolated_to_the_first_day_of_scoring():
    y, raw, folds, times = _history(20000, lambda d: -1.0 + 2.0 * d / 730)
    newest = folds[-1][1]
    trend = trend_shift(y, raw, folds, times, newest, maturity_days=120, min_z=3.0)
    assert trend.z > 3 and trend.shift > 0
    assert abs(trend.slope * 365 - 1.0) < 3 * trend.se * 365
    assert trend.horizon_days > 120


@pytest.mark.parametrize(
    "drift",
    [lambda d: np.zeros_like(d), lambda d: 1.5 - 3.0 * np.abs(d - 450) / 365],
    ids=["no drift", "a rise that turned"],
)
def test_no_drift_or_a_drift_that_turned_is_not_extrapolated(drift):
    y, raw, folds, times = _history(20000, drift)
    trend = trend_shift(y, raw, folds, times, folds[-1][1], maturity_days=120, min_z=3.0)
    assert trend.shift == 0.0


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_a_shift_moves_the_log_odds_and_keeps_the_map_increasing(method):
    rng = np.random.default_rng(2)
    raw = rng.normal(0, 1.5, 3000)
    y = (rng.random(3000) < _expit(raw)).astype(int)
    calibrator = fit_calibrator(raw, y, method, isotonic_min_rows=0)
    moved = calibrator.shifted(0.5)
    grid = calibrator.knots_x if method == "isotonic" else np.linspace(-3, 3, 200)  # exact at the knots
    before, after = calibrator.predict(grid), moved.predict(grid)
    assert np.all(np.diff(after) >= 0) and after[-1] > after[0]
    middle = (before > 0.05) & (before < 0.95)
    logit = np.log(after / (1 - after)) - np.log(before / (1 - before))
    np.testing.assert_allclose(logit[middle], 0.5, atol=1e-6)
    assert calibrator.shifted(0.0) is calibrator
    assert isinstance(moved, Calibrator) and calibrator.predict(grid).tolist() == before.tolist()


def test_block_offsets_measure_each_fold_models_level_error_on_its_block():
    rng = np.random.default_rng(0)
    raw = rng.normal(-0.5, 1.0, 30_000)
    planted = np.repeat([0.6, -0.4, 0.0], 10_000)  # the level each block really had, beyond its fold's score
    y = (rng.random(len(raw)) < _expit(raw + planted)).astype(int)
    blocks = [np.arange(k * 10_000, (k + 1) * 10_000) for k in range(3)]
    folds = [(np.arange(0), held) for held in blocks]
    offsets = block_offsets(y, raw, folds)
    np.testing.assert_allclose(offsets, [0.6, -0.4, 0.0], atol=0.05)
    one_class = np.zeros(len(raw), dtype=int)
    assert block_offsets(one_class, raw, folds) == [None, None, None]


def test_training_on_a_drifting_history_tracks_the_win_rate_of_the_newest_deals(small_config):
    leads = make_leads(6000, seed=4)
    days = (leads.frame["snapshot_at"] - leads.frame["snapshot_at"].min()).dt.days.to_numpy()
    base = np.log(leads.true_p / (1 - leads.true_p))
    y = (np.random.default_rng(5).random(len(days)) < _expit(base + 3.0 * days / 730 - 1.5)).astype(int)
    split = out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)
    cfg = small_config.model_copy(update={"maturity_days": 120})
    off = cfg.model_copy(update={"calibration_trend_min_z": None})
    args = (leads.frame, y, leads.features, leads.categorical, split)
    tracked, lagging = train_conversion_model(*args, cfg), train_conversion_model(*args, off)
    assert tracked.calibration_report["trend"]["shift"] > 0
    # each fold model, trained before its block, under-predicted the rising win rate there
    assert all(offset > 0 for offset in tracked.calibration_report["block_offsets"])
    assert "trend" not in lagging.calibration_report
    test = leads.frame.iloc[split.test]
    gap_tracked = abs(tracked.predict_proba(test).mean() - y[split.test].mean())
    gap_lagging = abs(lagging.predict_proba(test).mean() - y[split.test].mean())
    assert gap_tracked < gap_lagging
