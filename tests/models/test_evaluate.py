import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from models.evaluate import (
    assign_grades,
    bootstrap_auc_interval,
    compare_models,
    conversion_by,
    evaluate,
    expected_calibration_error,
    gains_table,
    grade_cutpoints,
    lift_and_capture,
    oracle_auc,
    reliability_table,
    roc_auc,
    segment_metrics,
)

HAND_Y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
HAND_P = np.linspace(0.95, 0.05, 10)  # the two wins ranked first


def test_auc_extremes_and_agreement_with_sklearn():
    assert roc_auc(HAND_Y, HAND_P) == 1.0
    assert roc_auc(HAND_Y, -HAND_P) == 0.0
    assert roc_auc(HAND_Y, np.full(10, 0.3)) == 0.5
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = rng.integers(0, 5, 500)  # many ties
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert np.isnan(roc_auc(np.ones(5), np.arange(5)))


def test_bootstrap_interval_is_seeded_and_brackets_the_auc():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    s = y + rng.normal(0, 1, 400)
    low, high = bootstrap_auc_interval(y, s, rounds=200, seed=3)
    assert low < roc_auc(y, s) < high and high - low < 0.2
    assert (low, high) == bootstrap_auc_interval(y, s, rounds=200, seed=3)
    assert (low, high) != bootstrap_auc_interval(y, s, rounds=200, seed=4)


def test_lift_and_capture_on_a_hand_example():
    out = lift_and_capture(HAND_Y, HAND_P)
    # top 10 % = 1 lead, 1 of the 2 wins; base rate 0.2
    assert out["capture_top10"] == pytest.approx(0.5) and out["lift_top10"] == pytest.approx(5.0)
    assert out["capture_top20"] == pytest.approx(1.0) and out["lift_top20"] == pytest.approx(5.0)
    assert out["capture_top30"] == pytest.approx(1.0) and out["lift_top30"] == pytest.approx(10 / 3)


def test_ties_are_shared_out_not_ordered_by_row():
    # all scores equal: any top share captures its share of wins, lift 1, whatever the row order
    out = lift_and_capture(HAND_Y, np.zeros(10))
    assert out["capture_top20"] == pytest.approx(0.2) and out["lift_top30"] == pytest.approx(1.0)
    table = gains_table(HAND_Y, np.zeros(10), deciles=5)
    assert table["won"].tolist() == pytest.approx([0.4] * 5)


def test_gains_table():
    table = gains_table(HAND_Y, HAND_P, deciles=5)
    assert table["decile"].tolist() == [1, 2, 3, 4, 5]
    assert table["leads"].tolist() == [2] * 5 and table["won"].tolist() == [2, 0, 0, 0, 0]
    assert table["cumulative_capture"].tolist() == [1.0] * 5
    assert table["lift"].iloc[0] == pytest.approx(5.0) and table["cumulative_lift"].iloc[-1] == pytest.approx(
        1.0
    )


def test_calibration_error_and_reliability_table():
    y = np.array([1, 0] * 50)
    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.3)) == pytest.approx(0.2)
    p = np.r_[np.full(50, 0.15), np.full(50, 0.85)]
    y2 = np.r_[np.zeros(45), np.ones(5), np.ones(40), np.zeros(10)]  # observed 0.1 and 0.8
    assert expected_calibration_error(y2, p) == pytest.approx(0.05)
    table = reliability_table(y2, p, bins=10)
    assert table["bin"].tolist() == [1, 8]
    assert table["observed_rate"].tolist() == pytest.approx([0.1, 0.8])
    assert table["gap"].tolist() == pytest.approx([-0.05, -0.05])


