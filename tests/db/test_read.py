"""CRM tables through a database: DuckDB files and a real PostgreSQL server give back what was written."""

from __future__ import annotations

import pandas as pd
import pytest

from features.contracts import validate_tables
from features.vocab import TABLES
from pipelines import db
from pipelines.io import InputError
from pipelines.locations import describe_location, parse_assignments, read_input, write_tables_output


def _names(prefix: str) -> dict[str, str]:
    return {name: f"{prefix}{name}" for name in TABLES}


def _assert_same_tables(got: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert set(got) == set(expected)
    for name, frame in expected.items():
        # Same values; dtypes may differ only where the contract coerces them (datetime unit, int width).
        times = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        for column in times:
            assert pd.api.types.is_datetime64_dtype(got[name][column]), (name, column)
        _assert_same_values(got[name], frame, obj=name)


def _assert_same_values(got: pd.DataFrame, expected: pd.DataFrame, obj: str) -> None:
    """Equal values and columns; dtypes may differ (int width, datetime unit: pandas compares raw ticks)."""
    times = [c for c in expected.columns if pd.api.types.is_datetime64_any_dtype(expected[c])]
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True).astype({c: "datetime64[us]" for c in times}),
        expected.reset_index(drop=True).astype({c: "datetime64[us]" for c in times}),
        check_dtype=False,
        obj=obj,
    )


def test_url_detection_and_password_hiding():
    assert db.is_database_url("duckdb:///data/leadscore.duckdb")
    assert db.is_database_url("postgresql://scorer@db.internal:5432/crm")
    assert db.is_database_url("postgresql+psycopg://scorer@db/crm")
    assert not db.is_database_url("data/crm")
    assert not db.is_database_url("scores/2026-10-01.parquet")
    shown = describe_location("postgresql://scorer:s3cret@db.internal/crm")
    assert "s3cret" not in shown and "scorer" in shown and "db.internal/crm" in shown
    assert describe_location("data/crm") == "data/crm"


def test_table_names_must_be_plain_identifiers():
    assert db.TableRef.parse("crm.accounts").sql == '"crm"."accounts"'
    for bad in ("accounts; DROP TABLE x", "a.b.c", "", "lead-scores"):
        with pytest.raises(db.DatabaseError):
            db.TableRef.parse(bad)


def test_round_trip_of_the_crm_tables(database, crm_history):
    url, prefix = database
    tables = crm_history.tables()
    db.write_tables_to_db(url, tables, _names(prefix))

    got = read_input(url, table_names=_names(prefix))

    _assert_same_tables(got, tables)
    from_db, from_frames = validate_tables(got), validate_tables(tables)
    pd.testing.assert_frame_equal(from_db.counts(), from_frames.counts())
    for name in TABLES:
        _assert_same_values(from_db.valid[name], from_frames.valid[name], obj=f"valid {name}")


def test_awkward_values_survive_the_round_trip(database):
    url, prefix = database
    frame = pd.DataFrame(
        {
            "text": ["x", "", None, "tab\there", "back\\slash", "\\N", "line\nbreak\r", "ünï 'quote' \"dq\""],
            "at": pd.to_datetime(
                [
                    "2024-01-01",
                    None,
                    "2024-02-01 10:11:12.123456",
                    None,
                    None,
                    None,
                    None,
                    "1999-12-31 23:59",
                ],
                format="ISO8601",
            ),
            "number": [1.5, None, 2.0, 0.1, 1e300, -0.0, 3.0, float("inf")],
            "flag": [True, False, True, False, True, False, True, False],
            "count": range(8),
        }
    )
    db.write_tables_to_db(url, {"accounts": frame}, {"accounts": f"{prefix}odd"})
    with db._transaction(url, write=False) as conn:
        got = conn.read(f"SELECT * FROM {db.TableRef.parse(prefix + 'odd').sql} ORDER BY count")
    _assert_same_values(got, frame, obj="odd")


def test_queries_and_optional_tables(database, crm_history):
    url, prefix = database
    tables = crm_history.tables()
    del tables["deals"]
    db.write_tables_to_db(url, tables, _names(prefix))
    activities = db.TableRef.parse(f"{prefix}activities").sql
    queries = {"activities": f"SELECT * FROM {activities} WHERE activity_type = 'pricing_page'"}

    names = {name: table for name, table in _names(prefix).items() if name != "deals"}  # named: wanted
    got = read_input(url, names, queries, required=("accounts", "leads", "activities"))

    assert "deals" not in got  # optional at scoring, and absent here
    assert set(got["activities"]["activity_type"]) == {"pricing_page"}
    expected = tables["activities"][tables["activities"]["activity_type"] == "pricing_page"]
    assert len(got["activities"]) == len(expected)
    with pytest.raises(InputError, match="deals"):
        read_input(url, _names(prefix))  # required by default (training)


