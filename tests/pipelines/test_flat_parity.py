"""Flat exports at parity with CRM tables (issue 20 item 2): the ICP guardrail in training and scoring, the
intent band only where intent columns exist, reasons under readable names, and card words that follow the
signals the export has. Small fixtures in the HubSpot, Salesforce and X Education shapes."""

import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from features.config import ICPConfig
from features.contracts import ContractError
from features.flat import (
    ExportSpec,
    build_flat_features,
    clean_label,
    closed_rows,
    export_icp,
    flat_guardrail,
)
from features.spec_draft import draft_spec
from models.card import render_card
from models.card.data import data_signals
from pipelines.card import card_data_for
from pipelines.cli import app
from pipelines.score import run_score
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import ExportSource
from pipelines.spec import load_draft_rules
from pipelines.train import run_train
from tests.conftest import FAST_OVERRIDES
from tests.features.crm_exports import hubspot_contacts_export, salesforce_leads_report
from tests.features.test_flat import x_education_fixture

HUBSPOT = load_source_spec("hubspot_contacts")
REGIONS = load_config().features.region_by_country


def _hubspot_with_bad_leads(n: int = 800) -> tuple[pd.DataFrame, dict[str, str]]:
    """The fixture, with three open leads that look as good as any (in-market, engaged) but work for a
    competitor, are a student, or write from a free mailbox; and closed free-mail leads to leave out."""
    frame = hubspot_contacts_export(n=n)
    open_rows = frame.index[frame["Lifecycle Stage"].isin(HUBSPOT.open_labels)]
    bad = dict(zip(["competitor", "wrong_persona", "free_email"], open_rows[:3], strict=True))
    frame.loc[list(bad.values()), ["Industry", "Country/Region", "Job Title"]] = [
        "Software",
        "United States",
        "VP Operations",
    ]
    frame.loc[list(bad.values()), ["Number of Pageviews", "Number of Form Submissions"]] = [400, 8]
    frame.loc[list(bad.values()), "Number of Employees"] = 800
    frame.loc[bad["competitor"], "Email"] = "pat@eu.rivalscore.io"
    frame.loc[bad["wrong_persona"], "Job Title"] = "MBA Student"
    frame.loc[bad["free_email"], "Email"] = "someone@gmail.com"
    closed = frame.index[~frame["Lifecycle Stage"].isin(HUBSPOT.open_labels)]
    frame.loc[closed[:30], "Email"] = [f"lead{i}@yahoo.com" for i in range(30)]
    return frame, {code: str(frame.loc[row, "Record ID"]) for code, row in bad.items()}


@pytest.fixture(scope="module")
def hubspot_scored():
    """Trained on the export's closed rows and every row scored: the tests using it are end to end (slow)."""
    frame, bad = _hubspot_with_bad_leads()
    rows, _ = closed_rows(frame, HUBSPOT)
    trained = run_train(ExportSource(rows, HUBSPOT), load_config(overrides=FAST_OVERRIDES), register=False)
    source = ExportSource(frame, HUBSPOT)
    scored = run_score(trained.scorer, source, source.default_as_of(), None)
    return frame, bad, trained, scored.scores


@pytest.mark.slow  # trains and scores an export (hubspot_scored)
def test_disqualified_export_leads_do_not_teach_the_model(hubspot_scored):
    frame, _, trained, _ = hubspot_scored
    excluded = trained.data.excluded
    assert (
        excluded["free_email"] >= 30 and excluded["wrong_persona"] > 0 and excluded["outside_geography"] > 0
    )
    closed, _ = closed_rows(frame, HUBSPOT)
    kept = set(trained.data.frame["lead_id"])
    assert len(kept) == len(closed) - excluded["total"]
    free_mail = closed.loc[closed["Email"].str.endswith("@yahoo.com"), "Record ID"].astype(str)
    assert not kept & set(free_mail)
    assert len(trained.data.y) == len(trained.data.frame)
    assert set(trained.data.win_rate_by_tier["fit_tier"]) == {"A", "B", "C"}


@pytest.mark.slow  # trains and scores an export (hubspot_scored)
def test_competitor_student_and_free_email_leads_are_graded_d_and_ranked_below_every_qualified_one(
    hubspot_scored,
):
    _, bad, _, scores = hubspot_scored
    scores = scores.assign(lead_id=scores["lead_id"].astype(str)).set_index("lead_id")
    qualified = scores.loc[~scores["disqualified"]]
    for code, lead in bad.items():
        row = scores.loc[lead]
        assert row["disqualified"] and code in row["disqualify_reasons"].split(";"), (code, row.to_dict())
        assert row["grade"] == "D" and row["reasons"].startswith("disqualified: ")
        assert row["rank_score"] < qualified["rank_score"].min()
        assert row["score"] > qualified["score"].median()  # the model alone would rank it high
    assert "email domain eu.rivalscore.io is a competitor" in scores.loc[bad["competitor"], "reasons"]
    assert "student" in scores.loc[bad["wrong_persona"], "disqualify_detail"]
    assert set(scores["fit_tier"]) <= {"A", "B", "C"} and scores["fit_tier"].nunique() > 1
    assert set(scores["intent_band"]) <= {"low", "medium", "high"}  # the export has intent columns


