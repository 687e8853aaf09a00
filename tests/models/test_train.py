import pickle

import numpy as np
import pandas as pd
import pytest

from models.config import ModelConfig
from models.evaluate import brier_score, expected_calibration_error, grade_cutpoints, oracle_auc, roc_auc
from models.splits import out_of_time_split
from models.train import (
    SMALL_INPUT_ROWS,
    FeatureEncoder,
    TrainedModel,
    calibration_rows,
    fit_calibrator,
    prediction_threads,
    train_conversion_model,
)


@pytest.fixture(scope="module")
def split(leads):
    return out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)


@pytest.fixture(scope="module")
def model(leads, split, small_config):
    return train_conversion_model(
        leads.frame, leads.y, leads.features, leads.categorical, split, small_config
    )


def test_the_encoder_learns_levels_and_freezes_them():
    train = pd.DataFrame(
        {
            "industry": pd.Series(["b", "a", None, "a"], dtype="str"),
            "n": [1, 2, 3, 4],
            "flag": [True, False, True, False],
        }
    )
    encoder = FeatureEncoder(["industry", "n", "flag"], ["industry"])
    assert encoder.fit(train) is encoder
    assert encoder.levels_ == {"industry": ["a", "b"]}
    X = encoder.frame(train)
    assert isinstance(X["industry"].dtype, pd.CategoricalDtype)
    assert list(X["industry"].cat.categories) == ["a", "b"]
    assert X["n"].dtype == float and X["flag"].tolist() == [1.0, 0.0, 1.0, 0.0]
    np.testing.assert_array_equal(encoder.transform(train)[:, 0], [1, 0, np.nan, 0])

    later = pd.DataFrame(
        {"industry": pd.Series(["c", "b"], dtype="str"), "n": [5, None], "flag": [None, True]}
    )
    Y = encoder.frame(later)
    assert encoder.levels_ == {"industry": ["a", "b"]} and list(Y["industry"].cat.categories) == ["a", "b"]
    assert pd.isna(Y["industry"].iloc[0]) and Y["industry"].iloc[1] == "b"  # unseen level -> missing
    assert np.isnan(Y["n"].iloc[1]) and np.isnan(Y["flag"].iloc[0])


def test_the_encoder_compares_categories_as_text():
    encoder = FeatureEncoder(["code"], ["code"]).fit(pd.DataFrame({"code": [1, 3]}))
    assert encoder.levels_ == {"code": ["1", "3"]}
    matrix = encoder.transform(pd.DataFrame({"code": [1, 2, 3]}))
    np.testing.assert_array_equal(matrix[:, 0], [0, np.nan, 1])
    many = pd.DataFrame(
        {"code": pd.Series(["3", None, "zz", "1"] * 100, dtype="str")}
    )  # past the few-values loop
    np.testing.assert_array_equal(encoder.transform(many)[:4, 0], [1, np.nan, np.nan, 0])


def test_encoder_errors_are_clear():
    frame = pd.DataFrame({"industry": pd.Series(["a"], dtype="str"), "n": [1.0]})
    with pytest.raises(KeyError, match="missing"):
        FeatureEncoder(["industry", "n", "gone"], ["industry"]).fit(frame)
    with pytest.raises(ValueError, match="categorical"):
        FeatureEncoder(["industry", "n"], ["industry", "other"]).fit(frame)
    with pytest.raises(ValueError, match="list it among the categorical features"):
        FeatureEncoder(["industry", "n"], []).fit(frame).transform(frame)


def test_a_model_pickled_before_the_encoder_scores_the_same(model, fresh_leads):
    """Models registered before the encoder kept levels, feature_names and categorical themselves."""
    state = dict(model.__dict__)
    encoder = state.pop("encoder")
    state |= {
        "levels": encoder.levels_,
        "feature_names": encoder.feature_names,
        "categorical": encoder.categorical,
    }
    old = TrainedModel.__new__(TrainedModel)
    old.__setstate__(state)
    assert old.feature_names == model.feature_names and old.encoder.levels_ == encoder.levels_
    np.testing.assert_array_equal(old.predict_raw(fresh_leads.frame), model.predict_raw(fresh_leads.frame))


def test_lightgbm_beats_constant_and_nears_oracle(model, fresh_leads):
    p = model.predict_proba(fresh_leads.frame)
    y = fresh_leads.y
    constant_brier = brier_score(y, np.full(len(y), y.mean()))
    assert brier_score(y, p) < constant_brier - 0.01
    assert roc_auc(y, p) > 0.68
    assert roc_auc(y, p) > oracle_auc(y, fresh_leads.true_p) - 0.05  # 2,100 training rows only
    assert expected_calibration_error(y, p) < 0.05
    assert 0 < model.best_iteration <= 300


def test_same_seed_same_model(leads, split, small_config, model):
    again = train_conversion_model(
        leads.frame, leads.y, leads.features, leads.categorical, split, small_config
    )
    assert again.best_iteration == model.best_iteration
    assert np.array_equal(again.predict_proba(leads.frame), model.predict_proba(leads.frame))
    assert again.grade_thresholds == model.grade_thresholds


