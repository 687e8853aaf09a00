"""Tenth hostile sweep, part a: CRM lead rows given as a pandas frame in process and on Spark. MLflow drops a
column its signature does not name ("Activities" for "activities") before the artifact sees the frame, and
the signature calls every field but lead_id and email optional, so each lead was scored without that field
(exit 0, no error), where `leadscore serve` refuses an unknown field (400)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlflow
from models.lead_input import FIELDS_A_FRAME_MAY_LEAVE_OUT, tables_to_lead_rows
from tests.conftest import point_mlflow_at

URI = "models:/leadscore@champion"
PARAMS = {"as_of": "2026-10-01"}


@pytest.fixture(scope="module")
def model(shared_champion_store):
    """The session's CRM champion as mlflow.pyfunc.load_model gives it; only read here."""
    with pytest.MonkeyPatch.context() as patch:
        point_mlflow_at(shared_champion_store.uri, patch)
        yield mlflow.pyfunc.load_model(URI)
    shared_champion_store.check_unchanged()


@pytest.fixture(scope="module")
def rows(small_history):
    """Lead rows of the busiest leads, and of leads sharing an account, in every field of the format."""
    tables = small_history.tables()
    busy = tables["activities"]["lead_id"].value_counts().index[:4].tolist()
    leads = tables["leads"]
    shared = leads.loc[leads["account_id"].duplicated(keep=False), "lead_id"].head(6).tolist()
    return tables_to_lead_rows(tables, list(dict.fromkeys(busy + shared)))


def _scores(scored: pd.DataFrame) -> pd.DataFrame:
    return scored[["lead_id", "score", "reasons"]].reset_index(drop=True)


@pytest.mark.parametrize(
    ("renamed", "named"),
    [
        ({"activities": "Activities"}, "field 'activities': the rows have no column 'activities'"),
        ({"industry": "industry "}, "field 'industry': the rows have no column 'industry'"),
        (
            {"job_title": "jobTitle", "lead_created_at": "created_at"},
            "fields 'job_title', 'lead_created_at': the rows have no columns 'job_title', 'lead_created_at'",
        ),
    ],
    ids=["case", "a trailing space", "two fields"],
)
def test_a_crm_frame_in_process_with_a_misnamed_field_is_refused_naming_it(model, rows, renamed, named):
    """`model.predict(rows.rename(columns={"activities": "Activities"}))` scored every lead without its
    activities (0.095 instead of 0.576, "no recorded activity"), as MLflow drops the column it does not know
    before the artifact sees the frame. Refused naming the field, why and the fix (what spark_udf hands the
    artifact is such a frame too)."""
    with pytest.raises(mlflow.exceptions.MlflowException) as refused:
        model.predict(rows.rename(columns=renamed), params=PARAMS)
    message = str(refused.value)
    assert message.startswith(named), message
    assert "MLflow drops a column named in another case, spacing or spelling" in message
    assert "empty (null) for leads without a value" in message


def test_a_frame_with_every_field_scores_as_the_records_leaving_its_empty_fields_out(model, rows):
    """A frame that holds every field, null where a lead has no value and without the fields that feed no
    score (account_id, account_created_at, as_of), scores as JSON records that leave those fields out."""
    sparse = rows.drop(columns=["account_id", "account_created_at"]).assign(
        job_title=None, employee_count=np.nan, activities=[None, "[]", *rows["activities"][2:]]
    )
    scored = model.predict(sparse, params=PARAMS)
    records = [
        {k: v for k, v in r.items() if v is not None} for r in json.loads(sparse.to_json(orient="records"))
    ]
    from pipelines.serve import answer

    status, text = answer(
        model, json.dumps({"dataframe_records": records, "params": PARAMS}).encode(), "application/json"
    )
    assert status == 200, text
    online = pd.DataFrame(json.loads(text)["predictions"])
    pd.testing.assert_frame_equal(_scores(online), _scores(scored), check_exact=False, rtol=1e-12)


def test_the_fields_a_frame_may_leave_out_feed_no_score(model, rows):
    """account_id, account_created_at and as_of (the parameter gives it) may be left out of a frame: the
    score of each lead, leads sharing an account among them, is the same with and without them."""
    assert set(FIELDS_A_FRAME_MAY_LEAVE_OUT) == {"account_id", "account_created_at", "as_of"}
    whole = model.predict(rows.assign(as_of="2026-10-01"), params=PARAMS)
    without = model.predict(rows.drop(columns=["account_id", "account_created_at"]), params=PARAMS)
    assert rows["account_id"].duplicated().any()
    pd.testing.assert_frame_equal(_scores(without), _scores(whole), check_exact=False, rtol=1e-12)


def test_the_server_still_scores_records_that_leave_fields_out(model):
    """leadscore serve reads the JSON records without the frame check: a field a record leaves out is null."""
    from pipelines.serve import answer

    body = {"dataframe_records": [{"lead_id": "L-1", "email": "sam@example.org"}], "params": PARAMS}
    status, text = answer(model, json.dumps(body).encode(), "application/json")
    assert status == 200, text
    assert json.loads(text)["predictions"][0]["lead_id"] == "L-1"


def test_rows_of_accounts_without_founded_year_hold_the_field_and_score(model, small_history):
    """founded_year is an optional column of the accounts table: the lead rows built from tables without it
    (the Spark route, pipelines/spark.py) hold account_founded_year empty, and score."""
    tables = small_history.tables()
    tables = {**tables, "accounts": tables["accounts"].drop(columns=["founded_year"], errors="ignore")}
    rows = tables_to_lead_rows(tables, tables["leads"]["lead_id"].head(3).tolist())
    assert rows["account_founded_year"].isna().all()
    assert len(model.predict(rows, params=PARAMS)) == 3


def test_a_frame_with_category_datetime_or_blank_columns_scores_as_its_text_twin(model, rows):
    """pandas gives a CSV's or a Parquet file's lead rows with a category column, datetime64 times or a text
    column of blanks (float NaN); MLflow's own check refused them against the string fields of the signature
    in a message quoting the whole frame. Typed Any since 2026-12-07, the scorer reads them as their text,
    and refuses what is no text in one sentence naming the row and the field."""
    created = pd.to_datetime(rows["lead_created_at"])
    twins = [
        (rows.assign(job_title=rows["job_title"].astype("category")), rows),
        (rows.assign(industry=rows["industry"].astype("category")), rows),
        (rows.assign(lead_created_at=created), rows),
        (rows.assign(lead_created_at=created.dt.tz_localize("UTC")), rows),
        (rows.assign(job_title=np.nan, account_created_at=np.nan), rows.assign(job_title=None)),
    ]
    for given, twin in twins:
        expected = _scores(model.predict(twin, params=PARAMS))
        pd.testing.assert_frame_equal(_scores(model.predict(given, params=PARAMS)), expected)
    with pytest.raises(mlflow.exceptions.MlflowException, match=r"^row 0, field 'tech_stack': must be text"):
        model.predict(rows.assign(tech_stack=True), params=PARAMS)
