"""Tables as named arrays (the online path) give exactly the features that DataFrames (training, batch) give."""

import json

import numpy as np
import pandas as pd
import pytest

from features.build import scoring_snapshots, training_snapshots
from features.config import FeatureConfig, ICPConfig
from features.fit import fit_columns
from features.frames import FEW_ROWS, frame_of
from features.intent import intent_columns, lookup_codes
from features.synthetic import GeneratorConfig, generate_history
from models.lead_input import check_lead_rows, lead_rows_to_tables, tables_to_lead_rows

T = pd.Timestamp("2024-06-01")
CONFIG = FeatureConfig()
ICP = ICPConfig()


def _arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A frame as the scoring path passes it: text as object arrays (None missing), times datetime64[ns],
    numbers float64."""
    out = {}
    for name in frame.columns:
        values = frame[name]
        if values.dtype == "str" or values.dtype == object:
            out[name] = np.array([v if isinstance(v, str) else None for v in values.tolist()], dtype=object)
        elif values.dtype.kind == "M":
            out[name] = values.to_numpy().astype("datetime64[ns]")
        else:
            out[name] = values.to_numpy(dtype=float)
    return out


def _assert_same(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)
    for name in expected:
        assert isinstance(got[name], np.ndarray), name
        np.testing.assert_array_equal(got[name], expected[name], strict=True, err_msg=name)


def _features(tables, snapshots) -> dict[str, np.ndarray]:
    fit = fit_columns(snapshots, tables["leads"], tables["accounts"], CONFIG, ICP)
    return fit | intent_columns(snapshots, tables["leads"], tables["activities"], CONFIG)


def _assert_arrays_give_the_frames_features(tables, snapshots) -> dict[str, np.ndarray]:
    expected = _features(tables, snapshots)
    _assert_same(_features({k: _arrays(v) for k, v in tables.items()}, _arrays(snapshots)), expected)
    return expected


def _tables(missing_keys: bool = False) -> dict[str, pd.DataFrame]:
    """Small CRM tables with the gaps real rows have: missing account, title, email, country, head count.

    missing_keys: an account (A3) and a lead (L7) without their id.
    """
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["Acme", "Beta", "Rival"],
            "domain": ["acme.com", None, "rivalscore.io"],
            "industry": ["Software", None, "fintech"],
            "employee_count": [120.0, np.nan, 5000.0],
            "annual_revenue": [2.5e7, np.nan, 2e9],
            "country": ["us", None, "DE"],
            "tech_stack": ["salesforce;snowflake", None, "hubspot; Salesforce"],
            "created_at": pd.to_datetime(["2014-06-01", None, "2000-01-01"]),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
            "account_id": ["A1", "A1", "A2", "A_GONE", None, "A3", "A1"],
            "email": [
                "Ann.Lee@acme.com",
                "bob@gmail.com",
                None,
                "dee@gmail.com",
                "eve@",
                "fay@rivalscore.io",
                None,
            ],
            "job_title": ["VP Sales", None, "Head of Growth", "", "cto", None, "intern"],
            "lead_source": ["Event", None, "referral", "carrier pigeon", "Paid Search", "partner", None],
            "created_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", None, "2024-03-15", "2024-04-01", "2024-07-01", "2024-05-01"]
            ),
        }
    ).astype({"email": "str", "job_title": "str", "lead_source": "str"})
    if missing_keys:  # a missing id finds a missing key, as reindexing on a "str" key does
        accounts.loc[2, "account_id"] = None
        leads.loc[6, "lead_id"] = None
    activities = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L1", "L1", "L1", "L3", "L6", "L99", "L3"],
            "occurred_at": [
                T - pd.Timedelta(days=2),
                T - pd.Timedelta(days=10),
                T - pd.Timedelta(days=40),
                T,  # at the snapshot: not visible
                T - pd.Timedelta(days=3),
                T - pd.Timedelta(days=70),
                T - pd.Timedelta(days=5),  # before L6 is a lead
                T - pd.Timedelta(days=1),  # of an unknown lead
                pd.NaT,
            ],
            "activity_type": [
                "pricing_page",
                "demo_request",
                "webinar",
                "pricing_page",
                "chat_message",  # not a known type
                "blog",
                "pricing_page",
                "blog",
                "blog",
            ],
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities}


def _snapshots(lead_ids: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": pd.array(lead_ids, dtype="str"), "snapshot_at": [T] * len(lead_ids)})


@pytest.mark.parametrize("missing_keys", [False, True])
@pytest.mark.parametrize(
    "lead_ids",
    [
        ["L1"],
        ["L1", "L2", "L3"],
        ["L2", "L4", "L5", "L7"],  # no activities
        ["L3", "L4", "L5", "L6", "L7"],  # missing account, title, email, country, head count
        ["L99", "L1", "L404"],  # unknown leads (L99 has an activity)
        ["L1", None],  # a snapshot without a lead id
        ["L1", "L2", "L3", "L4", "L5", "L6", "L7"],
    ],
)
def test_named_arrays_give_the_same_features_as_frames(lead_ids, missing_keys):
    tables = _tables(missing_keys)
    _assert_arrays_give_the_frames_features(tables, _snapshots(lead_ids))


def test_the_tables_of_the_comparison_are_read_as_intended():
    """The cases above are what they claim to be: seen activities, unseen types and gaps read as such."""
    tables = _tables()
    got = _assert_arrays_give_the_frames_features(tables, _snapshots(["L1", "L4", "L5", "L99"]))
    # L1: not the one at T, nor the one of an unknown type; L99, not in leads, still has its activity
    assert got["n_activities_90d"].tolist() == [3, 0, 0, 1]
    assert got["industry"].tolist() == ["software", "unknown", "unknown", "unknown"]
    assert np.isnan(got["employee_count"][[1, 3]]).all()
    with_gaps = _assert_arrays_give_the_frames_features(tables, _snapshots(["L3", "L6"]))
    assert with_gaps["country"].tolist() == ["unknown", "DE"]
    assert with_gaps["email_domain_type"].tolist() == ["unknown", "competitor"]
    assert np.isnan(with_gaps["lead_age_days"][0])
    keyless = _assert_arrays_give_the_frames_features(_tables(True), _snapshots(["L5", None]))
    assert keyless["industry"].tolist() == ["fintech", "software"]  # L5 finds A3; no lead id finds L7 (A1)
    assert keyless["seniority"].tolist() == ["c_level", "intern"]


def test_snapshots_at_different_times_and_units():
    tables = _tables()
    tables["leads"]["created_at"] = tables["leads"]["created_at"].astype("datetime64[s]")
    snapshots = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L6", "L2"],
            "snapshot_at": pd.to_datetime(["2024-05-25", "2024-06-02", "2024-06-01", "2024-01-15"]),
        }
    ).astype({"snapshot_at": "datetime64[us]"})
    got = _assert_arrays_give_the_frames_features(tables, snapshots)
    assert got["n_activities_90d"].tolist() == [2, 4, 0, 0]


def test_duplicates_among_a_few_leads_and_many():
    """Ties in created_at go to the smaller lead id in pyarrow's order, also when a few are ranked in Python."""
    leads = pd.DataFrame(
        {
            "lead_id": ["L9", "L10", "Zoe", "Élise", "M1"],
            "account_id": ["A1"] * 5,
            "email": ["same@acme.com", "Same@acme.com ", "z@acme.com", "z+x@acme.com", None],
            "job_title": [None] * 5,
            "lead_source": [None] * 5,
            "created_at": pd.to_datetime(["2024-01-01"] * 5),
        }
    )
    filler = pd.DataFrame(
        {
            "lead_id": [f"F{i}" for i in range(FEW_ROWS)],
            "account_id": ["A1"] * FEW_ROWS,
            "email": [f"f{i}@acme.com" for i in range(FEW_ROWS)],
            "job_title": [None] * FEW_ROWS,
            "lead_source": [None] * FEW_ROWS,
            "created_at": pd.to_datetime(["2024-01-01"] * FEW_ROWS),
        }
    )
    accounts = _tables()["accounts"]
    activities = _tables()["activities"].iloc[:0]
    snapshots = _snapshots(["L9", "L10", "Zoe", "Élise", "M1"])
    expected = [True, False, False, True, False]  # "L10" < "L9"; "Zoe" < "Élise" (code points)
    for table in (leads, pd.concat([leads, filler], ignore_index=True)):
        tables = {"accounts": accounts, "leads": table, "activities": activities}
        got = _assert_arrays_give_the_frames_features(tables, snapshots)
        assert got["is_duplicate"].tolist() == expected


