"""Hostile sweep 10h: the quarterly lifecycle when the CRM's data change shape between quarters or weekly runs
(a column blanked, a level renamed, an activity type no longer logged, an ICP edited): each is handled or named,
never scored or gated wrongly in silence."""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd

from models.retrain import champion_learned_evaluation, retrain_windows
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


def test_a_rerun_of_an_earlier_as_of_says_the_champion_learned_from_the_evaluation_quarter(fast_config):
    """Retrain as of 2026-10-01 promoted a champion trained and tuned on deals up to 2026-01-01; a rerun as of
    2026-04-01 evaluated on 2025Q3, deals that champion learned from, and the verdict read 'worse beyond the
    noise' as if the comparison were fair. It now says the champion was measured on deals it learned from;
    a quarter after them (the usual next retrain) says nothing."""
    windows = retrain_windows(pd.Timestamp("2026-04-01"), fast_config.model.maturity_days, 8)
    later = {"train_start": "2023-10-01", "valid_start": "2025-10-01", "test_start": "2026-01-01"}
    said = champion_learned_evaluation(later, "2", windows)
    assert said is not None and said.startswith(
        "the evaluation quarter 2025Q3 overlaps the deals the champion"
    )
    assert "(2023-10-01 to 2026-01-01)" in said
    earlier = {"train_start": "2023-01-01", "valid_start": "2025-01-01", "test_start": "2025-04-01"}
    assert champion_learned_evaluation(earlier, "1", windows) is None
    assert champion_learned_evaluation({}, "1", windows) is None  # a split without dates


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
