"""The tested model (the one the gate and the card measure) learns only the deals known on its test window's
first day; the model that ships learns them all (model.split.known_at_test_start, issue 17)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.synthetic import GeneratorConfig, generate_history
from models.minimum_data import InsufficientDataError
from pipelines.settings import load_config
from pipelines.sources import training_data
from pipelines.train import LEARNT_LATER, learnt_later_warning, make_split, train_scorer

FAST = ["model.bootstrap_rounds=0", "registry.model_card=false", "model.split.known_at_test_start=true"]


@pytest.fixture(scope="module")
def history():
    return generate_history(GeneratorConfig(accounts=700, months=18, seed=4))


@pytest.fixture(scope="module")
def data(history):
    return training_data(history.tables(), load_config(overrides=FAST), None)


def test_each_training_row_carries_its_deals_close(history, data):
    deals = history.tables()["deals"].set_index("deal_id")["closed_at"]
    expected = pd.to_datetime(deals.reindex(data.frame["deal_id"]).to_numpy())
    np.testing.assert_array_equal(data.frame["closed_at"].to_numpy(), expected.to_numpy())


def test_deals_closed_after_the_test_window_began_are_held_back_from_the_tested_model(data):
    cfg = load_config(overrides=FAST)
    split = make_split(data.frame, cfg)
    learnt = data.frame.iloc[np.concatenate([split.train, split.valid])]
    assert len(split.not_known) > 0
    assert (learnt["closed_at"] < split.test_start).all()
    assert (learnt["snapshot_at"] <= split.test_start - pd.Timedelta(days=cfg.model.maturity_days)).all()
    late = data.frame.iloc[split.not_known]
    assert (late["snapshot_at"] < split.test_start).all()  # earlier deals, none from the test window

    off = make_split(data.frame, load_config(overrides=[*FAST, "model.split.known_at_test_start=false"]))
    assert len(off.not_known) == 0
    np.testing.assert_array_equal(off.test, split.test)
    assert len(off.train) + len(off.valid) == len(learnt) + len(late)
    assert off.extra[LEARNT_LATER] == len(late)  # learnt all the same, and counted for the card
    assert learnt_later_warning(off, cfg) is None  # the default: no warning on every run


def test_it_is_off_by_default():
    assert load_config(None).model.split.known_at_test_start is False


def test_too_few_known_deals_train_on_every_earlier_deal_and_say_the_figures_may_flatter(data):
    cfg = load_config(overrides=FAST)
    split = make_split(data.frame, cfg)
    learnt_won = int(data.y[np.concatenate([split.train, split.valid])].sum())
    assert learnt_won + 1 <= int(data.y.sum())  # every row holds enough won deals; the known ones do not
    cfg = load_config(overrides=[*FAST, f"model.min_won={learnt_won + 1}"])
    scorer, used = train_scorer(data, cfg, "leadscore")
    assert scorer.model is not None
    assert len(used.not_known) == 0 and used.extra[LEARNT_LATER] == len(split.not_known)
    assert len(used.train) + len(used.valid) == len(split.train) + len(split.valid) + len(split.not_known)
    np.testing.assert_array_equal(used.test, split.test)
    said = learnt_later_warning(used, cfg)
    assert said is not None and f"{len(split.not_known):,} earlier deals whose outcome came later" in said
    assert f"{split.test_start:%Y-%m-%d}" in said and "model.split.known_at_test_start" in said
    assert learnt_later_warning(split, cfg) is None


def test_a_history_too_short_either_way_is_refused_with_the_counts(data):
    cfg = load_config(overrides=[*FAST, f"model.min_won={int(data.y.sum()) + 1}"])
    with pytest.raises(InsufficientDataError, match="not enough closed deals"):
        train_scorer(data, cfg, "leadscore")


def test_a_retrain_holds_its_challenger_to_the_maturity_it_applies_itself():
    from models.config import known_maturity
    from models.retrain import retrain_windows
    from pipelines.retrain import retrain_pipeline_config

    cfg = load_config(overrides=FAST)
    windows = retrain_windows(pd.Timestamp("2026-07-01"), cfg.model.maturity_days, 4)
    train_cfg = retrain_pipeline_config(cfg, windows)
    # The retrain cuts its windows at the maturity itself (maturity_days 0 for the training job), but the
    # deals its tested challenger may learn are those mature on the evaluation quarter's first day.
    assert train_cfg.model.maturity_days == 0
    assert known_maturity(train_cfg.model) == cfg.model.maturity_days == known_maturity(cfg.model)
    own = load_config(overrides=[*FAST, "model.split.known_maturity_days=30"])
    assert known_maturity(retrain_pipeline_config(own, windows).model) == 30


def test_the_console_says_the_maturity_without_naming_a_setting_it_cannot_know(data):
    """The line named model.maturity_days when model.split.known_maturity_days set the age (10000 days said as
    a setting left at 120)."""
    from pipelines.summary import not_known_sentence

    split = make_split(data.frame, load_config(overrides=[*FAST, "model.split.known_maturity_days=30"]))
    said = not_known_sentence(split, "closed deals")
    assert said is not None and f"{len(split.not_known):,} earlier closed deals" in said
    assert "maturity window" in said and "model.maturity_days" not in said
    assert (
        not_known_sentence(make_split(data.frame, load_config(overrides=FAST), known_only=False), "x") is None
    )
