"""Flat exports and their source specs on disk: read an export (delimiter and encoding), draft a spec, check one."""

from __future__ import annotations

import codecs
import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

from features.contracts import ContractError, export_ids
from features.dates import parse_timestamps
from features.flat import (
    ExportSpec,
    closed_rows,
    did_you_mean,
    label_outcomes,
    numbered_rows,
    undeclared_columns,
)
from features.outcome_maturity import export_creation_times, export_maturity, too_young
from features.spec_check import spec_roles
from features.spec_draft import Draft, DraftError, DraftRules, Market, draft_spec, render_spec
from models.config import ModelConfig
from pipelines.console import console
from pipelines.io import (
    InputError,
    atomic_path,
    blank_rows,
    footer_rows,
    format_of,
    header_rows,
    nested_column,
    nested_sentence,
    readable_file,
    refuse_bytes_not_text,
    refuse_cut_short,
    refuse_mixed_encodings,
    refuse_non_text_csv,
    refuse_reordered_header,
    refuse_short_header,
    refuse_split_rows,
    refuse_stray_quotes,
    say_header_rows,
    unclosed_quote,
    unclosed_quote_sentence,
    unreadable,
    wide_encoding,
)
from pipelines.settings import ConfigError, yaml_problem

RULES_FILE = Path(__file__).parent / "defaults" / "spec_draft.yaml"
ENCODINGS = ("utf-8", "cp1252", "latin-1")  # tried in this order; latin-1 reads any bytes
DELIMITERS = ",;\t|"


def load_draft_rules(path: Path | None = None) -> DraftRules:
    """The drafter's word lists (`--rules`, else the shipped ones); a file that is no such list is one sentence
    naming the file and what is wrong (it was YAML's or pydantic's text over dozens of lines)."""
    path = path or RULES_FILE
    copy = f"copy {RULES_FILE} and edit it"
    if not path.exists():
        raise ConfigError(f"{path}: no such rules file; {copy}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the rules file ({error}); {copy}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(error)}; fix the file") from error
    try:
        return DraftRules.model_validate(data or {})
    except ValidationError as error:
        missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing" and e["loc"]]
        other = [
            f"{'.'.join(str(part) for part in e['loc']) or 'the file'}: {e['msg']} (found {str(e['input'])[:40]!r})"
            for e in error.errors()
            if e["type"] != "missing"
        ]
        said = (
            [f"it lacks {', '.join(missing)} (a rules file replaces the shipped one whole)"]
            if missing
            else []
        )
        raise ConfigError(
            f"{path}: invalid spec-draft rules: {'; '.join(said + other[:5])}; {copy}"
        ) from error


