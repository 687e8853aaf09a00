"""The console shows leadscore's sentences, not other libraries' warnings and log lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a subprocess imports the CLI
def test_a_command_prints_no_library_warnings(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_LOGGING")}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "validate", "--input", str(tmp_path / "none")],
        cwd=ROOT,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    assert "Warning" not in done.stderr and "Warning" not in done.stdout, done.stderr


@pytest.mark.slow  # subprocesses import the CLI
def test_mlflow_logs_errors_only_unless_asked(tmp_path: Path):
    code = "import os, pipelines.cli; print(os.environ['MLFLOW_LOGGING_LEVEL'])"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_LOGGING")}
    quiet = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    asked = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env | {"MLFLOW_LOGGING_LEVEL": "INFO"},
        capture_output=True,
        text=True,
    )
    assert quiet.stdout.strip() == "ERROR" and asked.stdout.strip() == "INFO"
