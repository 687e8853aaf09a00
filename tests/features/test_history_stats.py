import numpy as np
import pandas as pd
import pytest

from features.history_stats import activity_by_week, activity_rate_ratio, deals_created_between


def _deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "lead_id": ["L1", "L2", "L3"],
            "created_at": pd.to_datetime(["2024-03-01", "2024-03-01", "2024-04-01"]),
            "outcome": ["won", "lost", "lost"],
        }
    )


def _activities() -> pd.DataFrame:
    at = pd.Timestamp("2024-03-01")
    return pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L1", "L1", "L2", "L3", "L9"],
            "occurred_at": [
                at - pd.Timedelta(days=1),  # week -1
                at - pd.Timedelta(days=7),  # exactly 7 days before: week -1
                at - pd.Timedelta(days=8),  # week -2
                at + pd.Timedelta(days=2),  # after creation: week 0
                at - pd.Timedelta(days=3),  # week -1
                pd.Timestamp("2024-04-01") - pd.Timedelta(hours=1),  # week -1 of D3
                at - pd.Timedelta(days=1),  # a lead without a deal
            ],
            "activity_type": [
                "pricing_page",
                "pricing_page",
                "demo_request",
                "pricing_page",
                "pricing_page",
                "blog",
                "pricing_page",
            ],
        }
    ).astype({"occurred_at": "datetime64[us]"})  # a different unit than the deals: must not matter


def _cell(table: pd.DataFrame, outcome: str, week: int, activity: str) -> pd.Series:
    row = table[
        (table["outcome"] == outcome) & (table["week"] == week) & (table["activity_type"] == activity)
    ]
    assert len(row) == 1
    return row.iloc[0]


def test_counts_activities_per_week_before_creation_by_outcome():
    table = activity_by_week(_activities(), _deals(), weeks_before=3)
    assert list(table.columns) == ["outcome", "week", "activity_type", "deals", "activities", "per_deal"]
    assert _cell(table, "won", -1, "pricing_page")["activities"] == 2
    assert _cell(table, "won", -2, "demo_request")["activities"] == 1
    lost = _cell(table, "lost", -1, "pricing_page")
    assert lost["activities"] == 1 and lost["deals"] == 2 and lost["per_deal"] == pytest.approx(0.5)
    assert _cell(table, "lost", -1, "blog")["per_deal"] == pytest.approx(0.5)
    assert set(table["week"]) == {-3, -2, -1}  # nothing after creation by default
    assert table["activities"].sum() == 5  # the after-creation visit and the deal-less lead are left out


def test_grid_is_complete_with_zeros():
    table = activity_by_week(
        _activities(), _deals(), weeks_before=2, activity_types=("pricing_page", "webinar")
    )
    assert len(table) == 2 * 2 * 2  # outcomes x weeks x types
    assert _cell(table, "won", -2, "webinar")["activities"] == 0
    assert (table["per_deal"] >= 0).all() and not table.isna().any().any()


def test_weeks_after_shows_activity_after_creation():
    table = activity_by_week(_activities(), _deals(), weeks_before=1, weeks_after=2)
    assert set(table["week"]) == {-1, 0, 1}
    assert _cell(table, "won", 0, "pricing_page")["activities"] == 1


def test_rejects_negative_weeks():
    with pytest.raises(ValueError, match="weeks_before"):
        activity_by_week(_activities(), _deals(), weeks_before=-1)


def test_rate_ratio_ranks_what_won_deals_do_more():
    table = activity_rate_ratio(activity_by_week(_activities(), _deals(), weeks_before=3))
    assert list(table.columns) == ["activity_type", "per_won_deal", "per_lost_deal", "ratio"]
    rows = table.set_index("activity_type")
    assert rows.loc["pricing_page", "per_won_deal"] == pytest.approx(2.0)
    assert rows.loc["pricing_page", "ratio"] == pytest.approx(4.0)  # 2 per won deal vs 0.5 per lost deal
    assert np.isinf(rows.loc["demo_request", "ratio"])  # only the won deal requested a demo
    assert rows.loc["blog", "ratio"] == 0.0
    assert table["activity_type"].iloc[0] == "demo_request"


def test_rate_ratio_needs_both_outcomes():
    won_only = activity_by_week(_activities(), _deals().iloc[:1])
    with pytest.raises(ValueError, match="lost"):
        activity_rate_ratio(won_only)


def test_deals_created_between_restricts_deals_only():
    tables = {"leads": pd.DataFrame({"lead_id": ["L1"]}), "deals": _deals()}
    window = deals_created_between(tables, start="2024-03-01", end=pd.Timestamp("2024-04-01"))
    assert window["deals"]["deal_id"].tolist() == ["D1", "D2"]  # start inclusive, end exclusive
    assert window["leads"] is tables["leads"]
    assert deals_created_between(tables, start="2024-03-15")["deals"]["deal_id"].tolist() == ["D3"]
    assert len(deals_created_between(tables)["deals"]) == 3
    assert len(tables["deals"]) == 3  # the input is not changed
