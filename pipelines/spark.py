"""Spark scoring: the same artifact as a Spark UDF (`mlflow.pyfunc.spark_udf`), for very many leads."""

from __future__ import annotations

import os
import sys

import pandas as pd

from models.lead_input import tables_to_lead_rows
from pipelines.settings import tracking_uri

# The artifact's output, as Spark sees it (one struct per lead).
RESULT_SCHEMA = (
    "lead_id string, as_of string, score double, grade string, rank_score double, fit_tier string, "
    "intent_band string, disqualified boolean, disqualify_reasons string, disqualify_detail string, "
    "reasons string, reasons_positive string, reasons_negative string, fit_contribution double, "
    "intent_contribution double, model_name string, model_version string"
)


def local_spark_session(app_name: str = "leadscore"):
    """A local Spark session on loopback, quiet and without its web UI."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers need this environment's packages
    return (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )


def score_rows_with_spark(
    spark, model_uri: str, rows: pd.DataFrame, as_of: pd.Timestamp, reasons: bool = True
):
    """Score flat lead rows through the artifact as a Spark UDF; returns a Spark DataFrame of score rows."""
    from pyspark.sql import functions as F

    import mlflow

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
    scored["as_of"] = pd.to_datetime(scored["as_of"])
    return scored
