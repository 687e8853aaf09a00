"""Mutation fuzzing of input files: valid inputs corrupted systematically, run through the real CLI, checked
against the invariants the README promises.

Run: .venv/bin/python -m benchmarks.fuzz_inputs [--seed 0] [--cases 200] [--out DIR] [--only-base crm|flat]

Two bases, built and trained once per run (a subprocess each, into an MLflow store inside --out):
- `crm`: a synthetic CRM history (`leadscore generate`, 300 accounts, 12 months) written as a CSV folder;
- `flat`: an export in X Education's shape (the fixture builder of tests/features/test_flat.py, 600 rows),
  its spec drafted by `leadscore spec draft`; scoring reads the export without its label column.

Each case draws 1-3 mutations (cell, column, row and file level: see MUTATIONS) and applies them to one input
file: most cases to a scoring input (`score`), some to a training input (`train`), an `evaluate` input or a
`spec draft` input. The command runs as `python -m pipelines.cli` and is checked for:
  traceback     no Python traceback on stdout or stderr;
  exit_code     the exit code is in the README's table (and is neither 1, an unexpected error, nor 2, a bad
                command line, since the command line is always right);
  accounting    on exit 0 or 5 of `score`: the manifest's leads read = the data rows of the mutated leads
                file (counted here) = scored + quarantined + not scored; the scores file holds `scored` rows,
                each lead once, none of them in the quarantine; scores in [0, 1], never NaN;
  leftovers     no temporary or partial file left in the output folder;
  message       a non-zero exit says why in a sentence that names something (a file, table, row, column,
                value or setting);
  metamorphic   a mutation that does not change what the file says (columns or rows reordered, CRLF, a
                byte-order mark, a blank line...) gives the base's scores to 1e-9, or a documented refusal.

Failures are grouped by (mutation, invariant) in report.json and report.md under --out, with the first
failing case of each group kept as a reproducer folder (the mutated input and the command).
Seeded: the same --seed and --cases give the same cases. One process at a time (one core).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-10-01"
README_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 129, 130, 143}
CRM_TABLES = ("accounts", "leads", "activities", "deals")
OUTPUT_FILES = {"s.csv", "s.quarantine.csv", "s.manifest.json", "s.failed-run.quarantine.csv"}


# --------------------------------------------------------------------------------------------------- documents


@dataclass
class Doc:
    """A CSV file as cells, plus how it is to be written. A row of None is a blank line."""

    header: list[str]
    rows: list[list[str] | None]
    bom: bool = False
    crlf: bool = False
    delimiter: str = ","
    encoding: str = "utf-8"
    gzipped: bool = False
    truncate_last: bool = False
    empty: bool = False
    repeated_headers: int = 0
    id_column: str = ""  # the column duplicate_id repeats
    key_column: str = (
        ""  # the column naming whose row it is (a lead's, or an account's): the locality check's
    )
    touched: set[str] = field(default_factory=set)  # keys of the rows a mutation changed or repeated
    notes: list[str] = field(default_factory=list)

    def data_rows(self) -> int:
        """The rows a reader must account for: every line that is not blank."""
        if self.empty:
            return 0
        filled = sum(1 for row in self.rows if row is not None and any(cell.strip() for cell in row))
        return filled - self.repeated_headers


def read_doc(path: Path, id_column: str, key_column: str) -> Doc:
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    rows: list[list[str] | None] = [list(row) for row in lines[1:]]
    return Doc(header=lines[0], rows=rows, id_column=id_column, key_column=key_column)


def write_doc(doc: Doc, path: Path) -> None:
    if doc.empty:
        path.write_bytes(b"")
        return
    ending = "\r\n" if doc.crlf else "\n"
    lines = ["" if row is None else _csv_line(row, doc.delimiter) for row in [doc.header, *doc.rows]]
    text = ending.join(lines) + ending
    if doc.truncate_last:
        body = text[: -len(ending)]
        last_start = body.rfind(ending) + len(ending)
        keep = max(1, (len(body) - last_start) // 2)
        text = body[: last_start + keep]  # no line ending: the file stops mid-line
    data = ("\ufeff" if doc.bom else "").encode("utf-8") + text.encode(doc.encoding, errors="replace")
    path.write_bytes(gzip.compress(data, mtime=0) if doc.gzipped else data)


class Raw(str):
    """A cell written as it is, never quoted: a malformed file on purpose (a stray quote, a bare CR)."""


def _csv_line(cells: list[str], delimiter: str) -> str:
    """One line as RFC 4180 writes it: a cell holding the delimiter, a quote or a line break (CR too, which
    Python's csv module leaves bare under a LF terminator) is quoted; a Raw cell is written as it is."""
    special = (delimiter, '"', "\n", "\r")

    def written(cell: str) -> str:
        if isinstance(cell, Raw) or not any(mark in cell for mark in special):
            return cell
        return '"' + cell.replace('"', '""') + '"'

    return delimiter.join(written(cell) for cell in cells)


# --------------------------------------------------------------------------------------------------- mutations

# A mutation: (doc, rng) -> None, changing doc in place. Its name says what it did; PRESERVING names those
# that do not change what the file says (the metamorphic check's), per base.

CELL_VALUES: dict[str, Callable[[random.Random, str], str]] = {
    "cell_blank": lambda r, v: "",
    "cell_whitespace": lambda r, v: r.choice([" ", "   ", "\t", f"  {v}  "]),
    "cell_huge_number": lambda r, v: r.choice(["1e308", "99999999999999999999999", "1.7976931348623157e309"]),
    "cell_negative": lambda r, v: r.choice(["-1", "-999999", f"-{v}"]),
    "cell_inf_nan_text": lambda r, v: r.choice(["inf", "-inf", "NaN", "nan", "Infinity"]),
    "cell_na_word": lambda r, v: r.choice(["N/A", "NULL", "None", "#N/A", "-", "(blank)"]),
    "cell_date_other_format": lambda r, v: r.choice(
        ["03/04/2026", "2026/13/45", "2026-02-30", "31.12.2025", "yesterday"]
    ),
    "cell_decimal_comma": lambda r, v: r.choice(["1,234", "1.234,56", "12,5", "1 234"]),
    "cell_unicode": lambda r, v: r.choice(
        [f"{v}\u200b", f"\u202e{v}", f"{v}\u00e9\u00e8", f"\uff21{v}", f"{v}\u05d0\u05d1", f"\u200f{v}\u200e"]
    ),
    "cell_nul_byte": lambda r, v: f"{v}\x00" if v else "\x00",
    "cell_embedded_newline": lambda r, v: r.choice([f"{v}\nsecond line", f'{v} "quoted"', f"{v}\r"]),
    "cell_long_string": lambda r, v: (v or "x") * 2000,
    "cell_leading_zeros": lambda r, v: f"000{v}",
    "cell_type_swap": lambda r, v: (
        r.choice(["42", "3.5"]) if not _is_number(v) else r.choice(["abc", "many"])
    ),
    "cell_boolean_word": lambda r, v: r.choice(["TRUE", "false", "Yes", "no"]),
    "cell_formula": lambda r, v: r.choice(["=1+2", "@SUM(A1)", "+49 30 1234", '=HYPERLINK("http://x")']),
    "cell_zoned_date": lambda r, v: r.choice(
        ["2026-03-04T10:00:00+02:00", "2026-03-15 09:40:05 UTC", "1772611200", "2026-03-04Z", "20260304"]
    ),
    "cell_stray_quote": lambda r, v: Raw('"' + v),  # a quote opened and never closed: malformed on purpose
    "cell_bare_cr": lambda r, v: Raw(
        v + "\r" + v
    ),  # a bare CR inside an unquoted value: malformed on purpose
}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _random_row(doc: Doc, rng: random.Random) -> list[str] | None:
    rows = [row for row in doc.rows if row is not None]
    return rng.choice(rows) if rows else None


def _touch(doc: Doc, row: list[str]) -> None:
    if doc.key_column in doc.header and doc.header.index(doc.key_column) < len(row):
        doc.touched.add(row[doc.header.index(doc.key_column)].strip())


def cell_mutation(name: str) -> Callable[[Doc, random.Random], None]:
    def mutate(doc: Doc, rng: random.Random) -> None:
        if not doc.header:
            return
        column = rng.randrange(len(doc.header))
        for _ in range(rng.choice([1, 1, 3])):
            row = _random_row(doc, rng)
            if row is None or column >= len(row):
                return
            _touch(doc, row)
            row[column] = CELL_VALUES[name](rng, row[column])
            _touch(doc, row)
        doc.notes.append(f"{name} in column {doc.header[column]!r}")

    return mutate


def _column(doc: Doc, rng: random.Random) -> int:
    return rng.randrange(len(doc.header))


def drop_column(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    doc.notes.append(f"dropped column {doc.header[index]!r}")
    del doc.header[index]
    for row in doc.rows:
        if row is not None and index < len(row):
            del row[index]


def duplicate_column(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    doc.notes.append(f"duplicated column {doc.header[index]!r}")
    doc.header.append(doc.header[index])
    for row in doc.rows:
        if row is not None:
            row.append(row[index] if index < len(row) else "")


def rename_case(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    doc.header[index] = rng.choice([str.upper, str.title, str.lower])(doc.header[index])
    doc.notes.append(f"renamed column {index} to {doc.header[index]!r}")


def header_whitespace(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    doc.header[index] = rng.choice(
        [f"{doc.header[index]} ", f" {doc.header[index]}", f"{doc.header[index]}\t"]
    )
    doc.notes.append(f"whitespace around header {doc.header[index]!r}")


def reorder_columns(doc: Doc, rng: random.Random) -> None:
    order = list(range(len(doc.header)))
    rng.shuffle(order)
    doc.header = [doc.header[i] for i in order]
    doc.rows = [None if row is None else [row[i] if i < len(row) else "" for i in order] for row in doc.rows]


def empty_column(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    doc.notes.append(f"emptied column {doc.header[index]!r}")
    for row in doc.rows:
        if row is not None and index < len(row):
            row[index] = ""


def unknown_column(doc: Doc, rng: random.Random) -> None:
    doc.header.append(rng.choice(["notes", "Unnamed: 0", "owner_email", "extra"]))
    for row in doc.rows:
        if row is not None:
            row.append(rng.choice(["", "x", "1"]))


def duplicate_id(doc: Doc, rng: random.Random) -> None:
    row = _random_row(doc, rng)
    if row is not None:
        copy = list(row)
        if rng.random() < 0.5 and doc.id_column in doc.header:  # same id, other values
            other = _random_row(doc, rng) or row
            copy = list(other)
            copy[doc.header.index(doc.id_column)] = row[doc.header.index(doc.id_column)]
        _touch(doc, row)
        _touch(doc, copy)
        doc.rows.insert(rng.randrange(len(doc.rows) + 1), copy)


def blank_line(doc: Doc, rng: random.Random) -> None:
    line = (
        None if rng.random() < 0.5 else [rng.choice(["", " "]) for _ in doc.header]
    )  # ",,,," as sheets write
    doc.rows.insert(rng.randrange(len(doc.rows) + 1), line)


def repeat_header(doc: Doc, rng: random.Random) -> None:
    """A line that repeats the header (two exports joined end to end): skipped and said, not a row."""
    doc.rows.insert(rng.randrange(len(doc.rows) + 1), list(doc.header))
    doc.repeated_headers += 1


def header_unicode(doc: Doc, rng: random.Random) -> None:
    index = _column(doc, rng)
    name = doc.header[index]
    middle = len(name) // 2
    doc.header[index] = rng.choice(
        [f"{name}\u200b", f"\u00a0{name}", name[:middle] + "\u200b" + name[middle:]]
    )
    doc.notes.append(f"invisible character in header {doc.header[index]!r}")


def truncate_last_line(doc: Doc, rng: random.Random) -> None:
    doc.truncate_last = True


def extra_delimiter(doc: Doc, rng: random.Random) -> None:
    row = _random_row(doc, rng)
    if row is not None:
        row.append("")


def reorder_rows(doc: Doc, rng: random.Random) -> None:
    rng.shuffle(doc.rows)


def file_setting(name: str, **settings: object) -> Callable[[Doc, random.Random], None]:
    def mutate(doc: Doc, rng: random.Random) -> None:
        for key, value in settings.items():
            setattr(doc, key, value)

    mutate.__name__ = name
    return mutate


def header_only(doc: Doc, rng: random.Random) -> None:
    doc.rows = []


MUTATIONS: dict[str, Callable[[Doc, random.Random], None]] = {
    **{name: cell_mutation(name) for name in CELL_VALUES},
    "drop_column": drop_column,
    "duplicate_column": duplicate_column,
    "rename_case": rename_case,
    "header_whitespace": header_whitespace,
    "reorder_columns": reorder_columns,
    "empty_column": empty_column,
    "unknown_column": unknown_column,
    "duplicate_id": duplicate_id,
    "blank_line": blank_line,
    "repeat_header": repeat_header,
    "header_unicode": header_unicode,
    "truncate_last_line": truncate_last_line,
    "extra_delimiter": extra_delimiter,
    "reorder_rows": reorder_rows,
    "bom": file_setting("bom", bom=True),
    "crlf": file_setting("crlf", crlf=True),
    "semicolon": file_setting("semicolon", delimiter=";"),
    "latin1": file_setting("latin1", encoding="latin-1"),
    "gzip": file_setting("gzip", gzipped=True),
    "empty_file": file_setting("empty_file", empty=True),
    "header_only": header_only,
}
FILE_LEVEL = {"bom", "crlf", "semicolon", "latin1", "gzip", "empty_file", "header_only", "truncate_last_line"}

# Meaning-preserving per base. CRM tables match columns without case or surrounding blanks (README, "Messy
# files"); a flat export's columns are its spec's, as written, so a renamed header there is a refusal.
PRESERVING = {
    "crm": {"reorder_columns", "reorder_rows", "crlf", "bom", "blank_line", "repeat_header", "semicolon",
            "latin1", "header_whitespace", "rename_case", "unknown_column"},
    "flat": {"reorder_columns", "reorder_rows", "crlf", "bom", "blank_line", "repeat_header", "latin1",
             "unknown_column", "header_whitespace"},
}  # fmt: skip
for _preserving in PRESERVING.values():
    _preserving.add("gzip")
# Meaning-preserving changes the README documents as refused (exit 3 with a sentence): a gzip file named .csv,
# and for an export a header in other case or with blanks (did-you-mean).
# Mutations of some rows only: every other lead keeps its score (the locality check).
LOCAL = {name: {*CELL_VALUES, "duplicate_id", "blank_line", *PRESERVING[name]} for name in PRESERVING}
DOCUMENTED_REFUSALS = {"crm": {"gzip"}, "flat": {"gzip", "header_whitespace"}}


# ------------------------------------------------------------------------------------------------------ bases


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300
) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as timed_out:
        out = timed_out.stdout.decode(errors="replace") if isinstance(timed_out.stdout, bytes) else ""
        return -9, out, f"fuzzer: timed out after {timeout} s", time.perf_counter() - started
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def cli_env(out: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "MLFLOW_TRACKING_URI": f"sqlite:///{out / 'mlflow.db'}",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "COLUMNS": "500",  # one sentence on one line: rich wraps at the terminal's width
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


@dataclass
class Base:
    name: str
    folder: Path  # the valid input: a CRM folder, or a folder holding export.csv
    score_input: Path  # a folder (crm) or a file (flat) that scoring reads
    spec: Path | None
    model: str
    scores: dict[str, float]


def build_crm(out: Path, env: dict[str, str], seed: int) -> Base:
    folder = out / "bases" / "crm"
    generate = ["generate", "--accounts", "300", "--months", "12", "--seed", str(seed), "--format", "csv"]
    code, so, se, _ = run_cli([*generate, "--out", str(folder)], env, out)
    assert code == 0, se
    (folder / "truth.csv").rename(out / "bases" / "crm_truth.csv")  # not a table: keep the folder four tables
    code, so, se, _ = run_cli(
        ["train", "--input", str(folder), "--set", "registry.model_name=fuzzcrm"],
        env,
        out,
    )
    assert code in (0, 6), so + se  # version 1 either way
    return Base("crm", folder, folder, None, "models:/fuzzcrm/1", {})


def build_flat(out: Path, env: dict[str, str], seed: int) -> Base:
    sys.path.insert(0, str(ROOT))
    with warnings.catch_warnings():  # pyspark's "does not yet fully support pandas >= 3.0.0", on import
        warnings.simplefilter("ignore", FutureWarning)
        from tests.features.test_flat import x_education_fixture

    folder = out / "bases" / "flat"
    folder.mkdir(parents=True, exist_ok=True)
    frame = x_education_fixture(600)
    frame.loc[frame["Converted"] == 1, "Total Time Spent on Website"] += 900  # a learnable signal
    frame.to_csv(folder / "export.csv", index=False)
    frame.drop(columns=["Converted"]).to_csv(folder / "open.csv", index=False)
    spec = out / "bases" / "flat.yaml"
    code, so, se, _ = run_cli(
        ["spec", "draft", "--input", str(folder / "export.csv"), "--out", str(spec)], env, out
    )
    assert code == 0, so + se
    code, so, se, _ = run_cli(
        ["train", "--input", str(folder / "export.csv"), "--source-spec", str(spec),
         "--set", "registry.model_name=fuzzflat"],
        env, out,
    )  # fmt: skip
    assert code in (0, 6), so + se
    return Base("flat", folder, folder / "open.csv", spec, "models:/fuzzflat/1", {})


def read_scores(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"lead_id": str}, keep_default_na=False, na_values=[""])


def score_args(base: Base, score_input: Path, output: Path) -> list[str]:
    args = [
        "score",
        "--input",
        str(score_input),
        "--output",
        str(output),
        "--model",
        base.model,
        "--no-reasons",
    ]
    return [*args, "--as-of", AS_OF] if base.name == "crm" else args


# ------------------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    number: int
    base: str
    command: str  # score, train, evaluate, draft
    table: str  # the file mutated: a CRM table's name, or 'export'
    mutations: list[str]
    notes: list[str]
    rows: int  # data rows of the mutated file
    code: int = 0
    seconds: float = 0.0
    sentence: str = ""  # what a non-zero exit said
    failures: list[tuple[str, str]] = field(default_factory=list)  # (invariant, detail)


def draw_case(
    number: int, seed: int, bases: list[str], pool: list[str]
) -> tuple[random.Random, str, str, str, list[str]]:
    rng = random.Random(seed * 1_000_003 + number)
    base = rng.choice(bases)
    roll = rng.random()
    command = "score" if roll < 0.8 else "train" if roll < 0.88 else "evaluate" if roll < 0.93 else "draft"
    if base == "crm" and command == "draft":
        command = "score"
    table = rng.choices(CRM_TABLES, weights=[2, 5, 2, 2])[0] if base == "crm" else "export"
    names = rng.sample(sorted(pool), min(len(pool), rng.choice([1, 1, 2, 3])))
    return rng, base, command, table, names


ID_COLUMNS = {"accounts": "account_id", "leads": "lead_id", "activities": "lead_id", "deals": "deal_id"}
KEY_COLUMNS = {"accounts": "account_id", "leads": "lead_id", "activities": "lead_id", "deals": "lead_id"}


def prepare_input(base: Base, command: str, table: str, names: list[str], rng: random.Random, work: Path):
    """Copy the base input into work/, mutate one file; return (input path, mutated file's doc)."""
    if base.name == "crm":
        folder = work / "input"
        shutil.copytree(base.folder, folder)
        target = folder / f"{table}.csv"
        doc = read_doc(target, ID_COLUMNS[table], KEY_COLUMNS[table])
        path_for_cli = folder
    else:
        source = base.score_input if command == "score" else base.folder / "export.csv"
        target = work / "input.csv"
        doc = read_doc(source, "Prospect ID", "Prospect ID")
        path_for_cli = target
    for name in names:
        MUTATIONS[name](doc, rng)
    write_doc(doc, target)
    return path_for_cli, doc


TABLE_LINE = re.compile(r"^[\s│┃┏┡└┗━─╇╈┳┻┼|+-]*$|^[│┃┏┡└]")


# Lines a run prints about what it wrote, before the sentence of an exit 5 (no blank line between them).
REPORT_LINES = ("wrote ", "model ", "note: ")


def last_sentence(stdout: str, stderr: str) -> str:
    """What a run said last: its `error:` sentence (rich wraps it over lines), else its last paragraph."""
    lines = (stdout + "\n" + stderr).splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(("error:", "Error"))]
    if not starts:
        ends = [i for i, line in enumerate(lines) if line.strip() and not TABLE_LINE.match(line)]
        if not ends:
            return ""
        start = ends[-1]
        while start > 0 and lines[start - 1].strip() and not TABLE_LINE.match(lines[start - 1]):
            start -= 1
        starts = [start]
    said = []
    for line in lines[starts[-1] :]:
        if not line.strip() or TABLE_LINE.match(line):
            break
        if not line.startswith(REPORT_LINES):
            said.append(line.strip())
    return " ".join(said)


NAMES_SOMETHING = re.compile(
    r"'[^']+'|\"[^\"]+\"|\.csv|\.ya?ml|\bcolumn\b|\brow\b|\btable\b|\b(?:accounts|leads|activities|deals)\b"
    r"|--\w|\w+\.\w+=|\bline\b|\bfile\b|`[^`]+`"
)


SENTENCE_END = re.compile(r"[a-z0-9)'][.!?] +[A-Z]")


def check_message(case: Case, stdout: str, stderr: str) -> None:
    sentence = last_sentence(stdout, stderr)
    if not sentence:
        case.failures.append(("message", "non-zero exit without a sentence"))
    elif not NAMES_SOMETHING.search(sentence):
        case.failures.append(("message", f"names nothing: {sentence[:300]}"))
    elif len(SENTENCE_END.findall(sentence)) > 1:  # the README: one sentence
        case.failures.append(
            ("message", f"{len(SENTENCE_END.findall(sentence)) + 1} sentences: {sentence[:300]}")
        )


def check_score_outputs(case: Case, base: Base, doc: Doc, output: Path, preserving: bool) -> None:
    folder = output.parent
    left = sorted(p.name for p in folder.iterdir() if p.name not in OUTPUT_FILES)
    if left:
        case.failures.append(("leftovers", f"left in the output folder: {left}"))
    if case.code not in (0, 5):
        return
    manifest_path = folder / "s.manifest.json"
    if not manifest_path.exists() or not output.exists():
        case.failures.append(("accounting", f"exit {case.code} without scores or manifest"))
        return
    leads = json.loads(manifest_path.read_text())["leads"]
    not_scored = sum(leads["not_scored"].values())
    if leads["read"] != leads["scored"] + leads["quarantined"] + not_scored:
        case.failures.append(
            ("accounting", f"read {leads['read']} != scored+quarantined+not scored: {leads}")
        )
    if case.table in ("leads", "export") and leads["read"] != case.rows:
        case.failures.append(
            ("accounting", f"manifest read {leads['read']} leads, the file holds {case.rows} rows")
        )
    scores = read_scores(output)
    if len(scores) != leads["scored"]:
        case.failures.append(
            ("accounting", f"{len(scores)} rows in the scores, manifest says {leads['scored']}")
        )
    if scores["lead_id"].duplicated().any():
        case.failures.append(
            (
                "accounting",
                f"lead scored twice: {scores['lead_id'][scores['lead_id'].duplicated()].head(3).tolist()}",
            )
        )
    values = pd.to_numeric(scores["score"], errors="coerce")
    if values.isna().any() or (values < 0).any() or (values > 1).any():
        case.failures.append(
            (
                "scores",
                f"score NaN or outside [0, 1]: {values[values.isna() | (values < 0) | (values > 1)].head(3).tolist()}",
            )
        )
    quarantine = pd.read_csv(folder / "s.quarantine.csv", dtype=str, keep_default_na=False)
    lead_table = "leads" if base.name == "crm" else "export"
    quarantined_keys = set(quarantine.loc[quarantine["table"] == lead_table, "key"].str.lstrip("'"))
    ids = _ids(doc)
    both = {key for key in quarantined_keys & set(scores["lead_id"]) if ids.count(key) == 1}
    if both:
        case.failures.append(("accounting", f"scored and quarantined: {sorted(both)[:3]}"))
    if preserving:
        check_metamorphic(case, base, scores)
    elif all(name in LOCAL[base.name] for name in case.mutations):
        check_locality(case, base, doc, scores)


def _ids(doc: Doc) -> list[str]:
    """The id of every data row, trimmed (a repeated id's later rows are quarantined, its first scored)."""
    if doc.id_column not in doc.header:
        return []
    column = doc.header.index(doc.id_column)
    return [row[column].strip() for row in doc.rows if row is not None and column < len(row)]


def touched_leads(base: Base, table: str, doc: Doc) -> set[str]:
    """The leads whose rows a mutation changed: an account's are its leads (from the base's leads table)."""
    if table != "accounts":
        return set(doc.touched)
    with (base.folder / "leads.csv").open(newline="", encoding="utf-8") as handle:
        return {row["lead_id"] for row in csv.DictReader(handle) if row["account_id"] in doc.touched}


def check_locality(case: Case, base: Base, doc: Doc, scores: pd.DataFrame) -> None:
    """A mutation of some rows leaves every other lead's score as the base gave it (to 1e-9), and scored."""
    got = dict(zip(scores["lead_id"], pd.to_numeric(scores["score"]), strict=True))
    others = set(base.scores) - touched_leads(base, case.table, doc)
    lost = sorted(k for k in others if k not in got)
    if lost:
        case.failures.append(("locality", f"{len(lost)} untouched leads no longer scored, e.g. {lost[:3]}"))
    moved = {k: abs(got[k] - base.scores[k]) for k in others if k in got}
    worst = max(moved.values(), default=0.0)
    if not worst <= 1e-9:
        example = max(moved, key=lambda k: moved[k])
        case.failures.append(
            ("locality", f"untouched lead {example!r} moved by {worst:.3g} (of {len(moved)})")
        )


def check_metamorphic(case: Case, base: Base, scores: pd.DataFrame) -> None:
    got = dict(zip(scores["lead_id"], pd.to_numeric(scores["score"]), strict=True))
    if set(got) != set(base.scores):
        missing, extra = set(base.scores) - set(got), set(got) - set(base.scores)
        case.failures.append(
            ("metamorphic", f"other leads scored: missing {sorted(missing)[:3]}, extra {sorted(extra)[:3]}")
        )
        return
    worst = max((abs(got[k] - base.scores[k]) for k in got), default=0.0)
    if not worst <= 1e-9:
        case.failures.append(("metamorphic", f"scores moved by up to {worst:.3g}"))


def run_case(case: Case, base: Base, doc: Doc, input_path: Path, work: Path, env: dict[str, str]) -> None:
    preserving = all(name in PRESERVING[base.name] for name in case.mutations)
    spec = ["--source-spec", str(base.spec)] if base.spec else []
    if case.command == "score":
        output = work / "out" / "s.csv"
        output.parent.mkdir()
        args = score_args(base, input_path, output)
    elif case.command == "train":
        args = ["train", "--input", str(input_path), *spec, "--set", f"registry.model_name=fuzz{base.name}_t"]
    elif case.command == "evaluate":
        split = ["--folds", "2"]  # the CRM base is too short for an out-of-time test (exit 4 unmutated)
        args = ["evaluate", "--input", str(input_path), *spec, *split, "--output", str(work / "eval.json")]
    else:
        args = ["spec", "draft", "--input", str(input_path), "--out", str(work / "draft.yaml")]
    (work / "command.txt").write_text("python -m pipelines.cli " + " ".join(args) + "\n")
    case.code, stdout, stderr, case.seconds = run_cli(args, env, work)
    (work / "stdout.txt").write_text(stdout)
    (work / "stderr.txt").write_text(stderr)
    if "Traceback (most recent call last)" in stdout + stderr:
        case.failures.append(("traceback", _traceback_tail(stdout + stderr)))
    if case.code not in README_CODES or case.code in (1, 2) or case.code < 0:
        case.failures.append(("exit_code", f"exit {case.code}: {last_sentence(stdout, stderr)[:300]}"))
    if case.code != 0:
        case.sentence = last_sentence(stdout, stderr)
        check_message(case, stdout, stderr)
    if case.command == "score":
        check_score_outputs(case, base, doc, output, preserving)
        if preserving and case.code != 0 and not set(case.mutations) & DOCUMENTED_REFUSALS[base.name]:
            case.failures.append(
                ("metamorphic", f"refused (exit {case.code}): {last_sentence(stdout, stderr)[:300]}")
            )


def _traceback_tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    start = max(i for i, line in enumerate(lines) if "Traceback (most recent call last)" in line)
    tail = lines[start:]
    return " | ".join(tail[-3:])[:400]


# ----------------------------------------------------------------------------------------------------- report


def group_failures(cases: list[Case]) -> dict[str, dict]:
    groups: dict[str, dict] = {}
    for case in cases:
        for invariant, detail in case.failures:
            for mutation in case.mutations:
                key = f"{invariant} / {mutation}"
                group = groups.setdefault(key, {"invariant": invariant, "mutation": mutation, "cases": []})
                group["cases"].append({"case": case.number, "base": case.base, "command": case.command,
                                       "table": case.table, "mutations": case.mutations, "exit": case.code,
                                       "detail": detail})  # fmt: skip
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]["cases"]), item[0])))


