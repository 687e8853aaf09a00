"""Scores into a database table: one transaction per run, idempotent per (as_of, model_version), never half a run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from pipelines import db
from tests.db.frames import fake_quarantine, fake_scores

REPO = Path(__file__).resolve().parents[2]
AS_OF, LATER = "2026-10-01", "2026-10-08"


def _scores(url: str, table: str, as_of: str | None = None, version: str | None = None) -> pd.DataFrame:
    return db.read_scores_from_db(url, table, pd.Timestamp(as_of) if as_of else None, version)


def _assert_run_equals(got: pd.DataFrame, scores: pd.DataFrame) -> None:
    """The stored run equals the frame that was written (run key columns first, then the score columns)."""
    expected = db.with_run_key(scores, pd.Timestamp(scores["as_of"].iloc[0]), scores["model_version"].iloc[0])
    pd.testing.assert_frame_equal(got[list(expected.columns)], expected, check_dtype=False)


def _write(url, table, scores, quarantine):
    return db.write_scores_to_db(
        url, table, scores, quarantine, pd.Timestamp(scores["as_of"].iloc[0]), scores["model_version"].iloc[0]
    )


def test_the_fake_frames_have_the_real_columns():
    from features.contracts import QUARANTINE_COLUMNS
    from models.scorer import SCORE_COLUMNS

    assert tuple(fake_scores(3, AS_OF).columns) == SCORE_COLUMNS
    assert tuple(fake_quarantine(3).columns) == QUARANTINE_COLUMNS


def test_a_run_is_written_with_its_key_and_quarantine(database):
    url, prefix = database
    table = f"{prefix}lead_scores"
    scores, quarantine = fake_scores(300, AS_OF), fake_quarantine(4)

    written = _write(url, table, scores, quarantine)

    assert (written.rows, written.replaced, written.quarantine_rows) == (300, 0, 4)
    got = _scores(url, table)
    assert list(got.columns[:3]) == ["as_of", "model_version", "lead_id"]
    _assert_run_equals(got, scores)
    stored_quarantine = _scores(url, f"{table}_quarantine")
    assert len(stored_quarantine) == 4
    assert (stored_quarantine["as_of"] == pd.Timestamp(AS_OF)).all()
    assert (stored_quarantine["model_version"] == "3").all()
    pd.testing.assert_frame_equal(
        stored_quarantine[quarantine.columns], quarantine, check_dtype=False, check_index_type=False
    )


def test_rewriting_the_same_run_replaces_it_and_other_runs_are_kept(database):
    url, prefix = database
    table = f"{prefix}lead_scores"
    _write(url, table, fake_scores(200, AS_OF, seed=1), fake_quarantine(3))
    _write(url, table, fake_scores(150, LATER, seed=2), fake_quarantine(2))
    other_model = fake_scores(100, AS_OF, model_version="4", seed=3).assign(model_name="leadscore_eu")
    _write(url, table, other_model, fake_quarantine(1))  # another model name: its run is kept

    again = fake_scores(180, AS_OF, seed=4)  # same as-of and model version as the first: replaces it
    written = _write(url, table, again, fake_quarantine(5, "again"))

    assert (written.replaced, written.quarantine_replaced) == (200, 3)
    everything = _scores(url, table)
    assert not everything.duplicated(["as_of", "model_version", "lead_id"]).any()
    runs = everything.groupby(["as_of", "model_version"]).size().to_dict()
    assert runs == {
        (pd.Timestamp(AS_OF), "3"): 180,
        (pd.Timestamp(AS_OF), "4"): 100,
        (pd.Timestamp(LATER), "3"): 150,
    }
    _assert_run_equals(_scores(url, table, AS_OF, "3"), again)
    quarantine = _scores(url, f"{table}_quarantine", AS_OF, "3")
    assert len(quarantine) == 5 and quarantine["reason"].str.endswith("again").all()


def test_new_score_columns_are_added_to_an_existing_table(database):
    url, prefix = database
    table = f"{prefix}lead_scores"
    _write(url, table, fake_scores(50, AS_OF), fake_quarantine(0))
    wider = fake_scores(60, LATER).assign(segment="enterprise")

    _write(url, table, wider, fake_quarantine(0))

    got = _scores(url, table)
    assert got.loc[got["as_of"] == pd.Timestamp(LATER), "segment"].eq("enterprise").all()
    assert got.loc[got["as_of"] == pd.Timestamp(AS_OF), "segment"].isna().all()


def test_a_failure_mid_write_leaves_the_previous_run_whole(database, monkeypatch):
    url, prefix = database
    table = f"{prefix}lead_scores"
    previous, previous_quarantine = fake_scores(400, AS_OF, seed=1), fake_quarantine(3, "previous")
    _write(url, table, previous, previous_quarantine)

    monkeypatch.setattr(db, "INSERT_BATCH_ROWS", 100)
    batches = []
    for backend in (db._DuckDB, db._Postgres):
        real_insert = backend.insert

        def failing_insert(self, ref, frame, real_insert=real_insert):
            batches.append(len(frame))
            if len(batches) == 3:  # two batches of the new run are in the table (inside the transaction)
                raise RuntimeError("connection lost")
            real_insert(self, ref, frame)

        monkeypatch.setattr(backend, "insert", failing_insert)

    with pytest.raises(RuntimeError, match="connection lost"):
        _write(url, table, fake_scores(400, AS_OF, seed=2), fake_quarantine(9, "new"))

    assert batches == [100, 100, 100]
    monkeypatch.undo()
    _assert_run_equals(_scores(url, table), previous)
    quarantine = _scores(url, f"{table}_quarantine")
    assert len(quarantine) == 3 and quarantine["reason"].str.endswith("previous").all()


def test_a_failed_write_rolls_back_its_table_changes_too(database):
    url, prefix = database
    table = f"{prefix}lead_scores"
    broken = fake_scores(10, AS_OF).assign(score=["0.5"] * 9 + ["not a number"])
    with db._transaction(url, write=True) as conn:  # a table whose score column cannot take the text
        conn.execute(f"CREATE TABLE {db.TableRef.parse(table).sql} (score DOUBLE PRECISION)")

    with pytest.raises(db.DatabaseWriteError, match="nothing was written"):
        _write(url, table, broken, fake_quarantine(2))

    assert _scores(url, table).empty  # the columns added in the failed transaction are gone too
    assert list(_scores(url, table).columns) == ["score"]
    with db._transaction(url, write=False) as conn:
        assert not conn.has_table(db.TableRef.parse(f"{table}_quarantine"))


def test_the_run_key_must_agree_with_the_frame_and_leads_are_unique(duckdb_url):
    with pytest.raises(ValueError, match="model_version"):
        db.write_scores_to_db(
            duckdb_url, "lead_scores", fake_scores(5, AS_OF), fake_quarantine(0), pd.Timestamp(AS_OF), "9"
        )
    twice = pd.concat([fake_scores(5, AS_OF)] * 2, ignore_index=True)
    with pytest.raises(ValueError, match="repeat lead_id"):
        db.write_scores_to_db(duckdb_url, "lead_scores", twice, fake_quarantine(0), pd.Timestamp(AS_OF), "3")


def test_postgres_refuses_a_second_row_for_a_lead_in_one_run(postgres_url, postgres_schema):
    table = f"{postgres_schema}.lead_scores"
    _write(postgres_url, table, fake_scores(20, AS_OF), fake_quarantine(0))
    # The unique index guards the table against any writer, not only this module.
    with pytest.raises(Exception, match="duplicate key"), db._transaction(postgres_url, write=True) as conn:
        conn.execute(
            f"INSERT INTO {db.TableRef.parse(table).sql} (as_of, model_version, model_name, lead_id) "
            "VALUES ('2026-10-01', '3', 'leadscore', 'L000001')"
        )


# A writer process that stops after its first batch of a 1,000-row run, to be killed there.
WRITER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from pipelines import db
    from tests.db.frames import fake_quarantine, fake_scores

    url, table = sys.argv[1], sys.argv[2]
    db.INSERT_BATCH_ROWS = 100
    calls = []
    for backend in (db._DuckDB, db._Postgres):
        def paused_insert(self, ref, frame, real=backend.insert):
            calls.append(1)
            if len(calls) == 2:
                print("halfway", flush=True)
                time.sleep(120)
            real(self, ref, frame)
        backend.insert = paused_insert
    scores = fake_scores(1000, "2026-10-01", seed=9)
    db.write_scores_to_db(url, table, scores, fake_quarantine(7), pd.Timestamp("2026-10-01"), "3")
    """
)


