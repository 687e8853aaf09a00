"""Hostile sweep 22: the database surface (DuckDB and PostgreSQL as input and as output), as a CRM database
really types and names its columns, and the queries and tables a scheduled job is pointed at."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features.contracts import validate_tables
from pipelines import db
from pipelines.io import InputError
from pipelines.locations import read_input


def _run(url: str, *statements: str) -> None:
    with db._transaction(url, write=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _activities(url: str, table: str) -> pd.DataFrame:
    return read_input(url, {"activities": table}, required=("activities",))["activities"]


# An id column of a CRM: BIGINT (nullable), NUMERIC(20,0) (an id migrated from Oracle's NUMBER), beyond int64.
BIG = 2**53 + 1  # the first integer a float64 cannot hold: read as float it is its neighbour 2**53


@pytest.mark.parametrize("sql_type", ["BIGINT", "NUMERIC(20,0)", "DECIMAL(38,0)"])
def test_integer_ids_with_nulls_are_read_exactly(database, sql_type):
    """One NULL in an integer id column made the whole column float64, and every id above 2**53 its neighbour:
    393 of 639 leads were scored with another lead's activities (0.74 off), exit 0, on DuckDB and PostgreSQL.
    PostgreSQL's NUMERIC ids were floats even without a NULL."""
    url, prefix = database
    table = f"{prefix}acts"
    _run(
        url,
        f"CREATE TABLE {table} (lead_id {sql_type}, occurred_at TIMESTAMP, activity_type TEXT)",
        f"INSERT INTO {table} VALUES ({BIG}, TIMESTAMP '2026-09-01', 'webinar'), "
        f"(NULL, TIMESTAMP '2026-09-02', 'webinar'), ({BIG + 2}, TIMESTAMP '2026-09-03', 'webinar')",
    )
    ids = _activities(url, table).sort_values("occurred_at")["lead_id"]
    assert [None if pd.isna(v) else str(v) for v in ids] == [str(BIG), None, str(BIG + 2)]


def test_ids_beyond_int64_and_whole_numbers_with_nulls_keep_their_digits(database):
    url, prefix = database
    table = f"{prefix}acts"
    beyond = 10**22 + 1
    _run(
        url,
        f"CREATE TABLE {table} (lead_id NUMERIC(25,0), occurred_at TIMESTAMP, activity_type TEXT, n INTEGER)",
        f"INSERT INTO {table} VALUES ({beyond}, TIMESTAMP '2026-09-01', 'webinar', NULL), "
        f"(7, TIMESTAMP '2026-09-02', 'webinar', 3)",
    )
    got = _activities(url, table).sort_values("occurred_at")
    assert [str(v) for v in got["lead_id"]] == [str(beyond), "7"]
    assert got["n"].isna().iloc[0] and int(got["n"].iloc[1]) == 3


def test_number_columns_read_as_nullable_integers_are_numbers_to_the_contract(database, crm_history):
    """employee_count and founded_year of INTEGER with NULLs come back as nullable integers: the contract reads
    them as the numbers they are, the same as the frames they were written from."""
    url, prefix = database
    tables = crm_history.tables()
    accounts = tables["accounts"].copy()
    accounts["employee_count"] = accounts["employee_count"].astype("Int64").mask(accounts.index % 7 == 0)
    tables["accounts"] = accounts
    names = {name: f"{prefix}{name}" for name in tables}
    db.write_tables_to_db(url, tables, names)
    got = read_input(url, names)
    assert isinstance(got["accounts"]["employee_count"].dtype, pd.Int64Dtype)
    from_db, from_frames = validate_tables(got), validate_tables(tables)
    pd.testing.assert_frame_equal(from_db.counts(), from_frames.counts())
    pd.testing.assert_series_equal(
        from_db.valid["accounts"]["employee_count"].reset_index(drop=True),
        from_frames.valid["accounts"]["employee_count"].reset_index(drop=True),
        check_dtype=False,
    )


def _leads_table(url: str, prefix: str) -> str:
    table = f"{prefix}crm_leads"
    _run(
        url,
        f"CREATE TABLE {table} (lead_id TEXT, email TEXT, created_at TIMESTAMP)",
        f"INSERT INTO {table} VALUES ('L1', 'a@x.com', TIMESTAMP '2026-01-01'), ('L2', 'b:spam@x.com', NULL)",
    )
    return table


