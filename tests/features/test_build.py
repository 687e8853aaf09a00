import math

import numpy as np
import pandas as pd
import pytest

from features.build import (
    CATEGORICAL_FEATURES,
    build_features,
    feature_groups,
    scoring_snapshots,
    training_snapshots,
)
from features.config import FeatureConfig, ICPConfig
from features.intent import lookup_codes
from features.vocab import ACTIVITY_TYPES

T = pd.Timestamp("2024-06-01")
CONFIG = FeatureConfig()
ICP = ICPConfig()


def _tables() -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "name": ["Acme", "Beta", "Rival"],
            "domain": ["acme.com", "beta.io", "rivalscore.io"],
            "industry": ["Software", None, "software"],
            "employee_count": [120, 9, 5000],
            "annual_revenue": [2.5e7, 5e5, 2e9],
            "country": ["us", "BR", None],
            "tech_stack": ["salesforce;snowflake;excel", "", "hubspot; Salesforce;hubspot"],
            "created_at": pd.to_datetime(["2014-06-01", "2025-01-01", "2000-01-01"]),  # CRM record created
            "founded_year": [2014, 2025, 2000],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5", "L6"],
            "account_id": ["A1", "A1", "A2", "A3", "A1", "A2"],
            "email": [
                "Ann.Lee@acme.com",
                "bob@gmail.com",
                "cy@beta.io",
                "dee@gmail.com",
                "ann.lee+promo@ACME.com",
                None,
            ],
            "job_title": ["VP Sales", "student", "Head of Growth", "", "vp of sales", "Intern"],
            "lead_source": ["Event", "paid search", "referral", "carrier pigeon", None, "partner"],
            "created_at": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-03-01", "2024-03-15", "2024-04-01", "2024-07-01"]
            ),
        }
    ).astype({"email": "str"})
    activities = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L1", "L1", "L1", "L1", "L1", "L3", "L6"],
            "occurred_at": [
                T - pd.Timedelta(days=2),  # pricing page, 2 days before
                T - pd.Timedelta(days=10),  # demo request, 10 days before
                T - pd.Timedelta(days=10) + pd.Timedelta(hours=1),  # email open, same calendar day
                T - pd.Timedelta(days=40),  # webinar
                T - pd.Timedelta(days=100),  # unsubscribe
                T,  # at the snapshot: not visible
                T + pd.Timedelta(days=1),  # after the snapshot: not visible
                T - pd.Timedelta(days=70),  # L3 blog
                T - pd.Timedelta(days=5),  # L6 visits before it is a lead
            ],
            "activity_type": [
                "pricing_page",
                "demo_request",
                "email_open",
                "webinar",
                "unsubscribe",
                "pricing_page",
                "blog",
                "blog",
                "pricing_page",
            ],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D3"],
            "lead_id": ["L1", "L3"],
            "account_id": ["A1", "A2"],
            "created_at": [T, T - pd.Timedelta(days=1)],
            "closed_at": pd.to_datetime([None, None]),
            "outcome": ["open", "open"],
            "amount": [np.nan, np.nan],
            "lost_reason": [None, None],
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities, "deals": deals}


def _build(tables, snapshots) -> pd.DataFrame:
    return build_features(tables, snapshots, CONFIG, ICP).to_frame()


def _row(frame: pd.DataFrame, lead_id: str) -> pd.Series:
    return frame.loc[frame["lead_id"] == lead_id].iloc[0]


def test_columns_are_keys_then_the_feature_groups_in_order():
    tables = _tables()
    features = _build(tables, training_snapshots(tables["deals"]))
    groups = feature_groups(CONFIG)
    assert list(features.columns) == ["lead_id", "snapshot_at", "deal_id", *groups["fit"], *groups["intent"]]
    assert set(CATEGORICAL_FEATURES) <= set(groups["fit"])
    assert all(features[c].dtype == "str" for c in CATEGORICAL_FEATURES)
    assert features["n_pricing_page_7d"].dtype == "int64"
    assert features["tech_overlap_count"].dtype == "int64"
    assert features["is_duplicate"].dtype == bool and features["unsubscribed"].dtype == bool
    assert features["days_since_last_activity"].dtype == "float64"
    assert len(groups["intent"]) == len(CONFIG.windows_days) * (len(ACTIVITY_TYPES) + 1) + 8


def test_one_row_per_snapshot_in_the_given_order_with_a_range_index():
    tables = _tables()
    snapshots = pd.DataFrame(
        {"lead_id": ["L3", "L1", "L3", "L9"], "snapshot_at": [T, T, T - pd.Timedelta(days=80), T]},
        index=[7, 3, 5, 1],
    )
    features = _build(tables, snapshots)
    assert features.index.equals(pd.RangeIndex(4))
    assert features["lead_id"].tolist() == ["L3", "L1", "L3", "L9"]
    assert features.loc[0, "n_blog_90d"] == 1 and features.loc[2, "n_blog_90d"] == 0
    # An unknown lead still gets a row: unknown fit, no intent.
    assert features.loc[3, "seniority"] == "unknown" and features.loc[3, "n_activities_90d"] == 0


