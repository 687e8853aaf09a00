import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.config import config_context

from features.contracts import (
    MISSING_VALUE,
    QUARANTINE_COLUMNS,
    AccountingError,
    ContractError,
    ValidationResult,
    table_schema,
    validate_table,
    validate_tables,
)
from features.dates import DateFormats
from features.vocab import TABLE_COLUMNS, TABLE_KEYS, TABLES


def _set(tables, table, row, column, value):
    """Put any value (even of the wrong type) into one cell, as a messy export would."""
    frame = tables[table]
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return tables


def _records(result, table, row):
    q = result.quarantine
    return q[(q["table"] == table) & (q["row"] == row)]


def _assert_failure(result, table, row, column, check, value=None, key=None):
    found = _records(result, table, row)
    hit = found[(found["column"] == column) & (found["check"] == check)]
    assert len(hit) == 1, (
        f"expected {table}[{row}].{column} to fail {check!r}, quarantine:\n{found.to_string()}"
    )
    if value is not None:
        assert hit["value"].iloc[0] == value
    if key is not None:
        assert hit["key"].iloc[0] == key
    assert hit["reason"].iloc[0].endswith(".")


# --- good data ------------------------------------------------------------------------------------------


def test_good_tables_pass_with_nothing_quarantined(contract_good_tables, contract_as_of):
    result = validate_tables(contract_good_tables, as_of=contract_as_of)
    assert result.quarantine.empty
    assert list(result.quarantine.columns) == list(QUARANTINE_COLUMNS)
    for name, frame in contract_good_tables.items():
        assert len(result.valid[name]) == len(frame)
    counts = result.counts()
    assert counts["table"].tolist() == list(TABLES)
    assert (counts["quarantined"] == 0).all() and counts["accounted"].all()


def test_valid_output_is_coerced(contract_good_tables):
    tables = contract_good_tables
    tables["accounts"]["account_id"] = [1, 2]  # numeric ids become "1", "2"
    tables["leads"]["account_id"] = [1.0, 1.0, 2.0]  # float ids from an int column with gaps: "1", not "1.0"
    tables["deals"]["account_id"] = ["1", " 1 ", "2"]  # ids are stripped
    tables["accounts"]["employee_count"] = ["120", "15"]
    tables["leads"]["created_at"] = ["2024-01-02", "2024-01-05T10:00:00", "2024-02-01 08:00:00+02:00"]
    tables["activities"]["score_hint"] = [1, 2, 3, 4, 5]  # extra columns are kept as they are
    result = validate_tables(tables)
    assert result.quarantine.empty, result.quarantine
    accounts, leads, deals = result.valid["accounts"], result.valid["leads"], result.valid["deals"]
    assert accounts["account_id"].tolist() == ["1", "2"]
    assert leads["account_id"].tolist() == ["1", "1", "2"]
    assert deals["account_id"].tolist() == ["1", "1", "2"]
    for frame, id_column in [(accounts, "account_id"), (leads, "lead_id"), (deals, "deal_id")]:
        assert pd.api.types.is_string_dtype(frame[id_column])
    assert accounts["employee_count"].dtype == np.float64
    assert accounts["annual_revenue"].dtype == np.float64
    assert deals["amount"].dtype == np.float64
    for frame, column in [
        (leads, "created_at"),
        (deals, "closed_at"),
        (result.valid["activities"], "occurred_at"),
    ]:
        assert pd.api.types.is_datetime64_dtype(frame[column])  # naive: tz-aware dtypes are not datetime64
    assert leads["created_at"].iloc[2] == pd.Timestamp("2024-02-01 06:00:00")  # +02:00 converted to UTC
    assert result.valid["activities"]["score_hint"].tolist() == [1, 2, 3, 4, 5]
    assert isinstance(result.valid["leads"].index, pd.RangeIndex)


def test_tz_aware_timestamps_become_naive_utc(contract_good_tables):
    activities = contract_good_tables["activities"]
    activities["occurred_at"] = activities["occurred_at"].dt.tz_localize("America/New_York")
    valid = validate_table("activities", activities, as_of=pd.Timestamp("2024-06-01", tz="UTC")).valid
    occurred = valid["activities"]["occurred_at"]
    assert occurred.dt.tz is None
    assert occurred.iloc[0] == pd.Timestamp("2024-01-03 05:00:00")