def detect_csv_format(path: Path) -> tuple[str, str]:
    """(delimiter, encoding) of a CSV export: utf-8 (utf-8-sig with a BOM), else cp1252, else latin-1;
    the delimiter by csv.Sniffer among , ; tab |, else the one that splits the header the most."""
    raw = _existing(path).read_bytes()
    refuse_non_text_csv(path)
    if not raw.strip():
        raise InputError(f"{path}: the file is empty (0 bytes); export it again with its header and rows")
    encoding, text = _decode(raw)
    if encoding in ENCODINGS[1:]:
        refuse_mixed_encodings(path)
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        header = sample.splitlines()[0]
        delimiter = max(DELIMITERS, key=header.count)
    return delimiter, encoding


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", raw.decode("utf-8-sig")
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):  # "Unicode text" from Excel
        try:
            return "utf-16", raw.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ENCODINGS:
        try:
            return encoding, raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def read_export(
    path: Path, delimiter: str = ",", encoding: str = "utf-8", text_columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A flat export (CSV with the given delimiter and encoding, or Parquet); an empty export is refused.

    Only an empty cell is missing: a token such as "N/A", "null" or "None" is read as written, so that the
    spec's missing_values decides what it means (else a number column quarantines it, as the README says),
    never pandas' list of missing-value words ("NA" is also Namibia's country code). `text_columns` of a CSV
    are read as written (an id "00123" stays "00123", not the number 123, and a
    column of numeric ids with a blank does not become "660737.0"). Two header cells that read as one column
    (the same name, or names that differ only in case or surrounding spaces) are refused: pandas would
    rename the second one and the spec would read whichever it names, silently.
    """
    path = _existing(path)
    if format_of(path) == "parquet":
        try:  # a corrupt file, or one name written twice, had ended in pyarrow's traceback
            _refuse_repeated_columns(path, [str(name) for name in pq.read_schema(path).names])
            frame = pd.read_parquet(path)
        except InputError:
            raise
        except (OSError, ValueError, pa.ArrowException) as error:
            raise unreadable(path, error) from error
        frame = _naive_utc_times(_whole_numbers_as_text(frame, text_columns))
    else:
        if path.stat().st_size == 0:
            raise InputError(f"{path}: the file is empty (0 bytes); export it again with its header and rows")
        refuse_non_text_csv(path, encoding)
        encoding = _utf16_by_its_mark(path, encoding)
        if not wide_encoding(encoding):
            refuse_mixed_encodings(path)
        _refuse_utf8_read_as_single_byte(path, encoding)
        refuse_cut_short(path, encoding, delimiter)
        refuse_split_rows(path, encoding, delimiter)
        try:
            header = pd.read_csv(path, sep=delimiter, encoding=encoding, header=None, nrows=1, dtype="str")
            _refuse_repeated_columns(path, [c for c in header.iloc[0].tolist() if isinstance(c, str)])
            frame = pd.read_csv(
                path,
                sep=delimiter,
                encoding=encoding,
                dtype=dict.fromkeys(text_columns, "str"),
                keep_default_na=False,  # only an empty cell is missing; "N/A", "null", "NA" (Namibia) as written
                na_values=[""],
            )
        except UnicodeDecodeError as error:
            raise InputError(
                f"{path}: not readable as {encoding} ({error.reason} at byte {error.start}); set encoding in "
                f"the source spec to the one the export uses{_looks_like(path, 'encoding')}"
            ) from error
        except pd.errors.EmptyDataError as error:
            raise InputError(f"{path}: no header and no rows; export it again") from error
        except pd.errors.ParserError as error:
            parser_error = " ".join(str(error).split())
            unclosed = unclosed_quote(parser_error)
            if unclosed is not None:
                raise InputError(unclosed_quote_sentence(path, unclosed)) from error
            if _looks_like(path, "delimiter") == f" (it looks like delimiter: {delimiter!r})":
                raise InputError(
                    f"{path}: not readable as CSV ({parser_error}): that line has more fields than the header; "
                    f"quote the values that hold {delimiter!r}, or remove the extra fields"
                ) from error
            raise InputError(
                f"{path}: not readable as CSV with delimiter {delimiter!r} ({parser_error}); set delimiter in "
                f"the source spec to the one the export uses{_looks_like(path, 'delimiter')}"
            ) from error
        refuse_short_header(frame, path, delimiter)
        refuse_stray_quotes(path, delimiter, encoding)
        if frame.shape[1] == 1 and any(d in str(frame.columns[0]) for d in DELIMITERS if d != delimiter):
            raise InputError(
                f"{path}: one column only ({str(frame.columns[0])[:60]!r}...) with delimiter {delimiter!r}; "
                f"set delimiter in the source spec to the one the export uses{_looks_like(path, 'delimiter')}"
            )
        frame = without_blank_tail(frame, path, text_columns)
    if frame.empty:
        raise InputError(f"{path}: the export has a header but no rows")
    return frame


def _naive_utc_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet times with a time zone as the naive UTC times every input time is read as: left aware, the
    drafter's leak audit compared them with naive snapshots and ended in a traceback."""
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):  # converted as the one date reader does
            frame[column] = parse_timestamps(frame[column])[0]
    return frame