@pytest.mark.slow  # trains and scores an export (hubspot_scored)
def test_reasons_name_columns_by_the_specs_labels(hubspot_scored):
    _, _, _, scores = hubspot_scored
    reasons = " ".join(scores["reasons"])
    assert "page views: " in reasons and "Number of Pageviews" not in reasons


def test_the_guardrail_reads_a_salesforce_report_as_it_reads_crm_tables():
    spec = load_source_spec("salesforce_leads")
    frame = salesforce_leads_report(n=12)
    frame[["Country", "Title", "Industry"]] = ["Deutschland", "Head of Sales", "Software"]
    frame["Email"] = [f"lead{i}@acme.com" for i in range(12)]
    frame.loc[0, "Email"] = "a@scoreforce.com"
    frame.loc[1, "Title"] = "Student Assistant"
    frame.loc[2, "Email"] = "b@hotmail.com"
    frame.loc[3, "Country"] = "Brazil"
    frame.loc[4, ["Country", "Email", "Title"]] = [None, None, None]  # not given: no rule fires
    features, _ = build_flat_features(frame.drop(columns=[spec.label_column]), spec)
    icp = export_icp(spec, ICPConfig())
    guard = flat_guardrail(frame, features, spec, icp, REGIONS)
    codes = list(guard["disqualify_reasons"][:6])
    assert codes == ["competitor", "wrong_persona", "free_email", "outside_geography", "", ""]
    assert "country BR (latin america) is outside the served geography" in guard["disqualify_detail"][3]
    assert set(guard["fit_tier"]) <= {"A", "B", "C"}


def test_without_icp_columns_the_guardrail_is_off_and_unmapped_criteria_weigh_nothing():
    spec = load_source_spec("salesforce_leads")
    assert export_icp(spec.model_copy(update={"icp_columns": {}}), ICPConfig()) is None
    x_education = export_icp(load_source_spec("x_education"), ICPConfig())
    assert x_education is not None and x_education.served_countries == ("IN",)
    assert {c: w for c, w in x_education.criterion_weights.items() if w} == {"geography": 1.0}
    email_only = spec.model_copy(update={"icp_columns": {"email": "Email"}})
    icp = export_icp(email_only, ICPConfig())
    assert icp is not None and not icp.disqualify_outside_geography  # no country column: no geography rule
    frame = salesforce_leads_report(n=5).assign(Email="x@gmail.com")
    features, _ = build_flat_features(frame, email_only)
    guard = flat_guardrail(frame, features, email_only, icp, REGIONS)
    assert list(guard["fit_tier"]) == [""] * 5  # no attribute feeds a criterion: no fit tier to give
    assert list(guard["disqualify_reasons"]) == ["free_email"] * 5


def _x_education_without_intent() -> tuple[pd.DataFrame, ExportSpec]:
    """X Education's shape, its spec without intent columns, ICP or labels: the occupation carries the signal."""
    frame = x_education_fixture(900)
    converted = frame["Converted"] == 1
    frame.loc[converted, "What is your current occupation"] = "Working Professional"
    spec = load_source_spec("x_education")
    columns = list(spec.intent_columns)
    spec = ExportSpec.model_validate(
        {
            **spec.model_dump(),
            "intent_columns": [],
            "drop_columns": {**spec.drop_columns, **dict.fromkeys(columns, "left out for this test")},
            "renames": {c: n for c, n in spec.renames.items() if c not in columns},
            "labels": {},
            "icp_columns": {},
            "icp": {},
        }
    )
    return frame, spec


@pytest.mark.slow  # trains, scores and renders a card end to end
def test_an_export_without_intent_or_icp_columns_has_empty_bands_tiers_and_card_words_to_match(fast_config):
    frame, spec = _x_education_without_intent()
    trained = run_train(ExportSource(frame, spec), fast_config, register=False)
    source = ExportSource(frame.assign(Converted=None), spec)
    scores = run_score(trained.scorer, source, source.default_as_of(), None).scores
    assert len(scores) == len(frame)
    assert (scores["intent_band"].fillna("") == "").all() and (scores["fit_tier"].fillna("") == "").all()
    assert not scores["disqualified"].any()
    reasons = " ".join(scores["reasons"])
    assert "occupation: " in reasons and "What is your current occupation" not in reasons  # a cleaned header
    page, markdown = render_card(card_data_for(trained, fast_config, trained_at=pd.Timestamp("2026-12-01")))
    text = " ".join(markdown.split())
    assert "demo" not in text.casefold()
    assert "a lead who gets in touch still gets a reply" in text
    assert "This export has no intent columns" in text and "The ICP guardrail is off for this export" in text
    assert "fit tier " not in text and " intent (" not in text  # the examples show no empty tier or band
    assert "how much is intent" not in text


