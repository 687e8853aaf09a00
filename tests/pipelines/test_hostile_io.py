"""Hostile batch input and output: every case ends in a clear exit code and sentence, nothing lost, nothing
closed scored, and a run's outputs published together or not at all (issue 19, items 3, 5, 6, 7).

The data are small synthetic histories built here; the CLI gets the module's trained scorer instead of a
registered model (load_scorer is replaced), so no MLflow store is needed.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.contracts import validate_tables
from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes, io
from pipelines.cli import app
from pipelines.io import PARTS_PREFIX, write_tables
from pipelines.score import (
    NothingToScore,
    failed_quarantine_path_for,
    manifest_path_for,
    quarantine_path_for,
    run_score,
    verify_published,
)
from pipelines.stream import run_score_streaming

AS_OF = pd.Timestamp("2026-10-01")
runner = CliRunner()


@pytest.fixture(scope="module")
def scorer(small_scorer):
    return small_scorer  # trained once per session on small_history (tests/conftest.py); read-only


@pytest.fixture(scope="module")
def hostile_tables() -> dict[str, pd.DataFrame]:
    """A small history with planted defects, plus leads that test the rules across rows.

    - a lead_id repeated at the end of the file with another email (the first is kept, the copy quarantined);
    - a new lead whose email reaches the same mailbox as an open lead (the duplicate rule);
    - a copy of a lead with a lost deal under a new id and mailbox, its deal copied too (never scored).
    """
    history = generate_history(GeneratorConfig(accounts=15, months=12, seed=11, dirty_rows=2))
    tables = {name: frame.copy() for name, frame in history.tables().items()}
    leads, deals = tables["leads"], tables["deals"]
    valid = validate_tables(tables, as_of=AS_OF).valid["leads"]["lead_id"]
    open_lead = leads[~leads["lead_id"].isin(deals["lead_id"]) & leads["lead_id"].isin(valid)].iloc[0]
    lost = deals[deals["outcome"] == "lost"].iloc[0]
    lost_lead = leads[leads["lead_id"] == lost["lead_id"]].iloc[0]
    repeated = leads.iloc[[3]].assign(email="someone.else@elsewhere.example")
    local, domain = open_lead["email"].split("@")
    same_mailbox = open_lead.to_frame().T.assign(lead_id="L-SAME-BOX", email=f"{local.upper()}+crm@{domain}")
    lost_copy = lost_lead.to_frame().T.assign(lead_id="L-LOST-COPY", email="lost.copy@copy.example")
    deal_copy = lost.to_frame().T.assign(deal_id="D-LOST-COPY", lead_id="L-LOST-COPY")
    tables["leads"] = pd.concat([leads, same_mailbox, lost_copy, repeated], ignore_index=True)
    tables["deals"] = pd.concat([deals, deal_copy], ignore_index=True)
    return tables


@pytest.fixture()
def crm(tmp_path, hostile_tables) -> Path:
    folder = tmp_path / "crm"
    write_tables(hostile_tables, folder, "csv")
    return folder


@pytest.fixture()
def cli(scorer, monkeypatch):
    """Run `leadscore` with the module's scorer as the model."""
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def flat(output: str) -> str:
    return " ".join(output.split())


def accounted(manifest_or_result) -> tuple[int, int, int, int]:
    """read, scored, quarantined, not scored (all reasons) of a manifest's leads."""
    leads = manifest_or_result["leads"]
    return leads["read"], leads["scored"], leads["quarantined"], sum(leads["not_scored"].values())


def closed_lead_ids(tables: dict[str, pd.DataFrame]) -> set[str]:
    """Leads with a won or lost deal in the input, valid or not, unless it closed after AS_OF."""
    deals = tables["deals"]
    closed_at = pd.to_datetime(deals["closed_at"], errors="coerce")
    closed = deals["outcome"].isin(["won", "lost"]) & ~(closed_at > AS_OF)
    return set(deals.loc[closed, "lead_id"].astype(str))


# --- 1. rules across rows hold for every part size --------------------------------------------------------


