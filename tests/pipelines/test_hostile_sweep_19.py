"""Hostile-input sweep 19: online scoring and the call list."""

import json

import numpy as np
import pandas as pd
import pytest

from features.contracts import validate_tables
from models.lead_input import check_lead_rows, lead_rows_to_tables
from tests.pipelines.test_hostile_sweep_5c import _one_lead_per_account

AS_OF = pd.Timestamp("2026-10-01")
BLANKS = ["", "  ", "\t"]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_online_number_or_time_is_missing_as_in_batch(blank):
    # A web form sends "" for a field left empty: online refused it ("'' is not a number", HTTP 400; on Spark the
    # whole batch) while batch reads a blank cell of a number or time column as missing and scores the lead,
    # and online read "N/A" as missing already.
    row = {
        "lead_id": "L1",
        "email": "ann@acme.com",
        "employee_count": blank,
        "annual_revenue": blank,
        "account_founded_year": blank,
        "lead_created_at": blank,
        "account_created_at": blank,
        "as_of": blank,
        "activities": blank,
    }
    checked = check_lead_rows([row])
    for field in ("employee_count", "annual_revenue", "account_founded_year"):
        assert np.isnan(checked[field]).tolist() == [True], field
    for field in ("lead_created_at", "account_created_at", "as_of"):
        assert pd.isna(checked[field]).tolist() == [True], field
    tables, _ = lead_rows_to_tables(checked, AS_OF)
    assert len(tables["activities"]["lead_id"]) == 0

    batch = _one_lead_per_account(["software"], ["referral"])
    batch["accounts"]["employee_count"] = pd.Series([blank], dtype=object)
    read = validate_tables(batch)
    assert read.quarantine.empty
    assert read.valid["accounts"]["employee_count"].isna().tolist() == [True]


def test_a_blank_activity_time_is_a_missing_time_not_a_bad_date():
    activities = json.dumps([{"activity_type": "blog", "occurred_at": " "}])
    row = {"lead_id": "L1", "email": "ann@acme.com", "activities": activities}
    with pytest.raises(ValueError, match=r"activities\[0\]\.occurred_at.*is required"):
        lead_rows_to_tables(check_lead_rows([row]), AS_OF)
