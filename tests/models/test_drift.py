"""Population stability index and the per-feature drift table."""

import numpy as np
import pandas as pd
import pytest

from models.drift import PSI_MAJOR, PSI_MODERATE, drift_table, psi, psi_level


def test_identical_distributions_have_zero_psi():
    values = np.random.default_rng(0).normal(size=5000)
    assert psi(values, values) == pytest.approx(0.0, abs=1e-12)


def test_samples_of_one_distribution_are_stable():
    rng = np.random.default_rng(1)
    assert psi(rng.normal(size=20_000), rng.normal(size=20_000)) < PSI_MODERATE / 5


def test_a_shifted_mean_is_a_major_shift_and_psi_grows_with_the_shift():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=20_000)
    small = psi(reference, rng.normal(0.2, 1, size=20_000))
    large = psi(reference, rng.normal(1.0, 1, size=20_000))
    assert small < large
    assert large > PSI_MAJOR


def test_psi_matches_the_formula_on_hand_counted_categories():
    reference = ["a"] * 50 + ["b"] * 50
    current = ["a"] * 80 + ["b"] * 20
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi(reference, current) == pytest.approx(expected)


def test_a_new_category_and_missing_values_count_as_shift():
    reference = pd.Series(["a", "b"] * 50, dtype="str")
    with_new = pd.Series(["a", "b", "c", "c"] * 25, dtype="str")
    assert psi(reference, with_new) > PSI_MAJOR
    numbers = pd.Series(np.arange(100, dtype=float))
    half_missing = numbers.where(numbers % 2 == 0)
    assert psi(numbers, half_missing) > PSI_MAJOR


def test_many_ties_do_not_break_the_bins():
    reference = np.r_[np.zeros(900), np.arange(100)]
    assert psi(reference, reference) == pytest.approx(0.0, abs=1e-12)
    assert psi(reference, np.r_[np.zeros(500), np.arange(500)]) > PSI_MAJOR


def test_booleans_are_compared_as_categories():
    assert psi([True, False] * 50, [True] * 90 + [False] * 10) > PSI_MODERATE


def test_empty_side_is_refused():
    with pytest.raises(ValueError, match="at least one row"):
        psi([], [1.0])


def test_levels():
    assert psi_level(0.01) == "stable"
    assert psi_level(0.15) == "moderate shift"
    assert psi_level(0.4) == "major shift"


def test_drift_table_ranks_the_moved_feature_first_and_skips_absent_ones():
    rng = np.random.default_rng(3)
    n = 4000
    reference = pd.DataFrame(
        {
            "steady": rng.normal(size=n),
            "moved": rng.normal(size=n),
            "industry": pd.Series(rng.choice(["software", "retail"], size=n), dtype="str"),
        }
    )
    current = pd.DataFrame(
        {
            "steady": rng.normal(size=n),
            "moved": rng.normal(1.5, 1, size=n),
            "industry": pd.Series(rng.choice(["software", "retail"], size=n, p=[0.9, 0.1]), dtype="str"),
        }
    )
    table = drift_table(reference, current, ["steady", "moved", "industry", "not_there"])
    assert table["feature"].tolist()[0] == "moved"
    assert set(table["feature"]) == {"steady", "moved", "industry"}
    row = table.set_index("feature")
    assert row.loc["steady", "level"] == "stable"
    assert row.loc["moved", "level"] == "major shift"
    assert row.loc["industry", "kind"] == "categorical"
    assert row.loc["industry", "current_summary"].startswith("software (9")
    assert row.loc["moved", "current_summary"].startswith("median 1.")
    assert (table["n_reference"] == n).all()


def test_a_median_is_written_as_a_sentence_says_it_never_in_exponent_form():
    from models.drift import readable_number

    assert [readable_number(v) for v in (8.456e-05, 999.6, 4250.0, 23.84e6, 1.234e9, -0.5)] == [
        "0.0000846",
        "1,000",
        "4,250",
        "23.8M",
        "1.23B",
        "-0.5",
    ]


def _deals(closes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "outcome": ["won", "lost"] * (len(closes) // 2) + ["won"] * (len(closes) % 2),
            "closed_at": pd.to_datetime(closes),
        }
    )


def test_an_outcome_feed_that_stopped_is_named_with_its_newest_close():
    from models.monitoring import closes_stopped

    as_of, scored_at = pd.Timestamp("2026-07-01"), pd.Timestamp("2026-04-02")
    before = [str(d.date()) for d in pd.date_range("2026-01-05", "2026-03-30", periods=60)]
    stopped = closes_stopped(_deals(before + ["2026-04-03"]), scored_at, as_of, min_closed=40)
    assert stopped is not None and "1 deal closed in the 90 days from 2026-04-02 to 2026-07-01" in stopped
    assert "against 60 in the 90 days before (the newest close: 2026-04-03)" in stopped
    assert "the outcome feed looks stopped" in stopped
    # closes as before, a quiet but living quarter, or too little history to tell: nothing said
    after = [str(d.date()) for d in pd.date_range("2026-04-05", "2026-06-28", periods=50)]
    assert closes_stopped(_deals(before + after), scored_at, as_of, min_closed=40) is None
    assert closes_stopped(_deals(before + after[:10]), scored_at, as_of, min_closed=40) is None
    assert closes_stopped(_deals(before[:30]), scored_at, as_of, min_closed=40) is None
