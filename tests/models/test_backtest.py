"""Backtest folds and contenders: reproducible folds, nothing trained on later rows, one-class folds skipped."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

import models.backtest as backtest
from models.backtest import (
    BacktestConfig,
    BacktestData,
    check_enough_labels,
    contenders_for,
    evaluate_fold,
    inner_split,
    kfold_folds,
    mean_metrics,
    out_of_time_folds,
    rolling_folds,
    same_folds,
)
from models.minimum_data import InsufficientDataError
from tests.models.conftest import make_leads

FAST = BacktestConfig(
    contenders=(
        "leadscore",
        "points_model",
        "logistic_regression",
        "hist_gradient_boosting",
        "lightgbm_default",
    ),
    baseline_iterations=20,
)


@pytest.fixture(scope="module")
def one_thread(small_config):
    """small_config on one thread: on a busy test machine a second OpenMP thread only waits."""
    return small_config.model_copy(
        update={"lightgbm": small_config.lightgbm.model_copy(update={"num_threads": 1})}
    )


@pytest.fixture(scope="module")
def data() -> BacktestData:
    leads = make_leads(1500, seed=3)
    return BacktestData(
        frame=leads.frame,
        y=leads.y,
        feature_names=leads.features,
        categorical=leads.categorical,
        times=leads.frame["snapshot_at"],
        true_probability=leads.true_p,
    )


def test_kfold_folds_are_scikit_learns_stratified_folds(data):
    folds = kfold_folds(data.y, 4, seed=3)
    expected = StratifiedKFold(4, shuffle=True, random_state=3).split(np.zeros(len(data.y)), data.y)
    for fold, (train, test) in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(fold.test, np.sort(test))
        np.testing.assert_array_equal(fold.train, np.sort(train))
    tested = np.sort(np.concatenate([fold.test for fold in folds]))
    np.testing.assert_array_equal(tested, np.arange(len(data.y)))  # every row tested exactly once
    again = kfold_folds(data.y, 4, seed=3)
    assert all(np.array_equal(a.test, b.test) for a, b in zip(folds, again, strict=True))


def test_out_of_time_trains_only_on_earlier_rows(data):
    (fold,) = out_of_time_folds(data.times, 0.2)
    times = data.times.to_numpy()
    assert times[fold.train].max() < times[fold.test].min()
    assert len(fold.train) + len(fold.test) == len(times)
    assert 0.18 < len(fold.test) / len(times) < 0.25  # daily times: ties keep a day in one window
    assert fold.test_start == pd.Timestamp(times[fold.test].min())


def test_rolling_windows_are_consecutive_and_each_trains_on_the_past_only(data):
    folds = rolling_folds(data.times, 3, 0.3)
    times = data.times.to_numpy()
    assert len(folds) == 3
    for fold in folds:
        assert times[fold.train].max() < times[fold.test].min()
        assert set(fold.train) | set(fold.test) <= set(range(len(times)))
    for earlier, later in zip(folds, folds[1:], strict=False):
        assert times[earlier.test].max() < times[later.test].min()
        assert set(earlier.test) <= set(later.train)  # a later window trains on the earlier ones
    tested = sum(len(fold.test) for fold in folds)
    assert 0.27 < tested / len(times) < 0.33


def test_rolling_with_too_few_times_says_so():
    times = pd.Series(pd.to_datetime(["2024-01-01"] * 5 + ["2024-02-01"] * 5))
    with pytest.raises(ValueError, match="too few distinct times"):
        rolling_folds(times, 4, 0.5)


def test_inner_split_is_time_ordered_with_times_and_stratified_without(data):
    y, times = data.y[:1000], data.times.iloc[:1000]
    split = inner_split(y, times, 0.15, seed=0)
    assert len(split.test) == 0
    assert times.to_numpy()[split.train].max() < times.to_numpy()[split.valid].min()
    random = inner_split(y, None, 0.15, seed=0)
    assert len(random.test) == 0 and len(random.train) + len(random.valid) == 1000
    assert abs(y[random.valid].mean() - y.mean()) < 0.02


def test_check_enough_labels_names_the_counts():
    y = np.array([1] * 3 + [0] * 50)
    with pytest.raises(InsufficientDataError, match="3 won and 50 lost"):
        check_enough_labels(y, "5 folds", 5, min_won=1, min_lost=1)
    check_enough_labels(y, "3 folds", 3, min_won=1, min_lost=1)  # enough for 3


def test_every_contender_is_measured_on_the_same_test_rows(data, one_thread):
    (fold,) = out_of_time_folds(data.times, 0.25)
    contenders = contenders_for(data, FAST)
    result = evaluate_fold(data, fold, one_thread, FAST, contenders)
    assert result.skipped is None and not result.refused
    assert set(result.metrics) == {*FAST.contenders, "oracle"}
    for values in result.metrics.values():
        assert 0.5 < values["roc_auc"] <= 1 and values["log_loss"] > 0 and 0 <= values["ece"] <= 1
    assert result.metrics["oracle"]["roc_auc"] > result.metrics["points_model"]["roc_auc"]
    means = mean_metrics([result])
    assert means["leadscore"]["roc_auc"] == result.metrics["leadscore"]["roc_auc"]
    assert means["leadscore"]["folds"] == 1


def test_the_default_pipeline_never_sees_test_rows_or_later_rows(data, one_thread, monkeypatch):
    seen = {}
    real = backtest.train_conversion_model

    def spy(frame, y, feature_names, categorical, split, cfg):
        seen["frame"], seen["split"] = frame, split
        return real(frame, y, feature_names, categorical, split, cfg)

    monkeypatch.setattr(backtest, "train_conversion_model", spy)
    (fold,) = out_of_time_folds(data.times, 0.2)
    evaluate_fold(data, fold, one_thread, FAST, ["leadscore"])
    assert seen["frame"]["snapshot_at"].max() < data.times.iloc[fold.test].min()
    assert set(seen["frame"]["lead_id"]) == set(data.frame["lead_id"].iloc[fold.train])
    assert len(seen["split"].test) == 0


def test_a_fold_with_one_class_is_skipped_not_a_crash(data, one_thread):
    won = np.flatnonzero(data.y == 1)
    fold = backtest.Fold(name="fold x", train=np.setdiff1d(np.arange(len(data.y)), won[:30]), test=won[:30])
    result = evaluate_fold(data, fold, one_thread, FAST, contenders_for(data, FAST))
    assert result.skipped is not None and "all won" in result.skipped
    assert result.metrics == {}
    assert mean_metrics([result]) == {}
    assert result.summary()["status"] == "skipped"


def test_a_contender_that_refuses_to_train_is_recorded_and_the_others_still_run(data, one_thread):
    strict = one_thread.model_copy(update={"min_won": 10_000})
    (fold,) = out_of_time_folds(data.times, 0.2)
    result = evaluate_fold(data, fold, strict, FAST, ["leadscore", "logistic_regression"])
    assert "InsufficientDataError" in result.refused["leadscore"]
    assert "leadscore" not in result.metrics and "logistic_regression" in result.metrics


def test_points_model_and_oracle_only_where_they_apply(data):
    flat = BacktestData(data.frame, data.y, data.feature_names, data.categorical, with_points=False)
    names = contenders_for(flat, FAST)
    assert "points_model" not in names and "oracle" not in names
    assert contenders_for(data, FAST)[-1] == "oracle"


def _measured(name: str, **auc: float) -> backtest.FoldResult:
    """A fold result whose contenders measured the given AUCs (every other metric a constant)."""
    fold = backtest.Fold(name=name, train=np.arange(3), test=np.arange(3, 6))
    metrics = {c: {"roc_auc": a, "pr_auc": 0.5, "log_loss": 0.6, "ece": 0.05} for c, a in auc.items()}
    return backtest.FoldResult(fold=fold, metrics=metrics)


def test_contenders_are_also_compared_on_the_folds_they_all_measured():
    hard = _measured("window 1", leadscore=0.80, logistic_regression=0.78)
    refused = _measured("window 2", logistic_regression=0.55)  # leadscore refused: no learnable signal there
    refused.refused["leadscore"] = "no learnable signal"
    easy = _measured("window 3", leadscore=0.70, logistic_regression=0.72)
    results = [hard, refused, easy]
    # Over unequal folds leadscore's mean (0.75) leaves out the window the baseline's mean (0.683) holds.
    assert mean_metrics(results)["leadscore"]["folds"] == 2
    assert mean_metrics(results)["logistic_regression"]["folds"] == 3
    assert same_folds(results) == [hard, easy]
    same = mean_metrics(same_folds(results))
    assert same["leadscore"]["roc_auc"] == pytest.approx(0.75)
    assert same["logistic_regression"]["roc_auc"] == pytest.approx(0.75)
    assert same_folds([hard, easy]) == []  # every contender measured every fold: nothing to add
    skipped = backtest.FoldResult(fold=hard.fold, skipped="one class")
    assert same_folds([hard, skipped, easy]) == []
