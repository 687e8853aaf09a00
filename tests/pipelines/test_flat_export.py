"""Training and scoring on a flat lead export described by a source spec (X Education's shape)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from tests.features.test_flat import x_education_fixture

runner = CliRunner()


def _export(n: int = 900) -> pd.DataFrame:
    frame = x_education_fixture(n)
    converted = frame["Converted"] == 1
    # A learnable signal: converted leads spent more time on the website.
    frame.loc[converted, "Total Time Spent on Website"] += 900
    return frame


@pytest.mark.slow  # trains and scores end to end through the CLI
def test_train_and_score_a_flat_export_through_the_cli(tmp_path, mlflow_store):
    export = tmp_path / "Leads.csv"
    _export().to_csv(export, index=False)
    args = [
        "train",
        "--input",
        str(export),
        "--source-spec",
        "x_education",
        "--set",
        "model.bootstrap_rounds=20",
    ]
    # On this tiny, linear fixture logistic regression may edge out LightGBM: --force records why it goes live.
    result = runner.invoke(app, [*args, "--force", "first flat-export model"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "logistic_regression" in flat and "points_model" not in flat
    assert "logistic regression is its strongest baseline" in flat and "model version 1: promoted" in flat
    out = tmp_path / "scores.csv"
    new_leads = _export(60).drop(columns=["Converted"])
    new_leads.to_csv(tmp_path / "new.csv", index=False)
    result = runner.invoke(
        app, ["score", "--input", str(tmp_path / "new.csv"), "--as-of", "2026-10-01", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out)
    assert len(scores) == 60 and scores["score"].between(0, 1).all()
    assert scores["reasons"].str.contains("Total Time Spent on Website").any()
    assert (scores["model_version"] == 1).all()
    assert scores["score"].is_monotonic_decreasing


def test_leaky_columns_never_reach_the_model(tmp_path, mlflow_store):
    from pipelines.settings import load_config, load_source_spec
    from pipelines.train import run_train_flat

    spec = load_source_spec("x_education")
    result = run_train_flat(
        _export(), spec, load_config(overrides=["model.bootstrap_rounds=20"]), register=False
    )
    used = set(result.scorer.model.feature_names)
    leaky = {spec.feature_name(c) for c in spec.leaky_columns} | set(spec.leaky_columns)
    assert not used & leaky
    assert "Tags" in spec.leaky_columns and spec.feature_name("Total Time Spent on Website") in used


def test_an_export_without_signal_is_refused_with_exit_4(tmp_path, mlflow_store):
    """Labels drawn independently of every feature: no model, exit 4 and a sentence saying why."""
    frame = x_education_fixture(900)
    frame["Converted"] = (pd.Series(range(900)).sample(frac=1, random_state=5).to_numpy() % 5 < 2).astype(int)
    export = tmp_path / "Leads.csv"
    frame.to_csv(export, index=False)
    result = runner.invoke(app, ["train", "--input", str(export), "--source-spec", "x_education"])
    assert result.exit_code == 4, result.output
    flat = " ".join(result.output.split())
    assert "no learnable signal: the grouped out-of-fold ROC AUC is" in flat
    assert "Traceback" not in result.output
