"""Hostile sweep 13: the newest paths (a model trained again on its test window, its tested model, the live
champion in the gate, retrain's backtest warning, history's newest deal learnt, card rebuilds) under damaged
registries, degenerate windows and older versions."""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd

from pipelines.settings import load_config
from tests.conftest import FAST_OVERRIDES


def _with_champion(trained, champion, live: bool):
    """`trained` as if `champion` (a scorer) had been scored on its test window, as the model itself."""
    scores = trained.evaluation.test_scores.assign(champion=trained.evaluation.test_scores["model"])
    evaluation = dataclasses.replace(trained.evaluation, test_scores=scores)
    return dataclasses.replace(trained, evaluation=evaluation, champion=champion, champion_live=live)


def test_the_gate_leaves_out_what_the_scored_champion_learnt_whatever_its_runs_split_tag_says(
    trained_small, champion_store, monkeypatch
):
    from pipelines import registry

    # The live champion learnt the older half of this test window; its run's `split` tag is no JSON (edited in
    # the MLflow UI) or gone. The gate compared the two on every test deal, those it learnt included, while the
    # verdict said it was scored 'on the test deals created after the newest it learnt from'.
    times = pd.to_datetime(trained_small.evaluation.test_scores["snapshot_at"])
    middle = times.sort_values().iloc[len(times) // 2]
    champion = copy.copy(trained_small.scorer)
    champion.model = copy.copy(champion.model)
    champion.model.split_summary = {
        **champion.model.split_summary,
        "test_start": (middle - pd.Timedelta(days=30)).isoformat(),
        "learned_end": middle.isoformat(),
    }
    monkeypatch.setattr(registry, "split_of_run", lambda tags: {})
    result = _with_champion(trained_small, champion, live=True)
    decision = registry.gate_decision(result, load_config(overrides=FAST_OVERRIDES))
    learnt = int((times <= middle).sum())
    said = decision.summary()
    assert f"{learnt:,} of the {len(times):,} test deals" in said, said
    assert decision.compared["champion_rows"] == len(times) - learnt
