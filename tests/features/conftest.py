"""Shared small frames for the features tests. Fixture names say which test module they were made for."""

import pandas as pd
import pytest


def _contract_good_tables() -> dict[str, pd.DataFrame]:
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "name": ["Acme", "Beta"],
            "domain": ["acme.com", "beta.io"],
            "industry": ["software", None],
            "employee_count": [120, 15],
            "annual_revenue": [2.5e7, 1.0e6],
            "country": ["US", "DE"],
            "tech_stack": ["salesforce;snowflake", None],
            "created_at": pd.to_datetime(["2010-05-01", "2019-01-15"]),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3"],
            "account_id": ["A1", "A1", "A2"],
            "email": ["ann@acme.com", "bob@acme.com", "cy@beta.io"],
            "job_title": ["VP Sales", None, "cto"],
            "lead_source": ["event", "referral", None],
            "created_at": pd.to_datetime(["2024-01-02", "2024-01-05", "2024-02-01"]),
        }
    )
    activities = pd.DataFrame(
        {
            "lead_id": ["L1", "L1", "L2", "L3", "L3"],
            "occurred_at": pd.to_datetime(
                [
                    "2024-01-03 00:00:00",
                    "2024-01-10 00:00:00",
                    "2024-01-06 09:30:00",
                    "2024-02-02 00:00:00",
                    "2024-02-20 13:45:00",
                ]
            ),
            "activity_type": ["pricing_page", "demo_request", "webinar", "email_open", "unsubscribe"],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["D1", "D2", "D3"],
            "lead_id": ["L1", "L2", "L3"],
            "account_id": ["A1", "A1", "A2"],
            "created_at": pd.to_datetime(["2024-01-15", "2024-01-20", "2024-03-01"]),
            "closed_at": pd.to_datetime(["2024-02-15", "2024-02-01", None]),
            "outcome": ["won", "lost", "open"],
            "amount": [12000.0, 5000.0, None],
            "lost_reason": [None, "no_budget", None],
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities, "deals": deals}


@pytest.fixture
def contract_good_tables() -> dict[str, pd.DataFrame]:
    """Four small CRM tables that satisfy the data contract (fresh copies per test: mutate freely).

    accounts A1, A2; leads L1, L2 (account A1), L3 (A2); 5 activities; deals D1 won (L1), D2 lost (L2),
    D3 open (L3). Every timestamp is before 2024-06-01 (`contract_as_of`).
    """
    return _contract_good_tables()


@pytest.fixture
def contract_as_of() -> pd.Timestamp:
    return pd.Timestamp("2024-06-01")