@pytest.mark.parametrize("dirty_rows", [0, 3])
def test_a_synthetic_history_large_and_small(dirty_rows):
    """Many rows (past the few-rows switches) and a one-lead slice, with the defects of real CRM exports."""
    history = generate_history(GeneratorConfig(accounts=400, months=6, seed=5, dirty_rows=dirty_rows))
    tables = {k: v for k, v in history.tables().items() if k != "deals"}
    assert len(tables["leads"]) > FEW_ROWS and len(tables["activities"]) > FEW_ROWS
    _assert_arrays_give_the_frames_features(tables, scoring_snapshots(tables["leads"], "2026-10-01"))
    _assert_arrays_give_the_frames_features(tables, training_snapshots(history.deals))
    lead = tables["activities"]["lead_id"].value_counts().index[0]
    one = {
        "leads": tables["leads"][tables["leads"]["lead_id"] == lead].reset_index(drop=True),
        "accounts": tables["accounts"],
        "activities": tables["activities"][tables["activities"]["lead_id"] == lead].reset_index(drop=True),
    }
    got = _assert_arrays_give_the_frames_features(one, scoring_snapshots(one["leads"], "2026-10-01"))
    assert got["n_activities_90d"][0] > 0


def test_one_lead_from_lead_rows_as_arrays_and_as_frames():
    """The online path's tables (named arrays) and the same tables as frames give the same features."""
    history = generate_history(GeneratorConfig(accounts=50, months=6, seed=2))
    tables = history.tables()
    lead = tables["activities"]["lead_id"].value_counts().index[0]
    rows = tables_to_lead_rows(tables, [lead])
    rows = pd.concat([rows, rows.assign(lead_id="NEW", activities=json.dumps([]), job_title=None)])
    as_of = pd.Timestamp(history.deals["created_at"].max())
    online, snapshots = lead_rows_to_tables(check_lead_rows(rows.reset_index(drop=True)), as_of)
    expected = _features({k: frame_of(v) for k, v in online.items()}, frame_of(snapshots))
    _assert_same(_features(online, snapshots), expected)
    assert expected["n_activities_90d"][0] > 0


def test_lookup_codes_of_a_few_texts_number_as_arrow_does():
    """Position among the distinct values of the universe in order of first appearance (a missing one
    included), -1 for a missing or absent value; the same for a few values and for many."""
    universe = np.array(["b", None, "a", "b"], dtype=object)
    values = np.array(["a", "b", None, "c", "b"], dtype=object)
    assert lookup_codes(values, universe).tolist() == [2, 0, -1, -1, 0]
    many = np.concatenate([values, np.array(["z"] * FEW_ROWS, dtype=object)])
    assert lookup_codes(many, universe)[: len(values)].tolist() == [2, 0, -1, -1, 0]
    as_str = pd.array(values, dtype="str")
    assert lookup_codes(as_str, pd.array(universe, dtype="str")).tolist() == [2, 0, -1, -1, 0]
    assert lookup_codes(values, np.array([None, None], dtype=object)).tolist() == [-1] * 5
    assert lookup_codes(values[:0], universe).dtype == np.int64
