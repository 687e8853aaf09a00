"""Score trend (issue 21 item 3): each lead against the last run of the same model name, on every route.

Two runs of the shared champion at two as-of dates; the trend of the second is checked against a hand
computation from the first run's published scores.
"""

from __future__ import annotations

import copy
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from pipelines import db
from pipelines.cli import app
from pipelines.io import write_tables
from pipelines.score_job import run_score_job
from pipelines.settings import load_config
from pipelines.sources import as_source, source_for

runner = CliRunner()
BEFORE, NOW = "2026-09-01", "2026-10-01"
STEADY = 0.02


def expected_trend(now: pd.DataFrame, before: pd.DataFrame, steady: float) -> pd.DataFrame:
    """The trend columns worked out lead by lead from the two runs' published scores."""
    last = {row.lead_id: (row.score, row.grade) for row in before.itertuples(index=False)}
    rows = []
    for lead, score, grade in zip(now["lead_id"], now["score"], now["grade"], strict=True):
        if lead not in last:
            rows.append((lead, np.nan, "new", "", ""))
            continue
        old_score, old_grade = last[lead]
        change = score - old_score
        trend = "rising" if change > steady else "falling" if change < -steady else "steady"
        rows.append((lead, old_score, trend, old_grade, f"{old_grade}→{grade}" if old_grade != grade else ""))
    return pd.DataFrame(rows, columns=["lead_id", "previous_score", "trend", "previous_grade", "grade_jump"])


def assert_trend_matches(now: pd.DataFrame, before: pd.DataFrame, steady: float = STEADY) -> None:
    expected = expected_trend(now, before, steady)
    assert now["lead_id"].tolist() == expected["lead_id"].tolist()
    np.testing.assert_allclose(now["previous_score"], expected["previous_score"])
    np.testing.assert_allclose(now["score_change"], now["score"] - expected["previous_score"])
    for column in ("trend", "previous_grade", "grade_jump"):
        assert now[column].fillna("").tolist() == expected[column].tolist(), column
    assert {"rising", "falling", "new"} <= set(now["trend"])  # the data move: not a vacuous comparison
    assert (now["grade_jump"].fillna("") != "").any()


@pytest.fixture(scope="module")
def history():
    """A history smaller than the one the champion was trained on (scoring it is the slow part here)."""
    return generate_history(GeneratorConfig(accounts=500, months=12, seed=11))


