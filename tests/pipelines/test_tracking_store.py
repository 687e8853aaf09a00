"""The local MLflow store: jobs that start at once on a fresh store do not race in its creation."""

import subprocess
import sys

import pytest

SETUP = "from pipelines.store import setup; setup('leadscore'); print('ok')"


@pytest.mark.slow  # two processes each import mlflow and migrate a store
def test_jobs_starting_at_once_on_a_fresh_store_both_succeed(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    env = {"MLFLOW_TRACKING_URI": uri, "PATH": "/usr/bin:/bin"}
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", SETUP], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [job.communicate(timeout=180) for job in jobs]
    for job, (out, err) in zip(jobs, results, strict=True):
        assert job.returncode == 0, err[-2000:]
        assert out.strip().endswith("ok")
