"""The card's "Level" limitation: said when the test window's scores sit off its won share, from the numbers."""

import numpy as np
import pandas as pd

from models.card.data import level_gap
from models.evaluate import reliability_table


def _window(rate_shift: float, n: int = 4000, seed: int = 0):
    """Scores and outcomes whose true chance is the score moved by `rate_shift` on the log-odds scale."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.9, n)
    truth = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + rate_shift)))
    return (rng.random(n) < truth).astype(int), p


def test_scores_below_a_risen_win_rate_are_said_with_both_numbers():
    y, p = _window(0.8)
    item = level_gap(reliability_table(y, p))
    assert item is not None
    title, text = item
    assert title == "Level" and "below the newest win rate" in text
    assert f"{p.mean() * 100:.0f}" in text and f"{y.mean() * 100:.0f}" in text


def test_scores_above_a_fallen_win_rate_say_above_and_calibrated_scores_say_nothing():
    y, p = _window(-0.8)
    assert "above the newest win rate" in level_gap(reliability_table(y, p))[1]
    y, p = _window(0.0)
    assert level_gap(reliability_table(y, p)) is None
    assert level_gap(reliability_table(y[:0], p[:0])) is None


def test_what_a_score_means_is_measured_on_the_test_rows_not_assumed():
    """The first page once said "among leads scored about 30 %, about 3 in 10 won" whatever happened; it now
    says the share won in the fullest score band, which a miscalibrated model shows as it is."""
    from models.card.first_page import chance_sentence

    rng = np.random.default_rng(0)
    p = rng.uniform(0.3, 0.4, 500)
    won = rng.random(500) < 0.67  # scored 30-40 %, won two times in three
    sentence = chance_sentence(reliability_table(won, p), 0.32, "leads")
    assert (
        "of the 500 test leads scored 30 to 40" in sentence and "67" in sentence and "3 in 10" not in sentence
    )
    assert "32 percentage points" in sentence
    few = chance_sentence(reliability_table(won[:10], p[:10]), 0.3, "leads")  # no band holds 20 rows
    assert few.startswith("A score reads as a chance. On the test leads")


def test_the_card_lists_the_largest_segment_values_and_pools_the_rest():
    # A B2C lead source of 13,811 values made a 3 MB card: every value had its own row.
    from models.card.data import largest_segments, segment_comparison

    rng = np.random.default_rng(0)
    n = 3000
    source = np.where(rng.random(n) < 0.5, "web", rng.integers(0, 400, n).astype(str))
    scores = pd.DataFrame({"won": rng.random(n) < 0.3, "model": rng.random(n), "points": rng.random(n)})
    segments = segment_comparison(
        scores,
        pd.DataFrame({"lead_source": source, "region": np.where(rng.random(n) < 0.5, "EU", "US")}),
        100,
    )
    shown = largest_segments(segments, 20)
    sources = shown[shown["segment"] == "lead_source"]
    assert len(sources) == 21 and sources["value"].iloc[-1].startswith("other (")
    assert "web" in set(sources["value"]) and sources["n"].sum() == n
    assert sources["n_won"].sum() == int(scores["won"].sum())
    other = sources.iloc[-1]
    assert not other["enough"] and np.isnan(other["auc_model"])
    assert len(shown[shown["segment"] == "region"]) == 2  # fewer values than the cap: as they were