def test_unseen_category_is_treated_as_missing(model, leads):
    rows = leads.frame.iloc[:5].copy()
    unseen, missing = rows.copy(), rows.copy()
    unseen["industry"] = "aerospace"
    missing["industry"] = pd.Series([None] * 5, dtype="str", index=rows.index)
    assert np.array_equal(model.predict_proba(unseen), model.predict_proba(missing))
    assert np.isfinite(model.predict_proba(unseen)).all()


def test_contributions_add_up_to_the_raw_score(model, leads):
    rows = leads.frame.iloc[:50]
    contrib = model.contributions(rows)
    assert list(contrib.columns) == [*leads.features, "bias"]
    assert contrib.index.equals(rows.index)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), model.predict_raw(rows), atol=1e-8)


def test_calibration_report_and_grades(model, leads, split):
    report = model.calibration_report
    methods = {"isotonic", "sigmoid"}
    if report["valid"]["n"] >= report["isotonic_min_rows"]:  # "auto" cross-validated its choice
        assert report["method"] in methods and set(report["cv_brier"]) == methods
    else:  # too few recent rows for a step function
        assert report["method"] == "sigmoid" and report["cv_brier"] == {}
    for window in ("valid", "test"):
        assert {"brier_before", "brier_after", "ece_before", "ece_after"} <= set(report[window])
    thresholds = model.grade_thresholds
    assert list(thresholds) == ["A", "B", "C"] and thresholds["A"] > thresholds["B"] > thresholds["C"]
    grades = model.grade(leads.frame.iloc[split.valid])
    shares = grades.value_counts(normalize=True)
    assert abs(shares["A"] - 0.10) < 0.03 and abs(shares["D"] - 0.40) < 0.05


def test_trained_model_pickles(model, leads):
    clone = pickle.loads(pickle.dumps(model))
    assert np.array_equal(
        clone.predict_proba(leads.frame.iloc[:100]), model.predict_proba(leads.frame.iloc[:100])
    )


def _miscalibrated(fresh_leads):
    # An overconfident, shifted model: right ranking, wrong probabilities.
    true_logit = np.log(fresh_leads.true_p / (1 - fresh_leads.true_p))
    return 2.5 * true_logit + 1.0, fresh_leads.y


@pytest.mark.parametrize("method", ["isotonic", "sigmoid", "auto"])
def test_calibration_repairs_a_miscalibrated_model(fresh_leads, method):
    raw, y = _miscalibrated(fresh_leads)
    fit, held = slice(0, 10000), slice(10000, None)
    calibrator = fit_calibrator(raw[fit], y[fit], method, seed=0)
    before = expected_calibration_error(y[held], 1 / (1 + np.exp(-raw[held])))
    after = expected_calibration_error(y[held], calibrator.predict(raw[held]))
    assert before > 0.1
    assert after < 0.03
    if method == "auto":
        assert calibrator.method in {"isotonic", "sigmoid"} and calibrator.cv_brier
    # sigmoid finds the true mapping back: slope 1/2.5, intercept -1/2.5
    if method == "sigmoid":
        assert abs(calibrator.slope - 0.4) < 0.05 and abs(calibrator.intercept + 0.4) < 0.1


def test_auto_calibration_is_sigmoid_below_isotonic_min_rows(fresh_leads):
    raw, y = _miscalibrated(fresh_leads)
    few = fit_calibrator(raw[:800], y[:800], "auto", seed=0, isotonic_min_rows=1000)
    assert few.method == "sigmoid" and few.cv_brier == {}
    many = fit_calibrator(raw[:3000], y[:3000], "auto", seed=0, isotonic_min_rows=1000)
    assert set(many.cv_brier) == {"isotonic", "sigmoid"}


def test_isotonic_end_steps_hold_enough_rows_so_scores_beyond_the_range_are_never_certain(fresh_leads):
    """A few top-scored rows all won make isotonic's last step 1.0: every lead scored above the calibrated
    range would be called certain. Pooled to `isotonic_end_rows` rows, the ends are the pooled win rates."""
    raw, y = _miscalibrated(fresh_leads)
    raw, y = raw[:2000].copy(), y[:2000].copy()
    top, bottom = np.argsort(raw)[-8:], np.argsort(raw)[:8]
    y[top], y[bottom] = 1, 0
    plain = fit_calibrator(raw, y, "isotonic")
    pooled = fit_calibrator(raw, y, "isotonic", isotonic_end_rows=30)
    beyond = np.array([raw.min() - 5.0, raw.max() + 5.0])
    assert plain.predict(beyond)[1] > 0.999 and plain.predict(beyond)[0] < 0.001
    low, high = pooled.predict(beyond)
    order = np.argsort(raw)
    assert high == pytest.approx(y[order[-30:]].mean(), abs=0.15) and high < 0.99
    assert low == pytest.approx(y[order[:30]].mean(), abs=0.15) and low > 0.0
    assert (np.diff(pooled.knots_y) > 0).all() and len(pooled.knots_y) < len(plain.knots_y)
    middle = (raw > np.quantile(raw, 0.2)) & (raw < np.quantile(raw, 0.8))  # the inside is untouched
    np.testing.assert_allclose(pooled.predict(raw[middle]), plain.predict(raw[middle]), atol=1e-12)


