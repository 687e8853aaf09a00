"""Readers and writers: CRM tables from a folder, frames to Parquet or CSV, always written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from features.dates import iso_or_unchanged
from features.vocab import TABLES

FORMATS = ("parquet", "csv")
DATETIME_COLUMNS = ("created_at", "closed_at", "occurred_at", "snapshot_at", "as_of")


class InputError(ValueError):
    """The input folder or file cannot be read as CRM tables."""


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp"):  # left by a run that was killed mid-write
        stale.unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def format_of(path: Path) -> str:
    """'parquet' or 'csv' from a file's suffix."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("parquet", "pq"):
        return "parquet"
    if suffix == "csv":
        return "csv"
    raise InputError(f"{path}: unknown format {path.suffix!r}; use .parquet or .csv")


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Write one frame atomically, as Parquet or CSV by the file's suffix."""
    fmt = format_of(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
    return path


def read_frame(path: Path) -> pd.DataFrame:
    """Read one Parquet or CSV file; CSV timestamp columns are parsed when they are all ISO 8601."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if format_of(path) == "parquet":
        return pd.read_parquet(path)
    frame = pd.read_csv(path)
    for column in DATETIME_COLUMNS:
        if column in frame.columns:  # all ISO 8601, else left as text for the contract (features.dates)
            frame[column] = iso_or_unchanged(frame[column])
    return frame


def table_path(folder: Path, name: str) -> Path | None:
    """The file of table `name` in `folder` (Parquet preferred), or None."""
    for suffix in (".parquet", ".csv"):
        candidate = folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def read_tables(folder: Path, required: tuple[str, ...] = TABLES) -> dict[str, pd.DataFrame]:
    """Read the CRM tables of a folder; tables not in `required` are read when present."""
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder of CRM tables (expected {', '.join(TABLES)})")
    tables = {}
    for name in TABLES:
        path = table_path(folder, name)
        if path is None:
            if name in required:
                raise InputError(
                    f"{folder}: table {name!r} is missing (expected {name}.parquet or {name}.csv)"
                )
            continue
        tables[name] = read_frame(path)
    return tables


def write_tables(tables: dict[str, pd.DataFrame], folder: Path, fmt: str = "parquet") -> list[Path]:
    """Write each table as `<folder>/<name>.<fmt>`, each file atomically."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {FORMATS}")
    return [write_frame(frame, folder / f"{name}.{fmt}") for name, frame in tables.items()]
