"""Spark's Python daemon with leadscore's imports done once, before it forks the Python workers.

Spark starts one daemon per executor (`python -m pyspark.daemon`) and forks a Python worker from it for each
task that needs one. A worker that runs leadscore's Pandas UDFs first imports pandas, pyarrow and the
project's validation and scoring code (seconds of work); workers are reused, but Spark keeps several of them
(a stage can hold two Python nodes per task) and each paid that import the first time it met a new function.
Profiled on a 465-lead scoring run: 5 to 17 seconds per task "initialising" against under a second running.
With `spark.python.daemon.module=pipelines.spark_daemon` (PipelineConfig.spark.preload_workers) the daemon
imports all that once and every worker is forked with it loaded (the pages are shared until written).

Forking after these imports is what multiprocessing's fork start method does with pandas loaded; no
thread of the daemon runs leadscore code. A module that cannot be imported is skipped: the worker imports
it itself, as without this daemon.
"""

from __future__ import annotations

import importlib

PRELOAD = (
    "pandas",
    "pyarrow",
    "pyspark.worker",
    # pandera tries pyspark.pandas from these at a first validation (under pandas 3 it warns, then fails)
    "pandera.backends.pandas.builtin_checks",
    "pandera.backends.pandas.builtin_hypotheses",
    "pyspark.sql.pandas.serializers",
    "features.keys",
    "pipelines.spark_job",
    "pipelines.spark_train",
    "models.scorer",
)


def preload(modules: tuple[str, ...] = PRELOAD) -> list[str]:
    """Import `modules`; the names of those that could not be imported."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the worker will import it (and report a real problem) itself
            missing.append(name)
    return missing


if __name__ == "__main__":
    import contextlib
    import io
    import warnings

    # Spark reads the daemon's port from its stdout and drains its stderr only after that: nothing an import
    # prints may reach either before the port is written.
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        preload()
    from pyspark.daemon import manager

    manager()
