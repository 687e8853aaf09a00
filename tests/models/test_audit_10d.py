"""Statistical audit (h-audit10d): the numbers the gate and `leadscore evaluate` report follow the settings
that the training and its own intervals follow."""

import numpy as np
import pytest

from models.backtest import BacktestConfig, BacktestData, Fold, predict_contender
from models.compare import fit_baselines
from models.evaluate import expected_calibration_error
from models.promotion import ChampionRecord, GateRules, decide_promotion
from models.splits import Split, grouped_random_split
from tests.models.conftest import make_leads


def test_the_gates_ece_difference_is_measured_in_the_bins_of_its_interval():
    rng = np.random.default_rng(0)
    champion = rng.uniform(0.05, 0.95, 3000)
    y = (rng.random(3000) < champion).astype(int)
    model = np.clip(champion + rng.normal(0, 0.04, 3000), 0.01, 0.99)
    rules = GateRules(bootstrap_rounds=50, ece_bins=25)
    decision = decide_promotion(
        y,
        model,
        {},
        rules,
        champion_p=champion,
        champion=ChampionRecord("1", 0.75, 0.73, 0.77),
    )
    (ece,) = [e for e in decision.evidence if e.what.startswith("ECE difference")]
    in_25 = expected_calibration_error(y, model, 25) - expected_calibration_error(y, champion, 25)
    in_10 = expected_calibration_error(y, model, 10) - expected_calibration_error(y, champion, 10)
    assert abs(in_25 - in_10) > 1e-3  # the bins matter on these rows
    assert ece.value == pytest.approx(in_25)


def test_evaluates_logistic_regression_is_the_baseline_training_compares_with(small_config):
    leads = make_leads(800, seed=5)
    data = BacktestData(
        frame=leads.frame,
        y=leads.y,
        feature_names=leads.features,
        categorical=leads.categorical,
        with_points=False,
    )
    fold = Fold(name="fold 1", train=np.arange(600), test=np.arange(600, 800))
    cfg = small_config.model_copy(update={"logistic_clip": 0.5})
    evaluated = predict_contender("logistic_regression", data, fold, cfg, BacktestConfig()).p
    split = Split(train=fold.train, valid=np.array([], dtype=int), test=fold.test, method="test")
    baselines = fit_baselines(
        leads.frame, leads.y, split, leads.features, leads.categorical, cfg, with_points=False
    )
    trained = baselines.logistic.predict_proba(leads.frame.iloc[fold.test])
    default_clip = predict_contender("logistic_regression", data, fold, small_config, BacktestConfig()).p
    assert np.abs(default_clip - trained).max() > 1e-3  # the setting moves the baseline
    np.testing.assert_allclose(evaluated, trained)


def test_a_grown_exports_test_window_holds_no_row_the_previous_split_learnt_from():
    ids = np.array([f"P{i:05d}" for i in range(2000)])
    grown = np.concatenate([ids, [f"P{i:05d}" for i in range(2000, 2100)]])  # 5 % more leads
    before = grouped_random_split(ids, valid_fraction=0.15, test_fraction=0.2, seed=0)
    after = grouped_random_split(grown, valid_fraction=0.15, test_fraction=0.2, seed=0)
    learnt = set(ids[np.concatenate([before.train, before.valid])])
    # The champion is re-scored on the new test window: a row it learnt from flatters it (221 of 420 were).
    assert not set(grown[after.test]) & learnt
    assert abs(len(after.test) / len(grown) - 0.2) < 0.01