def test_outputs_do_not_depend_on_the_part_size(tmp_path, crm, scorer, hostile_tables):
    outputs = {}
    for size in (1, 7, 10**6):  # one lead a part, several parts, one part (58 leads)
        output = tmp_path / f"size-{size}" / "scores.parquet"
        result = run_score_streaming(scorer, crm, AS_OF, output, chunk_size=size)
        outputs[size] = (
            pd.read_parquet(output),
            quarantine_path_for(output).read_text(),
            json.loads(manifest_path_for(output).read_text()),
            result,
        )
    whole_scores, whole_quarantine, whole_manifest, _ = outputs[10**6]
    for size, (scores, quarantine, manifest, _) in outputs.items():
        pd.testing.assert_frame_equal(
            scores, whole_scores, check_exact=True, obj=f"scores at part size {size}"
        )
        assert quarantine == whole_quarantine, f"quarantine at part size {size}"
        assert manifest["leads"] == whole_manifest["leads"], size
    read, scored, quarantined, not_scored = accounted(whole_manifest)
    assert read == len(hostile_tables["leads"]) == scored + quarantined + not_scored
    assert not whole_scores["lead_id"].duplicated().any()
    assert not set(whole_scores["lead_id"]) & closed_lead_ids(hostile_tables)
    assert "L-LOST-COPY" not in set(whole_scores["lead_id"])
    copy_row = len(hostile_tables["leads"]) - 1  # the repeated lead_id, last in the file
    q = pd.read_csv(quarantine_path_for(tmp_path / "size-1" / "scores.parquet"))
    assert ((q["table"] == "leads") & (q["row"] == copy_row) & (q["check"] == "unique")).any()
    # The same mailbox as an open lead: both scored, the later one as a duplicate, in one part or in many.
    assert {"L-SAME-BOX"} <= set(whole_scores["lead_id"])
    # The whole-input (in-memory) run agrees on every count, every score and the quarantine's rows.
    in_memory = run_score(scorer, hostile_tables, AS_OF, None)
    leads = whole_manifest["leads"]
    assert in_memory.accounting.set_index("status")["leads"].to_dict() == {
        "read": read,
        "scored": scored,
        "quarantined": quarantined,
        **{f"not scored: {why}": n for why, n in leads["not_scored"].items()},
    }
    expected = in_memory.scores.set_index("lead_id")["score"]
    got = whole_scores.set_index("lead_id")["score"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_exact=True)
    key = ["table", "row", "column", "check"]
    streamed_q = q[key].astype(str).sort_values(key).reset_index(drop=True)
    memory_q = in_memory.quarantine[key].astype(str).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(streamed_q, memory_q)


# --- 2. nothing to score: the previous output stays, exit 3 and why ------------------------------------------


def _score(cli, crm: Path, output: Path, *extra: str, as_of: str = "2026-10-01"):
    """`leadscore score` on the planted defects (their share is above the default limit of exit code 5)."""
    args = ["--input", str(crm), "--as-of", as_of, "--output", str(output)]
    return cli("score", *args, "--set", "scoring.max_quarantine_share=1", *extra)


def _published(output: Path) -> dict[str, bytes]:
    paths = (output, quarantine_path_for(output), manifest_path_for(output))
    return {p.name: p.read_bytes() for p in paths}


def _with_thousands_separators(folder: Path) -> None:
    accounts = pd.read_csv(folder / "accounts.csv")
    for column in ("employee_count", "annual_revenue"):
        accounts[column] = [f"{v:,.0f}" if v == v else v for v in accounts[column]]
    accounts.to_csv(folder / "accounts.csv", index=False)


def _header_only_leads(folder: Path) -> None:
    header = (folder / "leads.csv").read_text().split("\n", 1)[0]
    (folder / "leads.csv").write_text(header + "\n")


