import numpy as np
import pytest

from models.config import ModelConfig
from models.minimum_data import InsufficientDataError, check_minimum_data
from models.splits import out_of_time_split
from models.train import train_conversion_model


def test_minimum_data_passes_and_returns_counts():
    y = np.array([1] * 40 + [0] * 60)
    assert check_minimum_data(y, 40, 40) == {"n_won": 40, "n_lost": 60}


def test_too_few_wins_says_how_many_and_what_to_do():
    y = np.array([1] * 12 + [0] * 300)
    with pytest.raises(InsufficientDataError) as err:
        check_minimum_data(y, min_won=40, min_lost=40)
    message = str(err.value)
    assert "12 won (needs 40)" in message
    assert "300 lost" in message and "training window" in message
    assert "widen the window" in message.lower() and "min_won" in message


def test_too_few_of_both():
    with pytest.raises(InsufficientDataError, match=r"5 won \(needs 40\) and 7 lost \(needs 40\)"):
        check_minimum_data(np.array([1] * 5 + [0] * 7), 40, 40, window="validation")


def test_one_class_history_has_its_own_message():
    with pytest.raises(InsufficientDataError, match="every one of the 80 closed deals .* is won"):
        check_minimum_data(np.ones(80, dtype=int), 40, 40)
    with pytest.raises(InsufficientDataError, match="is lost; with no won deals"):
        check_minimum_data(np.zeros(80, dtype=int), 40, 40)
    with pytest.raises(InsufficientDataError, match="no closed deals"):
        check_minimum_data(np.array([], dtype=int), 40, 40)


def test_minimum_data_error_is_a_value_error_and_rejects_bad_labels():
    assert issubclass(InsufficientDataError, ValueError)
    with pytest.raises(ValueError, match="1 \\(won\\) or 0"):
        check_minimum_data(np.array([0, 1, 2]), 1, 1)
    with pytest.raises(ValueError, match="missing labels"):
        check_minimum_data(np.array([0, 1, np.nan]), 1, 1)


def test_training_refuses_small_history(leads):
    small = leads.frame.iloc[:150].reset_index(drop=True)
    split = out_of_time_split(small["snapshot_at"], 0.2, 0.2)
    with pytest.raises(InsufficientDataError, match=r"learning \(training and validation\) window has"):
        train_conversion_model(small, leads.y[:150], leads.features, leads.categorical, split, ModelConfig())
