"""The online/Spark input of the scoring artifact: one flat row per lead, turned into the CRM tables.

A row carries the lead, its account and its recent activities (a JSON list), all as strings or numbers,
so that the same artifact serves `mlflow models serve`, `spark_udf` and in-process calls.

Checking and conversion work on plain Python values column by column, and the tables are the scoring
path's tables (features.frames.Table), not frames: an online request is one row, and pandas' per-call
overhead would cost more than the scoring itself.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from features.contracts import (
    CHECK_REASONS,
    column_checks,
    in_whole_units,
    is_dotted_thousands,
    is_whole_number,
)
from features.countries import read_country
from features.dates import CLOCK_WORDS
from features.frames import Table
from features.keys import FLOAT_WRITTEN_ID
from features.text import INVISIBLE, is_no_value, spelled_word
from features.vocab import ACTIVITY_OTHER_SPELLINGS, ACTIVITY_TYPES

# column -> (required, kind) ; kind: "id", "str", "num", "time"
LEAD_INPUT_COLUMNS: dict[str, tuple[bool, str]] = {
    "lead_id": (True, "id"),
    "email": (True, "str"),
    "job_title": (False, "str"),
    "lead_source": (False, "str"),
    "lead_created_at": (False, "time"),
    "account_id": (False, "id"),
    "domain": (False, "str"),
    "industry": (False, "str"),
    "employee_count": (False, "num"),
    "annual_revenue": (False, "num"),
    "country": (False, "str"),
    "tech_stack": (False, "str"),
    "account_created_at": (False, "time"),  # when the account's CRM record was created (not used by features)
    "account_founded_year": (False, "num"),  # the year the company was founded: company_age_years
    "activities": (
        False,
        "str",
    ),  # JSON: [{"activity_type": "pricing_page", "occurred_at": "2026-09-30T10:00:00"}]
    "as_of": (False, "time"),  # the snapshot; defaults to the scoring call's as_of
}
# The batch contract's (table, column) behind each field: its value checks apply online too (one contract).
CONTRACT_COLUMNS: dict[str, tuple[str, str]] = {
    "lead_id": ("leads", "lead_id"),
    "email": ("leads", "email"),
    "job_title": ("leads", "job_title"),
    "lead_source": ("leads", "lead_source"),
    "lead_created_at": ("leads", "created_at"),
    "account_id": ("accounts", "account_id"),
    "domain": ("accounts", "domain"),
    "industry": ("accounts", "industry"),
    "employee_count": ("accounts", "employee_count"),
    "annual_revenue": ("accounts", "annual_revenue"),
    "country": ("accounts", "country"),
    "tech_stack": ("accounts", "tech_stack"),
    "account_created_at": ("accounts", "created_at"),
    "account_founded_year": ("accounts", "founded_year"),
}
# The fields a frame may leave out (in process and on Spark, a frame must hold every other field: see
# check_frame_fields): none of them feeds the score. account_id only groups rows into accounts, and each row
# carries its own account's fields (_account_keys); no feature reads account_created_at (the CRM record's
# date); as_of defaults to the call's as_of parameter.
FIELDS_A_FRAME_MAY_LEAVE_OUT = ("account_id", "account_created_at", "as_of")
ACTIVITY_KEYS = ("activity_type", "occurred_at")
PARAMS = ("as_of", "reasons")  # what a request's params may hold
NOT_AFTER_AS_OF = "not after as_of"  # the contract's rule for a time later than the snapshot
NOT_IN_FUTURE = "not in the future"  # a time later than the request's arrival (plus a day of clock skew)
CLOCK_SKEW = pd.Timedelta(days=1)  # a client's clock or time zone may run this far ahead of ours
_NAT = np.iinfo(np.int64).min
_KNOWN_ACTIVITIES = frozenset(ACTIVITY_TYPES)
_EMAIL_LIKE = re.compile(r"[^\s'\"]+@[^\s'\"]+")
_SHOWN_CHARS = 60  # a refused value is quoted up to this many characters

# Checked lead rows: one array per field of LEAD_INPUT_COLUMNS, in a Table's kinds (object arrays of str or
# None for text, float for numbers, datetime64[ns] for times).
CheckedRows = dict[str, np.ndarray]


class LeadInputError(ValueError):
    """A lead row that cannot be scored; the message names the row, the field and the rule, and never
    quotes an email address."""


def _fail(row: int | str, field: str, message: str, rule: str | None = None) -> LeadInputError:
    where = row if isinstance(row, str) else f"row {row}"
    return LeadInputError(f"{where}, field '{field}': {message}" + (f" (rule: {rule})" if rule else ""))


def without_emails(text: str) -> str:
    """`text` with anything that looks like an email address replaced by <email>."""
    return _EMAIL_LIKE.sub("<email>", text)


def shown(value: Any) -> str:
    """A refused value as quoted in a message: short, and never an email address."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    if len(text) > _SHOWN_CHARS:
        text = f"{text[: _SHOWN_CHARS - 5]}...{text[-1]} ({len(str(value)):,} characters)"
    return without_emails(text)


