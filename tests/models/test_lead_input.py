"""The online/Spark row format: checks that name the row and the field, and the tables it becomes."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from features.frames import Table
from models.lead_input import LeadInputError, check_lead_rows, lead_rows_to_tables

AS_OF = pd.Timestamp("2026-10-01")


def _row(**change) -> dict:
    row = {
        "lead_id": "L1",
        "email": "ana@acme.com",
        "job_title": "VP Sales",
        "employee_count": 250,
        "lead_created_at": "2026-09-01T08:00:00",
        "account_id": "A1",
        "activities": json.dumps([{"activity_type": "pricing_page", "occurred_at": "2026-09-30T10:00:00"}]),
    }
    return {**row, **change}


def test_rows_become_the_crm_tables_with_the_snapshot_at_as_of():
    rows = pd.DataFrame([_row(), _row(lead_id="L2", account_id=None, employee_count="12", activities=None)])
    tables, snapshots = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    assert tables["leads"]["lead_id"].tolist() == ["L1", "L2"]
    assert tables["leads"]["account_id"].tolist() == ["A1", "ACCOUNT_OF_L2"]
    assert tables["accounts"]["employee_count"].tolist() == [250.0, 12.0]
    assert tables["activities"]["lead_id"].tolist() == ["L1"]
    assert tables["activities"]["occurred_at"].tolist() == [pd.Timestamp("2026-09-30T10:00:00").value]
    assert (snapshots["snapshot_at"] == AS_OF).all()


def test_each_lead_gets_the_account_fields_of_its_own_row():
    """Rows sharing an account_id but not its fields (taken at different times, or a bad join): each lead is
    scored with its own row's account, never silently with an earlier row's; rows that agree share one."""
    sizes = [None, 8000, 55, 8000]
    rows = pd.DataFrame([_row(lead_id=f"L{k}", employee_count=size) for k, size in enumerate(sizes)])
    tables, _ = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    accounts = tables["accounts"].to_frame().set_index("account_id")
    given = accounts.loc[tables["leads"]["account_id"], "employee_count"].to_numpy()
    np.testing.assert_array_equal(given, np.array(sizes, dtype=float))
    assert tables["leads"]["account_id"].tolist() == ["A1", "A1@row1", "A1@row2", "A1@row1"]
    assert accounts["name"].tolist() == ["A1"] * 3


def test_a_lead_twice_in_one_request_is_refused_naming_both_rows():
    """Two rows of one lead would pool their activity lists (counted twice) and share the first row's fields."""
    rows = [_row(), _row(lead_id="L2"), _row(as_of="2026-09-30T00:00:00")]
    with pytest.raises(
        LeadInputError, match=r"row 2, field 'lead_id': 'L1' is also row 0's.*\(rule: unique\)"
    ):
        check_lead_rows(rows)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"lead_created_at": "1970-01-01T00:00:00"}, "not before 1990"),
        ({"employee_count": 1e308}, "le(10000000)"),
        ({"annual_revenue": 2e13}, "le(1e13)"),
    ],
)
def test_placeholder_dates_and_impossible_sizes_are_refused_as_in_batch(change, rule):
    with pytest.raises(
        LeadInputError, match=rf"row 0, field '{next(iter(change))}'.*\(rule: {re.escape(rule)}\)"
    ):
        check_lead_rows([_row(**change)])


