"""Locations: where the jobs read CRM tables from and write scores to, a folder of files or a database URL.

The commands take `--input` / `--output` as text and hand it here; a database URL (duckdb:///...,
postgresql://...) goes to pipelines.db, anything else is a path and goes to pipelines.io as before.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from features.vocab import TABLES
from pipelines.io import InputError, read_tables, write_tables

if TYPE_CHECKING:
    from pipelines.score import ScoreResult


def is_database_url(value: str | Path | None) -> bool:
    from pipelines.db import is_database_url as is_url

    return is_url(value)


def describe_location(location: str | Path) -> str:
    """How to name an input or output in messages and MLflow: database URLs without their password."""
    if is_database_url(location):
        from pipelines.db import display_url

        return display_url(str(location))
    return str(location)


def parse_assignments(items: list[str] | None, option: str) -> dict[str, str]:
    """["accounts=SELECT ...", ...] from a repeatable NAME=VALUE option -> {"accounts": "SELECT ..."}."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not value.strip():
            raise InputError(f"{option} {item!r}: expected TABLE=VALUE, e.g. {option} accounts=crm.accounts")
        if name not in TABLES:
            raise InputError(f"{option} {item!r}: {name!r} is not a CRM table ({', '.join(TABLES)})")
        out[name] = value.strip()
    return out


def read_input(
    location: str | Path,
    table_names: dict[str, str] | None = None,
    queries: dict[str, str] | None = None,
    required: tuple[str, ...] = TABLES,
) -> dict[str, pd.DataFrame]:
    """The CRM tables from a database URL (tables renamed or replaced by queries) or from a folder of files."""
    if is_database_url(location):
        from pipelines.db import read_tables_from_db

        return read_tables_from_db(str(location), table_names, queries, required)
    if table_names or queries:
        raise InputError(
            f"{location}: table names and queries apply only to a database --input "
            "(duckdb:///file.duckdb or postgresql://host/db)"
        )
    return read_tables(Path(location), required)


def write_tables_output(
    location: str | Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet"
) -> list[str]:
    """Write tables to a database (each table replaced, one transaction) or as files in a folder."""
    if is_database_url(location):
        from pipelines.db import display_url, write_tables_to_db

        write_tables_to_db(str(location), tables)
        return [f"{display_url(str(location))} tables {', '.join(tables)}"]
    return [str(p) for p in write_tables(tables, Path(location), fmt)]


def write_score_output(
    location: str | Path,
    table: str | None,
    result: ScoreResult,
    as_of: pd.Timestamp,
    model_version: str,
    model_name: str = "leadscore",
    input_fingerprint: str = "",
) -> list[str]:
    """Write a scoring run's scores and quarantine; what was written, one line each, for the console.

    To a database URL: table `table` and `<table>_quarantine`, one transaction, replacing an earlier write of
    the same as-of and model version. To a file path: the scores file and the quarantine CSV beside it,
    published together with the run's manifest (pipelines.score.publish_run).
    """
    if is_database_url(location):
        from pipelines.db import display_url, write_scores_to_db

        if not table:
            raise InputError("--table is required when --output is a database URL, e.g. --table lead_scores")
        written = write_scores_to_db(
            str(location), table, result.scores, result.quarantine, as_of, model_version
        )
        where = display_url(str(location))
        replaced = f", replacing {written.replaced:,} rows of the same run" if written.replaced else ""
        return [
            f"{where} table {written.table}: {written.rows:,} scores{replaced}",
            f"{where} table {written.quarantine_table}: {written.quarantine_rows:,} quarantined rows",
        ]
    if table:
        raise InputError(f"--table {table!r} applies only to a database --output; {location} is a file")
    from pipelines.score import run_manifest, write_scores_file

    manifest = run_manifest(result, as_of, model_name, model_version, input_fingerprint)
    scores, quarantine, _ = write_scores_file(result.scores, result.quarantine, Path(location), manifest)
    return [str(scores), str(quarantine)]