def _query_leads(url: str, query: str) -> pd.DataFrame:
    return read_input(url, queries={"leads": query}, required=("leads",))["leads"]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM {t} WHERE email NOT LIKE '%:spam%'",  # SQLAlchemy took :spam for a parameter
        "SELECT * FROM {t} WHERE email LIKE '%@%' AND lead_id <> 'L2';  -- the CRM's own filter",
        "WITH l AS (SELECT * FROM {t}) SELECT * FROM l WHERE lead_id = 'L1' ORDER BY lead_id",
    ],
)
def test_a_query_is_read_as_written(database, query):
    url, prefix = database
    got = _query_leads(url, query.format(t=_leads_table(url, prefix)))
    assert got["lead_id"].tolist() == ["L1"]


@pytest.mark.parametrize(
    "query, said",
    [
        ("SELECT * FROM {t}; COMMIT; DROP TABLE {t}", "one SELECT"),  # PostgreSQL dropped the table
        ("COMMIT; SELECT * FROM {t}", "one SELECT"),
        ("-- the leads", "one SELECT"),  # DuckDB: a traceback
    ],
)
def test_a_query_of_other_or_several_statements_is_refused_and_writes_nothing(database, query, said):
    url, prefix = database
    table = _leads_table(url, prefix)
    with pytest.raises(db.DatabaseError, match=f"cannot read the query for 'leads'.*{said}"):
        _query_leads(url, query.format(t=table))
    assert _query_leads(url, f"SELECT * FROM {table}")["lead_id"].tolist() == ["L1", "L2"]


def test_a_query_that_names_a_missing_column_is_not_told_to_be_one_select(database):
    """Every failing --query ended with "a --query is one SELECT statement", a misspelt column too: the user
    went after the wrong problem. That fix is named only when the query was no single SELECT."""
    url, prefix = database
    with pytest.raises(db.DatabaseError, match="cannot read the query for 'leads'") as refused:
        _query_leads(url, f"SELECT lead_idd FROM {_leads_table(url, prefix)}")
    assert "lead_idd" in str(refused.value) and "one SELECT" not in str(refused.value)


def test_a_query_repeating_a_column_is_refused_naming_the_query(database):
    """A join's two created_at (the lead's and the account's): one of them would be taken for the lead's."""
    url, prefix = database
    table = _leads_table(url, prefix)
    query = f"SELECT a.created_at, l.* FROM {table} l JOIN {table} a USING (lead_id)"
    with pytest.raises(InputError, match=r"the query for 'leads': columns \['created_at', 'created_at'\]"):
        _query_leads(url, query)


def test_extra_columns_of_bytes_beside_lists_are_fingerprinted(duckdb_url):
    """A CRM table's extra BLOB (or BIT, BYTEA) column of bytes that are no text beside a LIST, STRUCT or JSONB
    column: the fingerprint read every object column as text, decoding the bytes, and the run ended in a
    UnicodeDecodeError traceback after the contract had passed."""
    from pipelines.tracking import data_fingerprint

    url = duckdb_url
    _run(
        url,
        "CREATE TABLE activities (lead_id TEXT, occurred_at TIMESTAMP, activity_type TEXT, "
        "payload BLOB, flags BIT, tags VARCHAR[], meta STRUCT(a INT))",
        "INSERT INTO activities VALUES ('L1', TIMESTAMP '2026-09-01', 'webinar', '\\xFF\\x00'::BLOB, "
        "'0101'::BIT, ['a', 'b'], {'a': 1}), ('L2', TIMESTAMP '2026-09-02', 'webinar', NULL, NULL, [], NULL)",
    )
    tables = read_input(url, required=("activities",))
    first = data_fingerprint(tables)
    assert first == data_fingerprint(read_input(url, required=("activities",)))
    _run(url, "UPDATE activities SET payload = '\\xFE\\x00'::BLOB WHERE lead_id = 'L1'")
    assert data_fingerprint(read_input(url, required=("activities",))) != first


@pytest.fixture()
def scorer_role(postgres_url, postgres_schema):
    """A login role that may read the test's schema and nothing else; (its URL, the schema)."""
    import uuid

    import psycopg

    role = f"scorer_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f'CREATE ROLE "{role}" LOGIN')
        c.execute(f'GRANT USAGE ON SCHEMA "{postgres_schema}" TO "{role}"')
    yield postgres_url.replace("postgres@", f"{role}@"), role
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f'DROP OWNED BY "{role}" CASCADE')
        c.execute(f'DROP ROLE "{role}"')


