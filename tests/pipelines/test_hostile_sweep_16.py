"""Hostile sweep 16: what a spreadsheet does to a CRM file on its way (opened and saved again) that leadscore
read as something else, with exit 0."""

from __future__ import annotations

import codecs

import pandas as pd
import pytest

from features.contracts import validate_tables
from features.export_contract import check_export
from features.synthetic import GeneratorConfig, generate_history
from models.lead_input import LeadInputError, check_lead_rows
from pipelines.settings import load_source_spec
from tests.features.crm_exports import hubspot_contacts_export

HUBSPOT = load_source_spec("hubspot_contacts")
ROUNDED = "not in scientific notation"


@pytest.fixture(scope="module")
def tiny_history():
    return generate_history(GeneratorConfig(accounts=60, months=6, seed=3))


def test_an_id_a_spreadsheet_wrote_in_scientific_notation_is_quarantined_in_crm_tables(tiny_history):
    # Excel shows 123456789012 as 1.23457E+11 and saves it so: the lead was scored under an id no CRM record
    # has (and two ids differing in their last digits were one lead), exit 0.
    tables = {name: frame.copy() for name, frame in tiny_history.tables().items()}
    leads, deals = tables["leads"], tables["deals"]
    leads.loc[0, "lead_id"] = "1.23457E+11"
    leads.loc[1, "account_id"] = "4.5E+13"
    deals.loc[0, "deal_id"] = "9.87654E+011"
    result = validate_tables(tables)
    rounded = result.quarantine[result.quarantine["check"] == ROUNDED]
    assert set(zip(rounded["table"], rounded["row"], rounded["column"], strict=True)) == {
        ("leads", 0, "lead_id"),
        ("leads", 1, "account_id"),
        ("deals", 0, "deal_id"),
    }
    assert "1.23457E+11" not in set(result.valid["leads"]["lead_id"])
    assert "spreadsheet rounded the id" in rounded["reason"].iloc[0]
    assert "export the table again" in rounded["reason"].iloc[0]


@pytest.mark.parametrize(
    "text_id", ["1E5", "12E+11", "1.5e-3", "1e+20", "00Q5g00000E+11AAA", "7.0", "L-1.2E+11"]
)
def test_ids_that_only_hold_an_e_are_not_taken_for_scientific_notation(tiny_history, text_id):
    tables = {name: frame.copy() for name, frame in tiny_history.tables().items()}
    tables["leads"].loc[0, "lead_id"] = text_id
    result = validate_tables(tables)
    assert ROUNDED not in set(result.quarantine["check"])


def test_an_export_id_in_scientific_notation_is_quarantined_not_scored_under_it():
    frame = hubspot_contacts_export(n=30)
    frame[HUBSPOT.id_column] = frame[HUBSPOT.id_column].astype(str)
    frame.loc[[2, 5], HUBSPOT.id_column] = ["6.40223E+11", "1.74832E+12"]
    valid, quarantine = check_export(frame, HUBSPOT)
    rounded = quarantine[quarantine["check"] == ROUNDED]
    assert rounded["row"].tolist() == [2, 5]
    assert rounded["key"].tolist() == ["6.40223E+11", "1.74832E+12"]
    assert len(valid) == len(frame) - 2


def test_an_online_lead_id_in_scientific_notation_is_refused_naming_row_and_field():
    row = {"lead_id": "L1", "email": "ana@acme.com", "account_id": "ACC1"}
    check_lead_rows([row])
    with pytest.raises(LeadInputError, match=r"row 1, field 'lead_id'.*scientific notation.*rule: not in"):
        check_lead_rows([row, {**row, "lead_id": "1.23457E+11"}])
    with pytest.raises(LeadInputError, match=r"field 'account_id'.*scientific notation"):
        check_lead_rows([{**row, "account_id": "4.5E+13"}])


def test_employees_written_with_a_dot_between_thousands_are_quarantined_not_read_as_one_or_two(tiny_history):
    # A European CRM export writes 1200 employees as "1.200": pandas read 1.2 employees, a company too small for
    # the ICP's size range, scored with exit 0 (a revenue "30.236.000" beside it was quarantined, not this).
    tables = {name: frame.copy() for name, frame in tiny_history.tables().items()}
    accounts = tables["accounts"]
    accounts["employee_count"] = accounts["employee_count"].astype(object)
    accounts.loc[[0, 1, 2], "employee_count"] = ["1.200", "12.5", "40.0"]
    result = validate_tables(tables)
    whole = result.quarantine[result.quarantine["check"] == "whole number"]
    assert whole["row"].tolist() == [0, 1]
    assert "a dot between thousands" in whole["reason"].iloc[0]
    assert result.valid["accounts"].loc[0, "employee_count"] == 40.0  # 40.0 is 40 people


