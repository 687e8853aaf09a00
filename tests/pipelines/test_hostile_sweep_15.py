"""Hostile sweep 15: the other ways in (online rows, queue, history and card, databases, retrain's dates and
settings) that answered something other than what was sent, with exit 0."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from features.config import FeatureConfig, ICPConfig
from models.lead_input import check_lead_rows, lead_rows_to_tables
from models.scorer import request_features

AS_OF = pd.Timestamp("2026-10-01")
ACTIVITIES = json.dumps(
    [
        {"activity_type": "pricing_page", "occurred_at": "2026-09-28T10:02:00"},
        {"activity_type": "demo_request", "occurred_at": "2026-09-30T08:15:00"},
    ]
)


def _online_features(records: list[dict]) -> pd.DataFrame:
    """What the artifact scores for online rows (Scorer.score_request, without a model)."""
    tables, snapshots = lead_rows_to_tables(check_lead_rows(records), AS_OF)
    return request_features(tables, snapshots, FeatureConfig(), ICPConfig()).to_frame().set_index("lead_id")


def _lead(lead_id: str, **change) -> dict:
    row = {
        "lead_id": lead_id,
        "email": "maria.lopez@acme-analytics.com",
        "job_title": "VP of Sales",
        "lead_source": "referral",
        "lead_created_at": "2026-08-03T09:12:00",
        "domain": "acme-analytics.com",
        "employee_count": 420,
        "country": "US",
        "activities": ACTIVITIES,
    }
    return {**row, **change}


def test_an_online_lead_without_its_creation_date_is_scored_with_its_activities():
    # Left out, lead_created_at was the snapshot itself: a lead created at its snapshot sees no activity, so
    # the request's demo request and pricing page were dropped ("no recorded activity", A -> C, exit 0).
    rows = _online_features([_lead("L1"), _lead("L2", lead_created_at=None, email="b@acme-analytics.com")])
    assert rows.loc["L2", "n_activities_7d"] == rows.loc["L1", "n_activities_7d"] == 2
    assert rows.loc["L2", "n_demo_request_7d"] == 1
    assert np.isnan(rows.loc["L2", "lead_age_days"])
    assert rows.loc["L1", "lead_age_days"] > 50


def test_two_leads_of_one_email_in_a_request_are_each_scored_as_alone():
    # The README: a lead is scored alone online, the duplicate-lead rule is batch's. Two rows sharing an email
    # in one request (or one Spark batch) disqualified the second as a duplicate (grade D, exit 0): its grade
    # hung on what it was sent with.
    alone = _online_features([_lead("L2")])
    together = _online_features([_lead("L1"), _lead("L2")])
    for lead in ("L1", "L2"):
        assert not together.loc[lead, "is_duplicate"]
        assert not together.loc[lead, "disqualified"]
    assert together.loc["L2", "fit_tier"] == alone.loc["L2", "fit_tier"]
