"""Training features on Spark (`leadscore train --engine spark`): one row per closed deal, at its creation,
built on the executors; only that frame (one row per closed deal, small) reaches the driver for LightGBM.

The tables are read and routed as for scoring (pipelines/spark_job.py: a lead group goes whole to one part,
with its activities, deals and accounts). Each part runs the pandas path's own functions: the contract
(features.contracts, as pipelines.validate.run_validate does on the whole input) and the feature frame of
its closed deals at their creation (models.scorer.feature_frame, the one feature implementation). The
driver gathers the parts' feature frames, puts them in the input order of the deals, keeps the mature ones
(pipelines.sources.mature_closed_deals' horizon, from the newest valid deal of all parts) and hands them
to the normal training path (pipelines.train.run_train) through `SparkCrmSource`. The quarantine and the
row counts are Spark aggregations; the quarantine rows are collected for the run's evidence, as the
pandas path logs them.
"""

from __future__ import annotations

import pickle
from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

from features.build import training_snapshots
from features.contracts import QUARANTINE_COLUMNS, AccountingError, ValidationResult, validate_tables
from features.dates import DateFormats
from features.frames import naive_times
from features.vocab import TABLES
from models.scorer import CRM_TABLES, CrmTablesInput, feature_frame
from pipelines.io import InputError
from pipelines.settings import PipelineConfig
from pipelines.sources import CrmTrainingShape, Source, TrainingData, labelled_training_data, run_time
from pipelines.spark_job import (
    KIND,
    PART,
    QUARANTINE_SCHEMA,
    SEQ,
    TABLE,
    Routed,
    SparkInput,
    SparkScores,
    _quarantine_out,
    _shared,
    checked_part,
    input_fingerprint,
    part_tables,
    read_spark_tables,
    route_parts,
)
from pipelines.stream import ROW

BLOB, CREATED = "_blob", "_created_at"
TRAIN_PART_SCHEMA = f"{KIND} string, {SEQ} long, {QUARANTINE_SCHEMA}, {BLOB} binary"
CHAMPION_SCHEMA = f"{ROW} long, p double"


def closed_deal_features(check: ValidationResult, features, icp) -> dict[str, Any]:
    """What one part sends to the driver: the feature frame of its valid closed deals at their creation
    (with outcome, account_id, the deal's input row and its creation), the newest valid deal's creation
    (for the maturity horizon), and how many valid and not-yet-created rows each table has."""
    valid = check.valid
    deals = valid.get("deals")
    if deals is None:
        deals = pd.DataFrame(
            {c: pd.Series(dtype="str") for c in ("deal_id", "lead_id", "account_id", "outcome")}
            | {c: pd.Series(dtype="datetime64[ns]") for c in ("created_at", "closed_at")}
            | {ROW: pd.Series(dtype="int64")}
        )
    closed = deals[deals["outcome"].isin(["won", "lost"])].reset_index(drop=True)
    frame = feature_frame(valid, training_snapshots(closed), features, icp)
    frame["outcome"] = closed["outcome"].to_numpy()
    frame["account_id"] = closed["account_id"].to_numpy()
    frame["closed_at"] = naive_times(closed["closed_at"])
    frame[ROW] = closed[ROW].to_numpy()
    frame[CREATED] = closed["created_at"].to_numpy()
    latest = deals["created_at"].max() if len(deals) else None
    valid_rows = {t: len(f) for t, f in valid.items()}
    return {"frame": frame, "latest": latest, "valid": valid_rows, "not_created": dict(check.not_created)}


def _train_part(layout, date_formats, features, icp, as_of):
    def run(frame: pd.DataFrame) -> pd.DataFrame:
        tables, bad_accounts = part_tables(frame, layout)
        check, quarantine = checked_part(tables, bad_accounts, as_of, date_formats, True)
        payload = closed_deal_features(check, features, icp)
        rows = _quarantine_out(quarantine).assign(**{KIND: "quarantine", BLOB: None})
        blob = pd.DataFrame({KIND: ["features"], BLOB: [pickle.dumps(payload)]})
        out = pd.concat([rows, blob], ignore_index=True)
        out = out[[f.split()[0] for f in TRAIN_PART_SCHEMA.split(", ")]]
        for name in out.columns:  # text as objects: pandas' arrow strings reach Arrow as chunked arrays
            if name in (SEQ, "row"):
                out[name] = pd.array(out[name], dtype="Int64")
            else:
                out[name] = out[name].astype(object).where(out[name].notna(), None)
        return out

    return run


