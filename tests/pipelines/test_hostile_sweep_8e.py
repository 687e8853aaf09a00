"""Hostile sweep 8e: two models in one scores table; formulas in the quarantine CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines import db
from tests.db.conftest import database, postgres_schema, postgres_url  # noqa: F401 (fixtures)
from tests.db.frames import fake_quarantine, fake_scores

DAY, LATER = pd.Timestamp("2026-10-05"), pd.Timestamp("2026-10-12")


def _write(url: str, table: str, model_name: str, n: int, quarantined: int, as_of=DAY, seed: int = 0):
    scores = fake_scores(n, str(as_of.date()), model_version="1", seed=seed).assign(model_name=model_name)
    return db.write_scores_to_db(
        url, table, scores, fake_quarantine(quarantined, model_name), as_of, "1", model_name
    )


def _runs(url: str, table: str, as_of=DAY) -> dict[str, int]:
    return db.read_scores_from_db(url, table, as_of).groupby("model_name").size().to_dict()


def test_two_models_at_the_same_version_scoring_one_as_of_keep_each_others_rows(database):  # noqa: F811
    """leadscore and leadscore_eu, both version 1, scored the same as-of into one table: the second run's
    DELETE of the runs it replaces took the run key (as_of, model_version) and deleted the first model's rows
    ("replaced 5"), exit 0 (and PostgreSQL's unique index on (as_of, model_version, lead_id) refused the second
    model's leads). The model name is part of the run key: each model's rerun replaces its own rows only."""
    url, prefix = database
    table = f"{prefix}lead_scores"
    _write(url, table, "leadscore", 5, 2)
    written = _write(url, table, "leadscore_eu", 4, 1)

    assert (written.replaced, written.quarantine_replaced) == (0, 0)
    assert _runs(url, table) == {"leadscore": 5, "leadscore_eu": 4}
    assert _runs(url, f"{table}_quarantine") == {"leadscore": 2, "leadscore_eu": 1}

    again = _write(url, table, "leadscore", 3, 1, seed=2)  # a rerun replaces its own model's run only
    assert (again.replaced, again.quarantine_replaced) == (5, 2)
    assert _runs(url, table) == {"leadscore": 3, "leadscore_eu": 4}
    assert _runs(url, f"{table}_quarantine") == {"leadscore": 1, "leadscore_eu": 1}
    eu = db.read_scores_from_db(url, table, DAY, "1", "leadscore_eu")
    assert len(eu) == 4 and (eu["model_name"] == "leadscore_eu").all()

    # The next run's trend compares with its own model's run of the earlier as-of, not the other's.
    previous = db.read_previous_scores(url, table, "leadscore_eu", LATER)
    assert previous is not None and len(previous) == 4 and (previous["model_name"] == "leadscore_eu").all()


def _old_unique_index(url: str, table: str) -> None:
    """Make `table`'s unique index the one of a release whose run key had no model name."""
    ref = db.TableRef.parse(table)
    new = db.index_name(ref, (*db.RUN_KEY, "lead_id"), unique=True)
    old = db.index_name(ref, (*db.STAMPED, "lead_id"), unique=True)
    with db._transaction(url, write=True) as conn:
        conn.execute(f'DROP INDEX "{ref.schema}"."{new}"')
        conn.execute(f'CREATE UNIQUE INDEX "{old}" ON {ref.sql} (as_of, model_version, lead_id)')


def _index_columns(url: str, table: str) -> list[str]:
    ref = db.TableRef.parse(table)
    with db._transaction(url, write=False) as conn:
        found = conn.read(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = :schema AND tablename = :table",
            {"schema": ref.schema, "table": ref.name},
        )
    return [d.split("(", 1)[1].rstrip(")") for d in found["indexdef"]]


@pytest.mark.parametrize("name", ["lead_scores", "lead_scores_of_the_emea_region_for_the_weekly_job"])
def test_a_postgres_table_from_before_the_model_name_was_in_the_run_key_takes_a_second_model(
    postgres_url,  # noqa: F811
    postgres_schema,  # noqa: F811
    name,
):
    """A table created by an earlier release has a unique index on (as_of, model_version, lead_id): the second
    model's leads broke it. The write widens that index to the run key in its own transaction, once (a long
    table name cuts both index names to the same 63 characters: still widened once, then left alone)."""
    table = f"{postgres_schema}.{name}"
    _write(postgres_url, table, "leadscore", 5, 1)
    _old_unique_index(postgres_url, table)
    assert _index_columns(postgres_url, table) == ["as_of, model_version, lead_id"]

    _write(postgres_url, table, "leadscore_eu", 5, 1)
    _write(postgres_url, table, "leadscore_eu", 5, 1, seed=3)  # a rerun: the index is the new one already

    assert _runs(postgres_url, table) == {"leadscore": 5, "leadscore_eu": 5}
    # No model name is one more name to the index (a unique index takes NULLs for distinct).
    widened = "as_of, model_version, COALESCE(model_name, ''::text), lead_id"
    assert _index_columns(postgres_url, table) == [widened]
    insert = f"INSERT INTO {db.TableRef.parse(table).sql} (as_of, model_version, model_name, lead_id) VALUES "
    for rows in ("('2026-10-05', '1', 'leadscore', 'L000001')", "('2026-10-05', '1', NULL, 'L1'), " * 2):
        with (
            pytest.raises(Exception, match="duplicate key"),
            db._transaction(postgres_url, write=True) as conn,
        ):
            conn.execute(insert + rows.rstrip(", "))


def test_quarantine_rows_written_before_they_had_a_model_name_are_replaced_by_their_models_rerun(database):  # noqa: F811
    """Quarantine rows of an earlier release have no model_name: they belong to the model whose scores their run
    holds. Another model's run of the same as-of and version keeps them; their own model's rerun replaces them."""
    url, prefix = database
    table = f"{prefix}lead_scores"
    _write(url, table, "leadscore", 5, 2)
    with db._transaction(url, write=True) as conn:  # as an earlier release left them
        conn.execute(f"UPDATE {db.TableRef.parse(table + '_quarantine').sql} SET model_name = NULL")

    _write(url, table, "leadscore_eu", 4, 1)
    assert _runs(url, f"{table}_quarantine") == {"leadscore": 2, "leadscore_eu": 1}

    again = _write(url, table, "leadscore", 5, 3, seed=4)
    assert again.quarantine_replaced == 2
    assert _runs(url, f"{table}_quarantine") == {"leadscore": 3, "leadscore_eu": 1}


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1+1)",
    "+44 20 7946 0000",
    "-5",
    "-cmd|' /C calc'!A0",
]