def numbers_as_read_without_them(frame: pd.DataFrame, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The text columns whose every value is a number made numbers, as pandas reads them from a file without
    the lines that repeat its header: a header's names in a number column made it text, so training took a
    numeric intent column for text and logged its input example as the word "example", which its own scorer
    refused (a traceback, exit 1, once training had finished). `text_columns` stay text (ids as written)."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if column in text_columns or pd.api.types.is_numeric_dtype(values) or values.isna().all():
            continue
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        try:
            frame[column] = pd.to_numeric(values)
        except (ValueError, TypeError):
            continue
    return frame


def without_blank_tail(frame: pd.DataFrame, path: Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """The export without its rows that hold no value at all (",,,," or " , ," lines, as spreadsheets write below the
    data or between blocks of it), said on the console with how many: they hold no lead, yet each was
    quarantined as "no id" and enough of them stopped a run over the quarantine limit. The rows kept keep
    their index, each row's position in the file, so a quarantine still names a row as the file numbers it
    (ExportSource maps its positions back through that index). Lines that repeat the header (two exports
    joined end to end) hold no lead either: skipped and said, and the columns they had made text read as the
    file's other rows give them (numbers_as_read_without_them)."""
    refuse_reordered_header(frame, path)
    header = header_rows(frame)
    if header.any():
        say_header_rows(path, frame.index.to_numpy()[header])
        frame = numbers_as_read_without_them(frame.loc[~header], text_columns)
    footer = footer_rows(frame)
    if footer.any():
        lines = frame.loc[footer].iloc[:, 0].astype("str").str.strip().tolist()
        shown = ", ".join(repr(line[:60]) for line in lines[:3]) + (", ..." if len(lines) > 3 else "")
        console.print(
            f"note: {path}: {len(lines):,} line{'s' if len(lines) != 1 else ''} after the last lead: a summary or "
            f"a report's footer "
            f"({shown}): skipped, not read as leads"
        )
        frame = frame.loc[~footer]
    filled = ~blank_rows(frame)  # a cell of spaces is as blank as an empty one
    if filled.all():
        return frame
    last = int(filled.nonzero()[0][-1]) + 1 if filled.any() else 0
    inside = int((~filled[:last]).sum())
    said = [f"{len(frame) - last:,} after the last lead"] if last < len(frame) else []
    if inside:
        where = ", ".join(str(int(i)) for i in frame.index.to_numpy()[:last][~filled[:last]][:5])
        said.insert(0, f"{inside:,} between leads (rows {where}{', ...' if inside > 5 else ''})")
    console.print(
        f"note: {path}: {int((~filled).sum()):,} empty rows (every cell blank) skipped, not read as leads: "
        f"{' and '.join(said)}"
    )
    return frame.loc[filled]


def _utf16_by_its_mark(path: Path, encoding: str) -> str:
    """utf-16 for a file that starts with UTF-16's byte-order mark (Excel's "Unicode text"), whatever the
    spec says, said on the console: the mark leaves no doubt, and read as utf-8 the file is unreadable."""
    with open(path, "rb") as handle:
        start = handle.read(2)
    if start not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or codecs.lookup(encoding).name.startswith(
        "utf-16"
    ):
        return encoding
    console.print(
        f"note: read {path} as UTF-16 (the file starts with its byte-order mark; the spec says {encoding})"
    )
    return "utf-16"


def _refuse_utf8_read_as_single_byte(path: Path, encoding: str, sample: int = 4 << 20) -> None:
    """A spec's single-byte encoding (cp1252, latin-1...) for a file whose non-ASCII text is valid UTF-8 is
    refused: every accented letter would read as two wrong ones ("é" as "Ã©"), new category levels that
    nothing said. Text in a single-byte encoding is almost never valid UTF-8 once it holds such letters."""
    if codecs.lookup(encoding).name.startswith(("utf-8", "utf-16", "utf-32")):
        return
    with open(path, "rb") as handle:
        head = handle.read(sample)
    if head.isascii():
        return
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a letter cut at the sample's end
    except UnicodeDecodeError:
        return
    raise InputError(
        f"{path}: the source spec says encoding {encoding}, but the file is UTF-8 text (its accented letters "
        f"would read as two wrong ones each, e.g. 'é' as 'Ã©'); set encoding: utf-8 in the source spec"
    )


def _looks_like(path: Path, setting: str) -> str:
    """ ", which looks like ';': delimiter: ';'" from sniffing the file, or "" when nothing can be told."""
    try:
        delimiter, encoding = detect_csv_format(path)
    except (InputError, OSError):
        return ""
    value = delimiter if setting == "delimiter" else encoding
    return f" (it looks like {setting}: {value!r})"


def _whole_numbers_as_text(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Parquet `columns` of whole numbers stored as floats (an id column with a gap) as the text of the whole
    number: 660737, not "660737.0"."""
    for column in columns:
        values = frame[column] if column in frame.columns else None
        if values is None or not pd.api.types.is_float_dtype(values):
            continue
        given = values.dropna()
        if len(given) and bool((given % 1 == 0).all()):
            frame = frame.assign(
                **{column: pd.Series([None if pd.isna(v) else str(int(v)) for v in values], dtype=object)}
            )
    return frame


def _refuse_repeated_columns(path: Path, names: list[str]) -> None:
    keys = [name.strip().casefold() for name in names]
    repeated = [name for name, key in zip(names, keys, strict=True) if key and keys.count(key) > 1]
    if repeated:
        raise InputError(
            f"{path}: the header has columns that read as one ({', '.join(map(repr, repeated))}; case and "
            "surrounding spaces are ignored); keep one of them or rename the others, so that the spec reads "
            "the column you mean"
        )


def read_spec_export(path: Path, spec: ExportSpec) -> pd.DataFrame:
    """An export read the way its spec says (specs from models trained before delimiter/encoding: comma, utf-8);
    its id column as text, as written, or the rows numbered into it (id_from_row). The column mapped to
    annual_revenue is read as text too: pandas reads "250.000" (250,000 with dots between thousands) as 250,
    and the contract can only quarantine what it sees written."""
    revenue = spec.icp_columns.get("annual_revenue")
    frame = read_export(
        path,
        getattr(spec, "delimiter", ","),
        getattr(spec, "encoding", "utf-8"),
        text_columns=tuple(dict.fromkeys(c for c in (spec.id_column, revenue) if c)),
    )
    # A Parquet list or struct column the spec reads had been read as its Python text and scored, exit 0.
    read = [c for c in dict.fromkeys([*spec.input_columns(), spec.label_column]) if c in frame.columns]
    nested = nested_column(frame, read)
    if nested is not None:
        raise InputError(f"{path}: {nested_sentence(frame, nested)}")
    refuse_bytes_not_text(frame, read, path)
    if format_of(path) == "parquet":  # rows of nothing (a sheet turned into Parquet keeps them) skipped
        frame = without_blank_tail(frame, path)  # as a CSV's, before the rows are numbered (id_from_row)
    if getattr(spec, "id_from_row", False):
        if spec.id_column in frame.columns:
            raise InputError(
                f"{path}: the spec {spec.name!r} numbers the rows into a column {spec.id_column!r} "
                "(id_from_row), but the export has a column of that name; rename id_column in the spec, or "
                "set id_from_row: false if that column is the record id"
            )
        frame = numbered_rows(frame, spec.id_column)
    elif spec.id_column in frame.columns:  # "660737.0" (a CSV of a float column) is 660737, as in Parquet
        frame[spec.id_column] = export_ids(frame[spec.id_column])
    return frame


def refuse_missing_columns(frame: pd.DataFrame, spec: ExportSpec, path: Path, needed: list[str]) -> None:
    """ContractError (exit 3) naming the `needed` spec columns the export lacks, each with its role and a
    did-you-mean (a header in other case or with a trailing space is a near name, never matched silently)."""
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        columns = [str(c) for c in frame.columns]
        roles = spec_roles(spec)
        hints = ", ".join(f"{c!r} ({roles[c]}){did_you_mean(c, columns)}" for c in missing)
        raise ContractError(
            f"{path}: the export lacks columns the spec {spec.name!r} needs: {hints}; fix the spec or the "
            "export (leadscore spec check lists every difference)"
        )


def read_training_export(path: Path, spec: ExportSpec) -> tuple[pd.DataFrame, list[str]]:
    """An export to train on (every row: the source trains on the won and lost ones and can score the open
    ones) and notes to print (open rows left out of training, undeclared columns).

    Columns the model needs that the export lacks raise ContractError with a did-you-mean.
    """
    frame = read_spec_export(path, spec)
    refuse_missing_columns(frame, spec, path, [spec.label_column, *spec.input_columns()])
    notes = []
    undeclared = undeclared_columns(frame, spec)
    if undeclared:
        notes.append(
            f"{len(undeclared)} export columns are not in the spec and are not used: "
            f"{', '.join(map(repr, undeclared))}"
        )
    _, n_open = closed_rows(frame, spec)
    if n_open:
        notes.append(
            f"{n_open:,} open rows (open_labels) left out of training; they are scored, not learned from"
        )
    return frame, notes


@dataclass
class DraftResult:
    draft: Draft
    text: str
    path: Path
    valid_error: str | None  # why the draft is not yet a valid spec, else None


def run_spec_draft(
    input_path: Path,
    out: Path,
    label: str | None = None,
    name: str | None = None,
    rules_path: Path | None = None,
    overwrite: bool = False,
    market: Market | None = None,
) -> DraftResult:
    """Read the export, draft its spec (checking the won leads' countries against `market`, the configuration's
    ICP), write it (atomically) and check it parses as a ExportSpec."""
    if out.exists() and not overwrite:
        raise InputError(f"{out}: already exists; pass --overwrite to replace it, or choose another --out")
    rules = load_draft_rules(rules_path)
    csv_file = format_of(_existing(input_path)) == "csv"
    delimiter, encoding = detect_csv_format(input_path) if csv_file else (",", "utf-8")
    frame = read_export(input_path, delimiter, encoding).reset_index(drop=True)
    nested = [c for c in frame.columns if nested_column(frame, [c]) is not None]  # lists, records: no feature
    decimals = tuple(str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]))
    written = (  # as the file writes them: "1.200" may be 1200 with a dot between thousands, "02134" a code
        read_export(input_path, delimiter, encoding, text_columns=decimals)[list(decimals)]
        if csv_file and decimals
        else None
    )
    try:
        draft = draft_spec(
            frame.drop(columns=nested),
            rules,
            name or out.stem,
            label=label,
            source=input_path.name,
            market=market,
            written=written,
        )
    except DraftError as error:
        raise InputError(f"{input_path}: {error}") from error
    for column in nested:
        draft.spec["drop_columns"][column] = (
            "holds lists or records, not one value per cell; a spec reads plain values"
        )
    draft.header[:0] = [
        f"Source spec drafted by `leadscore spec draft` from {input_path.name} ({len(frame):,} rows x "
        f"{frame.shape[1]} columns). Review every line before training: the reasons are the drafter's, "
        "not yours yet.",
    ]
    if csv_file:
        draft.spec |= {"delimiter": delimiter, "encoding": encoding}
        draft.notes["delimiter"] = "detected"
        draft.notes["encoding"] = "detected"
    text = render_spec(draft)
    with atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    try:
        ExportSpec.model_validate(yaml.safe_load(text))
        problem = None
    except ValidationError as error:
        problem = "; ".join(e["msg"] for e in error.errors())
    return DraftResult(draft=draft, text=text, path=out, valid_error=problem)


def too_recent_warning(rows: pd.DataFrame, spec: ExportSpec, model: ModelConfig) -> list[str]:
    """The labelled rows training will leave out as younger than the export's outcome maturity, as a warning
    (none when it leaves none out: an export without open rows or without a timestamp column)."""
    times = export_creation_times(rows, spec, pd.Timestamp.now("UTC").tz_localize(None))
    maturity = export_maturity(
        rows, times, spec, model.export_maturity_days, model.export_max_open_share, model.export_open_share_z
    )
    if times is None or not maturity.days:
        return []
    labelled = label_outcomes(rows, spec).isin(["won", "lost"]).to_numpy()
    young = int((labelled & too_young(times, times.max(), maturity.days)).sum())
    if not young:
        return []
    return [
        f"{young:,} labelled leads {maturity.describe()} will be left out of training and testing: the export "
        "still holds open leads of that age, so the outcomes known for them are the quick ones, mostly lost; "
        "model.export_maturity_days sets the age (0: none left out)"
    ]


def _existing(path: Path) -> Path:
    return readable_file(path, "an export file (.csv or .parquet)")
