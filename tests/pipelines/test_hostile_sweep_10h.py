"""Hostile sweep 10h: the quarterly lifecycle when the CRM's data change shape between quarters or weekly runs
(a column blanked, a level renamed, an activity type no longer logged, an ICP edited): each is handled or named,
never scored or gated wrongly in silence."""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd

from models.retrain import champion_learned_note
from pipelines.registry import gate_decision
from pipelines.retrain import run_backtest
from pipelines.score import run_score
from pipelines.train import icp_change_notes

AS_OF = pd.Timestamp("2026-10-01")


def without_recent(tables: dict[str, pd.DataFrame], kind: str, days: int = 90) -> dict[str, pd.DataFrame]:
    """The tables with activity type `kind` no longer logged in the `days` before AS_OF."""
    activities = tables["activities"]
    recent = activities["occurred_at"] >= AS_OF - pd.Timedelta(days=days)
    return {**tables, "activities": activities[~(recent & (activities["activity_type"] == kind))]}


def test_an_activity_type_the_crm_stopped_logging_is_named_when_scoring(small_scorer, small_history):
    """An admin stops logging demo requests: no row breaks a rule, every lead's demo counts read 0 and the
    scores sank with exit 0 and no word (a renamed type is quarantined; a vanished one was silent). The run
    names the type, the window and the count its earlier rate expected, and still scores."""
    tables = without_recent(small_history.tables(), "demo_request")
    result = run_score(small_scorer, tables, AS_OF, output=None, reasons=False)
    said = " ".join(" ".join(result.warnings).split())
    assert "no demo_request (about" in said and "in the 90 days before 2026-10-01" in said
    assert len(result.scores) > 0
    untouched = run_score(small_scorer, small_history.tables(), AS_OF, output=None, reasons=False)
    assert not any("activities: no" in warning for warning in untouched.warnings)


def test_a_gate_across_an_icp_change_says_it_compared_on_the_new_icps_leads(
    champion_store, trained_small, small_scorer, fast_config
):
    """Served countries added between quarters: the gate compared champion and challenger on the test leads
    the new ICP keeps (leads the champion's ICP disqualified and it never trained on) and promoted with no word
    of it, in the verdict or `leadscore history` (only deep in the card). The verdict now says so; an
    unchanged ICP adds nothing."""
    wider = copy.copy(small_scorer)
    wider.icp = small_scorer.icp.model_copy(update={"served_countries": ["IN", "BR"]})
    assert icp_change_notes(small_scorer, small_scorer, small_scorer.input) == []
    notes = icp_change_notes(small_scorer, wider, wider.input)
    assert len(notes) == 1 and "the ICP changed since the champion" in notes[0]
    evaluation = copy.copy(trained_small.evaluation)
    scores = trained_small.evaluation.test_scores
    evaluation.test_scores = scores.assign(champion=scores["model"])  # the champion scored on these rows
    compared = dataclasses.replace(trained_small, evaluation=evaluation, gate_notes=notes)
    assert gate_decision(compared, fast_config).reasons[-1] == notes[0]


def test_a_column_blanked_in_the_whole_history_is_named_by_retrain(small_scorer, small_history):
    """An admin clears industry in the CRM: the export holds it blank for every account, old ones too. The
    drift report reads both windows from today's tables (blank in both: 'moved: none'), the challenger trained
    without industry and was promoted, exit 0, no word. The champion's backtest run now says what its coverage
    check finds."""
    tables = small_history.tables()
    tables = {**tables, "accounts": tables["accounts"].assign(industry=None)}
    _, said = run_backtest(small_scorer, tables, AS_OF, 90)
    said_once = " ".join(" ".join(said).split())
    assert "the champion (version 1) on the leads open as of 2026-07-03: features missing" in said_once
    assert "industry 100%" in said_once
    _, untouched = run_backtest(small_scorer, small_history.tables(), AS_OF, 90)
    assert untouched == []


