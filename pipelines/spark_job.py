"""Scoring on Spark, end to end: Spark DataFrames in, Spark DataFrames out, nothing collected to the driver.

The same plan as the streaming path (pipelines/stream.py), with Spark doing the moving:

1. Every row gets its position in its input (`_input_row`, for the quarantine) and its keys, computed by the
   project's own pandas functions in Pandas UDFs (lead_id as the contract reads it, the lead's mailbox, the
   account_id).
2. Lead rows linked by lead_id or by mailbox form a group (label propagation in Spark: each round takes the
   smallest label per lead_id, then per mailbox, until no label changes; one count per round reaches the
   driver). A group goes whole to one part (a hash of its label): every rule across lead rows (a repeated
   lead_id, the duplicate-lead rule) sees in its part what it sees in the whole input. Activities and deals
   follow their lead; a row whose lead does not exist goes to the part of its own lead_id.
3. The accounts are validated by account_id groups (every row of one account_id in one group, in input
   order); the valid ones go to every part holding one of their leads or deals, and the ids of quarantined
   accounts too (so a lead of a quarantined account is reported as in the whole input).
4. `groupBy(part).applyInPandas` runs, per part, the same pandas validation (features.contracts) and the
   same scorer as the pandas paths and returns score rows, quarantine rows and one row of counts.
5. The accounting (read = scored + quarantined + not scored) and the per-table shares are Spark
   aggregations; the feed and feature coverage warnings are judged on every part together in one task
   (SparkScores.warnings); only these numbers, the row counts of the input partitions, the warnings'
   sentences and the top ten leads reach the driver.

`score_spark_tables` is the Python entry point (Spark DataFrames in and out, for your own cluster or a
Databricks notebook); `run_score_spark` is what `leadscore score --engine spark` runs: it reads a folder of
Parquet, CSV or Delta, or Spark tables by name (SparkInput), with Spark and publishes the scores (a folder
of Parquet part files, best first), the quarantine CSV and the manifest together. Training on Spark
(pipelines/spark_train.py) shares steps 1 to 4 (route_parts, part_tables, checked_part).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.contracts import QUARANTINE_COLUMNS, ContractError, validate_table, validate_tables
from features.dates import DateFormats, iso_or_unchanged, not_iso
from features.frames import Table
from features.keys import ALL_DIGITS, FLOAT_WRITTEN_ID, LEADING_ZEROS, id_keys, mailboxes
from features.text import INVISIBLE
from features.vocab import LEAD_COLUMNS, TABLES, contract_columns
from models.coverage import EVENTS, REPEATS, event_days, feed_tables
from models.score_table import CREATED_LATER, DEAL_CLOSED, LeadCounts
from pipelines.io import (
    DATETIME_COLUMNS,
    FORMULA_START,
    QUARANTINE_IDS,
    InputError,
    OptionError,
    OutputError,
    file_digest,
    folder_lock,
    missing_table,
    normalise_columns,
    path_digest,
    private_workdir,
    refuse_bad_csv_header,
    refuse_nested_columns,
    refuse_reordered_header,
    say_blank_rows,
    say_header_rows,
    table_path,
    table_twice,
    unreadable,
    writing,
)
from pipelines.score import (
    ScoreResult,
    causes_sentence,
    coverage_features,
    failed_quarantine_path_for,
    manifest_path_for,
    quarantine_path_for,
    run_identity,
    run_manifest,
)
from pipelines.sources import open_leads
from pipelines.spark import quiet_spark_log, result_schema
from pipelines.stream import (
    ROW,
    CoverageSample,
    as_in_whole_input,
    feed_gap_warnings,
    quarantine_with_input_rows,
    sample_step,
    smallest_step,
)
from pipelines.validate import CASCADE_CHECKS, NOT_KNOWN_YET, quarantined_lead_share

PART, TABLE, KIND, SEQ = "_part", "_table", "_kind", "_seq"
KEY, BOX, ACCOUNT, LABEL = "_key", "_box", "_account", "_label"
BLANK = "_blank"  # a row with every cell blank (a CSV's ",,," line): skipped, as pipelines.io skips it
ORDER = "_table_order"  # a quarantine row's table's place in TABLES (the quarantine's order)
HEADER = "_header"  # a line repeating the header (CSV files joined end to end): skipped likewise
REORDERED = "_reordered"  # a line repeating the header in another order: refused (pipelines.io)
BAD = "_bad_accounts"  # the ids of quarantined accounts, routed to the parts that reference them
REQUIRED = ("accounts", "leads", "activities")  # deals are optional, as in the pandas paths
# The columns the plan adds to the input rows: an input column of the same name (never a contract column) is
# left out, as the contract ignores it; Spark refused the plan (an ambiguous or a missing column, exit 1).
INTERNAL_COLUMNS = (
    PART,
    TABLE,
    KIND,
    SEQ,
    KEY,
    BOX,
    ACCOUNT,
    LABEL,
    BLANK,
    ORDER,
    HEADER,
    REORDERED,
    "_mid",
    "_l",
    "_c",
)
MAX_ROUNDS = 100  # label propagation rounds; a chain of leads linked by mailboxes longer than this is refused

# The scores as Spark sees them (from the score table's schema), as_of a timestamp without time zone.
SCORE_SCHEMA = result_schema(time_type="timestamp_ntz")
QUARANTINE_SCHEMA = (
    "table string, row long, key string, column string, check string, value string, reason string"
)
# What a part says of its feeds and features, for SparkScores.warnings to judge on every part together: its
# feed tables' rows (FEED_TIMES; TIME in nanoseconds, SLOT the rows Spark combines), the features of its
# sample of the leads to score (FEATURES, pickled; SEQ the lead's place among them) and how many it scores.
TIME, SLOT, FEATURES, TO_SCORE = "_time", "_slot", "_features", "to_score"
FEED_SCHEMA = f"{TIME} long, {SLOT} long, {EVENTS} long, {REPEATS} long"
PART_OUTPUT_SCHEMA = (
    f"{KIND} string, {SEQ} long, {QUARANTINE_SCHEMA}, {SCORE_SCHEMA}, closed long, later long, "
    f"{TO_SCORE} long, {FEED_SCHEMA}, {FEATURES} binary"
)
# The time and value columns of each feed table models.coverage.feed_tables keeps (the leads: no value).
FEED_TIMES = {
    "activities": ("occurred_at", "activity_type"),
    "deals": ("closed_at", "outcome"),
    "leads": ("created_at", None),
}
EXACT_TIMES = ("deals",)  # feed tables kept at their exact times (compact_closes), the others a row per day
SCORE_NAMES = [f.split()[0] for f in SCORE_SCHEMA.split(", ")]
MASTER_URL = re.compile(
    r"^(local(\[(\d+|\*)(,\s*\d+)?\])?|local-cluster\[.+\]|spark://.+|yarn|k8s://.+|mesos://.+)$"
)


class BadMasterError(ValueError):
    """The --spark-master value is not a master URL Spark can use (a bad command line)."""


# --- the session ------------------------------------------------------------------------------------------


def master_problem(master: str) -> str | None:
    """Why `master` is not a Spark master URL, or None."""
    if MASTER_URL.match(master.strip()):
        return None
    return f"{master!r} is not a Spark master URL; use local[*], local[N], spark://HOST:PORT, yarn or k8s://HOST:PORT"


def spark_session(master: str | None = None, app_name: str = "leadscore", conf: dict | None = None):
    """The active Spark session (spark-submit, a notebook), else a new one on `master` (default: what
    spark-submit set, else local[*]) with the settings `conf` (e.g. PipelineConfig.spark.session_conf()) that
    spark-submit or spark-defaults.conf do not set. A master that is not a Spark URL raises BadMasterError
    naming it."""
    from pyspark.sql import SparkSession

    if master is not None and master_problem(master):
        raise BadMasterError(f"--spark-master: {master_problem(master)}")
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's packages
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master.strip())
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started this driver (and set the master)
    local = master.strip().startswith("local") if master is not None else not submitted
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.ui.enabled", "false").config("spark.driver.bindAddress", "127.0.0.1")
    if not submitted:
        quiet_spark_log()  # before explicit_settings starts the JVM
    for name, value in settings_to_give(conf or {}, explicit_settings(shell=not submitted)).items():
        builder = builder.config(name, value)
    try:
        return builder.getOrCreate()
    except Exception as error:  # Spark reports a bad master as a JVM error of some kind
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BadMasterError(start_problem(master, first)) from error


def start_problem(master: str | None, error: str) -> str:
    """Why Spark could not start (its `error`), with the fix: no Java at all (it said only that its gateway
    exited, as "--spark-master None"), else the master."""
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return (
            f"Spark needs Java 17 and there is none ({error}): install it (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME to where it is"
        )
    if master is None:
        return f"Spark could not start a local session ({error}); check the Java install and JAVA_HOME"
    return f"--spark-master {master!r}: Spark could not start on it ({error})"


def settings_to_give(conf: dict[str, str], given: set[str]) -> dict[str, str]:
    """The settings of `conf` that spark-submit or spark-defaults.conf (`given`) do not set."""
    return {name: value for name, value in conf.items() if name not in given}


def explicit_settings(shell: bool = False) -> set[str]:
    """The Spark settings spark-submit or spark-defaults.conf give this driver (they win over leadscore's);
    `shell`: the driver is the PySpark shell leadscore starts, whose SHELL_DEFAULTS are not the user's."""
    from pyspark import SparkConf, SparkContext

    try:
        SparkContext._ensure_initialized()  # the JVM gateway reads them
    except Exception:  # no gateway to ask (e.g. Spark Connect): leadscore's settings are only defaults
        return set()
    return given_settings(SparkConf().getAll(), shell)


# The settings spark-submit gives every PySpark shell ("pyspark-shell", the driver leadscore starts) itself.
SHELL_DEFAULTS = {"spark.ui.showConsoleProgress": "true"}


def given_settings(settings: list[tuple[str, str]], shell: bool) -> set[str]:
    """The names of `settings` (name, value) the user gave: for a `shell`, not the SHELL_DEFAULTS."""
    return {name for name, value in settings if not (shell and SHELL_DEFAULTS.get(name) == value)}


# --- reading ----------------------------------------------------------------------------------------------


def spark_table_path(folder: Path | None, name: str) -> Path | None:
    """The table `name` in `folder`: a Delta table (`<name>.delta`, or `<name>` holding a _delta_log), else
    `<name>.parquet` (a file or a folder of part files) or `<name>.csv` as pipelines.io.table_path finds them,
    or None. As there, the table in two files (leads.parquet beside leads.csv, or beside leads.delta) is
    refused naming both, and a table only under another name or format (Deals.csv, deals.xlsx) naming it: Spark
    read the Parquet file without a word, and took such deals as absent, every lead scored as open (exit 0)."""
    if folder is None:
        return None
    delta = [folder / f"{name}.delta"] if (folder / f"{name}.delta").exists() else []
    delta += [folder / name] if is_delta(folder / name) else []
    if not delta:
        return table_path(folder, name)
    files = [p for p in (folder / f"{name}.parquet", folder / f"{name}.csv") if p.exists() or p.is_symlink()]
    if files or len(delta) > 1:
        raise table_twice(folder, name, (files + delta)[0], (files + delta)[1])
    return delta[0]


def spark_path(path: Path) -> str:
    """`path` as Spark's readers take it: they read a path as a Hadoop glob pattern, so that the folder
    `crm[1]` read the files of `crm1` (another export: other scores, exit 0); its pattern characters are
    escaped."""
    return re.sub(r"([\\\[\]{}*?])", r"\\\1", str(path))


def is_delta(path: Path) -> bool:
    return path.is_dir() and (path / "_delta_log").is_dir()


@dataclass(frozen=True)
class SparkInput:
    """Where Spark reads the CRM tables: a folder of files (Parquet, CSV or Delta), Spark tables by name
    (`table_names`: a catalog table or view, e.g. a Delta table on Databricks), or both (a name wins)."""

    folder: Path | None = None
    table_names: dict[str, str] = field(default_factory=dict)
    # The tables named by `spark:DB` alone, not by --input-table: these may be missing.
    implied: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, location: str, table_names: dict[str, str] | None = None) -> SparkInput:
        """`spark:DB` (the tables DB.accounts, DB.leads, ... of the Spark catalog) or a folder; with
        --input-table names for some tables."""
        names = dict(table_names or {})
        if location.startswith("spark:"):
            database = location.removeprefix("spark:").strip().strip(".")
            prefix = f"{database}." if database else ""
            implied = frozenset(TABLES) - set(names)
            return cls(None, {t: f"{prefix}{t}" for t in TABLES} | names, implied)
        return cls(Path(location), names)

    def path(self, name: str) -> Path | None:
        return None if name in self.table_names else spark_table_path(self.folder, name)

    def describe(self, name: str) -> str:
        if name in self.table_names:
            return f"Spark table {self.table_names[name]!r}"
        return str(self.path(name) or self.folder)


