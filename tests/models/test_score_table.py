"""The score table: one definition of the columns, one ranking, one accounting of lead rows."""

import numpy as np
import pandas as pd
import pytest

from models.score_table import (
    CREATED_LATER,
    DEAL_CLOSED,
    SCORE_COLUMNS,
    SCORE_DTYPES,
    LeadCounts,
    LeadsNotAccountedFor,
    ScoreTableError,
    dtype_mismatches,
    empty_scores,
    rank,
    validated,
)
from models.trend import TREND_COLUMNS


def scores(n: int = 4) -> pd.DataFrame:
    """A small score table in the published dtypes."""
    score = np.linspace(0.9, 0.1, n)
    text = pd.Series([""] * n, dtype="str")
    frame = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i}" for i in range(n)], dtype="str"),
            "as_of": pd.Series(pd.Timestamp("2026-10-01"), index=range(n), dtype="datetime64[us]"),
            "score": score,
            "grade": pd.Series(["A", "B", "C", "D"] * (n // 4) + ["D"] * (n % 4), dtype="str"),
            "rank_score": score,
            "fit_tier": pd.Series("A", index=range(n), dtype="str"),
            "intent_band": pd.Series("low", index=range(n), dtype="str"),
            "disqualified": np.zeros(n, dtype=bool),
            "disqualify_reasons": text,
            "disqualify_detail": text,
            "reasons": text,
            "reasons_positive": text,
            "reasons_negative": text,
            "fit_contribution": score,
            "intent_contribution": score,
            "model_name": pd.Series("leadscore", index=range(n), dtype="str"),
            "model_version": pd.Series("1", index=range(n), dtype="str"),
            "previous_score": np.nan,
            "score_change": np.nan,
            "trend": text,
            "previous_grade": text,
            "grade_jump": text,
        }
    )
    return frame


def test_the_column_list_and_dtypes_come_from_the_model():
    from models.scorer import SCORE_COLUMNS as EXPORTED

    assert EXPORTED == SCORE_COLUMNS
    assert len(SCORE_COLUMNS) == 22 and SCORE_COLUMNS[:3] == ("lead_id", "as_of", "score")
    assert SCORE_COLUMNS[-5:] == TREND_COLUMNS  # always there, empty without a previous run
    assert SCORE_DTYPES["as_of"] == "datetime64[us]" and SCORE_DTYPES["disqualified"] == "bool"
    assert dtype_mismatches(scores()) == []
    assert dtype_mismatches(empty_scores()) == []


def test_spark_ddl_and_sql_types_derive_from_the_model():
    from pipelines.db import SCORE_SQL_TYPES
    from pipelines.spark import RESULT_SCHEMA

    ddl = dict(part.split(" ") for part in RESULT_SCHEMA.split(", "))
    assert tuple(ddl) == SCORE_COLUMNS == tuple(SCORE_SQL_TYPES)
    assert ddl["score"] == "double" and ddl["disqualified"] == "boolean" and ddl["as_of"] == "string"
    assert SCORE_SQL_TYPES["as_of"] == "TIMESTAMP" and SCORE_SQL_TYPES["reasons"] == "TEXT"
    assert SCORE_SQL_TYPES["fit_contribution"] == "DOUBLE PRECISION"


def test_a_valid_table_passes_and_a_broken_one_is_named():
    good = scores()
    assert validated(good) is not None
    with pytest.raises(ScoreTableError, match=r"grade failed isin.*'Z'"):
        validated(good.assign(grade=pd.Series(["A", "Z", "B", "C"], dtype="str")))
    with pytest.raises(ScoreTableError, match="score"):
        validated(good.assign(score=[0.5, 1.5, 0.2, 0.1]))
    with pytest.raises(ScoreTableError):
        validated(good.assign(extra=1))
    with pytest.raises(ScoreTableError):
        validated(good[list(reversed(SCORE_COLUMNS))])


def test_a_trend_outside_its_words_is_named():
    good = scores().assign(trend=pd.Series(["rising", "new", "", "steady"], dtype="str"))
    validated(good)
    with pytest.raises(ScoreTableError, match="trend failed isin"):
        validated(good.assign(trend=pd.Series(["up", "", "", ""], dtype="str")))


def test_scored_without_reasons_the_band_and_contributions_may_be_missing():
    frame = scores().assign(intent_band=pd.NA, fit_contribution=np.nan, intent_contribution=np.nan)
    validated(frame)


def test_rank_puts_qualified_above_disqualified_then_score_then_lead_id():
    frame = pd.DataFrame(
        {"lead_id": ["b", "a", "c", "d"], "rank_score": [0.5, 0.5, 0.9 - 2.0, 0.1]}, index=[7, 8, 9, 10]
    )
    ranked = rank(frame)
    assert ranked["lead_id"].tolist() == ["a", "b", "d", "c"]
    assert ranked.index.tolist() == [0, 1, 2, 3]


def test_lead_counts_add_up_or_raise():
    counts = LeadCounts(read=10, scored=5, quarantined=2, not_scored={DEAL_CLOSED: 2, CREATED_LATER: 1})
    assert counts.count("not scored: created after as_of") == 1 and counts.count("scored") == 5
    assert counts.frame()["leads"].tolist() == [10, 5, 2, 2, 1]
    assert counts.frame()["status"].tolist()[3:] == [
        "not scored: deal already closed",
        "not scored: created after as_of",
    ]
    assert counts.sentence() == (
        "10 leads read: 5 scored, 2 quarantined, 3 not scored (deal already closed: 2, created after as_of: 1)"
    )
    with pytest.raises(LeadsNotAccountedFor, match="11 leads read: 5 scored"):
        LeadCounts(read=11, scored=5, quarantined=2, not_scored={DEAL_CLOSED: 2, CREATED_LATER: 1})


def test_a_route_without_reasons_to_skip_lists_only_its_three_counts():
    counts = LeadCounts(read=3, scored=3, quarantined=0)
    assert counts.frame()["status"].tolist() == ["read", "scored", "quarantined"]
    assert (
        counts.not_scored_text() == ""
        and counts.sentence() == "3 leads read: 3 scored, 0 quarantined, 0 not scored"
    )