def test_timestamps_with_time_zone_come_back_naive_utc(database):
    url, _ = database
    query = (
        "SELECT 'L1' AS lead_id, CAST('2024-03-01 12:00:00+02:00' AS TIMESTAMPTZ) AS occurred_at, "
        "'webinar' AS activity_type"
    )
    with db._transaction(url, write=True) as conn:  # an empty database still answers a query
        frame = db.normalise_read(conn.read(query))
    assert frame["occurred_at"].dtype.kind == "M" and frame["occurred_at"].dt.tz is None
    assert frame["occurred_at"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")


def test_bad_inputs_are_input_errors(database, tmp_path):
    url, prefix = database
    db.write_tables_to_db(url, {"accounts": pd.DataFrame({"account_id": ["A1"]})}, _names(prefix))
    with pytest.raises(InputError, match="table '.*leads' .*not found"):
        read_input(url, _names(prefix))
    with pytest.raises(InputError, match="cannot read the query for 'leads'"):
        read_input(
            url, _names(prefix), {"leads": "SELECT * FROM no_such_table"}, required=("accounts", "leads")
        )
    with pytest.raises(InputError, match="not a CRM table"):
        parse_assignments(["contacts=SELECT 1"], "--query")
    with pytest.raises(InputError, match="only to a database"):
        read_input(tmp_path, queries={"leads": "SELECT 1"})


def test_unreachable_server_and_missing_file_are_input_errors(tmp_path):
    from tests.db.conftest import free_port

    with pytest.raises(InputError, match="cannot connect"):
        read_input(f"postgresql://nobody:pw@127.0.0.1:{free_port()}/crm")
    with pytest.raises(InputError, match="no such DuckDB file"):
        read_input(f"duckdb:///{tmp_path / 'missing.duckdb'}")


def test_parse_assignments_splits_at_the_first_equals_sign():
    got = parse_assignments(["accounts=crm.accounts", "leads=SELECT * FROM l WHERE a = 'b=c'"], "--query")
    assert got == {"accounts": "crm.accounts", "leads": "SELECT * FROM l WHERE a = 'b=c'"}
    with pytest.raises(InputError, match="TABLE=VALUE"):
        parse_assignments(["accounts"], "--input-table")


def test_files_keep_working(tmp_path, crm_history):
    tables = crm_history.tables()
    write_tables_output(tmp_path / "crm", tables)
    _assert_same_tables(read_input(str(tmp_path / "crm")), tables)


def test_default_table_names_on_postgres(postgres_url, crm_history):
    """The plain case: the four tables under their own names in the default schema (public)."""
    tables = crm_history.tables()
    write_tables_output(postgres_url, tables)
    try:
        _assert_same_tables(read_input(postgres_url), tables)
    finally:
        with db._transaction(postgres_url, write=True) as conn:
            for name in TABLES:
                conn.execute(f'DROP TABLE "{name}"')


def test_a_table_named_in_other_case_is_read_or_named_never_taken_as_absent(database, crm_history):
    # A DuckDB table created as Deals was not the deals table (DuckDB's names match whatever their case) and a
    # Postgres table created as "Deals" was not named: deals, optional at scoring, was taken as absent and
    # every lead scored as open, those whose deal had closed too, exit 0.
    url, prefix = database
    tables = crm_history.tables()
    names = {**_names(prefix), "deals": f"{prefix}Deals"}
    db.write_tables_to_db(url, tables, names)
    required = ("accounts", "leads", "activities")
    if url.startswith("duckdb"):
        got = read_input(url, _names(prefix), required=required)
        assert len(got["deals"]) == len(tables["deals"])
    else:
        with pytest.raises(InputError, match=rf"'{prefix}deals' \(for deals\) not found, but .*'Deals' is"):
            read_input(url, _names(prefix), required=required)
        got = read_input(url, names, required=required)  # the fix the sentence gives
        assert len(got["deals"]) == len(tables["deals"])
