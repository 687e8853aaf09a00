"""Which columns hold dates and which one is the creation time: text of one date shape (ISO 8601, or one
other format, or formats it cannot tell apart), or whole numbers of seconds or milliseconds since 1970 under
a time-like name (date_columns); the creation date is the column named by the first of rules.time_words
(add_timestamp), with its date_format or a QUESTION. written_in_digits tells a creation column whose values
do not read as dates (a spreadsheet's day numbers) from a category.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from features.dates import EPOCH_RANGE, EPOCH_UNITS, DateFormatError, epoch_number, parse_timestamps
from features.draft_rules import Draft, DraftRules, has_word, name_words


@dataclass
class DateColumn:
    """A column of dates as read, and its format (None: ISO 8601, datetimes, or one of `formats`)."""

    times: pd.Series
    date_format: str | None
    formats: list[str]  # when ambiguous: the formats it could be


def date_columns(frame: pd.DataFrame, rules: DraftRules) -> dict[str, DateColumn]:
    """Columns whose filled values are (almost all) dates: ISO 8601, or one other format."""
    found = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            found[str(column)] = DateColumn(values, None, [])
            continue
        if pd.api.types.is_numeric_dtype(values) and values.notna().any():
            epoch = epoch_unit(column, values, rules)
            if epoch:
                found[str(column)] = DateColumn(parse_timestamps(values, epoch)[0], epoch, [])
            continue
        if values.notna().sum() == 0:
            continue
        sample = values.dropna().astype("str").head(50)
        if not looks_like_dates(sample).mean() > 0.9:
            continue
        try:
            times, unparsed = parse_timestamps(values)
            fmt, formats = None, []
        except DateFormatError as error:
            formats = list(error.formats)
            fmt = formats[0] if len(formats) == 1 else None
            times, unparsed = parse_timestamps(values, fmt or formats[0])
        if unparsed.sum() <= 0.1 * values.notna().sum():
            found[str(column)] = DateColumn(times, fmt, formats if len(formats) > 1 else [])
    return found


# A date in digits (2024-12-31, 31.12.2024, 12/31/2024 11:05 PM), or a month's name beside a 4-digit year
# (Dec 31, 2024; 31-Dec-2024; 31 December 2024): the shapes worth handing to the date parser.
DATE_SHAPES = (
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
    r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\b|\d).*\b\d{4}\b)"
)


def looks_like_dates(text: pd.Series) -> pd.Series:
    """Whether each text value has the shape of a written date (DATE_SHAPES)."""
    return text.str.contains(DATE_SHAPES, regex=True)


EPOCH_NAME_WORDS = ["date", "time", "timestamp", "epoch", "unix", "at"]


def epoch_unit(column: object, values: pd.Series, rules: DraftRules) -> str | None:
    """The unit ("epoch_s" or "epoch_ms") of a numeric column that holds times as seconds or milliseconds since 1970:
    its name says time (a creation word, or date, time, timestamp, epoch, unix, at) and every value is a
    whole number between 2000-01-01 and 2100-01-01 in that unit (features.dates.EPOCH_RANGE, the range the
    spec then reads; the two units' ranges do not overlap); else None."""
    if not has_word(column, [*rules.time_words, *EPOCH_NAME_WORDS]):
        return None
    return epoch_unit_of_values(values)


def epoch_unit_of_values(values: pd.Series) -> str | None:
    """The unit ("epoch_s" or "epoch_ms") in which every filled value of a numeric column is a whole number
    between 2000-01-01 and 2100-01-01 (features.dates.EPOCH_RANGE), whatever the column's name; else None.
    Values that are all round thousands of seconds are amounts, not times (an enterprise's revenue of
    $1,000,000,000 to $4,000,000,000 sits in the seconds' range; times fall on round thousands one in 1,000)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    numbers = values.dropna().astype("float64")
    if not len(numbers) or not bool((numbers % 1 == 0).all()):
        return None
    for fmt in EPOCH_UNITS:
        low, high = (epoch_number(t, fmt) for t in EPOCH_RANGE)
        seconds = numbers / epoch_number(pd.Timestamp("1970-01-01 00:00:01"), fmt)
        if bool(numbers.between(low, high, inclusive="left").all()) and not bool((seconds % 1000 == 0).all()):
            return fmt
    return None


def written_as(name: str, column: DateColumn) -> str:
    """A date column's name with its format when it is not ISO 8601 ("'Dt_Customer' '%d-%m-%Y'"), or the
    formats it could be, so that naming it the creation date does not stop at its first date."""
    if column.formats:
        return f"{name!r} {' or '.join(map(repr, column.formats))}"
    return f"{name!r} {column.date_format!r}"


def one_sided_fill(times: pd.Series, outcome: pd.Series, rules: DraftRules) -> str | None:
    """Why a date column filled in far more often for the won leads than for the lost ones (or the reverse,
    by rules.fill_gap) is no creation date, which every lead has ('Opportunity: Created Date' in a leads
    report: the day the lead converted); None otherwise."""
    shares = {key: float(times[(outcome == key).to_numpy()].notna().mean()) for key in ("won", "lost")}
    if (
        min((outcome == key).sum() for key in shares) < 5
        or abs(shares["won"] - shares["lost"]) < rules.fill_gap
    ):
        return None
    return (
        f"filled in for {shares['won']:.0%} of the won and {shares['lost']:.0%} of the lost leads: a date written "
        "as the lead went on (its conversion), not when it came in, which every lead has"
    )


def add_timestamp(
    draft: Draft, dates: dict[str, DateColumn], rules: DraftRules, outcome: pd.Series | None = None
) -> None:
    """Set the spec's timestamp_column and date_format from the date columns, with notes and QUESTIONs. With
    each row's `outcome`, a creation-named date filled in for one side far more often is passed over."""
    # The creation word listed first wins, whatever the column order: "Create Date" over HubSpot's "Became a
    # Lead Date" (a later lifecycle date, filled for some leads only); then the fuller column.
    words = [name_words(w) for w in rules.time_words]
    ranked = sorted(
        (c for c in dates if has_word(c, rules.time_words)),
        key=lambda c: (
            words.index(name_words(str(has_word(c, rules.time_words)))),
            -dates[c].times.notna().sum(),
        ),
    )
    created, passed_over = [], []
    for name in ranked:  # the ones ranked before the creation date are passed over with a QUESTION
        why = one_sided_fill(dates[name].times, outcome, rules) if outcome is not None else None
        if why is None:
            created.append(name)
        elif not created:
            passed_over.append(name)
            draft.questions.append(
                f"{name!r} is named as a creation date but is {why}: not the timestamp_column"
            )
    draft.spec["timestamp_column"] = created[0] if created else None
    draft.spec["date_format"] = None
    if not created:
        draft.notes["timestamp_column"] = "no creation date found: the split will be random, not out of time"
        # a date named as written after the outcome (a close date) is never the creation date
        candidates = [c for c in dates if not has_word(c, rules.leaky_words) and c not in passed_over]
        if candidates:
            formats = [
                written_as(c, dates[c]) for c in candidates if dates[c].date_format or dates[c].formats
            ]
            which = (
                repr(candidates[0]) if len(candidates) == 1 else f"one of {', '.join(map(repr, candidates))}"
            )
            draft.questions.append(
                f"is {which} the date the lead was created? If so, name it in "
                "timestamp_column (and remove it from the other roles)"
                + (f", with its date_format: {'; '.join(formats)}" if formats else "")
            )
        return
    column = dates[created[0]]
    draft.notes["timestamp_column"] = "when the lead was created: the split is out of time on it"
    if column.formats:
        draft.notes["date_format"] = (
            f"QUESTION: its dates could be read as {' or '.join(column.formats)}; name the right one"
        )
        draft.questions.append(
            f"timestamp column {created[0]!r}: could be {' or '.join(column.formats)}; set date_format"
        )
    elif column.date_format in EPOCH_UNITS:
        draft.spec["date_format"] = column.date_format
        unit = "seconds" if column.date_format == "epoch_s" else "milliseconds"
        draft.notes["date_format"] = (
            f"{unit} since 1970: every value a whole number between 2000 and 2100 in {unit}"
        )
    elif column.date_format:
        draft.spec["date_format"] = column.date_format
        draft.notes["date_format"] = "the only format its dates can be read in"
    else:
        draft.notes["date_format"] = "ISO 8601"


def written_in_digits(values: pd.Series) -> bool:
    """Numbers, or text whose filled values mostly hold a digit: what a date written oddly (or dates with text
    in some rows) looks like, unlike a category ("Email", "Phone")."""
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return True
    text = values.dropna().astype("str")
    return bool(len(text)) and bool(text.str.contains(r"\d", regex=True).mean() >= 0.5)
