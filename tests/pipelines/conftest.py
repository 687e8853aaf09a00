"""Shared fixtures for pipeline tests: a small synthetic history and a private MLflow store per test."""

import pytest

from features.synthetic import GeneratorConfig, generate_history
from pipelines.settings import load_config

SMALL = GeneratorConfig(accounts=2500, months=18, seed=5)


@pytest.fixture(scope="session")
def small_history():
    return generate_history(SMALL)


@pytest.fixture()
def mlflow_store(tmp_path, monkeypatch):
    """Point MLflow at a fresh sqlite store in tmp_path (never the project's mlflow/ folder)."""
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    (tmp_path / "mlflow").mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.fixture()
def fast_config():
    """The shipped config with fewer bootstrap rounds and no model card (speed; the card has its own tests)."""
    return load_config(overrides=["model.bootstrap_rounds=20", "registry.model_card=false"])
