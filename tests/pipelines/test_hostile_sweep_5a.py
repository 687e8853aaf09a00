"""Hostile inputs, fifth sweep (files and types): Parquet and database columns of unusual types (booleans where
a number belongs, lists and records), and CSV layouts concatenated or annotated by hand; each test holds one
class of input that gave a traceback, an unclear sentence or a wrong answer with exit 0, and checks that the
routes (CSV and Parquet, in memory and streamed, files and a database) give the same answer."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.export_contract import check_export
from features.flat import ExportSpec
from features.synthetic import GeneratorConfig, generate_history
from pipelines.db import read_tables_from_db
from pipelines.io import InputError, iter_frames, read_frame, read_tables, write_tables
from pipelines.settings import load_source_spec
from pipelines.spec import read_export, read_spec_export, run_spec_draft
from pipelines.tracking import data_fingerprint
from pipelines.validate import run_validate
from tests.features.crm_exports import hubspot_contacts_export

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture(scope="module")
def tiny_history():
    return generate_history(GeneratorConfig(accounts=40, months=8, seed=3)).tables()


@pytest.fixture
def tables(tiny_history):
    return {name: frame.copy() for name, frame in tiny_history.items()}


def _quarantined(result, table: str, column: str) -> list[tuple[int, str]]:
    q = result.quarantine
    rows = q[(q["table"] == table) & (q["column"] == column)]
    return sorted(zip(rows["row"].tolist(), rows["check"].tolist(), strict=True))


# --- a boolean where a number belongs: no count, on every route ----------------------------------------------


def test_a_boolean_where_a_number_belongs_is_quarantined_as_its_csv_text_is(tmp_path, tables):
    """accounts.employee_count stored as a Parquet (or database) BOOLEAN read True as 1 employee and scored it,
    exit 0; the same file as CSV ("True") was quarantined (parse(number)). Both now quarantine it."""
    flags = tables["accounts"]["employee_count"] > 100
    tables["accounts"]["employee_count"] = flags
    write_tables(tables, tmp_path / "pq", "parquet")
    write_tables(tables, tmp_path / "csv", "csv")
    as_parquet = run_validate(read_tables(tmp_path / "pq"), as_of=AS_OF)
    as_csv = run_validate(read_tables(tmp_path / "csv"), as_of=AS_OF)
    expected = [(row, "parse(number)") for row in range(len(flags))]
    assert _quarantined(as_parquet, "accounts", "employee_count") == expected
    assert _quarantined(as_csv, "accounts", "employee_count") == expected
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    from_db = run_validate(read_tables_from_db(f"duckdb:///{database}"), as_of=AS_OF)
    assert _quarantined(from_db, "accounts", "employee_count") == expected


def test_python_booleans_among_numbers_are_not_read_as_one_and_zero(tables):
    amounts = tables["deals"]["amount"].astype(object)
    amounts.iloc[[0, 1]] = [True, False]
    result = run_validate({**tables, "deals": tables["deals"].assign(amount=amounts)}, as_of=AS_OF)
    bad = result.quarantine[
        (result.quarantine["table"] == "deals") & (result.quarantine["column"] == "amount")
    ]
    expected = [[0, "parse(number)", "True"], [1, "parse(number)", "False"]]
    assert bad[["row", "check", "value"]].values.tolist() == expected


def probe_spec(**roles) -> ExportSpec:
    """A small export spec (id "Lead ID", label "Stage": Won or Lost) with the given column roles."""
    base = {"name": "probe", "id_column": "Lead ID", "label_column": "Stage"}
    return ExportSpec.model_validate(
        {**base, "positive_labels": ["Won"], "negative_labels": ["Lost"], **roles}
    )


def test_an_export_boolean_in_a_numeric_column_is_quarantined_as_its_csv_text_is(tmp_path):
    """An intent column stored as a Parquet BOOLEAN read True as 1 form submission and scored it, exit 0; the
    same export as CSV ("True") was quarantined. Both quarantine it now, with a reason that names the fix."""
    spec = probe_spec(fit_columns={"Source": "categorical"}, intent_columns=["Forms"])
    frame = pd.DataFrame(
        {
            "Lead ID": ["a", "b", "c"],
            "Stage": ["Won", "Lost", "Won"],
            "Source": ["web", "ads", "web"],
            "Forms": pd.array([True, False, None], dtype="boolean"),
        }
    )
    frame.to_parquet(tmp_path / "export.parquet")
    frame.to_csv(tmp_path / "export.csv", index=False)
    for name in ("export.parquet", "export.csv"):
        _, quarantine = check_export(read_export(tmp_path / name), spec)
        assert quarantine[["row", "column", "check"]].values.tolist() == [
            [0, "Forms", "is_number"],
            [1, "Forms", "is_number"],
        ]
        assert "true/false ('True'); give the column as categorical" in quarantine["reason"].iloc[0]


# --- lists and records (Parquet and database nested types) -----------------------------------------------------


def _with_column(path, column: str, values: pa.Array) -> None:
    """Replace (or add) `column` of a Parquet file, as a writer other than pandas would (no pandas metadata)."""
    table = pq.read_table(path)
    if column in table.column_names:
        table = table.set_column(table.schema.get_field_index(column), column, values)
    else:
        table = table.append_column(column, values)
    pq.write_table(table.replace_schema_metadata(None), path)


def test_a_contract_column_of_lists_or_records_is_refused_naming_file_column_and_fix(tmp_path, tables):
    """tech_stack as a Parquet list<string>: validate and the streamed score read it as the text
    "['salesforce' 'segment']" (every tool unknown) and scored with exit 0, the in-memory score ended in a
    traceback (the fingerprint could not hash a list); a struct job title likewise."""
    write_tables(tables, tmp_path / "crm", "parquet")
    accounts, leads = tmp_path / "crm" / "accounts.parquet", tmp_path / "crm" / "leads.parquet"
    stacks = [s.split(";") if s else [] for s in tables["accounts"]["tech_stack"]]
    _with_column(accounts, "tech_stack", pa.array(stacks, pa.list_(pa.string())))
    said = r"accounts.parquet: column 'tech_stack' of the accounts table holds lists, e.g. \[.*plain text"
    with pytest.raises(InputError, match=said):
        read_tables(tmp_path / "crm")
    with pytest.raises(InputError, match=said):
        next(iter_frames(accounts, 10, "accounts"))
    titles = [{"title": t, "level": 1} for t in tables["leads"]["job_title"]]
    _with_column(leads, "job_title", pa.array(titles))
    with pytest.raises(InputError, match="column 'job_title' of the leads table holds records"):
        read_frame(leads, "leads")
    database = tmp_path / "crm.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE accounts AS SELECT * FROM read_parquet('{accounts}')")
        for name in ("leads", "activities", "deals"):
            con.register("frame", tables[name])
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    with pytest.raises(
        InputError, match="table 'accounts': column 'tech_stack' of the accounts table holds lists"
    ):
        read_tables_from_db(f"duckdb:///{database}")


def test_a_column_of_lists_the_contract_does_not_read_is_left_alone(tmp_path, tables):
    write_tables(tables, tmp_path / "crm", "parquet")
    leads = tmp_path / "crm" / "leads.parquet"
    _with_column(leads, "tags", pa.array([["a", "b"]] * len(tables["leads"]), pa.list_(pa.string())))
    read = read_tables(tmp_path / "crm")
    assert data_fingerprint(read) == data_fingerprint(read)  # hashed (as text), no traceback
    result = run_validate(read, as_of=AS_OF)
    assert result.quarantine.empty or not (result.quarantine["column"] == "tags").any()


# --- a line above the header ------------------------------------------------------------------------------------


def test_a_comment_line_above_the_header_names_the_file_and_the_fix(tmp_path, tables):
    """A line "# exported from the CRM" above the column names became the header: validate said "table 'leads' is
    missing required column(s) [all six]" (no file, no cause), the streamed score "column 'lead_id' is
    missing"."""
    write_tables(tables, tmp_path / "crm", "csv")
    leads = tmp_path / "crm" / "leads.csv"
    # A spreadsheet pads a title line with delimiters to the width of the table.
    leads.write_text("# exported from the CRM on 2026-10-01" + "," * 5 + "\n" + leads.read_text())
    said = (
        r"leads.csv: the first line \('# exported from the CRM.*'\) holds none of the leads table's columns"
    )
    with pytest.raises(InputError, match=said + r".*remove any line above them"):
        read_tables(tmp_path / "crm")
    with pytest.raises(InputError, match=said):
        next(iter_frames(leads, 10, "leads"))


