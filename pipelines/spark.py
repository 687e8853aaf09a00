"""Spark scoring: the same artifact as a Spark UDF (`mlflow.pyfunc.spark_udf`), for very many leads."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

import pandas as pd

from models.lead_input import check_frame_fields, tables_to_lead_rows
from models.score_table import SCORE_KINDS, with_score_dtypes
from pipelines.settings import tracking_uri

# Spark's type for each kind of score column. The artifact writes times as ISO 8601 text (JSON and Spark
# carry no pandas timestamps), so a time crosses as a string; score_tables_with_spark reads it back.
SPARK_TYPES = {"text": "string", "time": "string", "number": "double", "flag": "boolean"}


def result_schema(time_type: str = "string") -> str:
    """The score table as Spark sees it, a DDL string derived from the score table's schema. The artifact's
    output (one struct per lead) carries times as text; Spark's own scoring (pipelines/spark_job.py) keeps
    them as `timestamp_ntz`."""
    types = SPARK_TYPES | {"time": time_type}
    return ", ".join(f"{name} {types[kind]}" for name, kind in SCORE_KINDS.items())


RESULT_SCHEMA = result_schema()

# Spark's console log for a JVM leadscore starts itself: its errors, not its warnings nor the failed tasks.
SPARK_LOG_CONFIG = Path(__file__).parent / "defaults" / "spark-log4j2.properties"
# The files log4j2 looks for on the class path, where Spark puts SPARK_CONF_DIR.
LOG4J_FILES = tuple(
    f"{stem}.{ext}"
    for stem in ("log4j2-test", "log4j2")
    for ext in ("properties", "yaml", "yml", "json", "jsn", "xml")
)


def own_log_config(environ: MutableMapping[str, str]) -> bool:
    """Whether Spark's log4j2 is configured by the user: LOG4J_CONFIGURATION_FILE, or a log4j2 file in
    SPARK_CONF_DIR (else SPARK_HOME/conf). (A -Dlog4j2.configurationFile in the driver's Java options wins by
    itself: log4j2 prefers a system property to the environment.)"""
    if environ.get("LOG4J_CONFIGURATION_FILE"):
        return True
    home = environ.get("SPARK_HOME")
    conf_dir = environ.get("SPARK_CONF_DIR") or (str(Path(home) / "conf") if home else None)
    return conf_dir is not None and any((Path(conf_dir) / name).is_file() for name in LOG4J_FILES)


def quiet_spark_log(environ: MutableMapping[str, str] = os.environ) -> None:
    """Spark's console log for a JVM leadscore is about to start: SPARK_LOG_CONFIG (errors only, and not a
    failed task's Java and Python stack traces: its error reaches the driver, which says it in a sentence, or
    whole for an unexpected one), unless the user configured log4j2 (own_log_config)."""
    if not own_log_config(environ):
        environ["LOG4J_CONFIGURATION_FILE"] = str(SPARK_LOG_CONFIG)


def local_spark_session(app_name: str = "leadscore"):
    """A local Spark session on loopback, quiet and without its web UI."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's packages
    if SparkSession.getActiveSession() is None:
        quiet_spark_log()
    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.showConsoleProgress", "false")
        # workers fork from a daemon that imported pandas, pandera's backends and the scoring code quietly
        .config("spark.python.daemon.module", "pipelines.spark_daemon")
        .getOrCreate()
    )


def score_rows_with_spark(
    spark, model_uri: str, rows: pd.DataFrame, as_of: pd.Timestamp, reasons: bool = True
):
    """Score flat lead rows through the artifact as a Spark UDF; returns a Spark DataFrame of score rows.
    LeadInputError, on the driver, for rows without a field that feeds the score (as the artifact refuses
    them on the executors, behind Spark's worker traceback)."""
    from pyspark.sql import functions as F

    import mlflow

    check_frame_fields(rows)

    mlflow.set_tracking_uri(tracking_uri())
    udf = mlflow.pyfunc.spark_udf(
        spark,
        model_uri,
        result_type=RESULT_SCHEMA,
        env_manager="local",
        params={"as_of": str(as_of), "reasons": reasons},
    )
    frame = spark.createDataFrame(rows.astype(object).where(rows.notna(), None))
    scored = frame.select(udf(F.struct(*[F.col(c) for c in rows.columns])).alias("s")).select("s.*")
    return scored


def score_tables_with_spark(
    model_uri: str,
    tables: dict[str, pd.DataFrame],
    leads: pd.DataFrame,
    as_of: pd.Timestamp,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score `leads` (with their accounts and activities from `tables`) on a local Spark session."""
    rows = tables_to_lead_rows({**tables, "leads": leads})
    spark = local_spark_session()
    scored = score_rows_with_spark(spark, model_uri, rows, as_of, reasons).toPandas()
    return with_score_dtypes(scored)
