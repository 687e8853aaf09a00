"""Time-ordered backtests train only on outcomes known at the test window's start (issue 17)."""

import numpy as np
import pandas as pd

from models.backtest import BacktestData, Fold, known_at_cutoff, out_of_time_folds
from pipelines.evaluate import FoldPlan, make_folds
from pipelines.settings import load_config


def _deals(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Deals created one a day, each closing 5 to 200 days later."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n), unit="D")
    closed = created + pd.to_timedelta(rng.integers(5, 200, n), unit="D")
    return pd.DataFrame({"deal_id": [f"D{i}" for i in range(n)], "created_at": created, "closed_at": closed})


def _data(deals: pd.DataFrame, known: bool = True) -> BacktestData:
    y = np.arange(len(deals)) % 2
    frame = pd.DataFrame({"deal_id": deals["deal_id"], "x": y.astype(float)})
    return BacktestData(
        frame=frame,
        y=y,
        feature_names=["x"],
        categorical=[],
        times=deals["created_at"],
        known_at=deals["closed_at"] if known else None,
    )


def test_only_rows_closed_before_the_cutoff_and_mature_at_it_are_trained_on():
    deals = _deals()
    (fold,) = out_of_time_folds(deals["created_at"], 0.2)
    kept = known_at_cutoff(fold, deals["created_at"], deals["closed_at"], maturity_days=30)
    start = fold.test_start
    assert len(kept.train) < len(fold.train)
    assert (deals["closed_at"].iloc[kept.train] < start).all()
    assert (deals["created_at"].iloc[kept.train] <= start - pd.Timedelta(days=30)).all()
    dropped = np.setdiff1d(fold.train, kept.train)
    late = (deals["closed_at"].iloc[dropped] >= start) | (
        deals["created_at"].iloc[dropped] > start - pd.Timedelta(days=30)
    )
    assert late.all()
    np.testing.assert_array_equal(kept.test, fold.test)
    assert kept.not_known == len(dropped)


def test_a_deal_without_a_close_is_never_trained_on():
    deals = _deals()
    deals.loc[5, "closed_at"] = pd.NaT
    (fold,) = out_of_time_folds(deals["created_at"], 0.2)
    kept = known_at_cutoff(fold, deals["created_at"], deals["closed_at"], maturity_days=0)
    assert 5 in fold.train and 5 not in kept.train


def test_a_fold_without_a_test_window_start_is_unchanged():
    deals = _deals(20)
    fold = Fold(name="fold 1", train=np.arange(10), test=np.arange(10, 20))
    assert known_at_cutoff(fold, deals["created_at"], deals["closed_at"], 30) is fold


def test_evaluate_folds_apply_the_rule_out_of_time_and_rolling_not_kfold():
    cfg = load_config(None)
    deals = _deals()
    data = _data(deals)
    for plan in (FoldPlan(windows=1), FoldPlan(windows=3, test_fraction=0.3)):
        for fold in make_folds(data, plan, cfg):
            start = fold.test_start
            assert (deals["closed_at"].iloc[fold.train] < start).all()
            horizon = start - pd.Timedelta(days=cfg.model.maturity_days)
            assert (deals["created_at"].iloc[fold.train] <= horizon).all()
    (unlimited,) = make_folds(_data(deals, known=False), FoldPlan(windows=1), cfg)
    (limited,) = make_folds(data, FoldPlan(windows=1), cfg)
    assert len(limited.train) < len(unlimited.train)
    kfold = make_folds(data, FoldPlan(folds=4), cfg)
    assert sum(len(f.train) for f in kfold) == 3 * len(deals)
