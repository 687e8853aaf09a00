"""A model with target statistics (model.target_stats) scores batch and online through the same artifact."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.io import unquoted
from tests.features.test_flat import x_education_fixture

runner = CliRunner()


def _export(n: int) -> pd.DataFrame:
    frame = x_education_fixture(n)
    converted = frame["Converted"] == 1
    frame.loc[converted, "Total Time Spent on Website"] += 900  # a learnable signal
    return frame


@pytest.mark.slow  # trains and scores end to end through the CLI
def test_win_rates_fitted_in_training_score_batch_and_online_alike(tmp_path, mlflow_store):
    export = tmp_path / "Leads.csv"
    _export(900).to_csv(export, index=False)
    args = ["train", "--input", str(export), "--source-spec", "x_education"]
    args += ["--set", "model.bootstrap_rounds=20", "--set", "model.target_stats.enabled=true"]
    args += ["--set", "registry.model_card=false"]  # the card is not what this tests (test_card.py)
    result = runner.invoke(app, [*args, "--force", "target statistics test"])
    assert result.exit_code == 0, result.output

    import mlflow

    run = mlflow.search_runs(experiment_names=["leadscore"], output_format="list")[0]
    selection = mlflow.artifacts.load_dict(f"{run.info.artifact_uri}/selection.json")
    assert "win_rate__lead_origin" in selection["target_stats"]["columns"]  # logged with the run

    new_leads = _export(60).drop(columns=["Converted"])
    new_leads.loc[new_leads.index[:3], "Lead Origin"] = "A channel never seen in training"
    new_leads.to_csv(tmp_path / "new.csv", index=False)
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app, ["score", "--input", str(tmp_path / "new.csv"), "--as-of", "2026-10-01", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = unquoted(pd.read_csv(out))  # the CSV's reasons start with an apostrophe (spreadsheets)
    assert len(scores) == 60 and scores["score"].between(0, 1).all()

    from pipelines.serve import answer

    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    assert model.unwrap_python_model().scorer.model.target_stats is not None
    sent = new_leads.head(5)
    sent = sent.astype({c: float for c in sent.select_dtypes("number").columns})
    rows = sent.astype(object).where(sent.notna(), None).to_dict("records")
    body = json.dumps({"dataframe_records": rows, "params": {"as_of": "2026-10-01"}}).encode()
    status, text = answer(model, body, "application/json")
    assert status == 200, text
    online = pd.DataFrame(json.loads(text)["predictions"]).set_index("lead_id")
    batch = scores.assign(lead_id=scores["lead_id"].astype(str)).set_index("lead_id").loc[online.index]
    assert online["score"].to_numpy() == pytest.approx(batch["score"].to_numpy())
    assert (online["reasons"] == batch["reasons"]).all()
