"""End-to-end CLI: generate, validate, help texts and exit codes."""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app

runner = CliRunner()
# Enough history for `train` to pass its minimum-data checks and promote a first model, and no more: what the
# end-to-end tests check is the flow (read, train, register, score, re-run), not the model's quality.
SMALL_CRM = ["--accounts", "1000", "--months", "12", "--seed", "5"]


def test_help_lists_commands_with_examples():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("generate", "validate", "train", "score", "serve", "card", "retrain", "history", "demo"):
        assert command in result.output
    assert "Examples" in result.output and "Exit codes" in result.output
    for command in ("generate", "validate", "train", "score", "serve", "card", "retrain", "history"):
        text = runner.invoke(app, [command, "--help"]).output
        assert "Example" in text, command


HELP_PAGES = [
    [],
    *[[c] for c in ("generate", "validate", "train", "evaluate", "score", "serve", "retrain")],
    *[[c] for c in ("queue", "history", "card", "demo", "spec")],
    ["spec", "draft"],
    ["spec", "check"],
]


@pytest.mark.parametrize("command", HELP_PAGES, ids=lambda c: " ".join(c) or "leadscore")
def test_help_examples_are_whole_command_lines_on_a_narrow_terminal(command):
    """Click rewraps help paragraphs to the terminal's width, which split example commands mid-option (a
    wrapped `--set` or quoted reason lands on a line of its own, and a copied line fails): every line of an
    Examples block is a whole command or a comment, whatever the width."""
    text = runner.invoke(app, [*command, "--help"], terminal_width=60).output
    block = re.search(r"\n  Examples?:\n\n(.*?)\n\n", text, re.S)
    assert block, text
    lines = [line.strip() for line in block.group(1).splitlines()]
    assert lines and all(line.startswith(("leadscore ", "curl ", "# ")) for line in lines), lines


