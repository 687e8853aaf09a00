"""Rare outcomes (a B2B funnel winning 2 % of its leads): the minimum-data check counts the rows the model
calibrates on, not the validation window, which is only the newest part of the learning rows."""

import numpy as np
import pytest

from models.minimum_data import InsufficientDataError
from models.splits import out_of_time_split
from models.train import calibration_rows, learning_folds, train_conversion_model


def _rare(leads, valid_won: int):
    """The leads' outcomes thinned to a few % won (a win kept with a chance that rises with its true
    probability, so the ranking gets sharper), with `valid_won` wins left in the validation window."""
    split = out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)
    keep = np.random.default_rng(3).random(len(leads.y)) < 0.3 * leads.true_p
    y = (leads.y.astype(bool) & keep).astype(int)
    wins = split.valid[y[split.valid] == 1]
    y[wins[valid_won:]] = 0
    return y, split


def test_a_rare_outcome_trains_when_the_calibration_rows_hold_both_classes(leads, small_config):
    y, split = _rare(leads, valid_won=6)
    assert y[split.valid].sum() == 6 and y[split.train].sum() >= small_config.min_won
    model = train_conversion_model(leads.frame, y, leads.features, leads.categorical, split, small_config)
    counts = model.selection["calibration_counts"]
    learn = np.sort(np.concatenate([split.train, split.valid]))
    folds, kind, _ = learning_folds(leads.frame.iloc[learn], y[learn], split, small_config)
    recent = calibration_rows(folds, kind, small_config.calibration_min_rows)
    assert counts == {
        "n_won": int(y[learn][recent].sum()),
        "n_lost": int(len(recent) - y[learn][recent].sum()),
    }
    assert counts["n_won"] >= small_config.min_valid_per_class
    p = model.predict_proba(leads.frame.iloc[split.test])
    assert 0 < p.mean() < 0.1  # the level of a rare outcome, not of the unthinned one


def test_too_few_wins_in_the_calibration_rows_are_refused_naming_them(leads, small_config):
    y, split = _rare(leads, valid_won=6)
    strict = small_config.model_copy(update={"min_valid_per_class": 200})
    expected = (
        r"calibrate: the 1,021 newest held-out rows .* hold 28 won and 993 lost, fewer than model.min_valid"
    )
    with pytest.raises(InsufficientDataError, match=expected):
        train_conversion_model(leads.frame, y, leads.features, leads.categorical, split, strict)


def test_the_minimum_wins_are_counted_on_every_row_the_model_learns_from(leads, small_config):
    y, split = _rare(leads, valid_won=6)
    in_training = int(y[split.train].sum())
    just_enough = small_config.model_copy(
        update={"min_won": in_training + 6}
    )  # with the validation window's 6
    model = train_conversion_model(leads.frame, y, leads.features, leads.categorical, split, just_enough)
    assert model.training_counts["n_won"] == in_training + 6
    one_more = small_config.model_copy(update={"min_won": in_training + 7})
    expected = rf"the learning \(training and validation\) window has {in_training + 6} won \(needs {in_training + 7}\)"
    with pytest.raises(InsufficientDataError, match=expected):
        train_conversion_model(leads.frame, y, leads.features, leads.categorical, split, one_more)
