"""Hostile inputs, third sweep: blank rows between leads, more folds than the labels can fill, epoch times,
UTF-16 exports, headers the spec does not name exactly, and a time column of unique text; each test holds one
class of input that gave a wrong answer with exit 0, a misleading sentence or a traceback."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.contracts import ContractError
from features.dates import parse_timestamps
from features.export_contract import check_export
from features.flat import ExportSpec, flat_timestamps
from features.spec_check import check_spec
from features.synthetic import GeneratorConfig, generate_history
from models.backtest import check_enough_labels
from models.minimum_data import InsufficientDataError
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.sources import ExportSource, ScoringReader
from pipelines.spec import detect_csv_format, read_spec_export, run_spec_draft
from pipelines.tracking import example_export_rows

runner = CliRunner()

SPEC = {
    "name": "probe",
    "id_column": "Lead ID",
    "label_column": "Stage",
    "positive_labels": ["Won"],
    "negative_labels": ["Lost"],
    "open_labels": ["Open"],
    "timestamp_column": "Created",
    "fit_columns": {"Source": "categorical"},
    "intent_columns": ["Visits"],
}


def flat(output: str) -> str:
    return " ".join(output.split())


def spec_of(**changes) -> ExportSpec:
    return ExportSpec.model_validate({**SPEC, **changes})


def export(n: int, stage: str | None = None, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 86400, n), unit="s")
    return pd.DataFrame(
        {
            "Lead ID": [f"{i:05d}" for i in range(n)],
            "Stage": [stage] * n if stage else rng.choice(["Won", "Lost"], n).tolist(),
            "Created": created.strftime("%Y-%m-%dT%H:%M:%S"),  # to the second: unique per row
            "Source": rng.choice(["web", "ads"], n),
            "Visits": rng.integers(0, 9, n),
        }
    )


def write_spec(tmp_path, **changes) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**SPEC, **changes}))
    return str(path)


# --- blank rows between leads: skipped and said, the quarantine keeps the file's row numbers ---------------


def test_blank_rows_between_leads_are_skipped_said_and_the_quarantine_keeps_file_rows(tmp_path, capsys):
    """A ",,,," line between leads was quarantined as "no id" (and counted towards the limit); now every row
    with every cell blank is skipped and said, and a bad row after it is still named by its row in the file."""
    frame = export(6, stage="Open")
    frame["Visits"] = frame["Visits"].astype(object)
    frame.loc[4, "Visits"] = "lots"  # file row 6 once two blank rows sit before it
    lines = frame.to_csv(index=False).splitlines()
    lines[2:2] = [",,,,"]  # after lead 0 and lead 1's header offset: between leads
    lines[4:4] = [" , , ,,"]  # blanks only
    path = tmp_path / "leads.csv"
    path.write_text("\n".join([*lines, ",,,,", ",,,,"]) + "\n")
    rows = read_spec_export(path, spec_of())
    said = flat(capsys.readouterr().out)
    assert "4 empty rows" in said and "2 between leads" in said and "2 after the last lead" in said
    assert rows["Lead ID"].tolist() == frame["Lead ID"].tolist()  # no lead lost, no blank read as one
    scoring = ExportSource.read(rows, spec_of(), str(path)).scoring_rows(pd.Timestamp("2026-01-01"), None)
    quarantine = scoring.validation.quarantine
    assert quarantine["row"].tolist() == [6] and quarantine["key"].tolist() == ["00004"]
    in_file = pd.read_csv(path, skip_blank_lines=False, dtype=str)
    assert in_file.iloc[6]["Lead ID"] == "00004"  # row 6 of the file is that lead
    assert scoring.validation.read == {"leads": 6}  # read = scored + quarantined: blank rows are not leads
    assert len(scoring.to_score) + len(quarantine) == 6


def test_training_quarantine_names_file_rows_after_blank_rows(tmp_path):
    frame = export(8)
    frame["Visits"] = frame["Visits"].astype(object)
    frame.loc[5, "Visits"] = "n/a"
    lines = frame.to_csv(index=False).splitlines()
    lines[1:1] = [",,,,", ",,,,"]
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n")
    data = ExportSource.read(read_spec_export(path, spec_of()), spec_of(), str(path)).training_data(
        _config(), None
    )
    assert data.quarantine["row"].tolist() == [7] and data.quarantine["key"].tolist() == ["00005"]


def _config():
    from pipelines.settings import load_config

    return load_config()


# --- more folds than the labelled rows can fill --------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        (["--folds", "400"], ["400 folds", "won and", "evaluate.min_test_rows_per_class"]),
        (["--rolling", "30"], ["30 rolling windows", "at least 300 won and 300 lost"]),
    ],
)
def test_more_folds_or_windows_than_the_labels_fill_exit_4_naming_the_counts_before_training(
    tmp_path, asked, said
):
    """--folds 400 on 100 won and 100 lost rows ran 400 folds of one or two rows each (hours, meaningless AUCs);
    --rolling 30 as many tiny windows."""
    path = tmp_path / "leads.csv"
    export(200).to_csv(path, index=False)
    args = ["evaluate", "--input", str(path), "--source-spec", write_spec(tmp_path), *asked]
    result = runner.invoke(app, [*args, "--set", "model.min_won=5", "--set", "model.min_lost=5"])
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    assert all(words in flat(result.output) for words in said), result.output
    assert "Traceback" not in result.output


def test_each_test_fold_needs_the_configured_rows_of_each_class():
    y = np.array([1] * 30 + [0] * 60)
    check_enough_labels(y, "3 folds", 3, 1, 1, per_fold=10)  # 10 won per fold: enough
    with pytest.raises(InsufficientDataError, match="30 won and 60 lost.*at least 40 won and 40 lost"):
        check_enough_labels(y, "4 folds", 4, 1, 1, per_fold=10)


# --- epoch times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "scale"), [("epoch_s", 1), ("epoch_ms", 1000)])
def test_epoch_times_are_drafted_with_their_unit_and_read_under_the_spec(tmp_path, unit, scale):
    """An epoch column was drafted as a numeric fit column (a trending number, no out-of-time split); under a
    spec it could not be read at all."""
    frame = export(120)
    seconds = pd.to_datetime(frame["Created"]).astype("datetime64[s]").astype("int64")
    frame["Created"] = seconds * scale
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "draft.yaml"
    run_spec_draft(path, out)
    drafted = yaml.safe_load(out.read_text())
    assert drafted["timestamp_column"] == "Created" and drafted["date_format"] == unit
    assert "Created" not in drafted.get("fit_columns", {})
    spec = spec_of(date_format=unit)
    times = flat_timestamps(read_spec_export(path, spec)["Created"], spec)
    assert times.tolist() == pd.to_datetime(export(120)["Created"]).tolist()
    assert check_spec(read_spec_export(path, spec), spec).problems == []


def test_epoch_values_out_of_range_or_not_whole_are_no_date_never_another_unit():
    values = pd.Series([1_700_000_000, 1_700_000_000_000, 1.5e9 + 0.5, 42, "soon", None, " "], dtype=object)
    times, unparsed = parse_timestamps(values, "epoch_s")
    assert times.iloc[0] == pd.Timestamp("2023-11-14 22:13:20")
    assert unparsed.tolist() == [False, True, True, True, True, False, False]
    frame = export(3).assign(Created=[1_700_000_000, 42, 4_200_000_000])
    _, quarantine = check_export(frame, spec_of(date_format="epoch_s"))
    assert quarantine["row"].tolist() == [1, 2] and set(quarantine["check"]) == {"is_date"}


def test_a_numeric_column_is_drafted_as_epoch_only_when_its_name_says_time(tmp_path):
    frame = export(60).assign(Revenue=1_700_000_000, Created=lambda f: f["Created"])
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "draft.yaml"
    run_spec_draft(path, out)
    assert yaml.safe_load(out.read_text())["date_format"] is None  # Created is ISO; Revenue stays a number


def test_an_epoch_column_under_an_iso_spec_says_the_setting_that_reads_it():
    frame = export(3).assign(Created=[1_700_000_000] * 3)
    _, quarantine = check_export(frame, spec_of())
    assert "epoch_s or epoch_ms" in quarantine["reason"].iloc[0]


# --- the artifact's example of a time column -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "values", "expected"),
    [
        (None, pd.Series([f"2025-01-01T00:00:{i:02d}" for i in range(40)]), "2026-01-01T00:00:00"),
        ("%d/%m/%Y %H:%M", pd.Series([f"01/01/2025 00:{i:02d}" for i in range(40)]), "01/01/2026 00:00"),
        ("epoch_ms", pd.Series(np.arange(40) * 7 + 1_700_000_000_001), 1_767_225_600_000.0),
    ],
)
def test_the_artifact_example_of_a_time_column_is_a_time_the_scorer_reads(fmt, values, expected):
    """A time column whose values are all different made the example "example" (no date): training failed with
    a traceback while logging the model."""
    frame = pd.DataFrame({"Lead ID": [str(i) for i in range(40)], "Created": values})
    rows = example_export_rows(frame, ["Lead ID", "Created"], "Lead ID", "Created", fmt)
    assert rows["Created"].iloc[0] == expected
    assert not flat_timestamps(rows["Created"].iloc[:1], spec_of(date_format=fmt)).isna().any()


# --- UTF-16 exports and header names ------------------------------------------------------------------------


def test_a_utf16_export_is_read_by_its_byte_order_mark_and_drafted_as_utf16(tmp_path, capsys):
    """Excel's "Unicode text" was unreadable under a utf-8 spec, and the hint said cp1252 (wrong)."""
    frame = export(5, stage="Open").assign(Source=["Zürich", "web", "ads", "web", "ads"])
    path = tmp_path / "leads.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + frame.to_csv(index=False).encode("utf-16-le"))
    rows = read_spec_export(path, spec_of())
    assert rows["Source"].tolist() == frame["Source"].tolist()
    assert rows["Lead ID"].tolist() == frame["Lead ID"].tolist()
    assert "UTF-16" in flat(capsys.readouterr().out)
    assert detect_csv_format(path) == (",", "utf-16")


