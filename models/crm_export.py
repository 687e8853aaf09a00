"""Scores shaped for a CRM import: the CRM's id column and field names, reasons cut to a text field's size."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class CrmFields(BaseModel):
    """The column names one CRM's import expects for the lead id and the score fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    score: str
    grade: str
    reasons: str
    trend: str | None = None  # the score trend ("rising C→A") when set; a custom field the CRM must have


class CrmExportConfig(BaseModel):
    """`crm_export:` in the run configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    formats: dict[str, CrmFields] = Field(
        default_factory=lambda: {
            "hubspot": CrmFields(
                id="Record ID", score="leadscore_score", grade="leadscore_grade", reasons="leadscore_reasons"
            ),
            "salesforce": CrmFields(
                id="Id", score="Lead_Score__c", grade="Lead_Grade__c", reasons="Lead_Score_Reasons__c"
            ),
        }
    )
    pass_through: tuple[str, ...] = ()  # columns of the leads table copied as they are (never logged)
    max_reason_chars: int = Field(255, ge=20)  # a CRM text field's size
    # The score as a whole number out of this (CRM number fields). At most 1,000,000, finer than a calibrated
    # chance is known: 10**21 overflowed the whole numbers (a traceback from pandas).
    score_scale: int = Field(100, ge=1, le=1_000_000)


def short_reasons(reasons: pd.Series, max_chars: int) -> pd.Series:
    """The reasons cut at the last whole reason that fits in `max_chars` (a reason is never cut in half)."""

    def cut(text: object) -> str:
        text = "" if pd.isna(text) else str(text)
        if len(text) <= max_chars:
            return text
        kept = ""
        for reason in text.split("; "):
            longer = f"{kept}; {reason}" if kept else reason
            if len(longer) > max_chars:
                break
            kept = longer
        return kept or text[: max_chars - 1] + "…"

    return reasons.map(cut)


def crm_rows(
    scores: pd.DataFrame, fields: CrmFields, cfg: CrmExportConfig, leads: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per scored lead with the CRM's column names; pass-through columns joined from `leads`."""
    out = pd.DataFrame(
        {
            fields.id: scores["lead_id"].astype(str).to_numpy(),
            fields.score: (scores["score"].astype(float) * cfg.score_scale)
            .round()
            .astype("Int64")
            .to_numpy(),
            fields.grade: scores["grade"].astype(str).to_numpy(),
            fields.reasons: short_reasons(scores["reasons"], cfg.max_reason_chars).to_numpy(),
        }
    )
    if fields.trend and "trend" in scores.columns:
        jump = scores["grade_jump"].astype("str").fillna("")
        out[fields.trend] = (scores["trend"].astype("str").fillna("") + " " + jump).str.strip().to_numpy()
    if cfg.pass_through:
        if leads is None:
            raise ValueError("crm_export.pass_through needs the leads table")
        by_id = (
            leads.assign(lead_id=leads["lead_id"].astype(str)).drop_duplicates("lead_id").set_index("lead_id")
        )
        for column in cfg.pass_through:
            out[column] = out[fields.id].map(by_id[column]).to_numpy()
    return out