def test_the_tables_are_tables_with_the_columns_of_the_crm_frames():
    """Text as object arrays (None where missing), times datetime64[ns], numbers float (a Table's kinds): as
    frames, the tables are what the CRM tables are."""
    rows = pd.DataFrame(
        [_row(), _row(lead_id="L2", account_id=None, employee_count="12", job_title=None, activities="[]")]
    )
    tables, snapshots = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    created = pd.to_datetime(["2026-09-01T08:00:00"] * 2).as_unit("ns")
    expected = {
        "accounts": pd.DataFrame(
            {
                "account_id": ["A1", "ACCOUNT_OF_L2"],
                "name": ["A1", "ACCOUNT_OF_L2"],
                "domain": pd.array([None, None], dtype="str"),
                "industry": pd.array([None, None], dtype="str"),
                "employee_count": [250.0, 12.0],
                "annual_revenue": [np.nan, np.nan],
                "country": pd.array([None, None], dtype="str"),
                "tech_stack": ["", ""],
                "created_at": pd.to_datetime([None, None]).as_unit("ns"),
                "founded_year": [np.nan, np.nan],
            }
        ),
        "leads": pd.DataFrame(
            {
                "lead_id": ["L1", "L2"],
                "account_id": ["A1", "ACCOUNT_OF_L2"],
                "email": ["ana@acme.com", "ana@acme.com"],
                "job_title": ["VP Sales", None],
                "lead_source": pd.array([None, None], dtype="str"),
                "created_at": created,
            }
        ),
        "activities": pd.DataFrame(
            {
                "lead_id": ["L1"],
                "occurred_at": pd.to_datetime(["2026-09-30T10:00:00"]).as_unit("ns"),
                "activity_type": ["pricing_page"],
            }
        ),
    }
    assert list(tables) == list(expected)
    for name, frame in expected.items():
        table = tables[name]
        assert list(table) == list(frame.columns)
        for column, values in table.items():
            assert isinstance(values, np.ndarray) and len(values) == len(frame), (name, column)
            assert values.dtype in (object, np.float64, "datetime64[ns]"), (name, column)
            if values.dtype == object:
                assert all(v is None or isinstance(v, str) for v in values.tolist()), (name, column)
        assert isinstance(table, Table)
        pd.testing.assert_frame_equal(table.to_frame(), frame, check_exact=True)
    assert tables["leads"]["job_title"].tolist() == ["VP Sales", None]
    assert list(snapshots) == ["lead_id", "snapshot_at"]
    assert snapshots["lead_id"].tolist() == ["L1", "L2"] and snapshots["lead_id"].dtype == object
    assert snapshots["snapshot_at"].dtype == "datetime64[ns]"
    assert snapshots["snapshot_at"].tolist() == [AS_OF.value, AS_OF.value]


def test_no_activities_give_empty_typed_arrays():
    tables, _ = lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row(activities=None)])), AS_OF)
    activities = tables["activities"]
    assert [len(v) for v in activities.values()] == [0, 0, 0]
    assert [v.dtype for v in activities.values()] == [
        np.dtype(object),
        np.dtype("datetime64[ns]"),
        np.dtype(object),
    ]


def test_times_with_a_zone_are_read_as_utc_and_a_row_as_of_wins():
    rows = pd.DataFrame([_row(lead_created_at="2026-09-01T10:00:00+02:00", as_of="2026-09-15T00:00:00")])
    tables, snapshots = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    assert tables["leads"]["created_at"][0] == np.datetime64("2026-09-01T08:00:00")
    assert snapshots["snapshot_at"][0] == np.datetime64("2026-09-15")


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"email": None}, "row 1, field 'email': is required"),
        ({"employee_count": "many"}, "row 1, field 'employee_count': 'many' is not a number"),
        ({"lead_created_at": "soon"}, "row 1, field 'lead_created_at'"),
        ({"activities": "[1, 2"}, "row 1, field 'activities': not valid JSON"),
        (
            {
                "activities": json.dumps(
                    [
                        {"activity_type": "blog", "occurred_at": "2026-09-01"},
                        {"activity_type": "blog", "occurred_at": "later"},
                    ]
                )
            },
            "row 1, field 'activities[1].occurred_at'",
        ),
        (
            {"activities": json.dumps([{"activity_type": "chat", "occurred_at": "2026-09-01"}])},
            "unknown activity_type 'chat'",
        ),
    ],
)
def test_a_bad_value_is_named_by_row_and_field(change, names):
    rows = pd.DataFrame([_row(), _row(lead_id="L2", **change)])
    with pytest.raises(LeadInputError) as error:
        lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    assert names in str(error.value)