def spark_input_of(source: Any) -> SparkInput | None:
    """Where Spark reads a CRM source named by a location: a folder or `spark:DB`, with its --input-table
    names; None for tables given as frames, a database URL, queries or a flat export."""
    location = str(getattr(source, "raw_location", "") or "")
    if getattr(source, "given", None) is not None:
        return None
    if spark_reads(location, getattr(source, "queries", None)):
        return SparkInput.parse(location, getattr(source, "table_names", None))
    return None


def spark_reads(location: str, queries: object = None) -> bool:
    """Whether `score --engine spark` reads `location` with Spark (a folder or `spark:DB`, without --query);
    any other input is read by the pandas path."""
    return not queries and (location.startswith("spark:") or (bool(location) and Path(location).is_dir()))


def spark_output_problem(output: str | Path) -> str | None:
    """Why Spark cannot write its scores to `output` (a folder of Parquet part files), or None."""
    if Path(output).suffix.lower() == ".parquet":
        return None
    return f"{output}: the spark engine writes Parquet (a folder of part files); name the output *.parquet"


def read_spark_tables(
    spark, source: Path | SparkInput, required: tuple[str, ...] = REQUIRED
) -> tuple[dict, set[str], dict[str, list[str]]]:
    """The CRM tables of a folder (or Spark tables by name) as Spark DataFrames, column names as the
    contract names them; the names of the tables read from CSV (values as text, as the pandas path reads
    them); and per table the timestamp columns stored in nanoseconds (pandas' default), which Spark reads
    as nanoseconds since 1970 (spark.sql.legacy.parquet.nanosAsLong, carried as text) for the parts to turn
    back into the same timestamps."""
    where = source if isinstance(source, SparkInput) else SparkInput(source)
    folder = where.folder
    if folder is not None and not folder.is_dir() and not set(required) <= set(where.table_names):
        raise InputError(f"{folder}: not a folder of CRM tables (expected {', '.join(TABLES)})")
    tables, text, nanos = {}, set(), {}
    for name in TABLES:
        if name in where.table_names:
            needed = name in required or name not in where.implied  # a table the user named must exist
            frame = _read_named(spark, where.table_names[name], name, needed)
            if frame is not None:
                tables[name] = contract_names(frame, name, where.describe(name))
            continue
        path = where.path(name)
        if path is None:
            if name in required:
                raise (
                    missing_table(folder, name)
                    if folder is not None
                    else InputError(f"table {name!r} is missing")
                )
            continue
        try:
            if is_delta(path):
                frame = spark.read.format("delta").load(spark_path(path))
            elif path.suffix == ".parquet":
                nanos[name] = nanosecond_columns(path, name)
                if nanos[name]:
                    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
                frame = spark.read.parquet(spark_path(path))
            else:
                frame = _read_csv(spark, path, name)
                text.add(name)
        except InputError:
            raise
        except Exception as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            fix = "install delta-spark and configure the session for it" if is_delta(path) else None
            # Hadoop's CSV listing refuses the folder's name, not the file
            if "URISyntaxException" in first and ":" in str(path.parent):
                fix = "Spark reads no CSV file in a folder whose name holds ':': rename the folder, or give Parquet"
            raise InputError(
                f"{path}: Spark cannot read it ({first}); {fix or 'export the table again'}"
            ) from error
        for column in nanos.get(name, []):  # exact as text: a gap would make the parts' int64 a float64
            frame = frame.withColumn(column, frame[f"`{column}`"].cast("string"))
        tables[name] = contract_names(frame, name, path)
        renamed = dict(zip(frame.columns, tables[name].columns, strict=True))
        nanos[name] = [renamed[c] for c in nanos.get(name, [])]
    return tables, text, {t: c for t, c in nanos.items() if c}


def _read_named(spark, table: str, name: str, required: bool):
    """Spark table `table` (a catalog table or a view) for the CRM table `name`; None when it does not
    exist and `name` is optional; InputError naming it when it is required."""
    try:
        exists = spark.catalog.tableExists(table)
    except Exception:  # an unparsable name
        exists = False
    if not exists:
        if not required:
            return None
        raise InputError(
            f"Spark table {table!r} (the {name} table) does not exist; name an existing table with "
            f"--input-table {name}=DATABASE.TABLE"
        )
    return spark.table(table)


def nanosecond_columns(path: Path, table: str) -> list[str]:
    """The timestamp columns of a Parquet file (or folder) of CRM table `table` stored in nanoseconds: Spark
    cannot read them as timestamps. Reads the schema only, refusing a corrupt file or a column written twice
    as pipelines.io.read_frame does."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    try:
        if path.is_file():  # a column written twice is said before pyarrow refuses the file
            normalise_columns(pd.DataFrame(columns=pq.read_schema(path).names), table, path)
        schema = ds.dataset(str(path), format="parquet").schema
    except (OSError, pa.ArrowException) as error:
        raise unreadable(path, error) from error
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def _read_csv(spark, path: Path, table: str):
    """A CSV file as text columns, with the encoding and delimiter the pandas path would find, its header
    refused as the pandas path refuses it (a column written twice, rows longer than the header, a title line
    above it)."""
    from pipelines.io import csv_format

    found = csv_format(path) if path.is_file() else None
    if found is not None:
        refuse_bad_csv_header(path, table)
    reader = spark.read.option("header", True).option("multiLine", True).option("escape", '"')
    if found is not None:
        charset = SPARK_CHARSETS.get(found.encoding, found.encoding)
        if charset not in SPARK_OWN_CHARSETS:  # Spark 4 takes other Java charsets only when told to
            spark.conf.set("spark.sql.legacy.javaCharsets", "true")
        reader = reader.option("encoding", charset).option("sep", found.delimiter)
    return reader.csv(spark_path(path))


# Python's name of an encoding pipelines.io.csv_format finds -> Java's. Spark skips a UTF-8 byte-order mark
# itself; it refused "utf-8-sig" and "cp1252" (exit 3) where the pandas path reads the file.
SPARK_CHARSETS = {"utf-8-sig": "utf-8", "cp1252": "windows-1252", "latin-1": "iso-8859-1"}
SPARK_OWN_CHARSETS = ("utf-8", "utf-16", "iso-8859-1")  # among the few Spark 4 accepts by default


def contract_names(frame, table: str, source: object = None):
    """Columns renamed as pipelines.io.normalise_columns renames them (case and surrounding spaces)."""
    names = list(normalise_columns(pd.DataFrame(columns=frame.columns), table, source).columns)
    return frame.toDF(*names) if names != frame.columns else frame


def check_columns(tables: dict, paths: dict | None = None) -> None:
    """The refusals of the streaming path for a missing or repeated column, in its order and words, from the
    schemas alone: the accounts' contract, then lead_id in leads, activities and deals (naming the file),
    then the other tables' contract."""
    paths = paths or {}
    for name, frame in tables.items():
        refuse_nested(frame, name, paths.get(name) or f"table {name!r}")
    if "accounts" in tables:
        validate_table("accounts", pd.DataFrame(columns=tables["accounts"].columns))
    for name in ("leads", "activities", "deals"):
        if name in tables and "lead_id" not in tables[name].columns:
            where = paths.get(name) or f"table {name!r}"
            raise InputError(f"{where}: column 'lead_id' is missing; the {name} table needs it")
    for name in ("leads", "activities", "deals"):
        if name in tables:
            validate_table(name, pd.DataFrame(columns=tables[name].columns))