def test_an_export_or_online_count_of_employees_with_a_fraction_is_quarantined_or_refused():
    frame = hubspot_contacts_export(n=20)
    frame["Number of Employees"] = frame["Number of Employees"].astype(object)
    frame.loc[3, "Number of Employees"] = "2.500"
    _, quarantine = check_export(frame, HUBSPOT)
    assert quarantine.loc[quarantine["check"] == "whole number", "row"].tolist() == [3]
    row = {"lead_id": "L1", "email": "ana@acme.com", "employee_count": 250}
    check_lead_rows([row])
    with pytest.raises(LeadInputError, match=r"field 'employee_count'.*whole number of people.*got 2\.5"):
        check_lead_rows([{**row, "employee_count": 2.5}])


def test_a_folder_holding_a_table_as_parquet_and_as_csv_is_refused_naming_both(tmp_path, tiny_history):
    # A folder generated again in the other format, or a CSV saved beside the Parquet file: the Parquet file
    # was read without a word (a stale export's leads scored, exit 0) and the CSV ignored.
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app
    from pipelines.io import InputError, read_tables, write_tables
    from pipelines.stream import run_score_streaming

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    tiny_history.tables()["leads"].head(5).to_parquet(folder / "leads.parquet")
    said = r"crm: holds the leads table twice, as leads.parquet and leads.csv; keep the one"
    with pytest.raises(InputError, match=said):
        read_tables(folder)
    with pytest.raises(InputError, match=said):  # score's streamed read, before any model is used
        run_score_streaming(None, folder, pd.Timestamp("2026-01-01"), tmp_path / "s.csv")
    result = CliRunner().invoke(app, ["validate", "--input", str(folder)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "leads.parquet and leads.csv" in " ".join(result.output.split())
    (folder / "leads.parquet").unlink()
    assert len(read_tables(folder)["leads"]) == len(tiny_history.tables()["leads"])


@pytest.mark.parametrize(("broken", "fits"), [(3, True), (40, False)])
def test_spec_check_fails_an_export_whose_broken_rows_would_stop_training(broken, fits):
    # spec check said "ok ... fits" (exit 0) while train quarantined more than model.max_quarantine_share of
    # the won and lost rows and stopped with exit 5, whose sentence sends the user back to spec check; only a
    # text column called numeric, or rows without a time, counted.
    from features.spec_check import check_spec

    frame = hubspot_contacts_export(n=200)
    frame[HUBSPOT.id_column] = frame[HUBSPOT.id_column].astype(str)
    closed = frame.index[~frame[HUBSPOT.label_column].isin(HUBSPOT.open_labels)][:broken]
    frame.loc[closed, HUBSPOT.id_column] = frame.loc[closed[0], HUBSPOT.id_column]  # one id, repeated
    report = check_spec(frame, HUBSPOT, need_time=True, max_quarantine_share=0.05)
    assert any(f"{broken - 1} of 200 rows break rule unique" in w for w in report.warnings)
    assert report.ok == fits
    if not fits:
        assert "training would stop with exit code 5" in report.problems[0]
        assert (
            f"{broken - 1:,} of " in report.problems[0]
            and "model.max_quarantine_share (5.0%)" in report.problems[0]
        )


@pytest.mark.parametrize("written", ["Deals.csv", "deals.CSV", "deals.xlsx"])
def test_a_table_under_another_name_is_named_even_the_optional_deals(tmp_path, tiny_history, written):
    # Deals.csv (a Windows export) was not deals.csv: the deals table, optional when scoring, was taken as
    # absent and every lead scored as open, those whose deal had closed too (exit 0); the streamed score never
    # named a workbook beside the folder's tables as validate did.
    from pipelines.io import InputError, read_tables, write_tables
    from pipelines.stream import run_score_streaming

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    (folder / "deals.csv").rename(folder / written)
    said = rf"table 'deals' is missing \(expected deals.parquet or deals.csv\) \(found {written}: "
    with pytest.raises(InputError, match=said):
        read_tables(folder, required=("accounts", "leads"))
    with pytest.raises(InputError, match=said):
        run_score_streaming(None, folder, pd.Timestamp("2026-01-01"), tmp_path / "s.csv")
    (folder / written).unlink()
    assert "deals" not in read_tables(
        folder, required=("accounts", "leads")
    )  # no deals at all: still optional
    (folder / "leads.csv").rename(folder / "Leads.csv")
    with pytest.raises(InputError, match=r"found Leads.csv: rename it leads.csv\)"):
        run_score_streaming(None, folder, pd.Timestamp("2026-01-01"), tmp_path / "s.csv")


def _lines_in(encodings: list[str], texts: list[str]) -> bytes:
    return b"".join(text.encode(encoding) + b"\n" for encoding, text in zip(encodings, texts, strict=True))


def test_a_file_in_two_encodings_is_refused_naming_a_line_of_each_not_read_as_mojibake(
    tmp_path, tiny_history
):
    # Two exports joined end to end, one UTF-8 and one Windows-1252: the file was read as Windows-1252 and the
    # UTF-8 lines' "Général" became "GÃ©nÃ©ral" (a job title or industry no model saw), exit 0.
    from pipelines.io import InputError, read_tables, write_tables
    from pipelines.spec import detect_csv_format, read_spec_export

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    lines = (folder / "leads.csv").read_text(encoding="utf-8").splitlines()
    lines[1:4] = [line.replace(line.split(",")[3], "Directeur Général") for line in lines[1:4]]
    mixed = _lines_in(["utf-8", "utf-8", "cp1252", "utf-8"] + ["utf-8"] * (len(lines) - 4), lines)
    (folder / "leads.csv").write_bytes(mixed)
    said = r"leads.csv: holds text in two encodings, UTF-8 \(line 2\) and .* Windows-1252 \(line 3\).*again in one"
    with pytest.raises(InputError, match=said):
        read_tables(folder)
    export = tmp_path / "export.csv"
    export.write_bytes(_lines_in(["utf-8", "cp1252", "utf-8"], ["id,title", "1,Général", "2,Général"]))
    with pytest.raises(InputError, match="two encodings"):
        detect_csv_format(export)
    for encoding in ("utf-8", "cp1252"):
        with pytest.raises(InputError, match="two encodings"):
            read_spec_export(export, HUBSPOT.model_copy(update={"encoding": encoding}))


def test_a_file_in_one_single_byte_encoding_is_still_read(tmp_path, tiny_history):
    from pipelines.io import read_tables, write_tables

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    leads = tiny_history.tables()["leads"].copy()
    leads.loc[:3, "job_title"] = ["Directeur Général", "Gerente SÃO PAULO", "Müller GmbH", "Señor"]
    leads.to_csv(folder / "leads.csv", index=False, encoding="cp1252")
    assert read_tables(folder)["leads"]["job_title"].head(4).tolist() == leads["job_title"].head(4).tolist()


def test_utf16_without_its_byte_order_mark_is_named_for_what_it_is(tmp_path, tiny_history):
    # Read as UTF-8 (a zero byte is valid UTF-8), a CRM table ended in "Expected 6 fields in line 39, saw 7",
    # an export in "it looks like encoding: 'cp1252'" and spec draft in "no column looks like the outcome".
    from pipelines.io import InputError, read_tables, write_tables
    from pipelines.spec import detect_csv_format, read_spec_export

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    text = (folder / "leads.csv").read_text(encoding="utf-8")
    (folder / "leads.csv").write_bytes(text.encode("utf-16-le"))
    said = "leads.csv: UTF-16 text without its byte-order mark .* save it again as UTF-8"
    with pytest.raises(InputError, match=said):
        read_tables(folder)
    export = tmp_path / "export.csv"
    frame = hubspot_contacts_export(n=20)
    export.write_bytes(frame.to_csv(index=False).encode("utf-16-be"))
    with pytest.raises(InputError, match="without its byte-order mark"):
        detect_csv_format(export)
    with pytest.raises(InputError, match="without its byte-order mark"):
        read_spec_export(export, HUBSPOT)
    named = read_spec_export(export, HUBSPOT.model_copy(update={"encoding": "utf-16-be"}))
    assert named[HUBSPOT.id_column].tolist() == frame[HUBSPOT.id_column].astype(str).tolist()
    (folder / "leads.csv").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert len(read_tables(folder)["leads"]) == len(tiny_history.tables()["leads"])


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["score", "--input", "{crm}", "--as-of", "2026-01-01"], "--output"),
        (["validate", "--input", "{crm}"], "--quarantine"),
        (["queue", "--scores", "{crm}/scores.csv", "--reps", "2", "--per-rep", "5"], "--output"),
    ],
)
@pytest.mark.parametrize("name", ["calls.txt", "calls.xlsx", "calls"])
def test_a_table_output_named_as_no_table_format_is_a_bad_command_line(tmp_path, command, option, name):
    # score --output scores.txt exited 3 (the code of a missing or unreadable input) where evaluate's --output
    # results.csv is a bad command line (2): the job definition is what to fix.
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    args = [arg.format(crm=tmp_path / "crm") for arg in command]
    result = CliRunner().invoke(app, [*args, option, str(tmp_path / name)])
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "writes a .parquet or .csv file" in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())


