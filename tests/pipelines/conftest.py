"""Fixtures for pipeline tests: a private MLflow store per test and the fast config.

`small_history`, the shared trained models and the shared read-only champion store are in tests/conftest.py.
"""

import os

import pytest

from pipelines.settings import load_config
from tests.conftest import FAST_OVERRIDES, SMALL, new_store, point_mlflow_at

__all__ = ["SMALL"]  # tests here import it from this module


@pytest.fixture()
def mlflow_store(tmp_path, monkeypatch, empty_mlflow_db):
    """Point MLflow at a fresh sqlite store in tmp_path (never the project's mlflow/ folder).

    The store is a copy of one created and migrated once per session; creating a store from nothing is
    tested in test_tracking_store.py.
    """
    uri = new_store(empty_mlflow_db, tmp_path / "mlflow")
    point_mlflow_at(uri, monkeypatch)
    return uri


@pytest.fixture()
def fast_config():
    """The shipped config with fewer bootstrap rounds and no model card (speed; the card has its own tests)."""
    return load_config(overrides=FAST_OVERRIDES)


# The test session's JVM: the JIT's first tier only and one GC thread. Tests run many small Spark jobs, each
# planned and compiled once: C2's optimising compiler (threads of its own on a 2-core machine) costs more than it
# gives back here. Halved the Spark tests' wall time when measured; results are the same whatever the JIT does.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# Spark SQL's expressions interpreted rather than compiled to Java per query (Spark's own fallback path, same
# results): on test-sized tables compiling costs more than it saves (the JVM's CPU 54 -> 45 s on two scoring runs).
TEST_SPARK_SETTINGS = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="session")
def spark_local():
    """One local Spark session (2 cores, 8 shuffle partitions) shared by the Spark tests of this process, with
    the settings leadscore gives a session it starts (PipelineConfig.spark: Python workers forked with the
    scoring code imported, one OpenMP thread each) and TEST_SPARK_SETTINGS. The JVM gets TEST_JVM_OPTIONS
    unless this process already has one or PYSPARK_SUBMIT_ARGS says how to start it. (The Spark modules share
    one pytest-xdist worker: tests/xdist_scope.py.)"""
    from pyspark import SparkContext

    from pipelines.spark_job import spark_session

    conf = load_config().spark.session_conf() | {"spark.default.parallelism": "2"}
    with pytest.MonkeyPatch.context() as patch:
        if SparkContext._gateway is None and "PYSPARK_SUBMIT_ARGS" not in os.environ:
            patch.setenv("PYSPARK_SUBMIT_ARGS", f'--driver-java-options "{TEST_JVM_OPTIONS}" pyspark-shell')
        session = spark_session("local[2]", conf=conf | TEST_SPARK_SETTINGS)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