def _is_missing(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def _no_value(value: Any) -> bool:
    """Missing, blank text ("", "  ") or a word for no value ("N/A"): batch reads all of them as missing in a
    number or time column (features.dates.blank, features.text.NO_VALUE), so online does too."""
    return _is_missing(value) or (isinstance(value, str) and not value.strip()) or is_no_value(value)


def _json_kind(value: Any) -> str | None:
    """'a JSON object', 'a JSON list', 'true or false' for values that are no scalar of text or number."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list | tuple):
        return "a JSON list"
    if isinstance(value, bool | np.bool_):
        return "true or false"
    return None


_LATEST, _EARLIEST = pd.Timestamp.max.floor("D"), pd.Timestamp.min.ceil("D")


# The ISO 8601 texts Python's parser reads as batch's (pandas') does. Python also reads week dates ("2026-W02-1"),
# a lowercase "t", a decimal comma and nanoseconds (cut to microseconds), which batch quarantines or keeps whole.
_PLAIN_ISO = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)


def _iso_timestamp(text: str) -> pd.Timestamp:
    """An ISO 8601 text as a Timestamp, as batch reads it: Python's own parser for the plain forms (a few
    microseconds), pandas' ISO parser (batch's) for the others; anything else raises ValueError."""
    if _PLAIN_ISO.fullmatch(text):
        try:
            return pd.Timestamp(datetime.fromisoformat(text))
        except ValueError:
            pass
    return pd.to_datetime(text, format="ISO8601")


def parse_time(value: Any) -> int:
    """Nanoseconds since the epoch of a date and time (time zones converted to UTC); the int64 minimum for
    a missing value. Raises ValueError, with a sentence, for anything that is not a date and time this model
    can work with."""
    if _no_value(value):
        return _NAT
    if _json_kind(value) or isinstance(value, int | float | np.number):
        raise ValueError(
            f"{shown(value)} is not a date and time (use ISO 8601 text, e.g. 2026-09-30T10:00:00)"
        )
    if isinstance(value, str) and value in CLOCK_WORDS:  # pandas reads them as the clock time; batch never
        raise ValueError(_not_a_time(value))
    try:  # ISO 8601 only, as in batch (features.dates): "04/03/2026" is refused, never guessed month-first
        # Blanks around the text are no part of it: batch's readers strip a cell ("2026-09-23 05:42:54  " from a
        # padded CHAR column), and online refused the same row.
        stamp = _iso_timestamp(value.strip()) if isinstance(value, str) else pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(_not_a_time(value)) from None
    if stamp is pd.NaT:
        return _NAT
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    try:
        return int(stamp.as_unit("ns").value)
    except (ValueError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        raise ValueError(
            f"{shown(value)} is outside the times this model can score ({_EARLIEST.date()} to {_LATEST.date()})"
        ) from None


def _not_a_time(value: Any) -> str:
    return f"{shown(value)} is not a date and time (use ISO 8601, e.g. 2026-09-30T10:00:00)"


def _times(values: list[Any], field: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        try:
            out[row] = parse_time(value)
        except ValueError as error:
            raise _fail(row, field, str(error), "parse(datetime)") from None
    return out.view("datetime64[ns]")


def _numbers(values: list[Any], field: str) -> np.ndarray:
    out = np.empty(len(values), dtype=float)
    money = field in CONTRACT_COLUMNS and in_whole_units(*CONTRACT_COLUMNS[field])
    for row, value in enumerate(values):
        if _no_value(value):  # "", "N/A", "NULL": no value, as batch reads them
            out[row] = np.nan
            continue
        if money and is_dotted_thousands(value):  # "250.000": 250,000, as batch quarantines it
            sentence = CHECK_REASONS["no dots between thousands"].format(column=field)
            raise _fail(row, field, f"{sentence[:-1]}, got {shown(value)}.", "no dots between thousands")
        try:
            if _json_kind(value) or (isinstance(value, str) and not _plain_number_text(value)):
                raise TypeError
            out[row] = float(value)
        except (ValueError, TypeError, OverflowError):
            raise _fail(row, field, f"{shown(value)} is not a number", "parse(number)") from None
        if not math.isfinite(out[row]):
            raise _fail(row, field, f"{shown(value)} is not a finite number", "parse(number)")
    return out


def _plain_number_text(text: str) -> bool:
    """Whether Python's float() may read `text` as the batch contract (pandas) reads it: float() also takes
    digits of other scripts ("١٢٣", "１２３"), non-breaking spaces and underscores ("1_000"), which batch
    quarantines as no number."""
    return text.isascii() and "_" not in text


def _texts(values: list[Any], field: str, max_chars: int | None, is_id: bool = False) -> np.ndarray:
    texts: list[str | None] = []
    for row, value in enumerate(values):
        if _is_missing(value):
            texts.append(None)
            continue
        kind = _json_kind(value)
        if kind and field == "activities":  # the natural mistake: the list itself, not its JSON text
            raise _fail(
                row,
                field,
                f"must be JSON text (a string holding the list, e.g. json.dumps(activities)), not {kind}",
                "text",
            )
        if kind:
            raise _fail(row, field, f"must be text, not {kind}", "text")
        if isinstance(
            value, bytes | bytearray
        ):  # a binary column (Spark, Parquet): its UTF-8 text, never "b'...'"
            if not is_utf8(value):
                raise _fail(row, field, "bytes that are not UTF-8 text; send text", "text")
            value = bytes(value).decode("utf-8")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2.0**63:
            value = int(value)  # 12.0 came through a float column: "12", as the batch contract reads it
        text = INVISIBLE.sub("", str(value)).strip() if is_id else str(value)  # as features.keys.visible_ids
        if is_id and text.endswith(".0"):  # "12.0": "12", as batch reads the id (features.keys)
            text = re.sub(FLOAT_WRITTEN_ID, r"\1", text)
        if max_chars is not None and len(text) > max_chars and field != "activities":
            raise _fail(
                row,
                field,
                f"is {len(text):,} characters long, more than the {max_chars:,} accepted",
                "serving.max_text_chars",
            )
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # JSON can carry a lone surrogate ("\ud800"), which is no text
                what = "the value" if field == "email" else shown(text)
                raise _fail(row, field, f"{what} is not valid Unicode text", "text") from None
        texts.append(None if is_id and text == "" else text)
    return np.array(texts, dtype=object)


def is_utf8(value: bytes | bytearray) -> bool:
    """Whether bytes are UTF-8 text."""
    try:
        bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_contract(field: str, values: np.ndarray) -> None:
    """The batch contract's value checks of the field's column (e.g. employee_count at least 1)."""
    if field not in CONTRACT_COLUMNS:
        return
    table, column = CONTRACT_COLUMNS[field]
    checks = column_checks(table, column)
    if not checks:
        return
    present = np.flatnonzero(~pd.isna(values))
    if not len(present):
        return
    for check in checks:
        passed = _passes(check, values[present])
        if not passed.all():
            row, rule = int(present[np.argmin(passed)]), str(check.error)
            sentence = CHECK_REASONS[rule].format(column=field)
            if field != "email":
                sentence = f"{sentence[:-1]}, got {shown(values[row])}."
            raise _fail(row, field, sentence, rule)


# The contract's builtin checks on a few values, with their own parameters (check.statistics): calling a
# pandera check on a one-row Series costs more than scoring the lead. Any other check is called as it is;
# tests/models/test_lead_input.py holds both ways to the same answers.
_ON_ARRAYS: dict[str, Callable[..., np.ndarray]] = {
    "greater_than_or_equal_to": lambda values, min_value: values >= min_value,
    "less_than_or_equal_to": lambda values, max_value: values <= max_value,
    "str_contains": lambda values, pattern: np.array([re.search(pattern, v) is not None for v in values]),
    "is_whole_number": lambda values: is_whole_number(values.astype("float64")),
}


def _passes(check: Any, values: np.ndarray) -> np.ndarray:
    """Which (present) values pass one of the contract's checks."""
    on_arrays = _ON_ARRAYS.get(getattr(check._check_fn, "__name__", ""))
    if on_arrays is not None:
        result = on_arrays(values, **check.statistics)
    else:
        result = check(pd.Series(values, dtype=values.dtype, copy=False)).check_output
    return np.broadcast_to(np.asarray(result, dtype=bool), values.shape)