def test_the_card_has_demo_words_only_where_the_data_has_a_demo_signal():
    class Crm:  # a CRM-table scorer has no spec: every signal
        pass

    x_education = load_source_spec("x_education")
    with_demo = HUBSPOT.model_copy(update={"intent_columns": (*HUBSPOT.intent_columns, "Demo Requests")})

    class Flat:
        def __init__(self, spec: ExportSpec) -> None:
            self.spec = spec

    assert data_signals(Crm()) == (False, True, True)
    assert data_signals(Flat(x_education)) == (True, True, False)
    assert data_signals(Flat(with_demo)) == (True, True, True)


@pytest.mark.parametrize(
    ("header", "label"),
    [
        ("What is your current occupation", "occupation"),
        ("How did you hear about X Education", "hear about x education"),
        ("TotalVisits", "total visits"),
        ("Do Not Email", "do not email"),
        ("Number of Pageviews", "number of pageviews"),
    ],
)
def test_a_header_is_cleaned_into_a_readable_name(header, label):
    assert clean_label(header) == label


def test_spec_draft_proposes_labels_and_icp_columns_from_column_names():
    rules = load_draft_rules()
    hubspot = draft_spec(hubspot_contacts_export(n=200), rules, "contacts").spec
    assert hubspot["icp_columns"] == {
        "industry": "Industry",
        "employee_count": "Number of Employees",
        "annual_revenue": "Annual Revenue",
        "country": "Country/Region",
        "email": "Email",
        "job_title": "Job Title",
        "lead_source": "Original Source",
    }
    x_education = draft_spec(x_education_fixture(300), rules, "x", label="Converted").spec
    assert x_education["icp_columns"] == {"country": "Country", "lead_source": "Lead Source"}
    assert x_education["labels"]["What is your current occupation"] == "occupation"


def test_a_spec_whose_icp_reads_the_outcome_or_names_unknown_settings_is_refused():
    base = HUBSPOT.model_dump()
    with pytest.raises(ValidationError, match="may not read the outcome"):
        ExportSpec.model_validate({**base, "icp_columns": {"email": "Lead Status"}})
    with pytest.raises(ValidationError, match="unknown settings"):
        ExportSpec.model_validate({**base, "icp": {"served_planets": ["mars"]}})
    with pytest.raises(ValidationError, match="labels name columns"):
        ExportSpec.model_validate({**base, "labels": {"Email": "email"}})
    spec = ExportSpec.model_validate({**base, "icp": {"served_regions": [], "served_countries": ["DE"]}})
    base_icp = ICPConfig(served_countries=(), served_regions=("europe",))
    assert export_icp(spec, base_icp).served_countries == ("DE",)
    with pytest.raises(ContractError, match="icp settings"):
        export_icp(spec.model_copy(update={"icp": {"served_regions": []}}), base_icp)


def test_an_icp_column_missing_from_the_export_exits_3_naming_it(tmp_path, mlflow_store):
    export = tmp_path / "contacts.csv"
    hubspot_contacts_export(n=60).rename(columns={"Email": "E-mail"}).to_csv(export, index=False)
    result = CliRunner().invoke(
        app, ["train", "--input", str(export), "--source-spec", "hubspot_contacts"], catch_exceptions=False
    )
    assert result.exit_code == 3, result.output
    assert "Email" in result.output and "E-mail" in result.output


def test_the_backtest_of_an_export_leaves_out_the_leads_training_leaves_out():
    from pipelines.evaluate import flat_data

    frame, _ = _hubspot_with_bad_leads(n=300)
    rows, _ = closed_rows(frame, HUBSPOT)
    cfg = load_config()
    trained_on = ExportSource(rows, HUBSPOT).training_data(cfg, None)
    backtest = flat_data(rows, HUBSPOT, cfg)
    assert len(backtest.y) == len(trained_on.y) == len(rows) - trained_on.excluded["total"]
    assert set(backtest.frame["lead_id"]) == set(trained_on.frame["lead_id"])
    assert len(flat_data(rows, HUBSPOT).y) == len(trained_on.y)  # no configuration given: the shipped one


def test_a_spec_pickled_before_labels_and_icp_existed_loads_with_the_guardrail_off():
    import pickle

    spec = load_source_spec("x_education")
    state = spec.__getstate__()
    old = {
        **state,
        "__dict__": {k: v for k, v in state["__dict__"].items() if k not in ("labels", "icp_columns", "icp")},
    }
    loaded = ExportSpec.__new__(ExportSpec)
    loaded.__setstate__(pickle.loads(pickle.dumps(old)))
    assert loaded.labels == {} and loaded.icp_columns == {} and export_icp(loaded, ICPConfig()) is None
    assert loaded.reason_label("What is your current occupation") == "occupation"


def test_spec_check_warns_when_the_guardrail_is_off():
    from features.spec_check import check_spec

    frame = hubspot_contacts_export(n=40)
    assert not [w for w in check_spec(frame, HUBSPOT).warnings if "icp_columns" in w]
    off = check_spec(frame, HUBSPOT.model_copy(update={"icp_columns": {}}))
    assert off.ok and any("ICP guardrail is off" in w for w in off.warnings)
    missing = check_spec(frame.rename(columns={"Email": "E-mail"}), HUBSPOT)
    assert missing.missing == {"Email": "drop_columns"} and "E-mail" in missing.hints["Email"]
