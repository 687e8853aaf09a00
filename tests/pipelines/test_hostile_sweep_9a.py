"""Left-overs of the last sweeps: a score trend taken from another export's run (another tracking store, the
same model name), evaluation and drift CSVs a spreadsheet would run as formulas, and `spec check` silent
about rows without a time; each test holds one class of input that gave a wrong answer with exit 0 or a
misleading silence."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines.cli import app
from pipelines.io import write_tables
from pipelines.tracking import model_store_of
from tests.conftest import point_mlflow_at

runner = CliRunner()
BEFORE, NOW = "2026-09-01", "2026-10-01"


# --- the trend compares only with an earlier run of the same model: its store, name and input ----------------


@pytest.fixture(scope="module")
def crm_folder(tmp_path_factory):
    """A small CRM folder (scoring it is the slow part)."""
    folder = tmp_path_factory.mktemp("left9a-crm") / "crm"
    write_tables(
        generate_history(GeneratorConfig(accounts=300, months=12, seed=3)).tables(), folder, "parquet"
    )
    return folder


def test_a_dated_output_never_takes_the_trend_from_another_stores_model_of_the_same_name(
    tmp_path, champion_store, crm_folder, monkeypatch
):
    """HubSpot's and Salesforce's runs, each from its own tracking store with a model named leadscore, published
    in one folder: the Salesforce run took the HubSpot run as its previous one and filled previous_score
    wherever the lead ids collided (exit 0)."""
    other_store = tmp_path / "salesforce-store"
    shutil.copytree(champion_store.removeprefix("sqlite:///").rsplit("/", 1)[0], other_store)
    base = ["score", "--input", str(crm_folder), "--no-reasons"]
    hubspot = runner.invoke(app, [*base, "--as-of", BEFORE, "--output", str(tmp_path / "hubspot.parquet")])
    assert hubspot.exit_code == 0, hubspot.output
    manifest = json.loads((tmp_path / "hubspot.manifest.json").read_text())
    assert manifest["model_store"] == champion_store and manifest["model_input"] == "CRM tables"

    point_mlflow_at(f"sqlite:///{other_store / 'mlflow.db'}", monkeypatch)
    salesforce = runner.invoke(app, [*base, "--as-of", NOW, "--output", str(tmp_path / "salesforce.parquet")])
    # Its own next run compares with it, not with HubSpot's.
    again = runner.invoke(app, [*base, "--as-of", "2026-10-08", "--output", str(tmp_path / "sf2.parquet")])
    # An explicit --previous is the user's choice: compared, and the sentence says whose run it was.
    given = runner.invoke(
        app,
        [*base, "--as-of", NOW, "--output", str(tmp_path / "x" / "s.parquet")]
        + ["--previous", str(tmp_path / "hubspot.parquet")],
    )
    point_mlflow_at(champion_store, monkeypatch)  # the fixture checks it is pointed back

    assert salesforce.exit_code == 0, salesforce.output
    scores = pd.read_parquet(tmp_path / "salesforce.parquet")
    assert scores["previous_score"].isna().all() and (scores["trend"] == "").all()
    said = " ".join(salesforce.output.split())
    assert "1 earlier run of model leadscore beside it came from another tracking store or input" in said
    assert again.exit_code == 0, again.output
    assert "".join(f"at {tmp_path / 'salesforce.parquet'}".split()) in "".join(again.output.split())
    assert given.exit_code == 0, given.output
    assert pd.read_parquet(tmp_path / "x" / "s.parquet")["previous_score"].notna().any()
    assert "written by model leadscore of another tracking store" in " ".join(given.output.split())


def test_a_run_at_or_beside_the_output_is_compared_only_when_its_manifest_records_this_model(
    tmp_path, monkeypatch
):
    """The look-up alone, on hand-written runs: another store's run at the output, and a manifest written before
    stores were recorded (the safe choice: not compared, said once), beside it or at the output."""
    from pipelines.score_job import previous_scores

    here = {"model_store": "sqlite:////stores/salesforce/mlflow.db", "model_input": "CRM tables"}
    there = {**here, "model_store": "sqlite:////stores/hubspot/mlflow.db"}
    root = tmp_path

    def published(name: str, as_of: str, **identity: str) -> None:
        scores = root / f"{name}.csv"
        scores.write_text(f"lead_id,as_of,score,grade,model_name\nL1,{as_of},0.5,B,leadscore\n")
        manifest = {"as_of": as_of, "model_name": "leadscore", "files": {"scores": {"file": scores.name}}}
        (root / f"{name}.manifest.json").write_text(json.dumps({**manifest, **identity}))

    def look(output: str, previous: str | None = None):
        return previous_scores(str(root / output), None, previous, "leadscore", pd.Timestamp(NOW), "1", here)

    published("old", "2026-08-01T00:00:00")  # no identity: from before it was recorded
    published("hubspot", "2026-09-01T00:00:00", **there)
    beside = look("new.csv")
    assert beside.rows is None and beside.warning
    assert "2 earlier runs of model leadscore beside it came from another tracking store" in beside.sentence
    at = look("hubspot.csv")
    assert at.rows is None and at.warning and "of another tracking store" in at.sentence
    assert "sqlite:////stores/hubspot/mlflow.db" in at.sentence and at.sentence.endswith("no trend")
    unrecorded = look("old.csv")
    assert unrecorded.rows is None and "did not record the model's tracking store" in unrecorded.sentence

    published("salesforce", "2026-08-15T00:00:00", **here)
    found = look("new.csv")
    assert found.rows is not None and str(root / "salesforce.csv") in found.sentence
    old_given = look("new.csv", str(root / "old.csv"))  # --previous of an old manifest: as before
    assert old_given.rows is not None and "that run was" not in old_given.sentence

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://leadscore:s3cret@mlflow.example.com")
    assert model_store_of("models:/leadscore@champion") == "https://leadscore:***@mlflow.example.com"


# --- evaluation, drift and backtest CSVs in MLflow: a level from the data never runs as a formula ------------

FORMULA = '=HYPERLINK("http://x","y")'


def test_training_and_retrain_csvs_in_mlflow_quote_a_level_a_spreadsheet_would_run(mlflow_store, monkeypatch):
    """Training's evaluation/segments.csv and retrain's drift/*.csv and backtest.csv held the data's levels as
    read ('=HYPERLINK(...)', '@SUM(...)'): a spreadsheet opening them ran the formula. Now text cells get an
    apostrophe; numbers ('-5', -0.2) and ids stay as written, and the readers get the text back."""
    from types import SimpleNamespace

    import mlflow
    from pipelines import registry
    from pipelines.card_rebuild import _read_logged_frames
    from pipelines.retrain import log_retrain
    from pipelines.settings import load_config
    from pipelines.store import setup
    from pipelines.tracking import _log_frames

    segments = pd.DataFrame(
        {
            "segment": ["industry", "lead_source"],
            "value": [FORMULA, "@SUM(A1)"],
            "n": [120, -5],
            "gap": [0.1, -0.2],
        }
    )
    scores = pd.DataFrame({"deal_id": ["=D1", "D2"], "lead_id": ["-7", "L2"], "model": [0.4, 0.6]})
    setup("left9a")
    with mlflow.start_run() as run:
        _log_frames({"segments": segments, "test_scores": scores})
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="evaluation"))
    written = pd.read_csv(folder / "segments.csv", dtype=str)
    assert written["value"].tolist() == [f"'{FORMULA}", "'@SUM(A1)"]
    assert written["n"].tolist() == ["120", "-5"] and written["gap"].tolist() == ["0.1", "-0.2"]
    ids = pd.read_csv(folder / "test_scores.csv", dtype=str)
    assert ids["deal_id"].tolist() == ["=D1", "D2"] and ids["lead_id"].tolist() == ["-7", "L2"]  # joined on
    read = _read_logged_frames(run.info.run_id)
    pd.testing.assert_frame_equal(read["segments"], segments, check_dtype=False)

    drift = SimpleNamespace(
        table=segments.rename(columns={"value": "feature"}),
        segments=segments,
        score_psi=0.1,
        moved=[],
        shifted=[],
    )
    result = SimpleNamespace(
        train=SimpleNamespace(run_id=run.info.run_id, version="1"),
        windows=SimpleNamespace(as_dict=dict),
        champion_version=None,
        drift=drift,
        backtest=SimpleNamespace(table=segments, auc=0.7, n_leads=2, n_won=1, measurable=True),
    )
    # The version's tags are not this test's: the run alone is enough.
    monkeypatch.setattr(registry, "record_findings", lambda *args: None)
    monkeypatch.setattr("pipelines.retrain.backtest_sentence", lambda backtest: "")
    log_retrain(result, load_config(), "report")  # type: ignore[arg-type]
    for artifact in ("drift/drift.csv", "drift/segments.csv", "backtest/backtest.csv"):
        logged = registry.run_frame(run.info.run_id, artifact)
        raw = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=artifact)
        cells = [cell for row in csv.reader(Path(raw).read_text().splitlines()) for cell in row]
        assert not [cell for cell in cells if cell.startswith(("=", "@", "+"))], artifact
        assert logged is not None and FORMULA in logged.iloc[:, 1].tolist(), artifact


# --- spec check counts the rows without a time an out-of-time split would quarantine ------------------------


@pytest.mark.parametrize(
    "empty, options, code, said",
    [
        (3, [], 3, "training would stop with exit code 5"),  # 3 of 20: 15% > 5%
        (3, ["--set", "model.max_quarantine_share=0.2"], 0, "warning: 3 of 20 won and lost rows"),
        (3, ["--set", "model.split.method=grouped_random"], 0, None),  # a random split needs no time
        (0, [], 0, None),
    ],
)
def test_spec_check_counts_rows_without_a_time_and_fails_when_training_would_stop(
    tmp_path, empty, options, code, said
):
    """spec check said ok of an export whose timestamp_column was empty in 20% of the rows; training with the
    out-of-time split then quarantined them (not_null) and stopped with exit 5, pointing at spec check."""
    rows = pd.DataFrame(
        {
            "Lead ID": [f"X{i}" for i in range(22)],
            "Stage": ["Won", "Lost"] * 10 + ["Open", "Open"],
            "Created": [""] * empty + ["2026-01-05"] * (20 - empty) + ["", ""],  # open rows: not trained on
            "Source": ["Web"] * 22,
        }
    )
    rows.to_csv(tmp_path / "export.csv", index=False)
    spec = {
        "name": "probe",
        "id_column": "Lead ID",
        "label_column": "Stage",
        "positive_labels": ["Won"],
        "negative_labels": ["Lost"],
        "open_labels": ["Open"],
        "timestamp_column": "Created",
        "fit_columns": {"Source": "categorical"},
    }
    (tmp_path / "spec.yaml").write_text(json.dumps(spec))
    args = [
        "spec",
        "check",
        "--input",
        str(tmp_path / "export.csv"),
        "--source-spec",
        str(tmp_path / "spec.yaml"),
    ]
    checked = runner.invoke(app, [*args, *options])
    text = " ".join(checked.output.split())
    assert checked.exit_code == code, checked.output
    if said is None:
        assert "no time in timestamp_column" not in text
    else:
        assert said in text and "3 of 20 won and lost rows have no time in timestamp_column 'Created'" in text
        assert "fill the dates" in text and "remove timestamp_column from the spec" in text