def test_point_in_time_later_events_change_nothing():
    tables = _tables()
    snapshots = scoring_snapshots(tables["leads"], T)
    before = _build(tables, snapshots)

    later = tables | {
        "activities": pd.concat(
            [
                tables["activities"],
                pd.DataFrame(
                    {
                        "lead_id": ["L1", "L2", "L3", "L4", "L5", "L2"],
                        "occurred_at": [T, T, T + pd.Timedelta(seconds=1), T + pd.Timedelta(days=3), T, T],
                        "activity_type": [
                            "demo_request",
                            "pricing_page",
                            "unsubscribe",
                            "webinar",
                            "careers_page",
                            "email_click",
                        ],
                    }
                ),
            ],
            ignore_index=True,
        ),
        # A lead created after the snapshot with L3's mailbox must not make anyone a duplicate now.
        "leads": pd.concat(
            [
                tables["leads"],
                pd.DataFrame(
                    {
                        "lead_id": ["L7"],
                        "account_id": ["A2"],
                        "email": ["CY@beta.io"],
                        "job_title": ["CEO"],
                        "lead_source": ["event"],
                        "created_at": [T + pd.Timedelta(days=2)],
                    }
                ),
            ],
            ignore_index=True,
        ),
    }
    after = _build(later, snapshots)
    pd.testing.assert_frame_equal(before, after)


def test_training_and_scoring_give_the_same_features_for_the_same_lead_and_time():
    tables = _tables()
    training = _build(tables, training_snapshots(tables["deals"]))
    scoring = _build(tables, scoring_snapshots(tables["leads"], T))
    deal_row = training.loc[training["deal_id"] == "D1"].drop(columns="deal_id").reset_index(drop=True)
    score_row = scoring.loc[scoring["lead_id"] == "L1"].reset_index(drop=True)
    pd.testing.assert_frame_equal(deal_row, score_row, check_dtype=False)
    assert deal_row.loc[0, "n_activities_90d"] == 4


def test_counts_recency_decay_on_a_hand_computed_example():
    tables = _tables()
    row = _row(_build(tables, scoring_snapshots(tables["leads"], T)), "L1")
    assert (row["n_pricing_page_7d"], row["n_activities_7d"]) == (1, 1)
    assert (row["n_demo_request_30d"], row["n_email_open_30d"], row["n_activities_30d"]) == (1, 1, 3)
    assert (row["n_webinar_90d"], row["n_unsubscribe_90d"], row["n_activities_90d"]) == (1, 0, 4)
    assert row["days_since_last_activity"] == pytest.approx(2.0)
    assert row["days_since_last_high_intent"] == pytest.approx(2.0)
    expected_engagement = (
        5.0 * 0.5 ** (2 / 14)
        + 10.0 * 0.5 ** (10 / 30)
        + 0.5 * 0.5 ** ((10 - 1 / 24) / 7)
        + 3.0 * 0.5 ** (40 / 45)
        - 10.0 * 0.5 ** (100 / 180)
    )
    assert row["engagement_score"] == pytest.approx(expected_engagement)
    assert row["velocity_7_30"] == pytest.approx(1 / (2 + 1))  # 1 in 7 days; demo + email in days 7..37
    assert row["active_days_90d"] == 3  # May 30, May 22 (twice), Apr 22
    assert row["unsubscribed"] and not row["inactive_60d"]
    assert row["lead_age_days"] == pytest.approx(152.0)


def test_a_lead_without_activity_is_inactive_with_missing_recency():
    tables = _tables()
    row = _row(_build(tables, scoring_snapshots(tables["leads"], T)), "L2")
    assert row["n_activities_90d"] == 0 and row["engagement_score"] == 0.0 and row["velocity_7_30"] == 0.0
    assert math.isnan(row["days_since_last_activity"]) and math.isnan(row["days_since_last_high_intent"])
    assert row["inactive_60d"] and not row["unsubscribed"]


def test_inactive_after_config_days():
    tables = _tables()
    row = _row(_build(tables, scoring_snapshots(tables["leads"], T)), "L3")  # last activity 70 days ago
    assert row["inactive_60d"]
    config = FeatureConfig(inactive_after_days=90)
    row = _row(build_features(tables, scoring_snapshots(tables["leads"], T), config, ICP).to_frame(), "L3")
    assert not row["inactive_60d"]