def test_unknown_fields_are_refused():
    with pytest.raises(LeadInputError, match="unknown field"):
        check_lead_rows(pd.DataFrame([_row(favourite_colour="blue")]))
    assert np.isnan(check_lead_rows(pd.DataFrame([_row(employee_count=None)]))["employee_count"][0])


def test_a_lone_surrogate_is_named_by_row_and_field():
    """JSON may carry "\\ud800", which is no Unicode text: it is refused by name, not met later as a crash."""
    rows = pd.DataFrame([_row(), _row(lead_id="L2", job_title="VP \ud800")], dtype=object)
    with pytest.raises(LeadInputError, match="row 1, field 'job_title'.*not valid Unicode"):
        check_lead_rows(rows)
    assert check_lead_rows(pd.DataFrame([_row(job_title="Directrice générale")]))["job_title"][0] == (
        "Directrice générale"
    )


# One contract with batch: what the batch contract quarantines is refused online, naming row, field and rule.
@pytest.mark.parametrize(
    ("change", "names"),
    [
        (
            {"employee_count": -5},
            "row 1, field 'employee_count': employee_count must be at least 1, got -5.0",
        ),
        ({"annual_revenue": "-1"}, "row 1, field 'annual_revenue'"),
        ({"email": "ana.at.acme.com"}, "row 1, field 'email': email does not look like an email address"),
        ({"lead_id": "   "}, "row 1, field 'lead_id': is required (rule: not_null)"),
        ({"employee_count": "inf"}, "row 1, field 'employee_count': 'inf' is not a finite number"),
        ({"employee_count": 10**400}, "row 1, field 'employee_count'"),
        ({"job_title": {"nested": ["x"]}}, "row 1, field 'job_title': must be text, not a JSON object"),
        ({"job_title": ["x"]}, "row 1, field 'job_title': must be text, not a JSON list"),
        (
            {"activities": [{"activity_type": "demo_request", "occurred_at": "2026-09-01"}]},
            "row 1, field 'activities': must be JSON text (a string holding the list, e.g. "
            "json.dumps(activities)), not a JSON list",
        ),
        (
            {"lead_created_at": 1790762400},
            "row 1, field 'lead_created_at': 1790762400 is not a date and time",
        ),
        (
            {"lead_created_at": "3000-01-01"},
            "row 1, field 'lead_created_at': '3000-01-01' is outside the times",
        ),
    ],
)
def test_what_the_batch_contract_quarantines_is_refused_online(change, names):
    rows = pd.DataFrame([_row(), _row(**{"lead_id": "L2", **change})])
    with pytest.raises(LeadInputError) as error:
        check_lead_rows(rows)
    assert names in str(error.value)
    assert "(rule: " in str(error.value)


def test_every_online_field_maps_to_a_column_of_the_batch_contract():
    from features.contracts import column_checks
    from models.lead_input import CONTRACT_COLUMNS, LEAD_INPUT_COLUMNS

    assert set(CONTRACT_COLUMNS) == set(LEAD_INPUT_COLUMNS) - {"activities", "as_of"}
    checked = {field for field, (table, column) in CONTRACT_COLUMNS.items() if column_checks(table, column)}
    assert {"email", "employee_count", "annual_revenue"} <= checked


def test_no_message_quotes_an_email_address():
    from models.lead_input import shown, without_emails

    bad = [
        _row(email="ana.at.acme.com"),
        _row(email="ana@acme.com", lead_id="ana@acme.com", employee_count="ana@acme.com"),
        _row(email="ana@acme.com\ud800"),
    ]
    for row in bad:
        with pytest.raises(LeadInputError) as error:
            check_lead_rows(pd.DataFrame([row], dtype=object))
        assert "ana" not in str(error.value) and "acme" not in str(error.value), str(error.value)
    assert without_emails("x 'bob@corp.io' y") == "x '<email>' y" and "bob" not in shown("bob@corp.io")


