"""The data contract of the four CRM tables: coerce, check, split each table into valid rows and quarantine.

Nothing is dropped without a trace: every input row is either in `ValidationResult.valid` or in
`ValidationResult.quarantine`, which says per rejected row which column, which check and which value failed.

Order of work per table:
1. required columns present (else `ContractError`: no row of that table can be valid);
2. coercion, column by column, recording values that do not parse ("parse(datetime)", "parse(number)");
3. the pandera schema (`table_schema`), validated lazily on the coerced frame: nulls, ranges, vocabularies,
   row rules across columns, duplicate ids, timestamps after `as_of`; its dtypes, which the coercion sets, are
   checked apart (a wrong one is a bug: `ContractError`);
4. (`validate_tables` only) cross-table references, cascading from accounts to leads to activities and deals.

Coercion: ids become stripped `str` (an empty id counts as missing; float ids such as 12.0, or the text "12.0"
a CSV of such a column holds, become "12", and so do whole numbers in a float column of text, such as industry
codes),
timestamps naive UTC `datetime64` through `features.dates.parse_timestamps` (ISO 8601, or the format named
for the column in `DateFormats`; dates in any other format stop the table with `ContractError`; tz-aware input
is converted to UTC, then the tz dropped; the unit is whatever pandas chose), the accounts' country an ISO
alpha-2 code (`features.countries`), employee_count, annual_revenue and amount `float64`, other text `str`.

With `as_of`, a lead or deal created after it did not exist yet: it is neither valid nor quarantined but
counted as "not created yet" (`ValidationResult.not_created`), and so are the activities and deals of such a
lead. A lead whose deal was quarantined and may have closed (anything but a clean open deal, or a deal closed
after `as_of`) is quarantined with it: its status is unknown, so it must never be scored as open.
An optional column (accounts.founded_year) is checked when the table has it. Extra columns are kept
untouched. Duplicate ids: the first occurrence in input order is kept, later ones are
quarantined, whether or not the first one is itself valid.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc
from pandera.config import ValidationDepth, config_context
from pandera.engines.pandas_engine import Engine
from pandera.errors import SchemaErrors

from features.countries import alpha2_countries
from features.dates import TIMESTAMP_COLUMNS, DateFormatError, DateFormats, blank, naive_utc, parse_timestamps
from features.keys import (
    float_written_ids,
    formula_errors,
    in_scientific_notation,
    visible_ids,
    without_leading_zeros,
)
from features.text import NO_VALUE_SPELLINGS, is_no_value, spelled_word
from features.vocab import (
    ACTIVITY_OTHER_SPELLINGS,
    ACTIVITY_TYPES,
    LOST_REASONS,
    OPTIONAL_COLUMNS,
    OUTCOMES,
    TABLE_COLUMNS,
    TABLE_KEYS,
    TABLES,
)

QUARANTINE_COLUMNS = ("table", "row", "key", "column", "check", "value", "reason")
MISSING_VALUE = "<missing>"  # how a missing offending value is written in quarantine.value

CLOSED_OUTCOMES = ("won", "lost")

# Short rule names (quarantine.check) and the sentence (quarantine.reason) each one stands for.
CHECK_REASONS = {
    "parse(datetime)": (
        "{column} could not be read as a date and time; write it as ISO 8601 (2026-09-30T10:00:00) or in the "
        "format input.date_formats names for the column (a strftime pattern, or epoch_s / epoch_ms for "
        "seconds or milliseconds since 1970), or leave it empty."
    ),
    "parse(number)": (
        "{column} could not be read as a finite number; write plain numbers (1234.5: no thousands separator, "
        "a point as the decimal mark, no % or currency sign), or leave it empty when not known."
    ),
    "iso country": "{column} is not a country name or ISO 3166 code; write its two-letter code, e.g. US or DE.",
    "not_null": "{column} is required but missing.",
    "unique": "{column} repeats the id of an earlier row; the first occurrence is kept.",
    "not in scientific notation": (
        "{column} is written in scientific notation (such as 1.23457E+11), as a spreadsheet shows a long number: "
        "the spreadsheet rounded the id, so it names no record of the CRM; export the table again without "
        "saving it from a spreadsheet (or import the column as text there)."
    ),
    "not a formula error": (
        "{column} is a spreadsheet's formula error (such as #N/A, a lookup that found nothing), not an id: the "
        "row names no record of the CRM; fill in its id, or leave the row out."
    ),
    "ge(1)": "{column} must be at least 1.",
    "ge(0)": "{column} must not be negative.",
    "ge(1800)": "{column} must be a year from 1800 on.",
    "not before 1990": (
        "{column} is before 1990: a CRM date that old is a placeholder (such as 1970-01-01, time zero), not "
        "when it happened; leave it empty when not known."
    ),
    "before 2099": (
        "{column} is in 2099 or later: a CRM date that far ahead is a placeholder (such as 9999-12-31), not "
        "when it happened; give the real date, or leave it empty when not known."
    ),
    "le(10000000)": "{column} is above 10,000,000: no company has that many employees; check the export's unit.",
    "le(1e13)": "{column} is above 10 trillion: no company or deal is that large; check the export's unit.",
    "whole year": "{column} must be a whole year, e.g. 1998.",
    "no dots between thousands": (
        "{column} is written with dots between thousands: 250.000 is how a European export writes 250,000, "
        "which reads as 250; write plain numbers (250000)."
    ),
    "whole number": (
        "{column} must be a whole number of people: 1.200 is how a European export writes 1,200 (a dot between "
        "thousands), which reads as 1.2; write plain numbers (1200)."
    ),
    "year not after as_of": "{column} is later than the year of the snapshot (as_of): the company did not exist yet.",
    "contains('@')": "{column} does not look like an email address (no '@').",
    "isin(ACTIVITY_TYPES)": "{column} is not one of the known activity types.",
    "isin(OUTCOMES)": "{column} must be one of won, lost or open.",
    "isin(LOST_REASONS) when lost": "A lost deal needs a lost_reason from the known list.",
    "notnull when won/lost": "A won or lost deal needs a closed_at timestamp.",
    "null when open": "An open deal must not have a closed_at timestamp.",
    "closed_at >= created_at": "The deal was closed before it was created.",
    "not before its lead": (
        "The deal was created before its lead (leads.created_at): a lead that did not exist yet has no "
        "history to learn from at the deal's creation; give the lead its first created_at (a migrated or "
        "re-created lead record keeps the date it came)."
    ),
    "not after as_of": "The timestamp is in the future of the snapshot (as_of).",
    "references unknown lead": "lead_id does not match any lead.",
    "references unknown account": "account_id does not match any account.",
    "lead id of other length": (
        "lead_id matches a lead only in its first 15 characters: Salesforce writes an id in 15 characters "
        "(case-sensitive) or 18 (the same and 3 more); export every table with the 18-character ids."
    ),
    "account id of other length": (
        "account_id matches an account only in its first 15 characters: Salesforce writes an id in 15 "
        "characters (case-sensitive) or 18 (the same and 3 more); export every table with the 18-character ids."
    ),
    "lead id with other leading zeros": (
        "lead_id matches a lead only when leading zeros are ignored ('7' for the lead '007'): a spreadsheet "
        "that opened the CSV dropped the zeros of an id of digits; export the tables from the CRM again, or "
        "import the id columns as text, so that every table writes an id as the CRM does."
    ),
    "account id with other leading zeros": (
        "account_id matches an account only when leading zeros are ignored ('7' for the account '007'): a "
        "spreadsheet that opened the CSV dropped the zeros of an id of digits; export the tables from the CRM "
        "again, or import the id columns as text, so that every table writes an id as the CRM does."
    ),
    "parent lead quarantined": "The lead this row belongs to was quarantined.",
    "parent account quarantined": "The account this row belongs to was quarantined.",
    "deal quarantined": (
        "A deal of this lead was quarantined and may have closed (won or lost), so the lead cannot count as "
        "open; fix that deal row (a deal whose lead_id names this lead in another length or with other "
        "leading zeros counts as its deal)."
    ),
}


class ContractError(ValueError):
    """A table cannot be validated at all (unknown table, missing or duplicated column)."""


class AccountingError(AssertionError):
    """Rows were lost: read != valid + quarantined for some table (a bug, never a data problem)."""


Kind = Literal["id", "text", "timestamp", "number", "country"]


@dataclass(frozen=True)
class _Field:
    kind: Kind
    nullable: bool = True
    checks: tuple[pa.Check, ...] = ()
    optional: bool = False  # the table may lack the column (vocab.OPTIONAL_COLUMNS)
    words: tuple[str, ...] = ()  # a text column of these words only: read whatever their case and spaces
    other_spellings: Mapping[str, str] | None = None  # other words read as one of `words` (see spelled_word)
    # A number of money no CRM writes in thousandths ("250.000" is 250,000 with dots between thousands).
    in_whole_units: bool = False


# A number written with dots between thousands ("250.000", "1.200.000"): digits before the first dot, then
# groups of three.
DOTTED_THOUSANDS = re.compile(r"\s*[+-]?[1-9]\d{0,2}(\.\d{3})+\s*")


def dotted_thousands_cells(values: pd.Series) -> np.ndarray:
    """Cells of text written as a number with dots between thousands ("250.000", which pandas reads as 250):
    of a revenue, a European export's 250,000, since no CRM writes money in thousandths."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return np.zeros(len(values), dtype=bool)
    return values.map(is_dotted_thousands, na_action="ignore").fillna(False).to_numpy(dtype=bool)