@pytest.mark.slow  # a writer subprocess, killed
def test_a_writer_killed_mid_run_leaves_the_previous_run_whole(database, tmp_path):
    url, prefix = database
    table = f"{prefix}lead_scores"
    previous = fake_scores(400, AS_OF, seed=1)
    _write(url, table, previous, fake_quarantine(3, "previous"))
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writer = subprocess.Popen(
        [sys.executable, str(script), url, table], stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
    )
    try:
        assert writer.stdout.readline().strip() == "halfway"
        if url.startswith("postgresql"):  # a reader meanwhile sees the previous run, not the half-written one
            _assert_run_equals(_scores(url, table), previous)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.stdout.close()

    _assert_run_equals(_scores(url, table), previous)
    assert len(_scores(url, f"{table}_quarantine")) == 3
    new = fake_scores(250, AS_OF, seed=5)  # and the table is free again: the next run writes normally
    _write(url, table, new, fake_quarantine(1))
    _assert_run_equals(_scores(url, table), new)


def test_an_existing_table_is_checked_before_scoring_on_either_database(database):
    # check_scores_table reads the column types as each database names them (hostile sweep 15).
    url, prefix = database
    table = f"{prefix}lead_scores"
    _write(url, table, fake_scores(5, AS_OF), fake_quarantine(1))
    db.check_scores_table(url, table)
    rounding = f"{prefix}rounding"
    with db._transaction(url, write=True) as conn:
        ref = db.TableRef.parse(rounding).sql
        conn.execute(f"CREATE TABLE {ref} (as_of TIMESTAMP, model_version TEXT, lead_id TEXT, score INTEGER)")
    with pytest.raises(db.DatabaseError, match="column 'score' is INTEGER"):
        db.check_scores_table(url, rounding)


def test_a_duckdb_scores_table_named_in_other_case_is_the_same_table(duckdb_url):
    # DuckDB's names match whatever their case: after --table Lead_Scores, --table lead_scores was taken for a
    # new table and CREATE TABLE failed with "already exists" (exit 1, an unexpected error).
    _write(duckdb_url, "Lead_Scores", fake_scores(50, AS_OF, seed=1), fake_quarantine(2))
    written = _write(duckdb_url, "lead_scores", fake_scores(40, AS_OF, seed=2), fake_quarantine(1))
    assert (written.replaced, written.quarantine_replaced) == (50, 2)
    assert len(_scores(duckdb_url, "LEAD_SCORES", AS_OF, "3")) == 40
