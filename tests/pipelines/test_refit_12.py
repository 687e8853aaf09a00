"""Hostile probes of the model trained again on its test window (model.refit_on_test_window): a champion
whose tested model (tested/scorer.pkl) is damaged or lost, `--force` past it, and a refusal of the second
training."""

import dataclasses
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.minimum_data import NoSignalError
from models.promotion import GateRules, decide_on_test_scores
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.registry import UnreadableTestedModel
from pipelines.settings import load_config
from tests.conftest import FAST_OVERRIDES

runner = CliRunner()
# A pickle whose text is no UTF-8 (a byte overwritten on disk): pickle raises UnicodeDecodeError, not
# UnpicklingError.
NOT_UTF8 = b"\x80\x04X\x02\x00\x00\x00\xff\xfe."


def _serve_tested_file(monkeypatch, tmp_path: Path, content: bytes) -> None:
    """mlflow's download of a run's tested/scorer.pkl hands back a file holding `content`."""
    import mlflow

    path = tmp_path / "scorer.pkl"
    path.write_bytes(content)
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", lambda **_: str(path))


@pytest.mark.parametrize(
    "content",
    [NOT_UTF8, b"\x80\x04\x95", pickle.dumps({"not": "a scorer"})],
    ids=["byte-overwritten", "truncated", "another-object"],
)
def test_a_damaged_tested_model_is_one_sentence_naming_the_run(trained_small, tmp_path, monkeypatch, content):
    from pipelines.tracking import load_tested_scorer

    registered = trained_small.scorer
    assert registered.model.split_summary["refit"]
    _serve_tested_file(monkeypatch, tmp_path, content)
    version = SimpleNamespace(name="leadscore", version="3", run_id="a" * 32)
    with pytest.raises(
        UnreadableTestedModel, match=r"models:/leadscore/3: tested/scorer.pkl of its run a{32} "
    ) as info:
        load_tested_scorer(version, registered)
    # The fix first (restore), then what train and retrain can do: a card rebuild cannot --force.
    assert "missing or damaged" in str(info.value) and "restore the run's artifacts from a backup (" in str(
        info.value
    )


def test_train_on_a_champion_with_a_damaged_tested_model_exits_3(tmp_path, champion_store, monkeypatch):
    crm = tmp_path / "crm"
    runner.invoke(app, ["generate", "--accounts", "300", "--months", "6", "--out", str(crm)])
    _serve_tested_file(monkeypatch, tmp_path, NOT_UTF8)
    result = runner.invoke(
        app, ["train", "--input", str(crm), *(x for o in FAST_OVERRIDES for x in ("--set", o))]
    )
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    said = " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error: models:/leadscore/1: tested/scorer.pkl of its run" in said and "Traceback" not in said


def test_force_trains_past_a_lost_tested_model_and_the_verdict_says_why(
    trained_small, champion_store, monkeypatch
):
    from pipelines import tracking
    from pipelines.registry import champion_version, gate_decision
    from pipelines.train import load_champions

    def lost(*_, **__):
        raise UnreadableTestedModel(
            "models:/leadscore/1: tested/scorer.pkl of its run x is missing or damaged"
        )

    monkeypatch.setattr(tracking, "load_champion_pair", lost)
    with pytest.raises(UnreadableTestedModel):
        load_champions("leadscore", None)  # the message's fix: --force, which must then work
    champion, unscored = load_champions("leadscore", "restored nothing")
    run_id = champion_version("leadscore").run_id
    assert (
        champion is None
        and unscored == f"its tested model, tested/scorer.pkl of its run {run_id}, is missing or damaged"
    )
    # The gate refuses a champion it could not score, naming why; --force overrides that.
    result = dataclasses.replace(trained_small, champion_unscored=unscored, decision=None)
    decision = gate_decision(result, load_config(overrides=FAST_OVERRIDES))
    assert not decision.promote and unscored in decision.summary()
    assert "another source or spec" not in decision.summary()
    assert decision.forced("restored nothing").promote


