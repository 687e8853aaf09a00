"""Hostile sweep 10h: the quarterly lifecycle when the CRM's data change shape between quarters or weekly runs
(a column blanked, a level renamed, an activity type no longer logged, an ICP edited): each is handled or named,
never scored or gated wrongly in silence."""

from __future__ import annotations

import pandas as pd

from pipelines.score import run_score

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
