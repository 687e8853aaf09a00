"""One date parser for every batch path (validate, score, train): ISO 8601 always, another format only when named.

A column of dates written some other way (04/03/2026, 04.03.2026, March 4, 2026) is never guessed: with no
format named for it, `parse_timestamps` raises `DateFormatError`, which says whether the values could be read
day first or month first and gives two examples. Values that are not dates in any format (banana, 2026-13-45)
come back as unparsed, for the contract to quarantine. Times with an offset are converted to UTC, whatever
mix of offsets a column holds; the result is naive UTC.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ISO = "ISO8601"

# The timestamp columns of the CRM tables (the contract checks it agrees).
TIMESTAMP_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("created_at",),
    "leads": ("created_at",),
    "activities": ("occurred_at",),
    "deals": ("created_at", "closed_at"),
}

# Day-month layouts with two-digit years, which pandas does not guess, tried on every column besides its guesses.
_TWO_DIGIT_YEARS = ("%d/%m/%y", "%m/%d/%y", "%d.%m.%y", "%d-%m-%y", "%m-%d-%y")
_GUESSES = 20  # distinct non-ISO values whose format is guessed (every distinct value is then tried)


class DateFormatError(ValueError):
    """A column holds dates in a format that is not ISO 8601 and was not named in the configuration."""

    def __init__(self, examples: list[str], formats: list[str]):
        self.examples, self.formats = examples, formats
        super().__init__(self.describe("a date column", "its format"))

    @property
    def ambiguous(self) -> bool:
        return len(self.formats) > 1

    def describe(self, where: str, setting: str) -> str:
        """One sentence: where, what the values look like, and the setting that fixes it."""
        shown = ", ".join(repr(v) for v in self.examples)
        named = " or ".join(repr(f) for f in self.formats)
        if self.ambiguous:
            what = f"dates that are not ISO 8601 and could be read either as {named} (e.g. {shown})"
        else:
            what = f"dates that are not ISO 8601 (e.g. {shown}), written like {named}"
        return f"{where} holds {what}; they are never guessed: set {setting}, or write them as ISO 8601"


# A format naming an epoch unit: times written as whole seconds or milliseconds since 1970 (API and
# spreadsheet exports). A whole number from EPOCH_RANGE's start to its end in that unit is a time; any other
# value is no date (quarantined), never a guess at another unit: seconds read as milliseconds fall in January
# 1970, milliseconds read as seconds after 2100.
EPOCH_UNITS = {"epoch_s": "s", "epoch_ms": "ms"}
EPOCH_RANGE = (pd.Timestamp("2000-01-01"), pd.Timestamp("2100-01-01"))


def named_format(fmt: str) -> str:
    """A format a column may be named with: an epoch unit (EPOCH_UNITS) or a strftime pattern (check_format)."""
    return fmt if fmt in EPOCH_UNITS else check_format(fmt)


def check_format(fmt: str) -> str:
    """A strftime pattern that writes and reads back a date and time (else ValueError). A pattern with a time
    zone (%z, %Z: "2026-03-04 10:00:00 UTC", the format the refusal of such a column proposes) is tried on a
    time in UTC: a naive one writes no zone, and the pattern was refused though it reads the column."""
    zoned = "%z" in fmt or "%Z" in fmt
    probe = pd.Timestamp("2026-03-25 13:45:30", tz="UTC" if zoned else None)
    try:
        text = probe.strftime(fmt)
        back = pd.to_datetime(text, format=fmt)
    except (ValueError, TypeError) as error:
        said = " ".join(str(error).split("You might want")[0].split())  # pandas' advice is for its own API
        raise ValueError(f"date format {fmt!r} is not a strftime pattern: {said}") from error
    if back.date() != probe.date():
        raise ValueError(f"date format {fmt!r} does not name a day, a month and a year, e.g. '%d/%m/%Y'")
    return fmt


class DateFormats(BaseModel):
    """How non-ISO dates are written in the input (`input` in the configuration). ISO 8601 is always read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date_format: str | None = None  # every timestamp column, e.g. "%d/%m/%Y"
    date_formats: dict[str, dict[str, str]] = Field(default_factory=dict)  # table -> column -> format

    @field_validator("date_format")
    @classmethod
    def _valid_default(cls, fmt: str | None) -> str | None:
        return None if fmt is None else named_format(fmt)

    @model_validator(mode="after")
    def _known_columns(self) -> DateFormats:
        for table, columns in self.date_formats.items():
            if table not in TIMESTAMP_COLUMNS:
                raise ValueError(
                    f"date_formats: {table!r} is not a CRM table ({', '.join(TIMESTAMP_COLUMNS)})"
                )
            for column, fmt in columns.items():
                if column not in TIMESTAMP_COLUMNS[table]:
                    known = ", ".join(TIMESTAMP_COLUMNS[table])
                    raise ValueError(f"date_formats.{table}: {column!r} is not a timestamp column ({known})")
                named_format(fmt)
        return self

    def format_for(self, table: str, column: str) -> str | None:
        """The named format of one column (its own, else the default), or None: ISO 8601 only."""
        return self.date_formats.get(table, {}).get(column, self.date_format)