def test_calibrators_clip_and_pickle():
    raw = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])
    y = np.array([0, 0, 1, 0, 1, 1])
    iso = fit_calibrator(raw, y, "isotonic")
    assert iso.predict(np.array([-100.0]))[0] == iso.predict(np.array([-2.0]))[0]
    assert iso.predict(np.array([100.0]))[0] == iso.predict(np.array([3.0]))[0]
    assert ((iso.predict(raw) > 0) & (iso.predict(raw) < 1)).all()
    none = fit_calibrator(raw, y, "none")
    np.testing.assert_allclose(none.predict(np.array([0.0])), [0.5])
    clone = pickle.loads(pickle.dumps(iso))
    assert np.array_equal(clone.predict(raw), iso.predict(raw))
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibrator(raw, y, "beta")


def test_no_calibration_option(leads, split, small_config):
    cfg = small_config.model_copy(update={"calibration": "none"})
    m = train_conversion_model(leads.frame, leads.y, leads.features, leads.categorical, split, cfg)
    np.testing.assert_allclose(
        m.predict_proba(leads.frame.iloc[:20]), m.predict_uncalibrated(leads.frame.iloc[:20])
    )


def test_model_config_forbids_unknown_keys():
    with pytest.raises(ValueError):
        ModelConfig(seeed=1)


def test_encoded_matrix_scores_exactly_as_the_pandas_matrix(model, fresh_leads):
    """Scoring feeds the booster category codes in a float array; LightGBM must see what the pandas
    Categorical matrix gives it, also for unseen and missing levels, one row or many."""
    frame = fresh_leads.frame.iloc[:2000].copy()  # 2,000 of the 20,000 rows: exact equality needs no more
    frame.loc[frame.index[:40], "industry"] = "never seen in training"
    frame.loc[frame.index[40:80], "seniority"] = None
    it = model.best_iteration
    linear = model.linear  # the linear part boosted from or blended with, when chosen: it reads the codes
    encoded = model.encoded(frame)
    through_pandas = model.booster.predict(model.matrix(frame), raw_score=True, num_iteration=it)
    contributions = model.booster.predict(model.matrix(frame), pred_contrib=True, num_iteration=it)
    if model.target_stats is not None:  # the win-rate columns' contributions go back to their features
        contributions = model.target_stats.fold_back(contributions)
    if linear is not None:
        through_pandas = model.tree_weight * through_pandas + model.linear_weight * linear.margin(encoded)
        contributions = model.tree_weight * contributions + model.linear_weight * linear.contributions(
            encoded
        )
    np.testing.assert_array_equal(model.predict_raw(frame), through_pandas)
    np.testing.assert_array_equal(model.contributions(frame).to_numpy(), contributions)
    for row in (0, 45, 100):
        np.testing.assert_array_equal(model.predict_raw(frame.iloc[[row]]), through_pandas[[row]])


def test_small_inputs_are_predicted_on_one_thread():
    assert prediction_threads(1, 8) == 1
    assert prediction_threads(SMALL_INPUT_ROWS - 1, 8) == 1
    assert prediction_threads(SMALL_INPUT_ROWS, 8) == 8


def test_calibration_rows_take_newer_blocks_until_enough_rows():
    folds = [
        (np.arange(0, 40), np.arange(40, 60)),
        (np.arange(0, 60), np.arange(60, 80)),
        (np.arange(0, 80), np.arange(80, 100)),
    ]
    assert np.array_equal(calibration_rows(folds, "time_ordered", 20), np.arange(80, 100))
    assert np.array_equal(calibration_rows(folds, "time_ordered", 21), np.arange(60, 100))
    assert np.array_equal(calibration_rows(folds, "time_ordered", 10_000), np.arange(40, 100))
    grouped = [(np.arange(50, 100), np.arange(0, 50)), (np.arange(0, 50), np.arange(50, 100))]
    assert np.array_equal(calibration_rows(grouped, "grouped", 1), np.arange(100))


def test_the_grade_cut_offs_come_from_scores_of_rows_no_model_had_learnt(model):
    """The card compared the test window's scores with the validation window's, which the final model had
    learnt (in-sample: a score shift that was the model's fit, not drift). The model now keeps the scores its
    cut-offs were set on, each from a selection fold that held the row out."""
    shares = ModelConfig().grades.shares()
    assert len(model.cutoff_scores) == model.selection["calibration_rows"] > 0
    assert grade_cutpoints(model.cutoff_scores, shares) == pytest.approx(model.grade_thresholds)
    state = pickle.loads(pickle.dumps(model)).__dict__.copy()
    del state["cutoff_scores"]  # a model pickled before it kept them
    old = object.__new__(type(model))
    old.__setstate__(state)
    assert len(old.cutoff_scores) == 0