def assert_both_readers_refuse(leads: Path, said: str) -> None:
    """The in-memory reader (validate, train) and the streamed one (score) refuse the leads file alike."""
    with pytest.raises(InputError, match=said):
        read_tables(leads.parent)
    with pytest.raises(InputError, match=said):
        next(iter_frames(leads, 10, "leads"))


def test_a_column_written_twice_in_a_table_header_is_refused_not_read_from_the_first(tmp_path, tables):
    """The header with "lead_source" twice (an export with a column added at the end): pandas read the second as
    "lead_source.1", an unknown column, and the first was scored whatever the second held, exit 0."""
    write_tables(tables, tmp_path / "crm", "csv")
    leads = tmp_path / "crm" / "leads.csv"
    lines = leads.read_text().splitlines()
    rows = [lines[0] + ",lead_source"] + [line + ",webinar" for line in lines[1:]]
    leads.write_text("\n".join(rows) + "\n")
    said = r"leads.csv: the header writes column\(s\) \['lead_source'\] more than once; keep one of them"
    assert_both_readers_refuse(leads, said)


def test_an_export_column_of_lists_the_spec_reads_is_refused_and_one_it_does_not_read_is_kept(tmp_path):
    """Industry as a Parquet list<string> in an export: read as "['Software']", an unseen level, every open
    lead scored differently with exit 0."""
    spec = probe_spec(fit_columns={"Industry": "categorical"}, drop_columns={"Tags": "not a feature"})
    rows = {"Lead ID": ["a", "b"], "Stage": ["Won", "Lost"], "Industry": ["Software", "Retail"]}
    tags = pa.array([["x"], ["y", "z"]], pa.list_(pa.string()))
    path = tmp_path / "export.parquet"
    pq.write_table(pa.table({**rows, "Tags": tags}), path)
    assert read_spec_export(path, spec)["Industry"].tolist() == ["Software", "Retail"]
    pq.write_table(pa.table({**rows, "Industry": tags}), path)
    with pytest.raises(InputError, match=r"export.parquet: column 'Industry' holds lists, e.g. \['x'\]"):
        read_spec_export(path, spec)


