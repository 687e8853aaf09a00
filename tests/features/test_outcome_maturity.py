"""The outcome maturity of an export measured from its open rows by creation month."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.outcome_maturity import open_share_by_age, outcome_maturity_days, too_young

NEWEST = pd.Timestamp("2026-06-30")


def _cohorts(open_shares: list[float], rows: int = 100) -> tuple[pd.Series, np.ndarray]:
    """`rows` leads per creation month counted back from NEWEST (month 0 first), the given share of them open."""
    times, is_open = [], []
    for month, share in enumerate(open_shares):
        ages = month * 30 + np.linspace(0.5, 29.5, rows)
        times += list(NEWEST - pd.to_timedelta(ages, unit="D"))
        is_open += [i < round(share * rows) for i in range(rows)]
    times[0] = NEWEST  # the newest lead sets the ages
    return pd.Series(times), np.array(is_open)


def test_the_maturity_is_the_age_from_which_every_older_month_has_its_outcomes():
    created, is_open = _cohorts([0.8, 0.4, 0.2, 0.08, 0.01, 0.0, 0.01, 0.0, 0.0, 0.0])
    assert outcome_maturity_days(created, is_open, max_open_share=0.02) == 120  # months 0-3 are unripe
    assert outcome_maturity_days(created, is_open, max_open_share=0.1) == 90
    shares = open_share_by_age(created, is_open)
    assert shares["open_share"].round(2).tolist()[:4] == [0.8, 0.4, 0.2, 0.08]


def test_a_month_that_is_ripe_before_an_unripe_older_one_does_not_end_the_maturity():
    created, is_open = _cohorts([0.8, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0])
    assert outcome_maturity_days(created, is_open, max_open_share=0.02) == 90


def test_leads_a_crm_never_closes_are_the_floor_not_a_maturity_of_the_whole_history():
    created, is_open = _cohorts([0.9, 0.5, 0.2, 0.12, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert outcome_maturity_days(created, is_open, max_open_share=0.05, noise_z=0) == 90


def test_a_month_whose_stale_open_share_differs_by_chance_is_no_maturity():
    """A quarter of the leads never close: months of 100 read 0.20 to 0.30 by chance (a month at 0.33 made
    the maturity 480 days, most of the history)."""
    rng = np.random.default_rng(0)
    created, _ = _cohorts([0.0] * 18)
    is_open = rng.random(len(created)) < 0.25
    assert outcome_maturity_days(created, is_open, max_open_share=0.02) == 0
    assert outcome_maturity_days(created, is_open, max_open_share=0.02, noise_z=0) > 0
    young = _cohorts([0.9, 0.6] + [0.25] * 16)[1]
    assert outcome_maturity_days(created, young | is_open, max_open_share=0.02) == 60


def test_an_export_without_open_rows_has_no_maturity():
    created, is_open = _cohorts([0.0] * 8)
    assert outcome_maturity_days(created, is_open, max_open_share=0.02) == 0


def test_rows_without_a_time_are_not_counted_and_are_never_too_young():
    created, is_open = _cohorts([0.8, 0.0, 0.0, 0.0])
    created[5] = pd.NaT
    assert outcome_maturity_days(created, is_open, max_open_share=0.02) == 30
    young = too_young(created, NEWEST, 30)
    assert young.sum() == 99 and not young[5]
    assert not too_young(created, NEWEST, 0).any()
