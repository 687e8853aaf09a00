"""Training on Spark (pipelines/spark_train.py, `leadscore train --engine spark`): the same training frame,
quarantine and model as the pandas path, only the feature frame collected, and the pandas path's refusals;
Spark tables by name (pipelines.spark_job.SparkInput)."""

import io
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import InputError, read_tables, write_tables
from pipelines.settings import load_config
from pipelines.train import run_train

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
if shutil.which("java") is None:  # pragma: no cover - Java 17 is on the machine and in CI
    pytest.skip("Spark needs Java", allow_module_level=True)

pytestmark = pytest.mark.slow
FAST = ["model.bootstrap_rounds=20", "registry.model_card=false"]
CHUNK = 250  # leads per part: the dirty history's 875 leads make 4 parts (each part costs a validation)
runner = CliRunner()


@pytest.fixture(scope="module")
def spark(spark_local):
    return spark_local  # one session per test process (tests/pipelines/conftest.py)


@pytest.fixture(scope="module")
def dirty():
    """Dirty CRM tables (planted bad types, dates, countries, duplicates...) with enough closed deals to train,
    and two deals training's own rules catch: one created in 2099 (a typo: quarantined, "before 2099")
    and one created before its lead (quarantined: "not before its lead")."""
    tables = generate_history(GeneratorConfig(accounts=300, months=12, seed=9, dirty_rows=3)).tables()
    deals, leads = tables["deals"], tables["leads"]
    closed = deals[deals["outcome"].isin(["won", "lost"])].head(2).copy()
    closed["deal_id"] = ["D-TYPO-2099", "D-BEFORE-LEAD"]
    closed["created_at"] = pd.to_datetime(["2099-01-05T10:00:00", "2020-01-05T10:00:00"]).to_numpy()
    closed["closed_at"] = pd.to_datetime(["2099-02-05T10:00:00", "2020-02-05T10:00:00"]).to_numpy()
    return {**tables, "deals": pd.concat([deals, closed], ignore_index=True), "leads": leads}


@pytest.fixture(scope="module")
def expected(dirty, tmp_path_factory):
    """The pandas path's training on the dirty tables as read from Parquet, to compare Spark's with (Spark's
    CSV reading is compared with the pandas path's in test_spark_job.py)."""
    folder = tmp_path_factory.mktemp("pandas") / "crm"
    write_tables(dirty, folder, "parquet")
    tables = read_tables(folder)
    return tables, run_train(tables, load_config(overrides=FAST), register=False)


@pytest.fixture()
def collected(monkeypatch):
    """The number of rows of every DataFrame the driver collects."""
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


def _as_written(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(frame.to_csv(index=False)))


def test_train_engine_spark_equals_the_pandas_path_logs_its_model_and_collects_only_features(
    tmp_path, spark, dirty, expected, collected, mlflow_store, monkeypatch
):
    """`leadscore train --engine spark` on a Parquet folder: the training frame, quarantine, counts and model of
    the pandas path on the same files, logged as that model, with only the parts'
    feature frames and the quarantine rows collected to the driver. One Spark training serves every check
    (the run_train of the command recorded): a Spark training is the slowest thing the suite does."""
    import mlflow
    import pipelines.train
    from pipelines.spark_job import part_count
    from pipelines.spark_train import SparkCrmSource

    runs = []
    original = pipelines.train.run_train

    def recorded(source, *args, **kwargs):
        runs.append((source, original(source, *args, **kwargs)))
        return runs[-1][1]

    monkeypatch.setattr(pipelines.train, "run_train", recorded)
    write_tables(dirty, tmp_path / "crm", "parquet")
    options = [*FAST, f"scoring.chunk_size={CHUNK}"]
    args = ["train", "--input", str(tmp_path / "crm"), "--engine", "spark"]
    result = runner.invoke(app, [*args, *[x for s in options for x in ("--set", s)]])
    assert result.exit_code in (exit_codes.OK, exit_codes.NOT_PROMOTED), result.output
    ((source, got),) = runs
    assert isinstance(source, SparkCrmSource)
    tables, expected = expected
    assert part_count(len(dirty["leads"]), CHUNK) >= 4

    # Same rows, features and labels, in the same order; same guardrail, quarantine and counts.
    pd.testing.assert_frame_equal(got.data.frame, expected.data.frame)
    np.testing.assert_array_equal(got.data.y, expected.data.y)
    assert got.data.too_recent == expected.data.too_recent > 0
    assert got.data.excluded == expected.data.excluded and expected.data.excluded["total"] > 0
    pd.testing.assert_frame_equal(got.data.counts, expected.data.counts)
    assert set(expected.data.quarantine["table"]) == {"accounts", "leads", "activities", "deals"}
    assert "not before its lead" in set(expected.data.quarantine["check"])  # training's own rules, on both
    assert expected.data.counts.set_index("table").loc["deals", "not created yet"] == 0
    assert "before 2099" in set(expected.data.quarantine["check"])  # the 2099 typo, on both
    pd.testing.assert_frame_equal(_as_written(got.data.quarantine), _as_written(expected.data.quarantine))
    pd.testing.assert_frame_equal(got.data.win_rate_by_tier, expected.data.win_rate_by_tier)
    # The same model (same seed): the same metrics and probabilities, and the run logs them.
    pd.testing.assert_frame_equal(got.evaluation.comparison, expected.evaluation.comparison)
    assert got.scorer.intent_cutpoints == expected.scorer.intent_cutpoints
    np.testing.assert_array_equal(
        got.scorer.model.predict_proba(got.data.frame),
        expected.scorer.model.predict_proba(expected.data.frame),
    )
    run = mlflow.search_runs(experiment_names=[load_config().registry.experiment]).iloc[0]
    model = expected.evaluation.comparison.set_index("model").loc["model"]
    assert run["metrics.roc_auc"] == pytest.approx(model["roc_auc"], rel=1e-12)
    assert run["metrics.brier"] == pytest.approx(model["brier"], rel=1e-12)
    assert len(run["tags.data_fingerprint"]) == 16
    # Only the parts' feature frames (one row per part) and the quarantine rows reached the driver.
    assert collected and max(collected) <= len(expected.data.quarantine) < len(dirty["activities"]), collected

    # A champion is scored on the executors from the tables as read, as the pandas path scores it.
    test = got.split.test
    on_spark = source.champion_probabilities(got.data, expected.scorer, test)
    rows = got.data.frame.iloc[test][["deal_id", "lead_id", "snapshot_at"]]
    in_pandas = expected.scorer.model.predict_proba(expected.scorer.feature_frame(tables, rows))
    np.testing.assert_allclose(on_spark, in_pandas, rtol=1e-12)


