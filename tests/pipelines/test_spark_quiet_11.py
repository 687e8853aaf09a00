"""A Spark run prints leadscore's summary or sentence, not Spark's logs: no Java or Python stack trace of a
failed task, no WARN lines, no stage progress bars, no worker warnings. (This module shares the Spark modules'
worker: tests/xdist_scope.py; its end-to-end test starts its own JVM, as a user's command does.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from features.synthetic import GeneratorConfig, generate_history
from pipelines.db import write_tables_to_db
from pipelines.io import write_tables
from pipelines.settings import load_config
from pipelines.spark import SPARK_LOG_CONFIG, own_log_config, quiet_spark_log
from pipelines.spark_job import given_settings
from tests.pipelines.conftest import TEST_JVM_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
# What Spark printed around a run: a failed task's log and its Java and Python stack traces, the default
# profile's WARN lines, the stage progress bars, a Python worker's FutureWarning about pandas 3.
NOISE = (
    "Traceback",
    "at org.apache",
    "Exception in task",
    "Lost task",
    " WARN ",
    " ERROR ",
    "[Stage",
    "Warning:",
)

# Runs the CLI as `python -m pipelines.cli` does, once per argument list, in one process (one JVM, as one
# command has): after each run its exit code on both streams.
RUNS = """
import sys
from pipelines.cli import main

for args in sys.argv[1].split(" ;; "):
    sys.argv, code = ["leadscore", *args.split(" ")], 0
    try:
        main()
    except SystemExit as done:
        code = done.code
    for stream in (sys.stdout, sys.stderr):
        print(f"=== exit {code}", file=stream, flush=True)
"""


def _runs(*commands: list[str]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of each command, run in one subprocess."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("LOG4J_CONFIGURATION_FILE", "PYSPARK_SUBMIT_ARGS")
    }
    env["PYTHONPATH"] = str(ROOT)
    env["PYSPARK_SUBMIT_ARGS"] = f'--driver-java-options "{TEST_JVM_OPTIONS}" pyspark-shell'  # speed only
    done = subprocess.run(
        [sys.executable, "-c", RUNS, " ;; ".join(" ".join(c) for c in commands)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    outs, errs = (re.split(r"=== exit (-?\d+)\n", stream) for stream in (done.stdout, done.stderr))
    assert len(outs) == 2 * len(commands) + 1, done.stderr[-3000:]
    return [(int(code), out, err) for code, out, err in zip(outs[1::2], outs[0::2], errs[0::2], strict=False)]


@pytest.mark.slow  # a JVM of its own and three Spark runs
def test_spark_runs_say_the_sentence_or_the_summary_and_no_stack_trace(tmp_path, champion_store):
    """A date format never guessed, found on an executor: Spark logged the failed task (ERROR Executor:
    Exception in task, WARN TaskSetManager: Lost task, each with the worker's Python traceback and the Java
    stack) above the sentence (exit 3). A good run printed the default log profile's lines, WARN lines, stage
    progress bars and a worker's FutureWarning above the summary, on a folder and on a database (the artifact
    as a Spark UDF) alike."""
    tables = generate_history(GeneratorConfig(accounts=30, months=12, seed=3)).tables()
    leads = tables["leads"].astype({"created_at": object})
    leads.loc[3, "created_at"] = "05/01/2026"
    write_tables({**tables, "leads": leads}, tmp_path / "bad", "csv")
    write_tables(tables, tmp_path / "good", "csv")
    write_tables_to_db(f"duckdb:///{tmp_path / 'crm.duckdb'}", tables)
    score = ["score", "--engine", "spark", "--as-of", "2026-10-01", "--no-trend", "--input"]
    bad, good, database = _runs(
        [*score, str(tmp_path / "bad"), "--output", str(tmp_path / "out-bad" / "scores.parquet")],
        [*score, str(tmp_path / "good"), "--output", str(tmp_path / "out-good" / "scores.parquet")],
        [*score, f"duckdb:///{tmp_path / 'crm.duckdb'}", "--output", str(tmp_path / "out-db" / "s.parquet")],
    )
    assert bad[0] == 3 and "table 'leads', column 'created_at'" in " ".join(bad[1].split()), bad
    assert good[0] == database[0] == 0 and "grades" in good[1] and "grades" in database[1], (good, database)
    for _, out, err in (bad, good, database):
        assert [word for word in NOISE if word in out + err] == [], err


def test_leadscore_quiets_spark_unless_log4j2_is_configured_by_the_user(tmp_path):
    """The shipped log4j2 file is given to a JVM leadscore starts; the user's own wins (LOG4J_CONFIGURATION_FILE
    or a log4j2 file in SPARK_CONF_DIR, not the template a Spark download ships)."""
    env: dict[str, str] = {}
    quiet_spark_log(env)
    assert env["LOG4J_CONFIGURATION_FILE"] == str(SPARK_LOG_CONFIG) and SPARK_LOG_CONFIG.is_file()
    mine = {"LOG4J_CONFIGURATION_FILE": "/etc/mine.xml"}
    quiet_spark_log(mine)
    assert mine == {"LOG4J_CONFIGURATION_FILE": "/etc/mine.xml"}
    spark_home = tmp_path / "spark"
    (spark_home / "conf").mkdir(parents=True)
    (spark_home / "conf" / "log4j2.properties.template").write_text("")
    assert not own_log_config({"SPARK_HOME": str(spark_home)})
    (spark_home / "conf" / "log4j2.xml").write_text("")
    assert own_log_config({"SPARK_HOME": str(spark_home)})
    conf_dir = tmp_path / "conf"  # SPARK_CONF_DIR in place of SPARK_HOME/conf
    conf_dir.mkdir()
    assert not own_log_config({"SPARK_HOME": str(spark_home), "SPARK_CONF_DIR": str(conf_dir)})
    (conf_dir / "log4j2.properties").write_text("")
    assert own_log_config({"SPARK_CONF_DIR": str(conf_dir)})


def test_stage_progress_bars_are_off_unless_asked_even_though_the_pyspark_shell_turns_them_on():
    """spark-submit turns the progress bars on for every PySpark shell (the driver leadscore starts), so the
    setting looked given by the user and leadscore's was dropped; a user's own value, or spark-submit's for a
    submitted application, still wins."""
    assert load_config().spark.session_conf()["spark.ui.showConsoleProgress"] == "false"
    asked = load_config(overrides=["spark.progress_bar=true"]).spark.session_conf()
    assert asked["spark.ui.showConsoleProgress"] == "true"
    shell = [("spark.ui.showConsoleProgress", "true"), ("spark.sql.shuffle.partitions", "200")]
    assert given_settings(shell, shell=True) == {"spark.sql.shuffle.partitions"}
    assert given_settings(shell, shell=False) == {
        "spark.ui.showConsoleProgress",
        "spark.sql.shuffle.partitions",
    }
    assert given_settings([("spark.ui.showConsoleProgress", "false")], shell=True) == {
        "spark.ui.showConsoleProgress"
    }


def test_parts_of_a_table_that_disagree_on_a_column_type_exit_3_naming_the_part(
    tmp_path, spark_local, trained_small, monkeypatch
):
    """leads.parquet a folder of part files, one writing created_at as text: a task failed reading it and
    Spark's error (FAILED_READ_FILE.PARQUET_COLUMN_DATA_TYPE_MISMATCH) reached the user as Java's stack
    trace (exit 1); it is an input the user fixes (exit 3), named with its column and the fix."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: trained_small.scorer)
    tables = generate_history(GeneratorConfig(accounts=30, months=12, seed=3)).tables()
    write_tables({k: v for k, v in tables.items() if k != "leads"}, tmp_path / "crm", "parquet")
    parts = tmp_path / "crm" / "leads.parquet"
    parts.mkdir()
    tables["leads"].iloc[:50].to_parquet(parts / "part-0.parquet")
    tables["leads"].iloc[50:].astype({"created_at": str}).to_parquet(parts / "part-1.parquet")
    args = ["score", "--engine", "spark", "--input", str(tmp_path / "crm"), "--as-of", "2026-10-01"]
    done = CliRunner().invoke(
        app, [*args, "--no-trend", "--output", str(tmp_path / "out" / "scores.parquet")]
    )
    said = " ".join(done.output.split())
    assert done.exit_code == 3, done.output
    assert f"{parts / 'part-1.parquet'}: Spark cannot read it" in said and "column [created_at]" in said
    assert "with the same column types" in said and not (tmp_path / "out" / "scores.parquet").exists()


