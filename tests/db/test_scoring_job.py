"""The scheduled scoring job end to end with a database: CRM history read from it, scores written back to it."""

from __future__ import annotations

import pandas as pd
import pytest

from features.synthetic import GeneratorConfig
from features.vocab import TABLES
from pipelines import db
from pipelines.io import InputError
from pipelines.locations import read_input, write_tables_output
from pipelines.score import quarantine_path_for, run_score
from pipelines.score_job import write_score_output

AS_OF = pd.Timestamp(GeneratorConfig().end)
SCORING_TABLES = ("accounts", "leads", "activities")


@pytest.fixture(scope="module")
def from_frames(trained_scorer):
    """The reference: the same job on the in-memory tables."""
    history, scorer = trained_scorer
    return run_score(scorer, history.tables(), AS_OF, output=None)


@pytest.mark.slow
def test_scoring_from_and_to_a_database(database, trained_scorer, from_frames):
    url, prefix = database
    history, scorer = trained_scorer
    names = {name: f"{prefix}crm_{name}" for name in TABLES}
    db.write_tables_to_db(url, history.tables(), names)
    table = f"{prefix}lead_scores"

    tables = read_input(url, table_names=names, required=SCORING_TABLES)
    result = run_score(scorer, tables, AS_OF, output=None)
    written = write_score_output(url, table, result, AS_OF, scorer.model_version)
    write_score_output(url, table, result, AS_OF, scorer.model_version)  # the job re-run: same rows, once

    pd.testing.assert_frame_equal(result.scores, from_frames.scores)
    pd.testing.assert_frame_equal(result.accounting, from_frames.accounting)
    stored = db.read_scores_from_db(url, table, AS_OF, scorer.model_version)
    assert len(stored) == len(result.scores) > 1000
    pd.testing.assert_frame_equal(
        stored[list(result.scores.columns)], result.scores, check_dtype=False, check_exact=True
    )
    assert f"{len(result.scores):,} scores" in written[0] and "quarantine" in written[1]
    assert len(db.read_scores_from_db(url, f"{table}_quarantine")) == len(result.quarantine)


def test_file_output_keeps_working_and_table_is_checked(tmp_path, trained_scorer, from_frames, duckdb_url):
    history, scorer = trained_scorer
    output = tmp_path / "scores" / "2026-10-01.parquet"

    written = write_score_output(str(output), None, from_frames, AS_OF, scorer.model_version)

    assert written == [str(output), str(quarantine_path_for(output))]
    pd.testing.assert_frame_equal(pd.read_parquet(output), from_frames.scores)
    with pytest.raises(InputError, match="--table is required"):
        write_score_output(duckdb_url, None, from_frames, AS_OF, scorer.model_version)
    with pytest.raises(InputError, match="applies only to a database"):
        write_score_output(str(output), "lead_scores", from_frames, AS_OF, scorer.model_version)


def test_generated_history_can_go_straight_into_duckdb(duckdb_url, crm_history):
    written = write_tables_output(duckdb_url, {**crm_history.tables(), "truth": crm_history.truth})
    assert "accounts" in written[0]
    tables = read_input(duckdb_url)
    assert {name: len(frame) for name, frame in tables.items()} == {
        name: len(frame) for name, frame in crm_history.tables().items()
    }
