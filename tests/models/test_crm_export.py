"""Scores in a CRM's import shape."""

from __future__ import annotations

import pandas as pd

from models.crm_export import CrmExportConfig, crm_rows, short_reasons


def score_rows() -> pd.DataFrame:
    long = "; ".join(f"+ reason number {i} about pricing page visits in the last 7 days" for i in range(8))
    return pd.DataFrame(
        {"lead_id": ["L1", "L2"], "score": [0.834, 0.1], "grade": ["A", "D"], "reasons": [long, "+ short"]}
    )


def test_hubspot_and_salesforce_get_their_own_column_names():
    cfg = CrmExportConfig()
    hubspot = crm_rows(score_rows(), cfg.formats["hubspot"], cfg)
    salesforce = crm_rows(score_rows(), cfg.formats["salesforce"], cfg)
    assert list(hubspot.columns) == ["Record ID", "leadscore_score", "leadscore_grade", "leadscore_reasons"]
    assert list(salesforce.columns) == ["Id", "Lead_Score__c", "Lead_Grade__c", "Lead_Score_Reasons__c"]
    assert salesforce["Lead_Score__c"].tolist() == [83, 10]


def test_reasons_fit_the_text_field_and_are_never_cut_in_half():
    cut = short_reasons(score_rows()["reasons"], 255)
    assert len(cut[0]) <= 255 and cut[0].endswith("in the last 7 days")
    assert cut[0].count("; ") == cut[0].count("+ ") - 1
    assert cut[1] == "+ short"


def test_pass_through_columns_are_joined_by_lead_id():
    cfg = CrmExportConfig(pass_through=("email",))
    leads = pd.DataFrame({"lead_id": ["L2", "L1"], "email": ["b@x.com", "a@x.com"]})
    out = crm_rows(score_rows(), cfg.formats["hubspot"], cfg, leads)
    assert out["email"].tolist() == ["a@x.com", "b@x.com"]