def test_optional_values_may_be_missing(contract_good_tables):
    tables = contract_good_tables
    for column in ["industry", "tech_stack", "employee_count", "annual_revenue", "country"]:
        tables["accounts"][column] = None
    tables["leads"]["job_title"] = None
    tables["leads"]["lead_source"] = ""
    result = validate_tables(tables)
    assert result.quarantine.empty, result.quarantine


# --- one class of bad row at a time ----------------------------------------------------------------------

LATE = pd.Timestamp("2024-07-01")  # after contract_as_of
BAD_ROWS = [
    # (table, row, column, bad value written into the cell, expected check, expected quarantine.value)
    ("activities", 2, "activity_type", "fax", "isin(ACTIVITY_TYPES)", "fax"),
    ("accounts", 1, "employee_count", -5, "ge(1)", "-5"),
    ("accounts", 0, "annual_revenue", -1.5, "ge(0)", "-1.5"),
    ("deals", 0, "amount", -3.0, "ge(0)", "-3.0"),
    # Values no CRM holds for real: a placeholder date (time zero) and sizes that are unit or export errors.
    ("leads", 1, "created_at", pd.Timestamp("1970-01-01"), "not before 1990", "1970-01-01 00:00:00"),
    ("activities", 2, "occurred_at", "1900-01-01", "not before 1990", "1900-01-01"),
    ("accounts", 1, "employee_count", 1e308, "le(10000000)", "1e+308"),
    ("deals", 0, "amount", "5e15", "le(1e13)", "5e15"),
    ("leads", 1, "created_at", "not a date", "parse(datetime)", "not a date"),
    ("accounts", 0, "employee_count", "lots", "parse(number)", "lots"),
    ("deals", 0, "closed_at", pd.Timestamp("2024-01-01"), "closed_at >= created_at", "2024-01-01 00:00:00"),
    ("activities", 4, "lead_id", "L404", "references unknown lead", "L404"),
    ("deals", 1, "lead_id", "L404", "references unknown lead", "L404"),
    ("deals", 1, "account_id", "A404", "references unknown account", "A404"),
    ("leads", 2, "account_id", "A404", "references unknown account", "A404"),
    ("deals", 2, "deal_id", "D1", "unique", "D1"),
    ("activities", 1, "occurred_at", LATE, "not after as_of", "2024-07-01 00:00:00"),
    ("deals", 0, "closed_at", None, "notnull when won/lost", MISSING_VALUE),
    ("deals", 2, "closed_at", pd.Timestamp("2024-03-05"), "null when open", "2024-03-05 00:00:00"),
    ("deals", 1, "lost_reason", "too_expensive", "isin(LOST_REASONS) when lost", "too_expensive"),
    ("deals", 1, "lost_reason", None, "isin(LOST_REASONS) when lost", MISSING_VALUE),
    ("deals", 2, "outcome", "pending", "isin(OUTCOMES)", "pending"),
    ("leads", 1, "email", "bob.acme.com", "contains('@')", "bob.acme.com"),
    ("leads", 1, "email", None, "not_null", MISSING_VALUE),
    ("activities", 0, "lead_id", "  ", "not_null", "  "),
    ("activities", 3, "occurred_at", None, "not_null", MISSING_VALUE),
]


@pytest.mark.parametrize(
    ("table", "row", "column", "bad", "check", "value"),
    [pytest.param(*case, id=f"{case[0]}.{case[2]}={case[3]!r}") for case in BAD_ROWS],
)
def test_bad_row_lands_in_quarantine(
    contract_good_tables, contract_as_of, table, row, column, bad, check, value
):
    tables = _set(contract_good_tables, table, row, column, bad)
    key_column = TABLE_KEYS[table]
    key = tables[table].loc[row, key_column] if key_column else None
    result = validate_tables(tables, as_of=contract_as_of)
    _assert_failure(result, table, row, column, check, value=value, key=key)
    own = _records(result, table, row)
    assert set(own["check"]) == {check}, own  # reported once, not also as a side effect of itself
    if key_column is None:
        assert own["key"].isna().all()  # activities have no id of their own
    assert len(result.valid[table]) < len(tables[table])
    result.assert_accounted()