def test_a_scores_table_the_database_user_may_not_write_is_refused_before_scoring(
    postgres_url, postgres_schema, scorer_role
):
    """A scheduled job's read-only user, or a schema it may not create tables in: the write failed after the
    whole run was scored, exit 1 ('permission denied for schema analytics'). Now refused before scoring (exit
    3) with the GRANT to run."""
    from tests.db.frames import fake_quarantine, fake_scores

    url, role = scorer_role
    table = f"{postgres_schema}.lead_scores"
    with pytest.raises(db.DatabaseError, match=f'GRANT CREATE ON SCHEMA "{postgres_schema}" TO "{role}"'):
        db.check_scores_table(url, table)

    day = pd.Timestamp("2026-10-01")
    db.write_scores_to_db(postgres_url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    _run(postgres_url, f'GRANT SELECT, INSERT ON {db.TableRef.parse(table).sql} TO "{role}"')
    quarantine = db.TableRef.parse(f"{table}_quarantine").sql
    with pytest.raises(db.DatabaseError) as refused:
        db.check_scores_table(url, table)
    said = str(refused.value)
    assert f'GRANT DELETE ON TABLE "{postgres_schema}"."lead_scores" TO "{role}"' in said
    assert f'GRANT SELECT, INSERT, DELETE, UPDATE ON TABLE {quarantine} TO "{role}"' in said

    _run(
        postgres_url,
        f'GRANT DELETE ON {db.TableRef.parse(table).sql} TO "{role}"',
        f'GRANT SELECT, INSERT, DELETE, UPDATE ON {quarantine} TO "{role}"',
    )
    db.check_scores_table(url, table)
    written = db.write_scores_to_db(url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    assert (written.rows, written.replaced) == (3, 3)


def test_a_scores_schema_the_database_user_may_not_use_is_refused_with_the_grants(
    postgres_url, postgres_schema, scorer_role
):
    """No USAGE on the scores table's schema, the DBA's most common slip: the rights check itself was refused
    by the server ('permission denied for schema'), a traceback with exit 1. Now exit 3 before scoring, with
    the USAGE grant and the table's rights it could not read."""
    from tests.db.frames import fake_quarantine, fake_scores

    url, role = scorer_role
    table = f"{postgres_schema}.lead_scores"
    day = pd.Timestamp("2026-10-01")
    db.write_scores_to_db(postgres_url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    _run(postgres_url, f'REVOKE USAGE ON SCHEMA "{postgres_schema}" FROM "{role}"')
    with pytest.raises(db.DatabaseError) as refused:
        db.check_scores_table(url, table)
    said = str(refused.value)
    assert f'GRANT USAGE ON SCHEMA "{postgres_schema}" TO "{role}"' in said
    assert f'GRANT SELECT, INSERT, DELETE ON TABLE "{postgres_schema}"."lead_scores" TO "{role}"' in said


def test_a_scores_table_of_an_earlier_release_that_the_user_does_not_own_says_who_may_bring_it_up_to_date(
    postgres_url, postgres_schema, scorer_role
):
    """A table an earlier release wrote lacks a column the run writes: the first run after an upgrade adds it,
    which only the owner may do; the job's user with the documented grants failed 'must be owner of table',
    with nothing said of why or what to do."""
    from tests.db.frames import fake_quarantine, fake_scores

    url, role = scorer_role
    table = f"{postgres_schema}.lead_scores"
    day, sql = pd.Timestamp("2026-10-01"), db.TableRef.parse(table).sql
    quarantine = db.TableRef.parse(f"{table}_quarantine").sql
    db.write_scores_to_db(postgres_url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    _run(
        postgres_url,
        f"ALTER TABLE {sql} DROP COLUMN model_name",  # as an earlier release wrote it
        f'GRANT SELECT, INSERT, DELETE ON {sql} TO "{role}"',
        f'GRANT SELECT, INSERT, DELETE, UPDATE ON {quarantine} TO "{role}"',
    )
    with pytest.raises(db.DatabaseWriteError, match="must be owner.*run leadscore once as the owner"):
        db.write_scores_to_db(url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")


@pytest.fixture(params=["duckdb", "postgresql"])
def new_york(request, tmp_path):
    """(URL, table prefix) of a database whose sessions are in New York unless told: the machine's time zone
    (DuckDB's TimeZone), the server's (PostgreSQL's)."""
    import os
    import time

    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        yield (
            f"{url}&options=-c%20TimeZone%3DAmerica/New_York",
            request.getfixturevalue("postgres_schema") + ".",
        )
        return
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield f"duckdb:///{tmp_path / 'crm.duckdb'}", ""
    finally:  # the worker's later tests in its own zone again
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_scores_table_of_timestamptz_keeps_the_as_of_in_any_session_time_zone(new_york):
    """A DBA's scores table with as_of TIMESTAMPTZ, on a server (or machine) in New York: 2026-09-01 was
    stored as 04:00 UTC, read back so and looked up at 08:00, so the next run found its previous run empty
    ('hold no rows: no trend'), exit 0."""
    from tests.db.frames import fake_quarantine, fake_scores

    url, prefix = new_york
    table = f"{prefix}lead_scores"
    _run(
        url,
        f"CREATE TABLE {table} (as_of TIMESTAMPTZ, model_version TEXT, lead_id TEXT, score DOUBLE PRECISION)",
    )
    first, second = pd.Timestamp("2026-09-01"), pd.Timestamp("2026-10-01")
    db.write_scores_to_db(url, table, fake_scores(4, "2026-09-01"), fake_quarantine(1), first, "3")

    previous = db.read_previous_scores(url, table, "leadscore", second)
    assert previous is not None and len(previous) == 4
    assert set(previous["as_of"]) == {first}
    assert set(db.read_scores_from_db(url, table, as_of=first)["as_of"]) == {first}
    rerun = db.write_scores_to_db(url, table, fake_scores(4, "2026-09-01"), fake_quarantine(1), first, "3")
    assert rerun.replaced == 4
    assert _as_of_in_utc(url, table) == [(pd.Timestamp("2026-09-01 00:00", tz="UTC"), 4)]


def _as_of_in_utc(url: str, table: str) -> list[tuple[pd.Timestamp, int]]:
    """The scores table's (as_of, rows) as a session in UTC reads them, outside leadscore."""
    import duckdb
    import psycopg

    sql = f"SELECT as_of::VARCHAR, count(*) FROM {db.TableRef.parse(table).sql} GROUP BY 1"
    if url.startswith("duckdb"):
        with duckdb.connect(url.removeprefix("duckdb:///")) as c:
            c.execute("SET TimeZone = 'UTC'")
            rows = c.sql(sql).fetchall()
    else:
        with psycopg.connect(url.split("?")[0]) as c:
            c.execute("SET TimeZone = 'UTC'")
            rows = c.execute(sql).fetchall()
    return [(pd.Timestamp(when), n) for when, n in rows]


@pytest.fixture()
def sql_ascii_url(postgres_url):
    """A database of encoding SQL_ASCII (an old CRM's) on the session's server: it stores the bytes given."""
    import uuid

    import psycopg

    name = f"ascii_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING SQL_ASCII LC_COLLATE 'C' LC_CTYPE 'C'")
    yield postgres_url.replace("/leadscore_test?", f"/{name}?")
    with psycopg.connect(postgres_url, autocommit=True) as c:
        c.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_a_sql_ascii_database_is_read_as_utf8_or_refused_naming_the_encoding(sql_ascii_url, monkeypatch):
    """psycopg gives bytes for every text of a SQL_ASCII database: SQLAlchemy's look at the server's version
    ended in a TypeError traceback before a table was read, whatever the text."""
    monkeypatch.delenv("PGCLIENTENCODING", raising=False)
    url = sql_ascii_url
    _run(
        url,
        "CREATE TABLE leads (lead_id TEXT, email TEXT, job_title TEXT, created_at TIMESTAMP)",
        "INSERT INTO leads VALUES ('L1', 'a@x.com', 'Café owner', TIMESTAMP '2026-01-01')",
    )
    got = read_input(url, required=("leads",))["leads"]
    assert got["job_title"].tolist() == ["Café owner"]

    _run(url, "INSERT INTO leads VALUES ('L2', 'b@x.com', E'Gesch\\xe4ftsf\\xfchrer', NULL)")  # Latin-1
    with pytest.raises(db.DatabaseError, match="cannot read table 'leads': invalid byte.*PGCLIENTENCODING"):
        read_input(url, required=("leads",))
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")
    got = read_input(url, required=("leads",))["leads"].sort_values("lead_id")
    assert got["job_title"].tolist()[1] == "Geschäftsführer"


@pytest.mark.parametrize("schema", ["crm", "analytics"])
def test_a_duckdb_file_named_as_its_schema_reads_and_writes_its_tables(tmp_path, crm_history, schema):
    """DuckDB names a file's database after its stem: in crm.duckdb the table crm.accounts was ambiguous
    ('catalog or schema?'), so --input-table accounts=crm.accounts failed (exit 3) with a fix
    ('crm.crm.accounts') that leadscore refuses, and --table analytics.lead_scores in analytics.duckdb
    failed only after scoring (exit 1)."""
    from tests.db.frames import fake_quarantine, fake_scores

    url = f"duckdb:///{tmp_path / schema}.duckdb"
    _run(url, f"CREATE SCHEMA {schema}")
    names = {name: f"{schema}.{name}" for name in crm_history.tables()}
    db.write_tables_to_db(url, crm_history.tables(), names)
    assert len(read_input(url, names)["leads"]) == len(crm_history.tables()["leads"])

    # A query may name the file's database, as DuckDB's own shell does (and dbt's views).
    query = f"SELECT * FROM {schema}.{schema}.leads"  # database.schema.table
    assert len(read_input(url, names, {"leads": query})["leads"]) == len(crm_history.tables()["leads"])

    table, day = f"{schema}.lead_scores", pd.Timestamp("2026-10-01")
    db.check_scores_schema(url, table)
    db.check_scores_table(url, table)
    db.write_scores_to_db(url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    assert len(db.read_scores_from_db(url, table, as_of=day)) == 3


def test_a_crm_table_left_unnamed_beside_the_others_schema_is_named_not_taken_as_absent(
    duckdb_url, crm_history
):
    """accounts, leads and activities named as crm.* and deals forgotten: the default `deals` was not found and
    the optional table taken as absent, so every lead was scored as open, closed ones included (1,806 leads
    in place of 639, a warning, exit 0), though crm.deals was there."""
    tables = crm_history.tables()
    _run(duckdb_url, "CREATE SCHEMA crm")
    names = {name: f"crm.{name}" for name in tables}
    db.write_tables_to_db(duckdb_url, tables, names)
    del names["deals"]
    with pytest.raises(db.DatabaseError, match=r"'crm.deals' is.*--input-table deals=crm.deals"):
        read_input(duckdb_url, names, required=("accounts", "leads", "activities"))
    with pytest.raises(db.DatabaseError, match=r"'crm.deals' is.*--input-table deals=crm.deals"):
        read_input(duckdb_url, names)  # training, where deals are required: the fix named too
    got = read_input(duckdb_url, {**names, "deals": "crm.deals"})
    assert len(got["deals"]) == len(tables["deals"])


@pytest.mark.parametrize(
    "extra, said",
    [
        (
            "created_by TEXT NOT NULL",
            "NOT NULL column(s) created_by without a default, which a scoring run does not write: run ALTER TABLE "
            '"{table}" ALTER COLUMN "created_by" DROP NOT NULL',
        ),
        ("id BIGINT NOT NULL DEFAULT 0, note TEXT", None),  # a default, or NULL allowed: taken
    ],
)
def test_a_scores_table_with_a_column_the_run_cannot_fill_is_refused_before_scoring(database, extra, said):
    """A DBA's scores table with a NOT NULL column leadscore does not write (created_by): every insert was
    refused, after the whole run was scored, exit 1."""
    from tests.db.frames import fake_quarantine, fake_scores

    url, prefix = database
    table = f"{prefix}lead_scores"
    _run(
        url,
        f"CREATE TABLE {table} (as_of TIMESTAMP, model_version TEXT, lead_id TEXT, score DOUBLE PRECISION, {extra})",
    )
    if said:
        quoted = '"."'.join(table.split("."))
        with pytest.raises(db.DatabaseError, match=re.escape(said.format(table=quoted))):
            db.check_scores_table(url, table)
        return
    db.check_scores_table(url, table)
    day = pd.Timestamp("2026-10-01")
    assert (
        db.write_scores_to_db(url, table, fake_scores(2, "2026-10-01"), fake_quarantine(1), day, "3").rows
        == 2
    )


def test_a_postgres_scores_table_named_in_other_case_is_named_not_doubled(postgres_url, postgres_schema):
    """--table lead_scores after runs into "Lead_Scores": a second table was created, its trend empty and the
    CRM's readers left on the first."""
    from tests.db.frames import fake_quarantine, fake_scores

    day = pd.Timestamp("2026-10-01")
    first = f"{postgres_schema}.Lead_Scores"
    db.write_scores_to_db(postgres_url, first, fake_scores(2, "2026-10-01"), fake_quarantine(1), day, "3")
    with pytest.raises(
        db.DatabaseError,
        match=f"no table .*lead_scores', but 'Lead_Scores' is.*--table {postgres_schema}.Lead_Scores",
    ):
        db.check_scores_table(postgres_url, f"{postgres_schema}.lead_scores")
    db.check_scores_table(postgres_url, first)


@pytest.mark.parametrize("length, refused", [(52, False), (53, True), (70, True)])
def test_a_postgres_scores_table_name_postgres_would_cut_is_refused_before_scoring(
    postgres_url, postgres_schema, length, refused
):
    """PostgreSQL keeps 63 bytes of a name: a --table of 60 characters had its quarantine table created under
    the cut name, not found under the whole one the next week, and every later run failed after scoring
    ('already exists', exit 1); one of 70 failed the first time."""
    from tests.db.frames import fake_quarantine, fake_scores

    table = f"{postgres_schema}.{'s' * length}"
    if refused:
        with pytest.raises(db.DatabaseError, match="keeps 63 bytes of a name.*at most 52 characters"):
            db.check_scores_table(postgres_url, table)
        return
    day = pd.Timestamp("2026-10-01")
    for _ in range(2):
        db.check_scores_table(postgres_url, table)
        db.write_scores_to_db(postgres_url, table, fake_scores(2, "2026-10-01"), fake_quarantine(1), day, "3")


@pytest.mark.parametrize("url", ["duckdb://", "duckdb:///", "duckdb:///:memory:"])
def test_a_duckdb_url_of_no_file_is_refused_before_anything_is_written_to_memory(url, crm_history):
    """--output duckdb:// wrote the scores to a database in memory, gone with the run: 'wrote duckdb:// table
    lead_scores: 639 scores', exit 0 (generate --out duckdb:// too)."""
    with pytest.raises(db.DatabaseError, match="names no DuckDB file"):
        db.check_scores_table(url, "lead_scores")
    with pytest.raises(db.DatabaseError, match="names no DuckDB file"):
        db.write_tables_to_db(url, crm_history.tables())
    with pytest.raises(db.DatabaseError, match="names no DuckDB file"):
        read_input(url)


def test_a_file_that_is_no_duckdb_file_is_named_so_without_the_network(tmp_path):
    """A SQLite file (an MLflow store) given as a DuckDB URL: DuckDB went to download its SQLite extension;
    a CSV was 'an in-memory database in read-only mode'."""
    import sqlite3

    sqlite = tmp_path / "mlflow.db"
    sqlite3.connect(sqlite).execute("CREATE TABLE t (a)").connection.commit()
    csv = tmp_path / "leads.csv"
    csv.write_text("lead_id\nL1\n")
    for path in (sqlite, csv):
        with pytest.raises(db.DatabaseError, match="not a valid DuckDB database file") as refused:
            read_input(f"duckdb:///{path}")
        assert "extension" not in str(refused.value)


def test_postgres_urls_of_other_drivers_are_read_with_psycopg_and_a_bad_port_is_named(postgres_url):
    """postgresql+psycopg2:// (the URL other tools are given) ended in a ModuleNotFoundError traceback, a port
    that is no number in a ValueError traceback."""
    url = postgres_url
    table = _leads_table(url, "")  # in the search path: public
    try:
        for scheme in ("postgresql+psycopg2", "postgres+asyncpg", "postgres"):
            other = scheme + url.removeprefix("postgresql")
            got = read_input(other, {"leads": table}, required=("leads",))["leads"]
            assert sorted(got["lead_id"]) == ["L1", "L2"]
    finally:
        _run(url, f"DROP TABLE {table}")
    bad_port = url.replace(url.split("@")[1].split("/")[0], "127.0.0.1:fivefour")
    with pytest.raises(db.DatabaseError, match="not a database URL"):
        read_input(bad_port)
    with pytest.raises(db.DatabaseError, match="not a database URL"):
        db.check_scores_table(bad_port, "lead_scores")


def test_a_nul_character_in_the_scores_is_written_to_postgres_as_the_replacement_character(
    postgres_url, postgres_schema
):
    """A lead id or a quarantined value with a NUL character (kept by DuckDB and CSV inputs): PostgreSQL's
    text holds none, and the whole write failed after scoring ('invalid byte sequence ... 0x00', exit 1)."""
    from tests.db.frames import fake_quarantine, fake_scores

    scores = fake_scores(3, "2026-10-01")
    scores.loc[0, "lead_id"] = "L\x0099"
    quarantine = fake_quarantine(1)
    quarantine.loc[0, "value"] = "D\x00E"
    table, day = f"{postgres_schema}.lead_scores", pd.Timestamp("2026-10-01")
    db.write_scores_to_db(postgres_url, table, scores, quarantine, day, "3")
    assert "L\ufffd99" in set(db.read_scores_from_db(postgres_url, table)["lead_id"])
    assert db.read_scores_from_db(postgres_url, f"{table}_quarantine")["value"].tolist() == ["D\ufffdE"]


def test_postgres_infinity_dates_are_read_as_the_placeholders_they_are(postgres_url, postgres_schema):
    """A CRM whose open deals close at 'infinity' (PostgreSQL's way to say never): psycopg refused the value
    ('timestamp too large (after year 10K)'), and the deals could not be read at all, exit 3, naming no
    column. They are read as the last (first) time Python holds, which the contract quarantines as it does a
    9999-12-31 placeholder."""
    table = f"{postgres_schema}.deals"
    _run(
        postgres_url,
        f"CREATE TABLE {table} (deal_id TEXT, closed_at TIMESTAMP, created_at TIMESTAMPTZ, day DATE)",
        f"INSERT INTO {table} VALUES ('D1', 'infinity', '-infinity', 'infinity'), "
        "('D2', '2026-09-01', '2026-01-01 00:00+02', '2026-01-02')",
    )
    got = read_input(postgres_url, {"deals": table}, required=("deals",))["deals"].sort_values("deal_id")
    assert got["closed_at"].tolist() == [
        pd.Timestamp("9999-12-31 23:59:59.999999"),
        pd.Timestamp("2026-09-01"),
    ]
    assert got["created_at"].tolist() == [pd.Timestamp("0001-01-01"), pd.Timestamp("2025-12-31 22:00")]
    assert str(got["day"].iloc[0]) == "9999-12-31"


def test_an_optional_table_named_with_input_table_that_is_not_there_is_refused(database, crm_history):
    """--input-table deals=crm.dealz (a typo): the optional deals were taken as absent and every lead scored as
    open, closed ones included, with a warning and exit 0."""
    url, prefix = database
    tables = crm_history.tables()
    names = {name: f"{prefix}{name}" for name in tables}
    db.write_tables_to_db(url, tables, names)
    scoring = ("accounts", "leads", "activities")
    with pytest.raises(db.DatabaseError, match=r"table '.*dealz' \(for deals\) not found"):
        read_input(url, {**names, "deals": f"{prefix}dealz"}, required=scoring)
    assert len(read_input(url, names, required=scoring)["deals"]) == len(tables["deals"])


def test_the_first_broken_row_of_a_database_table_is_named_by_its_id(duckdb_url, crm_history):
    """A database table is read without an order, so 'first at row 145' named no row a user could find in it:
    the sentence of exit 5 names the row's id too (deal_id, account_id, lead_id), where the column is not it."""
    from pipelines.validate import most_broken_rule, run_validate

    tables = crm_history.tables()
    deals = tables["deals"]
    tables["deals"] = deals.assign(lead_id="L-" + deals["lead_id"].astype(str))
    db.write_tables_to_db(duckdb_url, tables)
    quarantine = run_validate(read_input(duckdb_url), pd.Timestamp("2026-10-01")).quarantine
    said = most_broken_rule(quarantine, "deals")
    first = quarantine.loc[quarantine["table"] == "deals"].iloc[0]
    assert f"(first at row {first['row']}, deal_id '{first['key']}', lead_id 'L-" in said
    assert first["key"] in set(deals["deal_id"])


@pytest.mark.parametrize(
    "score_type, refused",
    [
        ("NUMERIC(5,3)", True),
        ("DECIMAL", True),
        ("NUMERIC(12,7)", False),
        ("REAL", False),
        ("DOUBLE PRECISION", False),
    ],
)
def test_a_scores_table_whose_score_column_rounds_is_refused_before_scoring(database, score_type, refused):
    """A DBA's score column of NUMERIC(5,3) took every score rounded (0.974 for 0.97371799...), exit 0: the
    reader's ORDER BY rank_score tied leads the model ranks apart. DuckDB's plain DECIMAL is (18,3). A REAL
    keeps 7 digits, as sweep 15 takes an earlier table's."""
    url, prefix = database
    table = f"{prefix}lead_scores"
    if score_type == "DECIMAL" and not url.startswith("duckdb"):
        pytest.skip("PostgreSQL's plain DECIMAL is exact")
    _run(url, f"CREATE TABLE {table} (as_of TIMESTAMP, model_version TEXT, lead_id TEXT, score {score_type})")
    if refused:
        with pytest.raises(db.DatabaseError, match=r"column 'score' is (NUMERIC|DECIMAL)"):
            db.check_scores_table(url, table)
    else:
        db.check_scores_table(url, table)


def test_generate_refuses_to_replace_a_crm_it_did_not_write(database, tmp_path, crm_history):
    """generate --out "$LEADSCORE_DB" (the scheduled job's database) dropped the CRM's own accounts, leads,
    activities and deals and wrote synthetic ones in their place, exit 0. A database or folder whose CRM
    tables have no truth table beside them (generate's own) is refused; an earlier generate's is replaced."""
    from features.synthetic import GeneratorConfig
    from pipelines.generate import run_generate
    from pipelines.io import OutputError, write_tables

    url, prefix = database
    if prefix:  # PostgreSQL: generate writes to the default schema; the test's own is the search path
        url = f"{url}&options=-c%20search_path%3D{prefix.rstrip('.')}"
    small = GeneratorConfig(accounts=20, months=3)
    db.write_tables_to_db(url, crm_history.tables())
    with pytest.raises(OutputError, match="holds CRM tables .*that generate did not write"):
        run_generate(small, url)
    assert len(read_input(url)["accounts"]) == len(crm_history.tables()["accounts"])  # untouched

    fresh = f"duckdb:///{tmp_path / 'fresh.duckdb'}"
    run_generate(small, fresh)
    run_generate(small, fresh)  # an earlier generate's tables: replaced
    write_tables(crm_history.tables(), tmp_path / "export", "csv")
    with pytest.raises(OutputError, match="that generate did not write"):
        run_generate(small, tmp_path / "export")


def test_a_postgres_scores_table_locked_by_another_session_fails_the_write_after_the_timeout(
    postgres_url, postgres_schema
):
    """A DBA's CREATE INDEX or a BI tool's open transaction holding a lock on the scores table: the weekly
    write waited for it forever, without a word. It waits scoring.database_lock_timeout, then fails naming
    the lock (exit 1), the previous run kept whole."""
    import time

    import psycopg

    from pipelines.settings import ScoringConfig
    from tests.db.frames import fake_quarantine, fake_scores

    assert ScoringConfig().database_lock_timeout == 600
    table, day = f"{postgres_schema}.lead_scores", pd.Timestamp("2026-10-01")
    db.write_scores_to_db(postgres_url, table, fake_scores(3, "2026-10-01"), fake_quarantine(1), day, "3")
    with psycopg.connect(postgres_url.split("?")[0]) as other:
        other.execute(f"LOCK TABLE {db.TableRef.parse(table).sql} IN SHARE MODE")  # open until the block ends
        started = time.monotonic()
        with pytest.raises(db.DatabaseWriteError, match="lock timeout.*scoring.database_lock_timeout"):
            db.write_scores_to_db(
                postgres_url,
                table,
                fake_scores(4, "2026-10-01"),
                fake_quarantine(1),
                day,
                "3",
                lock_timeout=0.5,
            )
        assert time.monotonic() - started < 30
    assert len(db.read_scores_from_db(postgres_url, table, as_of=day)) == 3


def test_a_crm_table_locked_by_another_session_fails_the_read_after_the_servers_lock_timeout(
    postgres_url, postgres_schema, monkeypatch
):
    """A VACUUM FULL or ALTER TABLE on leads holds every reader: the scheduled job waited without a word.
    The server's own lock_timeout (PGOPTIONS, as the README says) bounds the wait; the read then fails
    naming the table and the lock (exit 3)."""
    import time

    import psycopg

    from features.synthetic import GeneratorConfig, generate_history

    history = generate_history(GeneratorConfig(accounts=20, months=3))
    names = {name: f"{postgres_schema}.{name}" for name in ("accounts", "leads", "activities", "deals")}
    db.write_tables_to_db(postgres_url, history.tables(), names)
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=500")
    with psycopg.connect(postgres_url) as other:
        other.execute(f"LOCK TABLE {db.TableRef.parse(names['leads']).sql} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(db.DatabaseError, match=r"cannot read table .*leads.*lock timeout.*rerun once"):
            read_input(postgres_url, names)
        assert time.monotonic() - started < 30
