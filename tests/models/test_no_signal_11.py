"""The no-signal check judges scores chosen on other folds: data without signal is refused (h-null11).

Choosing the tree count, the contender and the blend weight on the same held-out folds that measure the AUC
let 8-17 % of label-independent frames of a few hundred rows through; the seeds below are some of them.
"""

import re

import numpy as np
import pandas as pd
import pytest

from models.config import ModelConfig
from models.minimum_data import NoSignalError
from models.selection import (
    BoostingResult,
    cross_fitted_scores,
    fold_auc_interval,
    fold_variance_factor,
    grouped_folds,
    left_out_blend,
    left_out_tree_count,
    other_folds_weights,
    time_ordered_folds,
)
from models.splits import Split
from models.train import train_conversion_model

FOLDS = [
    (np.arange(0, 4), np.arange(4, 6)),
    (np.arange(0, 6), np.arange(6, 8)),
    (np.arange(0, 8), np.arange(8, 12)),
]


def _flat_frame(n: int, seed: int, timed: bool, effect: float = 0.0):
    """Three categoricals and five numbers; won with log-odds -0.85 + effect * (x0 + [c1 == "a"])."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "c1": pd.Categorical(rng.choice(list("abcde"), n)),
            "c2": pd.Categorical(rng.choice([f"l{i}" for i in range(10)], n)),
            "c3": pd.Categorical(rng.choice([f"m{i}" for i in range(30)], n)),
        }
    )
    for j in range(5):
        frame[f"x{j}"] = rng.normal(size=n)
    logit = -0.85 + effect * (frame["x0"].to_numpy() + (frame["c1"].to_numpy() == "a"))
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    names = list(frame.columns)
    if timed:
        days = np.sort(rng.integers(0, 600, n))
        frame["snapshot_at"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")
        cut = int(0.7 * n)
        split = Split(np.arange(cut), np.arange(cut, n), np.array([], dtype=int), "out_of_time")
    else:
        order = rng.permutation(n)
        cut = int(0.7 * n)
        split = Split(np.sort(order[:cut]), np.sort(order[cut:]), np.array([], dtype=int), "grouped_random")
    return frame, y, names, split


@pytest.mark.parametrize(
    ("n", "seed", "timed"),
    [(300, 31, True), (600, 18, True), (600, 25, True), (600, 45, True), (300, 38, False), (600, 15, False)],
)
def test_frames_without_signal_that_passed_are_refused(n, seed, timed):
    frame, y, names, split = _flat_frame(n, seed, timed)
    with pytest.raises(NoSignalError) as raised:
        train_conversion_model(frame, y, names, ["c1", "c2", "c3"], split, ModelConfig())
    message = str(raised.value)
    assert message.startswith("no learnable signal: the ")
    pattern = (
        r"ROC AUC is 0\.\d{3}.*\(.*95% interval 0\.\d{3} to 0\.\d{3}, each fold scored by the model chosen on "
        r"the other folds.*\) on \d+ held-out rows in 3 folds of the learning window"
    )
    assert re.search(pattern, message)


def test_a_frame_with_a_clear_signal_trains_and_records_both_aucs():
    frame, y, names, split = _flat_frame(600, 0, True, effect=1.0)
    model = train_conversion_model(frame, y, names, ["c1", "c2", "c3"], split, ModelConfig())
    signal = model.selection["signal"]
    assert signal["low"] > 0.5 and signal["auc"] > 0.6
    assert len(signal["contenders"]) == model.selection["n_folds"]
    assert model.selection["oof_auc_low"] > 0.5  # the chosen contender's own, as before


def test_other_folds_weights_leave_the_fold_out():
    weights = other_folds_weights(FOLDS, 2)
    assert weights.tolist() == [0.5, 0.5, 0.0]
    assert other_folds_weights(FOLDS, 0).tolist() == pytest.approx([0.0, 2 / 6, 4 / 6])


def test_left_out_tree_count_ignores_the_left_out_fold():
    curve = np.array([[0.60, 0.60, 0.70], [0.58, 0.59, 0.50], [0.59, 0.57, 0.55]])  # rounds x folds
    assert left_out_tree_count(curve, np.array([1 / 3, 1 / 3, 1 / 3]))[0] == 2  # fold 3 pulls to round 2
    trees, loss = left_out_tree_count(curve, np.array([0.5, 0.5, 0.0]))
    assert trees == 3 and loss == pytest.approx(0.58)
    assert left_out_tree_count(np.array([[0.5], [0.5]]), np.array([1.0]))[0] == 1  # the first on a tie


def test_left_out_blend_chooses_the_weight_without_the_fold():
    y = np.array([0, 1] * 6)
    trees = np.where(y == 1, 2.0, -2.0)  # the trees rank every row right ...
    trees[8:12] = -trees[8:12]  # ... but the third fold's wrong
    linear = np.zeros(12)
    loss, held = left_out_blend(y, trees, linear, FOLDS, 2, steps=4)
    assert held.tolist() == trees[8:12].tolist()  # weight 1 on the trees: chosen on folds 1 and 2
    assert loss == pytest.approx(np.log1p(np.exp(-2.0)))
    _, held_first = left_out_blend(y, trees, linear, FOLDS, 0, steps=4)
    assert held_first.tolist() == [0.0, 0.0]  # the wrong third fold among the choosers: weight 0


def test_cross_fitted_scores_take_each_fold_from_the_contender_chosen_without_it():
    def result(losses: list[float], value: float) -> BoostingResult:
        left_out = [(loss, np.full(len(held), value)) for loss, (_, held) in zip(losses, FOLDS, strict=True)]
        return BoostingResult(1, 0.5, [], np.zeros(12), left_out=left_out)

    results = {"lightgbm": result([0.5, 0.6, 0.4], 1.0), "blend": result([0.5, 0.5, 0.5], 2.0)}
    scores, picks = cross_fitted_scores(results, FOLDS, 12)
    assert picks == ["lightgbm", "blend", "lightgbm"]  # the first listed on a tie
    assert np.isnan(scores[:4]).all()  # never held out
    assert scores[4:].tolist() == [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0]


def test_fold_variance_factor_is_two_for_k_fold_and_one_for_expanding_windows():
    y = np.arange(600) % 3 == 0
    assert fold_variance_factor(grouped_folds(y, None, 3, seed=0)) == pytest.approx(2.0)
    assert fold_variance_factor(grouped_folds(y, None, 5, seed=0)) == pytest.approx(2.0)
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(600) // 2, unit="D")
    assert fold_variance_factor(time_ordered_folds(times, 3)) == 1.0
    assert fold_variance_factor(FOLDS) == 1.0


def test_k_fold_interval_is_wider_by_the_square_root_of_two():
    rng = np.random.default_rng(0)
    y, score = (rng.random(600) < 0.3).astype(int), rng.normal(size=600)
    folds = grouped_folds(y, None, 3, seed=0)
    point, low, high = fold_auc_interval(y, score, folds, rounds=200, seed=1, level=0.95)
    narrow = [(fit, held) for fit, held in folds]
    narrow[0] = (np.setdiff1d(narrow[0][0], narrow[1][1]), narrow[0][1])  # fold 1 no longer fits on fold 2
    narrow[1] = (np.setdiff1d(narrow[1][0], narrow[0][1]), narrow[1][1])
    narrow[2] = (np.array([], dtype=int), narrow[2][1])  # nor does fold 3 share with any
    assert fold_variance_factor(narrow) == 1.0
    same_point, alone_low, alone_high = fold_auc_interval(y, score, narrow, rounds=200, seed=1, level=0.95)
    assert same_point == point
    assert point - low == pytest.approx(np.sqrt(2) * (point - alone_low))
    assert high - point == pytest.approx(np.sqrt(2) * (alone_high - point))