def test_duplicate_id_keeps_the_first_and_its_children(contract_good_tables):
    tables = contract_good_tables
    tables["leads"] = pd.concat([tables["leads"], tables["leads"].iloc[[0]]], ignore_index=True)
    result = validate_tables(tables)
    _assert_failure(result, "leads", 3, "lead_id", "unique", value="L1", key="L1")
    assert result.valid["leads"]["lead_id"].tolist() == ["L1", "L2", "L3"]
    # L1 is still a valid lead: its activities and deals stay.
    assert set(result.quarantine["table"]) == {"leads"}


def test_unparseable_values_are_found_by_row_even_in_mixed_columns(contract_good_tables):
    # pandera's own coercion reports such failures without a row; ours must name every row.
    accounts = contract_good_tables["accounts"]
    accounts = pd.concat([accounts] * 3, ignore_index=True)
    accounts["account_id"] = [f"A{i}" for i in range(6)]
    accounts["employee_count"] = pd.Series([10, "12", "lots", 35.0, None, "1,000"], dtype=object)
    accounts["created_at"] = pd.Series(
        ["2020-01-01", "31.12.2019", "2020-13-45", pd.Timestamp("2021-01-01"), "", "yesterday"], dtype=object
    )
    # 31.12.2019 is read only because its format is named (features.dates never guesses one).
    result = validate_table("accounts", accounts, date_formats=DateFormats(date_format="%d.%m.%Y"))
    q = result.quarantine
    got = set(zip(q["row"], q["column"], q["check"], q["value"], strict=True))
    assert got == {
        (2, "employee_count", "parse(number)", "lots"),
        (5, "employee_count", "parse(number)", "1,000"),
        (2, "created_at", "parse(datetime)", "2020-13-45"),
        (5, "created_at", "parse(datetime)", "yesterday"),
    }
    valid = result.valid["accounts"]
    assert valid["account_id"].tolist() == ["A0", "A1", "A3", "A4"]
    assert valid["employee_count"].tolist()[:3] == [10.0, 12.0, 35.0]
    assert valid["created_at"].tolist()[:3] == [
        pd.Timestamp("2020-01-01"),
        pd.Timestamp("2019-12-31"),
        pd.Timestamp("2021-01-01"),
    ]
    assert pd.isna(valid["created_at"].iloc[3])  # empty text is missing, and accounts.created_at is optional
    # Each reason names the fix, not only the failure (a '1,000' needs writing without its separator).
    reasons = dict(zip(q["check"], q["reason"], strict=False))
    assert (
        "no thousands separator" in reasons["parse(number)"] and "leave it empty" in reasons["parse(number)"]
    )
    assert "ISO 8601" in reasons["parse(datetime)"] and "input.date_formats" in reasons["parse(datetime)"]


def test_epoch_numbers_in_a_timestamp_column_are_refused(contract_good_tables):
    activities = contract_good_tables["activities"]
    activities["occurred_at"] = np.arange(5) + 1_700_000_000
    result = validate_table("activities", activities)
    assert (result.quarantine["check"] == "parse(datetime)").sum() == 5