def blank(values: pd.Series) -> np.ndarray:
    """Missing, or text that is empty after stripping (CSV readers and CRMs write both)."""
    missing = values.isna().to_numpy()
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        empty = values.astype("str").str.strip().eq("").fillna(True).to_numpy(dtype=bool)
        missing = missing | empty
    return missing


def naive_utc(when: object) -> pd.Timestamp:
    """A time as the naive UTC time every input time is read as (one with an offset converted; one without
    is UTC already)."""
    ts = pd.Timestamp(when)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def epoch_number(time: pd.Timestamp, fmt: str) -> int:
    """`time` as a whole number of the epoch unit `fmt` names ("epoch_s", "epoch_ms")."""
    return (time - pd.Timestamp("1970-01-01")) // pd.Timedelta(1, unit=EPOCH_UNITS[fmt])


def _epoch_times(values: pd.Series, fmt: str) -> tuple[pd.Series, np.ndarray]:
    """Whole numbers of `fmt`'s unit within EPOCH_RANGE; ISO 8601 dates too (always read, as in every other
    column: a route that saw a whole column of them read it as dates before the contract, one that saw them
    among numbers quarantined them); anything else (a number out of range, "2026") is no date."""
    text = values.astype(object).where(values.notna(), None)
    numbers = pd.to_numeric(text.map(_epoch_text), errors="coerce")
    start, end = (epoch_number(t, fmt) for t in EPOCH_RANGE)
    ok = (numbers.notna() & (numbers % 1 == 0) & (numbers >= start) & (numbers < end)).to_numpy(bool).copy()
    times = pd.to_datetime(numbers.where(ok), unit=EPOCH_UNITS[fmt])
    given = ~blank(values)
    dated = given & ~ok & text.astype("str").str.match(ISO_DATE_START).to_numpy(bool)
    if dated.any():
        read = _to_utc(text[dated], ISO).dt.tz_localize(None)
        times[dated] = read
        ok[dated] = read.notna().to_numpy()
    return times, given & ~ok


ISO_DATE_START = r"\s*\d{4}-\d{2}-\d{2}"  # an ISO 8601 date, not a bare number an ISO parser reads as a year


def _epoch_text(value: object) -> object:
    """A cell as a number's text ("1717171717", " 1717171717.0 "), or None for a blank."""
    if value is None or isinstance(value, bool):
        return None if value is None else "no number"
    return str(value).strip() or None