def is_dotted_thousands(value: object) -> bool:
    """Whether one value is text written as a number with dots between thousands."""
    return isinstance(value, str) and DOTTED_THOUSANDS.fullmatch(value) is not None


def in_whole_units(table: str, column: str) -> bool:
    """Whether a number column of the contract is money, which no CRM writes in thousandths."""
    _known_table(table)
    field = _FIELDS[table].get(column)
    return field is not None and field.in_whole_units


def is_whole_number(values):
    """Whole numbers (a year: 1998 or 1998.0, not 1998.5), element-wise on a Series or an array."""
    return values == np.floor(values)


def _check(factory, *args, name: str, **kwargs) -> pa.Check:
    # pandera reports `error` in failure_cases.check: set it to our short rule name.
    assert name in CHECK_REASONS, name
    return factory(*args, name=name, error=name, **kwargs)


# Values no CRM holds for real: a date before 1990 is a placeholder (1970-01-01 is time zero) and would pass
# for a lead decades old; a size or an amount that large is a unit or export error, not a company.
EARLIEST_DATE = pd.Timestamp("1990-01-01")
_NOT_BEFORE_1990 = _check(pa.Check.ge, EARLIEST_DATE, name="not before 1990")
# ... and a date from 2099 on is one too (9999-12-31, 2099-12-31): a lead "created" then read as not created
# yet, left out of the scores without a word, where it is a defect to fix.
LATEST_DATE = pd.Timestamp("2099-01-01")
_BEFORE_2099 = _check(pa.Check.lt, LATEST_DATE, name="before 2099")
_REAL_DATE = (_NOT_BEFORE_1990, _BEFORE_2099)
_ID_CHECKS = (
    _check(pa.Check, lambda ids: ~in_scientific_notation(ids), name="not in scientific notation"),
    _check(pa.Check, lambda ids: ~formula_errors(ids), name="not a formula error"),
)
_AT_MOST_EMPLOYEES = _check(pa.Check.le, 10_000_000, name="le(10000000)")
_AT_MOST_MONEY = _check(pa.Check.le, 1e13, name="le(1e13)")
_AT_LEAST_ONE = _check(pa.Check.ge, 1, name="ge(1)")
# A count of people has no fraction: "1.200" employees is a European export's 1,200, read as 1.2.
_WHOLE_PEOPLE = _check(pa.Check, is_whole_number, name="whole number")
_NOT_NEGATIVE = _check(pa.Check.ge, 0, name="ge(0)")
# The same ranges for a flat export's columns mapped to these attributes (features/export_contract.py).
RANGES: dict[str, tuple[pa.Check, ...]] = {
    "employee_count": (_AT_LEAST_ONE, _AT_MOST_EMPLOYEES, _WHOLE_PEOPLE),
    "annual_revenue": (_NOT_NEGATIVE, _AT_MOST_MONEY),
}


