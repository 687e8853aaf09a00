"""Training job: data gates, the registry's promotion gate, reproducibility, behaviour of the scores."""

import copy
import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from features.synthetic import with_shuffled_outcomes
from mlflow import MlflowClient
from models.minimum_data import InsufficientDataError, NoSignalError
from pipelines.score import run_score
from pipelines.settings import load_config
from pipelines.tracking import load_champion, load_champion_pair, load_scorer, log_training_run
from pipelines.train import run_train
from pipelines.train_result import TrainResult
from tests.conftest import FAST_OVERRIDES, new_store, register_champion


def test_minimum_data_gate_refuses_with_a_clear_message(small_history, fast_config):
    tables = small_history.tables()
    few = tables["deals"].sample(150, random_state=0)
    with pytest.raises(InsufficientDataError, match="not enough closed deals to train"):
        run_train({**tables, "deals": few}, fast_config, register=False)


def test_all_won_history_is_refused_with_its_own_message(small_history, fast_config):
    tables = small_history.tables()
    deals = tables["deals"].copy()
    closed = deals["outcome"] != "open"
    deals.loc[closed, "outcome"] = "won"
    deals.loc[closed, "lost_reason"] = None
    with pytest.raises(InsufficientDataError, match="is won"):
        run_train({**tables, "deals": deals}, fast_config, register=False)


def test_same_data_config_and_seed_give_identical_metrics(trained_small, gate_runs):
    a = trained_small  # the session's run with the same data, config and seed (tests/conftest.py)
    b = gate_runs.better  # trained again on them (and registered, so also measured against the champion)
    rivals = b.evaluation.comparison["model"] != "champion"
    assert not rivals.all()  # the champion's row is the one more
    pd.testing.assert_frame_equal(
        a.evaluation.comparison, b.evaluation.comparison[rivals].reset_index(drop=True)
    )


def test_model_beats_points_model_and_reports_guardrail(trained_small):
    result = trained_small  # run_train(small_history, fast config, truth), shared by the session
    metrics = result.evaluation.comparison.set_index("model")["roc_auc"]
    assert metrics["model"] > metrics["points_model"]
    assert metrics["oracle"] - metrics["model"] < 0.05
    tiers = result.data.win_rate_by_tier.set_index("fit_tier")["win_rate"]
    assert tiers["A"] > tiers["C"] + 0.1
    assert result.data.excluded["competitor"] > 0 and result.data.excluded["wrong_persona"] > 0
    assert not result.data.frame["disqualified"].any()  # bad leads do not teach the model


@dataclass
class GateRuns:
    """One registry taken through the gate's cases in order, and what the registry said after each."""

    uri: str
    first: TrainResult  # the session's run registered on the empty store: version 1
    worse: TrainResult  # a crippled challenger, trained and gated by run_train: version 2
    better: TrainResult  # trained again on the same data and config by run_train: version 3
    after_better: dict[str, str]  # the aliases once version 3 was gated
    forced: TrainResult  # the crippled challenger registered again with --force's reason: version 4


@pytest.fixture(scope="module")
def gate_runs(small_history, trained_small, empty_mlflow_db, tmp_path_factory) -> GateRuns:
    """Trainings into one private registry, shared by the tests that read it (the slow part is training)."""
    uri = new_store(empty_mlflow_db, tmp_path_factory.mktemp("gate") / "mlflow")
    cfg = load_config(overrides=FAST_OVERRIDES)
    tables, truth = small_history.tables(), small_history.truth
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        # The first model: the session's run on the same data and config, registered as run_train would.
        first = register_champion(uri, small_history, trained_small)
        # A deliberately worse challenger: only lead source, department and seniority as features.
        crippled = cfg.model_copy(
            update={
                "features": cfg.features.model_copy(
                    update={"exclude_features": _all_but(first, ["lead_source", "department", "seniority"])}
                )
            }
        )
        worse = run_train(tables, crippled, truth=truth)
        better = run_train(tables, cfg, truth=truth, force_reason=None)
        client = MlflowClient()
        after_better = {
            alias: str(client.get_model_version_by_alias("leadscore", alias).version)
            for alias in ("champion", "challenger")
        }
        # The same crippled model (same data, config and seed) again, forced: registered as run_train
        # registers it with --force, without training it a second time.
        forced = dataclasses.replace(worse, scorer=copy.copy(worse.scorer), warnings=[])
        log_training_run(
            forced,
            crippled,
            tables,
            location="",
            config_path=None,
            force_reason="testing the override",
            trigger="leadscore train",
        )
    return GateRuns(uri, first, worse, better, after_better, forced)


