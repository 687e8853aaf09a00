"""Job: serve the champion online with `mlflow models serve` on loopback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipelines.settings import tracking_uri


def serve_command(model_uri: str, host: str, port: int, workers: int) -> list[str]:
    """The `mlflow models serve` command line for the artifact, in this environment (no conda, no virtualenv)."""
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    return [
        str(mlflow_bin),
        "models",
        "serve",
        "-m",
        model_uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--env-manager",
        "local",
    ]


def serve_environment() -> dict[str, str]:
    """The tracking URI made explicit, and the virtualenv's bin on PATH (mlflow execs uvicorn from there)."""
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = tracking_uri()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_serve(model_uri: str, host: str = "127.0.0.1", port: int = 5001, workers: int = 1) -> None:
    """Replace this process with the model server (signals and exit code go straight to the scheduler)."""
    command = serve_command(model_uri, host, port, workers)
    os.execve(command[0], command, serve_environment())
