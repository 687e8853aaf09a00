"""`leadscore queue` end to end: a published scores file in, a call list out, exit codes for bad asks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app
from pipelines.score import write_scores_file
from tests.models.test_queue import score_table

runner = CliRunner()


@pytest.fixture
def published(tmp_path: Path) -> Path:
    output = tmp_path / "scores.parquet"
    write_scores_file(score_table(n=300), pd.DataFrame({"lead_id": []}), output, {"as_of": "2026-10-01"})
    return output


def queue(*args: str):
    return runner.invoke(app, ["queue", *args], catch_exceptions=False, terminal_width=200)


def test_queue_writes_the_call_list_and_reports_expected_wins(published: Path, tmp_path: Path):
    out = tmp_path / "calls.csv"
    result = queue(
        "--scores",
        str(published),
        "--reps",
        "3",
        "--per-rep",
        "20",
        "--senior-reps",
        "1",
        "--output",
        str(out),
    )
    assert result.exit_code == exit_codes.OK, result.output
    calls = pd.read_csv(out)
    assert len(calls) == 60 and calls["exploration"].sum() == 3  # 5 % of 60
    assert not calls["lead_id"].isin(score_table(n=300).query("disqualified")["lead_id"]).any()
    assert "score-ordered, no exploration" in result.output and "x the wins of a random list" in result.output
    assert "From scores as of" in result.output  # which run the plan comes from, and how old it is


def test_the_plan_says_which_scores_it_comes_from_and_how_old_they_are():
    from pipelines.queue import scores_sentence

    calls = pd.DataFrame(
        {"scores_as_of": ["2026-05-01T00:00:00"] * 2, "model_name": "leadscore", "model_version": [2, 2]}
    )
    said = scores_sentence(calls, pd.Timestamp("2026-05-08 09:30"))
    assert said == "From scores as of 2026-05-01 (7 days ago), by leadscore version 2."
    assert "(today)" in scores_sentence(calls, pd.Timestamp("2026-05-01 18:00"))
    assert "(1 day ago)" in scores_sentence(calls, pd.Timestamp("2026-05-02"))


def test_exploration_zero_switches_the_slice_off(published: Path, tmp_path: Path):
    out = tmp_path / "calls.parquet"
    result = queue(
        "--scores",
        str(published),
        "--reps",
        "2",
        "--per-rep",
        "10",
        "--exploration",
        "0",
        "--output",
        str(out),
    )
    assert result.exit_code == exit_codes.OK, result.output
    assert not pd.read_parquet(out)["exploration"].any()
    assert "Exploration is off" in result.output


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--reps", "0", "--per-rep", "10"], exit_codes.USAGE, "--reps is 0"),
        (["--reps", "50", "--per-rep", "100"], exit_codes.USAGE, "lower --per-rep to 5 or fewer"),
        (["--reps", "2", "--per-rep", "10", "--exploration", "0.9"], exit_codes.USAGE, "--exploration"),
        (  # nan passed every bound and was said to be above 0.5
            ["--reps", "2", "--per-rep", "10", "--exploration", "nan"],
            exit_codes.USAGE,
            "should be a finite number",
        ),
    ],
)
def test_a_plan_that_cannot_be_made_exits_with_a_sentence(published, tmp_path, args, code, words):
    out = tmp_path / "calls.csv"
    result = queue("--scores", str(published), *args, "--output", str(out))
    assert result.exit_code == code and words in result.output.replace("\n", " ")
    assert not out.exists()  # never an empty list presented as a plan


def test_missing_or_tampered_scores_are_bad_input(published: Path, tmp_path: Path):
    out = tmp_path / "calls.csv"
    missing = queue(
        "--scores", str(tmp_path / "none.parquet"), "--reps", "1", "--per-rep", "1", "--output", str(out)
    )
    # Sentences wrap at the console's width wherever the (temporary) path ends: compare them unwrapped.
    assert missing.exit_code == exit_codes.BAD_INPUT and "no such scores file" in " ".join(
        missing.output.split()
    )
    score_table(n=10).to_parquet(published)  # not the file its manifest names
    tampered = queue("--scores", str(published), "--reps", "1", "--per-rep", "1", "--output", str(out))
    assert tampered.exit_code == exit_codes.BAD_INPUT and "sha256 differs" in " ".join(
        tampered.output.split()
    )
    assert not out.exists()


def test_scores_whose_every_lead_is_disqualified_are_bad_input_not_a_bad_command(tmp_path: Path):
    """Every lead disqualified by the ICP guardrail exited 2 (bad command line): the job definition is fine,
    the scores or the ICP rules are not, and a scheduler acts on exit 3 for that."""
    scores = tmp_path / "scores.parquet"
    write_scores_file(
        score_table(n=40, disqualified_every=1),
        pd.DataFrame({"lead_id": []}),
        scores,
        {"as_of": "2026-10-01"},
    )
    out = tmp_path / "calls.csv"
    result = queue("--scores", str(scores), "--reps", "1", "--per-rep", "5", "--output", str(out))
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "all 40 leads in the scores are disqualified" in result.output.replace("\n", " ")
    assert not out.exists()
