"""Job: check CRM tables against the data contract and write the quarantine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.contracts import ValidationResult, validate_tables
from pipelines.io import write_frame


def run_validate(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp | None = None, quarantine_path: Path | None = None
) -> ValidationResult:
    """Validate the tables; write the quarantine (if a path is given); check every row is accounted for."""
    result = validate_tables(tables, as_of=as_of)
    result.assert_accounted()
    if quarantine_path is not None:
        write_frame(result.quarantine, quarantine_path)
    return result


def quarantine_summary(result: ValidationResult) -> pd.DataFrame:
    """Quarantined rows per table and check, most frequent first."""
    q = result.quarantine.drop_duplicates(["table", "row", "check"])
    return (
        q.groupby(["table", "check"]).size().rename("rows").reset_index().sort_values("rows", ascending=False)
    )
