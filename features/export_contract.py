"""The row contract of a flat lead export: rows that break it go to quarantine with the reason, never silently
into the model.

A repeated id would put the same lead in the training and the test window (a flattering test) and score it
twice; a row without an id cannot be scored back into a CRM; a number written "1,234" or "n/a" would
otherwise be read as missing without a word; a time that is no date cannot be placed in time; a label value in
none of the spec's lists (a typo of "Closed Won", a stage added to the CRM) is neither trained on nor scored as
an open lead.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.contracts import (
    CHECK_REASONS,
    EARLIEST_DATE,
    LATEST_DATE,
    QUARANTINE_COLUMNS,
    RANGES,
    dotted_thousands_cells,
    in_whole_units,
    true_false_cells,
)
from features.dates import DateFormatError, blank, parse_timestamps
from features.flat import (
    NUMERIC_ICP_ATTRIBUTES,
    ExportSpec,
    as_numeric,
    label_outcomes,
    label_text,
    not_numbers_dtype,
    without_placeholders,
)
from features.keys import formula_errors, in_scientific_notation

EXPORT_TABLE = "export"
TIME_TEXT = re.compile(r"^(\d{4}-\d\d-\d\d|-?\d+ days)")  # how pandas writes a time or a duration
# A broken rule: its rows (a mask), the column, the rule, and the reason (one for all rows, or one per row).
Finding = tuple[np.ndarray, str, str, str | list[str]]


def numeric_columns(spec: ExportSpec) -> list[str]:
    """The export columns the spec reads as numbers: numeric fit columns, every intent column, and the columns
    icp_columns maps to a number (employee count, revenue): a revenue written "$1,200,000" would otherwise be
    read as not given, and the guardrail's revenue criterion silently never met."""
    columns = [c for c, kind in spec.fit_columns.items() if kind == "numeric"] + list(spec.intent_columns)
    icp = [c for a, c in spec.icp_columns.items() if a in NUMERIC_ICP_ATTRIBUTES]
    return list(dict.fromkeys([*columns, *icp]))


def missing_id_rows(ids: pd.Series) -> np.ndarray:
    """Rows whose id is missing or blank."""
    return (ids.isna() | ids.astype("str").str.strip().eq("")).to_numpy()


def repeated_id_rows(ids: pd.Series, missing: np.ndarray) -> np.ndarray:
    """Rows whose id (compared as trimmed text) already appeared on an earlier row; the first one is kept."""
    text = ids.astype("str").str.strip()
    return (text.duplicated(keep="first") & ~pd.Series(missing, index=ids.index)).to_numpy()


def not_a_number_rows(values: pd.Series) -> np.ndarray:
    """Rows with a value given that is not a finite number (text, "1,234", inf, a true/false, a time)."""
    given = ~blank(values)
    if not_numbers_dtype(values):  # times read as their nanoseconds: a date scored as 1.8e18 page views
        return given
    flags = true_false_cells(values)
    parsed = as_numeric(values.astype(object).mask(flags) if flags.any() else values)
    return given & (~np.isfinite(parsed.to_numpy()) | flags)


def range_findings(frame: pd.DataFrame, spec: ExportSpec) -> list[Finding]:
    """Rows whose column mapped to employee_count or annual_revenue holds a number no company has (fewer than
    1 employee, a negative revenue, more than 10,000,000 employees, a revenue above 10 trillion: a unit or
    export error) or a revenue written with dots between thousands ("250.000"), as the CRM contract
    quarantines them."""
    found: list[Finding] = []
    mapped = {str(attribute): column for attribute, column in spec.icp_columns.items()}
    for attribute, checks in RANGES.items():
        column = mapped.get(attribute)
        if column is None or column not in frame.columns:
            continue
        values = without_placeholders(frame[column], spec.missing_values)
        numbers = as_numeric(values)
        finite = np.isfinite(numbers.to_numpy())  # what is no number is not_a_number_rows's
        for check in checks:
            outside = finite & ~check(numbers.fillna(0.0)).check_output.to_numpy(dtype=bool)
            found.append(
                (outside, column, str(check.error), CHECK_REASONS[str(check.error)].format(column=column))
            )
        if in_whole_units("accounts", attribute):  # a revenue "250.000": 250,000, read as 250
            rule = "no dots between thousands"
            dotted = finite & dotted_thousands_cells(values)
            found.append((dotted, column, rule, CHECK_REASONS[rule].format(column=column)))
    return found