# --- every row with more fields than the header -----------------------------------------------------------------


@pytest.mark.parametrize("shape", ["a delimiter ends every row", "a title line above the header"])
def test_rows_longer_than_the_header_are_refused_not_read_shifted_by_a_column(tmp_path, tables, shape):
    """pandas takes the extra leading fields of such rows as an index and shifts every column: lead_id read
    from account_id, each lead quarantined for rules it did not break (exit 5); an export's 'Create Date' read
    'Sales Qualified Lead', or its rows called "1,045 empty rows" under the title line's one column."""
    write_tables(tables, tmp_path / "crm", "csv")
    leads = tmp_path / "crm" / "leads.csv"
    lines = leads.read_text().splitlines()
    if shape == "a delimiter ends every row":
        lines = [lines[0]] + [line + "," for line in lines[1:]]
    else:
        lines = ["Leads export"] + lines
    leads.write_text("\n".join(lines) + "\n")
    said = r"leads.csv: the first line \(.*\) has fewer fields than the rows below it \(\d+ against \d+\)"
    with pytest.raises(InputError, match=said + ".*remove any title or comment line above them"):
        read_tables(tmp_path / "crm")
    with pytest.raises(InputError, match=said):
        next(iter_frames(leads, 10, "leads"))
    with pytest.raises(InputError, match=said):
        read_export(leads)


# --- two exports joined end to end: the second header is no row --------------------------------------------------