def test_exports_joined_with_their_columns_in_another_order_are_refused_not_read_shifted(
    tmp_path, tiny_history
):
    # The second export's header (job_title and lead_source swapped) was read as a lead and quarantined, and
    # every lead below it was scored with its title as its source and its source as its title, exit 0.
    from pipelines.io import InputError, iter_frames, read_tables, write_tables
    from pipelines.spec import read_spec_export

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    leads = tiny_history.tables()["leads"]
    swapped = [*leads.columns[:3], "lead_source", "job_title", *leads.columns[5:]]
    assert list(leads.columns[3:5]) == ["job_title", "lead_source"]
    text = leads.head(10).to_csv(index=False) + leads.iloc[10:][swapped].to_csv(index=False)
    (folder / "leads.csv").write_text(text)
    said = r"leads.csv: row 10 repeats the header in another order \(lead_id, account_id, email, lead_source"
    with pytest.raises(InputError, match=said):
        read_tables(folder)
    with pytest.raises(InputError, match=said):
        list(iter_frames(folder / "leads.csv", 4, "leads"))
    export = hubspot_contacts_export(n=12)
    other_order = [*export.columns[::-1]]
    path = tmp_path / "export.csv"
    path.write_text(export.head(5).to_csv(index=False) + export.iloc[5:][other_order].to_csv(index=False))
    with pytest.raises(InputError, match="row 5 repeats the header in another order"):
        read_spec_export(path, HUBSPOT)
    path.write_text(export.head(5).to_csv(index=False) + export.iloc[5:].to_csv(index=False))
    assert len(read_spec_export(path, HUBSPOT)) == 12  # the same order: the line is skipped and said


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--input-table", "leads"], "--input-table 'leads': expected TABLE=VALUE"),
        (["--query", "lead=SELECT 1"], "'lead' is not a CRM table"),
        (["--output", "duckdb:///{tmp}/o.duckdb", "--table", "scores; drop table x"], "is not a table name"),
    ],
)
def test_an_option_written_wrong_is_a_bad_command_line_not_bad_input(tmp_path, args, said):
    # --input-table leads, --query lead=..., --table 'scores; drop table x' exited 3 (bad or missing input):
    # a scheduler would wait for the feed to be fixed, where the job definition is what is wrong.
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    output = ["--output", str(tmp_path / "s.csv")] if "--output" not in args else []
    command = ["score", "--input", f"duckdb:///{tmp_path}/crm.duckdb", "--as-of", "2026-01-01", *output]
    result = CliRunner().invoke(app, [*command, *[a.format(tmp=tmp_path) for a in args]])
    assert result.exit_code == exit_codes.USAGE, result.output
    assert said in " ".join(result.output.split())


