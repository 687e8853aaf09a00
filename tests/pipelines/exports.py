"""Export specs and small CRM frames shared by the pipeline tests."""

from __future__ import annotations

import pandas as pd

from features.flat import ExportSpec


def numbered_calls_spec() -> ExportSpec:
    """An export without ids (a bank's calls): leadscore numbers its rows into 'row' (id_from_row)."""
    return ExportSpec(
        name="calls",
        id_column="row",
        id_from_row=True,
        label_column="y",
        positive_labels=("yes",),
        fit_columns={"job": "categorical"},
        intent_columns=("campaign",),
    )


def one_account(account_id: str) -> pd.DataFrame:
    """The accounts table of one valid account, Acme (software, 120 employees, US), created 2025-01-01."""
    return pd.DataFrame(
        {
            "account_id": [account_id],
            "name": "Acme",
            "domain": "acme.com",
            "industry": "software",
            "employee_count": 120.0,
            "annual_revenue": 2.5e7,
            "country": "US",
            "tech_stack": "salesforce",
            "created_at": "2025-01-01",
        }
    )
