"""Batch scoring of very many leads with bounded memory.

One pass over the input files splits leads, activities and deals into parts by a hash of lead_id (each part
holds every row of its leads, so the contract's cross-table checks still work inside a part); then each part
is validated, scored and written; a last pass adds the global rank. Memory holds the accounts and one part,
never the whole input. The output and the quarantine are written atomically.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contracts import QUARANTINE_COLUMNS, validate_table, validate_tables
from features.dates import DateFormats
from features.fit import normalised_emails
from models.scorer import LeadScorer
from pipelines.console import progress
from pipelines.io import InputError, atomic_path, format_of, read_frame, table_path, write_frame
from pipelines.score import NOT_CREATED, ScoreResult, open_leads, quarantine_path_for

ROW = "_input_row"  # each row's position in its input file, kept through the partitioning for the quarantine
BATCH_ROWS = 200_000


@dataclass
class Parts:
    folder: Path
    count: int
    read: dict[str, int]

    def path(self, table: str, part: int) -> Path:
        return self.folder / f"{table}-{part:04d}.parquet"


def _batches(path: Path) -> Iterator[pd.DataFrame]:
    """A table in batches of rows (Parquet by row groups and batches, CSV by chunks)."""
    if format_of(path) == "parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
            yield batch.to_pandas()
    else:
        yield from pd.read_csv(path, chunksize=BATCH_ROWS)


def _row_count(path: Path) -> int:
    """Rows of a table file: Parquet from its metadata, CSV by reading one column in batches."""
    if format_of(path) == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    return sum(len(chunk) for chunk in pd.read_csv(path, usecols=["lead_id"], chunksize=BATCH_ROWS))


def _hash_part(keys: pd.Series, count: int) -> np.ndarray:
    return (pd.util.hash_array(keys.astype("str").to_numpy(dtype=object)) % count).astype(int)


def _lead_parts(leads: pd.DataFrame, count: int) -> np.ndarray:
    """Leads go to parts by their mailbox, so that duplicates (same email, other lead_id) meet in one part."""
    mailbox = normalised_emails(leads["email"]) if "email" in leads.columns else leads["lead_id"]
    return _hash_part(mailbox.fillna(leads["lead_id"].astype("str")), count)


def partition(folder: Path, work: Path, count: int) -> Parts:
    """Split leads (by mailbox), then activities and deals (by their lead's part) into `count` parts."""
    read: dict[str, int] = {}
    part_of_lead: pd.Series | None = None
    for table in ("leads", "activities", "deals"):
        path = table_path(folder, table)
        if path is None:
            if table == "deals":
                continue
            raise InputError(
                f"{folder}: table {table!r} is missing (expected {table}.parquet or {table}.csv)"
            )
        writers: dict[int, pq.ParquetWriter] = {}
        lead_parts = []
        offset = 0
        try:
            for batch in _batches(path):
                if "lead_id" not in batch.columns:
                    raise InputError(f"{path}: column 'lead_id' is missing")
                batch[ROW] = np.arange(offset, offset + len(batch))
                offset += len(batch)
                batch = batch.astype({c: "str" for c in batch.columns if batch[c].dtype == object})
                if table == "leads":
                    parts = _lead_parts(batch, count)
                    lead_parts.append(pd.Series(parts, index=batch["lead_id"].astype("str").to_numpy()))
                else:
                    assert part_of_lead is not None
                    known = batch["lead_id"].astype("str").map(part_of_lead)
                    parts = known.fillna(pd.Series(_hash_part(batch["lead_id"], count), index=batch.index))
                    parts = parts.to_numpy(dtype=int)
                for part in np.unique(parts):
                    chunk = pa.Table.from_pandas(batch[parts == part], preserve_index=False)
                    if part not in writers:
                        writers[part] = pq.ParquetWriter(work / f"{table}-{part:04d}.parquet", chunk.schema)
                    writers[part].write_table(chunk.cast(writers[part].schema))
        finally:
            for writer in writers.values():
                writer.close()
        if table == "leads":
            combined = pd.concat(lead_parts) if lead_parts else pd.Series(dtype=int)
            part_of_lead = combined[~combined.index.duplicated(keep="first")]
        read[table] = offset
    return Parts(folder=work, count=count, read=read)


def _read_part(parts: Parts, table: str, part: int) -> pd.DataFrame | None:
    path = parts.path(table, part)
    return pd.read_parquet(path) if path.exists() else None


def _with_input_rows(quarantine: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Quarantine rows of a part, renumbered to the row numbers of the input files."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    for table, frame in frames.items():
        mask = out["table"] == table
        if mask.any() and ROW in frame.columns:
            out.loc[mask, "row"] = frame[ROW].to_numpy()[out.loc[mask, "row"].astype(int).to_numpy()]
    return out


def run_score_streaming(
    scorer: LeadScorer,
    folder: Path,
    as_of: pd.Timestamp,
    output: Path,
    chunk_size: int = 50_000,
    reasons: bool = True,
    date_formats: DateFormats | None = None,
) -> ScoreResult:
    """Score the open leads of the tables in `folder` part by part; write scores and quarantine atomically."""
    accounts_path = table_path(folder, "accounts")
    if accounts_path is None:
        raise InputError(f"{folder}: table 'accounts' is missing (expected accounts.parquet or accounts.csv)")
    leads_path = table_path(folder, "leads")
    if leads_path is None:
        raise InputError(f"{folder}: table 'leads' is missing (expected leads.parquet or leads.csv)")
    accounts_check = validate_table(
        "accounts", read_frame(accounts_path), as_of=as_of, date_formats=date_formats
    )
    accounts = accounts_check.valid["accounts"]
    quarantine_parts = [accounts_check.quarantine]
    with tempfile.TemporaryDirectory(prefix="leadscore-parts-") as tmp:
        work = Path(tmp)
        count = max(1, -(-_row_count(leads_path) // chunk_size))
        parts = partition(folder, work, count)
        counts = {"scored": 0, "quarantined": 0, "closed": 0, "later": 0}
        ranks = []
        for part in progress(range(count), "scoring parts", total=count):
            tables = {"accounts": accounts}
            for table in ("leads", "activities", "deals"):
                frame = _read_part(parts, table, part)
                if frame is not None:
                    tables[table] = frame
            if "leads" not in tables:
                continue
            tables.setdefault(
                "activities", pd.DataFrame(columns=["lead_id", "occurred_at", "activity_type", ROW])
            )
            rows = {t: f for t, f in tables.items() if t != "accounts"}
            check = validate_tables(tables, as_of=as_of, date_formats=date_formats)
            part_quarantine = check.quarantine[check.quarantine["table"] != "accounts"]
            quarantine_parts.append(_with_input_rows(part_quarantine, rows))
            valid = check.valid
            to_score, closed = open_leads(valid["leads"], valid.get("deals"))
            scores = (
                scorer.score_tables({**valid, "leads": to_score}, as_of, reasons=reasons)
                if len(to_score)
                else None
            )
            counts["quarantined"] += part_quarantine.loc[part_quarantine["table"] == "leads", "row"].nunique()
            counts["closed"] += len(closed)
            counts["later"] += check.not_created.get("leads", 0)
            if scores is not None:
                counts["scored"] += len(scores)
                scores.to_parquet(work / f"scores-{part:04d}.parquet", index=False)
                ranks.append(scores[["lead_id", "rank_score", "score", "grade"]].assign(part=part))
        quarantine = (
            pd.concat([q for q in quarantine_parts if len(q)], ignore_index=True)
            if any(len(q) for q in quarantine_parts)
            else pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
        )
        _write_ranked(work, ranks, output)
    write_frame(quarantine, quarantine_path_for(output))
    read = parts.read.get("leads", 0)
    accounting = pd.DataFrame(
        {
            "status": ["read", "scored", "quarantined", "not scored: deal already closed", NOT_CREATED],
            "leads": [read, counts["scored"], counts["quarantined"], counts["closed"], counts["later"]],
        }
    )
    if read != counts["scored"] + counts["quarantined"] + counts["closed"] + counts["later"]:
        raise AssertionError(f"lead rows not accounted for:\n{accounting.to_string(index=False)}")
    top = (
        pd.read_parquet(output).head(10) if format_of(output) == "parquet" else pd.read_csv(output, nrows=10)
    )
    summary = pd.concat(ranks, ignore_index=True) if ranks else None
    return ScoreResult(scores=top, quarantine=quarantine, accounting=accounting, grades=summary)


def _write_ranked(work: Path, ranks: list[pd.DataFrame], output: Path) -> None:
    """Write all parts' scores best first (qualified above disqualified, then score, then lead_id)."""
    if not ranks:
        write_frame(pd.DataFrame(), output)
        return
    order = pd.concat(ranks, ignore_index=True).sort_values(
        ["rank_score", "lead_id"], ascending=[False, True], kind="stable"
    )
    order["position"] = np.arange(len(order))
    # Write in slices of the global order; each slice reads only the parts it needs.
    slice_rows = 200_000
    with atomic_path(output) as tmp:
        writer = None
        csv_header = True
        for start in range(0, len(order), slice_rows):
            piece = order.iloc[start : start + slice_rows]
            frames = []
            for part, wanted in piece.groupby("part"):
                scores = pd.read_parquet(work / f"scores-{part:04d}.parquet")
                frames.append(scores.merge(wanted[["lead_id", "position"]], on="lead_id"))
            block = pd.concat(frames).sort_values("position").drop(columns="position")
            if format_of(output) == "parquet":
                table = pa.Table.from_pandas(block, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
            else:
                block.to_csv(tmp, mode="w" if csv_header else "a", header=csv_header, index=False)
                csv_header = False
        if writer is not None:
            writer.close()
