"""Score trend: each lead's score against the last run of the same model name.

A rep cares less about a lead's score than about what changed: a lead that rose from C to A this week is
the call to make today.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TREND_COLUMNS = ("previous_score", "score_change", "trend", "previous_grade", "grade_jump")
GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}


def with_trend(scores: pd.DataFrame, previous: pd.DataFrame | None, steady: float) -> pd.DataFrame:
    """The scores with TREND_COLUMNS added from `previous` (the last run's lead_id, score and grade).

    trend: rising or falling when the score moved more than `steady` (a probability, e.g. 0.05), steady
    otherwise, new for a lead the last run did not score; "" for every lead when there is no last run.
    grade_jump: "C→A" when the grade changed, "" otherwise.
    """
    if previous is None:
        return scores.assign(
            previous_score=np.nan, score_change=np.nan, trend="", previous_grade="", grade_jump=""
        )
    last = previous.drop_duplicates("lead_id", keep="last").set_index("lead_id")
    before = scores["lead_id"].map(last["score"]).astype(float)
    grade_before = scores["lead_id"].map(last["grade"]).astype(object)
    change = scores["score"].astype(float) - before
    trend = np.select(
        [before.isna(), change > steady, change < -steady], ["new", "rising", "falling"], default="steady"
    )
    moved = grade_before.notna() & (grade_before != scores["grade"])
    jump = np.where(moved, grade_before.astype(str) + "→" + scores["grade"].astype(str), "")
    return scores.assign(
        previous_score=before,
        score_change=change,
        trend=trend,
        previous_grade=grade_before.fillna("").astype(str),
        grade_jump=jump,
    )


def trend_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Leads per trend and the grade jumps up (to a better grade), for the console and the summary."""
    ups = scores["grade_jump"].astype(str).str.split("→").map(_rose)
    return pd.DataFrame(
        {
            "trend": ["rising", "falling", "steady", "new", "grade up", "grade down"],
            "leads": [
                *(int((scores["trend"] == t).sum()) for t in ("rising", "falling", "steady", "new")),
                int((ups == 1).sum()),
                int((ups == -1).sum()),
            ],
        }
    )


def _rose(pair: list[str]) -> int:
    """1 when the grade moved to a better one, -1 to a worse one, 0 otherwise."""
    if len(pair) != 2 or pair[0] not in GRADE_ORDER or pair[1] not in GRADE_ORDER:
        return 0
    return int(np.sign(GRADE_ORDER[pair[0]] - GRADE_ORDER[pair[1]]))
