"""Hostile sweep 24: the classes `benchmarks/fuzz_inputs.py` (mutation fuzzing of valid inputs, run through the
CLI) found, each with a test of its class on small synthetic files.

Classes:
- a CSV file that stops in the middle of its last row (a copy or download that did not finish): pandas filled
  the missing fields as gaps, the last lead was scored on part of its row with exit 0, and the rows after the
  cut were lost without a word; now exit 3 naming the file and the fields it holds, for CRM tables and flat
  exports alike;
- a carriage return inside an unquoted value of a file whose lines end with LF (a line break typed in a
  cell): pandas took it for a line's end, so the row was read as two, its lead scored with the fields after
  it missing (exit 0) and the rest read as a row of its own; now exit 3 naming the line;
- a quote opened in a value and never closed (`"ann@acme.com,CTO,...`): the reader took every line up to the
  next quote as part of that value, so those leads vanished with exit 0 (read 901 of 906 leads), and a quote
  closed on the next line had merged two rows (one lead lost); now exit 3 naming the lines (or the row, the
  column and how many lines it swallowed);
- an export with a line that repeats its header (two exports joined end to end): the line was skipped, but
  the header's names had made its number columns text, so `train` logged its input example with the word
  "example" in a number column, which its own scorer refused: a traceback and exit 1 once training had
  finished; the columns now read as the file's other rows give them;
- a quote that nothing closes (pandas' "EOF inside string starting at row N") was said, for an export, as
  "that line has more fields than the header; quote the values that hold ','", the opposite of the fix, and
  for a CRM table in pandas' words; now one sentence naming the line of the quote and the fix.
"""

from pathlib import Path

import pytest

from pipelines.io import (
    InputError,
    cut_short,
    iter_frames,
    read_frame,
    split_by_bare_cr,
    stray_quote_lines,
)
from pipelines.spec import read_export
from pipelines.tracking import example_export_rows

LEADS_HEADER = "lead_id,account_id,email,job_title,lead_source,created_at"
LEADS_ROW = "L1,A1,ann@acme.com,CTO,referral,2026-03-01"