@pytest.mark.parametrize(
    "case, as_of, expected",
    [
        ("thousands separators", "2026-10-01", "without thousands separators"),
        ("as-of before the data", "2020-01-01", "nothing to score"),
        ("header-only leads", "2026-10-01", "has no rows"),
    ],
)
def test_nothing_to_score_keeps_the_previous_run(tmp_path, crm, cli, case, as_of, expected):
    output = tmp_path / "out" / "scores.parquet"
    first = _score(cli, crm, output)
    assert first.exit_code == 0, first.output
    before = _published(output)
    if case == "thousands separators":
        _with_thousands_separators(crm)
    elif case == "header-only leads":
        _header_only_leads(crm)

    result = _score(cli, crm, output, as_of=as_of)

    text = flat(result.output)
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "nothing to score" in text and expected in text and "is kept" in text
    assert "KeyError" not in text and isinstance(result.exception, SystemExit)  # an exit code, no traceback
    assert _published(output) == before  # scores, quarantine and manifest untouched
    assert verify_published(output) == []
    leads_read = len(pd.read_csv(crm / "leads.csv"))
    if case == "as-of before the data":  # every lead was created later: not created yet, none quarantined
        assert f"created after as_of: {leads_read:,}" in text and "is --as-of before the data?" in text
        return
    failed = pd.read_csv(failed_quarantine_path_for(output))
    assert str(failed_quarantine_path_for(output)) in text
    if case == "header-only leads":
        # What validate quarantines (every activity and deal: their lead is unknown) reaches this run's quarantine.
        activities = len(pd.read_csv(crm / "activities.csv"))
        deals = len(pd.read_csv(crm / "deals.csv"))
        unknown = failed[failed["check"] == "references unknown lead"].drop_duplicates(["table", "row"])
        assert (unknown["table"] == "activities").sum() == activities
        assert (unknown["table"] == "deals").sum() == deals
    else:
        leads = failed[failed["table"] == "leads"]["row"].nunique()
        assert leads == leads_read  # every lead read is accounted for: quarantined


# --- 3. unreadable input and bad arguments: exit 3 (or 2) and a sentence -------------------------------------


def test_a_zero_byte_csv_names_the_file(tmp_path, crm, cli):
    (crm / "activities.csv").write_bytes(b"")
    result = _score(cli, crm, tmp_path / "s.parquet")
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    text = flat(result.output)
    assert "activities.csv" in text and "empty (0 bytes)" in text and "export the table again" in text
    assert not (tmp_path / "s.parquet").exists()


def test_a_corrupt_parquet_file_names_the_file(tmp_path, crm, cli):
    (crm / "deals.csv").unlink()
    (crm / "deals.parquet").write_bytes(b"PAR1 this is not parquet")
    result = _score(cli, crm, tmp_path / "s.parquet")
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    text = flat(result.output)
    assert "deals.parquet" in text and "not a readable Parquet file" in text
    assert isinstance(result.exception, SystemExit)


@pytest.fixture(scope="module")
def scored_clean(tmp_path_factory, hostile_tables, scorer) -> pd.DataFrame:
    """`leadscore score` on the module's tables as `crm` writes them, once for the tests that compare with it."""
    folder = tmp_path_factory.mktemp("clean")
    write_tables(hostile_tables, folder / "crm", "csv")
    output = folder / "scores.parquet"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("pipelines.tracking.load_scorer", lambda uri: scorer)
        assert _score(lambda *args: runner.invoke(app, list(args)), folder / "crm", output).exit_code == 0
    return pd.read_parquet(output)


@pytest.fixture()
def clean_scores(scored_clean) -> pd.DataFrame:
    return scored_clean.copy()  # a test's own copy


def _rewrite_csv(folder: Path, table: str, **to_csv) -> None:
    frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    frame.to_csv(folder / f"{table}.csv", index=False, **to_csv)


