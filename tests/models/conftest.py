"""Small synthetic feature frames whose true conversion probability is known."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from models.config import LightGBMConfig, ModelConfig

CATEGORICAL = ["industry", "region", "seniority", "email_domain_type", "lead_source"]
NUMERIC = [
    "employee_count",
    "n_demo_request_90d",
    "n_pricing_page_90d",
    "n_case_study_90d",
    "n_blog_90d",
    "n_careers_page_90d",
    "days_since_last_activity",
    "unsubscribed",
    "inactive_60d",
]
FEATURES = CATEGORICAL + NUMERIC

INDUSTRY_EFFECT = {"software": 0.8, "fintech": 0.5, "retail": 0.0, "manufacturing": -0.3, "education": -0.8}
SENIORITY_EFFECT = {"c_level": 0.6, "vp": 0.4, "manager": 0.0, "individual_contributor": -0.4}
DOMAIN_EFFECT = {"business": 0.0, "free": -0.6, "competitor": -2.0}


@dataclass
class SyntheticLeads:
    frame: pd.DataFrame  # features plus snapshot_at and account_id
    y: np.ndarray  # 1 = won
    true_p: np.ndarray
    features: list[str]
    categorical: list[str]


def make_leads(n: int, seed: int) -> SyntheticLeads:
    """Leads with fit and intent columns; the win probability is a logistic function of a few of them."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(list(INDUSTRY_EFFECT), size=n, p=[0.3, 0.2, 0.2, 0.2, 0.1])
    seniority = rng.choice(list(SENIORITY_EFFECT), size=n, p=[0.1, 0.2, 0.3, 0.4])
    domain = rng.choice(list(DOMAIN_EFFECT), size=n, p=[0.8, 0.15, 0.05])
    region = rng.choice(["north_america", "europe", "asia_pacific"], size=n)
    source = rng.choice(["organic_search", "paid_search", "referral", "event"], size=n)
    employees = np.round(np.exp(rng.normal(5, 1.5, size=n))) + 1
    demo = rng.poisson(0.3, size=n)
    pricing = rng.poisson(0.8, size=n)
    case_study = rng.poisson(0.5, size=n)
    blog = rng.poisson(1.5, size=n)
    careers = rng.poisson(0.1, size=n)
    unsubscribed = rng.random(n) < 0.05
    inactive = rng.random(n) < 0.25
    days_since = np.where(inactive, np.nan, rng.exponential(15, size=n))
    logit = (
        -1.6
        + pd.Series(industry).map(INDUSTRY_EFFECT).to_numpy()
        + pd.Series(seniority).map(SENIORITY_EFFECT).to_numpy()
        + pd.Series(domain).map(DOMAIN_EFFECT).to_numpy()
        + 1.2 * (demo > 0)
        + 0.5 * np.log1p(pricing)
        + 0.3 * (case_study > 0)
        - 0.7 * (careers > 0)
        - 1.0 * unsubscribed
        - 0.6 * inactive
        + 0.15 * (np.log(employees) - 5)
    )
    true_p = 1 / (1 + np.exp(-logit))
    y = (rng.random(n) < true_p).astype(int)
    days = np.sort(rng.integers(0, 730, size=n))  # daily resolution: many rows share a snapshot time
    snapshot_at = pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D")
    frame = pd.DataFrame(
        {
            "lead_id": [f"L{i:06d}" for i in range(n)],
            "account_id": [f"A{i:05d}" for i in rng.integers(0, max(n // 5, 3), size=n)],
            "snapshot_at": snapshot_at,
            "industry": pd.Series(industry, dtype="str"),
            "region": pd.Series(region, dtype="str"),
            "seniority": pd.Series(seniority, dtype="str"),
            "email_domain_type": pd.Series(domain, dtype="str"),
            "lead_source": pd.Series(source, dtype="str"),
            "employee_count": employees.astype(float),
            "n_demo_request_90d": demo,
            "n_pricing_page_90d": pricing,
            "n_case_study_90d": case_study,
            "n_blog_90d": blog,
            "n_careers_page_90d": careers,
            "days_since_last_activity": days_since,
            "unsubscribed": unsubscribed,
            "inactive_60d": inactive,
        }
    )
    return SyntheticLeads(frame, y, true_p, list(FEATURES), list(CATEGORICAL))


@pytest.fixture(scope="session")
def leads() -> SyntheticLeads:
    return make_leads(3000, seed=0)


@pytest.fixture(scope="session")
def fresh_leads() -> SyntheticLeads:
    """An independent, larger draw from the same process: a precise yardstick for AUC and calibration."""
    return make_leads(20000, seed=1)


@pytest.fixture(scope="session")
def small_config() -> ModelConfig:
    """Fast settings for tests: fewer, bigger steps and smaller leaves than production."""
    return ModelConfig(
        seed=7,
        min_won=40,
        min_lost=40,
        bootstrap_rounds=50,
        lightgbm=LightGBMConfig(
            learning_rate=0.1,
            n_estimators=300,
            early_stopping_rounds=30,
            min_child_samples=20,
            min_data_per_group=20,
            num_leaves=15,
        ),
    )