@pytest.mark.slow  # reads the trainings of gate_runs
def test_gate_promotes_first_model_refuses_worse_challenger_then_promotes_better(gate_runs, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gate_runs.uri)
    first, worse, better = gate_runs.first, gate_runs.worse, gate_runs.better
    assert first.decision.promote and first.version == "1"
    assert not worse.decision.promote and worse.version == "2"
    assert "worse" in worse.decision.summary()
    assert better.decision.promote and better.version == "3"  # same model as the champion: within tolerance
    assert gate_runs.after_better == {"champion": "3", "challenger": "3"}
    client = MlflowClient()
    refused = client.get_model_version("leadscore", "2")
    assert refused.tags["gate.decision"] == "refused" and "AUC" in refused.tags["gate.reasons"]
    forced = gate_runs.forced
    assert forced.decision.promote and "forced: testing the override" in forced.decision.summary()
    assert (
        forced.version == "4"
        and str(client.get_model_version_by_alias("leadscore", "champion").version) == "4"
    )


@pytest.mark.slow  # reads the trainings of gate_runs
def test_the_shipped_model_learnt_the_test_window_and_the_gate_compares_tested_models(gate_runs, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", gate_runs.uri)
    better = gate_runs.better
    shipped, tested = better.scorer.model.split_summary, better.tested_scorer.model.split_summary
    assert better.refitted and shipped["refit"] and "refit" not in tested
    assert shipped["n_train"] + shipped["n_valid"] == len(better.data.y)  # every usable deal, test window too
    assert tested["n_test"] == len(better.split.test) > 0
    newest = f"{pd.Timestamp(better.data.frame['snapshot_at'].max()):%Y-%m-%d}"  # the test window's newest
    assert MlflowClient().get_model_version("leadscore", "3").tags["data.newest_deal"] == newest
    tag = json.loads(MlflowClient().get_run(better.run_id).data.tags["split"])
    assert tag["test_start"] == tested["test_start"] and tag["learned_end"] == tested["test_end"]
    # The champion (version 4, forced) as the next training's gate reads it: its tested model, which never
    # learnt the test window, named as the version; scoring reads the refitted one.
    live, champion = load_champion_pair("leadscore")
    assert live.model.split_summary["refit"]
    assert champion.model_version == "4" and "refit" not in champion.model.split_summary
    assert champion.model.feature_names == gate_runs.forced.tested_scorer.model.feature_names


def test_without_refit_the_tested_model_ships(trained_small):
    from pipelines.train import shipped_scorer

    off = load_config(overrides=[*FAST_OVERRIDES, "model.refit_on_test_window=false"])
    tested = trained_small.tested_scorer
    assert shipped_scorer(trained_small.data, off, tested, trained_small.split) is tested


def test_a_champion_whose_tested_model_is_gone_is_named_with_its_run(shared_champion_store, monkeypatch):
    from types import SimpleNamespace

    from pipelines.registry import ModelNotFoundError
    from pipelines.tracking import load_tested_scorer

    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_champion_store.uri)
    gone = SimpleNamespace(name="leadscore", version="1", run_id="0" * 32)
    registered = load_scorer("models:/leadscore/1")
    with pytest.raises(
        ModelNotFoundError,
        match=r"models:/leadscore/1: tested/scorer.pkl of its run 0{32} .* is missing or damaged",
    ):
        load_tested_scorer(gone, registered)


@pytest.mark.slow  # three trainings into one registry
def test_a_model_trained_on_shuffled_outcomes_is_never_promoted(
    small_history, trained_small, fast_config, mlflow_store
):
    tables = small_history.tables()
    with pytest.raises(NoSignalError, match="no learnable signal"):
        run_train(with_shuffled_outcomes(tables), fast_config)
    # Past the training check (switched off), the gate refuses on its own.
    unchecked = fast_config.model_copy(
        update={
            "model": fast_config.model.model_copy(
                update={"selection": fast_config.model.selection.model_copy(update={"check_signal": False})}
            )
        }
    )
    shuffled_first = run_train(with_shuffled_outcomes(tables), unchecked)
    assert not shuffled_first.decision.promote
    assert "no evidence of signal" in shuffled_first.decision.summary()
    # A good model after a refused bad one (no champion yet): the session's run, registered as run_train would.
    good = register_champion(mlflow_store, small_history, trained_small)
    assert good.decision.promote and good.version == "2", good.decision.summary()
    shuffled = run_train(with_shuffled_outcomes(tables, seed=1), unchecked)
    assert not shuffled.decision.promote
    assert shuffled.decision.status in ("refused", "evidence_broken")
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("leadscore", "champion").version) == good.version
    tags = client.get_model_version("leadscore", shuffled.version).tags
    assert tags["gate.decision"] == shuffled.decision.status
    evidence = json.loads(tags["gate.evidence"])
    assert evidence[0]["what"] == "AUC" and evidence[0]["low"] <= evidence[0]["value"] <= evidence[0]["high"]