@pytest.mark.parametrize("header", ["lead id", "Lead ID ", "LEAD ID"])
def test_scoring_an_export_whose_header_is_not_the_specs_exits_3_with_did_you_mean(tmp_path, header):
    """`score` on an export whose id header differs in case or spaces ended in a KeyError traceback."""
    path = tmp_path / "leads.csv"
    export(4, stage="Open").rename(columns={"Lead ID": header}).to_csv(path, index=False)
    with pytest.raises(ContractError, match=r"lacks columns .*'Lead ID' \(id_column\) \(did you mean"):
        ScoringReader(str(path)).flat_export(spec_of())


# --- files that are no CSV text, links to nothing, folders and workbooks -------------------------------------


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (lambda text: __import__("gzip").compress(text.encode()), "gzip-compressed"),
        (lambda text: b"PK\x03\x04" + text.encode(), r"zip archive \(an Excel .xlsx is one\)"),
        (lambda text: b"PAR1" + text.encode(), "a Parquet file: name it .parquet"),
    ],
)
def test_a_file_named_csv_that_is_no_text_is_named_for_what_it_is(tmp_path, content, said):
    """A gzip file named .csv was "not readable as utf-8 ... it looks like encoding latin-1": the wrong fix."""
    from pipelines.io import InputError, read_frame

    text = export(3, stage="Open").to_csv(index=False)
    path = tmp_path / "leads.csv"
    path.write_bytes(content(text))
    for read in (lambda: read_spec_export(path, spec_of()), lambda: read_frame(path, table="leads")):
        with pytest.raises(InputError, match=said):
            read()
    result = runner.invoke(app, ["spec", "draft", "--input", str(path), "--out", str(tmp_path / "s.yaml")])
    assert result.exit_code == exit_codes.BAD_INPUT and "not CSV text but" in flat(result.output)


