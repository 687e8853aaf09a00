"""Target statistics (models/target_stats.py) and the model that reads them (model.target_stats)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from models.config import TargetStatsConfig
from models.splits import out_of_time_split
from models.target_stats import TargetStats, stat_groups
from models.train import FeatureEncoder, train_conversion_model


def _codes(levels: list[int], missing_every: int = 0) -> np.ndarray:
    column = np.asarray(levels, dtype=float)
    if missing_every:
        column[::missing_every] = np.nan
    return column.reshape(-1, 1)


def test_a_level_rate_is_smoothed_towards_the_prior():
    codes = _codes([0, 0, 0, 0, 1, 1])
    y = np.array([1, 1, 1, 0, 0, 0])
    stats = TargetStats([(0,)], {0: 2}, 1, smoothing=2.0, folds=2, seed=0).fit(codes, y)
    prior = 0.5
    rates = stats.transform(_codes([0, 1])).ravel()
    assert rates == pytest.approx([(3 + 2 * prior) / (4 + 2), (0 + 2 * prior) / (2 + 2)])


def test_a_training_row_is_never_encoded_with_its_own_label():
    """Every level is unique to one row: out of fold, each row only sees the prior of the other rows."""
    n = 40
    codes = _codes(list(range(n)))
    y = np.tile([0, 1], n // 2)
    stats = TargetStats([(0,)], {0: n}, 1, smoothing=1.0, folds=4, seed=0)
    encoded = stats.fit_transform(codes, y).ravel()
    # its own label would pull a won row's rate above a lost row's; out of fold each row's level is unseen,
    # so every row gets the other folds' win rate (stratified: one half) whatever its own label
    assert np.allclose(encoded, 0.5)
    fitted = stats.transform(codes).ravel()  # scoring uses all training labels: a won row's level is higher
    assert (fitted[y == 1] > fitted[y == 0].max()).all()


def test_each_training_row_is_encoded_from_the_other_folds_only():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(200, 2)).astype(float)
    y = rng.integers(0, 2, size=200)
    stats = TargetStats([(0,), (0, 1)], {0: 4, 1: 4}, 2, smoothing=5.0, folds=5, seed=3)
    encoded = stats.fit_transform(codes, y)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    for fit, held in splitter.split(codes, y):
        prior = y[fit].mean()
        for row in held[:10]:
            same = fit[codes[fit, 0] == codes[row, 0]]
            assert encoded[row, 0] == pytest.approx((y[same].sum() + 5.0 * prior) / (len(same) + 5.0))
            pair = fit[(codes[fit, 0] == codes[row, 0]) & (codes[fit, 1] == codes[row, 1])]
            assert encoded[row, 1] == pytest.approx((y[pair].sum() + 5.0 * prior) / (len(pair) + 5.0))


def test_unseen_and_missing_keys_get_a_rate_not_an_error():
    codes = _codes([0, 1, 0, 1, 0, 1])
    y = np.array([1, 0, 1, 0, 0, 1])
    stats = TargetStats([(0,)], {0: 2}, 1, smoothing=1.0, folds=2, seed=0).fit(codes, y)
    rates = stats.transform(np.array([[np.nan], [5.0]])).ravel()
    assert rates == pytest.approx([stats.prior_, stats.prior_])  # no missing in training: the prior
    with_missing = TargetStats([(0,)], {0: 2}, 1, smoothing=1.0, folds=2, seed=0)
    with_missing.fit(_codes([0, 1, 0, 1, 0, 1], missing_every=3), y)
    missing_rate = with_missing.transform(np.array([[np.nan]])).ravel()[0]
    assert missing_rate == pytest.approx((y[[0, 3]].sum() + with_missing.prior_) / 3)


def test_pairs_only_of_small_categoricals_and_capped():
    levels = {
        "a": ["x", "y", "z"],
        "b": ["p", "q", "r", "s"],
        "flag": ["0", "1"],
        "many": [str(i) for i in range(50)],
    }
    names = ["a", "num", "b", "flag", "many"]
    assert stat_groups(names, levels, pair_max_levels=10, max_pairs=10) == [(0,), (2,), (3,), (4,), (0, 2)]
    assert stat_groups(names, levels, pair_max_levels=10, max_pairs=0) == [(0,), (2,), (3,), (4,)]


def test_fold_back_hands_a_pair_to_both_features():
    stats = TargetStats([(0,), (0, 1)], {0: 3, 1: 3}, 2, smoothing=1.0, folds=2, seed=0)
    values = np.array([[1.0, 2.0, 0.5, 4.0, 10.0]])  # features a, b; rate a, rate a*b; bias
    assert stats.fold_back(values).tolist() == [[1.0 + 0.5 + 2.0, 2.0 + 2.0, 10.0]]


@pytest.fixture(scope="module")
def stats_model(leads, small_config):
    split = out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)
    cfg = small_config.model_copy(update={"target_stats": TargetStatsConfig(enabled=True, max_pairs=3)})
    return train_conversion_model(leads.frame, leads.y, leads.features, leads.categorical, split, cfg)


def test_the_model_scores_with_its_fitted_rates_and_explains_per_feature(stats_model, leads):
    model = stats_model
    assert model.target_stats is not None
    columns = model.selection["target_stats"]["columns"]
    assert columns[0] == "win_rate__industry" and columns[-1] == "win_rate__industry__email_domain_type"
    rows = leads.frame.iloc[:300]
    contributions = model.contributions(rows)
    assert list(contributions.columns) == [*leads.features, "bias"]
    assert np.allclose(contributions.sum(axis=1), model.predict_raw(rows))
    importance = model.feature_importance()
    assert sorted(importance["feature"]) == sorted(leads.features)
    assert importance["gain"].sum() == pytest.approx(
        model.booster.feature_importance("gain", iteration=model.best_iteration).sum()
    )
    # the pandas matrix (training's input) scores exactly as the float matrix scoring feeds the booster
    X = model.matrix(rows)
    assert X.shape[1] == len(leads.features) + len(model.target_stats.groups)
    direct = model.booster.predict(X, raw_score=True, num_iteration=model.best_iteration)
    trees_only = model.predict_raw(rows) if model.linear is None else None
    if trees_only is not None:
        assert np.allclose(direct, trees_only)


def test_unseen_levels_score_like_missing_with_rates(stats_model, leads):
    rows = leads.frame.iloc[:5].copy()
    unseen, missing = rows.copy(), rows.copy()
    unseen["industry"] = "aerospace"
    missing["industry"] = pd.Series([None] * 5, dtype="str", index=rows.index)
    assert np.array_equal(stats_model.predict_proba(unseen), stats_model.predict_proba(missing))
    assert np.isfinite(stats_model.predict_proba(unseen)).all()


def test_same_seed_same_rates_and_scores_after_pickling(stats_model, leads, small_config):
    split = out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)
    cfg = small_config.model_copy(update={"target_stats": TargetStatsConfig(enabled=True, max_pairs=3)})
    again = train_conversion_model(leads.frame, leads.y, leads.features, leads.categorical, split, cfg)
    assert again.target_stats is not None and stats_model.target_stats is not None
    for mine, theirs in zip(again.target_stats.tables_, stats_model.target_stats.tables_, strict=True):
        assert np.array_equal(mine, theirs)
    restored = pickle.loads(pickle.dumps(stats_model))
    assert np.array_equal(restored.predict_proba(leads.frame), stats_model.predict_proba(leads.frame))
    assert np.array_equal(again.predict_proba(leads.frame), stats_model.predict_proba(leads.frame))


def test_off_by_config_adds_nothing(model_without_stats):
    assert model_without_stats.target_stats is None
    assert model_without_stats.selection["target_stats"]["columns"] == []


@pytest.fixture(scope="module")
def model_without_stats(leads, small_config):
    split = out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)
    cfg = small_config.model_copy(update={"target_stats": TargetStatsConfig(enabled=False)})
    return train_conversion_model(leads.frame, leads.y, leads.features, leads.categorical, split, cfg)


def test_encoder_codes_feed_the_rates():
    frame = pd.DataFrame({"c": pd.Series(["a", "b", None, "a"], dtype="str"), "x": [1.0, 2.0, 3.0, 4.0]})
    encoder = FeatureEncoder(["c", "x"], ["c"]).fit(frame)
    stats = TargetStats([(0,)], {0: 2}, 2, smoothing=0.0, folds=2, seed=0).fit(
        encoder.transform(frame), np.array([1, 0, 1, 1])
    )
    assert stats.transform(encoder.transform(frame)).ravel().tolist() == [1.0, 0.0, 1.0, 1.0]
