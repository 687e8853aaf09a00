"""Hostile inputs, sixth sweep (labelled data with pathologies): `leadscore evaluate` and `leadscore train` on
labels, times and features that are degenerate; each test holds one class of input that gave a traceback, a
misleading sentence or a wrong answer with exit 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.backtest import BacktestData, inner_split, kfold_folds, predict_contender
from models.minimum_data import InsufficientDataError
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.evaluate import FoldPlan, make_folds, run_evaluate
from pipelines.settings import load_config
from pipelines.train import train_scorer, training_data


def _labelled(n: int = 300, seed: int = 0) -> BacktestData:
    """n labelled rows, one a day, with a learnable feature, and a numeric column nobody filled in."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    frame = pd.DataFrame(
        {
            "visits": rng.poisson(2 + 4 * y).astype(float),
            "source": rng.choice(["web", "ads"], n),
            "revenue": np.full(n, np.nan),
        }
    )
    times = pd.Series(pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n), unit="D"))
    return BacktestData(
        frame=frame,
        y=y,
        feature_names=["visits", "source", "revenue"],
        categorical=["source"],
        times=times,
        with_points=False,
    )


def test_a_numeric_column_with_no_value_does_not_crash_a_baseline():
    # HistGradientBoosting's binning raised "window shape cannot be larger than input array shape": a
    # traceback out of `leadscore evaluate` for an export whose spec maps a column nobody fills in.
    cfg = load_config(overrides=["evaluate.baseline_iterations=10", "model.lightgbm.num_threads=1"])
    data = _labelled()
    fold = kfold_folds(data.y, 3, 0)[0]
    prediction = predict_contender("hist_gradient_boosting", data, fold, cfg.model, cfg.evaluate)
    assert prediction.p.shape == (len(fold.test),) and np.isfinite(prediction.p).all()


@pytest.mark.parametrize(
    "plan",
    [FoldPlan(windows=1, test_fraction=0.999), FoldPlan(windows=3, test_fraction=0.9), FoldPlan(folds=3)],
)
def test_folds_whose_training_rows_are_too_few_exit_4_naming_the_counts(plan):
    # --test-fraction 0.999 left 4 training rows (3 folds of exactly min_won won rows, 27 each): leadscore
    # refused in every fold, and the baselines' AUCs were reported with exit 0 as the backtest's answer.
    cfg = load_config(None)
    data = _labelled()
    exactly = np.concatenate([np.flatnonzero(data.y == 1)[:40], np.flatnonzero(data.y == 0)[:40]])
    if plan.folds:
        data = BacktestData(
            frame=data.frame.iloc[np.sort(exactly)].reset_index(drop=True),
            y=data.y[np.sort(exactly)],
            feature_names=data.feature_names,
            categorical=data.categorical,
        )
    with pytest.raises(InsufficientDataError, match=r"trains on \d+ labelled rows .* model.min_won=40"):
        make_folds(data, plan, cfg)
    assert len(make_folds(_labelled(), FoldPlan(windows=2, test_fraction=0.3), cfg)) == 2
    assert len(make_folds(_labelled(), FoldPlan(folds=3), cfg)) == 3


def test_labelled_rows_all_left_out_say_so_not_no_time_column():
    # CRM tables whose closed deals were all younger than maturity_days: `evaluate --out-of-time` said "these
    # data have no time (the source spec has no timestamp_column)", exit 2, and --folds and `train` said
    # "0 won and 0 lost" / "no closed deals at all" without the 650 closed deals left out.
    data = _labelled()
    empty = BacktestData(
        frame=data.frame.iloc[:0],
        y=data.y[:0],
        feature_names=data.feature_names,
        categorical=data.categorical,
        left_out=["650 closed deals younger than model.maturity_days left out, as training would"],
    )
    cfg = load_config(None)
    with pytest.raises(InsufficientDataError, match="0 won and 0 lost"):
        make_folds(empty, FoldPlan(windows=1), cfg)
    with pytest.raises(InsufficientDataError, match="Left out before counting: 650 closed deals"):
        run_evaluate(empty, FoldPlan(folds=3), cfg)


def test_train_names_the_closed_deals_left_out_when_too_few_remain(small_history):
    cfg = load_config(overrides=["model.maturity_days=36500"])
    data = training_data(small_history.tables(), cfg, None)
    assert len(data.y) == 0 and data.too_recent > 0
    with pytest.raises(InsufficientDataError, match=rf"{data.too_recent:,} closed deals younger than"):
        train_scorer(data, cfg, "leadscore")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--folds", "3", "--seed", "-1"], "--seed: must be between 0 and 4294967295"),
        (["--folds", "3", "--seed", str(2**32)], "--seed: must be between 0 and 4294967295"),
        (["--folds", "3", "--set", "model.seed=-1"], "model.seed"),
    ],
)
def test_a_seed_numpy_cannot_take_is_said_not_a_traceback(tmp_path, args, said):
    # "ValueError: Seed must be between 0 and 2**32 - 1" came out of StratifiedKFold after the data were read.
    result = CliRunner().invoke(
        app, ["evaluate", "--input", str(tmp_path / "none.csv"), "--source-spec", "x_education", *args]
    )
    assert result.exit_code in (exit_codes.USAGE, exit_codes.BAD_INPUT), result.output
    assert said in " ".join(result.output.split())
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_rolling_windows_all_skipped_exit_4_not_an_empty_answer():
    # Each window's test rows held one class: every window was skipped, the means were empty, exit 0.
    data = _labelled(800)
    data.y[480:640], data.y[640:] = 0, 1
    with pytest.raises(InsufficientDataError, match=r"every one of the 2 test windows was skipped.*all lost"):
        run_evaluate(data, FoldPlan(windows=2, test_fraction=0.4), load_config(None))


def test_a_fold_whose_training_rows_share_one_time_says_why_leadscore_refused():
    # Two days of history, --out-of-time: "cannot be cut into a training and a validation window (0 and 300
    # rows)" named no cause; the rows of the one earlier day share a time and cannot be cut.
    y = np.array([0, 1] * 150)
    times = pd.Series([pd.Timestamp("2025-03-01")] * 300)
    with pytest.raises(
        InsufficientDataError, match=r"\(0 and 300 rows\): they were created at 1 distinct time,"
    ):
        inner_split(y, times, 0.2, 0)


def test_the_share_really_tested_is_said_when_time_cuts_cannot_meet_the_one_asked():
    # 300 rows on two days, --test-fraction 0.2: the cut falls between the days, so half the rows were
    # tested while the header said "latest 20% tested".
    from pipelines.evaluate import tested_note

    plan = FoldPlan(windows=1, test_fraction=0.2)
    assert tested_note(plan, 150, 300).startswith("; 50% of the labelled rows were tested")
    assert tested_note(plan, 61, 300) == ""  # near enough to the share asked
    assert tested_note(FoldPlan(folds=5), 300, 300) == ""  # every row is tested once in k folds
    data = _labelled(300)
    data.times = pd.Series([pd.Timestamp("2025-01-01")] * 150 + [pd.Timestamp("2025-06-01")] * 150)
    folds = make_folds(data, plan, load_config(None))
    assert len(folds[0].test) == 150