def test_the_gate_compares_champion_and_challenger_only_on_deals_the_champion_did_not_learn_from(
    champion_store, trained_small, fast_config
):
    """Retrain as of 2026-10-01 promoted a champion trained and tuned on deals up to 2026-01-01; a rerun as of
    2026-04-01 evaluated both on 2025Q3, deals that champion learned from, and the verdict read 'worse beyond
    the noise' as if the comparison were fair (then only a note said so). The gate reads the champion's
    window from its run and compares the two on the test deals outside it; with too few of those, the
    champion stays and the verdict names the fix."""
    learned_start = pd.Timestamp(trained_small.split.train_start)
    scores = trained_small.evaluation.test_scores.assign(
        champion=trained_small.evaluation.test_scores["model"]
    )

    def decided(snapshot_at: pd.Series):
        evaluation = copy.copy(trained_small.evaluation)
        evaluation.test_scores = scores.assign(snapshot_at=snapshot_at)
        return gate_decision(dataclasses.replace(trained_small, evaluation=evaluation), fast_config)

    after_its_window = decided(scores["snapshot_at"])  # the usual next retrain: nothing left out
    assert after_its_window.promote and "trained and tuned on" not in after_its_window.summary()
    inside = pd.Series(learned_start + pd.Timedelta(days=30), index=scores.index)
    stays = decided(inside)
    said = " ".join(stays.summary().split())
    assert stays.status == "refused" and "so the champion stays" in said, said
    assert f"the champion (version 1) was trained and tuned on deals created {learned_start:%Y-%m-%d}" in said
    assert f"{len(scores):,} of the {len(scores):,} test deals; the other 0 hold 0 won and 0 lost" in said
    half = scores["snapshot_at"].where(scores.index % 5 != 0, inside)  # a fifth inside its window
    partly = decided(half)
    said = " ".join(partly.summary().split())
    assert partly.promote and f"compared on the other {int((scores.index % 5 != 0).sum()):,}" in said


def test_a_deals_feed_that_stops_delivering_lost_deals_is_named_when_scoring(small_scorer, small_history):
    """Only won deals arrive after a CRM change: a lead whose lost deal is missing looks open, so it was
    scored (and queued) again with exit 0; the only word was a range warning on lead ages. The run names the
    outcome no longer delivered."""
    tables = small_history.tables()
    deals = tables["deals"]
    recent_lost = (deals["closed_at"] >= AS_OF - pd.Timedelta(days=90)) & (deals["outcome"] == "lost")
    result = run_score(
        small_scorer, {**tables, "deals": deals[~recent_lost]}, AS_OF, output=None, reasons=False
    )
    said = " ".join(" ".join(result.warnings).split())
    assert "deals: no lost (about" in said and "deal closed in the 90 days before 2026-10-01" in said


def test_a_deals_feed_that_stopped_writing_any_outcome_is_named_when_scoring(small_scorer, small_history):
    """No deal closes any more while leads still arrive (closing dates and outcomes no longer written): every
    lead whose deal closed looks open and is scored again, with exit 0 and no word (the check above needs other
    outcomes still closing). The run names the stopped feed and the closes its earlier rate expected."""
    tables = small_history.tables()
    deals = tables["deals"].copy()
    late = deals["outcome"].isin(["won", "lost"]) & (deals["closed_at"] >= AS_OF - pd.Timedelta(days=90))
    deals.loc[late, ["outcome", "closed_at", "lost_reason"]] = ["open", pd.NaT, None]
    result = run_score(small_scorer, {**tables, "deals": deals}, AS_OF, output=None, reasons=False)
    said = " ".join(" ".join(result.warnings).split())
    assert "deals: no deal closed in the 90 days before 2026-10-01, though about" in said
    assert "the outcome feed looks stopped" in said and len(result.scores) > 0
    untouched = run_score(small_scorer, tables, AS_OF, output=None, reasons=False)
    assert not any("feed looks stopped" in warning for warning in untouched.warnings)


def test_the_retrain_table_says_when_it_measures_the_champion_on_deals_it_learned_from():
    """The retrain's table of challenger against champion measures both on the whole evaluation quarter; the
    gate compares them on the deals the champion did not learn from. The table says so when they differ."""
    summary = {"train_start": "2024-10-06T00:00:00", "test_start": "2026-02-08T00:00:00"}
    quarter = pd.Series(pd.date_range("2026-01-01", "2026-03-31", periods=90))
    said = champion_learned_note(quarter, summary, "1")
    learned = int((quarter < pd.Timestamp("2026-02-08")).sum())
    assert said == (
        f"The champion (version 1) was trained and tuned on {learned} of these 90 deals, so this table flatters "
        f"it; the gate compares the two on the other {90 - learned} only."
    )
    assert champion_learned_note(quarter, {**summary, "test_start": "2025-12-01T00:00:00"}, "1") is None
    assert champion_learned_note(quarter, {"split_method": "grouped_random"}, "1") is None
