"""Training job: data gates, the registry's promotion gate, reproducibility, behaviour of the scores."""

import json

import numpy as np
import pandas as pd
import pytest

from features.synthetic import with_shuffled_outcomes
from mlflow import MlflowClient
from models.minimum_data import InsufficientDataError, NoSignalError
from pipelines.score import run_score
from pipelines.tracking import load_champion, load_scorer
from pipelines.train import run_train
from tests.conftest import register_champion


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


def test_same_data_config_and_seed_give_identical_metrics(small_history, fast_config, trained_small):
    a = trained_small  # the session's run with the same data, config and seed (tests/conftest.py)
    b = run_train(small_history.tables(), fast_config, truth=small_history.truth, register=False)
    pd.testing.assert_frame_equal(a.evaluation.comparison, b.evaluation.comparison)


def test_model_beats_points_model_and_reports_guardrail(trained_small):
    result = trained_small  # run_train(small_history, fast config, truth), shared by the session
    metrics = result.evaluation.comparison.set_index("model")["roc_auc"]
    assert metrics["model"] > metrics["points_model"]
    assert metrics["oracle"] - metrics["model"] < 0.05
    tiers = result.data.win_rate_by_tier.set_index("fit_tier")["win_rate"]
    assert tiers["A"] > tiers["C"] + 0.1
    assert result.data.excluded["competitor"] > 0 and result.data.excluded["wrong_persona"] > 0
    assert not result.data.frame["disqualified"].any()  # bad leads do not teach the model


@pytest.mark.slow  # three trainings into one registry
def test_gate_promotes_first_model_refuses_worse_challenger_then_promotes_better(
    small_history, trained_small, fast_config, mlflow_store
):
    tables, truth = small_history.tables(), small_history.truth
    # The first model: the session's run on the same data and config, registered as run_train would.
    first = register_champion(mlflow_store, small_history, trained_small)
    assert first.decision.promote and first.version == "1"
    # A deliberately worse challenger: only lead source and department as features.
    crippled = fast_config.model_copy(
        update={
            "features": fast_config.features.model_copy(
                update={"exclude_features": _all_but(first, ["lead_source", "department"])}
            )
        }
    )
    worse = run_train(tables, crippled, truth=truth)
    assert not worse.decision.promote
    assert "worse" in worse.decision.summary()
    better = run_train(tables, fast_config, truth=truth, force_reason=None)
    assert better.decision.promote  # same model as the champion: within tolerance
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("leadscore", "champion").version) == "3"
    assert str(client.get_model_version_by_alias("leadscore", "challenger").version) == "3"
    refused = client.get_model_version("leadscore", "2")
    assert refused.tags["gate.decision"] == "refused" and "AUC" in refused.tags["gate.reasons"]
    forced = run_train(tables, crippled, truth=truth, force_reason="testing the override")
    assert forced.decision.promote and "forced: testing the override" in forced.decision.summary()


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
    leads = tables["leads"]
    competitor = leads.loc[leads["email"].str.endswith("@rivalscore.io"), "lead_id"].iloc[0]
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