def _unknown_fields(given: dict[Any, list[Any]]) -> None:
    unknown = [c for c in given if c not in LEAD_INPUT_COLUMNS]
    if not unknown:
        return
    present = [not _is_missing(v) for v in given[unknown[0]]]
    row = present.index(True) if any(present) else 0
    names = ", ".join(repr(without_emails(str(c))) for c in unknown)
    raise LeadInputError(
        f"row {row}, field {names}: unknown field{'s' if len(unknown) > 1 else ''}; "
        f"the known fields are {', '.join(LEAD_INPUT_COLUMNS)} (rule: known fields only)"
    )


def check_frame_fields(frame: pd.DataFrame) -> None:
    """LeadInputError naming the fields that feed the score which a frame of lead rows has no column for.
    MLflow drops a column its signature does not name ("Activities" for "activities") before the artifact
    sees the frame, and the signature calls these fields optional, so every lead was scored without the
    field. JSON records (leadscore serve) leave out a field they have no value for: not checked here."""
    absent = [
        field
        for field in LEAD_INPUT_COLUMNS
        if field not in frame.columns and field not in FIELDS_A_FRAME_MAY_LEAVE_OUT
    ]
    if not absent:
        return
    names, s = ", ".join(repr(field) for field in absent), "s" if len(absent) > 1 else ""
    raise LeadInputError(
        f"field{s} {names}: the rows have no column{s} {names}, which the score reads (MLflow drops a column "
        "named in another case, spacing or spelling before the model sees it, and each lead would be scored "
        f"without it); add the column{s}, empty (null) for leads without a value "
        "(rule: every field that feeds the score)"
    )