def test_a_link_to_nothing_a_folder_and_a_workbook_are_named_as_such(tmp_path):
    from pipelines.io import InputError, iter_frames, read_frame, read_tables

    loop = tmp_path / "leads.csv"
    loop.symlink_to(loop)
    for read in (
        lambda: read_spec_export(loop, spec_of()),
        lambda: read_frame(loop, table="leads"),
        lambda: next(iter_frames(loop, 10, "leads")),
    ):
        with pytest.raises(InputError, match="symbolic link that leads nowhere"):
            read()
    folder = tmp_path / "crm"
    (folder / "leads.csv").mkdir(parents=True)
    with pytest.raises(InputError, match="a folder, not a table file"):
        read_frame(folder / "leads.csv", table="leads")
    (folder / "accounts.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(InputError, match=r"found accounts.xlsx: save it as .csv"):
        read_tables(folder)
    with pytest.raises(InputError, match="spreadsheet workbook.*save the sheet as CSV"):
        read_spec_export(folder / "accounts.xlsx", spec_of())


def test_numbers_written_with_a_sign_are_quarantined_with_the_fix_that_works():
    frame = export(3, stage="Open").assign(Visits=["12%", "$5", "7"])
    _, quarantine = check_export(frame, spec_of())
    assert quarantine["row"].tolist() == [0, 1]
    assert all("written with a sign" in r and "missing_values" not in r for r in quarantine["reason"])


# --- blank rows in CRM table files: skipped and said on every path, rows numbered as in the file --------------


@pytest.fixture(scope="module")
def tiny_history():
    return generate_history(GeneratorConfig(accounts=120, months=8, seed=3)).tables()


@pytest.fixture
def small_crm(tiny_history):
    """A few hundred leads (streaming SMALL's 7,591 in parts of 7 took minutes)."""
    return {k: v.copy() for k, v in tiny_history.items()}


def _with_blank_rows(tables: dict, folder, table: str, at: tuple[int, ...]) -> None:
    """Write the tables as CSV, with blank lines (",,,,") inserted before the data rows `at` of `table`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        lines = frame.to_csv(index=False).splitlines()
        if name == table:
            blank = "," * (frame.shape[1] - 1)
            for position in sorted(at, reverse=True):
                lines.insert(position + 1, blank)
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")


def test_blank_rows_in_crm_tables_are_skipped_and_quarantine_rows_stay_file_rows(tmp_path, small_crm, capsys):
    """A ",,,," line between leads was quarantined (not_null on every column) and counted towards exit 5;
    a bad row after it must still carry its row in the file, on the in-memory and the streamed path."""
    from pipelines.io import iter_frames, read_tables
    from pipelines.validate import run_validate

    tables = small_crm
    leads = tables["leads"]
    leads["email"] = leads["email"].astype(object)
    leads.loc[10, "email"] = "no at sign"
    _with_blank_rows(tables, tmp_path / "crm", "leads", at=(2, 5))  # two blank rows before lead 10
    read = read_tables(tmp_path / "crm")
    assert "2 empty rows" in flat(capsys.readouterr().out)
    assert len(read["leads"]) == len(leads)
    result = run_validate(read, as_of=pd.Timestamp("2030-01-01"))
    bad = result.quarantine[
        (result.quarantine["table"] == "leads") & (result.quarantine["column"] == "email")
    ]
    assert bad["row"].tolist() == [12]  # lead 10 sits on data row 12 of the file
    file_rows = pd.read_csv(tmp_path / "crm" / "leads.csv", skip_blank_lines=False, dtype=str)
    assert file_rows.iloc[12]["lead_id"] == leads.loc[10, "lead_id"]
    assert not (result.quarantine["check"] == "not_null").any()  # no blank row quarantined
    streamed = pd.concat(iter_frames(tmp_path / "crm" / "leads.csv", 7, "leads"))
    assert streamed.index.tolist() == [i for i in range(len(leads) + 2) if i not in (2, 6)]  # blank rows


def test_score_streams_a_crm_folder_with_blank_rows_like_one_without(tmp_path, small_crm, small_scorer):
    """The streamed scoring path skips blank rows as validate does; scores match, quarantine rows are file rows."""
    from pipelines.stream import run_score_streaming

    tables = small_crm
    tables["leads"]["email"] = tables["leads"]["email"].astype(object)
    tables["leads"].loc[10, "email"] = "no at sign"
    _with_blank_rows(tables, tmp_path / "plain", "leads", at=())
    _with_blank_rows(tables, tmp_path / "blank", "leads", at=(2, 5))
    as_of = pd.Timestamp("2026-10-01")
    runs = {}
    for name in ("plain", "blank"):
        output = tmp_path / name / "scores.parquet"
        runs[name] = (run_score_streaming(small_scorer, tmp_path / name, as_of, output, 60), output)
    (plain, plain_out), (blank, blank_out) = runs["plain"], runs["blank"]
    assert blank.leads == plain.leads
    pd.testing.assert_frame_equal(pd.read_parquet(blank_out), pd.read_parquet(plain_out))
    rows = blank.quarantine.loc[blank.quarantine["table"] == "leads", "row"].tolist()
    assert 12 in rows and 10 not in rows
    assert plain.quarantine.loc[plain.quarantine["table"] == "leads", "row"].tolist().count(10) >= 1


def test_streamed_scoring_numbers_a_bad_account_by_its_row_in_the_file(tmp_path, small_crm, small_scorer):
    """Blank rows in accounts.csv: the streamed path numbered quarantined accounts through the index of the
    valid accounts (which carried the reader's mark), not of the accounts as read."""
    from pipelines.stream import run_score_streaming

    tables = small_crm
    tables["accounts"]["employee_count"] = tables["accounts"]["employee_count"].astype(object)
    tables["accounts"].loc[len(tables["accounts"]) - 1, "employee_count"] = -5  # the last account: row n + 1
    _with_blank_rows(tables, tmp_path / "crm", "accounts", at=(2, 5))
    result = run_score_streaming(
        small_scorer, tmp_path / "crm", pd.Timestamp("2026-10-01"), tmp_path / "s.pq", 60
    )
    rows = result.quarantine.loc[result.quarantine["table"] == "accounts", "row"].tolist()
    assert rows == [len(tables["accounts"]) + 1]


# --- placeholder dates: before 1990 is time zero or a default, not when a lead came -------------------------


def test_an_export_date_before_1990_is_quarantined_as_a_placeholder():
    """1970-01-01 (time zero) scored as a lead 56 years old, with exit 0; it is quarantined as in CRM tables."""
    frame = export(4, stage="Open")
    frame.loc[1, "Created"] = "1970-01-01T00:00:00"
    valid, quarantine = check_export(frame, spec_of())
    assert valid.index.tolist() == [0, 2, 3]
    hit = quarantine.set_index("row").loc[1]
    assert hit["check"] == "not before 1990" and "placeholder" in hit["reason"]
