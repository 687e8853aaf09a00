"""The contract's fast paths (issue 16) give the answers of the plain ones: cached schemas, pandera without
dtypes and idle columns (dtypes checked by our own assertion), coercion shortcuts, the cheap accounting."""

import numpy as np
import pandas as pd
import pytest

from features import contracts
from features.contracts import AccountingError, ContractError, table_schema, validate_table, validate_tables
from features.synthetic import GeneratorConfig, generate_history
from features.vocab import TABLE_KEYS, TABLES

AS_OFS = (None, pd.Timestamp("2025-06-01"), pd.Timestamp("2030-01-01"))


@pytest.fixture(scope="module")
def dirty_tables():
    tables = generate_history(GeneratorConfig(accounts=300, months=12, seed=9, dirty_rows=3)).tables()
    # Besides the planted defects, a few values of kinds the generator does not plant.
    tables = {name: frame.copy() for name, frame in tables.items()}
    accounts, deals = tables["accounts"], tables["deals"]
    accounts["founded_year"] = accounts["founded_year"].astype(float)
    accounts.loc[[1, 2], "founded_year"] = [1999.5, 1700.0]
    accounts.loc[3, "annual_revenue"] = np.inf
    accounts.loc[4, "account_id"] = accounts.loc[5, "account_id"]
    deals.loc[0, "outcome"] = "pending"
    deals.loc[1, "amount"] = -1.0
    tables["leads"].loc[0, "lead_id"] = None
    return tables


def test_a_cached_schema_is_not_shared_across_as_of(contract_good_tables):
    activities = contract_good_tables["activities"]
    early, late = pd.Timestamp("2024-01-05"), pd.Timestamp("2024-12-31")
    assert contracts._schemas("activities", early) is contracts._schemas("activities", early)
    assert contracts._schemas("activities", early) is not contracts._schemas("activities", late)
    for as_of, future_rows in ((early, 4), (late, 0), (early, 4), (None, 0)):
        quarantine = validate_table("activities", activities, as_of=as_of).quarantine
        assert (quarantine["check"] == "not after as_of").sum() == future_rows, as_of


def test_the_public_schema_is_built_afresh_and_keeps_its_dtypes():
    one, two = table_schema("leads"), table_schema("leads")
    assert one is not two
    assert all(column.dtype is not None for column in one.columns.values())


@pytest.mark.parametrize("as_of", AS_OFS)
@pytest.mark.parametrize("name", TABLES)
def test_the_schema_pandera_runs_keeps_every_rule_of_the_public_one(name, as_of):
    public, (cached, checked) = table_schema(name, as_of), contracts._schemas(name, as_of)

    def rules(column):
        return column.nullable, column.unique, [check.error for check in column.checks]

    assert {c: rules(col) for c, col in checked.columns.items()} == {
        c: rules(col) for c, col in public.columns.items() if rules(col) != (True, False, [])
    }
    assert [check.error for check in checked.checks] == [check.error for check in public.checks]
    assert all(column.dtype is None for column in checked.columns.values())
    assert {c: str(col.dtype) for c, col in cached.columns.items()} == {
        c: str(col.dtype) for c, col in public.columns.items()
    }


@pytest.mark.parametrize("as_of", AS_OFS)
def test_pandera_without_dtypes_finds_what_the_public_schema_finds(dirty_tables, as_of):
    found = 0
    for name in TABLES:
        coerced, parse_failures = contracts._coerce(name, dirty_tables[name], contracts.DateFormats())
        full = contracts._schema_failures(table_schema(name, as_of), coerced, parse_failures)
        fast = contracts._schema_failures(contracts._schemas(name, as_of)[1], coerced, parse_failures)
        pd.testing.assert_frame_equal(fast, full)
        found += len(full)
    assert found > 20


@pytest.mark.parametrize(
    ("helper", "column", "wrong"),
    [
        ("_as_number", "amount", lambda values: values.astype("float32")),
        ("_as_text", "outcome", lambda values: values.astype(object)),  # strings, but not the str dtype
        ("_as_timestamp", "created_at", lambda values: values.dt.tz_localize("UTC")),
    ],
)
def test_a_dtype_the_coercion_did_not_produce_is_refused_by_name(
    contract_good_tables, monkeypatch, helper, column, wrong
):
    original = getattr(contracts, helper)

    def broken(values, *args):
        out = original(values, *args)
        if values.name != column:
            return out
        return (wrong(out[0]), out[1]) if isinstance(out, tuple) else wrong(out)

    monkeypatch.setattr(contracts, helper, broken)
    with pytest.raises(ContractError, match=f"table 'deals': column '{column}' was coerced to .*a bug"):
        validate_table("deals", contract_good_tables["deals"])


