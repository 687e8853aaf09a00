"""Hostile sweep 7c: the scheduled batch job's view (score, queue and retrain run unattended, day after day)."""

from __future__ import annotations

import subprocess
import threading
import time

import pandas as pd

from pipelines import db
from pipelines.io import folder_lock
from pipelines.score import verify_published, write_scores_file
from tests.db.frames import fake_quarantine, fake_scores


def test_a_run_publishing_beside_another_live_run_keeps_its_files_and_waits_its_turn(tmp_path):
    """Two runs writing one --output at once (a slow run overlapping the next day's): the second removed the
    first's temporary files as stale (the first failed with a traceback, exit 1), and their renames could
    interleave (one run's manifest beside the other's scores). Only files of runs that are gone are stale,
    and a run publishes while no other run publishes into the folder."""
    output = tmp_path / "scores.parquet"
    live = subprocess.Popen(["sleep", "30"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        other_run = tmp_path / f".{output.name}.{live.pid}.abcd1234.tmp"
        other_run.write_text("the other run's scores, still being written")
        killed_run = tmp_path / f".{output.name}.{gone.pid}.wxyz9876.tmp"
        killed_run.write_text("left by a killed run")
        scores = fake_scores(20, "2026-10-01")
        manifest = {"as_of": pd.Timestamp("2026-10-01").isoformat(), "model_name": "leadscore"}
        publishing = threading.Thread(
            target=write_scores_file, args=(scores, fake_quarantine(2), output, manifest)
        )
        with folder_lock(tmp_path):  # another run is publishing into the folder
            publishing.start()
            time.sleep(0.3)
            assert not output.exists()  # this run waits for its turn
        publishing.join(timeout=10)
        assert not publishing.is_alive()
        assert verify_published(output) == []
        assert len(pd.read_parquet(output)) == 20
        assert other_run.exists()  # a live run's file is never taken for a stale one
        assert not killed_run.exists()
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == [other_run.name]
    finally:
        live.kill()
        live.wait()


def test_a_rerun_of_an_as_of_after_a_promotion_leaves_one_row_per_lead_in_the_table(tmp_path):
    """The Monday job wrote version 3's scores; version 4 was promoted and the day rerun: the table kept both
    runs, so the README's reader query (`WHERE as_of = max(as_of) ... LIMIT 50`) got every lead twice (50 rows,
    27 leads on the probe), exit 0. A run of an as-of replaces its model name's runs of it, whatever version."""
    url, table = f"duckdb:///{tmp_path / 'scores.duckdb'}", "lead_scores"
    as_of = pd.Timestamp("2026-10-05")
    for version, quarantined in (("3", 4), ("4", 2)):
        scores = fake_scores(30, "2026-10-05", model_version=version)
        db.write_scores_to_db(url, table, scores, fake_quarantine(quarantined, version), as_of, version)
    other = fake_scores(10, "2026-10-05", model_version="1").assign(model_name="leadscore_eu")
    db.write_scores_to_db(url, table, other, fake_quarantine(1), as_of, "1")  # another model's run is kept

    day = db.read_scores_from_db(url, table, as_of)
    ours = day[day["model_name"] == "leadscore"]
    assert len(ours) == ours["lead_id"].nunique() == 30
    assert set(ours["model_version"]) == {"4"}
    assert (day["model_name"] == "leadscore_eu").sum() == 10
    quarantine = db.read_scores_from_db(url, f"{table}_quarantine", as_of)
    assert sorted(quarantine["model_version"]) == ["1", "4", "4"]


def test_a_previous_file_of_several_runs_is_compared_with_its_latest_run_only():
    """`--previous` given an export of a scores table's history (runs of 09-01 and 09-24, oldest first): the
    sentence said "as of 2026-09-24" but each lead was compared with its first row, the 09-01 run's (lead a
    "falling A→C" while it stood still since 09-24), exit 0. Only the latest run's rows are compared; a lead
    twice in that run is no run leadscore published: no trend, said."""
    from models.trend import comparable_run, with_trend

    def run(day: str, scores: list[float], grades: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {"lead_id": ["a", "b"], "as_of": pd.Timestamp(day), "score": scores, "grade": grades}
        ).assign(model_name="leadscore")

    history = pd.concat(
        [run("2026-09-01", [0.9, 0.1], ["A", "D"]), run("2026-09-24", [0.31, 0.62], ["C", "B"])]
    )
    now = pd.DataFrame({"lead_id": ["a", "b"], "score": [0.30, 0.60], "grade": ["C", "B"]})

    rows, sentence = comparable_run(history, "leadscore", pd.Timestamp("2026-10-01"), "history.csv")
    trend = with_trend(now, rows, 0.05)

    assert "as of 2026-09-24" in sentence
    assert trend["previous_score"].tolist() == [0.31, 0.62]
    assert trend["trend"].tolist() == ["steady", "steady"]
    assert trend["grade_jump"].tolist() == ["", ""]
    twice = pd.concat([run("2026-09-24", [0.3, 0.6], ["C", "B"])] * 2)
    rows, sentence = comparable_run(twice, "leadscore", pd.Timestamp("2026-10-01"), "twice.csv")
    assert rows is None and "more than once" in sentence and sentence.endswith("no trend")


def test_a_spark_run_publishing_its_folder_waits_for_a_run_publishing_beside_it(tmp_path):
    """The Spark job publishes a scores folder with its own renames; they took no lock, so a pandas or Spark
    run publishing into the same folder at once could interleave with them, as two pandas runs once did."""
    from pipelines.spark_job import publish_folder_run

    output = tmp_path / "scores.parquet"
    staged = tmp_path / ".scores.parquet.staged"
    staged.mkdir()
    fake_scores(20, "2026-10-01").to_parquet(staged / "part-00000.parquet")
    q_staged = tmp_path / ".scores.quarantine.csv.staged"
    fake_quarantine(2).to_csv(q_staged, index=False)
    manifest = {"as_of": pd.Timestamp("2026-10-01").isoformat(), "model_name": "leadscore"}
    publishing = threading.Thread(target=publish_folder_run, args=(staged, q_staged, output, manifest))
    with folder_lock(tmp_path):  # another run is publishing into the folder
        publishing.start()
        time.sleep(0.3)
        assert not output.exists()  # this run waits for its turn
    publishing.join(timeout=10)
    assert not publishing.is_alive() and output.is_dir()
    assert verify_published(output) == []