def _quarantine() -> pd.DataFrame:
    """A quarantine whose values and key start like formulas, and a number written as text ("-5")."""
    return pd.DataFrame(
        {
            "table": "accounts",
            "row": range(len(FORMULAS)),
            "key": ["=K1", "A2", "A3", "A4", "-A5"],
            "column": "employee_count",
            "check": "parse(number)",
            "value": pd.Series(FORMULAS, dtype="str"),
            "reason": "employee_count could not be read as a finite number",
        }
    )


def _assert_quoted(path) -> None:
    raw = pd.read_csv(path, dtype="str", keep_default_na=False)
    assert raw["value"].tolist() == [
        "'" + FORMULAS[0],
        "'@SUM(1+1)",
        "'+44 20 7946 0000",
        "-5",
        "'" + FORMULAS[4],
    ]
    assert raw["key"].tolist() == ["=K1", "A2", "A3", "A4", "-A5"]  # ids a program joins on: as written
    from pipelines.io import quarantine_from_csv

    back = quarantine_from_csv(pd.read_csv(path, dtype={"value": "str", "key": "str"}))
    assert back["value"].tolist() == FORMULAS and back["row"].tolist() == list(range(len(FORMULAS)))


def test_a_quarantined_value_a_spreadsheet_would_run_is_quoted_in_the_quarantine_csvs(
    tmp_path, small_history
):
    """The quarantine holds values as read and people open it in a spreadsheet: a value '=HYPERLINK(...)' or
    '@SUM(...)' ran as a formula there (the scores CSV quoted its text, the quarantine CSVs did not). The value,
    reason and names get an apostrophe as the scores CSV's text does; the row's key stays as written, numbers
    ("-5") stay numbers, and a reader gets the values back with pipelines.io.quarantine_from_csv."""
    from pipelines.io import write_quarantine
    from pipelines.score import quarantine_path_for, write_scores_file
    from pipelines.validate import run_validate

    output = tmp_path / "scores.csv"
    write_scores_file(fake_scores(3, "2026-10-01"), _quarantine(), output, {"as_of": "2026-10-01"})
    _assert_quoted(quarantine_path_for(output))
    write_quarantine(
        _quarantine(), tmp_path / "failed.quarantine.csv"
    )  # validate's and a failed run's writer
    _assert_quoted(tmp_path / "failed.quarantine.csv")
    write_quarantine(_quarantine(), tmp_path / "q.parquet")  # Parquet holds the values as read
    assert pd.read_parquet(tmp_path / "q.parquet")["value"].tolist() == FORMULAS

    tables = dict(small_history.tables())
    accounts = tables["accounts"].astype({"employee_count": object})
    accounts.loc[accounts.index[:2], "employee_count"] = ["=1+1", "-5"]
    tables["accounts"] = accounts
    run_validate(tables, quarantine_path=tmp_path / "validate.csv")
    written = pd.read_csv(tmp_path / "validate.csv", dtype="str", keep_default_na=False)
    values = written.loc[written["column"] == "employee_count", "value"].tolist()
    assert "'=1+1" in values and "-5" in values and "=1+1" not in values


def test_a_quarantine_without_formulas_is_written_byte_for_byte_as_before(tmp_path):
    """The demo's quarantine (negative employee counts "-1", ids, reasons) is unchanged by the quoting."""
    import csv

    from pipelines.io import write_quarantine

    plain = _quarantine().assign(value=["-1", "12.5", "", "n/a", "-5"], key=["A1", "A2", "A3", "A4", "A5"])
    write_quarantine(plain, tmp_path / "q.csv")
    plain.to_csv(tmp_path / "before.csv", index=False, quoting=csv.QUOTE_MINIMAL)
    assert (tmp_path / "q.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()


@pytest.mark.slow  # a Spark session
def test_the_spark_quarantine_csv_is_quoted_as_the_pandas_one(spark_local):
    from pipelines.io import quarantine_for_csv as pandas_quoted
    from pipelines.spark_job import quarantine_for_csv as spark_quoted

    frame = _quarantine().astype({"row": "int64"})
    got = spark_quoted(spark_local.createDataFrame(frame)).toPandas()
    pd.testing.assert_frame_equal(got, pandas_quoted(frame), check_dtype=False)