def test_epoch_numbers_are_read_when_the_column_is_named_with_their_unit(contract_good_tables):
    """An API export writes times as milliseconds since 1970: input.date_formats names the unit, as an export's
    spec does; a value outside 2000-2100 in that unit (seconds sent as milliseconds) is no date."""
    activities = contract_good_tables["activities"]
    stamps = [pd.Timestamp("2024-03-01 10:00:00") + pd.Timedelta(days=k) for k in range(5)]
    millis = [int(t.value // 1_000_000) for t in stamps]
    millis[4] = millis[4] // 1000  # seconds, in a millisecond column
    activities["occurred_at"] = millis
    formats = DateFormats(date_formats={"activities": {"occurred_at": "epoch_ms"}})
    result = validate_table("activities", activities, date_formats=formats)
    assert result.valid["activities"]["occurred_at"].tolist() == stamps[:4]
    assert result.quarantine["row"].tolist() == [4]
    with pytest.raises(ValueError, match="epoch_ns"):
        DateFormats(date_formats={"activities": {"occurred_at": "epoch_ns"}})


def test_an_iso_date_among_epoch_numbers_is_read_as_in_any_other_time_column(contract_good_tables):
    """ISO 8601 is always read: a column named epoch_s whose values were all ISO was read as dates by a route
    that parses a whole column first (accounts, training), while a route that saw them among numbers (streamed
    scoring, some Spark parts) quarantined them, and the same lead was scored or left out by route. A bare
    number stays an epoch number ("2026" seconds is out of range: no date, never the year 2026)."""
    activities = contract_good_tables["activities"]
    activities["occurred_at"] = ["1709287200", "2024-03-01T10:00:00", "2024-03-01", "2026", "99999999999"]
    formats = DateFormats(date_formats={"activities": {"occurred_at": "epoch_s"}})
    result = validate_table("activities", activities, date_formats=formats)
    read = result.valid["activities"]["occurred_at"]
    assert read.tolist() == [pd.Timestamp("2024-03-01 10:00:00")] * 2 + [pd.Timestamp("2024-03-01")]
    assert result.quarantine["row"].tolist() == [3, 4]


def test_a_row_with_several_failures_is_counted_once(contract_good_tables):
    tables = contract_good_tables
    _set(tables, "deals", 1, "outcome", "pending")
    _set(tables, "deals", 1, "amount", -1)
    _set(tables, "deals", 1, "lead_id", "L404")
    result = validate_tables(tables)
    assert set(_records(result, "deals", 1)["check"]) == {
        "isin(OUTCOMES)",
        "ge(0)",
        "references unknown lead",
    }
    counts = result.counts().set_index("table")
    assert counts.loc["deals", ["read", "valid", "quarantined"]].tolist() == [3, 2, 1]


# --- cascade and accounting --------------------------------------------------------------------------


def test_an_outcome_in_other_case_or_with_spaces_is_the_word(contract_good_tables, contract_as_of):
    # A CRM writes "Won" or " LOST ": the deals were quarantined (exit 5) while an export's labels ignore case.
    tables = contract_good_tables
    outcomes = tables["deals"]["outcome"].astype("str").tolist()
    written = [{"won": " Won", "lost": "LOST ", "open": "Open"}[o] for o in outcomes]
    _set(tables, "deals", slice(None), "outcome", written)
    result = validate_tables(tables, as_of=contract_as_of)
    assert result.quarantine.empty
    assert result.valid["deals"]["outcome"].tolist() == outcomes
    _set(tables, "deals", 0, "outcome", "Closed Won")  # another word is still named, as written
    failed = validate_tables(tables, as_of=contract_as_of).quarantine
    outcome = failed[failed["column"] == "outcome"]
    assert outcome[["check", "value"]].values.tolist() == [["isin(OUTCOMES)", "Closed Won"]]


def test_quarantined_lead_takes_its_activities_and_deals(contract_good_tables):
    tables = _set(contract_good_tables, "leads", 0, "email", "ann-at-acme")  # L1
    result = validate_tables(tables)
    _assert_failure(result, "leads", 0, "email", "contains('@')", key="L1")
    for row in (0, 1):
        _assert_failure(result, "activities", row, "lead_id", "parent lead quarantined", value="L1")
    _assert_failure(result, "deals", 0, "lead_id", "parent lead quarantined", value="L1", key="D1")
    assert "L1" not in set(result.valid["activities"]["lead_id"]) | set(result.valid["deals"]["lead_id"])
    assert len(result.valid["activities"]) == 3


def test_quarantined_account_cascades_to_leads_then_to_their_rows(contract_good_tables):
    tables = _set(
        contract_good_tables, "accounts", 1, "employee_count", 0
    )  # A2 -> lead L3 -> D3, 2 activities
    result = validate_tables(tables)
    _assert_failure(result, "leads", 2, "account_id", "parent account quarantined", value="A2", key="L3")
    _assert_failure(result, "deals", 2, "account_id", "parent account quarantined", value="A2")
    _assert_failure(result, "deals", 2, "lead_id", "parent lead quarantined", value="L3")
    for row in (3, 4):
        _assert_failure(result, "activities", row, "lead_id", "parent lead quarantined")
    counts = result.counts().set_index("table")
    assert counts["quarantined"].to_dict() == {"accounts": 1, "leads": 1, "activities": 2, "deals": 1}


def test_rows_are_accounted_for_in_every_table(contract_good_tables, contract_as_of):
    tables = contract_good_tables
    _set(tables, "accounts", 0, "annual_revenue", -1)
    _set(tables, "leads", 2, "created_at", "garbage")
    _set(tables, "activities", 1, "activity_type", "fax")
    _set(tables, "activities", 1, "occurred_at", pd.Timestamp("2030-01-01"))
    _set(tables, "deals", 2, "closed_at", pd.Timestamp("2020-01-01"))
    result = validate_tables(tables, as_of=contract_as_of)
    counts = result.counts()
    assert (counts["read"] == counts["valid"] + counts["quarantined"]).all()
    assert counts["accounted"].all()
    assert counts["read"].tolist() == [len(tables[t]) for t in TABLES]
    assert counts["valid"].tolist() == [len(result.valid[t]) for t in TABLES]
    result.assert_accounted()


def test_assert_accounted_raises_when_rows_go_missing(contract_good_tables):
    result = validate_tables(contract_good_tables)
    leaky = ValidationResult(
        valid={**result.valid, "leads": result.valid["leads"].iloc[:1]},
        quarantine=result.quarantine,
        read=result.read,
    )
    assert not leaky.counts().set_index("table").loc["leads", "accounted"]
    with pytest.raises(AccountingError, match="leads"):
        leaky.assert_accounted()


# --- table-level errors and the API around it -----------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column"),
    [(t, c) for t in TABLES for c in TABLE_COLUMNS[t][:1]] + [("deals", "closed_at"), ("leads", "email")],
)
def test_missing_required_column_raises(contract_good_tables, table, column):
    tables = contract_good_tables
    tables[table] = tables[table].drop(columns=column)
    with pytest.raises(ContractError, match=rf"'{table}'.*'{column}'"):
        validate_tables(tables)
    with pytest.raises(ContractError, match=rf"'{table}'.*'{column}'"):
        validate_table(table, tables[table])


def test_unknown_table_raises(contract_good_tables):
    with pytest.raises(ContractError, match="contacts"):
        validate_tables({**contract_good_tables, "contacts": pd.DataFrame()})
    with pytest.raises(ContractError, match="contacts"):
        validate_table("contacts", pd.DataFrame())


def test_rows_are_positional_whatever_the_index(contract_good_tables):
    leads = contract_good_tables["leads"]
    leads.index = [100, 7, 42]
    _set(contract_good_tables, "leads", 42, "email", "nope")
    result = validate_tables(contract_good_tables)
    _assert_failure(result, "leads", 2, "email", "contains('@')", key="L3")


def test_validate_table_skips_cross_checks_and_offsets_rows(contract_good_tables, contract_as_of):
    activities = _set(contract_good_tables, "activities", 1, "lead_id", "L404")["activities"]
    _set(contract_good_tables, "activities", 3, "activity_type", "fax")
    result = validate_table("activities", activities, as_of=contract_as_of, row_offset=1000)
    assert result.quarantine["row"].tolist() == [1003]  # the unknown lead is not checked here
    assert result.counts()["table"].tolist() == ["activities"]
    assert len(result.valid["activities"]) == 4


def test_deals_may_be_absent(contract_good_tables):
    tables = {name: frame for name, frame in contract_good_tables.items() if name != "deals"}
    result = validate_tables(tables)
    assert set(result.valid) == {"accounts", "leads", "activities"}
    assert result.counts()["table"].tolist() == ["accounts", "leads", "activities"]


def test_empty_tables_validate(contract_good_tables):
    tables = {name: frame.iloc[:0] for name, frame in contract_good_tables.items()}
    result = validate_tables(tables, as_of=pd.Timestamp("2024-06-01"))
    assert result.quarantine.empty and result.counts()["accounted"].all()
    assert result.quarantine["row"].dtype == np.int64


def test_contract_holds_even_if_pandera_validation_is_switched_off(contract_good_tables):
    # PANDERA_VALIDATION_ENABLED=False in the environment would turn schema.validate into a no-op.
    _set(contract_good_tables, "activities", 0, "activity_type", "fax")
    with config_context(validation_enabled=False):
        result = validate_tables(contract_good_tables)
    _assert_failure(result, "activities", 0, "activity_type", "isin(ACTIVITY_TYPES)", value="fax")


def test_table_schema_is_a_pandera_schema():
    schema = table_schema("deals", as_of=pd.Timestamp("2024-06-01"))
    assert isinstance(schema, pa.DataFrameSchema)
    assert list(schema.columns) == list(TABLE_COLUMNS["deals"])
    assert schema.columns["deal_id"].unique and not schema.columns["deal_id"].nullable