def _write(folder: Path, text: str, name: str = "leads.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_crm_table_cut_in_its_last_row_is_refused_naming_the_file_and_its_fields(tmp_path, ending):
    path = _write(tmp_path, ending.join([LEADS_HEADER, LEADS_ROW, "L2,A1,bob@acme.com,VP"]))
    with pytest.raises(
        InputError, match=r"leads\.csv: the file stops in the middle of its last row \(4 fields against 6 in"
    ):
        read_frame(path, "leads")


def test_an_export_cut_in_its_last_row_is_refused_as_the_crm_table_is(tmp_path):
    path = _write(tmp_path, "id,plan,seats,visits,won\n1,pro,5,3,yes\n2,free,1", "export.csv")
    with pytest.raises(InputError, match="3 fields against 5 in the row above"):
        read_export(path)


@pytest.mark.parametrize(
    "last",
    [
        LEADS_ROW,  # whole, no line break after it: many writers end so
        LEADS_ROW + "\n",
        "Confidential Information - Do Not Distribute",  # a report's footer line: one field, skipped elsewhere
        "Grand Totals (3 records),3",  # a summary line
        'L2,A1,bob@acme.com,"Head of\nSales",referral,2026-03-02',  # a quoted value over two lines, whole
    ],
)
def test_a_whole_last_row_a_footer_or_a_summary_line_is_not_taken_for_a_cut(tmp_path, last):
    path = _write(tmp_path, "\n".join([LEADS_HEADER, LEADS_ROW, last]))
    assert cut_short(path, "utf-8", ",") is None


def test_a_cut_in_a_semicolon_latin1_file_is_found_with_its_own_delimiter(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(
        f"{LEADS_HEADER}\n{LEADS_ROW}\nL2;A1;b\xe9b@acme.com".replace(",", ";").encode("latin-1")
    )
    assert cut_short(path, "latin-1", ";") == (3, 6)


def test_a_row_cut_in_two_by_an_unquoted_carriage_return_is_refused_naming_its_line(tmp_path):
    cut = "L2,A1,bob@acme.com,Head of\rSales,referral,2026-03-02"
    path = _write(tmp_path, "\n".join([LEADS_HEADER, LEADS_ROW, cut, LEADS_ROW.replace("L1", "L3")]) + "\n")
    with pytest.raises(
        InputError, match=r"leads\.csv: line 3 ends after 4 of the header's 6 fields at a carriage"
    ):
        read_frame(path, "leads")
    first = _write(tmp_path, "\n".join([LEADS_HEADER, LEADS_ROW.replace("L1", "L1\rL1")]) + "\n", "first.csv")
    with pytest.raises(
        InputError, match="line 2 ends after 1 of the header's 6 fields"
    ):  # in the first value
        read_frame(first, "leads")
    export = _write(tmp_path, "id,plan,seats,won\n1,pro\r,5,yes\n2,free,1,no\n", "export.csv")
    with pytest.raises(InputError, match="line 2 ends after 2 of the header's 4 fields"):
        read_export(export)


@pytest.mark.parametrize(
    ("text", "leads"),
    [
        (
            f'{LEADS_HEADER}\n{LEADS_ROW}\nL2,A1,bob@acme.com,"Head of\rSales",referral,2026-03-02\n',
            2,
        ),  # quoted
        (f"{LEADS_HEADER}\r{LEADS_ROW}\r{LEADS_ROW.replace('L1', 'L2')}\r", 2),  # lines ending with CR alone
        (f"{LEADS_HEADER}\r\n{LEADS_ROW}\r\n", 1),  # CRLF
    ],
)
def test_a_quoted_carriage_return_and_files_whose_lines_end_with_cr_are_read(tmp_path, text, leads):
    path = _write(tmp_path, text)
    assert split_by_bare_cr(path, "utf-8", ",") is None
    assert read_frame(path, "leads")["lead_id"].tolist() == ["L1", "L2"][:leads]


def _leads_with_stray_quote(folder: Path, closing: str) -> Path:
    rows = [LEADS_ROW.replace("L1", f"L{i}") for i in range(1, 7)]
    rows[1] = rows[1].replace("ann@acme.com", '"ann@acme.com')  # opened, never closed...
    rows[4] = rows[4].replace("CTO", closing)  # ...until a quote three lines below
    return _write(folder, "\n".join([LEADS_HEADER, *rows]) + "\n")


def test_rows_a_stray_quote_swallows_are_refused_naming_its_lines_not_lost(tmp_path):
    path = _leads_with_stray_quote(
        tmp_path, '"CTO"'
    )  # the next quote opens a value: text after the closing one
    said = r"leads\.csv: a quote opened on line 3 is closed on line 6 with more text after it"
    with pytest.raises(InputError, match=said):
        read_frame(path, "leads")
    with pytest.raises(InputError, match=said):
        list(iter_frames(path, 2, "leads"))  # the streamed score reads the file in parts
    export = _write(tmp_path, 'id,plan,seats,won\n1,"pro,5,yes\n2,free,1,no\n3,"x",2,no\n', "export.csv")
    with pytest.raises(InputError, match="a quote opened on line 2 is closed on line 4"):
        read_export(export)


def test_a_quoted_note_over_lines_is_read_and_a_stray_quote_in_one_line_is_left_to_pandas(tmp_path):
    note = 'L2,A1,bob@acme.com,"Head of Sales\nEMEA, DACH",referral,2026-03-02'
    sloppy = 'L3,A1,cy@acme.com,"VP" ,referral,2026-03-02'  # a blank after the closing quote, one line
    path = _write(tmp_path, "\n".join([LEADS_HEADER, LEADS_ROW, note, sloppy]) + "\n")
    assert read_frame(path, "leads")["lead_id"].tolist() == ["L1", "L2", "L3"]
    assert stray_quote_lines(path, "utf-8", ",") is None


@pytest.mark.parametrize(
    "name, text",
    [
        (  # a narrow table's note over lines, full of commas (was refused as rows a quote swallowed)
            "activities.csv",
            'lead_id,occurred_at,activity_type,notes\nL1,2026-03-01,call,"Called re: pricing\nAgenda: budget, '
            'timeline, decision makers, next steps"\nL2,2026-03-02,email,\n',
        ),
        (  # blanks after the closing quote of a value over lines (pandas keeps them)
            "leads.csv",
            LEADS_HEADER + '\nL1,A1,a@x.com,"VP\nSales" ,web,2026-01-01\nL2,A1,b@x.com,CTO,web,2026-01-02\n',
        ),
        (  # a note longer than the csv module's 128 KB field limit, and a quoted CR (was a traceback, exit 1)
            "leads.csv",
            LEADS_HEADER + f'\nL1,A1,a@x.com,"{"x" * 200_000}",web,2026-01-01\nL2,A1,b@x.com,"Mac\rnote",web,'
            "2026-01-02\n",
        ),
        (  # a header with a trailing delimiter, and the last row without a line break: complete
            "export.csv",
            "id,plan,seats,won,\n1,pro,5,yes\n2,free,1,no",
        ),
        ("export.csv", "id,plan,seats,won\n1,pro,5,yes\n2,free,1,no\nTotal leads,2"),  # a summary line
    ],
    ids=["comma-heavy note", "blank after quote", "long note", "trailing delimiter", "total line"],
)
def test_legitimate_files_the_structure_checks_once_refused_are_read(tmp_path, name, text):
    """False refusals of files pandas reads as meant (a reviewer's probes): a job that worked must not stop."""
    path = _write(tmp_path, text, name)
    read = read_export(path) if name == "export.csv" else read_frame(path, name.removesuffix(".csv"))
    assert len(read) >= 2


def test_a_carriage_return_inside_a_rows_last_value_is_refused_too(tmp_path):
    # The row before the CR has every field; the rest of its last value read as a row of one field (the
    # mutation fuzzer's seed 4, case 7: 907 leads read from 906 rows, exit 0).
    split = LEADS_ROW + "\r2026-03-01 12:00:00\n" + LEADS_ROW.replace("L1", "L2")
    path = _write(tmp_path, LEADS_HEADER + "\n" + split + "\n")
    with pytest.raises(InputError, match=r"line 2 ends inside its last value at a carriage return"):
        read_frame(path, "leads")


def test_a_short_row_elsewhere_is_not_blamed_on_a_quoted_carriage_return(tmp_path):
    ragged = LEADS_HEADER + '\nL1,A1,a@x.com,"VP\rSales",web,2026-01-01\nL2,A1,b@x.com,CTO,web\n'
    assert split_by_bare_cr(_write(tmp_path, ragged), "utf-8", ",") is None


def test_an_export_with_a_repeated_header_line_reads_its_number_columns_as_numbers(tmp_path):
    rows = ["007,pro,3,1.5,yes", "008,free,,2,no", "009,pro,7,0.5,no"]
    header = "id,plan,visits,views,won"
    joined_text = "\n".join([header, *rows[:2], header, rows[2]])
    joined = read_export(_write(tmp_path, joined_text, "joined.csv"), text_columns=("id",))
    plain = read_export(_write(tmp_path, "\n".join([header, *rows]), "plain.csv"), text_columns=("id",))
    assert joined.dtypes.to_dict() == plain.dtypes.to_dict()
    assert joined["id"].tolist() == ["007", "008", "009"]  # an id column stays text as written
    example = example_export_rows(joined, ["id", "plan", "visits", "views"], "id")
    assert example.loc[0, ["visits", "views"]].tolist() == [5.0, 1.5]  # medians, never the word "example"


def test_a_quote_nothing_closes_is_said_with_its_line_and_the_fix_for_tables_and_exports(tmp_path):
    leads = _write(tmp_path, "\n".join([LEADS_HEADER, LEADS_ROW, LEADS_ROW.replace("CTO", '"CTO')]) + "\n")
    said = r"leads\.csv: a quote opened in line 3 is never closed \(a stray \" in a value\)"
    with pytest.raises(InputError, match=said):
        read_frame(leads, "leads")
    export = _write(tmp_path, 'id,plan,seats,won\n1,pro,5,yes\n2,"free,1,no\n3,x,2,no\n', "export.csv")
    with pytest.raises(InputError, match=r"export\.csv: a quote opened in line 3 is never closed") as caught:
        read_export(export)
    assert "more fields than the header" not in str(caught.value)


@pytest.mark.parametrize("block", [4, 1 << 20])  # a quote open across the reader's blocks too
def test_only_a_file_whose_quote_runs_past_a_line_is_searched_value_by_value(tmp_path, block):
    """The search of every text value for line breaks (a second per million rows and 30 text columns) runs only
    when some quote stays open past a line's end; quoted values closed on their own lines never hold one."""
    from pipelines.io import _byte_scan

    def runs_over(text: str, name: str) -> bool:
        path = _write(tmp_path, text, name)
        return _byte_scan(path, path.stat().st_size, path.stat().st_mtime_ns, block).quote_over_lines

    assert not runs_over('id,title\n1,"Head of Sales, EMEA"\n2,"say ""hi"""\r\n3,CTO\n', "closed.csv")
    assert runs_over('id,title\n1,"Head of Sales\nEMEA"\n2,CTO\n', "note.csv")
    assert runs_over('id,title\n1,"CTO\n2,CFO\n3,"x"\n', "stray.csv")
    assert runs_over('id,title\r1,"a\rb"\r', "mac.csv")
