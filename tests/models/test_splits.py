import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from models.config import SplitConfig
from models.splits import (
    grouped_random_split,
    known_at_test_start,
    out_of_time_split,
    out_of_time_split_at,
    refit_split,
    split_from_config,
)


def _assert_partition(split, n):
    together = np.concatenate([split.train, split.valid, split.test])
    assert len(together) == n
    assert len(np.unique(together)) == n  # no row twice, none left out


def test_out_of_time_split_orders_windows_in_time(leads):
    times = leads.frame["snapshot_at"]
    split = out_of_time_split(times, valid_fraction=0.15, test_fraction=0.15)
    _assert_partition(split, len(times))
    assert times.iloc[split.train].max() < times.iloc[split.valid].min()
    assert times.iloc[split.valid].max() < times.iloc[split.test].min()
    assert split.valid_start == times.iloc[split.valid].min()
    assert split.test_start == times.iloc[split.test].min()
    assert split.test_end == times.max()
    assert abs(len(split.test) / len(times) - 0.15) < 0.02
    assert abs(len(split.valid) / len(times) - 0.15) < 0.02


def test_rows_sharing_a_timestamp_stay_together():
    # 10 distinct times, 100 rows each, in shuffled order
    rng = np.random.default_rng(3)
    times = pd.Series(
        pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(np.repeat(np.arange(10), 100)), unit="h")
    )
    split = out_of_time_split(times, valid_fraction=0.25, test_fraction=0.25)
    _assert_partition(split, 1000)
    window = np.empty(1000, dtype=int)
    window[split.train], window[split.valid], window[split.test] = 0, 1, 2
    assert (pd.Series(window).groupby(times.to_numpy()).nunique() == 1).all()
    assert len(split.train) % 100 == 0 and len(split.test) % 100 == 0


def test_explicit_cut_dates(leads):
    times = leads.frame["snapshot_at"]
    split = out_of_time_split_at(times, "2024-01-01", "2024-07-01")
    assert times.iloc[split.train].max() < pd.Timestamp("2024-01-01") <= times.iloc[split.valid].min()
    assert times.iloc[split.valid].max() < pd.Timestamp("2024-07-01") <= times.iloc[split.test].min()
    with pytest.raises(ValueError, match="empty"):
        out_of_time_split_at(times, "2030-01-01", "2031-01-01")


def test_out_of_time_split_refuses_missing_dates_and_too_few_times():
    with pytest.raises(ValueError, match="grouped_random"):
        out_of_time_split(
            pd.Series([pd.Timestamp("2024-01-01"), pd.NaT, pd.Timestamp("2024-02-01")]), 0.2, 0.2
        )
    with pytest.raises(ValueError, match="distinct snapshot times"):
        out_of_time_split(pd.Series([pd.Timestamp("2024-01-01")] * 50), 0.2, 0.2)


def test_grouped_split_keeps_each_account_on_one_side(leads):
    groups = leads.frame["account_id"]
    split = grouped_random_split(groups, valid_fraction=0.15, test_fraction=0.15, seed=1)
    _assert_partition(split, len(groups))
    sides = [set(groups.iloc[idx]) for idx in (split.train, split.valid, split.test)]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])
    assert abs(len(split.test) / len(groups) - 0.15) < 0.03
    assert split.train_start is None and split.summary()["split_method"] == "grouped_random"


def test_grouped_split_depends_on_seed_not_row_order(leads):
    groups = leads.frame["account_id"]
    a = grouped_random_split(groups, 0.2, 0.2, seed=5)
    b = grouped_random_split(groups, 0.2, 0.2, seed=5)
    assert np.array_equal(a.test, b.test)
    shuffled = groups.iloc[::-1].reset_index(drop=True)
    c = grouped_random_split(shuffled, 0.2, 0.2, seed=5)
    assert set(shuffled.iloc[c.test]) == set(groups.iloc[a.test])
    d = grouped_random_split(groups, 0.2, 0.2, seed=6)
    assert not np.array_equal(a.test, d.test)


def test_grouped_split_treats_missing_groups_as_singletons():
    groups = pd.Series(["a", "a", None, None, "b", "c", "d", None, "e", "f"])
    split = grouped_random_split(groups, 0.2, 0.2, seed=0)
    _assert_partition(split, 10)