def test_a_long_text_is_refused_by_the_cap_and_quoted_short():
    rows = pd.DataFrame([_row(job_title="x" * 5_000)])
    with pytest.raises(
        LeadInputError, match=r"row 0, field 'job_title': is 5,000 characters long, more than the "
    ):
        check_lead_rows(rows, max_text_chars=1_000)
    assert check_lead_rows(rows)["job_title"][0] == "x" * 5_000  # no cap unless one is set (batch, Spark)
    with pytest.raises(LeadInputError) as error:
        check_lead_rows(pd.DataFrame([_row(employee_count="9" * 10_000 + "x")]))
    assert len(str(error.value)) < 300


def test_unknown_fields_are_named_with_their_row():
    rows = pd.DataFrame([_row(), _row(lead_id="L2", employee_cnt=5)])
    with pytest.raises(
        LeadInputError, match=r"row 1, field 'employee_cnt': unknown field.*known fields only"
    ):
        check_lead_rows(rows)


@pytest.mark.parametrize(
    ("activities", "names"),
    [
        ("[" * 50_000 + "]" * 50_000, "field 'activities': is nested too deeply"),
        (json.dumps([[{"activity_type": "blog"}]]), "field 'activities[0]': each item needs"),
        (
            json.dumps([{"activity_type": {"a": 1}, "occurred_at": "2026-09-01"}]),
            "unknown activity_type {'a': 1}",
        ),
        (
            json.dumps([{"activity_type": "blog", "occurred_at": "2026-09-01", "page": "/x"}]),
            "unknown key(s) 'page'",
        ),
        (
            json.dumps([{"activity_type": "blog", "occurred_at": None}]),
            "activities[0].occurred_at': is required",
        ),
        (
            json.dumps([{"activity_type": "blog", "occurred_at": "3000-01-01"}]),
            "outside the times this model",
        ),
    ],
)
def test_bad_activities_are_named(activities, names):
    with pytest.raises(LeadInputError) as error:
        lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row(activities=activities)])), AS_OF)
    assert names in str(error.value)


def test_times_in_the_future_are_refused_and_a_backfill_sees_only_its_past():
    from models.lead_input import CLOCK_SKEW

    now = pd.Timestamp("2026-12-05T12:00:00")
    future = json.dumps([{"activity_type": "blog", "occurred_at": "2100-01-01"}])
    with pytest.raises(
        LeadInputError, match=r"row 0, field 'activities\[0\].occurred_at'.*not in the future"
    ):
        lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row(activities=future)])), now, now + CLOCK_SKEW)
    with pytest.raises(LeadInputError, match=r"row 0, field 'as_of'.*not in the future"):
        lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row(as_of="2027-06-01")])), now, now + CLOCK_SKEW)
    with pytest.raises(LeadInputError, match=r"row 0, field 'lead_created_at'.*\(rule: not after as_of\)"):
        lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row(as_of="2026-08-01")])), now, now + CLOCK_SKEW)
    # An activity after the row's as_of but not in the future is history the snapshot does not see yet.
    tables, snapshots = lead_rows_to_tables(
        check_lead_rows(pd.DataFrame([_row(as_of="2026-09-15")])), now, now + CLOCK_SKEW
    )
    assert snapshots["snapshot_at"][0] == np.datetime64("2026-09-15")


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"as_of": "banana"}, "params, field 'as_of': 'banana' is not a date and time"),
        ({"as_of": "3000-01-01"}, "params, field 'as_of': '3000-01-01' is outside the times"),
        ({"as_of": "2100-01-01"}, "params, field 'as_of': 2100-01-01T00:00:00 is in the future"),
        ({"as_of": {"x": 1}}, "params, field 'as_of'"),
        ({"reasons": "yes"}, "params, field 'reasons': 'yes' is not true or false"),
        ({"as_off": "2026-10-01"}, "params, field 'as_off': unknown parameter"),
    ],
)
def test_bad_params_are_named(params, names):
    from models.lead_input import check_params

    with pytest.raises(LeadInputError) as error:
        check_params(params, latest=pd.Timestamp("2026-12-06"))
    assert names in str(error.value) and "(rule: " in str(error.value)