def given_times(frame: pd.DataFrame, spec: ExportSpec) -> pd.Series:
    """The timestamp column with the spec's missing_values set missing: a placeholder ("N/A", "-") is a time
    not given, never a time that is no date."""
    return without_placeholders(frame[str(spec.timestamp_column)], spec.missing_values)


def bad_date_rows(values: pd.Series, date_format: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with a time given that the one date parser cannot read (ISO 8601, or the spec's format), rows
    whose time is before EARLIEST_DATE, and rows whose time is LATEST_DATE or later (placeholders, as the CRM
    contract reads them: 9999-12-31 was a lead "created after as_of", never scored nor quarantined)."""
    given = ~blank(values)
    try:
        parsed = parse_timestamps(values, date_format)[0]
    except DateFormatError:  # the whole column's format: refused by the reader, exit 3
        nothing = np.zeros(len(values), dtype=bool)
        return nothing, nothing, nothing.copy()
    early = (parsed < EARLIEST_DATE).to_numpy(dtype=bool)
    return given & parsed.isna().to_numpy(), early, (parsed >= LATEST_DATE).to_numpy(dtype=bool)


def quarantine_unknown_labels(
    valid: pd.DataFrame, quarantine: pd.DataFrame, spec: ExportSpec
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """At scoring: rows whose label value is in none of the spec's lists join the quarantine (training refuses
    them instead: the spec must say what they are before anything learns from them)."""
    if spec.label_column not in valid.columns:
        return valid, quarantine
    rows = unknown_label_rows(valid, spec)
    if not rows.any():
        return valid, quarantine
    reasons = [label_reason(spec, value) for value in valid.loc[rows, spec.label_column]]
    return _moved_to_quarantine(
        valid, quarantine, spec, [(rows, spec.label_column, "label_in_spec", reasons)]
    )


def quarantine_untimed(
    valid: pd.DataFrame, quarantine: pd.DataFrame, spec: ExportSpec, now: pd.Timestamp, need_time: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """In training: rows whose time is after `now` (the run's clock, naive UTC) join the quarantine (rule
    not_in_future: an export holds what happened before it was taken, so a 2031 is a typo, and such a row
    would sit in the out-of-time test window as its newest lead); with `need_time` (an out-of-time split),
    so do rows without a time (rule not_null: the split cannot place them; it raised a traceback)."""
    column = spec.timestamp_column
    if not column or column not in valid.columns:
        return valid, quarantine
    try:
        times = parse_timestamps(given_times(valid, spec), spec.date_format)[0]
    except DateFormatError:
        return valid, quarantine  # the whole column's format: refused by the reader, exit 3
    future = (times > now).to_numpy()
    untimed = times.isna().to_numpy() & need_time
    found: list[Finding] = [
        (
            future,
            column,
            "not_in_future",
            f"{column} is after the time of this run ({now:%Y-%m-%d %H:%M} UTC): a lead created in the future",
        ),
        (
            untimed,
            column,
            "not_null",
            f"{column} is missing: the out-of-time split places every lead by its time; fill it in, or set "
            "model.split.method: grouped_random",
        ),
    ]
    return _moved_to_quarantine(valid, quarantine, spec, found)


def _moved_to_quarantine(
    valid: pd.DataFrame, quarantine: pd.DataFrame, spec: ExportSpec, found: list[Finding]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`valid` without the rows of `found`, and `quarantine` with them added (rows numbered by their position
    in the export, `valid`'s index, as check_export numbers them)."""
    rows = np.logical_or.reduce([mask for mask, *_ in found])
    if not rows.any():
        return valid, quarantine
    new = _quarantine_frame(valid, valid[spec.id_column], found)
    new["row"] = valid.index[new["row"].to_numpy(dtype="int64")]
    merged = pd.concat([quarantine, new], ignore_index=True) if len(quarantine) else new
    return valid.loc[~rows], merged.sort_values(["row", "column"], kind="stable").reset_index(drop=True)


def unknown_label_rows(frame: pd.DataFrame, spec: ExportSpec) -> np.ndarray:
    """Rows whose label is in none of the spec's label lists (a spec that names its lost values, or one without
    fold_levels whose value matches a list only in another case: label_outcomes)."""
    return (label_outcomes(frame, spec) == "unknown").to_numpy()


def label_reason(spec: ExportSpec, value: object) -> str:
    """Why a label value is refused, with the fix."""
    return (
        f"{spec.label_column} {label_text(value)!r} is in none of positive_labels, negative_labels or open_labels "
        f"of spec {spec.name!r}: add it to the list it belongs to"
    )


def number_reason(column: str, sample: str) -> str:
    """Why a value is not a number, with the fix."""
    if TIME_TEXT.match(sample):  # a column of times or durations (a Parquet or in-process frame's)
        return (
            f"{column} is not a number but a date, time or duration ({sample!r}); the spec reads the column "
            "as numbers: send numbers, or give the column another role in the spec"
        )
    if any(sep in sample for sep in (",", "'", " ")) and any(ch.isdigit() for ch in sample):
        return (
            f"{column} is not a number: numbers written with separators ({sample!r}); export numbers without "
            "thousands separators, with a point as the decimal mark"
        )
    if any(sign in sample for sign in "%$€£¥") and any(ch.isdigit() for ch in sample):
        return (
            f"{column} is not a number: a number written with a sign ({sample!r}); export plain numbers "
            "(12 for 12%, 1200 for $1200)"
        )
    if sample in ("True", "False"):
        return (
            f"{column} is not a number but true/false ({sample!r}); give the column as categorical in the "
            "spec's fit_columns"
        )
    return f"{column} is not a number ({sample!r}); add the value to missing_values in the spec if it means 'not given'"


def check_export(frame: pd.DataFrame, spec: ExportSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that keep the contract (original index kept) and the quarantine (QUARANTINE_COLUMNS; row is
    the 0-based position in the export, key its id)."""
    frame = frame.reset_index(drop=True)
    ids = frame[spec.id_column]
    found: list[Finding] = []
    missing = missing_id_rows(ids)
    found.append((missing, spec.id_column, "not_null", f"{spec.id_column} is missing: the lead has no id"))
    found.append(
        (
            repeated_id_rows(ids, missing),
            spec.id_column,
            "unique",
            f"{spec.id_column} repeats an earlier row's id: a lead is one row; the first row is kept",
        )
    )
    for rule, cells in (
        ("not a formula error", formula_errors(ids)),
        ("not in scientific notation", in_scientific_notation(ids)),
    ):
        found.append(
            (cells.to_numpy(), spec.id_column, rule, CHECK_REASONS[rule].format(column=spec.id_column))
        )
    for column in numeric_columns(spec):
        if column not in frame.columns:
            continue
        values = without_placeholders(frame[column], spec.missing_values)
        rows = not_a_number_rows(values)
        reasons = [number_reason(column, str(value)) for value in values[rows]]
        found.append((rows, column, "is_number", reasons))
    found += range_findings(frame, spec)
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        rows, early, late = bad_date_rows(given_times(frame, spec), spec.date_format)
        epoch = pd.api.types.is_numeric_dtype(frame[spec.timestamp_column])
        how = (
            f"the format {spec.date_format!r}"
            if spec.date_format
            else "ISO 8601 (or set date_format in the spec"
            + ("; epoch_s or epoch_ms for seconds or milliseconds since 1970)" if epoch else ")")
        )
        reason = f"{spec.timestamp_column} is not a date in {how}"
        found.append((rows, spec.timestamp_column, "is_date", reason))
        placeholder = CHECK_REASONS["not before 1990"].format(column=spec.timestamp_column).removesuffix(".")
        found.append((early, spec.timestamp_column, "not before 1990", placeholder))
        far_ahead = CHECK_REASONS["before 2099"].format(column=spec.timestamp_column).removesuffix(".")
        found.append((late, spec.timestamp_column, "before 2099", far_ahead))
    quarantine = _quarantine_frame(frame, ids, found)
    bad = np.zeros(len(frame), dtype=bool)
    for rows, *_ in found:
        bad |= rows
    return frame.loc[~bad], quarantine


def _quarantine_frame(frame: pd.DataFrame, ids: pd.Series, found: list[Finding]) -> pd.DataFrame:
    parts = [
        pd.DataFrame(
            {
                "table": EXPORT_TABLE,
                "row": np.flatnonzero(rows),
                "key": ids[rows].astype("str").to_numpy(),
                "column": column,
                "check": check,
                "value": frame.loc[rows, column].astype("str").to_numpy(),
                "reason": reason,
            }
        )
        for rows, column, check, reason in found
        if rows.any()
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS})
    return (
        pd.concat(parts, ignore_index=True)
        .sort_values(["row", "column"], kind="stable")
        .reset_index(drop=True)
    )
