"""Hostile sweep 15: the other ways in (online rows, queue, history and card, databases, retrain's dates and
settings) that answered something other than what was sent, with exit 0."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from features.config import FeatureConfig, ICPConfig
from models.lead_input import check_lead_rows, lead_rows_to_tables
from models.scorer import request_features
from pipelines import db
from tests.db.frames import fake_quarantine, fake_scores

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


def _duckdb_with(tmp_path, sql: str) -> str:
    import duckdb

    path = tmp_path / "scores.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(sql)
    return f"duckdb:///{path}"


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        ("CREATE TABLE lead_scores (id INTEGER, name VARCHAR)", "is not a scores table (no column as_of"),
        (
            "CREATE TABLE lead_scores (as_of TIMESTAMP, model_version VARCHAR, lead_id VARCHAR, score INTEGER)",
            "column 'score' is INTEGER, where the scores write DOUBLE PRECISION",
        ),
        (
            "CREATE TABLE lead_scores (as_of DATE, model_version VARCHAR, lead_id VARCHAR, score DOUBLE)",
            "column 'as_of' is DATE",
        ),
        (
            "CREATE TABLE lead_scores (as_of TIMESTAMP, model_version INTEGER, lead_id VARCHAR, score DOUBLE)",
            "column 'model_version' is INTEGER",
        ),
        ("CREATE VIEW lead_scores AS SELECT 1 AS x", "'lead_scores' is a view"),
    ],
)
def test_a_scores_table_that_would_change_the_scores_is_refused_before_scoring(tmp_path, sql, said):
    # An existing --table whose score column is INTEGER took every score as 0 or 1 (exit 0); a table of
    # something else got the score columns added and the scores among its rows (exit 0); a view or an id
    # column of integers failed after scoring with exit 1 and "Current transaction is aborted".
    url = _duckdb_with(tmp_path, sql)
    with pytest.raises(db.DatabaseError, match=re.escape(said)) as refused:
        db.check_scores_table(url, "lead_scores")
    assert "give --table a new name" in str(refused.value)


def test_every_column_that_would_change_the_scores_is_named_with_the_statement_that_fixes_it(tmp_path):
    # One column per run was said, and the fix named was a new table, which loses the scores' history.
    url = _duckdb_with(
        tmp_path,
        "CREATE TABLE lead_scores (as_of TIMESTAMP, model_version VARCHAR, lead_id VARCHAR, score DECIMAL(5,3), "
        "rank_score DECIMAL(5,3))",
    )
    with pytest.raises(db.DatabaseError) as refused:
        db.check_scores_table(url, "lead_scores")
    said = str(refused.value)
    assert "column 'score' is DECIMAL(5,3)" in said and "column 'rank_score' is DECIMAL(5,3)" in said
    assert (
        'ALTER TABLE "lead_scores" ALTER COLUMN "score" TYPE DOUBLE PRECISION, ALTER COLUMN "rank_score" TYPE '
        "DOUBLE PRECISION" in said
    )


def test_a_table_an_earlier_run_wrote_is_taken(tmp_path):
    url = f"duckdb:///{tmp_path / 'scores.duckdb'}"
    db.check_scores_table(url, "lead_scores")  # no file yet
    scores = fake_scores(5, "2026-10-01")
    db.write_scores_to_db(url, "lead_scores", scores, fake_quarantine(1), pd.Timestamp("2026-10-01"), "3")
    db.check_scores_table(url, "lead_scores")
    # an earlier release's table: no model_name, a score column of REAL, ids of VARCHAR(20)
    (tmp_path / "old").mkdir()
    earlier = (
        "CREATE TABLE lead_scores (as_of TIMESTAMP, model_version TEXT, lead_id VARCHAR(20), score REAL)"
    )
    db.check_scores_table(_duckdb_with(tmp_path / "old", earlier), "lead_scores")


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("TEXT", "text"),
        ("VARCHAR(20)", "text"),
        ("character varying", "text"),
        ("DOUBLE PRECISION", "number"),
        ("NUMERIC(10, 2)", "number"),
        ("REAL", "number"),
        ("BIGINT", "integer"),
        ("INTEGER", "integer"),
        ("HUGEINT", "integer"),
        ("INTERVAL", "other"),
        ("TIMESTAMP WITHOUT TIME ZONE", "timestamp"),
        ("TIMESTAMP_NS", "timestamp"),
        ("DATE", "date"),
        ("BOOLEAN", "boolean"),
    ],
)
def test_column_types_are_read_as_postgres_and_duckdb_name_them(name, family):
    assert db.type_family(name) == family


def test_a_failed_duckdb_insert_names_its_own_error(tmp_path):
    # DuckDB's unregister after the failed INSERT raised "Current transaction is aborted" in its place.
    url = _duckdb_with(
        tmp_path, "CREATE TABLE lead_scores (as_of TIMESTAMP, model_version VARCHAR, lead_id INTEGER)"
    )
    with pytest.raises(db.DatabaseWriteError, match="Conversion Error") as failed:
        db.write_scores_to_db(
            url,
            "lead_scores",
            fake_scores(3, "2026-10-01"),
            fake_quarantine(0),
            pd.Timestamp("2026-10-01"),
            "3",
        )
    assert "transaction is aborted" not in str(failed.value)


@pytest.mark.parametrize(
    ("version", "previous", "said"),
    [
        (
            "4",
            "4",
            "the version this card is of: a card compares its version with an earlier one; name an earlier "
            "one, e.g. --previous models:/leadscore/3, or leave --previous out",
        ),
        ("1", "1", "name an earlier version or leave --previous out"),
        (
            "1",
            "2",
            "a later version than 1, this card's: a card compares its version with an earlier one; name an "
            "earlier version or leave --previous out for the champion it was measured against (for version 2's card "
            "against this one: --model models:/leadscore/2 --previous models:/leadscore/1)",
        ),
    ],
)
def test_a_card_whose_previous_is_its_own_or_a_later_version_is_refused(version, previous, said):
    # `card --model models:/leadscore/1 --previous models:/leadscore@champion` (the champion being 1) wrote a
    # card comparing version 1 with itself as its previous champion, "level with it", with exit 0; with
    # --previous models:/leadscore/2, version 1's card called version 2 its "previous champion".
    from types import SimpleNamespace

    from pipelines.card_rebuild import check_previous_is_another
    from pipelines.io import InputError

    this = SimpleNamespace(name="leadscore", version=version)
    with pytest.raises(InputError, match=re.escape(said)):
        check_previous_is_another(this, SimpleNamespace(name="leadscore", version=previous))
    check_previous_is_another(SimpleNamespace(name="leadscore", version="9"), this)
    check_previous_is_another(this, SimpleNamespace(name="leadscore_eu", version=version))
    check_previous_is_another(this, None)


@pytest.mark.parametrize(
    ("override", "said"),
    [
        (
            "grades.a_share=0.3",
            "--set grades.a_share=0.3: setting grades: Extra inputs are not permitted (grades is "
            "model.grades)",
        ),
        (
            "a_share=0.3",
            "--set a_share=0.3: setting a_share: Extra inputs are not permitted (a_share is "
            "model.grades.a_share)",
        ),
        (
            "gradez.a_share=0.3",
            "--set gradez.a_share=0.3: setting gradez: Extra inputs are not permitted (found",
        ),
    ],
)
def test_an_override_of_a_section_that_is_not_there_is_named_as_the_override(override, said):
    # --set grades.a_share=0.3 (the section is model.grades) was blamed on the shipped leadscore.yaml.
    from pipelines.settings import ConfigError, load_config

    with pytest.raises(ConfigError) as caught:
        load_config(overrides=[override])
    assert said in str(caught.value)
    assert "leadscore.yaml" not in str(caught.value)


@pytest.mark.parametrize("placeholder", ["9999-12-31", "2099-12-31", "2999-01-01"])
def test_a_placeholder_creation_date_far_ahead_is_quarantined_not_left_as_not_created_yet(placeholder):
    # A lead created 9999-12-31 (a CRM's "no date") was counted "not created yet": left out of the scores
    # without a word, with exit 0; a real lead created after as_of (a backfill) still is.
    from features.contracts import validate_tables
    from features.synthetic import GeneratorConfig, generate_history

    tables = generate_history(GeneratorConfig(accounts=20, months=12, seed=3)).tables()
    leads = tables["leads"].assign(created_at=tables["leads"]["created_at"].astype("datetime64[us]"))
    leads.loc[3, "created_at"] = pd.Timestamp(placeholder)
    leads.loc[4, "created_at"] = pd.Timestamp("2026-11-01")
    checked = validate_tables({**tables, "leads": leads}, pd.Timestamp("2026-10-01"))
    counts = checked.counts().set_index("table")
    assert counts.loc["leads", "not created yet"] == 1
    found = checked.quarantine[(checked.quarantine["table"] == "leads") & (checked.quarantine["row"] == 3)]
    assert found["check"].tolist() == ["before 2099"]
    assert "placeholder" in found["reason"].iloc[0]
    assert counts["accounted"].all()


def test_lead_sources_outside_the_known_codes_are_named_at_training():
    # A CRM's own picklist ('Webinar', 'Trade Show') read as 'other' with no word: the model learnt them as
    # one source. Training now names them, most leads first; known ones (any case, hyphens, plurals) are not.
    from types import SimpleNamespace

    from features.fit import unknown_lead_sources
    from pipelines.train import unknown_sources_warning

    sources = [
        "Webinar",
        "webinar ",
        "Trade Show",
        "Referrals",
        "paid-search",
        "n/a",
        None,
        "other",
        "Webinar",
    ]
    assert unknown_lead_sources(np.array(sources, dtype=object)) == {"webinar": 3, "trade show": 1}
    leads = pd.DataFrame({"lead_id": [f"L{k}" for k in range(len(sources))], "lead_source": sources})
    said = unknown_sources_warning(SimpleNamespace(valid_tables={"leads": leads}))
    assert said is not None
    assert said.startswith("leads.lead_source: 4 leads (44.4%) have a source leadscore does not know")
    assert "('webinar' 3, 'trade show' 1)" in said and "write them as organic_search" in said
    known = ["Referral", "event", None, "Other", "CONTENT", "", "n/a", "other", "partner"]
    known_leads = leads.assign(lead_source=known)
    assert unknown_sources_warning(SimpleNamespace(valid_tables={"leads": known_leads})) is None
    assert unknown_sources_warning(SimpleNamespace(valid_tables=None)) is None


@pytest.mark.parametrize(("lead_length", "activity_length"), [(18, 15), (15, 18)])
def test_a_salesforce_id_in_its_other_length_is_quarantined_with_the_fix(lead_length, activity_length):
    # Leads exported with 18-character Salesforce ids and activities with 15 (or the reverse): every activity
    # was 'lead_id does not match any lead', with nothing saying the ids were the same ids written two ways.
    from features.contracts import validate_tables
    from features.synthetic import GeneratorConfig, generate_history

    tables = generate_history(GeneratorConfig(accounts=20, months=12, seed=3)).tables()
    salesforce = {old: f"00Q5g00000{k:05d}AAB" for k, old in enumerate(tables["leads"]["lead_id"])}

    def written(ids: pd.Series, length: int) -> pd.Series:
        return ids.map(salesforce).str.slice(0, length)

    leads = tables["leads"].assign(lead_id=written(tables["leads"]["lead_id"], lead_length))
    activities = tables["activities"].assign(
        lead_id=written(tables["activities"]["lead_id"], activity_length)
    )
    activities.loc[0, "lead_id"] = "00Q5g9999999999"  # another lead altogether
    deals = tables["deals"].assign(lead_id=written(tables["deals"]["lead_id"], lead_length))
    checked = validate_tables({**tables, "leads": leads, "activities": activities, "deals": deals})
    found = checked.quarantine.set_index("row")
    assert set(found["table"]) == {"activities"} and len(found) == len(activities)
    assert found.loc[0, "check"] == "references unknown lead"
    assert (found["check"].iloc[1:] == "lead id of other length").all()
    assert "export every table with the 18-character ids" in found["reason"].iloc[1]


def test_a_column_listed_twice_in_dataframe_split_is_refused_as_a_field_written_twice():
    # {"columns": [..., "email", ..., "email"]}: every row kept the second email silently and was scored
    # with it (200), where a field written twice in a JSON object is refused (README, Online scoring).
    from models.lead_input import LeadInputError
    from pipelines.serve import request_rows

    body = {
        "dataframe_split": {"columns": ["lead_id", "email", "email"], "data": [["L1", "a@b.com", "c@d.com"]]}
    }
    with pytest.raises(LeadInputError, match=r"dataframe_split: the column 'email' is listed twice"):
        request_rows(json.dumps(body).encode())
    body["dataframe_split"] = {"columns": ["lead_id", "email"], "data": [["L1", "a@b.com"]]}
    assert request_rows(json.dumps(body).encode())[0] == [{"lead_id": "L1", "email": "a@b.com"}]


@pytest.mark.parametrize("reasons", [True, False])
def test_an_empty_frame_scores_as_an_empty_frame(small_scorer, reasons):
    # model.predict(frame.iloc[:0]) (an empty batch, as Spark can hand a UDF) raised LightGBM's
    # ZeroDivisionError ("integer modulo by zero") through the artifact.
    from models.artifact import LeadScoreModel
    from models.score_table import SCORE_COLUMNS

    model = LeadScoreModel()
    model.scorer = small_scorer
    empty = pd.DataFrame([_lead("L1")]).assign(account_founded_year=np.nan, tech_stack="", industry="x")
    for column in ("account_id", "account_created_at", "annual_revenue"):
        empty[column] = None
    scored = model.predict(None, empty.iloc[:0], params={"as_of": str(AS_OF), "reasons": reasons})
    assert scored.empty and list(scored.columns) == list(SCORE_COLUMNS)
    assert len(model.predict(None, empty, params={"as_of": str(AS_OF), "reasons": reasons})) == 1


def test_a_quarantine_or_manifest_given_as_the_scores_is_named_as_such(tmp_path):
    # queue --scores scores.quarantine.csv (or validate's quarantine.csv, or the manifest) said only
    # "...manifest.json: no manifest; the files beside it are not a complete published run".
    from pipelines.io import InputError
    from pipelines.queue import read_scores

    scores = tmp_path / "scores.parquet"
    (tmp_path / "scores.manifest.json").write_text(
        json.dumps({"files": {"scores": {"file": "scores.parquet"}}})
    )
    quarantine = tmp_path / "scores.quarantine.csv"
    quarantine.write_text("table,row,key,column,check,value,reason\n")
    other = tmp_path / "bad_rows.csv"
    other.write_text(
        "table,row,key,column,check,value,reason\nleads,0,L1,email,not_null,,email is required\n"
    )
    for given, said in [
        (quarantine, f"the quarantine of a published run, not its scores; give --scores {scores}"),
        (
            tmp_path / "scores.manifest.json",
            f"the manifest of a published run, not its scores; give --scores {scores}",
        ),
        (other, "a quarantine file (the rows that broke the data contract), not scores"),
    ]:
        with pytest.raises(InputError, match=re.escape(said)):
            read_scores(given)