def _all_but(result, keep):
    return tuple(f for f in result.scorer.model.feature_names if f not in keep)


@pytest.fixture()
def champion(champion_store):
    """The champion of the session's shared store (trained on small_history, fast config); read-only."""
    return load_champion("leadscore")


def test_artifact_round_trip_gives_the_same_scores(small_history, champion):
    tables = small_history.tables()
    as_of = pd.Timestamp("2026-10-01")
    in_process = run_score(champion, tables, as_of, None).scores
    again = run_score(load_scorer("models:/leadscore@champion"), tables, as_of, None).scores
    pd.testing.assert_frame_equal(in_process, again)
    assert in_process["model_version"].eq("1").all()


def _lead_with_activity(tables, lead_id, extra):
    acts = pd.concat([tables["activities"], extra], ignore_index=True)
    return {**tables, "activities": acts}


def test_a_demo_request_raises_the_score_and_shows_in_the_reasons(small_history, champion):
    tables = small_history.tables()
    as_of = pd.Timestamp("2026-10-01")
    before = champion.score_tables(tables, as_of).set_index("lead_id")
    quiet = before[(before["disqualified"] == False) & (before["score"] < 0.3)].index[:20]  # noqa: E712
    extra = pd.DataFrame(
        {
            "lead_id": np.repeat(quiet.to_numpy(), 3),
            "occurred_at": np.tile(pd.to_datetime(["2026-09-27", "2026-09-28", "2026-09-29"]), len(quiet)),
            "activity_type": np.tile(["demo_request", "pricing_page", "pricing_page"], len(quiet)),
        }
    )
    after = champion.score_tables(_lead_with_activity(tables, None, extra), as_of).set_index("lead_id")
    assert (after.loc[quiet, "score"] > before.loc[quiet, "score"]).all()
    positive = after.loc[quiet, "reasons_positive"]
    assert positive.str.contains("demo|pricing").mean() >= 0.7
    assert (positive != before.loc[quiet, "reasons_positive"]).all()


def test_competitor_with_the_most_intent_is_disqualified_and_never_top(small_history, champion):
    tables = small_history.tables()
    as_of = pd.Timestamp("2026-10-01")
    # A lead without a deal (so it is scored) gets a competitor's address (icp.yaml's competitor_domains):
    # the test does not depend on the history drawing one.
    leads = tables["leads"].copy()
    open_lead = ~leads["lead_id"].isin(tables["deals"]["lead_id"]) & (leads["created_at"] < as_of)
    at = leads.index[open_lead][0]
    leads.loc[at, "email"] = "buyer@rivalscore.io"
    tables = {**tables, "leads": leads}
    competitor = leads.loc[at, "lead_id"]
    burst = pd.DataFrame(
        {
            "lead_id": competitor,
            "occurred_at": pd.date_range("2026-09-01", periods=40, freq="18h"),
            "activity_type": ["demo_request", "pricing_page", "case_study", "webinar"] * 10,
        }
    )
    scored = run_score(champion, _lead_with_activity(tables, competitor, burst), as_of, None).scores
    row = scored.set_index("lead_id").loc[competitor]
    assert row["disqualified"] and "competitor" in row["disqualify_reasons"]
    assert row["grade"] == "D" and row["reasons"].startswith("disqualified:")
    qualified = scored[~scored["disqualified"]]
    position = scored.index[scored["lead_id"] == competitor][0]
    assert position >= len(qualified)  # ranked below every qualified lead


def _refitted_champion(learned_end: str | None) -> tuple:
    """A champion's live and tested scorers as load_champion_pair gives them (only what the choice reads)."""
    from types import SimpleNamespace

    summary = {"train_start": "2025-01-01T00:00:00", "test_start": "2025-10-01T00:00:00", "refit": True}
    if learned_end is not None:
        summary["learned_end"] = learned_end
    live = SimpleNamespace(model=SimpleNamespace(split_summary=summary), model_version="1")
    tested = SimpleNamespace(model=SimpleNamespace(split_summary={}), model_version="1")
    return live, tested


