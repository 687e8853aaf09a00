"""Scoring on Spark end to end (pipelines/spark_job.py): the same scores and quarantine as the pandas path,
nothing collected to the driver, and the pandas path's refusals."""

import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
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


def _lead_renamed(tables: dict, renames: dict[str, str]) -> dict:
    """`tables` with lead ids renamed in leads, activities and deals alike."""
    return {
        name: frame.assign(lead_id=frame["lead_id"].replace(renames)) if "lead_id" in frame else frame
        for name, frame in tables.items()
    }


def _with_header_line(path, before: int) -> None:
    """A CSV file with its header repeated (upper case) before data row `before`: two exports joined."""
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: before + 1] + [lines[0].upper()] + lines[before + 1 :]) + "\n")


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
    a header line repeated mid-file (two exports joined), lead ids pandas once read as gaps ("NA", "None")
    and no-value words in a number column, scored with --engine spark and on the pandas path: the same
    scores, quarantine (rows numbered as in the files), notes and counts; blank and header lines skipped and
    said, not quarantined; only counts collected. (Spark's Parquet reading is compared with the pandas path's
    in test_spark_train.py.)"""
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)
    ids = dirty["leads"]["lead_id"]
    hostile = _lead_renamed(dirty, {ids[3]: "NA", ids[4]: "None", ids[5]: "null"})  # Spark had them missing
    counts = hostile["accounts"]["employee_count"].astype(object)
    counts.iloc[[1, 2, 3]] = ["N/A", "unknown", "True"]  # missing, missing, parse(number)
    tables = {
        **hostile,
        "accounts": hostile["accounts"].assign(employee_count=counts),
        "leads": _with_blank_rows(hostile["leads"], 9, spaces=False),
        "activities": _with_blank_rows(hostile["activities"], 50, spaces=True),
    }
    write_tables(tables, tmp_path / "crm", "csv")
    _with_header_line(tmp_path / "crm" / "leads.csv", 30)
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
    notes = [line for line in result.output.splitlines() if "empty rows" in line or "the header" in line]
    assert len(notes) == 3 and notes == [
        line for line in pandas_run.output.splitlines() if "empty rows" in line or "the header" in line
    ]
    assert output.is_dir() and len(list(output.glob("part-*.parquet"))) >= 1
    pd.testing.assert_frame_equal(
        pd.read_parquet(output), pd.read_parquet(pandas_out)
    )  # every column, in order
    quarantine = pd.read_csv(quarantine_path_for(output))
    assert set(quarantine["table"]) == {"accounts", "leads", "activities", "deals"}
    pd.testing.assert_frame_equal(quarantine, pd.read_csv(quarantine_path_for(pandas_out)))
    in_file = pd.read_csv(
        tmp_path / "crm" / "leads.csv",
        dtype=str,
        skip_blank_lines=False,
        keep_default_na=False,
        na_values=[""],
    )
    bad_leads = quarantine.loc[quarantine["table"] == "leads", "row"]
    assert len(bad_leads) and in_file.loc[bad_leads, "lead_id"].notna().all()  # rows as in the file
    assert not (in_file.loc[bad_leads, "lead_id"] == "LEAD_ID").any()  # the header line is no row
    manifest = json.loads(manifest_path_for(output).read_text())
    expected = json.loads(manifest_path_for(pandas_out).read_text())
    assert manifest["leads"] == expected["leads"] and manifest["leads"]["read"] == len(dirty["leads"])
    assert manifest["quarantine_rows"] == len(quarantine)
    from pipelines.score import verify_published

    assert verify_published(output) == []
    # Only counts reached the driver (a row per input partition, grade or table at most; the first few blank
    # rows' numbers; a row per table, column and check of the quarantine, which the console's notes name
    # whenever a row is quarantined), never a table; collecting one shows up here.
    causes = quarantine.groupby(["table", "column", "check"]).ngroups
    assert collected and max(collected) <= max(8, causes), (collected, causes)
    spark.read.csv(str(tmp_path / "crm" / "activities.csv"), header=True).collect()
    assert collected[-1] > len(dirty["activities"]) > 8


def _lines(path, change) -> None:
    path.write_text("\n".join(change(path.read_text().splitlines())) + "\n")


def _nested_tech_stack(path) -> None:
    """accounts.tech_stack as a Parquet list<string>, as a writer other than pandas writes it."""
    table = pq.read_table(path)
    stacks = [s.split(";") if s else [] for s in table.column("tech_stack").to_pylist()]
    column = pa.array(stacks, pa.list_(pa.string()))
    table = table.set_column(table.schema.get_field_index("tech_stack"), "tech_stack", column)
    pq.write_table(table.replace_schema_metadata(None), path)


# Files the pandas path refuses (tests/pipelines/test_hostile_sweep_5a.py): (format, table, how the file changes)
REFUSED_FILES = {
    "a delimiter ends every row": (
        "csv",
        "leads",
        lambda p: _lines(p, lambda x: x[:1] + [r + "," for r in x[1:]]),
    ),
    "a title line above the header": ("csv", "leads", lambda p: _lines(p, lambda x: ["Leads export", *x])),
    "a comment line above the header": ("csv", "deals", lambda p: _lines(p, lambda x: ["# export,,,", *x])),
    "a column written twice": (
        "csv",
        "leads",
        lambda p: _lines(p, lambda x: [x[0] + ",lead_source"] + [r + ",webinar" for r in x[1:]]),
    ),
    "a contract column of lists": ("parquet", "accounts", _nested_tech_stack),
    "a corrupt parquet file": ("parquet", "activities", lambda p: p.write_bytes(b"PAR1" + b"\0" * 64)),
}


def test_a_missing_table_or_column_or_a_refused_file_exits_3_with_the_pandas_sentence(
    tmp_path, spark, scorer, dirty, monkeypatch, collected
):
    """Missing tables and columns, the files the pandas path refuses (rows longer than the header had been
    scored shifted by Spark with exit 0, a list column read as text with exit 0, the others said as a missing
    column or Spark's own error))."""
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)
    cases = {
        "no activity_type": (
            {**dirty, "activities": dirty["activities"].drop(columns="activity_type")},
            None,
        ),
        "no lead_id": ({**dirty, "deals": dirty["deals"].drop(columns="lead_id")}, None),
        "no industry": ({**dirty, "accounts": dirty["accounts"].drop(columns="industry")}, None),
        "no activities": ({t: f for t, f in dirty.items() if t != "activities"}, None),
        **{case: (dirty, refused) for case, refused in REFUSED_FILES.items()},
    }
    for case, (tables, refused) in cases.items():
        folder = tmp_path / case.replace(" ", "_")
        fmt, table, change = refused or ("parquet", None, None)
        write_tables(tables, folder, fmt)
        if change is not None:
            change(folder / f"{table}.{fmt}")
        pandas_run = _score(folder, tmp_path / "pandas" / "scores.parquet")
        spark_run = _score(folder, tmp_path / "spark" / "scores.parquet", "--engine", "spark")
        assert pandas_run.exit_code == spark_run.exit_code == exit_codes.BAD_INPUT, (case, spark_run.output)
        said = _error(spark_run.output)
        assert said and said == _error(pandas_run.output), case


