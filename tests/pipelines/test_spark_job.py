"""Scoring on Spark end to end (pipelines/spark_job.py): the same scores and quarantine as the pandas path,
nothing collected to the driver, and the pandas path's refusals."""

import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import write_tables
from pipelines.score import manifest_path_for, quarantine_path_for
from pipelines.spark_job import part_count

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
if shutil.which("java") is None:  # pragma: no cover - Java 17 is on the machine and in CI
    pytest.skip("Spark needs Java", allow_module_level=True)

pytestmark = pytest.mark.slow
AS_OF = pd.Timestamp("2026-10-01")
CHUNK = 70  # leads per part: the dirty history's 247 leads make 4 parts (each part costs a validation)
RESULT_LIMIT = 64 * 1024  # spark.driver.maxResultSize: a few KiB per task result is Spark's own overhead
runner = CliRunner()


@pytest.fixture(scope="module")
def spark(spark_local):
    """The shared session, the driver refusing any result over RESULT_LIMIT while this module runs (Spark
    reads spark.driver.maxResultSize from its live configuration for every new stage)."""
    conf = spark_local.sparkContext._jsc.sc().conf()
    before = conf.get("spark.driver.maxResultSize", "1g")
    conf.set("spark.driver.maxResultSize", str(RESULT_LIMIT))
    yield spark_local
    conf.set("spark.driver.maxResultSize", before)


@pytest.fixture(scope="module")
def scorer(trained_small):
    return trained_small.scorer  # the session's model (tests/conftest.py); only read here


@pytest.fixture(scope="module")
def dirty():
    """Dirty CRM tables: the generator's planted defects (bad types, dates, countries, duplicates...)."""
    return generate_history(GeneratorConfig(accounts=80, months=12, seed=9, dirty_rows=3)).tables()


def _score(folder, output, *extra):
    return runner.invoke(
        app,
        ["score", "--input", str(folder), "--as-of", str(AS_OF.date()), "--output", str(output), *extra],
    )


@pytest.fixture()
def collected(monkeypatch):
    """The number of rows of every DataFrame the driver collects (collect, toPandas, take, first...)."""
    from pyspark.sql.classic.dataframe import DataFrame

    sizes: list[int] = []
    for name in ("collect", "toPandas", "take", "tail", "toLocalIterator"):
        original = getattr(DataFrame, name)

        def recorded(self, *args, _original=original, **kwargs):
            out = _original(self, *args, **kwargs)
            out = list(out) if not hasattr(out, "__len__") else out
            sizes.append(len(out))
            return out

        monkeypatch.setattr(DataFrame, name, recorded)
    return sizes


def _with_blank_rows(frame: pd.DataFrame, every: int, spaces: bool) -> pd.DataFrame:
    """`frame` with a row of every cell blank (empty, or spaces) after every `every`-th row."""
    rows = []
    for start in range(0, len(frame), every):
        rows.append(frame.iloc[start : start + every].astype("object"))
        rows.append(pd.DataFrame([[" " if spaces else None] * frame.shape[1]], columns=frame.columns))
    return pd.concat(rows, ignore_index=True)


