"""Score trend against the last run of the same model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.trend import comparable_run, trend_counts, with_trend


def scores(ids, values, grades):
    return pd.DataFrame({"lead_id": ids, "score": values, "grade": grades})


def test_each_lead_gets_its_previous_score_change_and_trend():
    now = scores(["a", "b", "c", "d"], [0.80, 0.30, 0.52, 0.40], ["A", "C", "B", "C"])
    last = scores(["a", "b", "c"], [0.40, 0.50, 0.50], ["C", "B", "B"])
    out = with_trend(now, last, steady=0.05).set_index("lead_id")
    assert out.loc["a", "previous_score"] == 0.40 and np.isclose(out.loc["a", "score_change"], 0.40)
    assert out["trend"].to_dict() == {"a": "rising", "b": "falling", "c": "steady", "d": "new"}
    assert out["grade_jump"].to_dict() == {"a": "C→A", "b": "B→C", "c": "", "d": ""}
    assert np.isnan(out.loc["d", "previous_score"]) and out.loc["d", "previous_grade"] == ""


def test_no_previous_run_leaves_the_trend_empty():
    out = with_trend(scores(["a"], [0.5], ["B"]), None, steady=0.05)
    assert out["trend"].tolist() == [""] and np.isnan(out["previous_score"]).all()


def test_trend_counts_count_grade_moves_up_and_down():
    now = scores(["a", "b", "c", "d"], [0.80, 0.30, 0.52, 0.40], ["A", "C", "B", "C"])
    last = scores(["a", "b", "c"], [0.40, 0.50, 0.50], ["C", "B", "B"])
    counts = trend_counts(with_trend(now, last, 0.05)).set_index("trend")["leads"].to_dict()
    assert counts == {"rising": 1, "falling": 1, "steady": 1, "new": 1, "grade up": 1, "grade down": 1}


def run(ids, values, grades, model="leadscore", as_of="2026-09-01", **columns):
    """A published run's columns as a previous run is read."""
    return scores(ids, values, grades).assign(model_name=model, as_of=pd.Timestamp(as_of), **columns)


NOW = pd.Timestamp("2026-10-01")


def test_an_earlier_run_of_the_same_model_is_compared():
    rows, sentence = comparable_run(run(["a"], [0.4], ["C"]), "leadscore", NOW, "s.parquet")
    assert rows.to_dict("list") == {"lead_id": ["a"], "score": [0.4], "grade": ["C"]}
    assert sentence == "trend against model leadscore's scores as of 2026-09-01 at s.parquet"


def test_another_model_a_later_run_or_missing_columns_give_no_trend_and_say_why():
    other = comparable_run(run(["a"], [0.4], ["C"], model="leadscore_eu"), "leadscore", NOW, "s.csv")
    assert other == (None, "previous scores at s.csv came from model leadscore_eu, not leadscore: no trend")
    later = comparable_run(run(["a"], [0.4], ["C"], as_of="2026-11-01"), "leadscore", NOW, "s.csv")
    assert later == (
        None,
        "previous scores at s.csv are as of 2026-11-01, after this run's 2026-10-01: no trend",
    )
    lacking = comparable_run(scores(["a"], [0.4], ["C"]), "leadscore", NOW, "s.csv")
    assert lacking == (None, "previous scores at s.csv lack the column(s) as_of, model_name: no trend")
    empty = comparable_run(run([], [], []), "leadscore", NOW, "s.csv")
    assert empty[0] is None and "no rows" in empty[1]


def test_a_rerun_of_the_same_as_of_keeps_the_trend_against_the_run_before():
    first = with_trend(scores(["a", "b"], [0.7, 0.2], ["A", "C"]), scores(["a"], [0.4], ["C"]), 0.05)
    rows, sentence = comparable_run(first.assign(model_name="leadscore", as_of=NOW), "leadscore", NOW, "s")
    assert rows.to_dict("list") == {"lead_id": ["a"], "score": [0.4], "grade": ["C"]}  # b was new, stays new
    again = with_trend(first[["lead_id", "score", "grade"]], rows, 0.05)
    pd.testing.assert_frame_equal(again, first)
    assert "re-run" in sentence
    untrended = with_trend(scores(["a"], [0.7], ["A"]), None, 0.05).assign(model_name="leadscore", as_of=NOW)
    assert comparable_run(untrended, "leadscore", NOW, "s")[0] is None


def test_a_crm_format_with_a_trend_field_carries_the_trend_and_grade_jump():
    from models.crm_export import CrmExportConfig, CrmFields, crm_rows

    trended = with_trend(scores(["a", "b"], [0.8, 0.3], ["A", "C"]), scores(["a"], [0.4], ["C"]), 0.05)
    plain = CrmFields(id="Id", score="S", grade="G", reasons="R")
    rows = crm_rows(trended.assign(reasons=""), plain.model_copy(update={"trend": "T"}), CrmExportConfig())
    assert rows["T"].tolist() == ["rising C→A", "new"]
    assert "T" not in crm_rows(trended.assign(reasons=""), plain, CrmExportConfig()).columns  # off by default


def test_previous_scores_that_are_not_probabilities_or_grades_give_no_trend():
    bad_grade = comparable_run(run(["a", "b"], [0.4, 0.3], ["C", "Z"]), "leadscore", NOW, "s.csv")
    assert bad_grade == (
        None,
        "previous scores at s.csv hold 1 row whose grade is not a leadscore grade (e.g. 'Z'): no trend",
    )
    bad_score = comparable_run(run(["a"], ["high"], ["C"]), "leadscore", NOW, "s.csv")
    assert bad_score[0] is None and "score is not a leadscore score (e.g. 'high')" in bad_score[1]