def test_latin1_and_semicolon_csvs_are_read_and_the_choice_is_said(tmp_path, crm, cli, clean_scores):
    accounts = pd.read_csv(crm / "accounts.csv", dtype=str, keep_default_na=False)
    accounts.loc[0, "name"] = "Compañía Müller"
    accounts.to_csv(crm / "accounts.csv", index=False, encoding="latin-1")
    for table in ("leads", "activities", "deals"):
        _rewrite_csv(crm, table, sep=";")
    output = tmp_path / "s.parquet"

    result = _score(cli, crm, output)

    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "accounts.csv as Windows-1252 (not valid UTF-8)" in text
    assert "leads.csv as UTF-8 text with semicolon-separated columns" in text
    pd.testing.assert_frame_equal(pd.read_parquet(output), clean_scores)


def test_utf16_and_tab_separated_csvs_are_read_and_the_choice_is_said(tmp_path, crm, cli, clean_scores):
    (crm / "leads.csv").write_text((crm / "leads.csv").read_text(), encoding="utf-16")
    _rewrite_csv(crm, "activities", sep="\t")
    output = tmp_path / "s.parquet"
    result = _score(cli, crm, output)
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "leads.csv as UTF-16 text" in text and "activities.csv as UTF-8 text with tab-separated" in text
    pd.testing.assert_frame_equal(pd.read_parquet(output), clean_scores)


def test_a_ragged_csv_line_names_the_file_and_the_line(tmp_path, crm, cli):
    lines = (crm / "deals.csv").read_text().split("\n")
    lines[5] += ",one,too many"
    (crm / "deals.csv").write_text("\n".join(lines))
    result = _score(cli, crm, tmp_path / "s.parquet")
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    text = flat(result.output)
    assert "deals.csv: cannot be read as CSV" in text and "line 6" in text


@pytest.mark.parametrize("streaming", [True, False])
def test_two_columns_that_read_as_one_are_refused(tmp_path, crm, cli, scorer, streaming):
    header, rows = (crm / "leads.csv").read_text().split("\n", 1)
    (crm / "leads.csv").write_text(header + ",Email \n" + rows.replace("\n", ",x@example.com\n"))
    if streaming:
        result = _score(cli, crm, tmp_path / "s.parquet")
        assert result.exit_code == exit_codes.BAD_INPUT, result.output
        assert "leads.csv: columns ['email', 'Email '] all read as ['email']" in flat(result.output)
    else:
        with pytest.raises(io.InputError, match="keep one of them"):
            io.read_tables(crm)


@pytest.mark.parametrize("streaming", [True, False])
def test_column_names_in_other_case_or_with_spaces_are_matched(
    tmp_path, crm, cli, scorer, clean_scores, streaming
):
    for table in ("accounts", "leads", "activities", "deals"):
        header, rows = (crm / f"{table}.csv").read_text().split("\n", 1)
        names = [f" {c.upper()} " if i % 2 else f"{c.title()}  " for i, c in enumerate(header.split(","))]
        (crm / f"{table}.csv").write_text(",".join(names) + "\n" + rows)
    output = tmp_path / "s.parquet"
    if streaming:
        result = _score(cli, crm, output)
        assert result.exit_code == 0, result.output
    else:  # the path that reads the tables whole (validate, train, a database input)
        run_score(scorer, io.read_tables(crm), AS_OF, output)
    pd.testing.assert_frame_equal(pd.read_parquet(output), clean_scores)


@pytest.mark.parametrize("command", ["score", "validate"])
@pytest.mark.parametrize("written", ["banana", "01/10/2026", "today"])
def test_as_of_that_is_not_an_iso_date_is_a_bad_command_line(tmp_path, crm, cli, command, written):
    # "01/10/2026" was read month first (10 January) and "today" as the clock time: scores as of a day nobody
    # meant, exit 0. Online takes ISO 8601 only; so does the command line.
    args = ["--input", str(crm), "--as-of", written]
    result = cli(command, *args, *(["--output", str(tmp_path / "s.parquet")] if command == "score" else []))
    assert result.exit_code == exit_codes.USAGE
    assert f"'{written}' is not a date in ISO 8601" in flat(result.output)
    assert "--as-of 2026-10-01" in flat(result.output)


