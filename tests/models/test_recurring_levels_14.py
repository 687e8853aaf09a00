"""The drift check keeps a category whose levels recur (sales reps: some leave, some join) and still leaves
out one whose recent levels are all new (a calendar month, a campaign named by its quarter)."""

import numpy as np
import pandas as pd

from models.adversarial import seen_share
from models.card.data import selection_lines
from models.splits import out_of_time_split
from models.train import train_conversion_model


def test_seen_share_counts_recent_rows_holding_a_level_the_block_before_holds():
    values = pd.Series(["a"] * 40 + ["b"] * 5 + ["m"] * 40 + ["a", "b", "c", None, "", "a", "m", "m"])
    before = np.arange(len(values)) < 45  # "m" only long before the recent rows: a month's name a year ago
    recent = np.arange(len(values)) >= 85
    # "a" twice (40 rows before), "b" (5: under 30), "c" and "m" (none just before); the blanks are no level
    assert seen_share(values, recent, before, min_rows=30) == 2 / 6
    assert seen_share(values, recent, before, min_rows=5) == 3 / 6
    assert seen_share(values, recent, ~recent, min_rows=30) == 4 / 6
    assert (
        seen_share(
            pd.Series([None, None, "x"]), np.array([False, True, True]), np.array([True, False, False]), 1
        )
        == 0
    )


def _with_reps_and_quarters(leads):
    """Reps A-C all along, D-E in the first 60 % only (most leads), F-G in the last third only (40 %); a
    rep's skill moves the outcome. And the creation quarter, whose newest levels no older row holds."""
    frame, y = leads.frame.copy(), leads.y.copy()
    rng = np.random.default_rng(5)
    position = np.arange(len(frame)) / len(frame)
    lasting = rng.choice(["A", "B", "C"], len(frame))
    early, late = rng.choice(["D", "E"], len(frame)), rng.choice(["F", "G"], len(frame))
    moving = rng.random(len(frame)) < np.where(position < 0.6, 0.7, 0.4)
    rep = np.where(moving & (position < 0.6), early, np.where(moving & (position >= 0.67), late, lasting))
    skill = pd.Series(rep).map({"A": 1.5, "B": -1.5, "C": 0.0, "D": 0.5, "E": -0.5, "F": 0.5, "G": -0.5})
    flip = rng.random(len(frame)) < 1 / (1 + np.exp(-skill.to_numpy())) * 0.4
    y = np.where(flip, 1 - (skill.to_numpy() < 0), y).astype(int)
    frame["sales_rep"] = pd.Series(rep, dtype="str")
    frame["created_quarter"] = frame["snapshot_at"].dt.to_period("Q").astype("str")
    return frame, y


def test_a_rep_column_whose_reps_recur_is_kept_and_a_quarter_is_left_out(leads, small_config):
    frame, y = _with_reps_and_quarters(leads)
    split = out_of_time_split(frame["snapshot_at"], 0.15, 0.15)
    features = [*leads.features, "sales_rep", "created_quarter"]
    categorical = [*leads.categorical, "sales_rep", "created_quarter"]
    model = train_conversion_model(frame, y, features, categorical, split, small_config)
    drift = model.selection["drift"]
    assert {"sales_rep", "created_quarter"} <= set(drift["flagged"]) and drift["auc"]["sales_rep"] > 0.83
    assert drift["dropped"] == ["created_quarter"] and "created_quarter" not in model.feature_names
    assert list(drift["recurring"]) == ["sales_rep"] and 0.5 <= drift["recurring"]["sales_rep"] < 1
    assert "sales_rep" in model.feature_names and "sales_rep" not in drift["kept"]
    card = " ".join(selection_lines(model.selection))
    assert "kept, since most of the newest deals hold levels that the deals of the period before hold" in card
    assert "sales rep (" in card

    as_before = small_config.model_copy(
        update={"drift": small_config.drift.model_copy(update={"recurring_share": 1.0})}
    )
    dropped = train_conversion_model(frame, y, features, categorical, split, as_before)
    assert set(dropped.selection["drift"]["dropped"]) == {"sales_rep", "created_quarter"}