def test_a_lead_created_after_the_snapshot_gets_fit_but_no_intent():
    tables = _tables()
    row = _row(_build(tables, scoring_snapshots(tables["leads"], T)), "L6")  # created July, activity in May
    assert row["seniority"] == "intern" and row["region"] == "latin_america"
    assert row["n_activities_90d"] == 0 and row["engagement_score"] == 0.0
    assert math.isnan(row["days_since_last_activity"]) and row["lead_age_days"] == 0.0


def test_fit_features_from_account_and_lead():
    tables = _tables()
    features = _build(tables, scoring_snapshots(tables["leads"], T))
    l1, l3, l4 = _row(features, "L1"), _row(features, "L3"), _row(features, "L4")
    assert (l1["industry"], l1["employee_band"], l1["revenue_band"]) == ("software", "50-199", "10M-50M")
    assert (l1["country"], l1["region"]) == ("US", "north_america")
    assert l1["company_age_years"] == 10.0  # founded 2014, snapshot in 2024
    assert (l1["tech_overlap_count"], l1["tech_stack_size"]) == (2, 3)
    assert (l1["seniority"], l1["department"], l1["lead_source"]) == ("vp", "sales", "event")
    assert (l3["industry"], l3["employee_band"], l3["revenue_band"]) == ("unknown", "1-9", "0-1M")
    assert math.isnan(l3["company_age_years"])  # founded after the snapshot's year: unknown, not negative
    assert (l3["tech_overlap_count"], l3["tech_stack_size"]) == (0, 0)
    assert (l4["employee_band"], l4["revenue_band"]) == ("5000+", "1B+")
    assert (l4["country"], l4["region"]) == ("unknown", "other")
    assert (l4["tech_overlap_count"], l4["tech_stack_size"]) == (2, 2)  # hubspot listed twice counts once
    assert (l4["seniority"], l4["lead_source"]) == ("unknown", "other")
    assert _row(features, "L2")["lead_source"] == "paid_search"


def test_email_domain_types():
    tables = _tables()
    features = _build(tables, scoring_snapshots(tables["leads"], T))
    kinds = dict(zip(features["lead_id"], features["email_domain_type"], strict=True))
    assert kinds["L1"] == "business"
    assert kinds["L2"] == "free"  # gmail.com
    assert kinds["L4"] == "competitor"  # free address, but the account is a competitor's
    assert kinds["L6"] == "unknown"  # no email at all

    tables["leads"].loc[tables["leads"]["lead_id"] == "L3", "email"] = "cy@eu.scoreforce.com"
    features = _build(tables, scoring_snapshots(tables["leads"], T))
    assert _row(features, "L3")["email_domain_type"] == "competitor"  # a competitor's subdomain


def test_duplicate_detection_by_normalised_mailbox_and_point_in_time():
    tables = _tables()
    # L5 (ann.lee+promo@ACME.com, created April) repeats L1 (Ann.Lee@acme.com, created January).
    features = _build(tables, scoring_snapshots(tables["leads"], T))
    duplicates = features.loc[features["is_duplicate"], "lead_id"].tolist()
    assert duplicates == ["L5"]

    # Gmail ignores dots: a later b.o.b@gmail.com repeats bob@gmail.com.
    extra = pd.DataFrame(
        {
            "lead_id": ["L8"],
            "account_id": ["A1"],
            "email": ["B.o.b@gmail.com"],
            "job_title": ["cfo"],
            "lead_source": ["event"],
            "created_at": [pd.Timestamp("2024-05-01")],
        }
    )
    tables["leads"] = pd.concat([tables["leads"], extra], ignore_index=True)
    features = _build(tables, scoring_snapshots(tables["leads"], T))
    assert sorted(features.loc[features["is_duplicate"], "lead_id"]) == ["L5", "L8"]

    # Before the original lead existed, the repeat is not yet a duplicate.
    early = pd.DataFrame({"lead_id": ["L5"], "snapshot_at": [pd.Timestamp("2023-12-01")]})
    assert not _build(tables, early).loc[0, "is_duplicate"]


def test_timestamp_units_do_not_matter():
    tables = _tables()
    snapshots = scoring_snapshots(tables["leads"], T)
    expected = _build(tables, snapshots)
    tables_us = {name: frame.copy() for name, frame in tables.items()}
    tables_us["activities"]["occurred_at"] = tables_us["activities"]["occurred_at"].astype("datetime64[s]")
    tables_us["leads"]["created_at"] = tables_us["leads"]["created_at"].astype("datetime64[ms]")
    snapshots_us = snapshots.astype({"snapshot_at": "datetime64[us]"})
    result = _build(tables_us, snapshots_us)
    pd.testing.assert_frame_equal(expected.drop(columns="snapshot_at"), result.drop(columns="snapshot_at"))


def test_feature_groups_leave_out_excluded_features():
    config = FeatureConfig(exclude_features=("is_duplicate", "engagement_score"))
    groups = feature_groups(config)
    assert "is_duplicate" not in groups["fit"] and "engagement_score" not in groups["intent"]
    assert "industry" in groups["fit"] and "n_pricing_page_7d" in groups["intent"]