def test_a_header_repeated_mid_file_is_skipped_said_and_rows_keep_their_file_numbers(
    tmp_path, tables, capsys
):
    """A second header line (two CSV exports concatenated) was read as a lead "lead_id" and quarantined for
    three rules that did not say why (created_at, email, account), counted as a lead read; in an export it made
    spec check fail on a label value 'Lifecycle Stage'."""
    leads = tables["leads"]
    leads["email"] = leads["email"].astype(object)
    leads.loc[10, "email"] = "no at sign"
    write_tables(tables, tmp_path / "crm", "csv")
    path = tmp_path / "crm" / "leads.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:5] + [lines[0].upper()] + lines[5:]) + "\n")  # before data row 4
    read = read_tables(tmp_path / "crm")
    assert "1 line repeating the header (files joined end to end?) skipped" in " ".join(
        capsys.readouterr().out.split()
    )
    assert len(read["leads"]) == len(leads)
    quarantine = run_validate(read, as_of=AS_OF).quarantine
    assert quarantine.loc[quarantine["table"] == "leads", ["row", "column"]].values.tolist() == [
        [11, "email"]
    ]
    streamed = pd.concat(iter_frames(path, 7, "leads"))
    assert streamed.index.tolist() == [i for i in range(len(leads) + 1) if i != 4]
    export = read_export(path)
    assert len(export) == len(leads) and 4 not in export.index


# --- spec draft on Parquet exports with time zones and nested columns ---------------------------------------


def test_spec_draft_reads_a_parquet_export_with_zoned_times_and_a_list_column(tmp_path):
    """A Parquet export with its creation time zoned (timestamp[us, tz=...]) ended spec draft in a traceback
    (the leak audit compared aware and naive times), and one with a list column in a traceback too (unhashable
    arrays); now the times read as naive UTC and the list column is drafted as dropped, with why."""
    frame = hubspot_contacts_export(300)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    created = pa.array(pd.to_datetime(frame["Create Date"])).cast(pa.timestamp("us", tz="Asia/Kolkata"))
    table = table.set_column(table.schema.get_field_index("Create Date"), "Create Date", created)
    tags = pa.array([["a"] if i % 2 else ["b", "c"] for i in range(len(frame))], pa.list_(pa.string()))
    path = tmp_path / "contacts.parquet"
    pq.write_table(table.append_column("Tags", tags).replace_schema_metadata(None), path)
    out = tmp_path / "contacts.yaml"
    run_spec_draft(path, out, label="Lifecycle Stage")
    spec = load_source_spec(out)
    assert spec.timestamp_column == "Create Date"
    assert "holds lists or records" in spec.drop_columns["Tags"]
    assert read_spec_export(path, spec)["Create Date"].dt.tz is None


def test_a_parquet_table_with_a_column_written_twice_is_refused_as_the_streamed_reader_says(tmp_path, tables):
    """In memory (validate, train) it was "not a readable Parquet file (Multiple matches for FieldRef...);
    export the table again", the streamed score named the columns."""
    write_tables(tables, tmp_path / "crm", "parquet")
    leads = tmp_path / "crm" / "leads.parquet"
    pq.write_table(
        pq.read_table(leads).append_column("lead_source", pa.array(["webinar"] * len(tables["leads"]))), leads
    )
    said = r"leads.parquet: columns \['lead_source', 'lead_source'\] all read as \['lead_source'\]"
    assert_both_readers_refuse(leads, said)


def test_a_corrupt_parquet_export_or_one_with_a_column_written_twice_names_the_file(tmp_path):
    """spec draft, spec check, train and score on a Parquet export ended in pyarrow's traceback (exit 1) for a
    file that is no Parquet inside and for a header with a name written twice."""
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1" + b"\0" * 64)
    with pytest.raises(InputError, match=r"corrupt.parquet: not a readable Parquet file \(.*\); export"):
        read_export(corrupt)
    twice = tmp_path / "twice.parquet"
    pq.write_table(
        pa.table([pa.array(["a"]), pa.array(["web"]), pa.array(["ads"])], ["Lead ID", "Source", "Source"]),
        twice,
    )
    with pytest.raises(
        InputError, match=r"twice.parquet: the header has columns that read as one \('Source', 'Source'"
    ):
        read_export(twice)
