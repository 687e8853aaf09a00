"""The score table every scoring route publishes, the order it is published in, and the count of lead rows.

- `ScoreTable`, a pandera DataFrameModel, is the one definition of the table's columns and types: batch
  (file, streamed parts, database), Spark and online all give these columns, the trend columns included
  (empty where there is no previous run to compare with). `SCORE_COLUMNS`, the pandas
  dtypes of a published file (`SCORE_DTYPES`) and each column's kind (`SCORE_KINDS`, from which
  pipelines/spark.py writes its DDL and pipelines/db.py its SQL types) derive from it.
- `rank` is the one order of published scores: best first.
- `LeadCounts` is the one accounting of a run's lead rows: read = scored + quarantined + not scored.

Pure: no I/O.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from models.trend import TRENDS

GRADES = ("A", "B", "C", "D")  # best first; a disqualified lead always gets the last
INTENT_BANDS = ("low", "medium", "high")


class ScoreTable(pa.DataFrameModel):
    """One row per scored lead, in this column order."""

    lead_id: Series[str]
    as_of: Series[pd.Timestamp]  # the time the lead was scored as of
    score: Series[float] = pa.Field(ge=0.0, le=1.0)  # calibrated probability of winning a deal
    grade: Series[str] = pa.Field(isin=GRADES)  # a disqualified lead gets the lowest
    rank_score: Series[float]  # the score, minus an offset for a disqualified lead: the ranking key
    fit_tier: Series[str]  # A, B or C from the ICP; empty for a flat export
    intent_band: Series[str] = pa.Field(
        isin=INTENT_BANDS, nullable=True
    )  # missing when scored without reasons
    disqualified: Series[bool]
    disqualify_reasons: Series[str]  # reason codes joined by ";"
    disqualify_detail: Series[str]
    reasons: Series[str]  # empty when scored without reasons
    reasons_positive: Series[str]
    reasons_negative: Series[str]
    fit_contribution: Series[float] = pa.Field(nullable=True)  # log-odds; missing without reasons
    intent_contribution: Series[float] = pa.Field(nullable=True)
    model_name: Series[str]
    model_version: Series[str]
    # The trend against the last run of the same model name (models/trend.py); empty (missing, "") when there
    # is none to compare with: a first run, another model's scores, online scoring, Spark folder scoring.
    previous_score: Series[float] = pa.Field(ge=0.0, le=1.0, nullable=True)
    score_change: Series[float] = pa.Field(ge=-1.0, le=1.0, nullable=True)
    trend: Series[str] = pa.Field(isin=("", *TRENDS))
    previous_grade: Series[str] = pa.Field(isin=("", *GRADES))
    grade_jump: Series[str]  # "C→A" when the grade changed, else ""

    class Config:
        strict = True  # no other column
        ordered = True  # in this order


with warnings.catch_warnings():
    # Building the schema makes pandera try pyspark.pandas, which warns under pandas 3 (pyspark is an extra).
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    SCHEMA = ScoreTable.to_schema()
SCORE_COLUMNS: tuple[str, ...] = tuple(SCHEMA.columns)


def _kind(dtype: object) -> str:
    """text, time, number or flag: what a column holds, for engines that name types their own way."""
    if pd.api.types.is_bool_dtype(dtype):
        return "flag"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "time"
    return "text"


SCORE_KINDS: dict[str, str] = {name: _kind(column.dtype.type) for name, column in SCHEMA.columns.items()}
# The pandas dtype of each kind in a published scores frame (times to the microsecond, as Parquet keeps them).
KIND_DTYPES = {"text": "str", "time": "datetime64[us]", "number": "float64", "flag": "bool"}
SCORE_DTYPES: dict[str, str] = {name: KIND_DTYPES[kind] for name, kind in SCORE_KINDS.items()}
_PANDAS_DTYPES = {name: pd.Series(dtype=dtype).dtype for name, dtype in SCORE_DTYPES.items()}

# The order of published scores: every qualified lead above every disqualified one (rank_score), then by
# score; ties by lead_id. (column, ascending) pairs, so that SQL readers order the same way.
RANKING: tuple[tuple[str, bool], ...] = (("rank_score", False), ("lead_id", True))


class ScoreTableError(AssertionError):
    """Scores that do not fit the score table: a defect in leadscore, not in the input."""


def rank(scores: pd.DataFrame) -> pd.DataFrame:
    """Best first (see RANKING), with a fresh index; any frame with the ranking's columns."""
    names = [name for name, _ in RANKING]
    ascending = [up for _, up in RANKING]
    return scores.sort_values(names, ascending=ascending, kind="stable").reset_index(drop=True)