def test_a_zone_aware_time_past_2262_is_read_by_spark_as_by_batch(
    tmp_path, spark_local, trained_small, monkeypatch
):
    """A lead created 9999-12-31 (a CRM's placeholder) in a zone-aware Parquet column: Spark carried it as
    microseconds times 1000, a long overflow (ARITHMETIC_OVERFLOW: exit 1 with a traceback); batch reads it
    and does not score the lead (created after as_of). Now Spark does the same: same scores, same quarantine."""
    import pandas as pd
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.score import quarantine_path_for
    from pipelines.spark_job import times_of_nanos

    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: trained_small.scorer)
    tables = generate_history(GeneratorConfig(accounts=30, months=12, seed=3)).tables()
    created = tables["leads"]["created_at"].astype("datetime64[us]").dt.tz_localize("UTC")
    created.iloc[3] = pd.Timestamp("9999-12-31", tz="UTC")
    write_tables({**tables, "leads": tables["leads"].assign(created_at=created)}, tmp_path / "crm", "parquet")
    args = ["score", "--input", str(tmp_path / "crm"), "--as-of", "2026-10-01", "--no-trend", "--output"]
    out = {engine: tmp_path / engine / "scores.parquet" for engine in ("pandas", "spark")}
    runs = {e: CliRunner().invoke(app, [*args, str(out[e]), "--engine", e]) for e in out}
    assert runs["pandas"].exit_code == runs["spark"].exit_code == 0, runs["spark"].output
    pd.testing.assert_frame_equal(pd.read_parquet(out["spark"]), pd.read_parquet(out["pandas"]))
    assert quarantine_path_for(out["spark"]).read_bytes() == quarantine_path_for(out["pandas"]).read_bytes()
    times = times_of_nanos(pd.Series(["253402214400000000000", None, "0000"], dtype="str"))
    assert list(times) == [pd.Timestamp("9999-12-31"), pd.NaT, pd.Timestamp("1970-01-01")]
