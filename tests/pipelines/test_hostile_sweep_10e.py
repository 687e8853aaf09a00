"""Tenth hostile sweep, part e: cross-route parity of the hostile classes earlier sweeps fixed on one route.

Each test takes one class fixed where it was found (a CSV folder, Parquet, a database, a flat export, online
rows) to a route it was not tested on, where it still gave another answer: a wrong score with exit 0 (HTTP
200), a traceback, or another rule than the batch quarantine names.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.contracts import validate_tables
from models.lead_input import LeadInputError, check_lead_rows, check_params, lead_rows_to_tables
from tests.pipelines.exports import numbered_calls_spec, one_account

AS_OF = pd.Timestamp("2026-10-01")


def _clock_word_tables(word: str) -> dict[str, pd.DataFrame]:
    """One account, two leads: one created at `word`, the other with an activity at `word`."""
    accounts = one_account("A1")
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2"],
            "account_id": "A1",
            "email": ["a@acme.com", "b@acme.com"],
            "job_title": "VP Sales",
            "lead_source": "referral",
            "created_at": [word, "2026-09-01"],
        }
    )
    activities = pd.DataFrame({"lead_id": ["L2"], "occurred_at": [word], "activity_type": ["blog"]})
    return {"accounts": accounts, "leads": leads, "activities": activities}


@pytest.mark.parametrize("word", ["today", "now"])
def test_today_or_now_in_an_online_time_is_refused_as_batch_quarantines_it(word):
    # Batch quarantines "today" and "now" as no date (parse(datetime)): they would move with the day a file is
    # read. Online, pandas' ISO parser read them as the clock time: a lead "created today" scored with HTTP 200
    # when the request gave no as_of (and was refused as "after as_of" when it did), an activity "now"
    # counted as the latest one, and a request's as_of "today" was the time of the request.
    quarantine = validate_tables(_clock_word_tables(word), as_of=AS_OF).quarantine
    times = quarantine[quarantine["column"].isin(["created_at", "occurred_at"])]
    assert times["check"].tolist() == ["parse(datetime)", "parse(datetime)"]
    with pytest.raises(
        LeadInputError, match=rf"field 'lead_created_at': '{word}' is not a date.*parse\(datetime\)"
    ):
        check_lead_rows([{"lead_id": "L1", "email": "a@acme.com", "lead_created_at": word}])
    activities = json.dumps([{"activity_type": "blog", "occurred_at": word}])
    checked = check_lead_rows([{"lead_id": "L2", "email": "b@acme.com", "activities": activities}])
    with pytest.raises(
        LeadInputError, match=r"activities\[0\]\.occurred_at': '.*' is not a date.*parse\(datetime\)"
    ):
        lead_rows_to_tables(checked, AS_OF)
    with pytest.raises(LeadInputError, match=r"field 'as_of'.*parse\(datetime\)"):
        check_params({"as_of": word})


def test_an_export_id_written_as_a_whole_float_is_its_integer_text_in_a_csv_as_in_parquet_and_online(
    tmp_path,
):
    # A CSV of a float id column (pandas writes 660001.0) kept "660001.0" as the lead's id, where the same
    # export in Parquet, a JSON 660001.0 and CRM tables read 660001: the scores of one lead under two ids by
    # file format (a CRM import matching on the id missed it, exit 0), and "12.0" beside "12" was two leads.
    from features.export_contract import check_export
    from models.flat_scorer import checked_request
    from pipelines.spec import read_spec_export
    from tests.pipelines.test_hostile_sweep_2 import export, spec_of

    spec = spec_of("[1]", "[0]")
    rows = export([1, 0, 1, 0, 1], ids=["660001.0", "007", "7.5", "12", "12.0"])
    rows.to_csv(tmp_path / "leads.csv", index=False)
    rows.assign(**{"Lead ID": [660001.0, np.nan, 8.0, 12.0, 13.0]}).to_parquet(tmp_path / "leads.parquet")
    csv = read_spec_export(tmp_path / "leads.csv", spec)
    assert csv["Lead ID"].tolist() == ["660001", "007", "7.5", "12", "12"]
    assert check_export(csv, spec)[1][["row", "check"]].values.tolist() == [[4, "unique"]]
    assert read_spec_export(tmp_path / "leads.parquet", spec)["Lead ID"].tolist()[0] == "660001"
    online = checked_request(rows.drop(columns=["Converted"]).head(1), spec, AS_OF, None)
    assert online["Lead ID"].tolist() == ["660001"]


def test_bytes_that_are_no_text_in_parquet_or_a_database_are_refused_naming_the_column(tmp_path):
    # Online, a field of bytes that are not UTF-8 is refused naming it (9b). A Parquet binary column (as
    # DuckDB or Spark write it: no pandas metadata) or a database BLOB column holding such bytes ended in a
    # UnicodeDecodeError traceback in the contract, for CRM tables and for an export alike.
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.db import read_tables_from_db, write_tables_to_db
    from pipelines.io import InputError, read_frame
    from pipelines.spec import read_spec_export
    from tests.pipelines.test_hostile_sweep_2 import export, spec_of

    titles = [b"VP Sales", b"Directeur G\xe9n\xe9ral"]
    leads = pa.table({"lead_id": ["L1", "L2"], "email": ["a@acme.com", "b@acme.com"], "job_title": titles})
    pq.write_table(leads, tmp_path / "leads.parquet")
    with pytest.raises(
        InputError, match=r"leads.parquet: column 'job_title' of the leads table holds bytes that"
    ):
        read_frame(tmp_path / "leads.parquet", "leads")
    url = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    write_tables_to_db(url, {"leads": pd.DataFrame({"lead_id": ["L1"], "email": ["a@acme.com"]})})
    blob = "SELECT lead_id, email, '\\xFF\\xFE'::BLOB AS job_title FROM leads"
    with pytest.raises(InputError, match=r"query for 'leads': column 'job_title' .* not UTF-8 text"):
        read_tables_from_db(url, queries={"leads": blob}, required=("leads",))
    rows = export([1, 0]).assign(Source=[b"Google", b"Refer\xe9ral"])
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), tmp_path / "export.parquet")
    with pytest.raises(InputError, match=r"column 'Source' holds bytes that are not UTF-8 text"):
        read_spec_export(tmp_path / "export.parquet", spec_of("[1]", "[0]"))
    assert read_frame(tmp_path / "leads.parquet", None)["job_title"].tolist() == titles  # no table: as stored
    # pandas' metadata calling the column text (a frame's str column later stored as bytes): pandas decodes it,
    # and the sentence was "not a readable Parquet file (Invalid UTF8 payload)"
    typed = pa.Table.from_pandas(pd.DataFrame({"lead_id": ["L1", "L2"], "job_title": ["a", "b"]}))
    typed = typed.set_column(1, "job_title", pa.array(titles)).replace_schema_metadata(typed.schema.metadata)
    pq.write_table(typed, tmp_path / "typed.parquet")
    with pytest.raises(
        InputError, match=r"typed.parquet: column 'job_title' holds bytes that are not UTF-8 text"
    ):
        read_frame(tmp_path / "typed.parquet", "leads")


def test_rows_of_nothing_in_parquet_or_a_database_are_skipped_and_said_as_a_csvs_blank_lines(
    tmp_path, capsys
):
    # A CSV's blank lines are skipped and said (3rd sweep). The same rows in Parquet (a sheet read by pandas
    # keeps them as rows of NaN) or a database were quarantined as leads without an id: the same tables
    # exited 5 over the quarantine limit from Parquet or DuckDB and 0 from the CSV.
    from features.synthetic import GeneratorConfig, generate_history
    from pipelines.db import read_tables_from_db, write_tables_to_db
    from pipelines.io import iter_frames, read_tables, write_tables
    from pipelines.spec import read_spec_export
    from pipelines.validate import run_validate
    from tests.pipelines.test_hostile_sweep_2 import export, spec_of

    tables = generate_history(GeneratorConfig(accounts=6, months=6, seed=3)).tables()
    nothing = pd.DataFrame([[None] * tables["leads"].shape[1]] * 2, columns=tables["leads"].columns)
    tables["leads"] = pd.concat(
        [tables["leads"].iloc[:2], nothing, tables["leads"].iloc[2:]], ignore_index=True
    )
    url = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    write_tables_to_db(url, tables)
    read = {}
    for fmt in ("csv", "parquet"):
        write_tables(tables, tmp_path / fmt, fmt)
        read[fmt] = read_tables(tmp_path / fmt)
    read["duckdb"] = read_tables_from_db(url)
    said = " ".join(capsys.readouterr().out.split())
    assert said.count("2 empty rows (every cell blank) skipped") == 3, said
    quarantine = {route: run_validate(t, as_of=AS_OF).quarantine for route, t in read.items()}
    for route in ("parquet", "duckdb"):
        assert len(read[route]["leads"]) == len(read["csv"]["leads"]) == len(tables["leads"]) - 2
        pd.testing.assert_frame_equal(quarantine[route], quarantine["csv"])
    parts = list(iter_frames(tmp_path / "parquet" / "leads.parquet", 3, "leads"))
    assert [len(p) for p in parts[:3]] == [2, 2, 3] and parts[1].index[0] == 4  # rows keep their file rows
    rows = export([1, 0, 1])
    pd.concat([rows.iloc[:1], rows.iloc[:1].map(lambda _: None), rows.iloc[1:]]).to_parquet(
        tmp_path / "e.parquet"
    )
    assert read_spec_export(tmp_path / "e.parquet", spec_of("[1]", "[0]"))["Lead ID"].tolist() == [
        "L0",
        "L1",
        "L2",
    ]
    # an export whose rows leadscore numbers (id_from_row): numbered after the rows of nothing are skipped, as a
    # CSV's are, or each became a lead "3" with nothing known, scored with exit 0
    numbered = numbered_calls_spec()
    calls = pd.DataFrame(
        {"job": ["admin", None, "technician"], "campaign": [1.0, None, 2.0], "y": ["yes", None, "no"]}
    )
    calls.to_parquet(tmp_path / "calls.parquet")
    calls.to_csv(tmp_path / "calls.csv", index=False)
    for name in ("calls.parquet", "calls.csv"):
        read = read_spec_export(tmp_path / name, numbered)
        assert read[["row", "job"]].values.tolist() == [["1", "admin"], ["2", "technician"]], name


@pytest.mark.parametrize(
    "written", ["2026-W02-1", "2026-01-05T10:00:00,5", "2026-01-05T10:00:00.123456789", "2026-01-05T10:00:00"]
)
def test_an_online_time_is_read_as_batch_reads_it_not_by_pythons_wider_iso_parser(written):
    # Python's fromisoformat, tried first online, reads ISO week dates and a decimal comma, which batch
    # (pandas) quarantines as no date: such a lead scored online (HTTP 200) and was quarantined in batch; and it
    # cut nanoseconds, which batch keeps.
    from features.contracts import validate_table

    leads = _clock_word_tables("2026-01-01")["leads"].assign(created_at=["2026-01-01", written])
    batch = validate_table("leads", leads, as_of=AS_OF)
    row = {"lead_id": "L1", "email": "a@acme.com", "lead_created_at": written}
    if len(batch.quarantine):
        assert batch.quarantine["check"].tolist() == ["parse(datetime)"]
        with pytest.raises(LeadInputError, match=r"parse\(datetime\)"):
            check_lead_rows([row])
    else:
        expected = batch.valid["leads"]["created_at"].iloc[1]
        assert pd.Timestamp(check_lead_rows([row])["lead_created_at"][0]) == expected