def test_a_champion_of_another_input_is_still_said_so():
    scores = pd.DataFrame({"won": [1, 0] * 30, "model": [0.9, 0.1] * 30})
    decision = decide_on_test_scores(scores, GateRules(), champion_version="2", champion=None)
    assert "(it was trained on another source or spec)" in decision.summary()


def test_a_refused_refit_says_the_tested_model_was_tested_and_how_to_ship_it(trained_small, monkeypatch):
    import pipelines.train as train

    def refused(*_, **__):
        raise NoSignalError("no learnable signal: the newest deals rank backwards.")

    monkeypatch.setattr(train, "fit_scorer", refused)
    cfg = load_config(overrides=FAST_OVERRIDES)
    t = trained_small
    with pytest.raises(NoSignalError) as info:
        train.shipped_scorer(t.data, cfg, t.tested_scorer, t.split, t.evaluation)
    said = str(info.value)
    auc = t.evaluation.comparison.set_index("model").loc["model", "roc_auc"]
    assert said.startswith(
        f"the model was trained and tested on {len(t.split.test):,} test rows (ROC AUC {auc:.3f}"
    )
    assert "nothing was registered: no learnable signal: the newest deals rank backwards." in said
    assert "--set model.refit_on_test_window=false" in said


def test_a_spark_trained_card_counts_no_open_leads_and_says_why(trained_small):
    from pipelines.card import open_lead_scores
    from pipelines.spark_train import SparkCrmSource

    # Spark keeps the tables (`tables` is {}): the card said nothing of open leads, it was not written at all
    # ('SparkCrmSource' object has no attribute 'default_as_of').
    source = SparkCrmSource(spark=None, where=None)
    result = dataclasses.replace(trained_small, data=dataclasses.replace(trained_small.data, source=source))
    scores, as_of, why = open_lead_scores(result, source.tables, load_config(overrides=FAST_OVERRIDES))
    assert scores is None and as_of is None and "open leads were not counted" in why


def test_retrain_forced_past_a_lost_tested_model_writes_its_card_without_the_champion(
    small_history, trained_small, champion_store, monkeypatch, tmp_path
):
    from models.promotion import GateDecision
    from pipelines import retrain as retrain_module
    from pipelines import tracking
    from pipelines import train as train_module
    from pipelines.retrain import run_retrain
    from pipelines.settings import RetrainConfig

    def lost(*_, **__):
        raise UnreadableTestedModel(
            "models:/leadscore/1: tested/scorer.pkl of its run x is missing or damaged"
        )

    monkeypatch.setattr(tracking, "load_tested_scorer", lost)
    unscored = "its tested model, tested/scorer.pkl of its run x, is missing or damaged"
    forced = GateDecision("refused", (f"the champion (version 1) could not be scored ({unscored})",)).forced(
        "lost"
    )
    trained = dataclasses.replace(
        trained_small, decision=forced, run_id=None, version=None, champion_unscored=unscored
    )
    monkeypatch.setattr(train_module, "run_train", lambda *a, **k: trained)  # what `retrain --force` trains
    flatters = "The champion (version 1) was trained and tuned on 9 of these deals, so this table flatters it"
    monkeypatch.setattr(retrain_module, "champion_learned_note", lambda *a: flatters)

    result = run_retrain(
        small_history.tables(),
        load_config(overrides=FAST_OVERRIDES),
        RetrainConfig(),
        "2026-10-01",
        force_reason="lost",
        out_dir=tmp_path,
    )
    # The champion was not compared: no "trained on N of these deals, so this table flatters it", and the card
    # is written without it (it was a warning: UnreadableTestedModel).
    assert result.champion_learned is None
    assert not [w for w in result.warnings if "card was not written" in w], result.warnings
    assert (tmp_path / "model_card.md").exists()