def test_the_gate_scores_the_live_champion_on_deals_it_never_learnt_else_its_tested_model(fast_config):
    from types import SimpleNamespace

    from pipelines.train import champion_to_compare, compared_note

    times = pd.Series(pd.date_range("2026-01-01", periods=400, freq="D"))
    data = SimpleNamespace(frame=pd.DataFrame({"snapshot_at": times}), y=np.arange(400) % 3 == 0)
    split = (
        SimpleNamespace(  # created 2026-07-20 on; nothing held back (known_at_test_start off, or an export)
            test=np.arange(200, 400), test_start=pd.Timestamp("2026-07-20"), not_known=np.zeros(0, dtype=int)
        )
    )
    live, tested = _refitted_champion("2026-08-01T00:00:00")  # 12 test deals learnt, 188 not: enough
    assert champion_to_compare((live, tested), data, split, fast_config) == (live, True)
    assert "as it scores leads today" in compared_note((live, tested), True)[0]
    live, tested = _refitted_champion("2027-01-01T00:00:00")  # the same history trained again: all learnt
    assert champion_to_compare((live, tested), data, split, fast_config) == (tested, False)
    assert "as it was tested" in compared_note((live, tested), False)[0]
    live, tested = _refitted_champion(None)  # a split without dates: what it learnt cannot be told apart
    assert champion_to_compare((live, tested), data, split, fast_config) == (tested, False)
    assert champion_to_compare((tested, tested), data, split, fast_config) == (tested, False)
    assert compared_note((tested, tested), False) == [] and champion_to_compare(
        None, data, split, fast_config
    ) == (
        None,
        False,
    )


def test_a_live_champion_that_learnt_what_the_challenger_was_not_allowed_to_is_scored_as_it_was_tested(
    fast_config,
):
    from types import SimpleNamespace

    from pipelines.train import champion_to_compare, compared_note

    maturity = fast_config.model.maturity_days
    times = pd.Series(pd.date_range("2026-01-01", periods=400, freq="D"))
    data = SimpleNamespace(frame=pd.DataFrame({"snapshot_at": times}), y=np.arange(400) % 3 == 0)
    start = pd.Timestamp("2026-07-20")
    split = SimpleNamespace(test=np.arange(200, 400), test_start=start, not_known=np.arange(100, 200))
    # A quarterly retrain: the live champion learnt deals up to just before the test window, whose outcomes
    # came after it began; the challenger tested here learnt only those known on its first day.
    late = (start - pd.Timedelta(days=maturity - 30)).isoformat()
    live, tested = _refitted_champion(late)
    tested.model.split_summary = {"train_start": "2025-01-01T00:00:00", "test_start": "2025-10-01T00:00:00"}
    assert champion_to_compare((live, tested), data, split, fast_config) == (tested, False)
    said = compared_note((live, tested), False, split, maturity)[0]
    assert "learnt outcomes that came after this test window began" in said
    assert "model.split.known_at_test_start" in said
    # A live champion trained long enough before it (every deal it learnt was known then) is scored live.
    early = (start - pd.Timedelta(days=maturity + 30)).isoformat()
    live, tested = _refitted_champion(early)
    assert champion_to_compare((live, tested), data, split, fast_config) == (live, True)


def test_a_refitted_champions_record_says_what_its_live_model_learnt(shared_champion_store, monkeypatch):
    from pipelines.registry import champion_record, champion_version

    monkeypatch.setenv("MLFLOW_TRACKING_URI", shared_champion_store.uri)
    version = champion_version("leadscore")
    tested, live = champion_record(version), champion_record(version, live=True)
    learned_end = json.loads(MlflowClient().get_run(version.run_id).data.tags["split"])["learned_end"]
    assert tested.learned_start == live.learned_start
    assert tested.learned_end < live.learned_end == pd.Timestamp(learned_end) + pd.Timedelta(1, "ns")


def test_training_on_a_history_whose_outcome_feed_stopped_says_so(trained_small, fast_config):
    """The deals stopped closing months before the leads and activities end (a feed that stopped writing
    outcomes): the test window ends where the outcomes stopped and the newest leads look open. It trained
    without a word; it now warns, naming the newest close. A living history says nothing."""
    from pipelines.train import stopped_feed_warning

    data = trained_small.data
    assert stopped_feed_warning(data, fast_config) is None
    tables = data.valid_tables
    stop = tables["leads"]["created_at"].max() - pd.Timedelta(days=150)
    deals = tables["deals"].copy()
    late = deals["outcome"].isin(["won", "lost"]) & (deals["closed_at"] >= stop)
    deals.loc[late, ["outcome", "closed_at", "lost_reason"]] = ["open", pd.NaT, None]
    stopped = dataclasses.replace(data, valid_tables={**tables, "deals": deals})
    said = stopped_feed_warning(stopped, fast_config)
    assert (
        said is not None and "0 deals closed in the" in said and "while leads and activities go on to" in said
    )
    assert f"(the newest close: {deals['closed_at'].max():%Y-%m-%d})" in said
    assert "the outcome feed looks stopped" in said