def refuse_nested(frame, table: str, source: object) -> None:
    """pipelines.io.refuse_nested_columns for a Spark DataFrame: a contract column of lists, maps or records
    (an array, map or struct type) is refused naming it and its first value (one value reaches the driver)."""
    from pyspark.sql import functions as F

    nested = ("array", "map", "struct")
    for f in frame.schema.fields:
        if f.dataType.typeName() not in nested or f.name not in contract_columns(table):
            continue
        first = frame.select(F.col(f"`{f.name}`")).filter(F.col(f"`{f.name}`").isNotNull()).first()
        value: Any = first[0] if first is not None else None
        value = value.asDict(recursive=True) if hasattr(value, "asDict") else value
        refuse_nested_columns(pd.DataFrame({f.name: pd.Series([value], dtype=object)}), table, source)


# --- keys and parts ---------------------------------------------------------------------------------------


def with_input_rows(frame, path: object = None) -> tuple[Any, int]:
    """`frame` with `_input_row`, each row's position in the input (in the order Spark reads it: a file's row
    order for one file), and its number of rows. Only the row count of each input partition reaches the
    driver. Rows with every cell empty or spaces (a CSV's ",,,," lines, the rows of nothing a sheet turned into
    Parquet keeps) and lines that repeat the header (files joined end to end) are left out and said, from every
    table, as pipelines.io's and pipelines.db's readers leave them out; the rows kept keep their position in
    the input. A line repeating the header in another order is refused as pipelines.io refuses it (its first
    such row reaches the driver): Spark read the rows below it into the wrong columns (exit 0)."""
    from pyspark.sql import functions as F

    numbered = frame.withColumn("_mid", F.monotonically_increasing_id())
    numbered = numbered.withColumn(BLANK, blank_row(frame.columns))
    numbered = numbered.withColumn(HEADER, header_row(frame.columns))
    numbered = numbered.withColumn(REORDERED, reordered_header_row(frame.columns))
    pid = F.shiftright(F.col("_mid"), 33)
    blanks, headers = F.sum(F.col(BLANK).cast("long")), F.sum(F.col(HEADER).cast("long"))
    sizes = (
        numbered.groupBy(pid.alias("p"))
        .agg(
            F.count(F.lit(1)).alias("n"),
            blanks.alias("blank"),
            headers.alias("header"),
            F.sum(F.col(REORDERED).cast("long")).alias("reordered"),
        )
        .collect()
    )
    offsets, total, blank, header, reordered = {}, 0, 0, 0, 0
    for row in sorted(sizes, key=lambda r: r["p"]):  # one small row per input partition
        offsets[int(row["p"])] = total
        total += int(row["n"])
        blank += int(row["blank"] or 0)
        header += int(row["header"] or 0)
        reordered += int(row["reordered"] or 0)
    if not offsets:
        return numbered.withColumn(ROW, F.lit(0).cast("long")).drop("_mid", BLANK, HEADER, REORDERED), 0
    start = F.create_map(*[x for p, o in offsets.items() for x in (F.lit(p), F.lit(o))])[pid]
    local = F.col("_mid").bitwiseAND(F.lit((1 << 33) - 1))
    numbered = numbered.withColumn(ROW, (start + local).cast("long")).drop("_mid")
    if reordered:
        refuse_reordered_row(numbered, frame.columns, path)
    for kind, count, say in ((BLANK, blank, say_blank_rows), (HEADER, header, say_header_rows)):
        if count:
            first = numbered.filter(F.col(kind)).select(ROW).orderBy(ROW).limit(6).collect()
            say(path, np.array([r[ROW] for r in first]), count=count)
    numbered = numbered.filter(~(F.col(BLANK) | F.col(HEADER))).drop(BLANK, HEADER, REORDERED)
    return numbered, total - blank - header


def refuse_reordered_row(numbered, columns: list[str], path: object) -> None:
    """pipelines.io.refuse_reordered_header on the first row of `numbered` repeating the header in another
    order (reordered_header_row): that row alone reaches the driver, for the sentence naming it."""
    from pyspark.sql import functions as F

    named = header_names(columns)
    first = numbered.filter(F.col(REORDERED)).orderBy(ROW).select(ROW, *[F.col(f"`{c}`") for c in named])
    row = first.limit(1).collect()[0]
    cells = pd.DataFrame([[row[i + 1] for i in range(len(named))]], columns=named, index=[row[ROW]])
    refuse_reordered_header(cells, path)


def header_names(columns: list[str]) -> list[str]:
    """The columns a header line repeats: Spark names a column without a name _c0, _c1, ... (pandas
    'Unnamed: 0')."""
    return [c for c in columns if str(c).strip() and not re.fullmatch(r"_c\d+", str(c))]


def header_cell(column: str):
    """A cell as a header's names compare (pipelines.io._header_cells): without case, surrounding spaces and
    the byte-order mark starting the second header of two UTF-8 exports joined with `cat` (read as a lead and
    quarantined, where the line without the mark is skipped and said)."""
    from pyspark.sql import functions as F

    ends = rf"\A{STRIPPED}*\uFEFF*{STRIPPED}*|{STRIPPED}+\z"
    return F.lower(F.regexp_replace(F.col(f"`{column}`").cast("string"), ends, ""))


def header_row(columns: list[str]):
    """True for a row that repeats the header (pipelines.io.header_rows, per row): each named cell its column's
    name, case, surrounding spaces and a byte-order mark aside."""
    from pyspark.sql import functions as F

    named = header_names(columns)
    if not named:
        return F.lit(False)
    every = F.lit(True)
    for c in named:
        every = every & F.coalesce(header_cell(c) == str(c).strip().lower(), F.lit(False))
    return every


def reordered_header_row(columns: list[str]):
    """True for a row holding every column's name once in another order than the header (what
    pipelines.io.refuse_reordered_header refuses): two exports joined whose columns came in different orders."""
    from pyspark.sql import functions as F

    named = header_names(columns)
    names = sorted({str(c).strip().lower() for c in named})
    if len(named) < 2 or len(names) < len(named):
        return F.lit(False)
    cells = [header_cell(c) for c in named]
    every = F.lit(True)
    for cell in cells:
        every = every & F.coalesce(cell.isin(names), F.lit(False))
    each_once = F.size(F.array_distinct(F.array(*cells))) == len(named)
    return every & each_once & ~header_row(columns)


def blank_row(columns: list[str]):
    """True for a row whose every cell is missing or whitespace only (features.dates.blank, per row)."""
    from pyspark.sql import functions as F

    cells = [
        F.col(f"`{c}`").isNull() | F.col(f"`{c}`").cast("string").rlike(f"^{STRIPPED}*$") for c in columns
    ]
    every = cells[0]
    for cell in cells[1:]:
        every = every & cell
    return every


# The characters str.strip() (and so features.keys.id_keys) strips: Python's whitespace, as a Java regex class.
STRIPPED = r"[\t\n\x0B\f\r\x1C-\x1F \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]"
SQL_KEY_TYPES = ("string", "integer", "long", "short", "byte")


def id_key(frame, column: str, table: str, missing_own: bool):
    """The column of `frame` as features.keys.id_keys reads it (see _id_key_udf): a Spark expression for text
    and integer columns (no Python worker sees the rows), the Pandas UDF for any other type."""
    from pyspark.sql import functions as F

    kind = frame.schema[column].dataType.typeName()
    if kind not in SQL_KEY_TYPES:
        return _id_key_udf(table, missing_own)(F.col(f"`{column}`"), F.col(ROW))
    text = F.col(f"`{column}`").cast("string")
    if kind == "string":  # without invisible characters, stripped, and "12.0" read as "12" (features.keys)
        text = F.regexp_replace(text, INVISIBLE.pattern, "")
        text = F.regexp_replace(text, rf"\A{STRIPPED}+|{STRIPPED}+\z", "")
        text = F.regexp_replace(text, FLOAT_WRITTEN_ID, "$1")
    own = F.concat(F.lit(f"\0{table}:"), F.col(ROW).cast("string")) if missing_own else F.lit(None)
    missing = text.isNull() | (text == "") | text.startswith("\0")
    return F.when(missing, own.cast("string")).otherwise(text)


def _id_key_udf(table: str, missing_own: bool):
    """lead_id / account_id as the contract reads it (features.keys.id_keys: a light import for the Python
    workers). A missing id gets a key of its own row when `missing_own` (leads, activities, deals, as in the
    streaming path), else null."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[call-overload]
    def keys(values: pd.Series, rows: pd.Series) -> pd.Series:
        out = pd.Series(id_keys(values, table, 0), dtype=object)
        own = out.str.startswith("\0")
        out[own] = [f"\0{table}:{r}" for r in rows[own]] if missing_own else None
        return out

    return keys


def _mailbox_udf():
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def boxes(emails: pd.Series) -> pd.Series:
        return pd.Series(mailboxes(pd.DataFrame({"email": emails})), dtype=object)

    return boxes


def lead_labels(leads):
    """(key, label) per lead row: rows linked by lead_id or by mailbox share a label (the smallest key of
    their group). Label propagation; one count per round reaches the driver."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    nodes = leads.select(ROW, KEY, BOX, F.col(KEY).alias(LABEL)).localCheckpoint()
    for _ in range(MAX_ROUNDS):
        by_key = F.min(LABEL).over(Window.partitionBy(KEY))
        step = nodes.withColumn("_l", by_key)
        by_box = F.when(F.col(BOX).isNull(), F.col("_l")).otherwise(F.min("_l").over(Window.partitionBy(BOX)))
        step = step.withColumn("_l", by_box)
        changed = step.select(
            ROW, KEY, BOX, F.col("_l").alias(LABEL), (F.col("_l") != F.col(LABEL)).alias("_c")
        )
        changed = changed.localCheckpoint()
        moved = changed.filter("_c").count()
        nodes = changed.drop("_c")
        if moved == 0:
            return nodes
    raise InputError(
        f"leads: rows linked by shared mailboxes form a chain longer than {MAX_ROUNDS}; check the leads' emails"
    )