def test_config_windows_name_the_count_columns():
    tables = _tables()
    config = FeatureConfig(windows_days=(14,))
    features = build_features(tables, scoring_snapshots(tables["leads"], T), config, ICP).to_frame()
    assert "n_pricing_page_14d" in features.columns and "n_pricing_page_7d" not in features.columns
    assert _row(features, "L1")["n_activities_14d"] == 3


def test_snapshots_need_lead_and_time():
    with pytest.raises(ValueError, match="snapshot_at"):
        _build(_tables(), pd.DataFrame({"lead_id": ["L1"]}))


def test_no_snapshots_give_an_empty_frame_with_the_same_columns_and_types():
    tables = _tables()
    full = _build(tables, scoring_snapshots(tables["leads"], T))
    empty = _build(tables, scoring_snapshots(tables["leads"].iloc[:0], T))
    assert len(empty) == 0
    pd.testing.assert_series_equal(empty.dtypes, full.dtypes)


def test_activities_of_unknown_type_or_time_are_ignored():
    tables = _tables()
    expected = _build(tables, scoring_snapshots(tables["leads"], T))
    odd = pd.DataFrame(
        {
            "lead_id": ["L1", "L1"],
            "occurred_at": [T - pd.Timedelta(days=1), pd.NaT],
            "activity_type": ["fax_sent", "pricing_page"],
        }
    )
    tables["activities"] = pd.concat([tables["activities"], odd], ignore_index=True)
    pd.testing.assert_frame_equal(_build(tables, scoring_snapshots(tables["leads"], T)), expected)


def test_a_missing_id_finds_a_missing_key_as_reindexing_does():
    """A lead without an account id finds the account without one; a snapshot without a lead id, the lead
    without one (rows the contract would quarantine, read the way pandas reindexes them)."""
    tables = _tables()
    tables["accounts"].loc[2, "account_id"] = None  # A3: software, 5000 employees
    tables["leads"].loc[5, "account_id"] = None  # L6 (Intern)
    tables["leads"].loc[3, ["lead_id", "account_id"]] = [None, "A1"]  # L4 (no title)
    snapshots = pd.DataFrame({"lead_id": pd.array(["L6", None], dtype="str"), "snapshot_at": [T, T]})
    features = _build(tables, snapshots)
    assert features["employee_band"].tolist() == ["5000+", "50-199"]  # at A3 and A1 ("unknown" if not found)
    assert features["seniority"].tolist() == ["intern", "unknown"]


@pytest.mark.parametrize("filler", [0, 1_500])
def test_duplicate_ties_go_to_the_smaller_lead_id_in_code_point_order(filler):
    """Leads created at the same moment with one mailbox: the smallest lead id is the original ("L10" before
    "L9", "Zoe" before "Élise"), among a few leads and among many."""
    leads = pd.DataFrame(
        {
            "lead_id": ["L9", "L10", "Zoe", "Élise", "M1", *(f"F{i}" for i in range(filler))],
            "account_id": "A1",
            "email": [
                "same@acme.com",
                "Same@acme.com ",
                "z@acme.com",
                "z+x@acme.com",
                None,
                *(f"f{i}@acme.com" for i in range(filler)),
            ],
            "job_title": None,
            "lead_source": None,
            "created_at": pd.Timestamp("2024-01-01"),
        }
    )
    tables = {**_tables(), "leads": leads}
    snapshots = pd.DataFrame({"lead_id": ["L9", "L10", "Zoe", "Élise", "M1"], "snapshot_at": [T] * 5})
    assert _build(tables, snapshots)["is_duplicate"].tolist() == [True, False, False, True, False]


def test_lookup_codes_number_the_universe_in_order_of_first_appearance():
    """A missing value of the universe takes a position; a missing or absent value gets -1; the same for a
    few values and for many."""
    universe = np.array(["b", None, "a", "b"], dtype=object)
    values = np.array(["a", "b", None, "c", "b"], dtype=object)
    assert lookup_codes(values, universe).tolist() == [2, 0, -1, -1, 0]
    many = np.concatenate([values, np.array(["z"] * 1_000, dtype=object)])
    assert lookup_codes(many, universe)[: len(values)].tolist() == [2, 0, -1, -1, 0]
    assert lookup_codes(values, np.array([None, None], dtype=object)).tolist() == [-1] * 5
    assert lookup_codes(values[:0], universe).dtype == np.int64
    numbers = np.array([3.0, np.nan, 1.0])
    assert lookup_codes(numbers, np.array([1.0, 3.0])).tolist() == [1, -1, 0]
    assert lookup_codes(np.repeat(numbers, 200), np.array([1.0, 3.0]))[::200].tolist() == [1, -1, 0]