def test_a_tested_model_that_cannot_be_written_leaves_no_version_behind(
    small_history, trained_small, mlflow_store, monkeypatch
):
    import copy

    from mlflow import MlflowClient
    from pipelines import tracking
    from pipelines.io import OutputError

    def disk_full(_scorer):
        raise OSError(28, "No space left on device", "scorer.pkl")

    monkeypatch.setattr(tracking, "log_tested_scorer", disk_full)
    result = dataclasses.replace(trained_small, scorer=copy.copy(trained_small.scorer), warnings=[])
    with pytest.raises(OutputError):
        tracking.log_training_run(
            result,
            load_config(overrides=FAST_OVERRIDES),
            small_history.tables(),
            location="",
            config_path=None,
            force_reason=None,
            trigger="leadscore train",
        )
    # Registered before the tested model was written, the version stayed: no alias, no verdict, no tested model.
    assert MlflowClient().search_model_versions("name='leadscore'") == []


def test_a_backtest_of_a_champion_that_learnt_those_leads_says_it_flatters_it():
    from pipelines.retrain import backtest_learnt_warning

    refitted = {"train_start": "2024-10-06T00:00:00", "test_start": "2026-02-08T00:00:00"}
    refitted |= {"refit": True, "learned_end": "2026-06-02T21:37:59"}
    # The README flow: trained on the whole history, then retrained as of 2026-10-01 (backtest 2026-07-03).
    said = backtest_learnt_warning(refitted, "1", pd.Timestamp("2026-07-03"), maturity_days=120)
    assert (
        said is not None and "created up to 2026-06-02, whose outcomes it knew up to about 2026-09-30" in said
    )
    # A quarterly retrain: the champion's history ended before the leads the backtest scores were open.
    assert backtest_learnt_warning(refitted, "1", pd.Timestamp("2026-10-01"), maturity_days=120) is None
    tested = {"train_start": "2024-10-06T00:00:00", "test_start": "2026-02-08T00:00:00"}  # not refitted
    assert "up to 2026-02-08" in backtest_learnt_warning(tested, "1", pd.Timestamp("2026-04-02"), 120)
    assert backtest_learnt_warning({}, "1", pd.Timestamp("2026-01-02"), 120) is None  # undated


@pytest.mark.slow  # two trainings into one registry
def test_a_grown_history_is_compared_with_the_champion_that_scores_today_on_deals_it_never_saw(
    small_history, fast_config, mlflow_store
):
    from features.history_stats import deals_created_between
    from models.promotion import learned_by_champion, learned_window
    from pipelines.train import run_train

    tables = small_history.tables()
    cut = pd.to_datetime(tables["deals"]["created_at"]).quantile(0.8)
    first = run_train(deals_created_between(tables, None, cut), fast_config)  # the champion, months ago
    # With every earlier deal learnt (known_at_test_start off, the default), the model that scores today is
    # the one to beat.
    everything = fast_config.model_copy(
        update={
            "model": fast_config.model.model_copy(
                update={"split": fast_config.model.split.model_copy(update={"known_at_test_start": False})}
            )
        }
    )
    grown = run_train(tables, everything)
    assert first.decision.promote and first.refitted and grown.champion_live
    reasons = " ".join(grown.decision.reasons)
    assert "the champion (version 1) was scored as it scores leads today" in reasons
    # It was scored with the registered (refitted) model, on the test deals created after its newest.
    window = learned_window(first.scorer.model.split_summary, live=True)
    learnt = learned_by_champion(grown.evaluation.test_scores["snapshot_at"], window)
    assert f"{int(learnt.sum()):,} of the {len(learnt):,} test deals" in reasons or not learnt.any()
    assert np.allclose(
        grown.evaluation.test_scores["champion"],
        first.scorer.model.predict_proba(grown.data.frame.iloc[grown.split.test]),
    )
    # With model.split.known_at_test_start the challenger tested learns only the deals known on its test
    # window's first day: a live champion that learnt deals younger than maturity_days then is scored as it
    # was tested, and said so.
    honest = everything.model_copy(
        update={
            "model": everything.model.model_copy(
                update={"split": everything.model.split.model_copy(update={"known_at_test_start": True})}
            )
        }
    )
    held_back = run_train(tables, honest)
    assert len(held_back.split.not_known) and not held_back.champion_live
    assert any("not allowed to learn" in note for note in held_back.gate_notes), held_back.gate_notes
