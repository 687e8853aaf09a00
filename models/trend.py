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
    at = positions(previous["lead_id"], scores["lead_id"])
    found = at >= 0
    before = np.full(len(scores), np.nan)  # indexed where found only: `previous` may hold no rows at all
    before[found] = previous["score"].to_numpy(dtype=float)[at[found]]
    grade_before = np.full(len(scores), "", dtype=object)
    grade_before[found] = previous["grade"].to_numpy(dtype=object)[at[found]]
    grade = scores["grade"].to_numpy(dtype=object)
    change = scores["score"].to_numpy(dtype=float) - before
    trend = np.select([~found, change > steady, change < -steady], ["new", "rising", "falling"], "steady")
    moved = found & (grade_before != grade)
    jump = np.full(len(scores), "", dtype=object)
    jump[moved] = grade_before[moved] + "→" + grade[moved]
    return scores.assign(
        previous_score=before,
        score_change=change,
        trend=pd.array(trend, dtype="str"),
        previous_grade=pd.array(grade_before, dtype="str"),
        grade_jump=pd.array(jump, dtype="str"),
    )


def positions(ids: pd.Series, wanted: pd.Series) -> np.ndarray:
    """For each of `wanted`, the position of the same id in `ids` (its first, when repeated), or -1.

    One Arrow hash lookup for all the ids, rather than an index lookup per column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(wanted.astype("str")), value_set=pa.array(ids.astype("str")))
    return found.fill_null(-1).to_numpy().astype(np.int64)


def trend_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Leads per trend and the grade jumps up (to a better grade) and down, for the console and the summary."""
    rise = scores["previous_grade"].map(GRADE_ORDER) - scores["grade"].map(GRADE_ORDER)  # missing: no grade
    return pd.DataFrame(
        {
            "trend": [*TRENDS, "grade up", "grade down"],
            "leads": [
                *(int((scores["trend"] == t).sum()) for t in TRENDS),
                int((rise > 0).sum()),
                int((rise < 0).sum()),
            ],
        }
    )


def comparable_run(
    previous: pd.DataFrame, model_name: str, as_of: pd.Timestamp, where: str, model_version: str | None = None
) -> tuple[pd.DataFrame | None, str]:
    """The lead_id, score and grade of a previous run to compare this run with, or None; and one sentence
    saying what the trend is against, or why there is none (and, when the previous run's model_version is not
    `model_version`, that the model changed in between).

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
    at = pd.to_datetime(previous["as_of"], errors="coerce")
    then = at.max()
    now = pd.Timestamp(as_of)
    if pd.isna(then):
        return None, f"previous scores at {where} have no as_of: no trend"
    # A file of several runs (a scores table's history exported) is compared with its latest run only: a
    # lead's first row was an older run's, under a sentence naming the latest.
    previous = previous[(at == then).to_numpy()]
    repeated = previous["lead_id"][previous["lead_id"].duplicated()]
    if len(repeated):
        return None, (
            f"previous scores at {where} hold lead {repeated.iloc[0]!r} more than once as of {_day(then)} "
            f"(several runs of that day): no trend"
        )
    if then > now:
        return (
            None,
            f"previous scores at {where} are as of {_day(then)}, after this run's {_day(now)}: no trend",
        )
    if then < now:
        rows = previous[["lead_id", "score", "grade"]]
        return _checked(rows, where) or (
            rows,
            f"trend against model {model_name}'s scores as of {_day(then)} at {where}"
            + version_change(previous, model_version),
        )
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
    return _checked(rows, where) or (
        rows,
        f"a re-run of {_day(now)} at {where}: the trend is kept against the run before it",
    )


def version_change(previous: pd.DataFrame, model_version: str | None) -> str:
    """ "; the model changed from version 3 to version 4 since then: ..." when the previous run's model_version
    is not this run's (a promotion between two runs moves scores on its own), else ""."""
    if model_version is None or "model_version" not in previous.columns:
        return ""
    before = sorted(set(previous["model_version"].dropna().astype(str)) - {""})
    if not before or before == [str(model_version)]:
        return ""
    return (
        f"; the model changed from version {', '.join(before)} to version {model_version} since then: a score's "
        "change is partly the new model's, not the lead's"
    )


def _checked(rows: pd.DataFrame, where: str) -> tuple[None, str] | None:
    """Why `rows` (lead_id, score, grade) are not a run's scores (a score not a probability, a grade not
    A-D, a lead without an id), or None when they are."""
    score = pd.to_numeric(rows["score"], errors="coerce")
    problems = {
        "score": rows["score"][score.isna() | (score < 0) | (score > 1)],
        "grade": rows["grade"][~rows["grade"].isin(list(GRADE_ORDER))],
        "lead_id": rows["lead_id"][rows["lead_id"].isna()],
    }
    for column, bad in problems.items():
        if len(bad):
            return None, (
                f"previous scores at {where} hold {len(bad):,} row{'s' * (len(bad) != 1)} whose {column} "
                f"is not a leadscore "
                f"{column} (e.g. {bad.iloc[0]!r}): no trend"
            )
    return None


def _day(when: pd.Timestamp) -> str:
    """A date as the command line takes it (the time only when it has one)."""
    return when.strftime("%Y-%m-%d") if when == when.normalize() else when.isoformat()