def write_report(out: Path, cases: list[Case], seed: int, seconds: float) -> dict:
    groups = group_failures(cases)
    failing = [case for case in cases if case.failures]
    summary = {
        "seed": seed,
        "cases": len(cases),
        "failing_cases": len(failing),
        "seconds": round(seconds, 1),
        "by_command": pd.Series([c.command for c in cases]).value_counts().to_dict(),
        "exit_codes": {
            str(k): v for k, v in pd.Series([c.code for c in cases]).value_counts().sort_index().items()
        },
        "groups": groups,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2, default=str))
    lines = [
        f"# Mutation fuzzing: seed {seed}, {len(cases)} cases, {len(failing)} failing, {seconds:.0f} s",
        "",
        f"exit codes: {summary['exit_codes']}; commands: {summary['by_command']}",
        "",
        "| invariant / mutation | cases | first case (reproducer) | detail |",
        "| --- | --- | --- | --- |",
    ]
    for key, group in groups.items():
        first = group["cases"][0]
        detail = str(first["detail"]).replace("|", "/").replace("\n", " ")[:200]
        lines.append(f"| {key} | {len(group['cases'])} | case-{first['case']:04d} | {detail} |")
    lines += ["", "## What the non-zero exits said (one case per mutation set)", ""]
    seen: set[tuple[str, ...]] = set()
    for case in cases:
        if case.code != 0 and tuple(case.mutations) not in seen:
            seen.add(tuple(case.mutations))
            lines.append(f"- case-{case.number:04d} {case.base} {case.command} {case.table} "
                         f"{'+'.join(case.mutations)}: exit {case.code}: {case.sentence[:400]}")  # fmt: skip
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return summary


