"""Score trend: each lead's score against the last run of the same model name.

A rep cares less about a lead's score than about what changed: a lead that rose from C to A this week is
the call to make today.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TREND_COLUMNS = ("previous_score", "score_change", "trend", "previous_grade", "grade_jump")
TRENDS = ("rising", "falling", "steady", "new")  # and "" for every lead of a run with no last run to compare
GRADE_ORDER = {"A": 0, "B": 1, "C": 2, "D": 3}
# The trend columns of a run without a last run to compare with (every scorer gives these; see with_trend).
NO_TREND: dict[str, object] = {
    "previous_score": np.nan,
    "score_change": np.nan,
    "trend": "",
    "previous_grade": "",
    "grade_jump": "",
}
# What a previous run must hold to be compared with (the score table has them all).
PREVIOUS_COLUMNS = ("lead_id", "as_of", "score", "grade", "model_name")


@dataclass(frozen=True)
class TrendReport:
    """A run's trend for the console: one sentence (what it is against, or why there is none) and its leads
    per trend (trend_counts) when a previous run was compared."""

    sentence: str
    counts: pd.DataFrame | None = None
    warning: bool = False  # no trend although one was asked for (an unreadable or another model's run)


def with_trend(scores: pd.DataFrame, previous: pd.DataFrame | None, steady: float) -> pd.DataFrame:
    """The scores with TREND_COLUMNS added from `previous` (the last run's lead_id, score and grade).

    trend: rising or falling when the score moved more than `steady` (a probability, e.g. 0.05), steady
    otherwise, new for a lead the last run did not score; "" for every lead when there is no last run.
    grade_jump: "C→A" when the grade changed, "" otherwise.
    """
    if previous is None:
        return scores.assign(**NO_TREND)
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


def comparable_run(
    previous: pd.DataFrame, model_name: str, as_of: pd.Timestamp, where: str
) -> tuple[pd.DataFrame | None, str]:
    """The lead_id, score and grade of a previous run to compare this run with, or None; and one sentence
    saying what the trend is against, or why there is none.

    `previous` holds a published run's PREVIOUS_COLUMNS (and its trend columns when it has them). It is
    compared only when it comes from the same model name and an earlier as-of. A re-run of the same as-of
    keeps the trend the earlier write of it had (against the run before), so that a re-run changes nothing.
    """
    missing = [c for c in PREVIOUS_COLUMNS if c not in previous.columns]
    if missing:
        return None, f"previous scores at {where} lack the column(s) {', '.join(missing)}: no trend"
    if previous.empty:
        return None, f"previous scores at {where} hold no rows: no trend"
    names = sorted(previous["model_name"].dropna().astype(str).unique())
    if names != [str(model_name)]:
        found = ", ".join(names) or "no model"
        return None, f"previous scores at {where} came from model {found}, not {model_name}: no trend"
    then = pd.to_datetime(previous["as_of"], errors="coerce").max()
    now = pd.Timestamp(as_of)
    if pd.isna(then):
        return None, f"previous scores at {where} have no as_of: no trend"
    if then > now:
        return (
            None,
            f"previous scores at {where} are as of {_day(then)}, after this run's {_day(now)}: no trend",
        )
    if then < now:
        rows = previous[["lead_id", "score", "grade"]]
        return rows, f"trend against model {model_name}'s scores as of {_day(then)} at {where}"
    carried = {"trend", "previous_score", "previous_grade"} <= set(previous.columns) and bool(
        previous["trend"].astype("str").fillna("").ne("").any()
    )
    if not carried:
        return (
            None,
            f"previous scores at {where} are of this run's as-of ({_day(now)}) and had no trend: no trend",
        )
    before = previous.loc[previous["previous_score"].notna(), ["lead_id", "previous_score", "previous_grade"]]
    rows = before.set_axis(["lead_id", "score", "grade"], axis=1)
    return rows, f"a re-run of {_day(now)} at {where}: the trend is kept against the run before it"


def _day(when: pd.Timestamp) -> str:
    """A date as the command line takes it (the time only when it has one)."""
    return when.strftime("%Y-%m-%d") if when == when.normalize() else when.isoformat()