@pytest.mark.parametrize("command", ["score", "validate"])
def test_as_of_in_the_future_is_a_bad_command_line(tmp_path, crm, cli, command):
    args = ["--input", str(crm), "--as-of", "2099-01-01"]
    result = cli(command, *args, *(["--output", str(tmp_path / "s.parquet")] if command == "score" else []))
    assert result.exit_code == exit_codes.USAGE
    assert "'2099-01-01' is in the future" in flat(result.output) and "earlier date" in flat(result.output)
    assert not (tmp_path / "s.parquet").exists()


@pytest.mark.parametrize("case", ["thousands separators", "header-only leads"])
def test_nothing_to_score_in_memory_keeps_the_previous_run(tmp_path, crm, scorer, case):
    output = tmp_path / "out" / "scores.csv"
    run_score(scorer, io.read_tables(crm), AS_OF, output)
    before = _published(output)
    (_with_thousands_separators if case == "thousands separators" else _header_only_leads)(crm)
    with pytest.raises(NothingToScore, match="nothing to score") as raised:
        run_score(scorer, io.read_tables(crm), AS_OF, output)
    assert _published(output) == before
    counts = raised.value.result.accounting.set_index("status")["leads"]
    assert counts["read"] == counts["quarantined"] + counts["not scored: deal already closed"]
    assert counts["scored"] == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_named(tmp_path, crm, cli):
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = _score(cli, crm, folder / "s.parquet")
    finally:
        folder.chmod(0o755)
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert f"cannot write {folder}" in flat(result.output)