# Which columns may be missing is decided here, in one place. Firmographics (name, domain, country, size,
# revenue, founding year) are often incomplete in real CRMs and the model copes with missing values, so a gap
# there does not quarantine the account (and with it all its leads). accounts.created_at is when the account
# record was created in the CRM, not when the company was founded (that is the optional founded_year).
_FIELDS: dict[str, dict[str, _Field]] = {
    "accounts": {
        "account_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "name": _Field("text"),
        "domain": _Field("text"),
        "industry": _Field("text"),
        "employee_count": _Field("number", checks=RANGES["employee_count"]),
        "annual_revenue": _Field("number", checks=RANGES["annual_revenue"], in_whole_units=True),
        "country": _Field("country"),
        "tech_stack": _Field("text"),
        "created_at": _Field("timestamp", checks=_REAL_DATE),
        "founded_year": _Field(
            "number",
            checks=(
                _check(pa.Check.ge, 1800, name="ge(1800)"),
                _check(pa.Check, is_whole_number, name="whole year"),
            ),
            optional=True,
        ),
    },
    "leads": {
        "lead_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "account_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "email": _Field(
            "text", nullable=False, checks=(_check(pa.Check.str_contains, "@", name="contains('@')"),)
        ),
        "job_title": _Field("text"),
        "lead_source": _Field("text"),
        "created_at": _Field("timestamp", nullable=False, checks=_REAL_DATE),
    },
    "activities": {
        "lead_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "occurred_at": _Field("timestamp", nullable=False, checks=_REAL_DATE),
        "activity_type": _Field(
            "text",
            nullable=False,
            checks=(_check(pa.Check.isin, ACTIVITY_TYPES, name="isin(ACTIVITY_TYPES)"),),
            words=ACTIVITY_TYPES,
            other_spellings=ACTIVITY_OTHER_SPELLINGS,
        ),
    },
    "deals": {
        "deal_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "lead_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "account_id": _Field("id", nullable=False, checks=_ID_CHECKS),
        "created_at": _Field("timestamp", nullable=False, checks=_REAL_DATE),
        "closed_at": _Field("timestamp", checks=_REAL_DATE),
        "outcome": _Field(
            "text",
            nullable=False,
            checks=(_check(pa.Check.isin, OUTCOMES, name="isin(OUTCOMES)"),),
            words=OUTCOMES,
        ),
        "amount": _Field("number", checks=(_NOT_NEGATIVE, _AT_MOST_MONEY)),
        "lost_reason": _Field("text", words=LOST_REASONS),  # checked against LOST_REASONS when lost
    },
}
assert {t: tuple(c for c, f in fs.items() if not f.optional) for t, fs in _FIELDS.items()} == TABLE_COLUMNS
_OPTIONAL = {t: tuple(c for c, f in fs.items() if f.optional) for t, fs in _FIELDS.items()}
assert {t: c for t, c in _OPTIONAL.items() if c} == OPTIONAL_COLUMNS
assert {t: tuple(c for c, f in fs.items() if f.kind == "timestamp") for t, fs in _FIELDS.items()} == (
    TIMESTAMP_COLUMNS
)
# The column saying when a row came into existence: after as_of, the row is "not created yet".
_CREATED = {"leads": "created_at", "deals": "created_at"}
# Accounts are reference data that leads point to (features.as_of keeps them whole): an account record created
# after a backfill's as_of is neither a defect nor hidden; a lead's own created_at places it in time.
_NOT_CHECKED_AGAINST_AS_OF = {("accounts", "created_at")}

_PANDERA_DTYPE = {"id": str, "text": str, "timestamp": pa.DateTime, "number": float, "country": str}


def _deal_row_checks() -> tuple[tuple[pa.Check, str], ...]:
    """Deal rules across columns, each with the column it is reported on."""
    lost, closed, opened = (
        lambda d: d["outcome"].eq("lost"),
        lambda d: d["outcome"].isin(CLOSED_OUTCOMES),
        lambda d: d["outcome"].eq("open"),
    )
    return (
        (
            _check(
                pa.Check,
                lambda d: ~lost(d) | d["lost_reason"].isin(LOST_REASONS),
                name="isin(LOST_REASONS) when lost",
            ),
            "lost_reason",
        ),
        (
            _check(pa.Check, lambda d: ~closed(d) | d["closed_at"].notna(), name="notnull when won/lost"),
            "closed_at",
        ),
        (_check(pa.Check, lambda d: ~opened(d) | d["closed_at"].isna(), name="null when open"), "closed_at"),
        # NaT compares False, so a missing date never fails here.
        (
            _check(pa.Check, lambda d: ~(d["closed_at"] < d["created_at"]), name="closed_at >= created_at"),
            "closed_at",
        ),
    )


_ROW_CHECK_COLUMN = {check.error: column for check, column in _deal_row_checks()}


def _as_of_timestamp(as_of) -> pd.Timestamp | None:
    if as_of is None:
        return None
    return naive_utc(as_of)


def table_schema(name: str, as_of: pd.Timestamp | None = None) -> pa.DataFrameSchema:
    """The pandera schema of one table, for frames already coerced (see module docstring).

    With `as_of`, every timestamp column also checks "not after as_of", except the creation time of leads and
    deals (such rows are not created yet, see the module docstring) and of account records (reference data);
    accounts.founded_year checks that it is not after the year of as_of. Optional columns may be absent.
    """
    _known_table(name)
    as_of = _as_of_timestamp(as_of)
    key = TABLE_KEYS[name]
    columns = {}
    for column, field in _FIELDS[name].items():
        checks = list(field.checks)
        later_is_fine = _CREATED.get(name) == column or (name, column) in _NOT_CHECKED_AGAINST_AS_OF
        if as_of is not None and field.kind == "timestamp" and not later_is_fine:
            checks.append(_check(pa.Check.le, as_of, name="not after as_of"))
        if as_of is not None and (name, column) == ("accounts", "founded_year"):
            checks.append(_check(pa.Check.le, as_of.year, name="year not after as_of"))
        columns[column] = pa.Column(
            _PANDERA_DTYPE[field.kind],
            checks=checks,
            nullable=field.nullable,
            required=not field.optional,
            unique=column == key,
            report_duplicates="exclude_first",
        )
    frame_checks = [check for check, _ in _deal_row_checks()] if name == "deals" else []
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, coerce=False, name=name)