def test_split_from_config(leads):
    frame = leads.frame
    oot = split_from_config(SplitConfig(), snapshot_at=frame["snapshot_at"], groups=frame["account_id"])
    assert oot.method == "out_of_time"
    dated = split_from_config(
        SplitConfig(valid_start="2024-01-01", test_start="2024-06-01"), snapshot_at=frame["snapshot_at"]
    )
    assert dated.valid_start == pd.Timestamp("2024-01-01")
    grouped = split_from_config(SplitConfig(method="grouped_random"), groups=frame["account_id"], seed=3)
    assert grouped.method == "grouped_random"
    with pytest.raises(ValueError, match="no snapshot dates"):
        split_from_config(SplitConfig(), groups=frame["account_id"])


def test_split_config_validation():
    with pytest.raises(ValidationError):
        SplitConfig(valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValidationError):
        SplitConfig(valid_start="2024-01-01")
    with pytest.raises(ValidationError):
        SplitConfig(method="random")


def _dated_deals(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Deals created one a day, each closing 5 to 200 days later."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n), unit="D")
    closed = created + pd.to_timedelta(rng.integers(5, 200, n), unit="D")
    return pd.DataFrame({"created_at": created, "closed_at": closed})


def test_the_tested_model_learns_only_deals_known_on_the_test_windows_first_day():
    deals = _dated_deals()
    split = out_of_time_split(deals["created_at"], 0.15, 0.2)
    honest = known_at_test_start(split, deals["created_at"], deals["closed_at"], maturity_days=30)
    start, horizon = split.test_start, split.test_start - pd.Timedelta(days=30)
    learnt = np.concatenate([honest.train, honest.valid])
    assert (deals["closed_at"].iloc[learnt] < start).all()
    assert (deals["created_at"].iloc[learnt] <= horizon).all()
    late = deals.iloc[honest.not_known]
    assert ((late["closed_at"] >= start) | (late["created_at"] > horizon)).all()
    # nothing lost: every earlier row is learnt or held back, and the test window is the same
    before = np.sort(np.concatenate([split.train, split.valid]))
    np.testing.assert_array_equal(np.sort(np.concatenate([learnt, honest.not_known])), before)
    np.testing.assert_array_equal(honest.test, split.test)
    assert honest.summary()["n_not_known"] == len(honest.not_known) > 0


def test_a_deal_without_a_close_is_never_learnt_by_the_tested_model():
    deals = _dated_deals()
    deals.loc[3, "closed_at"] = pd.NaT
    split = out_of_time_split(deals["created_at"], 0.15, 0.2)
    honest = known_at_test_start(split, deals["created_at"], deals["closed_at"], maturity_days=0)
    assert 3 in split.train and 3 in honest.not_known


def test_time_zone_aware_closes_are_compared_in_utc():
    deals = _dated_deals()
    split = out_of_time_split(deals["created_at"], 0.15, 0.2)
    naive = known_at_test_start(split, deals["created_at"], deals["closed_at"], maturity_days=30)
    zoned = deals["closed_at"].dt.tz_localize("UTC").dt.tz_convert("America/New_York")
    aware = known_at_test_start(split, deals["created_at"], zoned, maturity_days=30)
    np.testing.assert_array_equal(aware.not_known, naive.not_known)


def test_the_shipped_model_learns_the_deals_held_back_from_the_tested_one():
    deals = _dated_deals()
    split = out_of_time_split(deals["created_at"], 0.15, 0.2)
    honest = known_at_test_start(split, deals["created_at"], deals["closed_at"], maturity_days=30)
    refit = refit_split(honest)
    learnt = np.sort(np.concatenate([refit.train, refit.valid]))
    np.testing.assert_array_equal(learnt, np.arange(len(deals)))
    assert len(refit.test) == 0


def test_a_split_without_a_dated_test_window_is_left_as_it_is(leads):
    frame = leads.frame
    split = grouped_random_split(frame["account_id"], 0.2, 0.2, seed=1)
    closed = pd.Series(pd.Timestamp("2030-01-01"), index=frame.index)
    assert known_at_test_start(split, pd.Series(pd.NaT, index=frame.index), closed, 30) is split