def test_good_params():
    from models.lead_input import check_params

    assert check_params(None) == (None, True)
    assert check_params({"as_of": "2026-10-01T02:00:00+02:00", "reasons": False}) == (AS_OF, False)


def test_the_contract_checks_online_answer_as_pandera_does():
    """The contract's builtin checks run online on arrays (pandera's own call costs more than the lead):
    both ways give the same answers on values either side of each rule."""
    from features.contracts import column_checks
    from models.lead_input import _ON_ARRAYS, CONTRACT_COLUMNS, _passes

    samples = {
        "number": np.array([-1e9, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 1e12]),
        "text": np.array(["a@b.c", "ab", "@", "", " x@ ", "no at", "é@ü"], dtype=object),
    }
    seen = set()
    for table, column in CONTRACT_COLUMNS.values():
        for check in column_checks(table, column):
            seen.add(check._check_fn.__name__)
            for values in samples.values():
                try:
                    expected = check(pd.Series(values, dtype=values.dtype)).check_output.to_numpy()
                except (AttributeError, TypeError, ValueError):
                    continue  # a number check on text, say: not a pairing the contract meets
                assert _passes(check, values).tolist() == expected.tolist(), (table, column, check.error)
    assert set(_ON_ARRAYS) <= seen  # every shortcut stands for a check the contract has


def test_countries_are_read_as_the_batch_contract_reads_them():
    rows = pd.DataFrame([_row(country="USA"), _row(lead_id="L2", account_id="A2", country="Deutschland")])
    tables, _ = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    assert tables["accounts"]["country"].tolist() == ["US", "DE"]
    atlantis = pd.DataFrame([_row(), _row(lead_id="L2", account_id="A2", country="Atlantis")])
    with pytest.raises(LeadInputError, match=r"row 1, field 'country'.*not a country.*iso country"):
        lead_rows_to_tables(check_lead_rows(atlantis), AS_OF)


@pytest.mark.parametrize("value", ["04/03/2026", "03.04.2026 10:00", "March 4 2026"])
def test_times_that_are_not_iso_8601_are_refused_never_guessed(value):
    rows = pd.DataFrame([_row(lead_created_at=value)])
    with pytest.raises(LeadInputError, match="row 0, field 'lead_created_at'.*ISO 8601"):
        lead_rows_to_tables(check_lead_rows(rows), AS_OF)


@pytest.mark.parametrize(
    "padded", ["2026-09-01T08:00:00  ", " 2026-09-01 08:00:00", "\t2026-09-01T08:00:00\n"]
)
def test_times_with_blanks_around_them_read_as_batch_reads_them(padded):
    # Batch strips a cell's blanks (a padded CHAR column: "2026-09-01 08:00:00  "); online refused the row.
    activity = json.dumps(
        [{"activity_type": "pricing_page", "occurred_at": padded.replace("09-01", "09-30")}]
    )
    rows = pd.DataFrame([_row(lead_created_at=padded, activities=activity)])
    tables, _ = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    clean, _ = lead_rows_to_tables(check_lead_rows(pd.DataFrame([_row()])), AS_OF)
    assert tables["leads"]["created_at"].tolist() == clean["leads"]["created_at"].tolist()
    assert tables["activities"]["occurred_at"].tolist()[0] == pd.Timestamp("2026-09-30T08:00:00").value