def test_valid_frames_pass_the_public_schema_dtypes_included(dirty_tables):
    result = validate_tables(dirty_tables, as_of=pd.Timestamp("2030-01-01"))
    for name in TABLES:
        table_schema(name, pd.Timestamp("2030-01-01")).validate(result.valid[name], lazy=True)


def test_an_all_valid_table_comes_back_as_a_frame_of_its_own(contract_good_tables):
    leads = contract_good_tables["leads"].assign(extra=[1, 2, 3])
    valid = validate_tables({**contract_good_tables, "leads": leads}).valid["leads"]
    assert valid.index.equals(pd.RangeIndex(3)) and valid["extra"].tolist() == [1, 2, 3]
    valid.loc[0, "email"] = "changed@x.com"
    assert leads.loc[0, "email"] == "ann@acme.com"
    assert getattr(valid.pandera, "schema", None) is None  # pandera validated a copy


def test_rows_lost_on_the_way_to_the_quarantine_still_raise(dirty_tables, monkeypatch):
    def first_row_lost(*args):
        rows = original(*args)
        return rows[rows["row"] != rows["row"].iloc[0]]

    original = contracts._quarantine_rows
    monkeypatch.setattr(contracts, "_quarantine_rows", first_row_lost)
    with pytest.raises(AccountingError, match="accounts"):
        validate_tables(dirty_tables)


def test_the_dirty_history_is_quarantined_row_by_row(dirty_tables):
    result = validate_tables(dirty_tables)
    result.assert_accounted()
    q = result.quarantine
    checks = q.groupby("table")["check"].agg(set)
    assert {"ge(1)", "ge(1800)", "whole year", "parse(number)", "unique"} <= checks["accounts"]
    assert {
        "contains('@')",
        "unique",
        "not_null",
        "parent account quarantined",
        "deal quarantined",
    } <= checks["leads"]
    assert {"isin(ACTIVITY_TYPES)", "references unknown lead", "parent lead quarantined"} <= checks[
        "activities"
    ]
    assert {"closed_at >= created_at", "isin(OUTCOMES)", "ge(0)"} <= checks["deals"]
    # in table order, then by row; a quarantined key (not a repeated one: its first row may be valid) is not
    # among the valid rows
    order = q["table"].map(TABLES.index).to_numpy()
    assert (np.diff(order * 10**9 + q["row"].to_numpy()) >= 0).all()
    for name in ("accounts", "leads", "deals"):
        ids = dirty_tables[name][TABLE_KEYS[name]]
        quarantined = set(q.loc[q["table"].eq(name), "key"].dropna()) - set(ids[ids.duplicated()])
        assert quarantined and not quarantined & set(result.valid[name][TABLE_KEYS[name]]), name
    assert result.counts()["read"].tolist() == [len(dirty_tables[t]) for t in TABLES]


@pytest.mark.parametrize(
    "values",
    [
        pd.Series([1.5, np.inf, -np.inf, np.nan, 0.0]),
        pd.Series([3, 1, 2], dtype="int64"),
        pd.Series([3, None, 2], dtype="Int64"),
        pd.Series([1.0, 2.0], dtype="float32"),
    ],
)
def test_numbers_that_need_no_parsing_come_out_as_parsed_ones(values):
    fast, fast_unparsed = contracts._as_number(values)
    slow, slow_unparsed = contracts._as_number(values.astype(object))
    pd.testing.assert_series_equal(fast, slow)
    assert fast_unparsed.tolist() == slow_unparsed.tolist()


def test_ids_already_text_come_out_as_ids_from_objects():
    values = pd.Series([" a1", "", "  ", None, "b2 ", "c3"], dtype="str")
    pd.testing.assert_series_equal(contracts._as_id(values), contracts._as_id(values.astype(object)))
    assert contracts._as_id(values).isna().tolist() == [False, True, True, True, False, False]
    clean = pd.Series(["a", "b"], dtype="str")
    pd.testing.assert_series_equal(contracts._as_id(clean), clean)