def _columns(rows: pd.DataFrame | list[dict[str, Any]]) -> tuple[dict[Any, list[Any]], int]:
    """Each field's values as a Python list (missing where a record lacks it), and the number of rows."""
    if isinstance(rows, pd.DataFrame):
        # One conversion of the whole table to Python values (a column read at a time costs more on one row).
        return dict(zip(rows.columns, rows.to_numpy(dtype=object).T.tolist(), strict=True)), len(rows)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise LeadInputError("expected a table of lead rows")
    fields = dict.fromkeys(key for record in rows for key in record)
    return {field: [record.get(field) for record in rows] for field in fields}, len(rows)


def check_lead_rows(
    rows: pd.DataFrame | list[dict[str, Any]], max_text_chars: int | None = None
) -> CheckedRows:
    """Every known field present, typed and within the data contract; raises LeadInputError naming the row,
    the field and the rule. Rows are a frame or JSON records (the server's, without building a frame).
    `max_text_chars` caps each text field (not the activities list)."""
    given, n_rows = _columns(rows)
    _unknown_fields(given)
    out: CheckedRows = {}
    for field, (required, kind) in LEAD_INPUT_COLUMNS.items():
        values: list[Any] = given.get(field, [None] * n_rows)
        if kind == "time":
            out[field] = _times(values, field)
        elif kind == "num":
            out[field] = _numbers(values, field)
        else:
            out[field] = _texts(values, field, max_text_chars, is_id=kind == "id")
        if required:
            missing = pd.isna(out[field])
            if missing.any():
                raise _fail(int(np.argmax(missing)), field, "is required", "not_null")
        _check_contract(field, out[field])
    _each_lead_once(out["lead_id"])
    return out


def _each_lead_once(lead_ids: np.ndarray) -> None:
    """A lead is one row of a request, as it is one row of the leads table: two rows of one lead would pool
    their activities (each row's list counted once more) and score both with the first row's fields."""
    first_row: dict[str, int] = {}
    for row, lead_id in enumerate(lead_ids):
        earlier = first_row.setdefault(lead_id, row)
        if earlier != row:
            raise _fail(
                row,
                "lead_id",
                f"{shown(lead_id)} is also row {earlier}'s: a lead is one row of a request; score another "
                "snapshot of it in a request of its own",
                "unique",
            )