@pytest.mark.parametrize(
    "code, fix", [(errno.EROFS, "read-only"), (errno.EACCES, "permission"), (errno.ENOSPC, "free some space")]
)
def test_an_unwritable_output_is_named_and_the_previous_run_kept(tmp_path, crm, cli, monkeypatch, code, fix):
    output = tmp_path / "out" / "scores.parquet"
    assert _score(cli, crm, output).exit_code == 0
    before = _published(output)
    real_to_parquet = pd.DataFrame.to_parquet

    def failing_write(self, path, *args, **kwargs):  # the disk fills up (or turns read-only) mid-run
        if str(path).startswith(str(output.parent)) and PARTS_PREFIX in str(path):
            raise OSError(code, os.strerror(code), str(path))
        return real_to_parquet(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", failing_write)
    result = _score(cli, crm, output)

    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    text = flat(result.output)
    assert "cannot write" in text and str(output.parent) in text and fix in text
    assert "Traceback" not in result.output and os.strerror(code) in text
    assert _published(output) == before
    assert [p.name for p in output.parent.iterdir() if p.name.startswith(".")] == []


# --- 4. published together or not at all; private parts beside the output; modes follow the umask -------------


def test_a_failed_rename_puts_the_previous_run_back(tmp_path, crm, scorer, monkeypatch, hostile_tables):
    output = tmp_path / "out" / "scores.parquet"
    run_score_streaming(scorer, crm, AS_OF, output, chunk_size=50)
    before = _published(output)
    leads = hostile_tables["leads"].iloc[:-3]  # another input: another run, other files
    write_tables({**hostile_tables, "leads": leads}, crm, "csv")
    real_replace = os.replace
    calls = []

    def second_rename_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the quarantine is in place, the scores are not: the process "dies" here
            raise OSError(errno.EIO, "Input/output error", str(dst))
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", second_rename_fails)
    with pytest.raises(io.OutputError, match="cannot write .*scores.parquet"):
        run_score_streaming(scorer, crm, AS_OF, output, chunk_size=50)
    monkeypatch.setattr(io.os, "replace", real_replace)

    assert _published(output) == before
    assert verify_published(output) == []
    assert sorted(p.name for p in output.parent.iterdir()) == sorted(before)  # no temporary file left


def test_files_from_a_half_published_run_do_not_match_the_manifest(tmp_path, crm, scorer):
    output = tmp_path / "out" / "scores.csv"
    run_score_streaming(scorer, crm, AS_OF, output, chunk_size=50)
    assert verify_published(output) == []
    # A kill between two renames cannot be undone: a new quarantine beside the previous scores and manifest.
    quarantine_path_for(output).write_text("table,row,key,column,check,value,reason\n")
    problems = verify_published(output)
    assert len(problems) == 1 and "scores.quarantine.csv" in problems[0] and "sha256 differs" in problems[0]
    manifest_path_for(output).unlink()
    assert "no manifest" in verify_published(output)[0]


def test_the_manifest_accounts_for_every_lead(tmp_path, crm, cli, hostile_tables):
    output = tmp_path / "s.csv"
    result = _score(cli, crm, output, "--set", "scoring.chunk_size=30")
    assert result.exit_code == 0, result.output
    manifest = json.loads(manifest_path_for(output).read_text())
    read, scored, quarantined, not_scored = accounted(manifest)
    assert read == len(hostile_tables["leads"]) == scored + quarantined + not_scored
    assert scored == len(pd.read_csv(output)) and quarantined > 0 and not_scored > 0
    assert manifest["as_of"] == "2026-10-01T00:00:00" and manifest["model_version"] == "1"
    assert manifest["model_name"] == "leadscore" and len(manifest["input_fingerprint"]) == 16
    assert pd.Timestamp(manifest["created_at"]).tzinfo is not None
    assert manifest["files"]["scores"]["file"] == "s.csv" and verify_published(output) == []
    assert not set(pd.read_csv(output)["lead_id"].astype(str)) & closed_lead_ids(hostile_tables)


def test_parts_live_beside_the_output_owner_only_and_stale_ones_are_removed(
    tmp_path, crm, scorer, monkeypatch
):
    output = tmp_path / "out" / "scores.parquet"
    output.parent.mkdir()
    stale = output.parent / f"{PARTS_PREFIX}killed"
    stale.mkdir()
    (stale / "leads-0000.parquet").write_bytes(b"rows with emails")
    (stale / "pid").write_text(str(_dead_pid()))
    in_system_temp = set(Path(tempfile.gettempdir()).glob(f"*{PARTS_PREFIX.strip('.')}*"))
    seen = {}

    from pipelines import stream

    real_partition = stream.partition

    def watching(folder, work, count, leads_part):
        seen["work"], seen["mode"] = work, work.stat().st_mode & 0o777
        seen["stale gone"] = not stale.exists()
        return real_partition(folder, work, count, leads_part)

    monkeypatch.setattr(stream, "partition", watching)
    run_score_streaming(scorer, crm, AS_OF, output, chunk_size=50)

    assert seen["work"].parent == output.parent and seen["mode"] == 0o700 and seen["stale gone"]
    assert not seen["work"].exists()
    assert set(Path(tempfile.gettempdir()).glob(f"*{PARTS_PREFIX.strip('.')}*")) == in_system_temp
    assert sorted(p.name for p in output.parent.iterdir()) == [
        "scores.manifest.json",
        "scores.parquet",
        "scores.quarantine.csv",
    ]


def _dead_pid() -> int:
    """A process id that is not running (a child that has exited and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_published_files_follow_the_umask(tmp_path, crm, scorer, umask, mode):
    output = tmp_path / "out" / "scores.parquet"
    previous = os.umask(umask)
    try:
        run_score_streaming(scorer, crm, AS_OF, output, chunk_size=50)
    finally:
        os.umask(previous)
    for path in (output, quarantine_path_for(output), manifest_path_for(output)):
        assert path.stat().st_mode & 0o777 == mode, path


def test_detected_formats_round_trip_through_read_tables(tmp_path, hostile_tables):
    folder = tmp_path / "crm"
    write_tables(hostile_tables, folder, "csv")
    _rewrite_csv(folder, "deals", sep="\t")
    tables = io.read_tables(folder)
    assert list(tables["deals"].columns) == list(hostile_tables["deals"].columns)
    assert len(tables["deals"]) == len(hostile_tables["deals"])
    assert np.array_equal(
        tables["deals"]["deal_id"].to_numpy(), hostile_tables["deals"]["deal_id"].to_numpy()
    )
