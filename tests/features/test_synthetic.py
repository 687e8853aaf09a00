"""The synthetic CRM history: deterministic, realistic, with the traps it promises."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.synthetic import COMPETITOR_DOMAINS, GeneratorConfig, generate_history
from features.vocab import ACTIVITY_TYPES, LOST_REASONS, TABLE_COLUMNS

SMALL = GeneratorConfig(accounts=1500, months=18, seed=11)


@pytest.fixture(scope="module")
def history():
    return generate_history(SMALL)


def test_tables_have_the_contract_columns(history):
    for name, frame in history.tables().items():
        assert tuple(frame.columns) == TABLE_COLUMNS[name], name


def test_same_seed_same_tables_other_seed_other_tables(history):
    again = generate_history(SMALL)
    for name, frame in history.tables().items():
        pd.testing.assert_frame_equal(frame, again.tables()[name])
    other = generate_history(SMALL.model_copy(update={"seed": 12}))
    assert not other.deals["outcome"].equals(history.deals["outcome"])


def test_conversion_rate_is_realistic(history):
    closed = history.deals[history.deals["outcome"] != "open"]
    won_share = (closed["outcome"] == "won").mean()
    assert 0.10 <= won_share <= 0.40
    assert (history.deals["outcome"] == "open").any()


def test_truth_gives_an_oracle_better_than_chance(history):
    deals = history.deals.merge(history.truth, on=["deal_id", "lead_id"])
    closed = deals[deals["outcome"] != "open"]
    assert closed["true_probability"].between(0, 1).all()
    assert roc_auc_score(closed["outcome"] == "won", closed["true_probability"]) > 0.7


def test_deal_outcomes_are_consistent(history):
    deals = history.deals
    closed = deals["outcome"] != "open"
    assert deals.loc[closed, "closed_at"].notna().all()
    assert deals.loc[~closed, "closed_at"].isna().all()
    assert (deals.loc[closed, "closed_at"] > deals.loc[closed, "created_at"]).all()
    lost = deals["outcome"] == "lost"
    assert deals.loc[lost, "lost_reason"].isin(LOST_REASONS).all()
    assert deals.loc[~lost, "lost_reason"].isna().all()


def test_activities_belong_to_leads_and_stay_in_the_window(history):
    acts = history.activities
    assert set(acts["activity_type"]) == set(ACTIVITY_TYPES)
    assert acts["lead_id"].isin(history.leads["lead_id"]).all()
    assert acts["occurred_at"].max() < pd.Timestamp(SMALL.end)
    created = acts.merge(history.leads[["lead_id", "created_at"]], on="lead_id")
    assert (created["occurred_at"] >= created["created_at"]).all()


def test_messy_titles_free_email_competitors_and_duplicates_are_present(history):
    leads = history.leads
    titles = set(leads["job_title"])
    assert {"VP Sales", "vp of sales", "student"} <= titles
    domains = leads["email"].str.split("@").str[1]
    assert domains.isin(["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"]).mean() > 0.05
    assert domains.isin(COMPETITOR_DOMAINS).any()
    assert leads["email"].duplicated().sum() > 0


def test_students_and_competitors_rarely_win(history):
    deals = history.deals.merge(history.leads, on="lead_id").merge(history.truth, on="deal_id")
    competitor = deals["email"].str.split("@").str[1].isin(COMPETITOR_DOMAINS)
    student = deals["job_title"].str.lower().str.contains("student")
    assert deals.loc[competitor, "true_probability"].max() < 0.05
    assert deals.loc[student, "true_probability"].max() < 0.05


def test_won_deals_get_a_burst_of_activity_after_creation(history):
    """Post-snapshot activity differs by outcome: a feature that looks past the snapshot would leak."""
    acts = history.activities.merge(history.deals[["lead_id", "created_at", "outcome"]], on="lead_id")
    after = acts[(acts["occurred_at"] > acts["created_at"]) & acts["activity_type"].eq("demo_request")]
    per_deal = (after.groupby("outcome").size() / history.deals.groupby("outcome").size()).fillna(0)
    assert per_deal["won"] > 0.5
    assert per_deal["won"] > 3 * per_deal["lost"]


def test_drift_shift_raises_conversion_of_the_shifted_industry():
    base = GeneratorConfig(accounts=800, months=12, seed=3)
    shifted = base.model_copy(
        update={"shift_from": "2026-04-01", "shift_industry_effect": {"manufacturing": 2.0}}
    )
    a, b = generate_history(base), generate_history(shifted)

    def mean_p(h):
        deals = h.deals.merge(h.truth, on="deal_id").merge(
            h.accounts[["account_id", "industry"]], on="account_id"
        )
        mask = (deals["industry"] == "manufacturing") & (deals["created_at"] >= "2026-04-01")
        return deals.loc[mask, "true_probability"].mean()

    assert mean_p(b) > mean_p(a) + 0.1
    assert np.isfinite(mean_p(a))
