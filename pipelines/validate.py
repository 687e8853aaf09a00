"""Job: check CRM tables against the data contract and write the quarantine."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from features.contracts import MISSING_VALUE, ValidationResult, validate_tables
from features.dates import DateFormats
from features.vocab import TABLE_KEYS
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


# The table whose quarantined row a following check's row was held back by.
FOLLOWED_TABLE = {
    "parent lead quarantined": "leads",
    "parent account quarantined": "accounts",
    "deal quarantined": "deals",
}


def rule_counts(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Per table, column and check (in the order they first appear in the quarantine): its distinct rows,
    and the first one's row, key, value and reason (SparkScores.causes counts the same in Spark)."""
    return (
        quarantine.drop_duplicates(["table", "row", "column", "check"])
        .groupby(["table", "column", "check"], sort=False)
        .agg(
            rows=("row", "size"),
            row=("row", "first"),
            key=("key", "first"),
            value=("value", "first"),
            reason=("reason", "first"),
        )
        .reset_index()
    )


def most_broken_rule(quarantine: pd.DataFrame, table: str) -> str:
    """The rule most of a table's quarantined rows broke, with the first such row (its row, column, value and
    reason): "most broke ... (first at row 0, lead_id 'L-7': lead_id does not match any lead)"."""
    return rule_clause(rule_counts(quarantine), table)


def rule_clause(counted: pd.DataFrame, table: str) -> str:
    """most_broken_rule from rule_counts. Rows held back only because another row was quarantined, and rows
    dated after as_of, count when the table has no others; then the rule that row's table broke is named."""
    rows = counted.loc[counted["table"] == table]
    own = rows.loc[~rows["check"].isin((*FOLLOWING_CHECKS, *NOT_KNOWN_YET))]
    if len(own):
        rows = own
    if rows.empty:
        return ""
    most = rows.loc[rows["rows"].idxmax()]
    followed = FOLLOWED_TABLE.get(str(most["check"]))
    if followed is not None and followed != table and (counted["table"] == followed).any():
        return (
            f"most broke {most['check']} on column '{most['column']}' (held back by a quarantined {followed} "
            f"row): the {followed} rows {rule_clause(counted, followed)}"
        )
    value = most["value"]
    shown = "empty" if pd.isna(value) or value == MISSING_VALUE else repr(str(value))
    reason = str(most["reason"]).rstrip(".")
    return (
        f"most broke {most['check']} on column '{most['column']}' "
        f"(first at row {most['row']}{row_key(table, most)}, {most['column']} {shown}: {reason})"
    )


def row_key(table: str, first: pd.Series) -> str:
    """ ", deal_id 'D-3'": the id of the row a sentence names, where the column is not that id. A row number
    alone names no row of a database table (read without an order) to find; the id does, in any input."""
    column = TABLE_KEYS.get(table)
    key = first.get("key")
    if column is None or column == first["column"] or key is None or pd.isna(key) or key == "":
        return ""
    return f", {column} {str(key)!r}"


def over_limit(
    lead_share: float, table_shares: Mapping[str, float], limit: float, counted: pd.DataFrame
) -> str | None:
    """The sentence saying what went over scoring.max_quarantine_share (exit 5), with the rule most of the
    table's rows broke and an example (`counted`: rule_counts of the run's quarantine), or None."""
    if lead_share > limit:
        # A flat export's leads are its rows: its quarantine calls them by the export's table.
        leads = (
            "leads" if (counted["table"] == "leads").any() or counted.empty else str(counted["table"].iloc[0])
        )
        return (
            f"{lead_share:.1%} of leads quarantined, above the allowed {limit:.1%} "
            f"(scoring.max_quarantine_share){_rows_clause(counted, leads)}"
        )
    worst = max(table_shares, key=lambda t: table_shares[t], default=None)
    if worst is not None and table_shares[worst] > limit:
        return (
            f"{table_shares[worst]:.1%} of the {worst} rows broke a rule of the contract, above the allowed "
            f"{limit:.1%} (scoring.max_quarantine_share), and the run went on without them"
            f"{_rows_clause(counted, worst)}"
        )
    return None


def under_limit_notes(table_shares: Mapping[str, float], counted: pd.DataFrame) -> list[str]:
    """A sentence per table some of whose rows broke a rule of their own though no more than
    scoring.max_quarantine_share (`over_limit` says the others, exit 5), with the rule most broke: a score run
    had said nothing of them on the console, so that activities quarantined for an id written without its
    leading zeros left their leads scored without that intent, exit 0, told only in the quarantine file."""
    notes = []
    for table, share in table_shares.items():
        if share > 0:
            said = f"{share:.1%}" if share >= 0.0005 else "under 0.1%"  # 1 row in 100,000 is not 0.0%
            notes.append(
                f"{said} of the {table} rows broke a rule of the contract and the run went on without them"
                f"{_rows_clause(counted, table)}; see the quarantine file"
            )
    return notes


def _rows_clause(counted: pd.DataFrame, table: str) -> str:
    clause = rule_clause(counted, table)
    return f"; the {table} rows {clause}" if clause else ""


def quarantine_summary(result: ValidationResult) -> pd.DataFrame:
    """Quarantined rows per table and check, most frequent first."""
    q = result.quarantine.drop_duplicates(["table", "row", "check"])
    return (
        q.groupby(["table", "check"]).size().rename("rows").reset_index().sort_values("rows", ascending=False)
    )
