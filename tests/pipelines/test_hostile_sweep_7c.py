"""Hostile sweep 7c: the scheduled batch job's view (score, queue and retrain run unattended, day after day)."""

from __future__ import annotations

import subprocess
import threading
import time

import pandas as pd

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
