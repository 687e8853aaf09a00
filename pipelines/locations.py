"""Locations: where the jobs read and write CRM tables, a folder of files or a database URL.

The commands take `--input` / `--output` as text and hand it here; a database URL (duckdb:///...,
postgresql://...) goes to pipelines.db, anything else is a path and goes to pipelines.io. Scores are
published by the score job (pipelines/score_job.py), to the same two kinds of location.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.vocab import TABLES
from pipelines.io import InputError, OptionError, read_tables, write_tables


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
            raise OptionError(f"{option} {item!r}: expected TABLE=VALUE, e.g. {option} accounts=crm.accounts")
        if name not in TABLES:
            raise OptionError(f"{option} {item!r}: {name!r} is not a CRM table ({', '.join(TABLES)})")
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
