"""The local MLflow store: jobs that start at once on a fresh store do not race in its creation."""

import multiprocessing
import os

import pytest


def _job(uri: str, said) -> None:
    """One job: point at `uri` and set up the store and the experiment, as every command does first."""
    from pipelines.store import setup

    os.environ["MLFLOW_TRACKING_URI"] = uri
    setup("leadscore")
    said.send("ok")


@pytest.mark.slow  # two processes each create and migrate the store
def test_jobs_starting_at_once_on_a_fresh_store_both_succeed(tmp_path):
    """Two processes forked from this one (mlflow already imported: the race is in creating the store, not in
    importing), started together on a store that does not exist yet."""
    import pipelines.store  # noqa: F401  imported (with mlflow) before the fork: both reach the store at once

    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    fork = multiprocessing.get_context("fork")
    pipes = [fork.Pipe(duplex=False) for _ in range(2)]
    jobs = [fork.Process(target=_job, args=(uri, sending)) for _, sending in pipes]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(timeout=180)
    for job, (receiving, _) in zip(jobs, pipes, strict=True):
        assert job.exitcode == 0, f"a job failed (exit code {job.exitcode}); its error is above"
        assert receiving.poll() and receiving.recv() == "ok"
    assert (tmp_path / "mlflow" / "mlflow.db").exists()


def test_a_test_store_wins_over_the_store_an_earlier_command_left_mlflow_at(tmp_path, monkeypatch):
    """A command (pipelines.store.setup) sets MLflow's current URI, which MLflow prefers to the variable: a
    later test in the same process pointed at its own store must read that store, not the earlier one (the
    in-process pyfunc tests read a registry that was not theirs when they ran after test_serving)."""
    import mlflow
    from pipelines.store import setup
    from tests.conftest import point_mlflow_at

    with pytest.MonkeyPatch.context() as earlier:
        earlier.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'earlier.db'}")
        setup()
    mine = f"sqlite:///{tmp_path / 'mine.db'}"
    point_mlflow_at(mine, monkeypatch)
    assert mlflow.get_tracking_uri() == mine