def test_bad_input_on_spark_training_exits_3_with_the_pandas_sentence(tmp_path, spark, dirty):
    cases = {
        "no activity_type": {**dirty, "activities": dirty["activities"].drop(columns="activity_type")},
        "no lead_id": {**dirty, "deals": dirty["deals"].drop(columns="lead_id")},
        "no deals": {t: f for t, f in dirty.items() if t != "deals"},
    }
    for case, tables in cases.items():
        folder = tmp_path / case.replace(" ", "_")
        write_tables(tables, folder, "parquet")
        pandas_run = runner.invoke(app, ["train", "--input", str(folder)])
        spark_run = runner.invoke(app, ["train", "--input", str(folder), "--engine", "spark"])
        assert pandas_run.exit_code == spark_run.exit_code == exit_codes.BAD_INPUT, (case, spark_run.output)
        said = [line for line in spark_run.output.splitlines() if "error" in line]
        assert said and said == [line for line in pandas_run.output.splitlines() if "error" in line], case


def test_a_bad_master_or_engine_exits_2_naming_it(tmp_path):
    result = runner.invoke(
        app, ["train", "--input", str(tmp_path), "--engine", "spark", "--spark-master", "sprak://x:7077"]
    )
    assert result.exit_code == exit_codes.USAGE
    assert "sprak://x:7077" in result.output and "not a Spark master URL" in result.output
    result = runner.invoke(app, ["train", "--input", str(tmp_path), "--engine", "dask"])
    assert result.exit_code == exit_codes.USAGE and "'dask'" in result.output


def test_spark_tables_by_name_are_read_as_the_folder_and_a_missing_one_is_named(tmp_path, spark, dirty):
    from pipelines.spark_job import SparkInput, read_spark_tables

    write_tables(dirty, tmp_path / "crm", "csv")
    spark.read.option("header", True).csv(str(tmp_path / "crm" / "leads.csv")).createOrReplaceTempView(
        "crm_leads"
    )
    by_name = SparkInput.parse(str(tmp_path / "crm"), {"leads": "crm_leads"})
    tables, text, _ = read_spark_tables(spark, by_name)
    assert by_name.describe("leads") == "Spark table 'crm_leads'" and "leads" not in text and "deals" in text
    assert tables["leads"].columns == list(dirty["leads"].columns)
    assert tables["leads"].count() == len(dirty["leads"])
    catalog = SparkInput.parse("spark:nowhere")
    assert catalog.table_names["leads"] == "nowhere.leads" and catalog.folder is None
    with pytest.raises(
        InputError, match=r"Spark table 'nowhere\.accounts' \(the accounts table\) does not exist"
    ):
        read_spark_tables(spark, catalog)