@pytest.mark.slow  # a subprocess imports the CLI
def test_console_script_is_installed():
    bin_dir = Path(sys.executable).parent
    out = subprocess.run([str(bin_dir / "leadscore"), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "leadscore" in out.stdout


def test_generate_then_validate_accounts_for_every_row(tmp_path):
    data = tmp_path / "crm"
    result = runner.invoke(
        app,
        [
            "generate",
            "--accounts",
            "200",
            "--months",
            "6",
            "--seed",
            "1",
            "--out",
            str(data),
            "--dirty-rows",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in data.iterdir()} == {
        "accounts.parquet",
        "leads.parquet",
        "activities.parquet",
        "deals.parquet",
        "truth.parquet",
    }
    quarantine = tmp_path / "q.csv"
    result = runner.invoke(app, ["validate", "--input", str(data), "--quarantine", str(quarantine)])
    assert result.exit_code == 0, result.output
    q = pd.read_csv(quarantine)
    assert {"table", "row", "column", "check", "value", "reason"} <= set(q.columns)
    assert {"isin(ACTIVITY_TYPES)", "ge(1)", "unique", "closed_at >= created_at"} <= set(q["check"])
    assert "accounted" in result.output


def test_generate_is_deterministic_and_writes_csv(tmp_path):
    for name in ("a", "b"):
        runner.invoke(
            app,
            [
                "generate",
                "--accounts",
                "50",
                "--months",
                "3",
                "--out",
                str(tmp_path / name),
                "--format",
                "csv",
            ],
        )
    assert (tmp_path / "a" / "deals.csv").read_text() == (tmp_path / "b" / "deals.csv").read_text()


def test_missing_input_folder_exits_with_bad_input_code(tmp_path):
    result = runner.invoke(app, ["validate", "--input", str(tmp_path / "nope")])
    assert result.exit_code == exit_codes.BAD_INPUT
    assert "not a folder" in " ".join(result.output.split())


@pytest.mark.slow  # generates, trains and scores end to end
def test_train_then_score_end_to_end(tmp_path, mlflow_store):
    data = tmp_path / "crm"
    runner.invoke(app, ["generate", *SMALL_CRM, "--out", str(data)])
    result = runner.invoke(
        app,
        [
            "train",
            "--input",
            str(data),
            "--truth",
            str(data / "truth.parquet"),
            "--set",
            "model.bootstrap_rounds=20",
            "--set",
            "registry.model_card=false",  # the card at training: test_card.py and the demo below
        ],
    )
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "win rate by ICP fit tier" in flat and "points_model" in flat and "promoted" in flat
    out = tmp_path / "scores" / "2026-10-01.parquet"
    args = ["score", "--input", str(data), "--as-of", "2026-10-01", "--output", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    first = pd.read_parquet(out)
    assert {"score", "grade", "fit_tier", "intent_band", "reasons", "model_version"} <= set(first.columns)
    assert (tmp_path / "scores" / "2026-10-01.quarantine.csv").exists()
    assert runner.invoke(app, args).exit_code == 0  # idempotent re-run for the same as-of
    pd.testing.assert_frame_equal(first, pd.read_parquet(out))
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no temporary files left


def test_train_on_too_little_data_exits_with_not_enough_data(tmp_path, mlflow_store):
    data = tmp_path / "crm"
    runner.invoke(app, ["generate", "--accounts", "40", "--months", "6", "--out", str(data)])
    result = runner.invoke(app, ["train", "--input", str(data)])
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA
    assert "not enough" in " ".join(result.output.split())


@pytest.mark.slow  # generates, trains and scores end to end
def test_generate_train_and_score_through_a_duckdb_database(tmp_path, mlflow_store):
    from pipelines.db import read_scores_from_db

    db = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    assert runner.invoke(app, ["generate", *SMALL_CRM, "--out", db]).exit_code == 0
    fast = ["--set", "model.bootstrap_rounds=20", "--set", "registry.model_card=false"]
    result = runner.invoke(app, ["train", "--input", db, *fast])
    assert result.exit_code == 0, result.output
    args = ["score", "--input", db, "--as-of", "2026-10-01", "--output", db, "--table", "lead_scores"]
    for _ in range(2):  # idempotent: the second run replaces the first
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    scores = read_scores_from_db(db, "lead_scores")
    assert len(scores) > 0 and not scores["lead_id"].duplicated().any()
    assert set(scores["model_version"]) == {"1"}
    missing_table = runner.invoke(app, args[:-2])
    assert missing_table.exit_code == 2 and "--table" in missing_table.output


@pytest.mark.slow  # generates, trains and scores end to end
def test_demo_runs_the_whole_flow_on_small_data(tmp_path, mlflow_store):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), *SMALL_CRM[:4]])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    for expected in (
        "data contract",
        "win rate by ICP fit tier",
        "points_model",
        "oracle AUC",
        "top 10 open leads",
    ):
        assert expected in flat, expected
    assert (out / "scores.parquet").exists() and (out / "card" / "model_card.html").exists()


def test_score_exits_5_when_too_many_leads_are_quarantined(tmp_path, champion_store):
    # The champion: the session's shared store (trained on small_history; `train` exiting 0 is tested above).
    dirty = tmp_path / "dirty"
    runner.invoke(
        app, ["generate", "--accounts", "300", "--months", "6", "--out", str(dirty), "--dirty-rows", "20"]
    )
    args = ["score", "--input", str(dirty), "--as-of", "2026-10-01", "--output", str(tmp_path / "s.csv")]
    assert (
        runner.invoke(app, args).exit_code == exit_codes.QUARANTINE_OVER_LIMIT
    )  # planted defects and their cascades: over 5 %
    relaxed = runner.invoke(app, [*args, "--set", "scoring.max_quarantine_share=0.2"])
    assert relaxed.exit_code == 0, relaxed.output
    assert (tmp_path / "s.csv").exists() and (tmp_path / "s.quarantine.csv").exists()


def test_score_of_crm_tables_without_as_of_names_the_option(tmp_path, champion_store):
    data = tmp_path / "crm"
    runner.invoke(app, ["generate", "--accounts", "100", "--months", "3", "--out", str(data)])
    result = runner.invoke(app, ["score", "--input", str(data), "--output", str(tmp_path / "s.csv")])
    assert result.exit_code == exit_codes.USAGE
    assert "--as-of" in result.output and "needed to score CRM tables" in " ".join(result.output.split())
    assert not (tmp_path / "s.csv").exists()


def test_score_writes_a_crm_import_file_beside_the_scores(tmp_path, champion_store):
    data = tmp_path / "crm"
    runner.invoke(app, ["generate", "--accounts", "150", "--months", "4", "--out", str(data)])
    out = tmp_path / "s.csv"
    args = ["score", "--input", str(data), "--as-of", "2026-10-01", "--output", str(out)]
    result = runner.invoke(
        app, [*args, "--crm-format", "salesforce", "--set", "crm_export.pass_through=[email]"]
    )
    assert result.exit_code == 0, result.output
    crm = pd.read_csv(tmp_path / "s.salesforce.csv", dtype={"Id": str})
    scores = pd.read_csv(out, dtype={"lead_id": str})
    assert list(crm.columns) == ["Id", "Lead_Score__c", "Lead_Grade__c", "Lead_Score_Reasons__c", "email"]
    assert crm["Id"].tolist() == scores["lead_id"].tolist()
    assert crm["Lead_Score_Reasons__c"].str.len().max() <= 255
    assert crm["email"].str.contains("@").all() and "@" not in result.output  # never printed
    unknown = runner.invoke(app, [*args, "--crm-format", "pipedrive"])
    assert unknown.exit_code == exit_codes.BAD_INPUT and "pipedrive" in unknown.output