def parse_timestamps(values: pd.Series, fmt: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """Naive UTC timestamps, and a mask of present values that are not dates (for the quarantine).

    ISO 8601 first; then `fmt` (when named) for what is left. With no `fmt`, leftovers that are dates in
    some other format raise DateFormatError: never guessed, never dropped. Epoch numbers are read only when
    `fmt` names their unit (EPOCH_UNITS); otherwise they count as unparsed.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.tz_localize(None), np.zeros(len(values), dtype=bool)
    if pd.api.types.is_datetime64_dtype(values):
        return values, np.zeros(len(values), dtype=bool)
    if fmt in EPOCH_UNITS:
        return _epoch_times(values, fmt)
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]"), values.notna().to_numpy()
    missing = blank(values)
    source = values.where(~missing).astype(object).where(~missing, None)
    parsed = _to_utc(source, ISO)
    left = parsed.isna().to_numpy() & ~missing
    if left.any() and fmt is not None:
        parsed[left] = _to_utc(source[left], fmt)
        left = parsed.isna().to_numpy() & ~missing
    elif left.any():
        _refuse_other_formats(source[left])
    return parsed.dt.tz_localize(None), left


def iso_or_unchanged(values: pd.Series) -> pd.Series:
    """The column as timestamps when every present value is ISO 8601; else unchanged, for the contract."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return values
    parsed, other = _iso_read(values)
    if other.any():
        return values
    return parsed.dt.tz_localize(None)


def not_iso(values: pd.Series) -> np.ndarray:
    """A mask of a text column's present values that are not ISO 8601: iso_or_unchanged leaves a column
    holding any of them as text."""
    return _iso_read(values)[1]


def _iso_read(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = blank(values)
    source = values.where(~missing).astype(object).where(~missing, None)
    parsed = _to_utc(source, ISO)
    return parsed, parsed.isna().to_numpy() & ~missing


# Words pandas reads as the clock time in any format: a lead "created today" would move with the day it is
# read, and one such cell made every format look fitting in the DateFormatError's sentence. Never dates.
# Spelt out (cases, a blank around) so that a column of a million times is looked up, not lowered and stripped.
CLOCK_WORDS = frozenset(
    f"{before}{spelt}{after}"
    for word in ("now", "today")
    for spelt in (word, word.upper(), word.title())
    for before in ("", " ")
    for after in ("", " ")
)


def _to_utc(values: pd.Series, fmt: str) -> pd.Series:
    clock = values.isin(CLOCK_WORDS).to_numpy()
    values = values.where(~clock, None) if clock.any() else values
    with warnings.catch_warnings():  # pandas warns about formats it infers; we name them, and do not print
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(values, errors="coerce", utc=True, format=fmt)


def _refuse_other_formats(leftovers: pd.Series) -> None:
    """Raise DateFormatError when some leftovers are dates in a non-ISO format; return if none is a date."""
    distinct = pd.Series(pd.unique(leftovers.astype("str").str.strip().to_numpy(dtype=object)), dtype=object)
    formats: list[str] = list(_TWO_DIGIT_YEARS)
    for value in distinct.iloc[:_GUESSES]:
        formats.extend(f for f in _candidate_formats(value) if f not in formats)
    reads = {f: _to_naive(distinct, f) for f in formats}
    dates = np.zeros(len(distinct), dtype=bool)
    for read in reads.values():
        dates |= read.notna().to_numpy()
    if not dates.any():
        return
    fitting = [f for f, read in reads.items() if read.notna().to_numpy()[dates].all()]
    fitting = fitting or [f for f, read in reads.items() if read.notna().any()]
    examples = distinct[dates]
    if len(fitting) > 1:  # two values that the fitting formats read differently show the ambiguity best
        readings = pd.concat([reads[f][dates] for f in fitting], axis=1)
        differ = readings.nunique(axis=1, dropna=False).to_numpy() > 1
        examples = examples[differ] if differ.any() else examples
    raise DateFormatError([str(v) for v in examples.iloc[:2]], fitting)


def _candidate_formats(value: str) -> list[str]:
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for dayfirst in (False, True):
            fmt = guess_datetime_format(value, dayfirst=dayfirst)
            if fmt and not _year_day_month(fmt) and fmt not in found:
                found.append(fmt)
    return found


def _year_day_month(fmt: str) -> bool:
    """Year, then day, then month: a layout nobody writes, which pandas offers for ISO-like typos (2026-13-05)."""
    day, month = fmt.find("%d"), fmt.find("%m")
    return fmt.startswith("%Y") and -1 < day < month


def _to_naive(values: pd.Series, fmt: str) -> pd.Series:
    return _to_utc(values, fmt).dt.tz_localize(None)