def _champion_part(layout, date_formats, champion_ref, wanted_ref, as_of):
    """Per part: the champion's probability for the wanted deals (input rows), its features built from the
    part's tables as read, as pipelines.train.evaluate_scorer builds them from the whole input."""

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        champion = champion_ref.value if hasattr(champion_ref, "value") else champion_ref
        wanted = wanted_ref.value if hasattr(wanted_ref, "value") else wanted_ref
        tables, bad_accounts = part_tables(frame, layout)
        check, _ = checked_part(tables, bad_accounts, as_of, date_formats, True)
        deals = check.valid.get("deals")
        if deals is None or not deals[ROW].isin(wanted).any():
            return pd.DataFrame({ROW: pd.Series(dtype="int64"), "p": pd.Series(dtype="float64")})
        deals = deals[deals[ROW].isin(wanted)].reset_index(drop=True)
        rows = training_snapshots(deals)[["deal_id", "lead_id", "snapshot_at"]]
        p = champion.model.predict_proba(champion.feature_frame(tables, rows))
        return pd.DataFrame({ROW: deals[ROW].to_numpy(dtype="int64"), "p": np.asarray(p, dtype="float64")})

    return run


def gather_training_frame(
    blobs: list[bytes], maturity_days: int
) -> tuple[pd.DataFrame, int, dict[str, int], dict[str, int]]:
    """The parts' feature frames as the pandas path builds its frame of mature closed deals (deals in input
    order; those created within `maturity_days` of the newest valid deal left out); how many were too
    recent; and the valid and the not-yet-created rows per table. The frame keeps `_input_row` (the deal's
    row)."""
    payloads = [pickle.loads(b) for b in blobs]
    if not payloads:  # no part at all: the input has no rows
        raise InputError("the CRM tables have no rows to train on; check the --input")
    frames = [p["frame"] for p in payloads if len(p["frame"])]  # an empty frame's dtypes would change them
    frame = pd.concat(frames or [payloads[0]["frame"]], ignore_index=True)
    frame = frame.sort_values(ROW, kind="stable").reset_index(drop=True)
    valid, not_created = _summed(payloads, "valid"), _summed(payloads, "not_created")
    latest = [p["latest"] for p in payloads if p["latest"] is not None and pd.notna(p["latest"])]
    if not latest:
        return frame.drop(columns=[CREATED]).iloc[0:0], 0, valid, not_created
    horizon = max(latest) - pd.Timedelta(days=maturity_days)
    mature = (frame[CREATED] <= horizon).to_numpy()
    kept = frame[mature].drop(columns=[CREATED]).reset_index(drop=True)
    return kept, int((~mature).sum()), valid, not_created


def _summed(payloads: list[dict[str, Any]], key: str) -> dict[str, int]:
    """The parts' row counts per table under `key`, added up."""
    total: dict[str, int] = {}
    for payload in payloads:
        for table, n in payload[key].items():
            total[table] = total.get(table, 0) + n
    return total