def _error(output: str) -> str:
    """The error sentence of a command's output, unwrapped, up to the path of a failed run's quarantine."""
    return " ".join(output.split()).partition("error:")[2].partition("quarantined rows are in")[0]


def test_nothing_to_score_names_the_main_causes_counted_in_spark_as_the_pandas_path_does(spark, dirty):
    """With no lead scored, Spark said "see the quarantine file" where the pandas path names the main causes
    (pipelines.score.main_causes): the same counts, as a Spark aggregation (SparkScores.causes)."""
    from features.contracts import QUARANTINE_COLUMNS, validate_tables
    from pipelines.score import causes_sentence, main_causes
    from pipelines.spark_job import KIND, SEQ, SparkScores

    every_account_bad = {**dirty, "accounts": dirty["accounts"].assign(employee_count=True)}
    quarantine = validate_tables(every_account_bad, AS_OF).quarantine[list(QUARANTINE_COLUMNS)]
    order = quarantine["table"].map(
        {t: i for i, t in enumerate(("accounts", "leads", "activities", "deals"))}
    )
    quarantine = quarantine.assign(_o=order).sort_values(["_o", "row"], kind="stable").drop(columns="_o")
    rows = quarantine.astype({c: "object" for c in QUARANTINE_COLUMNS if c != "row"}).reset_index(drop=True)
    rows = rows.assign(**{SEQ: range(len(rows)), KIND: "quarantine"}).astype({"row": "int64"})
    rows = rows.where(rows.notna(), None)
    schema = f"{SEQ} long, table string, row long, key string, column string, check string, value string, "
    schema += f"reason string, {KIND} string"
    frame = spark.createDataFrame(rows[[SEQ, *QUARANTINE_COLUMNS, KIND]], schema)
    job = SparkScores(frame.filter("table != 'accounts'"), frame.filter("table = 'accounts'"))
    expected = main_causes(quarantine)
    assert "see the quarantine file" not in expected
    assert causes_sentence(job.causes()) == expected


def test_a_bad_master_url_exits_2_naming_it(tmp_path):
    result = _score(
        tmp_path, tmp_path / "scores.parquet", "--engine", "spark", "--spark-master", "sprak://x:7077"
    )
    assert result.exit_code == exit_codes.USAGE
    assert "sprak://x:7077" in result.output and "not a Spark master URL" in result.output
