"""What the README promises, where the code did otherwise (h-docs13)."""

import duckdb
import pandas as pd
import pytest

from pipelines import db
from pipelines.score_job import run_score_job
from pipelines.settings import load_config


def test_a_scores_table_in_a_missing_schema_is_refused_before_scoring_naming_the_fix(tmp_path):
    """README: `--table analytics.lead_scores` (created if missing). The schema was not: the whole run was
    scored, then the write failed with exit 1 ('Catalog Error: Schema with name analytics does not exist!').
    Now a DatabaseError (exit 3) before anything is scored, naming the schema and the fix."""
    url = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    nothing = object()  # never reached: the check comes before the scorer or the source is used
    with pytest.raises(db.DatabaseError, match=r"no schema 'analytics'.*CREATE SCHEMA analytics"):
        run_score_job(
            nothing, nothing, pd.Timestamp("2026-10-01"), url, load_config(), table="analytics.lead_scores"
        )  # type: ignore[arg-type]
    assert not (tmp_path / "crm.duckdb").exists()  # nothing written, not even the file

    db.check_scores_schema(url, "lead_scores")  # no schema: the database's default
    db.check_scores_schema(url, "main.lead_scores")  # a new DuckDB file has its main schema
    duckdb.connect(str(tmp_path / "crm.duckdb")).execute("CREATE SCHEMA analytics").close()
    db.check_scores_schema(url, "analytics.lead_scores")
    db.check_scores_schema(url, "Analytics.lead_scores")  # DuckDB's names ignore case, quoted or not
    with pytest.raises(db.DatabaseError, match="no schema 'crm'"):
        db.check_scores_schema(url, "crm.lead_scores")  # an existing file, without that schema
