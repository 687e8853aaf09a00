"""The `score` job end to end: the source the model reads, scored as of a date and published.

A folder of CRM tables scored in process is streamed part by part (pipelines/stream.py, bounded memory),
which publishes its own files; anything else (a database, Spark, a flat export) is scored by `run_score` and
written to a file or a database table (pipelines/locations.py). Every route accounts for every row read.

Before publishing, each lead gets its trend against the last run of the same model name (models/trend.py):
the scores being replaced at the output (a file, or the table's latest earlier run), or `--previous`; a file
found at or beside the output only when its manifest records the same model store and input. Only
lead_id, score and grade of that run are held in memory. A previous run that cannot be read, lacks columns or
comes from another model leaves the trend empty and says why in one sentence; it never stops the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from features.dates import naive_utc
from models.score_table import validated, with_score_dtypes
from models.scorer import Scorer
from models.trend import (
    PREVIOUS_COLUMNS,
    TREND_COLUMNS,
    TrendReport,
    comparable_run,
    trend_counts,
    with_trend,
)
from pipelines.io import InputError, OutputError, format_of, ids_as_written
from pipelines.locations import is_database_url
from pipelines.score import (
    ScoreResult,
    check_scoreable,
    manifest_path_for,
    quarantine_path_for,
    run_identity,
    run_manifest,
    run_score,
    scores_from_csv,
    tables_fingerprint,
    write_scores_file,
)
from pipelines.settings import PipelineConfig
from pipelines.sources import Source, check_scorer_reads
from pipelines.stream import run_score_streaming

if TYPE_CHECKING:
    from pipelines.spark_job import SparkScoreResult


def run_score_job(
    scorer: Scorer,
    source: Source,
    as_of: pd.Timestamp,
    output: str,
    cfg: PipelineConfig,
    *,
    table: str | None = None,
    reasons: bool = True,
    engine: str = "pandas",
    model_uri: str | None = None,
    spark_master: str | None = None,
    trend: bool = True,
    previous: str | None = None,
) -> tuple[ScoreResult | SparkScoreResult, list[str]]:
    """Score `source` with `scorer` as of `as_of` and publish to `output` (a file, or a database URL with
    `table`); the result and what was written, one line each.

    With `trend`, every lead is compared with the last run of the same model name (see previous_scores):
    `previous` (an earlier scores file) when given, else the run at or beside `output`; `result.trend`
    reports it. Spark scoring of a folder leaves the trend empty and says so."""
    to_database = is_database_url(output)
    if to_database and table:
        from pipelines.db import check_scores_schema, check_scores_table

        check_scores_schema(output, table)
        check_scores_table(output, table)
    folder = source.stream_folder
    steady = cfg.scoring.trend_steady
    if engine == "spark" and not to_database:  # a folder or Spark tables by name: read by Spark, published
        from pipelines.spark_job import score_folder_on_spark, spark_input_of

        where = spark_input_of(source)
        if where is not None:
            check_scorer_reads(scorer, source, model_uri or "the model")
            path = Path(output)
            chunk, conf = cfg.scoring.chunk_size, cfg.spark.session_conf()
            rise = cfg.scoring.missing_rise
            spark_result = score_folder_on_spark(
                spark_master, scorer, where, as_of, path, chunk, reasons, cfg.input, conf, rise
            )
            if trend:  # Spark's parts are not joined with the last run: the columns stay empty
                spark_result.trend = TrendReport(
                    "the spark engine does not compare with the previous run yet: the trend columns are "
                    "empty (score with --engine pandas for a trend)",
                    warning=True,
                )
            return spark_result, [output, str(quarantine_path_for(path)), str(manifest_path_for(path))]
    if not to_database and Path(output).is_dir():  # before any work: the rename onto it failed at the end
        raise OutputError(
            f"cannot write {output}: it is a folder (an --engine spark run's scores are one), which a scores "
            "file cannot replace; score with --engine spark, write elsewhere, or remove the folder"
        )
    last = None
    if trend and rows_numbered(source):  # row 7 of this file is another lead than row 7 of the last one
        last = PreviousScores(
            None,
            "the export has no record id (its spec numbers the rows: id_from_row), so a lead cannot be found "
            "in the last run: no trend; add the record id to the export for one",
        )
    elif trend:
        last = previous_scores(
            output, table, previous, scorer.model_name, as_of, scorer.model_version, run_identity(scorer)
        )
    if folder is not None and not to_database:  # streamed in parts in this process: publishes itself
        check_scorer_reads(scorer, source, model_uri or "the model")
        path = Path(output)
        rows = last.rows if last is not None else None
        result = run_score_streaming(
            scorer,
            folder,
            as_of,
            path,
            cfg.scoring.chunk_size,
            reasons,
            cfg.input,
            add_trend=lambda block: with_trend(block, rows, steady),
            missing_rise=cfg.scoring.missing_rise,
        )
        if last is not None and result.grades is not None:
            result.trend = last.report(with_trend(result.grades, rows, steady))
        return result, [output, str(quarantine_path_for(path)), str(manifest_path_for(path))]
    result = run_score(
        scorer,
        source,
        as_of,
        None,
        cfg.scoring.chunk_size,
        reasons,
        engine=engine,
        model_uri=model_uri,
        date_formats=cfg.input,
        missing_rise=cfg.scoring.missing_rise,
    )
    check_scoreable(result, None if to_database else Path(output))
    if last is not None:
        result.scores = validated(with_score_dtypes(with_trend(result.scores, last.rows, steady)))
        result.trend = last.report(result.scores)
    written = write_score_output(
        output,
        table,
        result,
        as_of,
        scorer.model_version,
        scorer.model_name,
        tables_fingerprint(source.tables),
        run_identity(scorer),
        lock_timeout=cfg.scoring.database_lock_timeout,
    )
    if not to_database:
        written.append(str(manifest_path_for(Path(output))))
    return result, written


def write_score_output(
    location: str | Path,
    table: str | None,
    result: ScoreResult,
    as_of: pd.Timestamp,
    model_version: str,
    model_name: str = "leadscore",
    input_fingerprint: str = "",
    identity: dict[str, str] | None = None,
    lock_timeout: float | None = None,
) -> list[str]:
    """Write a scoring run's scores and quarantine; what was written, one line each, for the console.

    To a database URL: table `table` and `<table>_quarantine`, one transaction, replacing an earlier write of
    the same as-of by the same model name. To a file path: the scores file and the quarantine CSV beside it,
    published together with the run's manifest (pipelines.score.publish_run).
    """
    if is_database_url(location):
        from pipelines.db import display_url, write_scores_to_db

        if not table:
            raise InputError("--table is required when --output is a database URL, e.g. --table lead_scores")
        written = write_scores_to_db(
            str(location),
            table,
            result.scores,
            result.quarantine,
            as_of,
            model_version,
            model_name,
            lock_timeout,
        )
        where = display_url(str(location))
        replaced = (
            f", replacing {written.replaced:,} rows of an earlier run of this as-of"
            if written.replaced
            else ""
        )
        return [
            f"{where} table {written.table}: {written.rows:,} scores{replaced}",
            f"{where} table {written.quarantine_table}: {written.quarantine_rows:,} quarantined rows",
        ]
    if table:
        raise InputError(f"--table {table!r} applies only to a database --output; {location} is a file")
    manifest = run_manifest(result, as_of, model_name, model_version, input_fingerprint, identity)
    scores, quarantine, _ = write_scores_file(result.scores, result.quarantine, Path(location), manifest)
    return [str(scores), str(quarantine)]


@dataclass(frozen=True)
class PreviousScores:
    """The run a new run is compared with (lead_id, score, grade; None: no trend) and one sentence about it."""

    rows: pd.DataFrame | None
    sentence: str
    warning: bool = False  # a previous run was there but cannot be compared with

    def report(self, scores: pd.DataFrame) -> TrendReport:
        """What the console says of the trend of `scores` (their leads per trend, when there was a run)."""
        counts = trend_counts(scores) if self.rows is not None else None
        return TrendReport(self.sentence, counts, self.warning)


def rows_numbered(source: object) -> bool:
    """Whether `source` is an export whose spec numbers its rows for ids (id_from_row)."""
    spec = getattr(source, "spec", None)
    return bool(getattr(spec, "id_from_row", False))


def previous_scores(
    output: str,
    table: str | None,
    previous: str | None,
    model_name: str,
    as_of: pd.Timestamp,
    model_version: str | None = None,
    identity: dict[str, str] | None = None,
) -> PreviousScores:
    """The last run to compare with: the file `previous`; else the run at `output` (a file, or the table's
    latest earlier run); else, for a new file (dated outputs, scores/2026-10-01.parquet), the latest run of
    `model_name` published beside it before `as_of` (by the manifests). Never raises for a bad previous run:
    the sentence says why there is no trend, or that the model's version changed since that run.

    With the run's `identity` (pipelines.score.run_identity), a run found at or beside `output` is compared
    only when its manifest records the same (another store's model of the same name, or a manifest from
    before identities were recorded: no trend, said); a `--previous` file is the user's choice and is
    compared, the sentence saying when its manifest names another store or input."""
    from pipelines.db import display_url, read_previous_scores

    other = None  # how the run compared with differs from this one (other_model), when known
    if previous is None and is_database_url(output):
        where = f"{display_url(output)} table {table}"
        try:
            frame = read_previous_scores(output, str(table), model_name, as_of)
        except Exception as error:  # any failure to read an optional input: said, and no trend
            return PreviousScores(
                None, f"cannot read the previous scores at {where}: {_why(error)}: no trend", True
            )
        if frame is None:
            return PreviousScores(None, f"no earlier scores in {where}: the trend starts with the next run")
    else:
        path = Path(previous if previous is not None else output)
        if previous is None and not path.exists():
            path = latest_run_beside(path, model_name, as_of, identity) or path
        where = str(path)
        if not path.exists():
            if previous is None:
                others = len(runs_beside(path, model_name, as_of)) if identity is not None else 0
                return PreviousScores(None, no_run_beside(path, model_name, others, identity), others > 0)
            return PreviousScores(None, f"--previous {where}: no such file: no trend", True)
        other = other_model(path, model_name, identity, unrecorded=previous is None)
        if other is not None and previous is None:
            return PreviousScores(None, f"previous scores at {where} were {other}: no trend", True)
        try:
            frame = read_previous_file(path)
        except Exception as error:  # any failure to read an optional input: said, and no trend
            return PreviousScores(
                None, f"cannot read the previous scores at {where}: {_why(error)}: no trend", True
            )
    try:
        rows, sentence = comparable_run(frame, model_name, as_of, where, model_version)
    except (TypeError, ValueError) as error:  # e.g. as_of with a time zone: not a run leadscore published
        return PreviousScores(
            None, f"previous scores at {where} are not comparable: {_why(error)}: no trend", True
        )
    if rows is not None and previous is not None and other is not None:  # the user's choice: compared, said
        sentence += f"; that run was {other}"
    return PreviousScores(rows, sentence, warning=rows is None)


def latest_run_beside(
    output: Path, model_name: str, as_of: pd.Timestamp, identity: dict[str, str] | None = None
) -> Path | None:
    """The scores of the latest run of `model_name` before `as_of` published in `output`'s folder (read from
    the manifests beside it: as_of, model name, scores file), or None. An unreadable manifest is skipped; with
    `identity`, so is a run whose manifest does not record the same (see same_model)."""
    found = [
        (when, scores)
        for when, scores, run in runs_beside(output, model_name, as_of)
        if identity is None or same_model(run, identity)
    ]
    return max(found, key=lambda found_run: found_run[0])[1] if found else None


def runs_beside(output: Path, model_name: str, as_of: pd.Timestamp) -> list[tuple[pd.Timestamp, Path, dict]]:
    """The runs of `model_name` before `as_of` published in `output`'s folder: as-of, scores file, manifest."""
    found = []
    for manifest in output.parent.glob("*.manifest.json") if output.parent.is_dir() else []:
        try:
            run = json.loads(manifest.read_text())
            when = naive_utc(run["as_of"])  # a manifest written with an offset: in UTC
            scores = manifest.with_name(run["files"]["scores"]["file"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if run.get("model_name") == model_name and when < naive_utc(as_of) and scores.exists():
            found.append((when, scores, run))
    return found


def same_model(run: dict, identity: dict[str, str]) -> bool:
    """Whether a run's manifest records the `identity` of this run (its model's store, what it reads). A
    manifest from before identities were recorded does not: it may be another store's model of the same name."""
    return all(run.get(key) == value for key, value in identity.items())


def no_run_beside(output: Path, model_name: str, others: int, identity: dict[str, str] | None) -> str:
    """Why there is no run to compare with at or beside `output`: none, or none of this run's `identity`
    (`others`: the earlier runs of `model_name` beside it, of another identity)."""
    if not others:
        return f"no previous scores at {output} or beside it: the trend starts with the next run"
    runs, are = ("run", "is") if others == 1 else ("runs", "are")
    return (
        f"no previous scores at {output} or beside it from this model (store {identity_text(identity)}); "
        f"{others} earlier {runs} of model {model_name} beside it came from another tracking store or input (or "
        f"from a leadscore that did not record them in the manifest) and {are} not compared: the trend starts "
        "with the next run"
    )


def other_model(
    scores: Path, model_name: str, identity: dict[str, str] | None, unrecorded: bool = True
) -> str | None:
    """How the published run `scores` differs from this run's model, from the manifest beside it ("written by
    model leadscore of another tracking store (...)"), or None: the same, or nothing to compare (no manifest,
    or another model name, which comparable_run says). With `unrecorded`, a manifest from before identities
    were recorded is said to differ too (it may be another store's model of the same name)."""
    try:
        run = json.loads(manifest_path_for(scores).read_text())
        named = run["files"]["scores"]["file"] == scores.name
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if identity is None or not named or run.get("model_name") != model_name or same_model(run, identity):
        return None
    if "model_store" not in run:
        return (
            "published by a leadscore that did not record the model's tracking store and input in the "
            "manifest, so they may be another store's model of the same name (the next run compares)"
            if unrecorded
            else None
        )
    if run.get("model_store") != identity.get("model_store"):
        return (
            f"written by model {model_name} of another tracking store ({run.get('model_store')}), not this "
            f"run's ({identity.get('model_store')})"
        )
    return f"written by model {model_name} for another input ({run.get('model_input')}), not this run's"


def identity_text(identity: dict[str, str] | None) -> str:
    """A run's identity in words: "sqlite:///.../mlflow.db, CRM tables"."""
    return ", ".join((identity or {}).values())


def read_previous_file(path: Path) -> pd.DataFrame:
    """A published scores file's (or Spark folder's) columns a trend needs, those of them it has."""
    wanted = [
        *PREVIOUS_COLUMNS,
        "model_version",
        *(c for c in TREND_COLUMNS if c in ("trend", "previous_score", "previous_grade")),
    ]
    if format_of(path) == "parquet":
        import pyarrow.dataset as ds

        present = set(ds.dataset(str(path), format="parquet").schema.names)
        return pd.read_parquet(path, columns=[c for c in wanted if c in present])
    present = set(pd.read_csv(path, nrows=0).columns)
    columns = [c for c in wanted if c in present]
    text = ("grade", "model_name", "model_version", "trend", "previous_grade")
    options = ids_as_written(columns, ("lead_id",))
    options["dtype"] |= {c: "str" for c in text if c in columns}
    frame = pd.read_csv(path, usecols=columns, **options)
    if "as_of" in frame.columns:
        frame["as_of"] = pd.to_datetime(frame["as_of"], errors="coerce")
    return frame


def _why(error: Exception) -> str:
    """An error's own first line (what a user can act on), without the traceback."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def crm_path_for(output: Path, crm_format: str) -> Path:
    """scores.parquet -> scores.hubspot.csv: the CRM import file beside the published scores."""
    return output.with_name(f"{output.stem}.{crm_format}.csv")


def write_crm_file(
    output: str, crm_format: str, cfg: PipelineConfig, source: Source, scores: pd.DataFrame | None = None
) -> Path:
    """The published scores of `output` as `crm_format`'s import file (its id and field names, reasons cut to
    a text field), with the leads-table columns `crm_export.pass_through` names, written atomically beside it.

    Pass-through columns (an email, a company) go to this file only, never to the console or MLflow."""
    from models.crm_export import crm_rows
    from pipelines.io import read_frame, write_frame

    if is_database_url(output):
        raise InputError("--crm-format writes a file beside the scores; give a file --output, not a database")
    fields = cfg.crm_export.formats.get(crm_format)
    if fields is None:
        known = ", ".join(sorted(cfg.crm_export.formats))
        raise InputError(f"--crm-format {crm_format!r} is not configured (crm_export.formats has {known})")
    path = Path(output)
    if scores is None:  # streamed: read what was published (ids as text, as they were written)
        scores = (
            pd.read_parquet(path)
            if path.suffix == ".parquet"
            else scores_from_csv(read_frame(path, ids=("lead_id",)))
        )
    published = scores
    leads = source.lead_rows() if cfg.crm_export.pass_through else None
    if leads is not None:
        missing = [c for c in cfg.crm_export.pass_through if c not in leads.columns]
        if missing:
            raise InputError(
                f"crm_export.pass_through names {', '.join(map(repr, missing))}, which the leads lack; "
                "fix the setting"
            )
    # For the CRM's importer, which stores each cell as written: no apostrophes by design (README).
    return write_frame(crm_rows(published, fields, cfg.crm_export, leads), crm_path_for(path, crm_format))