def empty_scores() -> pd.DataFrame:
    """A score table without rows, in the published dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in SCORE_DTYPES.items()})


def with_score_dtypes(scores: pd.DataFrame) -> pd.DataFrame:
    """`scores` in the published dtypes (Spark's object text, a column of missing values without reasons);
    `scores` itself when it has them already."""
    differ = {name: dtype for name, dtype in _PANDAS_DTYPES.items() if scores[name].dtype != dtype}
    return scores.astype(differ) if differ else scores


def validated(scores: pd.DataFrame) -> pd.DataFrame:
    """`scores` checked against ScoreTable (columns, order, types, values); ScoreTableError names what fails."""
    try:
        return SCHEMA.validate(scores, lazy=True)
    except SchemaErrors as error:
        cases = error.failure_cases
        found = "; ".join(
            f"{row.column or 'the table'} failed {row.check} (e.g. {row.failure_case!r})"
            for row in cases.drop_duplicates(["column", "check"]).head(3).itertuples(index=False)
        )
        raise ScoreTableError(
            f"the scores do not fit the score table (models/score_table.py): {found}; this is a defect in "
            "leadscore, please report it with the command that gave it"
        ) from error


def dtype_mismatches(scores: pd.DataFrame) -> list[str]:
    """Where `scores` differs from the published columns and dtypes (empty when it is exactly the table)."""
    if tuple(scores.columns) != SCORE_COLUMNS:
        return [f"columns {list(scores.columns)} are not {list(SCORE_COLUMNS)}"]
    return [
        f"{name} is {scores[name].dtype}, not {dtype}"
        for name, dtype in _PANDAS_DTYPES.items()
        if scores[name].dtype != dtype
    ]


# --- accounting ----------------------------------------------------------------------------------------------

DEAL_CLOSED = "deal already closed"
CREATED_LATER = "created after as_of"
NOT_SCORED = "not scored: "


class LeadsNotAccountedFor(AssertionError):
    """A run's lead rows do not add up: a defect in leadscore (a row lost or counted twice)."""


@dataclass(frozen=True)
class LeadCounts:
    """A run's lead rows: every row read is scored, quarantined or not scored for a reason (they must add up).

    `not_scored` maps a reason (DEAL_CLOSED, CREATED_LATER) to its leads; a route without such reasons
    (a flat export) has none.
    """

    read: int
    scored: int
    quarantined: int
    not_scored: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.read != self.scored + self.quarantined + sum(self.not_scored.values()):
            raise LeadsNotAccountedFor(f"lead rows not accounted for: {self.sentence()}")

    def frame(self) -> pd.DataFrame:
        """status / leads, one row per count (the console's table)."""
        statuses = ["read", "scored", "quarantined", *(NOT_SCORED + reason for reason in self.not_scored)]
        counts = [self.read, self.scored, self.quarantined, *self.not_scored.values()]
        return pd.DataFrame({"status": statuses, "leads": [int(n) for n in counts]})

    def count(self, status: str) -> int:
        """The leads of a status as `frame` names it (read, scored, quarantined, "not scored: <reason>")."""
        fixed = {"read": self.read, "scored": self.scored, "quarantined": self.quarantined}
        if status in fixed:
            return int(fixed[status])
        return int(self.not_scored.get(status.removeprefix(NOT_SCORED), 0))

    def not_scored_text(self) -> str:
        """The reasons that kept some leads from a score, with their counts ("deal already closed: 3, ...")."""
        return ", ".join(f"{reason}: {n:,}" for reason, n in self.not_scored.items() if n)

    def sentence(self) -> str:
        """The counts in one sentence."""
        why = self.not_scored_text()
        not_scored = sum(self.not_scored.values())
        return (
            f"{self.read:,} leads read: {self.scored:,} scored, {self.quarantined:,} quarantined, "
            f"{not_scored:,} not scored" + (f" ({why})" if why else "")
        )