def test_two_utf8_exports_with_their_byte_order_marks_joined_end_to_end_skip_the_second_header(
    tmp_path, tiny_history, capsys
):
    # `cat a.csv b.csv` of two exports saved with a byte-order mark: the second header starts with the mark,
    # was taken for a lead and quarantined (its email 'email' has no @), where without the mark it is skipped.
    from pipelines.io import read_tables, write_tables
    from pipelines.spec import read_spec_export

    folder = tmp_path / "crm"
    write_tables(tiny_history.tables(), folder, "csv")
    leads = tiny_history.tables()["leads"]
    joined = leads.head(7).to_csv(index=False).encode("utf-8-sig") + leads.iloc[7:].to_csv(
        index=False
    ).encode("utf-8-sig")
    (folder / "leads.csv").write_bytes(joined)
    read = read_tables(folder)["leads"]
    assert read["lead_id"].tolist() == leads["lead_id"].tolist()
    assert "1 line repeating the header" in " ".join(capsys.readouterr().out.split())
    result = validate_tables(read_tables(folder))
    assert not (result.quarantine["table"] == "leads").any()
    export = hubspot_contacts_export(n=9)
    path = tmp_path / "export.csv"
    path.write_bytes(
        export.head(4).to_csv(index=False).encode("utf-8-sig")
        + export.iloc[4:].to_csv(index=False).encode("utf-8-sig")
    )
    assert len(read_spec_export(path, HUBSPOT)) == 9


def test_scoring_with_a_deals_table_of_a_header_only_is_said_as_without_deals():
    # A deals feed that delivered a header only left every lead open, closed deals' leads included, with no
    # word (exit 0), where a folder without the table is warned about.
    from pipelines.cli import no_deals_sentence

    empty = no_deals_sentence({"accounts": 5, "leads": 9, "activities": 20, "deals": 0}, "crm")
    assert empty is not None and empty.startswith("crm has a deals table without rows: every valid lead")
    assert "export the deals again" in empty
    absent = no_deals_sentence({"accounts": 5, "leads": 9, "activities": 20}, "crm")
    assert absent is not None and absent.startswith("crm has no deals table")
    assert no_deals_sentence({"leads": 9, "deals": 3}, "crm") is None
