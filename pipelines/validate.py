"""Job: check CRM tables against the data contract and write the quarantine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from features.contracts import ValidationResult, validate_tables
from features.dates import DateFormats
from pipelines.io import at_input_rows, write_quarantine


def run_validate(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp | None = None,
    quarantine_path: Path | None = None,
    date_formats: DateFormats | None = None,
    deals_after_their_lead: bool = False,
) -> ValidationResult:
    """Validate the tables; write the quarantine (if a path is given); check every row is accounted for.
    `deals_after_their_lead`: training's rule (features.contracts.validate_tables)."""
    result = validate_tables(tables, as_of, date_formats, deals_after_their_lead)
    result.assert_accounted()
    result = dataclasses.replace(result, quarantine=at_input_rows(result.quarantine, tables))  # file rows
    if quarantine_path is not None:
        write_quarantine(result.quarantine, quarantine_path)
    return result


def quarantined_lead_share(quarantined: int, read: int, not_created: int = 0) -> float:
    """The share of leads quarantined among those that existed as of the run (what exit code 5 measures)."""
    return quarantined / max(read - not_created, 1)


def validation_share(result: ValidationResult) -> float:
    """quarantined_lead_share of a validation, as `score` measures it on the same input."""
    if "leads" not in result.read:
        return 0.0
    counts = result.counts().set_index("table").loc["leads"]
    return quarantined_lead_share(
        int(counts["quarantined"]), int(counts["read"]), int(counts["not created yet"])
    )


CASCADE_CHECKS = ("parent lead quarantined", "parent account quarantined")
# Checks a row fails only because another row was quarantined: never the root cause a sentence names. A lead
# held back by its quarantined deal counts as the lead's own (it is not lost), but the cause is the deal's.
FOLLOWING_CHECKS = (*CASCADE_CHECKS, "deal quarantined")
# Rows dated after as_of are left out as not known yet (a backfill has many), not lost: they do not count
# toward a table's share of broken rows.
NOT_KNOWN_YET = ("not after as_of",)


def own_quarantine_rows(quarantine: pd.DataFrame) -> pd.Series:
    """Per table, how many rows broke a rule of their own (each row once). Rows that only followed a
    quarantined lead or account are left out (the lead counts them), and so are rows dated after as_of
    (NOT_KNOWN_YET)."""
    own = quarantine[~quarantine["check"].isin((*CASCADE_CHECKS, *NOT_KNOWN_YET))]
    return own.drop_duplicates(["table", "row"]).groupby("table", sort=False).size()


def own_quarantine_shares(quarantine: pd.DataFrame, read: Mapping[str, int]) -> dict[str, float]:
    """Per table, the share of rows read that broke a rule of their own (own_quarantine_rows), so a feed whose
    activities are all unusable (every activity type unknown, say) shows up here even when every lead is
    fine."""
    rows = own_quarantine_rows(quarantine)
    return {table: int(rows.get(table, 0)) / n for table, n in read.items() if n}


def over_limit(lead_share: float, table_shares: Mapping[str, float], limit: float) -> str | None:
    """The sentence saying what went over scoring.max_quarantine_share (exit 5), or None."""
    if lead_share > limit:
        return f"{lead_share:.1%} of leads quarantined, above the allowed {limit:.1%} (scoring.max_quarantine_share)"
    worst = max(table_shares, key=lambda t: table_shares[t], default=None)
    if worst is not None and table_shares[worst] > limit:
        return (
            f"{table_shares[worst]:.1%} of the {worst} rows broke a rule of the contract, above the allowed "
            f"{limit:.1%} (scoring.max_quarantine_share); the run went on without them"
        )
    return None


def quarantine_summary(result: ValidationResult) -> pd.DataFrame:
    """Quarantined rows per table and check, most frequent first."""
    q = result.quarantine.drop_duplicates(["table", "row", "check"])
    return (
        q.groupby(["table", "check"]).size().rename("rows").reset_index().sort_values("rows", ascending=False)
    )