def check_params(
    params: dict[str, Any] | None, latest: pd.Timestamp | None = None
) -> tuple[pd.Timestamp | None, bool]:
    """A request's as_of (None: not given) and whether to add reasons; raises LeadInputError naming the
    parameter and the rule. An as_of after `latest` (the request's arrival plus CLOCK_SKEW) is refused."""
    params = params or {}
    unknown = [k for k in params if k not in PARAMS]
    if unknown:
        raise _fail(
            "params",
            ", ".join(without_emails(str(k)) for k in unknown),
            f"unknown parameter; the known ones are {', '.join(PARAMS)}",
            "known parameters only",
        )
    reasons = params.get("reasons", True)
    if not isinstance(reasons, bool | np.bool_):
        raise _fail("params", "reasons", f"{shown(reasons)} is not true or false", "boolean")
    try:
        stamp = parse_time(params.get("as_of"))
    except ValueError as error:
        raise _fail("params", "as_of", str(error), "parse(datetime)") from None
    if stamp == _NAT:
        return None, bool(reasons)
    if latest is not None:
        _not_in_future("params", "as_of", stamp, latest)
    return pd.Timestamp(stamp), bool(reasons)


def _not_in_future(row: int | str, field: str, time: int, latest: pd.Timestamp) -> None:
    """A time after `latest` (the request's arrival plus CLOCK_SKEW) has not happened yet: refused."""
    if time != _NAT and time > latest.value:
        arrived = _iso((latest - CLOCK_SKEW).value)
        raise _fail(
            row,
            field,
            f"{_iso(time)} is in the future (the request arrived at {arrived} UTC); a score is as of a "
            "moment that has happened, from events that have happened",
            NOT_IN_FUTURE,
        )


def repeated_key(pairs: list[tuple[str, Any]]) -> str | None:
    """The first key a JSON object's (key, value) pairs name a second time, else None: json.loads keeps the
    last value of such a key silently (an object_pairs_hook sees them all)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return None


class _PairsCheck:
    """json.loads hooks for one row's activities: an item naming a key twice (the last one won silently,
    {"activity_type": "blog", "activity_type": "demo_request"}) and NaN / Infinity (no JSON) are refused."""

    def __init__(self, row: int) -> None:
        self.row = row

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        twice = repeated_key(pairs)
        if twice is not None:
            raise _fail(self.row, "activities", f"an item names {shown(twice)} twice", "JSON list")
        return dict(pairs)

    def constant(self, name: str) -> Any:
        raise _fail(self.row, "activities", f"{name} is not JSON", "JSON list")


def _activity_items(row: int, raw: str | None) -> list[tuple[int, str]]:
    """(occurred_at in ns, activity_type) of one row's activities JSON."""
    if raw is None or not raw.strip():
        return []
    check = _PairsCheck(row)
    try:
        items = json.loads(raw, object_pairs_hook=check, parse_constant=check.constant)
    except json.JSONDecodeError as error:
        raise _fail(row, "activities", f"not valid JSON ({error.msg})", "JSON list") from error
    except RecursionError:
        raise _fail(
            row, "activities", "is nested too deeply; it must be a flat JSON list", "JSON list"
        ) from None
    if not isinstance(items, list):
        raise _fail(row, "activities", "must be a JSON list of {activity_type, occurred_at}", "JSON list")
    out = []
    for k, item in enumerate(items):
        if not isinstance(item, dict) or "activity_type" not in item or "occurred_at" not in item:
            raise _fail(
                row, f"activities[{k}]", "each item needs activity_type and occurred_at", "activity item"
            )
        extra = [key for key in item if key not in ACTIVITY_KEYS]
        if extra:
            raise _fail(
                row,
                f"activities[{k}]",
                f"unknown key(s) {', '.join(shown(key) for key in extra)}; an item has activity_type and "
                "occurred_at only",
                "known fields only",
            )
        kind = item["activity_type"]
        kind = spelled_word(kind, _KNOWN_ACTIVITIES, ACTIVITY_OTHER_SPELLINGS) or kind  # as batch reads it
        if not isinstance(kind, str) or kind not in _KNOWN_ACTIVITIES:
            raise _fail(
                row,
                "activities",
                f"unknown activity_type {shown(kind)}; known: {list(ACTIVITY_TYPES)}",
                "isin(ACTIVITY_TYPES)",
            )
        try:
            occurred = parse_time(item["occurred_at"])
        except ValueError as error:
            raise _fail(row, f"activities[{k}].occurred_at", str(error), "parse(datetime)") from None
        if occurred == _NAT:
            raise _fail(row, f"activities[{k}].occurred_at", "is required", "not_null")
        out.append((occurred, kind))
    return out