def part_count(rows: int, chunk_size: int) -> int:
    return max(1, -(-rows // chunk_size))


def with_other_length_parts(rows, part_of_key):
    """`rows` (activities or deals, joined to their lead's part) with the part of a lead_id that is its lead's
    Salesforce id in the other length (15 characters where the lead's has 18, or 18 where 15), as
    pipelines.stream.child_parts: in its lead's part the check names it 'lead id of other length' as the
    whole input's does; hashed to a part of its own it read 'references unknown lead'."""
    from pyspark.sql import functions as F

    other_key, other_part, length = "_other_key", "_other_part", "_other_length"
    length_of = F.length(F.col(KEY))
    leads_by_prefix = part_of_key.filter(length_of == 18).select(
        F.substring(F.col(KEY), 1, 15).alias(other_key),
        F.lit(15).alias(length),
        F.col(PART).alias(other_part),
    )
    short_leads = part_of_key.filter(length_of == 15).select(
        F.col(KEY).alias(other_key), F.lit(18).alias(length), F.col(PART).alias(other_part)
    )
    others = leads_by_prefix.unionByName(short_leads).dropDuplicates([other_key, length])
    rows = rows.withColumn(other_key, F.when(F.col(PART).isNull(), F.substring(F.col(KEY), 1, 15)))
    rows = rows.withColumn(length, length_of).join(others, on=[other_key, length], how="left")
    rows = rows.withColumn(PART, F.coalesce(F.col(PART), F.col(other_part))).drop(
        other_key, length, other_part
    )
    # A lead_id of digits with other leading zeros than its lead's ('7' for '007'): its lead's part too.
    numbered = part_of_key.select(_without_zeros(F.col(KEY)).alias(other_key), F.col(PART).alias(other_part))
    numbered = (  # a form two leads share ('07' for '7' and '007') is no one's, as in memory
        numbered.filter(F.col(other_key).isNotNull())
        .groupBy(other_key)
        .agg(F.count(F.lit(1)).alias(length), F.first(other_part).alias(other_part))
        .filter(F.col(length) == 1)
        .drop(length)
    )
    rows = rows.withColumn(other_key, F.when(F.col(PART).isNull(), _without_zeros(F.col(KEY))))
    rows = rows.join(numbered, on=other_key, how="left")
    return rows.withColumn(PART, F.coalesce(F.col(PART), F.col(other_part))).drop(other_key, other_part)


def _without_zeros(column):
    """features.keys.without_leading_zeros in Spark: an id of digits without its leading zeros, else null."""
    from pyspark.sql import functions as F

    return F.when(column.rlike(ALL_DIGITS), F.regexp_replace(column, LEADING_ZEROS, ""))


def with_other_length_accounts(wanted, valid_accounts):
    """The accounts each part wants (PART, ACCOUNT), distinct, with the account a Salesforce id in the other
    length names (an 18-character account for a 15-character account_id, the 15-character one for an 18):
    the part's check then names it 'account id of other length' as batch, which reads every account, does
    (without it in the part, 'references unknown account')."""
    from pyspark.sql import functions as F

    prefix = "_prefix"
    long_accounts = valid_accounts.filter(F.length(F.col(ACCOUNT)) == 18).select(
        F.substring(F.col(ACCOUNT), 1, 15).alias(prefix), F.col(ACCOUNT)
    )
    of_short = (
        wanted.filter(F.length(F.col(ACCOUNT)) == 15)
        .select(PART, F.col(ACCOUNT).alias(prefix))
        .join(long_accounts, on=prefix)
        .select(PART, ACCOUNT)
    )
    of_long = wanted.filter(F.length(F.col(ACCOUNT)) == 18).select(
        PART, F.substring(F.col(ACCOUNT), 1, 15).alias(ACCOUNT)
    )
    # An account_id of digits with other leading zeros than its account's ('7' for '007'): that account too.
    numbered = valid_accounts.select(_without_zeros(F.col(ACCOUNT)).alias(prefix), F.col(ACCOUNT))
    of_zeros = (
        wanted.select(PART, _without_zeros(F.col(ACCOUNT)).alias(prefix))
        .filter(F.col(prefix).isNotNull())
        .join(numbered.filter(F.col(prefix).isNotNull()), on=prefix)
        .select(PART, ACCOUNT)
    )
    return wanted.unionByName(of_short).unionByName(of_long).unionByName(of_zeros).distinct()


def _part_of(column, count: int):
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(column), F.lit(count)).cast("int")


# --- the accounts -----------------------------------------------------------------------------------------


def _accounts_quarantine(accounts, columns: list[str], count: int, as_of, date_formats, layout):
    """The accounts' quarantine rows, validated by account_id groups (all rows of one id together)."""
    from pyspark.sql import functions as F

    def validate(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.sort_values(ROW, kind="stable").reset_index(drop=True)
        raw = _as_read(
            frame[columns],
            layout.integral.get("accounts", {}),
            "accounts" in layout.text,
            layout.nanos.get("accounts", []),
            layout.iso.get("accounts", []),
            layout.zoned.get("accounts", []),
        )
        check = validate_table("accounts", raw, as_of=as_of, date_formats=date_formats)
        q = check.quarantine
        q = q.assign(row=frame[ROW].to_numpy()[q["row"].astype(int).to_numpy()]) if len(q) else q
        return _quarantine_out(q)

    grouped = accounts.withColumn(PART, _part_of(F.col(ACCOUNT), count)).select(PART, ROW, *_quoted(columns))
    return grouped.groupBy(PART).applyInPandas(validate, f"{SEQ} long, {QUARANTINE_SCHEMA}")


def _quarantine_out(q: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: q[c].astype(object) for c in QUARANTINE_COLUMNS}) if len(q) else None
    if out is None:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})
    out["row"] = pd.to_numeric(out["row"]).astype("int64")
    out.insert(0, SEQ, np.arange(len(out), dtype="int64"))
    return out.where(out.notna(), None)


# --- one part ---------------------------------------------------------------------------------------------


def _quoted(columns):
    from pyspark.sql import functions as F

    return [F.col(f"`{c}`") for c in columns]


def _as_read(
    frame: pd.DataFrame,
    integral: dict[str, str],
    text: bool,
    nanos: list[str] | tuple = (),
    iso: list[str] | tuple = (),
    zoned: list[str] | tuple = (),
) -> pd.DataFrame:
    """A table's rows as the pandas path reads them: Spark's nullable integers back to int64 (or float64 with
    gaps, as pandas reads Parquet), booleans without gaps as bool; CSV text as written, only an empty cell
    missing ("NA" is an id, "NULL" a title: the contract reads no-value words where a number or time belongs),
    and the timestamp columns `iso` parsed (ISO 8601 in the whole table: pipelines.io.read_frame; decided
    for the whole table by route_parts, never by the part's rows)."""
    frame = frame.copy()
    for column in nanos:
        frame[column] = times_of_nanos(frame[column])
        if column in zoned:  # UTC, zone-aware as batch reads the column (a quarantined value shows +00:00)
            frame[column] = frame[column].dt.tz_localize("UTC")
    for column, kind in integral.items():
        if column in nanos:
            continue
        values = frame[column]
        if values.notna().all():
            frame[column] = values.astype("bool" if kind == "boolean" else "int64")
    if text:
        for column in frame.columns:
            if column == ROW:
                continue
            values = frame[column].astype("str")
            frame[column] = values.where(values.notna() & (values != ""))
        for column in iso:
            frame[column] = iso_or_unchanged(frame[column])
    return frame


