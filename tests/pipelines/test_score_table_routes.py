"""Every scoring route gives exactly the score table's columns and types (models/score_table.py)."""

import json

import numpy as np
import pandas as pd
import pytest

from features.synthetic import GeneratorConfig, generate_history
from models.score_table import SCORE_COLUMNS, SCORE_KINDS, dtype_mismatches
from pipelines import db
from pipelines.io import write_tables
from pipelines.score import run_score
from pipelines.stream import run_score_streaming

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture(scope="module")
def scorer(trained_small):
    return trained_small.scorer  # the session's model (tests/conftest.py); only read here


@pytest.fixture(scope="module")
def history():
    return generate_history(GeneratorConfig(accounts=300, months=12, seed=9, dirty_rows=2))


@pytest.mark.parametrize("reasons", [True, False])
def test_batch_and_its_published_file_are_the_score_table(tmp_path, scorer, history, reasons):
    output = tmp_path / "scores.parquet"
    result = run_score(scorer, history.tables(), AS_OF, output, reasons=reasons)
    assert len(result.scores) > 0
    assert dtype_mismatches(result.scores) == []
    assert dtype_mismatches(pd.read_parquet(output)) == []


@pytest.mark.parametrize("reasons", [True, False])
def test_streamed_scores_are_the_score_table(tmp_path, scorer, history, reasons):
    folder = tmp_path / "crm"
    write_tables(history.tables(), folder, "parquet")
    output = tmp_path / "scores.parquet"
    result = run_score_streaming(scorer, folder, AS_OF, output, chunk_size=100, reasons=reasons)
    written = pd.read_parquet(output)
    assert len(written) == result.count("scored") > 0
    assert dtype_mismatches(written) == []


def test_database_scores_are_the_score_table_with_the_run_key(tmp_path, scorer, history):
    url = f"duckdb:///{tmp_path / 'scores.duckdb'}"
    result = run_score(scorer, history.tables(), AS_OF, None)
    db.write_scores_to_db(url, "lead_scores", result.scores, result.quarantine, AS_OF, scorer.model_version)
    stored = db.read_scores_from_db(url, "lead_scores")
    assert list(stored.columns) == ["as_of", "model_version", "lead_id"] + [
        c for c in SCORE_COLUMNS if c not in ("as_of", "model_version", "lead_id")
    ]
    assert dtype_mismatches(stored[list(SCORE_COLUMNS)]) == []
    pd.testing.assert_frame_equal(stored[list(SCORE_COLUMNS)], result.scores)  # same rows, same order
    with db._transaction(url, write=False) as conn:
        types = conn.read(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'lead_scores'"
        ).set_index("column_name")["data_type"]
    duckdb_types = {"text": "VARCHAR", "time": "TIMESTAMP", "number": "DOUBLE", "flag": "BOOLEAN"}
    assert types.to_dict() == {name: duckdb_types[kind] for name, kind in SCORE_KINDS.items()}


@pytest.mark.parametrize("reasons", [True, False])
def test_online_json_has_the_score_table_keys_and_json_types(scorer, reasons):
    from models.artifact import LeadScoreModel
    from models.lead_input import LEAD_INPUT_COLUMNS
    from models.scorer import score_records
    from pipelines.serve import predictions_json

    model = LeadScoreModel()
    model.scorer = scorer
    rows = [{"lead_id": "L-1", "email": "sam@example.org", "job_title": "VP Marketing"}]
    params = {"as_of": "2026-10-01", "reasons": reasons}
    records = score_records(model.score_columns(rows, params))
    assert [tuple(r) for r in records] == [SCORE_COLUMNS]
    json_types = {"text": (str, type(None)), "time": (str,), "number": (float,), "flag": (bool,)}
    for name, kind in SCORE_KINDS.items():
        assert isinstance(records[0][name], json_types[kind]), name
    # Records leave out a field they have no value for; a frame holds every field, null where none.
    frame = model.predict(None, pd.DataFrame(rows, columns=list(LEAD_INPUT_COLUMNS)), params=params)
    assert tuple(frame.columns) == SCORE_COLUMNS
    answer = json.loads(predictions_json(frame))["predictions"][0]
    assert tuple(answer) == SCORE_COLUMNS and np.isfinite(answer["score"])
