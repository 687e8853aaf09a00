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


def _invoke(app, path: str, query: bytes, body: bytes) -> tuple[int, dict]:
    """One POST through an ASGI app, as uvicorn hands it over: the status and the JSON answer."""
    import asyncio

    sent: list[dict] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": query,
        "headers": [(b"content-type", b"application/json")],
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    text = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(text)


def test_a_query_string_on_invocations_is_refused_not_ignored():
    # POST /invocations?as_of=2026-10-01 was scored as of the request's arrival with HTTP 200: nothing reads a
    # query string, so the as_of the client sent was dropped without a word.
    from pipelines.serve import Invocations

    class Scored:
        def unwrap_python_model(self):
            return self

        typed_by_signature = False

        def score_columns(self, rows, params=None):
            return {
                "lead_id": np.array([r["lead_id"] for r in rows]),
                "as_of": str((params or {}).get("as_of")),
            }

    app = Invocations(app=None, model=Scored(), timeout_seconds=30)
    body = json.dumps({"dataframe_records": [{"lead_id": "L1", "email": "ann@acme.com"}]}).encode()
    status, answer = _invoke(app, "/invocations", b"as_of=2026-10-01", body)
    assert status == 400, answer
    message = answer["message"]
    assert "query string 'as_of=2026-10-01'" in message and '"params": {"as_of"' in message
    status, answer = _invoke(app, "/invocations", b"", body)
    assert status == 200 and answer["predictions"] == [{"lead_id": "L1", "as_of": "None"}]


def test_a_tech_stack_written_n_a_is_no_stack_not_one_tool():
    # A CRM writes "N/A" or "unknown" for a stack nobody filled in: it was read as one tool called "n/a"
    # (tech_stack_size 1, not 0 as for an empty stack), in batch and online alike, and moved the score.
    from features.build import build_features, scoring_snapshots
    from features.config import FeatureConfig, ICPConfig

    stacks = [None, "", "N/A", " unknown ", "None", "salesforce; n/a", "salesforce;snowflake"]
    tables = _one_lead_per_account(["software"] * len(stacks), ["referral"] * len(stacks))
    tables["accounts"]["tech_stack"] = pd.Series(stacks, dtype=object)
    snapshots = scoring_snapshots(tables["leads"], AS_OF)
    features = build_features(tables, snapshots, FeatureConfig(), ICPConfig()).to_frame()
    assert features["tech_stack_size"].tolist() == [0, 0, 0, 0, 0, 1, 2]
    assert features["tech_overlap_count"].tolist() == [0, 0, 0, 0, 0, 1, 2]


def test_a_gzip_compressed_body_is_named_as_compressed_not_as_text_in_another_encoding():
    import gzip

    from models.lead_input import LeadInputError
    from pipelines.serve import request_rows

    body = gzip.compress(json.dumps({"dataframe_records": [{"lead_id": "L1"}]}).encode())
    with pytest.raises(LeadInputError, match="gzip-compressed; send the JSON uncompressed"):
        request_rows(body)
