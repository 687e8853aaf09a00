"""Batch scoring of very many leads with bounded memory.

A first pass over the leads' ids and emails groups the lead rows that must be judged together: rows with
the same lead_id (the contract keeps the first and quarantines the others) and leads with the same mailbox
(the duplicate rule). Each group goes whole to one part, chosen by a hash of its first lead_id; activities
and deals follow their lead. So every rule across rows (duplicates, cascades, a closed deal keeping its lead
from being scored) sees in a part what it sees in the whole input, and the outputs do not depend on the part
size. The accounts are validated once; a lead of a quarantined account is reported as in the whole input.
Then each part is validated and scored, and a last pass writes the scores best first. Memory holds the
accounts, the leads' ids and mailboxes, and one part. The parts live in an owner-only folder beside the
output; the scores, the quarantine and the manifest are published together (pipelines.score.publish_run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from features.contracts import CHECK_REASONS, QUARANTINE_COLUMNS, validate_table, validate_tables
from features.dates import DateFormats
from features.frames import Table
from features.keys import id_keys, mailboxes, without_leading_zeros
from features.vocab import LEAD_COLUMNS, TABLES
from models.coverage import feature_coverage_warnings, feed_tables
from models.score_table import CREATED_LATER, DEAL_CLOSED, LeadCounts, rank, validated, with_score_dtypes
from models.scorer import Scorer
from pipelines.console import progress
from pipelines.io import (
    InputError,
    at_input_rows,
    format_of,
    iter_frames,
    missing_table,
    private_workdir,
    read_frame,
    remove_stale_staged,
    staged_path,
    table_path,
    to_csv,
    writing,
)
from pipelines.score import (
    COVERAGE_SAMPLE,
    ScoreResult,
    check_scoreable,
    coverage_features,
    files_fingerprint,
    lead_quarantine_rows,
    open_leads,
    publish_run,
    run_identity,
    run_manifest,
    scores_for_csv,
    scores_from_csv,
)

ROW = "_input_row"  # each row's position in its input file, kept through the partitioning for the quarantine
BATCH_ROWS = 200_000


@dataclass
class Parts:
    folder: Path
    count: int
    read: dict[str, int]

    def path(self, table: str, part: int) -> Path:
        return self.folder / f"{table}-{part:04d}.parquet"


def _batches(path: Path, table: str, say: bool = True) -> Iterator[pd.DataFrame]:
    """A table in batches of rows, each with the column lead_id (else an InputError naming the file)."""
    for batch in iter_frames(path, BATCH_ROWS, table, say):
        if "lead_id" not in batch.columns:
            raise InputError(f"{path}: column 'lead_id' is missing; the {table} table needs it")
        yield batch


def _hash_part(keys: np.ndarray, count: int) -> np.ndarray:
    return (pd.util.hash_array(np.asarray(keys, dtype=object)) % count).astype(int)


def lead_groups(ids: np.ndarray, mailboxes: np.ndarray) -> np.ndarray:
    """For each lead row, the first lead_id (input order) of its group: rows linked by lead_id or by mailbox."""
    if len(ids) == 0:
        return np.array([], dtype=object)
    id_codes, id_values = pd.factorize(ids)
    box_codes, box_values = pd.factorize(pd.Series(mailboxes, dtype=object))
    has_box = box_codes >= 0
    nodes = len(id_values) + len(box_values)
    edges = coo_matrix(
        (np.ones(int(has_box.sum())), (id_codes[has_box], len(id_values) + box_codes[has_box])),
        shape=(nodes, nodes),
    )
    _, labels = connected_components(edges, directed=False)
    group = labels[id_codes]
    first_row = pd.Series(np.arange(len(ids))).groupby(group).transform("first").to_numpy()
    return np.asarray(ids, dtype=object)[first_row]


def lead_parts(path: Path, count_for) -> tuple[np.ndarray, int]:
    """The part of every lead row (its group's), and the number of parts (`count_for(rows)`)."""
    ids, boxes = [], []
    offset = 0
    for batch in _batches(path, "leads", say=False):  # partition reads the file again, and says
        ids.append(id_keys(batch["lead_id"], "leads", offset))
        boxes.append(mailboxes(batch))
        offset += len(batch)
    all_ids = np.concatenate(ids) if ids else np.array([], dtype=object)
    all_boxes = np.concatenate(boxes) if boxes else np.array([], dtype=object)
    count = count_for(len(all_ids))
    return _hash_part(lead_groups(all_ids, all_boxes), count), count


def partition(folder: Path, work: Path, count: int, leads_part: np.ndarray) -> Parts:
    """Write leads (to `leads_part`), then activities and deals (to their lead's part) as `count` parts."""
    read: dict[str, int] = {}
    part_of_lead = pd.Series(dtype=int)
    others = OtherLength.of(part_of_lead)
    lead_parts_seen = []
    for table in ("leads", "activities", "deals"):
        path = table_path(folder, table)
        if path is None:
            if table == "deals":
                continue
            raise missing_table(folder, table)
        writers: dict[int, pq.ParquetWriter] = {}
        offset = 0
        try:
            for batch in _batches(path, table):
                keys = id_keys(batch["lead_id"], table, offset)
                if table == "leads":
                    parts = leads_part[offset : offset + len(batch)]
                    lead_parts_seen.append(pd.Series(parts, index=keys))
                else:
                    parts = child_parts(keys, part_of_lead, others, count)
                batch[ROW] = batch.index.to_numpy()  # its row in the file (iter_frames: blank rows skipped)
                offset += len(batch)
                batch = batch.astype({c: "str" for c in batch.columns if batch[c].dtype == object})
                for part in np.unique(parts):
                    chunk = pa.Table.from_pandas(batch[parts == part], preserve_index=False)
                    if part not in writers:
                        writers[part] = pq.ParquetWriter(work / f"{table}-{part:04d}.parquet", chunk.schema)
                    writers[part].write_table(chunk.cast(writers[part].schema))
        finally:
            for writer in writers.values():
                writer.close()
        if table == "leads" and lead_parts_seen:
            combined = pd.concat(lead_parts_seen)  # rows of one lead_id share a group, hence a part
            part_of_lead = combined[~combined.index.duplicated(keep="first")]
            others = OtherLength.of(part_of_lead)
        read[table] = offset
    return Parts(folder=work, count=count, read=read)


def child_parts(keys: np.ndarray, part_of_lead: pd.Series, others: OtherLength, count: int) -> np.ndarray:
    """The part of each activity or deal row: its lead's; a lead_id that is its lead's Salesforce id in the other
    length (15 characters where the lead's has 18, or 18 where 15) goes to that lead's part, so its part's check
    names it 'lead id of other length' as the whole input's does (in a part of its own it read 'references
    unknown lead'); so does a lead_id of digits with other leading zeros than its lead's ('7' for '007': 'lead
    id with other leading zeros'); any other unknown id to a part of its own (hashed)."""
    ids = pd.Series(keys, dtype=object)
    known = ids.map(part_of_lead)
    missing = known.isna()
    if missing.any() and (len(others.by_prefix) or len(others.short)):
        text = ids[missing].astype("str")
        prefix = text.str.slice(0, 15)
        other = prefix.map(others.by_prefix).where(text.str.len() == 15)
        other = other.fillna(prefix.map(others.short).where(text.str.len() == 18))
        known = known.fillna(other)
    missing = known.isna()
    if missing.any() and len(others.without_zeros):
        digits = without_leading_zeros(ids[missing].astype("str"))
        known = known.fillna(digits.map(others.without_zeros))
    return known.fillna(pd.Series(_hash_part(keys, count))).to_numpy(dtype=int)


@dataclass(frozen=True)
class OtherLength:
    """The parts of the leads by the Salesforce id of the other length: an 18-character id's first 15
    characters (`by_prefix`), a 15-character id as itself (`short`); and by an id of digits without its
    leading zeros (`without_zeros`: the lead '007' under '7')."""

    by_prefix: pd.Series
    short: pd.Series
    without_zeros: pd.Series

    @classmethod
    def of(cls, part_of_lead: pd.Series) -> OtherLength:
        ids = part_of_lead.index.astype("str")
        lengths = ids.str.len().to_numpy()
        by_prefix = (
            part_of_lead[lengths == 18].groupby(ids[lengths == 18].str.slice(0, 15), sort=False).first()
        )
        short = part_of_lead[lengths == 15].set_axis(ids[lengths == 15])
        digits = without_leading_zeros(pd.Series(ids, dtype="str")).to_numpy(dtype=object)
        numbered = pd.notna(digits)
        without_zeros = part_of_lead[numbered].set_axis(digits[numbered])
        without_zeros = without_zeros[~without_zeros.index.duplicated(keep=False)]  # '7' and '007': no one's
        return cls(by_prefix=by_prefix, short=short, without_zeros=without_zeros)


def _read_part(parts: Parts, table: str, part: int) -> pd.DataFrame | None:
    path = parts.path(table, part)
    return pd.read_parquet(path) if path.exists() else None


def quarantine_with_input_rows(quarantine: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Quarantine rows of a part, renumbered to the row numbers of the input files."""
    if quarantine.empty:
        return quarantine
    out = quarantine.copy()
    for table, frame in frames.items():
        mask = out["table"] == table
        if mask.any() and ROW in frame.columns:
            out.loc[mask, "row"] = frame[ROW].to_numpy()[out.loc[mask, "row"].astype(int).to_numpy()]
    return out


def as_in_whole_input(quarantine: pd.DataFrame, bad_accounts: set[str]) -> pd.DataFrame:
    """A part sees only the valid accounts: its references to a quarantined one read as in the whole input."""
    if quarantine.empty or not bad_accounts:
        return quarantine
    mask = quarantine["check"].eq("references unknown account") & quarantine["value"].astype(
        "str"
    ).str.strip().isin(bad_accounts)
    if not mask.any():
        return quarantine
    out = quarantine.copy()
    out.loc[mask, "check"] = "parent account quarantined"
    out.loc[mask, "reason"] = CHECK_REASONS["parent account quarantined"].format(column="account_id")
    return out


def _in_input_order(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantine rows by table (accounts, leads, activities, deals), then input row; a row's checks in order."""
    order = quarantine["table"].map({t: i for i, t in enumerate(TABLES)})
    return (
        quarantine.assign(_table=order)
        .sort_values(["_table", "row"], kind="stable")
        .drop(columns="_table")
        .reset_index(drop=True)
    )


def feed_gap_warnings(scorer: Scorer, feeds: list[dict[str, pd.DataFrame]], as_of: pd.Timestamp) -> list[str]:
    """What the input's feeds stopped delivering, judged on every part's feed tables together, as the
    in-memory path judges the whole input (the first part alone held a share of the events: less sure, and
    its expected counts were that share's)."""
    tables = {
        table: pd.concat([feed[table] for feed in feeds if table in feed], ignore_index=True)
        for table in ("leads", "activities", "deals")
        if any(table in feed for feed in feeds)
    }
    return scorer.feed_gap_warnings(tables, as_of)


@dataclass
class CoverageSample:
    """The features the feature coverage check judges (pipelines.score.lead_feature_warnings), of every
    `step`-th lead to score of every part, in the input's order (an example value is the first lead's): every
    lead while the parts have at most COVERAGE_SAMPLE, as the
    in-memory run takes them (its sentences word for word); past that the step doubles and the rows kept are
    thinned to match, an even sample of the whole input. The first part alone was judged before ('in the 45
    leads checked (a sample of those scored)' where the in-memory run said 'in the 874 leads scored')."""

    step: int = 1
    tables: list[Table] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)  # leads to score of each part added

    def add(self, scorer: Scorer, tables: dict[str, pd.DataFrame], to_score: pd.DataFrame, as_of) -> None:
        if not scorer.model.feature_missing:  # a model trained before training's coverage was kept
            return
        # The step doubled before this part's features are built, not after: a first part of 50,000 leads
        # built all of them to keep 1,563 (every 32nd row of every 32nd, as every 32nd of the part).
        self.sizes.append(len(to_score))
        while self.step < sample_step(self.sizes):
            self.step *= 2
            self.tables = [_every_second_row(t) for t in self.tables]
        sample = to_score.iloc[:: self.step]
        features = coverage_features(scorer, tables, sample, as_of)
        self.tables.append(features | {ROW: sample[ROW].to_numpy(dtype=np.int64)})

    def warnings(self, scorer: Scorer, missing_rise: float) -> list[str]:
        if not self.tables:
            return []
        names = [name for name in self.tables[0] if all(name in t for t in self.tables)]
        order = np.argsort(np.concatenate([t[ROW] for t in self.tables]), kind="stable")  # input order
        together = Table(
            {name: np.concatenate([t[name] for t in self.tables])[order] for name in names if name != ROW},
            len(order),
        )
        checked = "leads scored" if self.step == 1 else "leads checked (a sample of those scored)"
        return feature_coverage_warnings(scorer.model, together, checked, missing_rise)


def sample_step(leads: list[int]) -> int:
    """The step CoverageSample takes for parts of `leads` leads to score, in any order (smallest_step, every
    step-th lead of every part). A part alone sampled with its own step keeps every lead the whole input's
    step keeps (Spark's parts: pipelines.spark_job)."""
    return smallest_step(lambda step: sum(-(-n // step) for n in leads))


def smallest_step(kept: Callable[[int], int]) -> int:
    """The smallest power of two `step` whose sample keeps (`kept(step)` leads) at most COVERAGE_SAMPLE; the one
    rule of the streamed parts (sample_step) and of Spark's, which counts what each step keeps on the cluster.
    With more parts than that, each keeping one lead at least, no step does: the first step at which doubling
    keeps no fewer (every part down to its first lead). The doubling went on forever there: streamed scoring
    of 250,000 leads with scoring.chunk_size 100 hung."""
    step = 1
    while (now := kept(step)) > COVERAGE_SAMPLE and kept(2 * step) < now:
        step *= 2
    return step


def _every_second_row(table: Table) -> Table:
    return Table({name: table[name][::2] for name in table}, -(-table.n_rows // 2))


def _empty_leads() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="str") for c in (*LEAD_COLUMNS, ROW)})


def run_score_streaming(
    scorer: Scorer,
    folder: Path,
    as_of: pd.Timestamp,
    output: Path,
    chunk_size: int = 50_000,
    reasons: bool = True,
    date_formats: DateFormats | None = None,
    add_trend: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    missing_rise: float = 0.5,
) -> ScoreResult:
    """Score the open leads of the tables in `folder` part by part; publish scores, quarantine and manifest.

    `add_trend` fills each written slice's trend columns (pipelines/score_job.py). Raises NothingToScore (and
    publishes nothing) when no lead can be scored.
    """
    format_of(output)  # an unknown output suffix is refused before any work
    inputs = {t: p for t in TABLES if (p := table_path(folder, t)) is not None}
    for table in ("accounts", "leads"):
        if table not in inputs:
            raise missing_table(folder, table)
    read_accounts = read_frame(inputs["accounts"], table="accounts")
    accounts_check = validate_table("accounts", read_accounts, as_of=as_of, date_formats=date_formats)
    accounts = accounts_check.valid["accounts"]
    account_rows = at_input_rows(accounts_check.quarantine, {"accounts": read_accounts})  # rows as read
    bad_accounts = set(account_rows["key"].astype("str")) - set(accounts["account_id"].astype("str"))
    quarantine_parts = [account_rows]
    with private_workdir(output) as work:
        leads_part, count = lead_parts(inputs["leads"], lambda rows: max(1, -(-rows // chunk_size)))
        # A failure names the output, not the hidden working folder beside it (same disk, same fix).
        with writing(output):
            parts = partition(folder, work, count, leads_part)
        counts = {"scored": 0, "quarantined": 0, "closed": 0, "later": 0}
        ranks = []
        coverage = CoverageSample()  # the features the coverage check judges, of an even sample of every part
        feeds = []  # what each part's feeds delivered, small (models.coverage.feed_tables): judged whole
        for part in progress(range(count), "scoring parts", total=count):
            tables = {"accounts": accounts}
            for table in ("leads", "activities", "deals"):
                frame = _read_part(parts, table, part)
                if frame is not None:
                    tables[table] = frame
            if len(tables) == 1:
                continue  # an empty part
            tables.setdefault("leads", _empty_leads())
            tables.setdefault(
                "activities", pd.DataFrame(columns=["lead_id", "occurred_at", "activity_type", ROW])
            )
            rows = {t: f for t, f in tables.items() if t != "accounts"}
            check = validate_tables(tables, as_of=as_of, date_formats=date_formats)
            part_quarantine = check.quarantine[check.quarantine["table"] != "accounts"]
            part_quarantine = as_in_whole_input(
                quarantine_with_input_rows(part_quarantine, rows), bad_accounts
            )
            quarantine_parts.append(part_quarantine)
            valid = check.valid
            to_score, closed = open_leads(valid["leads"], valid.get("deals"))
            scores = (
                with_score_dtypes(scorer.score_tables({**valid, "leads": to_score}, as_of, reasons=reasons))
                if len(to_score)
                else None
            )
            feeds.append(feed_tables(valid, as_of))
            if len(to_score):
                coverage.add(scorer, valid, to_score, as_of)
            counts["quarantined"] += lead_quarantine_rows(part_quarantine)
            counts["closed"] += len(closed)
            counts["later"] += check.not_created.get("leads", 0)
            if scores is not None:
                counts["scored"] += len(scores)
                with writing(output):
                    scores.to_parquet(work / f"scores-{part:04d}.parquet", index=False)
                ranks.append(scores[["lead_id", "rank_score", "score", "grade"]].assign(part=part))
        quarantine = (
            _in_input_order(pd.concat([q for q in quarantine_parts if len(q)], ignore_index=True))
            if any(len(q) for q in quarantine_parts)
            else pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
        )
        leads = LeadCounts(
            read=parts.read.get("leads", 0),
            scored=counts["scored"],
            quarantined=counts["quarantined"],
            not_scored={DEAL_CLOSED: counts["closed"], CREATED_LATER: counts["later"]},
        )
        summary = pd.concat(ranks, ignore_index=True) if ranks else None
        result = ScoreResult(
            scores=pd.DataFrame(),
            quarantine=quarantine,
            leads=leads,
            grades=summary,
            rows_read={**parts.read, "accounts": accounts_check.read["accounts"]},
            warnings=[
                *feed_gap_warnings(scorer, feeds, as_of),
                *coverage.warnings(scorer, missing_rise),
            ]
            if counts["scored"]
            else [],
        )
        check_scoreable(result, output, str(inputs["leads"]))
        remove_stale_staged(output)
        staged = staged_path(output)
        try:
            with writing(output):
                _write_ranked(work, ranks, staged, format_of(output), add_trend)
            fingerprint = files_fingerprint(inputs)
            identity = run_identity(scorer)
            manifest = run_manifest(
                result, as_of, scorer.model_name, scorer.model_version, fingerprint, identity
            )
            publish_run(staged, quarantine, output, manifest)
        finally:
            staged.unlink(missing_ok=True)
    result.scores = (
        pd.read_parquet(output).head(10)
        if format_of(output) == "parquet"
        else scores_from_csv(pd.read_csv(output, nrows=10))
    )
    return result


def _write_ranked(
    work: Path,
    ranks: list[pd.DataFrame],
    target: Path,
    fmt: str,
    add_trend: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
) -> None:
    """Write all parts' scores best first (models.score_table.rank), each slice checked against the table."""
    order = rank(pd.concat(ranks, ignore_index=True))
    order["position"] = np.arange(len(order))
    # Write in slices of the global order; each slice reads only the parts it needs.
    slice_rows = 200_000
    writer = None
    csv_header = True
    for start in range(0, len(order), slice_rows):
        piece = order.iloc[start : start + slice_rows]
        frames = []
        for part, wanted in piece.groupby("part"):
            scores = pd.read_parquet(work / f"scores-{part:04d}.parquet")
            frames.append(scores.merge(wanted[["lead_id", "position"]], on="lead_id"))
        block = pd.concat(frames).sort_values("position").drop(columns="position")
        if add_trend is not None:
            block = with_score_dtypes(add_trend(block))
        validated(block)
        if fmt == "parquet":
            table = pa.Table.from_pandas(block, preserve_index=False)
            writer = writer or pq.ParquetWriter(target, table.schema)
            writer.write_table(table.cast(writer.schema))
        else:
            to_csv(scores_for_csv(block), target, mode="w" if csv_header else "a", header=csv_header)
            csv_header = False
    if writer is not None:
        writer.close()
