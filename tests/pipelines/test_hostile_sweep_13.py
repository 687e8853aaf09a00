"""Hostile sweep 13: the newest paths (a model trained again on its test window, its tested model, the live
champion in the gate, retrain's backtest warning, history's newest deal learnt, card rebuilds) under damaged
registries, degenerate windows and older versions."""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

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
    champion, learnt = _learnt_to_the_middle(trained_small)
    monkeypatch.setattr(registry, "split_of_run", lambda tags: {})
    result = _with_champion(trained_small, champion, live=True)
    decision = registry.gate_decision(result, load_config(overrides=FAST_OVERRIDES))
    n = len(result.split.test)
    said = decision.summary()
    assert f"{learnt:,} of the {n:,} test deals" in said, said
    assert decision.compared["champion_rows"] == n - learnt


def _learnt_to_the_middle(trained):
    """A copy of `trained`'s shipped scorer as version 1 that learnt the older half of its test window (as a
    live champion trained again with its own test window does), and how many test deals that is."""
    times = pd.to_datetime(trained.evaluation.test_scores["snapshot_at"])
    middle = times.sort_values().iloc[len(times) // 2]
    champion = copy.copy(trained.scorer)
    champion.model = copy.copy(champion.model)
    champion.model_version = "1"
    champion.model.split_summary = {
        **champion.model.split_summary,
        "test_start": (middle - pd.Timedelta(days=30)).isoformat(),
        "refit": True,
        "learned_end": middle.isoformat(),
    }
    return champion, int((times <= middle).sum())


def card_data_of(result, cfg, **previous):
    """The card data of TrainResult `result` as version 2 (models.card.build_card_data), with `previous`."""
    from models.card.data import build_card_data

    return build_card_data(
        scorer=result.scorer,
        evaluation=result.evaluation,
        frame=result.data.frame,
        y=result.data.y,
        split=result.split,
        excluded=result.data.excluded,
        too_recent=result.data.too_recent,
        win_rate_by_tier_all=result.data.win_rate_by_tier,
        row_counts=result.data.counts,
        model_cfg=cfg.model,
        trained_at=pd.Timestamp("2026-12-01"),
        version="2",
        tested=result.tested,
        **previous,
    )


@pytest.mark.parametrize("all_learnt", [False, True], ids=["half", "all"])
def test_the_card_says_how_many_test_deals_the_live_champion_learnt(trained_small, fast_config, all_learnt):

    # The card counted the champion's learnt deals with its tested window: the live champion, which the gate
    # scored, learnt 201 of 535 test deals and the card said 'ROC AUC 0.769 against 0.784 for version 1.'
    # One that learnt all of them (train on an older copy of the history): the gate compared the two 'on the
    # others only', of which there were none (it refused for want of them).
    champion, learnt = _learnt_to_the_middle(trained_small)
    if all_learnt:
        champion.model.split_summary["learned_end"] = trained_small.split.test_end.isoformat()
        learnt = len(trained_small.split.test)
    result = _with_champion(trained_small, champion, live=True)
    evaluation = result.evaluation
    row = evaluation.comparison[evaluation.comparison["model"] == "model"].assign(model="champion")
    evaluation = dataclasses.replace(
        evaluation, comparison=pd.concat([evaluation.comparison, row], ignore_index=True)
    )
    data = card_data_of(dataclasses.replace(result, evaluation=evaluation), fast_config, previous=champion)
    said = " ".join(data.change_log)
    assert f"(version 1 was trained and tuned on {learnt:,} of them, which flatters it; " in said, said
    others = "with no other deals, the promotion gate could not compare the two)."
    assert (others in said) == all_learnt and ("on the others only" in said) != all_learnt


def test_a_rebuilt_card_compares_the_model_of_the_previous_champion_the_gate_scored(
    trained_small, fast_config, monkeypatch
):
    from pipelines import card_rebuild, registry, tracking
    from pipelines.train import make_split

    # card --previous models:/leadscore/1 on version 2, whose gate scored version 1's live model: the logged
    # 'ROC AUC 0.784 for version 1' (the live model's, on test deals it learnt) was shown beside the tested
    # model's trees and features, without 'trained and tuned on 201 of them, which flatters it'.
    live, _ = _learnt_to_the_middle(trained_small)
    tested = copy.copy(trained_small.tested_scorer)
    version = SimpleNamespace(name="leadscore", version="1", run_id="r" * 32)
    monkeypatch.setattr(registry, "resolve_version", lambda uri, option="--model": version)
    monkeypatch.setattr(tracking, "load_scorer", lambda uri: live)
    monkeypatch.setattr(tracking, "load_tested_scorer", lambda v, registered: tested)
    monkeypatch.setattr(tracking, "load_tested_model", lambda uri: tested)
    t = trained_small
    previous = card_rebuild.previous_as_compared("models:/leadscore/1", "1", t.data, t.split, fast_config)
    assert previous is live  # as version 2's training card and gate had it
    # Another version than the champion it was measured against: its tested model, as before.
    assert (
        card_rebuild.previous_as_compared("models:/leadscore/1", "3", t.data, t.split, fast_config) is tested
    )
    # With the deals not known then held back from the challenger (model.split.known_at_test_start), the gate
    # scored the tested one, since the live one learnt deals younger than maturity_days then: so does the card.
    honest = load_config(overrides=["model.split.known_at_test_start=true"])
    split = make_split(t.data.frame, honest)
    assert card_rebuild.previous_as_compared("models:/leadscore/1", "1", t.data, split, honest) is tested


def test_history_shows_gate_tags_edited_by_hand_as_written():
    from pipelines.history import evidence_in_words, history_table, metrics_in_words

    # JSON of another shape in gate.evidence or gate.metrics (edited in the MLflow UI) was a TypeError or an
    # AttributeError traceback from `leadscore history` (exit 1).
    for text in ('{"a": 1}', "[1, 2]", '[{"what": "AUC"}]', '[{"what": "AUC", "value": "high", "low": 0, '):
        assert evidence_in_words(text) == text
    assert metrics_in_words("[1, 2]") == "[1, 2]" and metrics_in_words('"auc"') == '"auc"'
    history = pd.DataFrame(
        {
            "version": [1],
            "created": [pd.Timestamp("2026-12-01")],
            "as_of": [""],
            "newest_deal": ["not a date"],
        }
        | {c: [""] for c in ("aliases", "decision", "reasons", "trigger")}
        | {"evidence": ['{"a": 1}'], "metrics": ["[1, 2]"]}
    )
    table = history_table(history)
    assert table.loc[0, "evidence"] == '{"a": 1}' and table.loc[0, "metrics compared"] == "[1, 2]"


def test_a_champion_split_without_dates_is_said_to_have_maybe_learnt_another_splits_test_window():
    from models.splits import Split
    from pipelines.train import compared_note

    # A champion trained with model.split.method=grouped_random (refitted or not), then a challenger split
    # out of time on the same history: the champion had learnt most of the newest deals through their
    # accounts, nothing could be left out, and the verdict 'worse beyond the noise' (-0.044 AUC, exit 6)
    # said only that the model that scores today 'learnt from too many of these test deals'.
    undated = {"split_method": "grouped_random", "n_groups": 2400, "seed": 0}
    tested = SimpleNamespace(model=SimpleNamespace(split_summary=undated), model_version="3")
    live = SimpleNamespace(model=SimpleNamespace(split_summary={**undated, "refit": True}), model_version="3")
    rows = np.arange(3)
    dated = Split(
        rows, rows, rows, "out_of_time", *pd.to_datetime(["2025-01-01", "2025-06-01", "2025-09-01"])
    )
    reseeded = Split(rows, rows, rows, "grouped_random", extra={"n_groups": 2400, "seed": 7})
    for champions in ((live, tested), (tested, tested)):
        for split in (dated, reseeded):
            said = compared_note(champions, False, split)
            assert len(said) == 1 and said[0].startswith(
                "the champion (version 3) was trained on a split without dates (grouped_random), so the test "
                "deals it learnt from could not be left out"
            )
            assert '--force "reason"' in said[0]
    # The same groups drawn again (a flat export that grew, trained again): as before.
    same = Split(rows, rows, rows, "grouped_random", extra={"n_groups": 2500, "seed": 0})
    assert compared_note((tested, tested), False, same) == []
    assert "as it was tested" in compared_note((live, tested), False, same)[0]


def test_a_champion_forced_past_uncompared_is_named_by_the_card_not_called_a_first_version(
    trained_small, fast_config, monkeypatch
):
    from pipelines import tracking
    from pipelines.train import uncompared_champion

    # train/retrain --force past a champion whose tested model is lost: the card said 'This is the first
    # version: there is no previous champion to compare with.' The live champion is named; the card scores
    # it itself, and says it learnt those deals without crediting a gate that never compared the two.
    live, learnt = _learnt_to_the_middle(trained_small)
    monkeypatch.setattr(tracking, "load_champion", lambda name: live)
    unscored = "its tested model, tested/scorer.pkl of its run r, is missing or damaged"
    assert uncompared_champion("leadscore", unscored, live.input) is live
    assert uncompared_champion("leadscore", "", live.input) is None  # compared, or no champion
    assert uncompared_champion("leadscore", unscored, object()) is None  # another input
    t = trained_small  # its evaluation has no champion column: the gate scored none
    data = card_data_of(
        t, fast_config, previous=live, previous_test_p=t.evaluation.test_scores["model"].to_numpy()
    )
    said = " ".join(data.change_log)
    assert "First version" not in said and data.has_previous and data.previous_version == "1"
    assert f"(version 1 was trained and tuned on {learnt:,} of them, which flatters it)." in said, said


def test_retrain_forced_past_a_lost_tested_model_names_the_champion_on_its_card(
    small_history, trained_small, champion_store, monkeypatch, tmp_path
):
    from pipelines import card as card_module
    from pipelines import train as train_module
    from pipelines.retrain import run_retrain
    from pipelines.settings import RetrainConfig

    unscored = "its tested model, tested/scorer.pkl of its run x, is missing or damaged"
    trained = dataclasses.replace(trained_small, run_id=None, version=None, champion_unscored=unscored)
    monkeypatch.setattr(train_module, "run_train", lambda *a, **k: trained)  # what `retrain --force` trains
    given = []
    monkeypatch.setattr(card_module, "card_after_training", lambda *a, **k: given.append(a[3]))
    run_retrain(
        small_history.tables(),
        load_config(overrides=FAST_OVERRIDES),
        RetrainConfig(),
        "2026-10-01",
        force_reason="lost",
        out_dir=tmp_path,
    )
    # The champion the backtest scored (version 1), named on the card; it was given none ('first version').
    assert len(given) == 1 and given[0] is not None and given[0].model_version == "1"


def test_a_card_without_tables_does_not_score_the_uncompared_champion(trained_small):
    from pipelines.card import previous_test_probabilities

    # train --engine spark --force past a lost tested model: the tables stay in Spark ({}), and scoring the
    # champion named on the card from them was a KeyError, so 'the model card could not be written'.
    spark_like = dataclasses.replace(
        trained_small, data=dataclasses.replace(trained_small.data, valid_tables=None)
    )
    assert previous_test_probabilities(spark_like, trained_small.scorer, {}) is None