def _activities(rows: CheckedRows, latest: pd.Timestamp | None) -> Table:
    lead_ids, times, kinds = [], [], []
    for row, (lead_id, raw) in enumerate(zip(rows["lead_id"], rows["activities"], strict=True)):
        for k, (occurred, kind) in enumerate(_activity_items(row, raw)):
            if latest is not None:
                _not_in_future(row, f"activities[{k}].occurred_at", occurred, latest)
            lead_ids.append(lead_id)
            times.append(occurred)
            kinds.append(kind)
    return Table(
        {
            "lead_id": np.array(lead_ids, dtype=object),
            "occurred_at": np.array(times, dtype=np.int64).view("datetime64[ns]"),
            "activity_type": np.array(kinds, dtype=object),
        }
    )


def _iso(time: int) -> str:
    return str(np.int64(time).view("datetime64[ns]").astype("datetime64[s]"))


def _not_after(row: int, field: str, time: int, as_of: np.datetime64) -> None:
    """The contract's rule for a time later than the row's snapshot (a date in the year 3000, say)."""
    limit = int(as_of.view(np.int64))
    if time != _NAT and time > limit:
        raise _fail(
            row,
            field,
            f"{_iso(time)} is after as_of {_iso(limit)}. {CHECK_REASONS[NOT_AFTER_AS_OF]}",
            NOT_AFTER_AS_OF,
        )


def _founded_not_after(founded_year: np.ndarray, snapshot_at: np.ndarray) -> None:
    """The contract's rule for a founding year later than the year of the row's snapshot."""
    later = founded_year > snapshot_at.astype("datetime64[Y]").astype(np.int64) + 1970  # NaN compares False
    if later.any():
        row = int(np.argmax(later))
        rule = "year not after as_of"
        sentence = CHECK_REASONS[rule].format(column="account_founded_year")
        raise _fail(row, "account_founded_year", f"{sentence[:-1]}, got {shown(founded_year[row])}.", rule)


