"""The synthetic CRM history: deterministic, realistic, with the traps it promises."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.synthetic import COMPETITOR_DOMAINS, GeneratorConfig, generate_history, scenario_config
from features.vocab import ACTIVITY_TYPES, LEAD_SOURCES, LOST_REASONS, OPTIONAL_COLUMNS, TABLE_COLUMNS

SMALL = GeneratorConfig(accounts=1500, months=18, seed=11)
# SMALL's truth and table sizes as generated before the drift scenarios were added (they must not move).
DEFAULT_FINGERPRINT = "3178aec20e24f0f3e0bb4c29fa9a24720c9d638c"
DEFAULT_SIZES = {"accounts": 1500, "leads": 4518, "activities": 36513, "deals": 3603}


@pytest.fixture(scope="module")
def history():
    return generate_history(SMALL)


def test_tables_have_the_contract_columns(history):
    for name, frame in history.tables().items():
        assert tuple(frame.columns) == TABLE_COLUMNS[name] + OPTIONAL_COLUMNS.get(name, ()), name


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


# Drift scenarios ------------------------------------------------------------------------------------------

SCENARIO_BASE = GeneratorConfig(accounts=1500, months=18, seed=11)


def _deals_with_truth(history):
    deals = history.deals.merge(history.truth, on=["deal_id", "lead_id"])
    return deals.merge(history.accounts[["account_id", "industry"]], on="account_id", how="left")


@pytest.fixture(scope="module")
def base_deals():
    return _deals_with_truth(generate_history(SCENARIO_BASE))


def _scenario_deals(name):
    return _deals_with_truth(generate_history(scenario_config(name, SCENARIO_BASE)))


def test_default_history_is_unchanged_by_the_scenario_knobs(history):
    """The demo data must stay the same for a seed: a fingerprint of the truth of the small history (taken
    before the scenario knobs existed) and of its tables' sizes."""
    logits = np.round(history.truth["true_logit"].to_numpy(), 9)
    digest = hashlib.sha1(logits.tobytes()).hexdigest()
    sizes = {name: len(frame) for name, frame in history.tables().items()}
    assert (digest, sizes) == (DEFAULT_FINGERPRINT, DEFAULT_SIZES)


def test_a_scenario_keeps_the_same_accounts_and_leads_as_the_default():
    base = generate_history(SCENARIO_BASE)
    drifted = generate_history(scenario_config("concept_shift", SCENARIO_BASE))
    pd.testing.assert_frame_equal(base.accounts, drifted.accounts)
    pd.testing.assert_frame_equal(base.leads, drifted.leads)


def test_unknown_scenario_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="base_rate_shift"):
        scenario_config("earthquake")


def test_base_rate_shift_raises_the_win_rate_over_time(base_deals):
    deals = _scenario_deals("base_rate_shift")
    early, late = _halves(deals)
    assert late["true_probability"].mean() > early["true_probability"].mean() + 0.15
    closed_early, closed_late = early[early["outcome"] != "open"], late[late["outcome"] != "open"]
    assert (closed_late["outcome"] == "won").mean() > (closed_early["outcome"] == "won").mean() + 0.1


def test_concept_shift_changes_one_segment_after_the_shift_date(base_deals):
    deals = _scenario_deals("concept_shift")
    shift_from = pd.Timestamp(scenario_config("concept_shift", SCENARIO_BASE).shift_from)
    diff = deals["true_logit"].to_numpy() - base_deals["true_logit"].to_numpy()
    after = (deals["created_at"] >= shift_from).to_numpy()
    manufacturing = (deals["industry"] == "manufacturing").to_numpy()
    known = deals["industry"].notna().to_numpy()  # 3% of accounts hide their (true) industry
    assert np.allclose(diff[known & ~(after & manufacturing)], 0.0)
    assert np.median(diff[after & manufacturing]) == pytest.approx(2.0)


def test_numeric_trend_takes_activity_out_of_the_early_range(base_deals):
    history = generate_history(scenario_config("numeric_trend", SCENARIO_BASE))
    leads = history.leads.assign(n=history.leads["lead_id"].map(history.activities["lead_id"].value_counts()))
    leads["n"] = leads["n"].fillna(0)
    share = (leads["created_at"] - leads["created_at"].min()) / (
        leads["created_at"].max() - leads["created_at"].min()
    )
    early, late = leads.loc[share < 0.25, "n"], leads.loc[share.between(0.5, 0.75), "n"]
    assert late.mean() > 1.8 * early.mean()
    assert (late > early.quantile(0.95)).mean() > 0.15  # well above the 5% beyond that point early


def test_new_levels_appear_only_late():
    cfg = scenario_config("new_levels", SCENARIO_BASE)
    leads = generate_history(cfg).leads
    new = ~leads["lead_source"].isin(LEAD_SOURCES)
    assert set(leads.loc[new, "lead_source"]) == set(cfg.new_source_effect)
    assert (leads.loc[new, "created_at"] >= pd.Timestamp(cfg.new_sources_from)).all()
    late = leads["created_at"] >= pd.Timestamp(cfg.new_sources_from)
    assert 0.2 < new[late].mean() < 0.4


def test_seasonality_makes_winter_deals_convert_more_than_summer_ones(base_deals):
    deals = _scenario_deals("seasonality")
    diff = pd.Series(deals["true_logit"].to_numpy() - base_deals["true_logit"].to_numpy())
    month = deals["created_at"].dt.month.to_numpy()
    assert diff[month == 12].median() > diff[month == 6].median() + 1.0


def test_no_signal_gives_every_deal_the_same_chance_in_every_period():
    deals = _scenario_deals("no_signal")
    quarters = deals["created_at"].dt.to_period("Q")
    per_quarter = deals.groupby(quarters)["true_probability"].agg(["min", "max"])
    assert np.allclose(per_quarter["min"], per_quarter["max"])
    closed = deals[deals["outcome"] != "open"]
    assert 0.10 <= (closed["outcome"] == "won").mean() <= 0.50


def _halves(deals):
    middle = deals["created_at"].quantile(0.5)
    return deals[deals["created_at"] < middle], deals[deals["created_at"] >= middle]