# ------------------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("fuzz-out"))
    parser.add_argument("--only-base", choices=["crm", "flat"], default=None)
    parser.add_argument(
        "--mutations", default="", help="draw only these (comma-separated), e.g. a class rerun"
    )
    parser.add_argument("--commands", default="", help="only these commands: score,train,evaluate,draft")
    parser.add_argument("--keep-passing", action="store_true", help="keep the folders of passing cases too")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    (out / "cases").mkdir(parents=True)
    env = cli_env(out)
    started = time.perf_counter()
    names = [args.only_base] if args.only_base else ["crm", "flat"]
    bases = {}
    for name in names:
        base = (build_crm if name == "crm" else build_flat)(out, env, args.seed)
        output = out / "bases" / f"{name}-scores" / "s.csv"
        output.parent.mkdir(parents=True)
        code, so, se, _ = run_cli(score_args(base, base.score_input, output), env, out)
        assert code == 0, so + se
        scores = read_scores(output)
        base.scores = dict(zip(scores["lead_id"], pd.to_numeric(scores["score"]), strict=True))
        bases[name] = base
        print(f"base {name}: {len(base.scores)} leads scored", flush=True)
    cases: list[Case] = []
    pool = args.mutations.split(",") if args.mutations else sorted(MUTATIONS)
    unknown = sorted(set(pool) - set(MUTATIONS))
    if unknown:
        parser.error(f"unknown mutations {unknown}; known: {', '.join(sorted(MUTATIONS))}")
    for number in range(args.cases):
        rng, base_name, command, table, mutations = draw_case(number, args.seed, names, pool)
        if args.commands and command not in args.commands.split(","):
            command = "score"
        base = bases[base_name]
        work = out / "cases" / f"case-{number:04d}"
        work.mkdir()
        input_path, doc = prepare_input(base, command, table, mutations, rng, work)
        case = Case(number, base_name, command, table, mutations, doc.notes, doc.data_rows())
        run_case(case, base, doc, input_path, work, env)
        cases.append(case)
        (work / "case.json").write_text(json.dumps(case.__dict__, indent=2, default=str))
        verdict = (
            "ok" if not case.failures else "FAIL " + "; ".join(f"{i}: {d[:160]}" for i, d in case.failures)
        )
        print(f"case {number:4d} {base_name:4s} {command:8s} {table:10s} {','.join(mutations):60s} "
              f"exit {case.code} {case.seconds:5.1f}s {verdict}", flush=True)  # fmt: skip
        if not case.failures and not args.keep_passing:
            shutil.rmtree(work)
    summary = write_report(out, cases, args.seed, time.perf_counter() - started)
    print(f"{summary['failing_cases']} of {len(cases)} cases failed; report in {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