def _first_of_each(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in order."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


ACCOUNT_FIELDS = (
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "tech_stack",
    "account_created_at",
    "account_founded_year",
)


def _account_keys(account_id: np.ndarray, rows: CheckedRows) -> np.ndarray:
    """The account each row's lead is scored with: its account_id, unless an earlier row gave that account_id
    other account fields (rows taken at different times, or a bad join). Each row carries its own account, so
    such a row keeps its own values under "<account_id>@row<k>" instead of silently taking the earlier row's."""
    records = zip(*(rows[field] for field in ACCOUNT_FIELDS), strict=True)
    keys = np.empty(len(account_id), dtype=object)
    first_record: dict[str, tuple] = {}
    key_of: dict[tuple, str] = {}
    for row, values in enumerate(records):  # online: a few rows; a Spark batch: one pass in Python
        record = tuple(None if value is None or pd.isna(value) else value for value in values)
        account = account_id[row]
        if first_record.setdefault(account, record) == record:
            keys[row] = account
        else:
            keys[row] = key_of.setdefault((account, record), f"{account}@row{row}")
    return keys


def _alpha2_countries(values: np.ndarray) -> np.ndarray:
    """Country names and codes as alpha-2 (features.countries, as the batch contract reads them); a value that
    is no country is refused naming its row."""
    out = np.empty(len(values), dtype=object)
    for row, value in enumerate(values):  # online: a few rows
        out[row], is_country = read_country("" if value is None else str(value))
        if not is_country:
            raise _fail(row, "country", f"{shown(value)} is not a country name or ISO code", "iso country")
    return out


def lead_rows_to_tables(
    rows: CheckedRows, as_of: pd.Timestamp, latest: pd.Timestamp | None = None
) -> tuple[dict[str, Table], Table]:
    """CRM tables for checked lead rows, and the snapshots (each row's as_of, else `as_of`).

    Tables and snapshots are Tables (text as object arrays of str or None, times datetime64[ns], numbers
    float): one online lead must not pay for building frames. A lead or account created after its
    row's snapshot is refused (the batch contract's "not after as_of"; an account's record may be newer, and
    its founding year must not be after the snapshot's); with `latest` (the request's arrival
    plus CLOCK_SKEW), so are a snapshot or an activity after it. An activity after the snapshot but not in
    the future is history the snapshot does not see yet (a backfill), as in batch features.
    """
    lead_id = rows["lead_id"]
    account_id = np.array(
        [
            a if a is not None else f"ACCOUNT_OF_{lead}"
            for a, lead in zip(rows["account_id"], lead_id, strict=True)
        ],
        dtype=object,
    )
    account_key = _account_keys(account_id, rows)
    first = _first_of_each(account_key)
    tech_stack = np.array([t if t is not None else "" for t in rows["tech_stack"]], dtype=object)
    accounts = Table(
        {
            "account_id": account_key[first],
            "name": account_id[first],
            "domain": rows["domain"][first],
            "industry": rows["industry"][first],
            "employee_count": rows["employee_count"][first],
            "annual_revenue": rows["annual_revenue"][first],
            "country": _alpha2_countries(rows["country"])[first],
            "tech_stack": tech_stack[first],
            "created_at": rows["account_created_at"][first],
            "founded_year": rows["account_founded_year"][first],
        }
    )
    default_snapshot = np.int64(parse_time(as_of)).view("datetime64[ns]")
    snapshot_at = np.where(np.isnat(rows["as_of"]), default_snapshot, rows["as_of"])
    if latest is not None and (snapshot_at > np.datetime64(latest.value, "ns")).any():
        row = int(np.argmax(snapshot_at > np.datetime64(latest.value, "ns")))
        _not_in_future(row, "as_of", int(snapshot_at[row].view(np.int64)), latest)
    # The lead's creation must not follow its snapshot; the account record's may (reference data, as in batch).
    later = rows["lead_created_at"] > snapshot_at  # NaT compares False
    if later.any():
        row = int(np.argmax(later))
        _not_after(row, "lead_created_at", int(rows["lead_created_at"][row].view(np.int64)), snapshot_at[row])
    _founded_not_after(rows["account_founded_year"], snapshot_at)
    leads = Table(
        {
            "lead_id": lead_id,
            "account_id": account_key,
            "email": rows["email"],
            "job_title": rows["job_title"],
            "lead_source": rows["lead_source"],
            # Left out, the creation is unknown (lead age missing), never the snapshot: a lead created at its
            # snapshot sees none of its activities (features.intent), and the request's were all dropped.
            "created_at": rows["lead_created_at"],
        }
    )
    tables = {"accounts": accounts, "leads": leads, "activities": _activities(rows, latest)}
    return tables, Table({"lead_id": lead_id, "snapshot_at": snapshot_at})


def tables_to_lead_rows(tables: dict[str, pd.DataFrame], lead_ids: list[str] | None = None) -> pd.DataFrame:
    """The flat lead rows for leads of the CRM tables (for online requests and Spark), the inverse of the above."""
    leads = tables["leads"]
    if lead_ids is not None:
        leads = leads[leads["lead_id"].isin(lead_ids)]
    accounts = (
        tables["accounts"]
        .rename(columns={"created_at": "account_created_at", "founded_year": "account_founded_year"})
        .drop(columns=["name"])
    )
    rows = leads.rename(columns={"created_at": "lead_created_at"}).merge(
        accounts, on="account_id", how="left"
    )
    acts = tables["activities"]
    acts = acts[acts["lead_id"].isin(rows["lead_id"])]
    stamped = acts.assign(occurred_at=acts["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    # A dict, not groupby.apply: on leads without any activity that gives an empty frame, which map refused
    # (score --engine spark stopped on a feed of new leads).
    as_json = {
        lead: json.dumps(group.to_dict("records"))
        for lead, group in stamped.groupby("lead_id")[["activity_type", "occurred_at"]]
    }
    rows["activities"] = [as_json.get(lead, "[]") for lead in rows["lead_id"]]
    for column in ("lead_created_at", "account_created_at"):
        rows[column] = pd.to_datetime(rows[column]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    # founded_year is optional in the tables, but a frame must hold every field that feeds the score
    # (check_frame_fields): accounts without it give a missing year.
    if "account_founded_year" not in rows.columns:
        rows["account_founded_year"] = np.nan
    for column in ("employee_count", "annual_revenue", "account_founded_year"):  # floats: a gap must not
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)  # break the schema
    return rows[[c for c in LEAD_INPUT_COLUMNS if c in rows.columns]].reset_index(drop=True)