def test_evaluate_returns_every_headline_metric():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.99, 2000)
    y = (rng.random(2000) < p).astype(int)
    out = evaluate(y, p, bootstrap_rounds=50, seed=0, ece_bins=10)
    expected = {
        "roc_auc",
        "roc_auc_low",
        "roc_auc_high",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "base_rate",
        "n",
        "n_won",
        "lift_top10",
        "lift_top20",
        "lift_top30",
        "capture_top10",
        "capture_top20",
        "capture_top30",
    }
    assert expected <= set(out)
    assert out["n"] == 2000 and out["n_won"] == y.sum()
    assert out["log_loss"] == pytest.approx(sk_log_loss(y, p))
    assert out["brier"] == pytest.approx(np.mean((p - y) ** 2))
    assert out["ece"] < 0.05  # the probabilities are the truth
    assert out == evaluate(y, p, bootstrap_rounds=50, seed=0, ece_bins=10)


def test_evaluate_ranks_by_score_when_given():
    p = np.full(10, 0.2)  # no ranking in the probability
    out = evaluate(HAND_Y, p, score=HAND_P, bootstrap_rounds=0)
    assert out["roc_auc"] == 1.0 and out["lift_top10"] == pytest.approx(5.0)
    assert out["brier"] == pytest.approx(np.mean((p - HAND_Y) ** 2))
    table = compare_models(HAND_Y, {"flat": p, "ranked": HAND_P}, scores={"flat": HAND_P}, bootstrap_rounds=0)
    assert table["model"].tolist() == ["flat", "ranked"] and table["roc_auc"].tolist() == [1.0, 1.0]


def test_grades_from_frozen_cut_points():
    p_valid = np.linspace(0, 1, 1001)
    thresholds = grade_cutpoints(p_valid, {"A": 0.1, "B": 0.2, "C": 0.3})
    assert thresholds == pytest.approx({"A": 0.9, "B": 0.7, "C": 0.4})
    grades = assign_grades(p_valid, thresholds)
    assert grades.value_counts().to_dict() == {"D": 400, "C": 300, "B": 200, "A": 101}
    # frozen: new scores are graded with the validation cut points, whatever their own distribution
    later = pd.Series([0.95, 0.8, 0.5, 0.1, 0.9], index=[10, 11, 12, 13, 14])
    graded = assign_grades(later, thresholds)
    assert graded.tolist() == ["A", "B", "C", "D", "A"] and graded.index.equals(later.index)


def test_conversion_by_group():
    y = np.array([1, 0, 1, 1, 0, 0])
    table = conversion_by(y, ["A", "A", "B", "B", "B", None])
    assert table["group"].tolist() == ["(missing)", "A", "B"]
    assert table["leads"].tolist() == [1, 2, 3] and table["won"].tolist() == [0, 1, 2]
    assert table["win_rate"].tolist() == pytest.approx([0, 0.5, 2 / 3])
    assert table["share_of_leads"].sum() == pytest.approx(1.0)
    assert table["share_of_wins"].tolist() == pytest.approx([0, 1 / 3, 2 / 3])


def test_segment_metrics():
    rng = np.random.default_rng(4)
    n = 600
    segments = pd.DataFrame(
        {"region": np.where(np.arange(n) < 500, "europe", "asia"), "industry": "software"}
    )
    p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < p).astype(int)
    y[500:] = 0  # asia: one class only
    table = segment_metrics(y, p, segments, min_rows=50)
    assert set(zip(table["segment"], table["value"], strict=True)) == {
        ("region", "europe"),
        ("region", "asia"),
        ("industry", "software"),
    }
    europe = table.set_index(["segment", "value"]).loc[("region", "europe")]
    assert europe["n"] == 500 and europe["roc_auc"] == pytest.approx(roc_auc(y[:500], p[:500]))
    asia = table.set_index(["segment", "value"]).loc[("region", "asia")]
    assert np.isnan(asia["roc_auc"]) and asia["win_rate"] == 0
    small = segment_metrics(y, p, segments, min_rows=550)
    assert np.isnan(small.set_index("value").loc["europe", "brier"])
    assert small.set_index("value").loc["europe", "n"] == 500


def test_oracle_auc(fresh_leads):
    assert oracle_auc(fresh_leads.y, fresh_leads.true_p) == pytest.approx(
        roc_auc_score(fresh_leads.y, fresh_leads.true_p)
    )
