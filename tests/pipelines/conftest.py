"""Fixtures for pipeline tests: a private MLflow store per test and the fast config.

`small_history`, the shared trained models and the shared read-only champion store are in tests/conftest.py.
"""

import pytest

from pipelines.settings import load_config
from tests.conftest import FAST_OVERRIDES, SMALL, new_store

__all__ = ["SMALL"]  # tests here import it from this module


@pytest.fixture()
def mlflow_store(tmp_path, monkeypatch, empty_mlflow_db):
    """Point MLflow at a fresh sqlite store in tmp_path (never the project's mlflow/ folder).

    The store is a copy of one created and migrated once per session; creating a store from nothing is
    tested in test_tracking_store.py.
    """
    uri = new_store(empty_mlflow_db, tmp_path / "mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture()
def fast_config():
    """The shipped config with fewer bootstrap rounds and no model card (speed; the card has its own tests)."""
    return load_config(overrides=FAST_OVERRIDES)


@pytest.fixture(scope="session")
def spark_local():
    """One local Spark session (2 cores, 8 shuffle partitions) shared by the Spark tests of this process, with
    the settings leadscore gives a session it starts (PipelineConfig.spark: Python workers forked with the
    scoring code imported, one OpenMP thread each)."""
    from pipelines.spark_job import spark_session

    conf = load_config().spark.session_conf() | {"spark.default.parallelism": "2"}
    session = spark_session("local[2]", conf=conf | {"spark.ui.showConsoleProgress": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