class SparkCrmSource(CrmTrainingShape):
    """CRM tables read by Spark (a folder of Parquet, CSV or Delta, or Spark tables by name) for training:
    the features are built on the executors, the rest is the CRM source's (pipelines.sources.CrmSource).

    `tables` is empty: the tables stay in Spark (the run's fingerprint is `fingerprint`, the model card
    says the open leads were not counted, and the champion is scored on the executors)."""

    def __init__(self, spark, where: SparkInput, chunk_size: int = 50_000, location: str = "") -> None:
        self.spark, self.where, self.chunk_size = spark, where, chunk_size
        self.raw_location = location
        self.deal_rows: dict[str, int] = {}  # deal_id -> the deal's input row
        self._routed: Routed | None = None
        self._date_formats: DateFormats | None = None
        self._as_of = run_time()  # the history is validated as of the run's time, as the pandas path does

    @property
    def input(self) -> CrmTablesInput:
        return CRM_TABLES

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    @property
    def location(self) -> str:
        return self.raw_location

    @property
    def stream_folder(self):
        return None

    @cached_property
    def read(self) -> tuple[dict, set[str], dict[str, list[str]]]:
        return read_spark_tables(self.spark, self.where, required=TABLES)

    @cached_property
    def fingerprint(self) -> str:
        return input_fingerprint(self.where, self.read[0])

    def routed(self, cfg: PipelineConfig) -> Routed:
        tables, text, nanos = self.read
        paths = {name: self.where.describe(name) for name in tables}
        return route_parts(tables, self.chunk_size, self._as_of, cfg.input, text, paths, nanos, TABLES)

    def training_data(self, cfg: PipelineConfig, truth: pd.DataFrame | None) -> TrainingData:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        tables = self.read[0]
        # A missing or repeated column: the pandas training path's refusal, from the schemas alone.
        validate_tables({name: pd.DataFrame(columns=frame.columns) for name, frame in tables.items()})
        self._routed = routed = self.routed(cfg)
        self._date_formats = cfg.input
        run = _train_part(routed.layout, cfg.input, cfg.features, cfg.icp, self._as_of)
        parts = routed.wide.groupBy(PART).applyInPandas(run, TRAIN_PART_SCHEMA)
        parts = parts.persist(StorageLevel.MEMORY_AND_DISK)
        blobs = [r[BLOB] for r in parts.filter(F.col(KIND) == "features").select(BLOB).collect()]
        frame, too_recent, valid, not_created = gather_training_frame(blobs, cfg.model.maturity_days)
        job = SparkScores(parts, routed.accounts_quarantine, tables, dict(routed.read))
        quarantine = job.quarantine.toPandas()  # the rows that broke the contract, logged with the run
        quarantine = quarantine.astype({c: "str" for c in QUARANTINE_COLUMNS if c != "row"})
        quarantine["row"] = quarantine["row"].astype("int64")
        counts = training_counts(job.rows_read(), quarantine, valid, not_created)
        parts.unpersist()
        closed = frame[["outcome", "account_id", "closed_at"]]
        self.deal_rows = dict(
            zip(frame["deal_id"].astype("str"), frame.pop(ROW).astype("int64"), strict=True)
        )
        features = frame.drop(columns=["outcome", "account_id", "closed_at"])
        source = cast(Source, self)  # a training source: what scoring needs is pipelines/spark_job.py's
        return labelled_training_data(features, closed, too_recent, quarantine, counts, cfg, truth, source)

    def champion_probabilities(self, data: TrainingData, champion, positions: np.ndarray) -> np.ndarray:
        """The champion's probabilities on these training rows, its features built on the executors from
        the tables as read (as the pandas path builds them); one number per row reaches the driver."""
        from pyspark.sql import functions as F

        routed = self._routed
        if routed is None:
            raise RuntimeError("champion_probabilities needs training_data first")
        ids = data.frame.iloc[positions]["deal_id"].astype("str")
        wanted = [self.deal_rows[i] for i in ids]
        spark = routed.spark
        run = _champion_part(
            routed.layout,
            self._date_formats,
            _shared(spark, champion),
            _shared(spark, set(wanted)),
            self._as_of,
        )
        deals = routed.wide.filter(F.col(TABLE) == "deals").select(PART).distinct()
        parts = routed.wide.join(deals, on=PART)  # only the parts that hold deals
        found = {
            int(r[ROW]): float(r["p"])
            for r in parts.groupBy(PART).applyInPandas(run, CHAMPION_SCHEMA).collect()
        }
        return np.array([found[int(r)] for r in wanted], dtype=float)


def training_counts(
    read: dict[str, int], quarantine: pd.DataFrame, valid: dict[str, int], not_created: dict[str, int]
) -> pd.DataFrame:
    """ValidationResult.counts() of the whole input: rows read (Spark counts), valid (the parts' sums; the
    accounts: read less quarantined, as a valid account may sit in several parts) and quarantined (distinct
    input rows); AccountingError unless every table adds up, as pipelines.validate.run_validate checks."""
    tables = [t for t in TABLES if t in read]
    quarantined = quarantine.drop_duplicates(["table", "row"])["table"].value_counts()
    q = {t: int(quarantined.get(t, 0)) for t in tables}
    counts = pd.DataFrame(
        {
            "table": tables,
            "read": [read[t] for t in tables],
            "valid": [read[t] - q[t] if t == "accounts" else valid.get(t, 0) for t in tables],
            "quarantined": [q[t] for t in tables],
            "not created yet": [not_created.get(t, 0) for t in tables],
        }
    )
    added = counts["valid"] + counts["quarantined"] + counts["not created yet"]
    counts["accounted"] = counts["read"] == added
    bad = counts[~counts["accounted"]]
    if len(bad):
        raise AccountingError(f"rows not accounted for:\n{bad.to_string(index=False)}")
    return counts
