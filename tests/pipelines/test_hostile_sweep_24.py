"""Hostile sweep 24: the classes `benchmarks/fuzz_inputs.py` (mutation fuzzing of valid inputs, run through the
CLI) found, each with a test of its class on small synthetic files.

Classes:
- a CSV file that stops in the middle of its last row (a copy or download that did not finish): pandas filled
  the missing fields as gaps, the last lead was scored on part of its row with exit 0, and the rows after the
  cut were lost without a word; now exit 3 naming the file and the fields it holds, for CRM tables and flat
  exports alike.
"""

from pathlib import Path

import pytest

from pipelines.io import InputError, cut_short, read_frame
from pipelines.spec import read_export

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
        InputError, match=r"leads\.csv: the file stops in the middle of its last row \(4 of the"
    ):
        read_frame(path, "leads")


def test_an_export_cut_in_its_last_row_is_refused_as_the_crm_table_is(tmp_path):
    path = _write(tmp_path, "id,plan,seats,visits,won\n1,pro,5,3,yes\n2,free,1", "export.csv")
    with pytest.raises(InputError, match="3 of the header's 5 fields"):
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