def times_of_nanos(values: pd.Series) -> pd.Series:
    """Nanoseconds since 1970 as text (read_spark_tables, utc_times) as naive times. A column holding a time
    past pandas' nanosecond range (after 2262, e.g. a 9999-12-31 placeholder: only a zone-aware timestamp, in
    whole microseconds, can hold one) is read in microseconds, as batch reads it."""
    text = values.astype("str")
    try:
        return pd.to_datetime(text.astype("Int64"), unit="ns")
    except (ValueError, OverflowError):  # pyarrow's ArrowInvalid is a ValueError
        return pd.to_datetime(
            text.map(lambda v: int(v) // 1000, na_action="ignore").astype("Int64"), unit="us"
        )


@dataclass(frozen=True)
class _Layout:
    """Which columns each table brings to the wide frame of the parts, and their Spark types."""

    columns: dict[str, list[str]]
    integral: dict[str, dict[str, str]]  # per table: column -> "integer" or "boolean" (see _as_read)
    text: frozenset[str]
    nanos: dict[str, list[str]]  # per table: timestamp columns read as nanoseconds since 1970
    iso: dict[str, list[str]] = field(default_factory=dict)  # per text table: timestamp columns parsed
    zoned: dict[str, list[str]] = field(
        default_factory=dict
    )  # per table: `nanos` columns that were zone-aware


def _wide(table: str, column: str) -> str:
    return f"{table}__{column}"


def _score_part(scorer_ref, layout: _Layout, as_of: pd.Timestamp, reasons: bool, date_formats):
    """The function each part runs (pandas in, pandas out): pipelines.stream's per-part validation and
    scoring, returning score rows, quarantine rows, one row of counts (with the leads it scores), its feed
    tables' rows (feed_rows) and the features of a sample of its leads to score (sample_rows), which
    SparkScores.warnings judges on every part together."""

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        scorer = scorer_ref.value if hasattr(scorer_ref, "value") else scorer_ref
        check, quarantine = checked_part(*part_tables(frame, layout), as_of, date_formats)
        valid = check.valid
        to_score, closed = open_leads(valid["leads"], valid.get("deals"))
        pieces = [_quarantine_out(quarantine).assign(**{KIND: "quarantine"})]
        pieces.append(feed_rows(feed_tables(valid, as_of), as_of))
        if len(to_score):
            scores = scorer.score_tables({**valid, "leads": to_score}, as_of, reasons=reasons)
            scores = pd.DataFrame({c: scores[c] for c in SCORE_NAMES})
            scores["as_of"] = pd.to_datetime(scores["as_of"])
            pieces.append(scores.astype({"lead_id": object}).assign(**{KIND: "score"}))
            pieces.append(sample_rows(scorer, valid, to_score, as_of))
        counts = {"closed": len(closed), "later": check.not_created.get("leads", 0), TO_SCORE: len(to_score)}
        pieces.append(pd.DataFrame({KIND: ["counts"], **{k: [v] for k, v in counts.items()}}))
        out = pd.concat([p for p in pieces if len(p)], ignore_index=True)
        return _with_output_columns(out)

    return run


def feed_rows(feeds: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> pd.DataFrame:
    """A part's feed tables (models.coverage.feed_tables) as rows of one schema: the table, its value (activity
    type, outcome), TIME in nanoseconds and SLOT, the rows Spark may combine across parts (a value's day back
    from `as_of`, as compact_events keeps them; a deal's exact close)."""
    rows = []
    for table, frame in feeds.items():
        time_column, value_column = FEED_TIMES[table]
        times = pd.to_datetime(frame[time_column], errors="coerce").astype("datetime64[ns]")
        nanos = pd.Series(times.to_numpy().astype("int64"), dtype="Int64").mask(times.isna().to_numpy())
        days = pd.Series(event_days(times, as_of).to_numpy(), dtype="Int64")
        slot = nanos if table in EXACT_TIMES else days
        values = frame[value_column].astype(object) if value_column else pd.Series(None, index=frame.index)
        rows.append(
            pd.DataFrame(
                {
                    KIND: "feed",
                    "table": table,
                    "value": values.to_numpy(dtype=object),
                    TIME: nanos.array,  # Int64: float64 would round the nanoseconds
                    SLOT: slot.array,
                    EVENTS: frame[EVENTS].to_numpy(dtype="int64"),
                    REPEATS: frame[REPEATS].to_numpy(dtype="int64") if REPEATS in frame else 0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def feeds_of_rows(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """feed_rows' rows (of any parts, combined) as the feed tables pipelines.stream.feed_gap_warnings reads."""
    feeds = {}
    for table, frame in rows.groupby("table", sort=False):
        time_column, value_column = FEED_TIMES[str(table)]
        times = pd.to_datetime(pd.Series(frame[TIME].to_numpy(), dtype="Int64"), unit="ns").to_numpy()
        values = {value_column: frame["value"].to_numpy(dtype=object)} if value_column else {}
        feeds[str(table)] = pd.DataFrame(
            {
                time_column: times,
                **values,
                EVENTS: frame[EVENTS].to_numpy(dtype="int64"),
                REPEATS: frame[REPEATS].to_numpy(dtype="int64"),
            }
        )
    return feeds


def sample_rows(scorer, valid: dict[str, pd.DataFrame], to_score: pd.DataFrame, as_of) -> pd.DataFrame:
    """The features the coverage check judges (pipelines.score.coverage_features) of every step-th lead of
    `to_score` (pipelines.stream.sample_step of this part alone: every lead the whole input's step keeps),
    a row each: its place among the part's leads to score (SEQ), its input row and its features (pickled)."""
    if not scorer.model.feature_missing:  # a model trained before training's coverage was kept
        return pd.DataFrame()
    step = sample_step([len(to_score)])
    sample = to_score.iloc[::step]
    features = coverage_features(scorer, valid, sample, as_of)
    blobs = [pickle.dumps({name: features[name][i : i + 1] for name in features}) for i in range(len(sample))]
    return pd.DataFrame(
        {
            KIND: "sample",
            SEQ: np.arange(0, len(to_score), step, dtype="int64"),
            "row": sample[ROW].to_numpy(dtype="int64"),
            FEATURES: blobs,
        }
    )


def _judge(scorer_ref, as_of: pd.Timestamp, missing_rise: float, step: int):
    """The function one task runs on the parts' feed rows (combined) and feature samples (every `step`-th
    lead of every part): pipelines.stream's feed_gap_warnings and CoverageSample.warnings, the sentences the
    streamed path says, one a row."""

    def run(frame: pd.DataFrame) -> pd.DataFrame:
        scorer = scorer_ref.value if hasattr(scorer_ref, "value") else scorer_ref
        feeds = frame[frame[KIND] == "feed"]
        sampled = frame[frame[KIND] == "sample"]
        rows = [
            Table({**pickle.loads(blob), ROW: np.array([row], dtype="int64")})
            for blob, row in zip(sampled[FEATURES], sampled["row"], strict=True)
        ]
        said = [
            *feed_gap_warnings(scorer, [feeds_of_rows(feeds)], as_of),
            *CoverageSample(step, rows).warnings(scorer, missing_rise),
        ]
        # object text: pandas' Arrow-backed strings reach Arrow as chunked arrays, which Spark refuses
        return pd.DataFrame(
            {SEQ: np.arange(len(said), dtype="int64"), "reason": pd.Series(said, dtype=object)}
        )

    return run


def part_tables(frame: pd.DataFrame, layout: _Layout) -> tuple[dict[str, pd.DataFrame], set[str]]:
    """A part's rows as the pandas path reads its tables (each row with its input row, `_input_row`), and
    the ids of the quarantined accounts its rows reference."""
    tables: dict[str, pd.DataFrame] = {}
    for table, columns in layout.columns.items():
        rows = frame[frame[TABLE] == table]
        if rows.empty:
            continue
        rows = rows.sort_values(ROW, kind="stable")
        raw = pd.DataFrame(
            {c: rows[_wide(table, c)].to_numpy() for c in columns} | {ROW: rows[ROW].to_numpy()}
        )
        raw = raw.astype({c: rows[_wide(table, c)].dtype for c in columns})
        tables[table] = _as_read(
            raw,
            layout.integral.get(table, {}),
            table in layout.text,
            layout.nanos.get(table, []),
            layout.iso.get(table, []),
            layout.zoned.get(table, []),
        )
    bad = frame.loc[frame[TABLE] == BAD, _wide(BAD, "key")]
    bad_accounts = set(bad.astype("str"))
    leads_columns = layout.columns.get("leads", list(LEAD_COLUMNS))
    accounts_columns = layout.columns["accounts"]
    tables.setdefault("accounts", pd.DataFrame({c: pd.Series(dtype="str") for c in accounts_columns}))
    tables.setdefault("leads", pd.DataFrame({c: pd.Series(dtype="str") for c in (*leads_columns, ROW)}))
    tables.setdefault("activities", pd.DataFrame(columns=["lead_id", "occurred_at", "activity_type", ROW]))
    accounts = tables.pop("accounts").drop(columns=[ROW], errors="ignore").reset_index(drop=True)
    return {"accounts": accounts, **tables}, bad_accounts


def checked_part(
    tables: dict[str, pd.DataFrame],
    bad_accounts: set[str],
    as_of: pd.Timestamp | None,
    date_formats,
    deals_after_their_lead: bool = False,
):
    """A part's tables validated (pipelines.stream's per-part validation; `deals_after_their_lead`:
    training's rule, features.contracts.validate_tables): the ValidationResult and the part's quarantine rows
    numbered as in the whole input."""
    rows_of = {t: f for t, f in tables.items() if t != "accounts"}
    check = validate_tables(tables, as_of, date_formats, deals_after_their_lead)
    quarantine = check.quarantine[check.quarantine["table"] != "accounts"]
    quarantine = as_in_whole_input(quarantine_with_input_rows(quarantine, rows_of), bad_accounts)
    return check, quarantine


def _with_output_columns(out: pd.DataFrame) -> pd.DataFrame:
    names = [f.split()[0] for f in PART_OUTPUT_SCHEMA.split(", ")]
    for name in names:
        if name not in out.columns:
            out[name] = None
    out = out[names].copy()
    for name in names:
        values = out[name]
        if name in (SEQ, "row", "closed", "later", TO_SCORE, TIME, SLOT, EVENTS, REPEATS):
            out[name] = pd.array(values, dtype="Int64")
        elif values.dtype.kind not in "fbM":  # text (pandas' arrow strings reach Arrow as chunked arrays)
            out[name] = values.astype(object).where(values.notna(), None)
    return out


# --- the whole job ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judging:
    """What SparkScores.warnings judges the parts' feeds and features with: the scorer (broadcast), as_of and
    pipelines.score.lead_feature_warnings' `missing_rise`."""

    scorer_ref: Any
    as_of: pd.Timestamp
    missing_rise: float


MAX_STEP_POWER = 48  # the coverage sample's step is at most 2**47 (leads per sampled lead)


@dataclass
class SparkScores:
    """What `score_spark_tables` returns: Spark DataFrames, nothing collected.

    `parts` holds every part's output (score rows, quarantine rows, counts); `scores` and `quarantine` are
    views of it plus the accounts' quarantine. `read` counts the lead rows (a Spark count).
    """

    parts: Any  # pyspark DataFrames (pyspark is an optional dependency)
    accounts_quarantine: Any
    tables: dict = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)  # rows read per table, counted while routing
    judging: Judging | None = None  # what the warnings are judged with (a training run has none)

    @property
    def scores(self):
        """One row per scored lead, SCORE_SCHEMA columns, best first (qualified above disqualified)."""
        from pyspark.sql import functions as F

        rows = self.parts.filter(F.col(KIND) == "score").select(*SCORE_NAMES)
        return rows.orderBy(F.col("rank_score").desc(), F.col("lead_id").asc())

    @property
    def quarantine(self):
        """The quarantined rows with their reasons, by table (accounts, leads, activities, deals) and row."""
        from pyspark.sql import functions as F

        rows = self._quarantine_rows()
        return rows.orderBy(ORDER, F.col("row"), F.col(SEQ)).select(*QUARANTINE_COLUMNS)

    def _quarantine_rows(self):
        """The quarantine rows, unordered, with their sequence in their part and their table's place."""
        from pyspark.sql import functions as F

        parts = self.parts.filter(F.col(KIND) == "quarantine").select(SEQ, *QUARANTINE_COLUMNS)
        rows = self.accounts_quarantine.select(SEQ, *QUARANTINE_COLUMNS).unionByName(parts)
        order = F.create_map(*[x for i, t in enumerate(TABLES) for x in (F.lit(t), F.lit(i))])[F.col("table")]
        return rows.withColumn(ORDER, order)

    def causes(self) -> pd.DataFrame:
        """pipelines.validate.rule_counts as a Spark aggregation (a row per table, column and check: distinct
        rows, the first row, its reason and the first value given, in the quarantine's order; a few rows reach
        the driver), what pipelines.score.main_causes and the exit-5 sentence count."""
        from pyspark.sql import functions as F

        place = [F.col(ORDER), F.col("row"), F.col(SEQ)]
        found = (
            self._quarantine_rows()
            .groupBy("table", "column", "check")
            .agg(
                F.countDistinct("row").alias("rows"),
                F.min(F.struct(*place, F.col("reason"), F.col("key"))).alias("first"),
                F.min(F.when(F.col("value").isNotNull(), F.struct(*place, F.col("value")))).alias("valued"),
            )
            .collect()
        )
        found = sorted(found, key=lambda r: tuple(r["first"])[:3])  # the order they first appear in
        return pd.DataFrame(
            {
                "table": [r["table"] for r in found],
                "column": [r["column"] for r in found],
                "check": [r["check"] for r in found],
                "rows": [int(r["rows"]) for r in found],
                "row": [int(r["first"]["row"]) for r in found],
                "key": [r["first"]["key"] for r in found],
                "value": [r["valued"]["value"] if r["valued"] is not None else None for r in found],
                "reason": [r["first"]["reason"] for r in found],
            }
        )

    def warnings(self) -> list[str]:
        """What the feeds stopped delivering and the features the leads miss far more than training did (or
        hold outside its range), judged on every part together as the streamed path judges them
        (pipelines.stream.feed_gap_warnings, CoverageSample): the parts' feed rows combined by a Spark
        aggregation and every step-th lead's features of every part, judged in one task; a row of sums and
        the sentences reach the driver."""
        from pyspark.sql import functions as F

        if self.judging is None:
            return []
        step = self._sample_step()
        if step is None:  # no lead scored
            return []
        feeds = (
            self.parts.filter(F.col(KIND) == "feed")
            .groupBy("table", "value", SLOT)
            .agg(F.min(TIME).alias(TIME), F.sum(EVENTS).alias(EVENTS), F.sum(REPEATS).alias(REPEATS))
            .select(F.lit("feed").alias(KIND), "table", "value", TIME, EVENTS, REPEATS)
        )
        sampled = self.parts.filter((F.col(KIND) == "sample") & (F.col(SEQ) % step == 0))
        rows = feeds.unionByName(sampled.select(KIND, "row", FEATURES), allowMissingColumns=True)
        judge = _judge(self.judging.scorer_ref, self.judging.as_of, self.judging.missing_rise, step)
        said = (
            rows.withColumn("_all", F.lit(0))
            .groupBy("_all")
            .applyInPandas(judge, f"{SEQ} long, reason string")
        )
        return [r["reason"] for r in said.orderBy(SEQ).collect()]

    def _sample_step(self) -> int | None:
        """pipelines.stream.sample_step of the parts' leads to score, from one row of sums (how many each step
        keeps: a part keeps ceil(leads / step)); None when no lead is scored."""
        from pyspark.sql import functions as F

        steps = [2**k for k in range(MAX_STEP_POWER)]
        leads = F.col(TO_SCORE)
        kept = (
            self.parts.filter(F.col(KIND) == "counts")
            .agg(*[F.sum(F.ceil(leads / F.lit(step))).alias(str(step)) for step in steps])
            .first()
        )
        if kept is None or not kept["1"]:
            return None
        return smallest_step(lambda step: int(kept[str(min(step, steps[-1]))]))  # every part at one lead

    def accounting(self) -> LeadCounts:
        """Leads read, scored, quarantined and not scored (per reason): Spark aggregations, numbers only."""
        from pyspark.sql import functions as F

        totals = self.parts.agg(
            F.sum(F.when(F.col(KIND) == "score", 1).otherwise(0)).alias("scored"),
            F.countDistinct(
                F.when((F.col(KIND) == "quarantine") & (F.col("table") == "leads"), F.col("row"))
            ).alias("quarantined"),
            F.sum("closed").alias("closed"),
            F.sum("later").alias("later"),
        ).first()
        n = {k: int(totals[k] or 0) for k in ("scored", "quarantined", "closed", "later")}
        read = self.rows_read()["leads"]
        not_scored = {DEAL_CLOSED: n["closed"], CREATED_LATER: n["later"]}
        return LeadCounts(read, n["scored"], n["quarantined"], not_scored)  # raises unless they add up

    def rows_read(self) -> dict[str, int]:
        """Rows read per table: as counted while routing, else Spark counts."""
        return self.read or {name: frame.count() for name, frame in self.tables.items()}

    def table_shares(self, read: dict[str, int]) -> dict[str, float]:
        """pipelines.validate.own_quarantine_shares, as a Spark aggregation."""
        from pyspark.sql import functions as F

        own = self.quarantine.filter(~F.col("check").isin(*CASCADE_CHECKS, *NOT_KNOWN_YET))
        rows = {
            r["table"]: int(r["n"])
            for r in own.groupBy("table").agg(F.countDistinct("row").alias("n")).collect()
        }
        return {table: rows.get(table, 0) / n for table, n in read.items() if n}

    def grades(self) -> pd.DataFrame:
        """Leads and mean score per grade (A to D), a Spark aggregation."""
        from pyspark.sql import functions as F

        found = {
            r["grade"]: (int(r["leads"]), float(r["mean_score"]))
            for r in self.parts.filter(F.col(KIND) == "score")
            .groupBy("grade")
            .agg(F.count("*").alias("leads"), F.mean("score").alias("mean_score"))
            .collect()
        }
        grades = ["A", "B", "C", "D"]
        return pd.DataFrame(
            {
                "grade": grades,
                "leads": [found.get(g, (0, np.nan))[0] for g in grades],
                "mean_score": [found.get(g, (0, np.nan))[1] for g in grades],
            }
        )


def score_spark_tables(
    tables: dict,
    scorer,
    as_of: pd.Timestamp,
    chunk_size: int = 50_000,
    reasons: bool = True,
    date_formats: DateFormats | None = None,
    text_tables: frozenset[str] | set[str] = frozenset(),
    paths: dict | None = None,
    nanos: dict[str, list[str]] | None = None,
    missing_rise: float = 0.5,
) -> SparkScores:
    """Score the open leads of Spark DataFrames `tables` ("accounts", "leads", "activities", optional
    "deals"; column names as the contract names them) with `scorer` (a LeadScorer, e.g.
    `pipelines.tracking.load_scorer("models:/leadscore@champion")`), as of `as_of`.

    Returns SparkScores: `.scores` (a Spark DataFrame, one row per scored lead, best first) and
    `.quarantine` (every row that broke the contract, with its reason), the same rows the pandas path
    gives. The lead groups are found now (a few Spark jobs; counts reach the driver); the scoring runs once,
    when you first use them (its output is persisted), and no table is collected to the driver. The scorer
    is broadcast once to the executors. `text_tables` names tables read from CSV as text (their values are
    read as the pandas path reads a CSV); `nanos` the timestamp columns read as nanoseconds since 1970
    (see read_spark_tables); `paths` the tables' files, for messages; `missing_rise`: see
    pipelines.score.lead_feature_warnings (SparkScores.warnings).

    Example (a Databricks notebook, or any session)::

        scores = score_spark_tables(
            {t: spark.table(f"crm.{t}") for t in ("accounts", "leads", "activities", "deals")},
            load_scorer("models:/leadscore@champion"), pd.Timestamp("2026-10-01"),
        )
        scores.scores.write.mode("overwrite").saveAsTable("analytics.lead_scores")
    """
    from pyspark import StorageLevel

    for name in REQUIRED:
        if name not in tables:
            raise InputError(f"table {name!r} is missing; score_spark_tables needs {', '.join(REQUIRED)}")
    as_of = pd.Timestamp(as_of)
    routed = route_parts(tables, chunk_size, as_of, date_formats, text_tables, paths, nanos)
    scorer_ref = _shared(routed.spark, scorer)
    run = _score_part(scorer_ref, routed.layout, as_of, reasons, date_formats)
    parts = routed.wide.groupBy(PART).applyInPandas(run, PART_OUTPUT_SCHEMA)
    parts = parts.persist(StorageLevel.MEMORY_AND_DISK)
    judging = Judging(scorer_ref, as_of, missing_rise)
    return SparkScores(parts, routed.accounts_quarantine, dict(tables), dict(routed.read), judging)


@dataclass
class Routed:
    """The rows of the four tables in one wide frame, each row in its part (`PART`): a lead group with its
    activities, deals and accounts (and the ids of its quarantined accounts); and the accounts' quarantine."""

    wide: Any
    layout: _Layout
    accounts_quarantine: Any
    spark: Any
    parts: int  # how many parts the leads make (chunk_size leads each)
    read: dict[str, int]  # rows read per table


def route_parts(
    tables: dict,
    chunk_size: int,
    as_of: pd.Timestamp | None,
    date_formats: DateFormats | None,
    text_tables: frozenset[str] | set[str] = frozenset(),
    paths: dict | None = None,
    nanos: dict[str, list[str]] | None = None,
    iso_tables: tuple[str, ...] = ("accounts",),
) -> Routed:
    """Steps 1 to 3 of the module's plan, shared by scoring and training (as_of None: training validates
    every row, as the pandas training path does). `iso_tables`: the text tables whose all-ISO timestamp
    columns are parsed before the contract, as the pandas path reads them (streamed scoring: the accounts,
    read whole; its leads, activities and deals reach the contract as text; training: every table)."""
    from pyspark.sql import functions as F

    check_columns(tables, paths)
    tables = {name: frame.drop(*INTERNAL_COLUMNS) for name, frame in tables.items()}
    tables, nanos, zoned = utc_times(tables, nanos or {})
    spark = tables["leads"].sparkSession
    text = frozenset(text_tables)
    numbered_and_read = {
        name: with_input_rows(frame, (paths or {}).get(name, name)) for name, frame in tables.items()
    }
    numbered = {name: frame for name, (frame, _) in numbered_and_read.items()}
    read = {name: n for name, (_, n) in numbered_and_read.items()}
    columns = {name: list(frame.columns) for name, frame in tables.items()}

    leads = numbered["leads"]
    leads = leads.withColumn(KEY, id_key(leads, "lead_id", "leads", True))
    leads = leads.withColumn(BOX, _mailbox_udf()(F.col("email").cast("string")))
    leads = leads.withColumn(ACCOUNT, id_key(leads, "account_id", "accounts", False))
    leads = leads.localCheckpoint()
    count = part_count(read["leads"], chunk_size)
    labels = lead_labels(leads)
    lead_part = labels.select(ROW, _part_of(F.col(LABEL), count).alias(PART))
    leads = leads.join(lead_part, on=ROW)
    part_of_key = leads.select(KEY, PART).dropDuplicates([KEY])

    routed = {"leads": leads}
    for name in ("activities", "deals"):
        if name not in numbered:
            continue
        rows = numbered[name].withColumn(KEY, id_key(numbered[name], "lead_id", name, True))
        rows = rows.join(part_of_key, on=KEY, how="left")
        rows = with_other_length_parts(rows, part_of_key)
        rows = rows.withColumn(PART, F.coalesce(F.col(PART), _part_of(F.col(KEY), count)))
        if name == "deals":
            rows = rows.withColumn(ACCOUNT, id_key(rows, "account_id", "accounts", False))
        routed[name] = rows

    accounts = numbered["accounts"].withColumn(
        ACCOUNT, id_key(numbered["accounts"], "account_id", "accounts", False)
    )
    layout = _Layout(
        columns=columns,
        integral={
            name: {
                f.name: ("boolean" if f.dataType.typeName() == "boolean" else "integer")
                for f in tables[name].schema.fields
                if f.dataType.typeName() in ("integer", "long", "short", "byte", "boolean")
            }
            for name in tables
        },
        text=text,
        nanos=dict(nanos or {}),
        zoned=zoned,
        iso={name: iso_columns(numbered[name]) for name in text if name in iso_tables},
    )
    accounts_count = part_count(read["accounts"], chunk_size)
    accounts_quarantine = _accounts_quarantine(
        accounts, columns["accounts"], accounts_count, as_of, date_formats, layout
    ).localCheckpoint()
    bad_rows = accounts_quarantine.select(F.col("row").alias(ROW)).distinct()
    valid_accounts = accounts.join(bad_rows, on=ROW, how="left_anti")
    wanted = routed["leads"].select(PART, ACCOUNT)
    if "deals" in routed:
        wanted = wanted.unionByName(routed["deals"].select(PART, ACCOUNT))
    wanted = with_other_length_accounts(wanted.filter(F.col(ACCOUNT).isNotNull()), valid_accounts)
    routed["accounts"] = valid_accounts.join(wanted, on=ACCOUNT)
    bad_ids = (
        accounts_quarantine.select(F.trim(F.col("key")).alias(ACCOUNT))
        .filter(F.col(ACCOUNT).isNotNull())
        .distinct()
        .join(valid_accounts.select(ACCOUNT), on=ACCOUNT, how="left_anti")
    )
    bad = bad_ids.join(wanted, on=ACCOUNT).select(PART, F.col(ACCOUNT).alias(_wide(BAD, "key")))

    wide = bad.withColumn(TABLE, F.lit(BAD)).withColumn(ROW, F.lit(None).cast("long"))
    for name, rows in routed.items():
        selected = rows.select(
            F.lit(name).alias(TABLE),
            F.col(PART),
            F.col(ROW),
            *[F.col(f"`{c}`").alias(_wide(name, c)) for c in columns[name]],
        )
        wide = wide.unionByName(selected, allowMissingColumns=True)
    wide = wide.repartition(count, PART)  # one task per part (at most), whatever the shuffle partitions
    return Routed(wide, layout, accounts_quarantine, spark, count, read)


def utc_times(
    tables: dict, nanos: dict[str, list[str]]
) -> tuple[dict, dict[str, list[str]], dict[str, list[str]]]:
    """The tables with their timestamp columns, zone-aware (Spark's TimestampType: a Parquet instant, a
    catalog TIMESTAMP, in UTC) or naive (TimestampNTZType: naive_micros), as nanoseconds since 1970, text,
    added to `nanos` (as read_spark_tables carries
    nanosecond columns; _as_read makes them UTC times again, zone-aware as batch reads them: the third dict
    names them). Spark hands such a column to pandas as the
    wall-clock times of the session's time zone: off UTC every time moved by the offset (other scores, exit
    0), where batch reads them in UTC."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    out, carried, zones = {}, {table: list(columns) for table, columns in nanos.items()}, {}
    for name, frame in tables.items():
        zoned = [f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampType)]
        naive = [f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampNTZType)]
        for column in zoned:
            # "000" appended as text: times 1000 overflowed a long past 2262 (a 9999-12-31 placeholder)
            micros = F.unix_micros(F.col(f"`{column}`")).cast("string")
            frame = frame.withColumn(column, F.concat(micros, F.lit("000")))
        for column in naive:
            micros = naive_micros(F.col(f"`{column}`")).cast("string")
            frame = frame.withColumn(column, F.concat(micros, F.lit("000")))
        out[name] = frame
        if zoned or naive:
            carried[name] = [*carried.get(name, []), *zoned, *naive]
        if zoned:
            zones[name] = zoned
    return out, carried, zones


def naive_micros(column):
    """Microseconds since 1970 of a timestamp without time zone (Spark's TimestampNTZType: a Parquet time not
    adjusted to UTC, as pandas writes a naive column in microseconds), from its date and wall-clock time: no
    session time zone moves it. Handed to pandas as a timestamp, a 9999-12-31 placeholder overflowed Arrow's
    nanoseconds and the run stopped with a traceback, where batch quarantines the row ('before 2099')."""
    from pyspark.sql import functions as F

    return (
        F.unix_date(F.to_date(column)).cast("long") * 86_400_000_000
        + F.hour(column).cast("long") * 3_600_000_000
        + F.minute(column).cast("long") * 60_000_000
        + (F.date_part(F.lit("SECOND"), column) * 1_000_000).cast("long")
    )


def iso_columns(frame) -> list[str]:
    """The timestamp columns of a text table whose every present value is ISO 8601 in the whole table
    (features.dates.not_iso, the test pipelines.io.read_frame makes of a file's column): a Spark aggregation,
    one row reaches the driver. A part's rows alone decided before: the same value reached the contract as
    text or as a time by the part it fell in."""
    from pyspark.sql import functions as F
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("boolean")  # type: ignore[call-overload]
    def other(values: pd.Series) -> pd.Series:
        return pd.Series(not_iso(values.astype(object)))

    wanted = [c for c in DATETIME_COLUMNS if c in frame.columns]
    if not wanted:
        return []
    found = frame.agg(*[F.max(other(F.col(f"`{c}`").cast("string"))).alias(c) for c in wanted]).first()
    return [c for c in wanted if not found[c]]


def _shared(spark, scorer):
    """The scorer as a broadcast variable (loaded once per executor), or itself where there is no
    SparkContext (Spark Connect): then it travels with the function."""
    try:
        return spark.sparkContext.broadcast(scorer)
    except Exception:  # Spark Connect has no SparkContext
        return scorer


# --- publishing -------------------------------------------------------------------------------------------


@dataclass
class SparkScoreResult(ScoreResult):
    """A ScoreResult whose counts were computed in Spark: `scores` holds the top ten leads only, and the
    quarantine stays in its file (its row count and per-table shares are here)."""

    shares: dict[str, float] = field(default_factory=dict)
    quarantine_rows: int = 0
    grade_table: pd.DataFrame | None = None
    cause_table: pd.DataFrame | None = None  # SparkScores.causes: nothing scored, or too much quarantined

    def main_causes(self) -> str:
        return causes_sentence(self.cause_table) if self.cause_table is not None else super().main_causes()

    def rule_counts(self) -> pd.DataFrame:
        return self.cause_table if self.cause_table is not None else super().rule_counts()

    def grade_summary(self) -> pd.DataFrame:
        return self.grade_table if self.grade_table is not None else super().grade_summary()

    def table_shares(self) -> dict[str, float]:
        return self.shares

    @property
    def quarantined_share(self) -> float:
        later = self.leads.not_scored.get(CREATED_LATER, 0)
        return quarantined_lead_share(self.count("quarantined"), self.count("read"), later)


def run_score_spark(
    spark,
    scorer,
    folder: Path | SparkInput,
    as_of: pd.Timestamp,
    output: Path,
    chunk_size: int = 50_000,
    reasons: bool = True,
    date_formats: DateFormats | None = None,
    missing_rise: float = 0.5,
) -> SparkScoreResult:
    """Read the tables of `folder` (or Spark tables by name) with Spark, score them, and publish the scores
    (a folder of Parquet part files, best first), the quarantine CSV and the manifest together. Raises
    NothingToScore (publishing nothing but the failed run's quarantine) when no lead can be scored. When any
    row is quarantined, the quarantine's rules are counted (SparkScoreResult.rule_counts) for the console's
    notes and the exit-5 sentence."""
    from pipelines.score import NothingToScore, nothing_to_score_reason

    problem = spark_output_problem(output)
    if problem is not None:  # the job definition is what to fix (exit 2)
        raise OptionError(problem)
    refuse_foreign_folder(output)
    where = folder if isinstance(folder, SparkInput) else SparkInput(folder)
    tables, text, nanos = read_spark_tables(spark, where)
    paths = {name: where.describe(name) for name in tables}
    job = score_spark_tables(
        tables, scorer, as_of, chunk_size, reasons, date_formats, text, paths, nanos, missing_rise
    )
    with private_workdir(output) as work:
        with writing(work):
            job.parts.write.mode("overwrite").parquet(str(work / "parts.parquet"))
            job.accounts_quarantine.write.mode("overwrite").parquet(str(work / "accounts.parquet"))
        job.parts.unpersist()
        saved = SparkScores(
            parts=spark.read.parquet(spark_path(work / "parts.parquet")),
            accounts_quarantine=spark.read.parquet(spark_path(work / "accounts.parquet")),
            tables=tables,
            read=job.read,
            judging=job.judging,
        )
        accounting = saved.accounting()
        rows_read = saved.rows_read()
        quarantine_rows = saved.quarantine.count()
        result = SparkScoreResult(
            scores=pd.DataFrame(columns=SCORE_NAMES),
            quarantine=pd.DataFrame(columns=list(QUARANTINE_COLUMNS)),
            leads=accounting,
            rows_read=rows_read,
            shares=saved.table_shares(rows_read),
            quarantine_rows=quarantine_rows,
            warnings=saved.warnings(),
        )
        if result.count("scored") == 0 or quarantine_rows:  # the sentences name the causes
            result.cause_table = saved.causes()
        why = nothing_to_score_reason(result, where.describe("leads"))
        if why is not None:
            failed = failed_quarantine_path_for(output)
            _write_csv(saved.quarantine, failed, work)
            kept = f"the previous {output} is kept" if output.exists() else "nothing was written"
            raise NothingToScore(
                f"nothing to score: {why}; {kept}; this run's quarantined rows are in {failed}", result
            )
        result.grade_table = saved.grades()
        # In the run's own folder beside the output (same file system): a killed run's staged scores go with
        # its parts (pipelines.io.remove_stale_workdirs), never left hidden beside the output.
        staged = work / "scores.parquet"
        q_staged = work / "quarantine.csv"
        try:
            with writing(output):
                saved.scores.write.parquet(str(staged))
                _clean_spark_folder(staged)
            _write_csv(saved.quarantine, q_staged, work)
            fingerprint = input_fingerprint(where, tables)
            identity = run_identity(scorer)
            manifest = run_manifest(
                result, as_of, scorer.model_name, scorer.model_version, fingerprint, identity
            )
            manifest["quarantine_rows"] = quarantine_rows
            publish_folder_run(staged, q_staged, output, manifest)
        finally:
            shutil.rmtree(staged, ignore_errors=True)
    result.scores = top_rows(output, 10)  # for the console, read from the published files
    return result


def refuse_foreign_folder(output: Path) -> None:
    """A folder at `output` holding anything but the part files of a scores run is refused before any work:
    publishing replaces the output whole, and the files a user kept in it were removed (exit 0)."""
    if not output.is_dir():
        return
    others = sorted(path.name for path in output.iterdir() if not path.name.startswith("part-"))
    if others:
        raise OutputError(
            f"{output} is a folder holding other files than a scores run's part files ({', '.join(others[:3])}"
            f"{', ...' if len(others) > 3 else ''}); a run replaces its output whole: write elsewhere, or move "
            "them out of it"
        )


def top_rows(folder: Path, n: int) -> pd.DataFrame:
    """The first `n` rows of a folder of Parquet part files written best first (read here, not collected)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    batches = []
    for path in sorted(folder.glob("part-*.parquet")):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=n):
            batches.append(batch)
            if sum(len(b) for b in batches) >= n:
                return pa.Table.from_batches(batches).to_pandas().head(n)
    return pa.Table.from_batches(batches).to_pandas() if batches else pd.DataFrame(columns=SCORE_NAMES)


def quarantine_for_csv(frame):
    """A Spark quarantine as its CSV holds it, quoted as pipelines.io.quarantine_for_csv quotes a pandas one:
    an apostrophe before a text cell a spreadsheet would run as a formula, numbers and keys as they are."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType

    out = []
    for column in frame.schema.fields:
        value = F.col(f"`{column.name}`")
        if column.name in QUARANTINE_IDS or not isinstance(column.dataType, StringType):
            out.append(value)
            continue
        risky = (
            value.rlike("^" + FORMULA_START.pattern) & F.expr(f"try_cast(`{column.name}` AS DOUBLE)").isNull()
        )
        out.append(F.when(risky, F.concat(F.lit("'"), value)).otherwise(value).alias(column.name))
    return frame.select(*out)


def _write_csv(frame, target: Path, work: Path) -> Path:
    """A Spark quarantine as one CSV file (header, values as pandas writes them), written on an executor."""
    folder = work / f"csv-{uuid.uuid4().hex}"
    with writing(target):
        (
            quarantine_for_csv(frame)
            .coalesce(1)
            .write.option("header", True)
            .option("escape", '"')
            .option("ignoreLeadingWhiteSpace", False)
            .option("ignoreTrailingWhiteSpace", False)
            .option("emptyValue", "")
            .csv(str(folder))
        )
        written = sorted(folder.glob("part-*"))
        if written:
            shutil.move(str(written[0]), target)
        else:  # no rows: a header only
            target.write_text(",".join(QUARANTINE_COLUMNS) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
    return target


def _clean_spark_folder(folder: Path) -> None:
    """Keep only the part files of a folder Spark wrote (no _SUCCESS marker, no .crc checksums)."""
    for path in folder.iterdir():
        if path.name.startswith(("_", ".")):
            path.unlink()


def input_fingerprint(where: SparkInput, tables: dict) -> str:
    """A short hash of the input: each file's digest (pipelines.io.path_digest); a Spark table by name is
    hashed in Spark (its row count and the sum of its rows' xxhash64, a number reaching the driver)."""
    from pyspark.sql import functions as F

    digest = hashlib.sha256()
    for name in sorted(tables):
        path = where.path(name)
        if path is not None:
            digest.update(f"{name}={path.name}:{path_digest(path)};".encode())
            continue
        frame = tables[name]
        row_hash = F.xxhash64(*[F.col(f"`{c}`") for c in frame.columns]).cast("decimal(38,0)")
        total = frame.agg(F.count("*").alias("n"), F.sum(row_hash).alias("h")).first()
        digest.update(f"{name}={where.describe(name)}:{total['n']}:{total['h']};".encode())
    return digest.hexdigest()[:16]


def publish_folder_run(staged: Path, q_staged: Path, output: Path, manifest: dict) -> list[Path]:
    """Publish a Spark run: the quarantine, the scores folder and the manifest, renamed into place in that
    order (as pipelines.score.publish_run does for a file); a failed rename puts back what was renamed."""
    q_path, m_path = quarantine_path_for(output), manifest_path_for(output)
    files = {
        "scores": {"file": output.name, "sha256": path_digest(staged)},
        "quarantine": {"file": q_path.name, "sha256": file_digest(q_staged)},
    }
    m_staged = m_path.with_name(f".{m_path.name}.{uuid.uuid4().hex}.tmp")
    with writing(m_path):
        m_staged.write_text(json.dumps({**manifest, "files": files}, indent=2) + "\n")
    moves = [(q_staged, q_path), (staged, output), (m_staged, m_path)]
    done: list[tuple[Path, Path | None]] = []
    try:
        # Another run publishing into the same folder (pandas or Spark) waits: renames never interleave.
        with folder_lock(output.parent):
            for source, target in moves:
                with writing(target):
                    backup = None
                    if target.exists():
                        backup = target.with_name(f".{target.name}.previous-{uuid.uuid4().hex}.tmp")
                        os.replace(target, backup)
                    done.append((target, backup))
                    if source.is_file():
                        os.chmod(source, 0o666 & ~_umask())
                    os.replace(source, target)  # the staged files are beside the output: same file system
    except BaseException:
        for target, backup in reversed(done):
            if target.is_dir():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, target)
        raise
    finally:
        m_staged.unlink(missing_ok=True)
    for _, backup in done:
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True) if backup.is_dir() else backup.unlink(missing_ok=True)
    return [output, q_path, m_path]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def session_for(master: str | None, conf: dict | None = None) -> Iterator[Any]:
    """The active Spark session (spark-submit, a notebook), else a new one on `master`, stopped at the end."""
    from pyspark.sql import SparkSession

    started = SparkSession.getActiveSession() is None
    spark = spark_session(master, conf=conf)
    try:
        with worker_errors():
            yield spark
    finally:
        if started:
            spark.stop()


# The errors of a part's validation that the pandas path says in a sentence (exit 3, pipelines.cli's
# expected_failures): on an executor Spark wraps them in a PythonException holding the worker's traceback as text.
WORKER_ERRORS = {"features.contracts.ContractError": ContractError, "pipelines.io.InputError": InputError}
WORKER_ERROR_LINE = re.compile(rf"^({'|'.join(map(re.escape, WORKER_ERRORS))}): (.+)$", re.MULTILINE)


# Spark's error for an input file a task could not read: the parts of a table's folder that disagree on a
# column's type, a part file corrupt or gone since the driver looked.
READ_FAILURE = re.compile(
    r"\[FAILED_READ_FILE\.(\w+)\] Encountered error while reading file (\S+)\. (.*?)(?: SQLSTATE: \w+)?$",
    re.MULTILINE,
)


@contextmanager
def worker_errors() -> Iterator[None]:
    """An error of WORKER_ERRORS raised on an executor, raised again on the driver as itself (its sentence),
    not as Spark's error with a Python traceback in it (which reached the user, exit 1); a file a task could
    not read (READ_FAILURE) as an InputError naming it (it reached the user as Java's stack trace, exit 1)."""
    try:
        yield
    except Exception as error:
        spark_error = type(error).__module__.startswith(("pyspark", "py4j"))
        found = WORKER_ERROR_LINE.findall(str(error)) if spark_error else []
        unread = READ_FAILURE.search(str(error)) if spark_error else None
        if unread is not None:
            raise InputError(read_failure_sentence(*unread.groups())) from error
        if not found:
            raise
        name, sentence = found[-1]
        raise WORKER_ERRORS[name](sentence) from error


def read_failure_sentence(kind: str, uri: str, reason: str) -> str:
    """The sentence for Spark's FAILED_READ_FILE.`kind` on the file at `uri` (a local file named by its path)."""
    from urllib.parse import unquote, urlparse

    where = unquote(urlparse(uri).path) if uri.startswith("file:") else uri
    fix = (
        "write every part file of the table with the same column types (or the table as one file)"
        if kind == "PARQUET_COLUMN_DATA_TYPE_MISMATCH"
        else "export the table again"
    )
    return f"{where}: Spark cannot read it ({reason.rstrip('.')}); {fix}"


def score_folder_on_spark(
    master: str | None,
    scorer,
    folder: Path | SparkInput,
    as_of: pd.Timestamp,
    output: Path,
    chunk_size: int = 50_000,
    reasons: bool = True,
    date_formats: DateFormats | None = None,
    conf: dict[str, str] | None = None,
    missing_rise: float = 0.5,
) -> SparkScoreResult:
    """`leadscore score --engine spark`: run_score_spark on the active session (spark-submit, a notebook),
    else on a new one on `master` with the settings `conf` (spark_session), stopped at the end."""
    with session_for(master, conf) as spark:
        return run_score_spark(
            spark,
            scorer,
            folder,
            as_of,
            output,
            chunk_size,
            reasons,
            date_formats,
            missing_rise,
        )