@functools.lru_cache(maxsize=256)
def _schemas(name: str, as_of: pd.Timestamp | None) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """`table_schema`, built once per table and as_of (it takes milliseconds), and what `_schema_failures`
    validates with: the same schema without its dtypes (pandera's dtype check of a string column builds
    failure frames even when it passes; `_check_dtypes` checks them instead) and without the columns it has
    nothing else to check in (each costs pandera a millisecond)."""
    schema = table_schema(name, as_of)
    idle = [
        c
        for c, column in schema.columns.items()
        if column.nullable and not column.unique and not column.checks
    ]
    checked = schema.remove_columns(idle)
    return schema, checked.update_columns({column: {"dtype": None} for column in checked.columns})


@dataclass(frozen=True)
class ValidationResult:
    """Valid rows per table (coerced, index reset), the quarantine, how many rows were read, and how many were
    created after as_of (neither valid nor quarantined)."""

    valid: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    read: dict[str, int]
    not_created: dict[str, int] = dataclasses.field(default_factory=dict)

    def counts(self) -> pd.DataFrame:
        """Per table: rows read, valid, quarantined (distinct input rows), not created yet, and whether they
        add up."""
        tables = [t for t in TABLES if t in self.read]
        quarantined = self.quarantine.drop_duplicates(["table", "row"])["table"].value_counts()
        counts = pd.DataFrame(
            {
                "table": tables,
                "read": [self.read[t] for t in tables],
                "valid": [len(self.valid[t]) for t in tables],
                "quarantined": [int(quarantined.get(t, 0)) for t in tables],
                "not created yet": [self.not_created.get(t, 0) for t in tables],
            }
        )
        added = counts["valid"] + counts["quarantined"] + counts["not created yet"]
        counts["accounted"] = counts["read"] == added
        return counts

    def assert_accounted(self) -> None:
        """Raise AccountingError unless read == valid + quarantined + not created yet for every table."""
        counts = self.counts()
        bad = counts[~counts["accounted"]]
        if len(bad):
            raise AccountingError(f"rows not accounted for:\n{bad.to_string(index=False)}")


def validate_table(
    name: str,
    df: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
    row_offset: int = 0,
    date_formats: DateFormats | None = None,
) -> ValidationResult:
    """Validate one table on its own (no cross-table checks), e.g. a chunk in batch scoring.

    `row_offset` is added to quarantine.row, so chunks can report rows of the whole input.
    """
    checked = _check_table(name, df, _as_of_timestamp(as_of), date_formats or DateFormats())
    return _result({name: checked}, row_offset)


def validate_tables(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp | None = None,
    date_formats: DateFormats | None = None,
    deals_after_their_lead: bool = False,
) -> ValidationResult:
    """Validate the CRM tables, each on its own and then against each other.

    Cross-table checks run only against parent tables that are present (e.g. "deals" may be absent at
    scoring): leads -> accounts, deals -> accounts, leads -> their quarantined deals ("deal quarantined"),
    activities and deals -> leads. A row whose parent exists but was quarantined fails "parent ...
    quarantined"; a row whose parent does not exist at all fails "references unknown ...".
    With `deals_after_their_lead` (training, which builds features at each deal's creation), a deal created
    before its lead fails "not before its lead": the lead did not exist yet then. Scoring builds them at
    as_of, where that does not matter, so it does not check it.
    """
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ContractError(f"unknown tables {sorted(unknown)}; expected some of {list(TABLES)}")
    as_of = _as_of_timestamp(as_of)
    formats = date_formats or DateFormats()
    checked = {name: _check_table(name, tables[name], as_of, formats) for name in TABLES if name in tables}
    if "leads" in checked and checked["leads"].future.any():
        for child in ("activities", "deals"):
            if child in checked:
                table = checked[child]
                table.future = table.future | _isin(table.coerced["lead_id"], _future_ids(checked["leads"]))
    # Parents before children, so that a quarantined account cascades to its leads, and a lead to its rows.
    for child, column, parent, noun in (
        ("leads", "account_id", "accounts", "account"),
        ("deals", "account_id", "accounts", "account"),
    ):
        if child in checked and parent in checked:
            checked[child].add(_reference_failures(checked[child], column, checked[parent], noun))
    causes = np.array([], dtype=np.int64)
    if "leads" in checked and "deals" in checked:
        if deals_after_their_lead:
            _date_deals_of_their_leads_day(checked["leads"], checked["deals"])
            checked["deals"].add(_deals_before_their_lead(checked["leads"], checked["deals"]))
        failures, causes = _unclear_deal_failures(checked["leads"], checked["deals"], as_of)
        checked["leads"].add(failures)
    for child, column, parent, noun in (
        ("activities", "lead_id", "leads", "lead"),
        ("deals", "lead_id", "leads", "lead"),
    ):
        if child in checked and parent in checked:
            found = _reference_failures(checked[child], column, checked[parent], noun)
            if child == "deals" and len(found):  # the deal that quarantined its lead does not follow it there
                found = found[~(found["row"].isin(causes) & found["check"].eq("parent lead quarantined"))]
            checked[child].add(found)
    return _result(checked, 0)


def with_timestamps(tables: dict[str, pd.DataFrame], date_formats: DateFormats | None = None) -> dict:
    """The tables with each timestamp column parsed as the contract parses it, for jobs that filter by time
    before validating (retrain). A column with values that are no date at all stays as it is, for the
    contract to quarantine; dates in a format nobody named raise ContractError."""
    formats = date_formats or DateFormats()
    out = dict(tables)
    for name, frame in tables.items():
        for column in TIMESTAMP_COLUMNS.get(name, ()):
            if column in frame.columns:
                parsed, unparsed = _as_timestamp(frame[column], name, column, formats)
                if not unparsed.any():
                    out[name] = out[name].assign(**{column: parsed.to_numpy()})
    return out


