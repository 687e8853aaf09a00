"""The `score` job end to end: the source the model reads, scored as of a date and published.

A folder of CRM tables scored in process is streamed part by part (pipelines/stream.py, bounded memory),
which publishes its own files; anything else (a database, Spark, a flat export) is scored by `run_score` and
written to a file or a database table (pipelines/locations.py). Every route accounts for every row read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from models.scorer import Scorer
from pipelines.io import InputError
from pipelines.locations import is_database_url
from pipelines.score import (
    ScoreResult,
    check_scoreable,
    manifest_path_for,
    quarantine_path_for,
    run_manifest,
    run_score,
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
) -> tuple[ScoreResult | SparkScoreResult, list[str]]:
    """Score `source` with `scorer` as of `as_of` and publish to `output` (a file, or a database URL with
    `table`); the result and what was written, one line each."""
    to_database = is_database_url(output)
    folder = source.stream_folder
    if engine == "spark" and not to_database:  # a folder or Spark tables by name: read by Spark, published
        from pipelines.spark_job import score_folder_on_spark, spark_input_of

        where = spark_input_of(source)
        if where is not None:
            check_scorer_reads(scorer, source, model_uri or "the model")
            path = Path(output)
            spark_result = score_folder_on_spark(
                spark_master, scorer, where, as_of, path, cfg.scoring.chunk_size, reasons, cfg.input
            )
            return spark_result, [output, str(quarantine_path_for(path)), str(manifest_path_for(path))]
    if folder is not None and not to_database:  # streamed in parts, in process or on Spark: publishes itself
        check_scorer_reads(scorer, source, model_uri or "the model")
        path = Path(output)
        result: ScoreResult | SparkScoreResult
        if engine == "spark":
            from pipelines.spark_job import score_folder_on_spark

            result = score_folder_on_spark(
                spark_master, scorer, folder, as_of, path, cfg.scoring.chunk_size, reasons, cfg.input
            )
        else:
            result = run_score_streaming(
                scorer, folder, as_of, path, cfg.scoring.chunk_size, reasons, cfg.input
            )
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
    )
    check_scoreable(result, None if to_database else Path(output))
    written = write_score_output(
        output,
        table,
        result,
        as_of,
        scorer.model_version,
        scorer.model_name,
        tables_fingerprint(source.tables),
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
    manifest = run_manifest(result, as_of, model_name, model_version, input_fingerprint)
    scores, quarantine, _ = write_scores_file(result.scores, result.quarantine, Path(location), manifest)
    return [str(scores), str(quarantine)]


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
    from pipelines.io import write_frame

    if is_database_url(output):
        raise InputError("--crm-format writes a file beside the scores; give a file --output, not a database")
    fields = cfg.crm_export.formats.get(crm_format)
    if fields is None:
        known = ", ".join(sorted(cfg.crm_export.formats))
        raise InputError(f"--crm-format {crm_format!r} is not configured (crm_export.formats has {known})")
    path = Path(output)
    if scores is None:  # streamed: read what was published (ids as text, as they were written)
        scores = (
            pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype={"lead_id": str})
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
    return write_frame(crm_rows(published, fields, cfg.crm_export, leads), crm_path_for(path, crm_format))