def test_spark_scores_and_quarantine_equal_the_pandas_path_and_nothing_is_collected(
    tmp_path, spark, scorer, dirty, monkeypatch, collected
):
    """A dirty CSV folder, with blank rows (every cell empty or spaces) between leads and between activities,
    scored with --engine spark and on the pandas path: the same scores, quarantine (rows numbered as in the
    files), notes and counts; blank rows skipped and said, not quarantined; only counts collected. (Spark's
    Parquet reading is compared with the pandas path's in test_spark_train.py.)"""
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)
    tables = {
        **dirty,
        "leads": _with_blank_rows(dirty["leads"], 9, spaces=False),
        "activities": _with_blank_rows(dirty["activities"], 50, spaces=True),
    }
    write_tables(tables, tmp_path / "crm", "csv")
    limits = [
        "--set",
        f"scoring.chunk_size={CHUNK}",
        "--set",
        "scoring.max_quarantine_share=0.2",
    ]  # small, dirty
    pandas_out = tmp_path / "pandas" / "scores.parquet"
    pandas_run = _score(tmp_path / "crm", pandas_out, *limits)
    output = tmp_path / "out" / "scores.parquet"
    result = _score(tmp_path / "crm", output, "--engine", "spark", *limits)
    assert pandas_run.exit_code == result.exit_code == 0, result.output
    assert part_count(len(dirty["leads"]), CHUNK) >= 4
    notes = [line for line in result.output.splitlines() if "empty rows" in line]
    assert len(notes) == 2 and notes == [
        line for line in pandas_run.output.splitlines() if "empty rows" in line
    ]
    assert output.is_dir() and len(list(output.glob("part-*.parquet"))) >= 1
    pd.testing.assert_frame_equal(
        pd.read_parquet(output), pd.read_parquet(pandas_out)
    )  # every column, in order
    quarantine = pd.read_csv(quarantine_path_for(output))
    assert set(quarantine["table"]) == {"accounts", "leads", "activities", "deals"}
    pd.testing.assert_frame_equal(quarantine, pd.read_csv(quarantine_path_for(pandas_out)))
    in_file = pd.read_csv(tmp_path / "crm" / "leads.csv", dtype=str, skip_blank_lines=False)
    bad_leads = quarantine.loc[quarantine["table"] == "leads", "row"]
    assert len(bad_leads) and in_file.loc[bad_leads, "lead_id"].notna().all()  # rows as in the file
    manifest = json.loads(manifest_path_for(output).read_text())
    expected = json.loads(manifest_path_for(pandas_out).read_text())
    assert manifest["leads"] == expected["leads"] and manifest["leads"]["read"] == len(dirty["leads"])
    assert manifest["quarantine_rows"] == len(quarantine)
    from pipelines.score import verify_published

    assert verify_published(output) == []
    # Only counts reached the driver (a row per input partition, grade or table at most; the first few blank
    # rows' numbers), never a table; collecting one shows up here.
    assert collected and max(collected) <= 8, collected
    spark.read.csv(str(tmp_path / "crm" / "activities.csv"), header=True).collect()
    assert collected[-1] > len(dirty["activities"]) > 8


def test_a_missing_table_or_column_exits_3_with_the_pandas_sentence(
    tmp_path, spark, scorer, dirty, monkeypatch, collected
):
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)
    cases = {
        "no activity_type": {**dirty, "activities": dirty["activities"].drop(columns="activity_type")},
        "no lead_id": {**dirty, "deals": dirty["deals"].drop(columns="lead_id")},
        "no industry": {**dirty, "accounts": dirty["accounts"].drop(columns="industry")},
        "no activities": {t: f for t, f in dirty.items() if t != "activities"},
    }
    for case, tables in cases.items():
        folder = tmp_path / case.replace(" ", "_")
        write_tables(tables, folder, "parquet")
        pandas_run = _score(folder, tmp_path / "pandas" / "scores.parquet")
        spark_run = _score(folder, tmp_path / "spark" / "scores.parquet", "--engine", "spark")
        assert pandas_run.exit_code == spark_run.exit_code == exit_codes.BAD_INPUT, (case, spark_run.output)
        said = [line for line in spark_run.output.splitlines() if "error" in line]
        assert said and said == [line for line in pandas_run.output.splitlines() if "error" in line], case


def test_a_bad_master_url_exits_2_naming_it(tmp_path):
    result = _score(
        tmp_path, tmp_path / "scores.parquet", "--engine", "spark", "--spark-master", "sprak://x:7077"
    )
    assert result.exit_code == exit_codes.USAGE
    assert "sprak://x:7077" in result.output and "not a Spark master URL" in result.output