def split_untimed(
    tables: dict[str, pd.DataFrame], date_formats: DateFormats | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """`with_timestamps` for a job that places rows in time before validating (retrain), with the rows it
    cannot place set apart: those with a time that is no date (the contract quarantines them). Returns the
    other rows, their time columns parsed as the contract parses them, and those rows as read."""
    formats = date_formats or DateFormats()
    timed, untimed = {}, {}
    for name, frame in tables.items():
        bad = np.zeros(len(frame), dtype=bool)
        parsed = {}
        for column in TIMESTAMP_COLUMNS.get(name, ()):
            if column in frame.columns:
                times, unparsed = _as_timestamp(frame[column], name, column, formats)
                parsed[column] = times.to_numpy()
                bad |= unparsed
        timed[name] = frame.loc[~bad].assign(**{c: times[~bad] for c, times in parsed.items()})
        untimed[name] = frame.loc[bad]
    return timed, untimed


def _leads_created(leads: _Checked, deals: _Checked) -> np.ndarray:
    """Each deal's lead's created_at (its first row; NaT for a lead not there)."""
    first = leads.coerced.dropna(subset=["lead_id"]).drop_duplicates("lead_id")
    return first.set_index("lead_id")["created_at"].reindex(deals.coerced["lead_id"]).to_numpy()


def _date_deals_of_their_leads_day(leads: _Checked, deals: _Checked) -> None:
    """A deal dated by day alone (midnight) on the day its lead was created was created that day, after the
    lead: its created_at becomes the lead's, so its features are built when the lead was created (what it did
    later that day is not told, never what came after the deal). A CRM writing deals' dates without a time had
    its fastest deals, those opened the day the lead came, quarantined as created before their lead."""
    if deals.coerced.empty or leads.coerced.empty:
        return
    lead_created = _leads_created(leads, deals)
    created = deals.coerced["created_at"]
    that_day = (
        (created.to_numpy() < lead_created)  # NaT compares False
        & (created == created.dt.normalize()).to_numpy()
        & (created.dt.normalize().to_numpy() == pd.DatetimeIndex(lead_created).normalize().to_numpy())
    )
    deals.coerced.loc[that_day, "created_at"] = lead_created[that_day]


def _deals_before_their_lead(leads: _Checked, deals: _Checked) -> pd.DataFrame:
    """Deals created before their lead's created_at (its first row): at the deal's creation the lead did not
    exist yet, so its features would hide everything it did (a migrated lead record dated after its deals)."""
    if deals.coerced.empty or leads.coerced.empty:
        return _NO_FAILURES
    early = deals.coerced["created_at"].to_numpy() < _leads_created(leads, deals)  # NaT compares False
    return _failures(np.flatnonzero(early), "created_at", "not before its lead")


def _future_ids(leads: _Checked) -> pd.Series:
    """Lead ids that only rows created after as_of carry."""
    ids = leads.coerced["lead_id"]
    if not leads.future.any():
        return pd.Series([], dtype="str")
    now = set(ids[~leads.future].dropna())
    return pd.Series([i for i in ids[leads.future].dropna().unique() if i not in now], dtype="str")


def _unclear_deal_failures(
    leads: _Checked, deals: _Checked, as_of: pd.Timestamp | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Leads with a quarantined deal that may have closed, as failures; and the rows of those deals.

    Only a deal that is cleanly open (outcome open, no closed_at), or closed after as_of (open then), leaves
    its lead open; any other quarantined deal (won or lost with a bad amount, outcome "pending"...) may
    have closed, so whether its lead is open is unknown. So does a deal whose lead_id names no lead but is a
    lead's id in another form (a Salesforce id in the other length, an id with other leading zeros): that lead
    is not known to be open either, and was scored as open while its won deal sat in the quarantine.
    """
    bad = np.zeros(len(deals.coerced), dtype=bool)
    bad[deals.failed_rows()] = True
    bad &= ~deals.future
    coerced = deals.coerced
    open_then = coerced["outcome"].eq("open").to_numpy() & coerced["closed_at"].isna().to_numpy()
    if as_of is not None:
        open_then |= (coerced["closed_at"] > as_of).to_numpy()
    named = coerced["lead_id"].notna().to_numpy()
    lead_ids, deal_ids = leads.coerced["lead_id"], coerced["lead_id"]
    known_ids = lead_ids.dropna()
    likely = named & ~_isin(deal_ids, known_ids) & ~deals.future
    if likely.any():  # a deal naming its lead in another form fails "references" later: is it one of these?
        rows = np.flatnonzero(likely)
        likely[rows[~_other_form(deal_ids.iloc[rows], known_ids)]] = False
    unclear = (bad | likely) & ~open_then & named
    ids = deal_ids[unclear & ~likely]
    hit = _isin(lead_ids, ids)
    if (unclear & likely).any():  # the lead such a deal most likely names
        hit |= _other_form(lead_ids, deal_ids[unclear & likely])
    hit &= ~leads.future
    return _failures(np.flatnonzero(hit), "lead_id", "deal quarantined"), np.flatnonzero(unclear)


class _Checked:
    """One table in progress: the raw input, the coerced frame (both with positional RangeIndex), failures."""

    def __init__(
        self,
        name: str,
        raw: pd.DataFrame,
        coerced: pd.DataFrame,
        failures: list[pd.DataFrame],
        future: np.ndarray,
    ):
        self.name, self.raw, self.coerced, self.failures = name, raw, coerced, failures
        self.future = future  # rows created after as_of, and the rows of such leads: not created yet

    def add(self, failures: pd.DataFrame) -> None:
        if len(failures):
            self.failures.append(failures)

    def failed_rows(self) -> np.ndarray:
        """Rows with a failure, except those not created yet (their failures are not reported)."""
        rows = [f["row"].to_numpy() for f in self.failures if len(f)]
        failed = np.unique(np.concatenate(rows)).astype(np.int64) if rows else np.array([], dtype=np.int64)
        return failed[~self.future[failed]]

    def valid_mask(self) -> np.ndarray:
        mask = ~self.future.copy()
        mask[self.failed_rows()] = False
        return mask


def _known_table(name: str) -> None:
    if name not in _FIELDS:
        raise ContractError(f"unknown table {name!r}; expected one of {list(TABLES)}")


def _check_table(name: str, df: pd.DataFrame, as_of: pd.Timestamp | None, formats: DateFormats) -> _Checked:
    _known_table(name)
    duplicated = df.columns[df.columns.duplicated()].tolist()
    if duplicated:
        raise ContractError(f"table {name!r} has duplicated columns {duplicated}")
    missing = [c for c, f in _FIELDS[name].items() if c not in df.columns and not f.optional]
    if missing:
        raise ContractError(f"table {name!r} is missing required column(s) {missing}; no row can be valid")
    raw = df.reset_index(drop=True)
    coerced, failures = _coerce(name, raw, formats)
    schema, without_dtypes = _schemas(name, as_of)
    _check_dtypes(schema, coerced)
    found = _schema_failures(without_dtypes, coerced, failures)
    if len(found):
        failures.append(found)
    future = np.zeros(len(raw), dtype=bool)
    if as_of is not None and name in _CREATED:
        created = coerced[_CREATED[name]]
        # a placeholder date (before 2099's check) is quarantined, never "not created yet"
        future = ((created > as_of) & (created < LATEST_DATE)).to_numpy(dtype=bool).copy()
    return _Checked(name, raw, coerced, failures, future)


def _failures(rows, column: str, check: str | list[str]) -> pd.DataFrame:
    """(row, column, check) failures; `check` one name, or one per row."""
    if not len(rows):
        return _NO_FAILURES  # shared: failure frames are never changed in place
    return pd.DataFrame({"row": np.asarray(rows, dtype=np.int64), "column": column, "check": check})


_NO_FAILURES = pd.DataFrame({"row": np.array([], dtype=np.int64), "column": "", "check": ""})


def _coerce(name: str, raw: pd.DataFrame, formats: DateFormats) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Coerce the contract columns one by one; values that were present but do not parse are failures."""
    coerced = raw.copy(deep=False)
    failures = []
    for column, field in _FIELDS[name].items():
        if column not in raw.columns:  # an optional column the table does not have
            continue
        values = raw[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if field.kind == "id":
            coerced[column] = _as_id(values)
        elif field.kind == "text":  # industry codes in a float column read as their whole numbers, as ids
            text = _as_text(whole_floats_as_ints(values))
            coerced[column] = as_words(text, field.words, field.other_spellings) if field.words else text
        elif field.kind == "country":
            coerced[column], unmapped = alpha2_countries(values)
            if unmapped.any():
                failures.append(_failures(np.flatnonzero(unmapped), column, "iso country"))
        else:
            if field.kind == "timestamp":
                parsed, unparsed = _as_timestamp(values, name, column, formats)
            else:
                parsed, unparsed = _as_number(values)
            coerced[column] = parsed
            if unparsed.any():
                failures.append(
                    _failures(np.flatnonzero(unparsed), column, f"parse({_PARSE_NAME[field.kind]})")
                )
            dotted = dotted_thousands_cells(values) & ~unparsed if field.in_whole_units else None
            if dotted is not None and dotted.any():
                failures.append(_failures(np.flatnonzero(dotted), column, "no dots between thousands"))
    return coerced, failures


_PARSE_NAME = {"timestamp": "datetime", "number": "number"}


def _as_id(values: pd.Series) -> pd.Series:
    ids = float_written_ids(visible_ids(_as_text(whole_floats_as_ints(values))).str.strip())
    empty = ids.to_numpy() == ""
    return ids.where(~empty) if empty.any() else ids


def as_words(
    texts: pd.Series, words: tuple[str, ...], other_spellings: Mapping[str, str] | None = None
) -> pd.Series:
    """A column of known words with each other spelling of one (" Won", "LOST", "Demo Request", and those
    `other_spellings` gives) read as that word; anything else stays as written, for the contract's check to
    name. Only the cells that are no word are looked at, each spelling once (an export writes every activity
    "Demo Request")."""
    odd = ~texts.isin(words).to_numpy() & texts.notna().to_numpy()
    if not odd.any():
        return texts
    spellings = texts[odd]
    read = {text: spelled_word(text, words, other_spellings) or text for text in spellings.unique()}
    return texts.mask(odd, spellings.map(read).astype(texts.dtype))


def whole_floats_as_ints(values: pd.Series) -> pd.Series:
    """A column of floats that are all whole numbers as integers: 12.0 came from an int column with gaps (a
    Parquet or database column), so its text is "12", as in a CSV, never "12.0". A column with a float no
    integer column holds (inf, 1e20: beyond int64) stays as it is: the cast raised a TypeError."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if (present == np.floor(present)).all() and (present.abs() < 2.0**63).all():
            return values.astype("Int64")
    return values


def export_ids(values: pd.Series) -> pd.Series:
    """An export's id column as every route reads it: whole-number floats (a Parquet column with a gap, JSON's
    660737.0) as integers, and ids written as such floats ("660737.0", a CSV of that column) as their integer
    text, as CRM ids are read (features.keys.float_written_ids); other ids as written ("007", "7.5"), without
    the spaces around them (" 5001" is the lead 5001 of the last run, and of the CRM the scores go back to)."""
    ids = whole_floats_as_ints(values)
    if not pd.api.types.is_string_dtype(ids):
        return ids
    padded = ids.map(lambda v: isinstance(v, str) and v != v.strip(), na_action="ignore").fillna(False)
    if padded.to_numpy(dtype=bool).any():
        ids = ids.mask(padded.to_numpy(dtype=bool), ids[padded.to_numpy(dtype=bool)].str.strip())
    return float_written_ids(ids)


def _as_text(values: pd.Series) -> pd.Series:
    return values if values.dtype == "str" else values.astype("str")  # astype costs even when it does nothing


def without_no_values(values: pd.Series) -> pd.Series:
    """A number or time column with the text that means no value ("NULL", "N/A", "-": features.text.NO_VALUE,
    as written or in capitals) missing, as pandas reads it in a CSV, on every route (the same words padded
    or in other cases: spelled_no_values, after parsing)."""
    if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
        return values
    no_value = values.isin(NO_VALUE_SPELLINGS).to_numpy(dtype=bool)
    return values.mask(no_value) if no_value.any() else values


def spelled_no_values(values: pd.Series, unparsed: np.ndarray) -> np.ndarray:
    """Of the cells that did not parse, those holding a no-value word padded or in another case (" null ",
    "Null"), which the online scorer reads as missing too; only the failures are looked at, so a clean
    column costs nothing."""
    found = np.zeros(len(values), dtype=bool)
    if unparsed.any():
        rows = np.flatnonzero(unparsed)
        found[rows] = [is_no_value(value) for value in values.to_numpy()[rows]]
    return found


def _as_timestamp(
    values: pd.Series, table: str, column: str, formats: DateFormats
) -> tuple[pd.Series, np.ndarray]:
    values = without_no_values(values)
    fmt = formats.format_for(table, column)
    try:
        parsed, unparsed = parse_timestamps(values, fmt)
        return parsed, unparsed & ~spelled_no_values(values, unparsed)
    except DateFormatError as error:
        setting = (
            f"input.date_formats.{table}.{column} (or input.date_format for every column) in the "
            f"configuration, e.g. --set input.date_formats.{table}.{column}='{error.formats[0]}'"
        )
        raise ContractError(error.describe(f"table {table!r}, column {column!r}", setting)) from error


def true_false_cells(values: pd.Series) -> np.ndarray:
    """Cells holding a true/false (a Parquet or database BOOLEAN, or Python booleans among other values): no
    number, though pandas reads True as 1. The same file as CSV ("True") is no number either."""
    if pd.api.types.is_bool_dtype(values):
        return values.notna().to_numpy()
    if values.dtype == object:
        return values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
    return np.zeros(len(values), dtype=bool)


def _as_number(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The values as float64, and the rows given that are no finite number. A true or false is no number
    (no count of employees, revenue or amount), as online, where it is refused: never 1 or 0."""
    values = without_no_values(values)
    flags = true_false_cells(values)  # True had read as 1 employee
    if flags.any():
        parsed, unparsed = _as_number(values.astype(object).mask(flags))
        return parsed, unparsed | flags
    if pd.api.types.is_numeric_dtype(values):  # nothing to parse
        parsed = values.astype("float64")
        return parsed, ~np.isfinite(parsed.to_numpy()) & values.notna().to_numpy()
    missing = blank(values)
    parsed = pd.to_numeric(values.where(~missing), errors="coerce").astype("float64")
    unparsed = ~np.isfinite(parsed.to_numpy()) & ~missing
    return parsed, unparsed & ~spelled_no_values(values, unparsed)


def _schema_failures(
    schema: pa.DataFrameSchema, coerced: pd.DataFrame, earlier: list[pd.DataFrame]
) -> pd.DataFrame:
    """Lazy pandera validation of the coerced frame, as (row, column, check) failures."""
    # Pandera can be switched off by environment variables; the contract must not be.
    if coerced.empty:
        return _NO_FAILURES  # no row to fail (dtypes are checked by `_check_dtypes`)
    with config_context(validation_enabled=True, validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        try:
            # Nothing to coerce, so no deep copy; a shallow one, as pandera attaches the schema to the frame.
            schema.validate(coerced.copy(deep=False), lazy=True, inplace=True)
        except SchemaErrors as err:
            cases = err.failure_cases
        else:
            return _NO_FAILURES
    rows = pd.to_numeric(cases["index"], errors="coerce")
    if rows.isna().any():
        # After our own coercion this cannot be a data problem (dtype failures have no row): it is a bug.
        raise ContractError(f"table {schema.name!r}: pandera failures without a row:\n{cases[rows.isna()]}")
    check = cases["check"].replace({"not_nullable": "not_null", "field_uniqueness": "unique"})
    unrecognised = sorted(set(check) - set(CHECK_REASONS))
    if unrecognised:
        raise ContractError(f"table {schema.name!r}: unexpected pandera failures {unrecognised}")
    column = check.map(_ROW_CHECK_COLUMN).fillna(cases["column"])
    found = pd.DataFrame(
        {"row": rows.astype(np.int64), "column": column.astype("str"), "check": check.astype("str")}
    )
    found = found.drop_duplicates()  # frame-wide checks report every column of a failing row
    # A value that did not parse is now missing: its other failures (not_null, ...) would only repeat that.
    parse_failures = [f for f in earlier if len(f)]
    if parse_failures:
        unparsed = pd.concat(parse_failures)[["row", "column"]]
        seen = found.merge(unparsed, on=["row", "column"], how="left", indicator=True)["_merge"].eq("both")
        found = found[~seen.to_numpy()]
    return found.reset_index(drop=True)


def _check_dtypes(schema: pa.DataFrameSchema, coerced: pd.DataFrame) -> None:
    """The schema's dtypes, as pandera checks them; after our own coercion a wrong one is a bug."""
    dtypes = coerced.dtypes.to_dict()
    for name, column in schema.columns.items():
        if name in dtypes and not _dtype_ok(column.dtype, dtypes[name]):
            raise ContractError(
                f"table {schema.name!r}: column {name!r} was coerced to {dtypes[name]}, not {column.dtype} "
                "as the contract says (a bug in the coercion)"
            )


@functools.lru_cache(maxsize=256)
def _dtype_ok(expected, dtype) -> bool:
    # pandera would accept an object column whose values all are strings; our coercion never makes one.
    return not pd.api.types.is_object_dtype(dtype) and bool(np.all(expected.check(Engine.dtype(dtype))))


def _reference_failures(child: _Checked, column: str, parent: _Checked, noun: str) -> pd.DataFrame:
    ids = child.coerced[column]
    if ids.empty:
        return _NO_FAILURES
    parent_ids = parent.coerced[TABLE_KEYS[parent.name]].dropna()
    valid_ids = parent.coerced.loc[parent.valid_mask(), TABLE_KEYS[parent.name]].dropna()
    ok = _isin(ids, valid_ids) | ids.isna().to_numpy()  # a missing id already failed "not_null"
    if ok.all():
        return _NO_FAILURES
    known = _isin(ids, parent_ids)
    quarantined, unknown = np.flatnonzero(~ok & known), np.flatnonzero(~ok & ~known)
    # Named by the form of the id, whether or not its parent was quarantined (by the deal that names it so).
    other_length = _other_id_length(ids.iloc[unknown], parent_ids)
    other_zeros = _other_zeros(ids.iloc[unknown], parent_ids)
    check = [f"parent {noun} quarantined"] * len(quarantined) + [
        f"{noun} id of other length"
        if length
        else f"{noun} id with other leading zeros"
        if zeros
        else f"references unknown {noun}"
        for length, zeros in zip(other_length, other_zeros, strict=True)
    ]
    return _failures(np.concatenate([quarantined, unknown]), column, check)


def _other_form(ids: pd.Series, parent_ids: pd.Series) -> np.ndarray:
    """Which ids are a parent's id written another way: the other Salesforce length, or other leading zeros."""
    return _other_id_length(ids, parent_ids) | _other_zeros(ids, parent_ids)


def _other_zeros(ids: pd.Series, parent_ids: pd.Series) -> np.ndarray:
    """Which ids of digits are a parent's id with other leading zeros ("7" for "007", "007" for "7"): a
    spreadsheet that opened one table's CSV dropped them, and no exact match joins the tables again. A form
    two parents share ('07' when both '7' and '007' exist: some CRMs hold them as two records) is no one's:
    it is not guessed (the parts and Spark routes leave it so too)."""
    digits = without_leading_zeros(ids)
    present = digits.notna().to_numpy(dtype=bool)
    if not present.any():  # most unknown ids are no digits at all: the parents are not read
        return present
    parents = without_leading_zeros(parent_ids).dropna()
    return present & _isin(digits.fillna(""), parents[~parents.duplicated(keep=False)])


def _other_id_length(ids: pd.Series, parent_ids: pd.Series) -> np.ndarray:
    """Which ids are a Salesforce id written in 15 characters whose parent is written in 18 (the same first 15),
    or in 18 whose parent is written in 15: one CRM's ids exported two ways, which no exact match joins."""
    if ids.empty:
        return np.zeros(0, dtype=bool)
    text, parents = ids.astype("str"), parent_ids.astype("str")
    short_parents = parents[parents.str.len() == 15]
    long_prefixes = parents[parents.str.len() == 18].str.slice(0, 15)
    length = text.str.len().to_numpy()
    return ((length == 15) & _isin(text, long_prefixes)) | (
        (length == 18) & _isin(text.str.slice(0, 15), short_parents)
    )


def _isin(values: pd.Series, allowed: pd.Series) -> np.ndarray:
    """Series.isin for ids, through pyarrow: pandas' arrow-string isin loops in Python over `allowed`."""
    values, allowed = (
        s if isinstance(s.dtype, pd.StringDtype) else s.astype("str") for s in (values, allowed)
    )
    found = pc.is_in(pyarrow.array(values), value_set=pyarrow.array(allowed))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _result(checked: dict[str, _Checked], row_offset: int) -> ValidationResult:
    valid = {}
    parts = []
    quarantined = dict.fromkeys(checked, 0)
    for name, table in checked.items():
        mask = table.valid_mask()
        valid[name] = table.coerced if mask.all() else table.coerced[mask].reset_index(drop=True)
        failures = [f for f in table.failures if len(f)]
        if failures:
            found = pd.concat(failures, ignore_index=True)
            found = found[~table.future[found["row"].to_numpy()]]  # not created yet: not bad data
            if len(found):
                parts.append(_quarantine_rows(table, found.reset_index(drop=True), row_offset))
                quarantined[name] = parts[-1]["row"].nunique()
    quarantine = pd.concat(parts, ignore_index=True) if parts else _empty_quarantine()
    read = {name: len(table.raw) for name, table in checked.items()}
    not_created = {name: int(table.future.sum()) for name, table in checked.items()}
    result = ValidationResult(valid=valid, quarantine=quarantine, read=read, not_created=not_created)
    # What assert_accounted checks, without building the counts frame on every call (milliseconds).
    if any(read[n] != len(valid[n]) + quarantined[n] + not_created[n] for n in checked):
        result.assert_accounted()
    return result


def _quarantine_rows(table: _Checked, failures: pd.DataFrame, row_offset: int) -> pd.DataFrame:
    """Turn (row, column, check) failures into quarantine rows with key, offending value and reason."""
    failures = failures.sort_values("row", kind="stable").reset_index(drop=True)
    rows = failures["row"].to_numpy()
    key_column = TABLE_KEYS[table.name]
    key = table.coerced[key_column].to_numpy()[rows] if key_column else np.full(len(rows), np.nan)
    value = pd.Series(MISSING_VALUE, index=failures.index, dtype="str")
    for column, group in failures.groupby("column", sort=False).groups.items():
        raw = table.raw[column].iloc[rows[group]]
        if isinstance(raw.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(raw):
            raw = raw.astype(object)  # str(Timestamp) always shows the time, as it does in object columns
        text = raw.astype("str").where(raw.notna(), MISSING_VALUE)
        value[group] = text.to_numpy()
    pairs = failures[["column", "check"]].drop_duplicates()
    pairs["reason"] = [CHECK_REASONS[k].format(column=c) for c, k in pairs.itertuples(index=False)]
    reason = failures.merge(pairs, on=["column", "check"], how="left")["reason"]  # one sentence per kind
    return pd.DataFrame(
        {
            "table": table.name,
            "row": rows + row_offset,
            "key": pd.array(key, dtype="str"),
            "column": failures["column"].astype("str"),
            "check": failures["check"].astype("str"),
            "value": value,
            "reason": reason.astype("str"),
        }
    )


def _empty_quarantine() -> pd.DataFrame:
    return _EMPTY_QUARANTINE.copy()  # building it takes milliseconds


_EMPTY_QUARANTINE = pd.DataFrame({c: pd.Series(dtype="str") for c in QUARANTINE_COLUMNS}).astype(
    {"row": np.int64}
)


def column_checks(table: str, column: str) -> tuple[pa.Check, ...]:
    """The contract's value checks of one column (its name in quarantine.check is `check.error`), for callers
    that check values outside a frame, such as one online lead."""
    _known_table(table)
    return _FIELDS[table][column].checks