@pytest.fixture(scope="module")
def crm_folder(history, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trend-crm") / "crm"
    write_tables(history.tables(), folder, "parquet")
    return folder


def test_second_run_at_the_same_output_gets_trend_and_a_rerun_keeps_it(tmp_path, champion_store, crm_folder):
    out = tmp_path / "scores.parquet"
    args = ["score", "--input", str(crm_folder), "--output", str(out), "--no-reasons"]
    args += ["--set", f"scoring.trend_steady={STEADY}"]
    first = runner.invoke(app, [*args, "--as-of", BEFORE])
    assert first.exit_code == 0, first.output
    before = pd.read_parquet(out)
    assert (before["trend"] == "").all() and before["previous_score"].isna().all()  # nothing to compare
    assert "no previous scores at" in " ".join(first.output.split())

    second = runner.invoke(app, [*args, "--as-of", NOW])
    assert second.exit_code == 0, second.output
    now = pd.read_parquet(out)
    assert_trend_matches(now, before)
    text = " ".join(second.output.split())
    assert "trend against the last run" in text and "scores as of 2026-09-01" in text
    shown = {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in second.output.splitlines()
        if line.count("│") == 3 and line.split("│")[1].strip() in ("rising", "falling", "new", "grade up")
    }
    jumps = now["grade_jump"].fillna("")
    up = sum(j != "" and j[0] > j[-1] for j in jumps)  # "C→A": the letters run backwards when it rose
    assert shown == {
        "rising": f"{(now['trend'] == 'rising').sum():,}",
        "falling": f"{(now['trend'] == 'falling').sum():,}",
        "new": f"{(now['trend'] == 'new').sum():,}",
        "grade up": f"{up:,}",
    }

    third = runner.invoke(app, [*args, "--as-of", NOW])  # the daily job run twice: the same file again
    assert third.exit_code == 0, third.output
    pd.testing.assert_frame_equal(pd.read_parquet(out), now)
    assert "re-run" in " ".join(third.output.split())


def test_dated_outputs_find_the_last_run_beside_them_or_take_previous(tmp_path, champion_store, crm_folder):
    dated = {day: tmp_path / f"{day}.csv" for day in (BEFORE, NOW)}
    base = ["score", "--input", str(crm_folder), "--no-reasons", "--set", f"scoring.trend_steady={STEADY}"]
    assert runner.invoke(app, [*base, "--as-of", BEFORE, "--output", str(dated[BEFORE])]).exit_code == 0
    before = pd.read_csv(dated[BEFORE], dtype={"lead_id": str})
    found = runner.invoke(app, [*base, "--as-of", NOW, "--output", str(dated[NOW])])  # as the nightly cron
    assert found.exit_code == 0, found.output
    assert_trend_matches(pd.read_csv(dated[NOW], dtype={"lead_id": str}), before)
    said = f"scores as of {BEFORE} at {dated[BEFORE]}"
    assert "".join(said.split()) in "".join(found.output.split())  # whichever line rich wraps it at

    elsewhere = tmp_path / "elsewhere" / "scores.parquet"
    given = runner.invoke(
        app, [*base, "--as-of", NOW, "--output", str(elsewhere), "--previous", str(dated[BEFORE])]
    )
    assert given.exit_code == 0, given.output
    assert_trend_matches(pd.read_parquet(elsewhere), before)

    off = runner.invoke(app, [*base, "--as-of", NOW, "--output", str(dated[NOW]), "--no-trend"])
    assert off.exit_code == 0, off.output
    assert pd.read_csv(dated[NOW])["trend"].isna().all()  # empty text
    both = runner.invoke(
        app, [*base, "--as-of", NOW, "--output", str(elsewhere), "--no-trend", "--previous", "x"]
    )
    assert both.exit_code == 2 and "--previous" in both.output


@pytest.fixture()
def run(history):
    """run_score_job on the module's history, without reasons: (scorer, as_of, output, ...) -> result."""
    cfg = load_config(overrides=[f"scoring.trend_steady={STEADY}"])
    source = as_source(history.tables())

    def score(scorer, as_of, output, **options):
        return run_score_job(scorer, source, pd.Timestamp(as_of), str(output), cfg, reasons=False, **options)

    return score


def test_scores_of_another_model_name_give_no_trend_and_say_so(tmp_path, run, small_scorer):
    out = tmp_path / "scores.csv"
    run(small_scorer, BEFORE, out)
    other = copy.copy(small_scorer)
    other.model_name = "leadscore_eu"
    result, _ = run(other, NOW, out)
    published = pd.read_csv(out)
    assert published["trend"].isna().all() and published["previous_score"].isna().all()
    assert result.trend is not None and result.trend.warning and result.trend.counts is None
    assert result.trend.sentence == (
        f"previous scores at {out} came from model leadscore, not leadscore_eu: no trend"
    )


@pytest.mark.parametrize(
    "content, why",
    [
        (b"\x00\x01 not a scores file", "cannot read the previous scores at"),
        (b"lead_id,score\nL1,0.5\n", "lack the column(s) as_of, grade, model_name"),
        (
            b"lead_id,as_of,score,grade,model_name\nL1,2026-09-01,0.5,Z,leadscore\n",
            "grade is not a leadscore",
        ),
    ],
)
def test_an_unreadable_previous_file_is_a_warning_and_no_trend(tmp_path, run, small_scorer, content, why):
    previous = tmp_path / "previous.parquet" if content.startswith(b"\x00") else tmp_path / "previous.csv"
    previous.write_bytes(content)
    result, _ = run(small_scorer, NOW, tmp_path / "scores.parquet", previous=str(previous))
    assert (
        result.trend.warning and why in result.trend.sentence and result.trend.sentence.endswith("no trend")
    )
    assert (pd.read_parquet(tmp_path / "scores.parquet")["trend"] == "").all()


def test_database_runs_get_the_trend_against_the_tables_earlier_run(tmp_path, run, small_scorer):
    url, table = f"duckdb:///{tmp_path / 'scores.duckdb'}", "lead_scores"
    first, _ = run(small_scorer, BEFORE, url, table=table)
    assert "no earlier scores in" in first.trend.sentence
    result, _ = run(small_scorer, NOW, url, table=table)
    stored = db.read_scores_from_db(url, table)
    before = stored[stored["as_of"] == pd.Timestamp(BEFORE)].reset_index(drop=True)
    now = stored[stored["as_of"] == pd.Timestamp(NOW)].reset_index(drop=True)
    assert (before["trend"] == "").all()
    assert_trend_matches(now, before)
    counts = result.trend.counts.set_index("trend")["leads"]
    assert (
        counts["rising"] == (now["trend"] == "rising").sum()
        and counts["new"] == (now["trend"] == "new").sum()
    )
    # Re-writing the same run compares with the earlier as-of again, not with itself.
    run(small_scorer, NOW, url, table=table)
    again = db.read_scores_from_db(url, table, pd.Timestamp(NOW))
    assert again["trend"].tolist() == now["trend"].tolist()


def test_spark_folder_scoring_says_its_trend_is_empty(tmp_path, small_scorer, crm_folder, monkeypatch):
    """The Spark folder route publishes itself and is not joined with the last run: said, never silent."""
    from pipelines import spark_job

    published = tmp_path / "scores.parquet"
    shutil.copytree(crm_folder, tmp_path / "crm")

    def fake_spark(master, scorer, where, as_of, output, *rest):
        from pipelines.stream import run_score_streaming

        return run_score_streaming(scorer, where.folder, as_of, output, 10_000, False)

    monkeypatch.setattr(spark_job, "score_folder_on_spark", fake_spark)
    source = source_for(small_scorer, str(tmp_path / "crm"))
    cfg = load_config()
    result, _ = run_score_job(
        small_scorer, source, pd.Timestamp(NOW), str(published), cfg, reasons=False, engine="spark"
    )
    assert result.trend.warning and "spark engine" in result.trend.sentence
    assert (pd.read_parquet(published)["trend"] == "").all()


def test_previous_scores_no_scoring_needed(tmp_path):
    """The look-up alone: the latest earlier run of the same model beside a new output, and hostile files."""
    import json

    from pipelines.score_job import previous_scores

    def published(name, model, as_of):
        scores = tmp_path / f"{name}.csv"
        scores.write_text(f"lead_id,as_of,score,grade,model_name\nL1,{as_of},0.5,B,{model}\n")
        manifest = {"as_of": as_of, "model_name": model, "files": {"scores": {"file": scores.name}}}
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))

    published("a", "leadscore", "2026-08-01T00:00:00")
    published("b", "leadscore", "2026-09-01T00:00:00")
    published("c", "leadscore_eu", "2026-09-15T00:00:00")  # another model: never picked
    published("d", "leadscore", "2026-11-01T00:00:00")  # later than this run
    (tmp_path / "broken.manifest.json").write_text("{not json")
    found = previous_scores(str(tmp_path / "new.csv"), None, None, "leadscore", pd.Timestamp(NOW))
    assert found.rows is not None and not found.warning and str(tmp_path / "b.csv") in found.sentence

    zoned = tmp_path / "zoned.csv"
    zoned.write_text("lead_id,as_of,score,grade,model_name\nL1,2026-09-01T00:00:00+02:00,0.5,A,leadscore\n")
    odd = previous_scores(str(tmp_path / "new.csv"), None, str(zoned), "leadscore", pd.Timestamp(NOW))
    assert odd.rows is None and odd.warning and odd.sentence.endswith("no trend")
    gone = previous_scores(str(tmp_path / "new.csv"), None, str(tmp_path / "nope.csv"), "leadscore", NOW)
    assert gone.warning and gone.sentence == f"--previous {tmp_path / 'nope.csv'}: no such file: no trend"
