"""Job: score every open lead as of a date with a registered model, in chunks, and account for every row."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.dates import DateFormats
from models.scorer import LeadScorer
from pipelines.console import progress
from pipelines.io import write_frame
from pipelines.validate import quarantined_lead_share, run_validate


@dataclass
class ScoreResult:
    scores: pd.DataFrame
    quarantine: pd.DataFrame
    accounting: pd.DataFrame  # leads read, scored, quarantined, not scored (deal closed, not created yet)
    grades: pd.DataFrame | None = None  # score and grade of every lead, when `scores` holds only the top rows

    def grade_summary(self) -> pd.DataFrame:
        return grade_counts(self.grades if self.grades is not None else self.scores)

    @property
    def quarantined_share(self) -> float:
        row = self.accounting.set_index("status")["leads"]
        later = int(row.get(NOT_CREATED, 0))
        return quarantined_lead_share(int(row.get("quarantined", 0)), int(row.get("read", 0)), later)


NOT_CREATED = "not scored: created after as_of"


def open_leads(leads: pd.DataFrame, deals: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads with no deal or an open one (to score), and leads whose deal has closed (not scored).

    `leads` and `deals` are the contract's valid rows: a lead whose quarantined deal may have closed is
    already quarantined with it (features.contracts, "deal quarantined"), so it never reaches here as open.
    """
    if deals is None or len(deals) == 0:
        return leads, leads.iloc[0:0]
    closed = deals.loc[deals["outcome"].isin(["won", "lost"]), "lead_id"]
    is_closed = leads["lead_id"].isin(closed)
    return leads[~is_closed], leads[is_closed]


def score_in_chunks(
    scorer: LeadScorer,
    tables: dict[str, pd.DataFrame],
    leads: pd.DataFrame,
    as_of: pd.Timestamp,
    chunk_size: int,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score `leads` chunk by chunk (bounded memory for features and explanations), with a progress bar."""
    starts = range(0, len(leads), chunk_size)
    activities = tables["activities"]
    parts = []
    for start in progress(starts, "scoring leads", total=len(starts)):
        chunk = leads.iloc[start : start + chunk_size]
        chunk_tables = {
            "accounts": tables["accounts"],
            "leads": chunk,
            "activities": activities[activities["lead_id"].isin(chunk["lead_id"])],
        }
        parts.append(scorer.score_tables(chunk_tables, as_of, reasons=reasons))
    if not parts:
        return scorer.score_tables({**tables, "leads": leads}, as_of, reasons=reasons)
    return pd.concat(parts, ignore_index=True)


def rank(scores: pd.DataFrame) -> pd.DataFrame:
    """Best first: every qualified lead above every disqualified one, then by score; ties by lead_id."""
    ordered = scores.sort_values(["rank_score", "lead_id"], ascending=[False, True], kind="stable")
    return ordered.reset_index(drop=True)


def run_score(
    scorer: LeadScorer,
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    output: Path | None,
    chunk_size: int = 50_000,
    reasons: bool = True,
    engine: str = "pandas",
    model_uri: str | None = None,
    date_formats: DateFormats | None = None,
) -> ScoreResult:
    """Validate as of `as_of`, score the open leads, write scores and quarantine atomically.

    engine "pandas" scores in this process, chunk by chunk; "spark" sends the same leads through the same
    artifact as a Spark UDF (needs `model_uri` and the `spark` extra).
    """
    validation = run_validate(tables, as_of=as_of, date_formats=date_formats)
    valid = validation.valid
    to_score, closed = open_leads(valid["leads"], valid.get("deals"))
    if engine == "spark":
        from pipelines.spark import score_tables_with_spark

        if model_uri is None:
            raise ValueError("the spark engine needs the model URI")
        scored = score_tables_with_spark(model_uri, valid, to_score, as_of, reasons)
    elif engine == "pandas":
        scored = score_in_chunks(scorer, valid, to_score, as_of, chunk_size, reasons)
    else:
        raise ValueError(f"unknown engine {engine!r}; use pandas or spark")
    scores = rank(scored)
    quarantine = validation.quarantine
    read = validation.read["leads"]
    lead_quarantined = quarantine.loc[quarantine["table"] == "leads", "row"].nunique()
    later = validation.not_created.get("leads", 0)
    accounting = pd.DataFrame(
        {
            "status": ["read", "scored", "quarantined", "not scored: deal already closed", NOT_CREATED],
            "leads": [read, len(scores), lead_quarantined, len(closed), later],
        }
    )
    if read != len(scores) + lead_quarantined + len(closed) + later:
        raise AssertionError(f"lead rows not accounted for:\n{accounting.to_string(index=False)}")
    if output is not None:
        write_scores_file(scores, quarantine, output)
    return ScoreResult(scores=scores, quarantine=quarantine, accounting=accounting)


def run_score_flat(
    scorer, rows: pd.DataFrame, as_of: pd.Timestamp, output: Path | None, reasons: bool = True
) -> ScoreResult:
    """Score every row of a flat export with a flat-export model; write the scores atomically."""
    scores = rank(scorer.score_rows(rows, as_of, reasons).reset_index(drop=True))
    accounting = pd.DataFrame(
        {"status": ["read", "scored", "quarantined"], "leads": [len(rows), len(scores), 0]}
    )
    quarantine = pd.DataFrame(columns=["table", "row", "key", "column", "check", "value", "reason"])
    if output is not None:
        write_scores_file(scores, quarantine, output)
    return ScoreResult(scores=scores, quarantine=quarantine, accounting=accounting)


def write_scores_file(scores: pd.DataFrame, quarantine: pd.DataFrame, output: Path) -> list[Path]:
    """The scores (Parquet or CSV by suffix) and the quarantine CSV beside them, each written atomically."""
    return [write_frame(scores, output), write_frame(quarantine, quarantine_path_for(output))]


def quarantine_path_for(output: Path) -> Path:
    """scores.parquet -> scores.quarantine.csv (CSV, so that anyone can open it)."""
    return output.with_name(f"{output.stem}.quarantine.csv")


def top_leads(scores: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The best `n` leads with their grade and reasons, for the console."""
    top = scores.head(n)
    return pd.DataFrame(
        {
            "lead": top["lead_id"],
            "score": top["score"].round(3),
            "grade": top["grade"],
            "tier": top["fit_tier"],
            "intent": top["intent_band"],
            "reasons": top["reasons"],
        }
    )


def grade_counts(scores: pd.DataFrame) -> pd.DataFrame:
    counts = scores["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
    return pd.DataFrame(
        {
            "grade": counts.index,
            "leads": counts.to_numpy(),
            "mean_score": [
                float(scores.loc[scores["grade"] == g, "score"].mean()) if c else np.nan
                for g, c in counts.items()
            ],
        }
    )
