"""Hostile-input sweep 5c: values and identities (ids, text, numbers, categorical levels) on every route."""

import pandas as pd
import pytest

from features.build import build_features, scoring_snapshots
from features.config import ExtraRule, FeatureConfig, ICPConfig
from features.contracts import validate_table, validate_tables
from features.export_contract import check_export
from features.flat import SourceSpec, build_flat_features
from features.icp import icp_columns
from features.titles import title_labels
from features.vocab import TABLE_COLUMNS
from models.flat_scorer import checked_request
from models.lead_input import LeadInputError, check_lead_rows
from models.queue import Capacity, QueueConfig
from pipelines.card import read_call_lists
from pipelines.io import read_tables, write_tables
from pipelines.queue import run_queue
from pipelines.score import write_scores_file
from pipelines.score_job import read_previous_file
from tests.models.test_queue import score_table

AS_OF = pd.Timestamp("2026-10-01")


def _one_lead_per_account(
    industries: list, sources: list, emails: list | None = None, domains: list | None = None
) -> dict[str, pd.DataFrame]:
    """A lead per industry (each on its own account) with the lead source, email and account domain of the
    same position (a@acme.com, acme.com by default)."""
    n = len(industries)
    ids = [f"L{k}" for k in range(n)]
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{k}" for k in range(n)],
            "name": "Acme",
            "domain": domains or "acme.com",
            "industry": pd.array(industries, dtype=object),
            "employee_count": 120.0,
            "annual_revenue": 2.5e7,
            "country": "US",
            "tech_stack": "salesforce",
            "created_at": pd.Timestamp("2025-01-01"),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "account_id": accounts["account_id"],
            "email": emails or [f"a{k}@acme.com" for k in range(n)],
            "job_title": "VP Sales",
            "lead_source": pd.array(sources, dtype=object),
            "created_at": pd.Timestamp("2026-09-01"),
        }
    )
    activities = pd.DataFrame(
        {
            "lead_id": pd.Series([], dtype=str),
            "occurred_at": pd.Series([], dtype="datetime64[ns]"),
            "activity_type": "",
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities}


def test_a_categorical_level_in_other_case_or_with_spaces_or_invisible_characters_is_the_seen_level():
    # "Software " (a trailing space, a non-breaking one, a zero-width one) was a level the model never saw:
    # scored as an unknown industry while the ICP guardrail, which strips, counted it as the target industry.
    industries = [
        "software",
        "Software ",
        " SOFTWARE\u00a0",
        "software\u200b",
        "\u202esoftware",
        "soft\tware",
    ]
    sources = ["referral", "Referral ", "REFERRAL\u200b", "\u00a0referral", "referral\x00", "paid  search"]
    blank = ["", "  ", "\u200b", None]
    tables = _one_lead_per_account(industries + blank, sources + ["", " ", "\ufeff", None])
    features = build_features(
        tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig()
    ).to_frame()
    assert features["industry"].tolist()[:5] == ["software"] * 5
    assert features["industry"].tolist()[5] == "soft ware"  # a space inside stays a space: another level
    assert features["industry"].tolist()[6:] == ["unknown"] * 4  # blank is missing, as a missing value is
    assert features["lead_source"].tolist()[:6] == ["referral"] * 5 + ["paid_search"]
    assert features["lead_source"].tolist()[6:] == ["other"] * 4


@pytest.mark.parametrize("written", ["1_000", "١٢٣", "１２３", "\u00a0120", "12%", "1\u00a0200"])
def test_a_number_batch_quarantines_is_refused_online_not_read_by_python(written):
    # Python's float() reads "1_000", Arabic-Indic and full-width digits and non-breaking spaces, which the batch
    # contract quarantines: the same account scored online with 1000 or 123 employees, quarantined in batch.
    accounts = pd.DataFrame({c: pd.Series([None], dtype=object) for c in TABLE_COLUMNS["accounts"]})
    accounts = accounts.assign(account_id="A1", employee_count=written)
    assert validate_table("accounts", accounts).quarantine["check"].tolist() == ["parse(number)"]
    row = {"lead_id": "L1", "email": "ann@acme.com", "employee_count": written}
    with pytest.raises(LeadInputError, match=r"row 0, field 'employee_count'.*\(rule: parse\(number\)\)"):
        check_lead_rows([row])


def test_plain_numbers_still_read_online_as_in_batch():
    for written, read in [(" 120 ", 120.0), ("1e3", 1000.0), ("+.5", 0.5), (42, 42.0), (4.5, 4.5)]:
        row = {"lead_id": "L1", "email": "ann@acme.com", "annual_revenue": written}
        assert check_lead_rows([row])["annual_revenue"].tolist() == [read]


def test_an_email_or_company_domain_with_a_trailing_dot_or_an_invisible_character_meets_the_same_icp_rules():
    # "gmail.com." is gmail.com (the DNS root's dot): it was a business domain, so a free or a competitor's
    # address written with it (or with a zero-width space pasted after it) escaped the guardrail, and the
    # same mailbox with and without the dot was two leads.
    emails = [
        "bob@Gmail.COM.",
        "eve@rivalscore.io.",
        "ann@acme.com",
        "ann@acme.com.",
        "cy@acme.com",
        "x@gmail.com\u200b",
    ]
    domains = ["acme.com", "acme.com", "acme.com", "acme.com", "RivalScore.io.", "acme.com"]
    tables = _one_lead_per_account(["software"] * 6, ["referral"] * 6, emails, domains)
    tables["leads"]["created_at"] = pd.date_range("2026-09-01", periods=6, freq="D")
    snapshots = scoring_snapshots(tables["leads"], AS_OF)
    features = build_features(tables, snapshots, FeatureConfig(), ICPConfig()).to_frame()
    kinds = ["free", "competitor", "business", "business", "competitor", "free"]
    assert features["email_domain_type"].tolist() == kinds
    assert features["is_duplicate"].tolist() == [False, False, False, True, False, False]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([True, False]),
        pd.Series([True, False], dtype=object),
        pd.Series([True, False], dtype="boolean"),
    ],
)
def test_true_or_false_in_a_number_column_is_quarantined_in_batch_as_online_refuses_it(column):
    # A Parquet or database column of flags in employee_count had read as 1 and 0 employees (scored with
    # exit 0, the 0 quarantined as below 1), while the same value online was refused.
    accounts = pd.DataFrame({c: pd.Series([None, None], dtype=object) for c in TABLE_COLUMNS["accounts"]})
    accounts = accounts.assign(account_id=["A1", "A2"], employee_count=column)
    result = validate_table("accounts", accounts)
    assert result.valid["accounts"].empty
    assert result.quarantine[["check", "value"]].values.tolist() == [
        ["parse(number)", "True"],
        ["parse(number)", "False"],
    ]
    with pytest.raises(LeadInputError, match=r"field 'employee_count'.*\(rule: parse\(number\)\)"):
        check_lead_rows([{"lead_id": "L1", "email": "ann@acme.com", "employee_count": True}])


def _sized_spec() -> SourceSpec:
    """An export whose Employees and Revenue columns are mapped to the ICP's size and revenue."""
    return SourceSpec.model_validate(
        {
            "name": "tiny",
            "id_column": "id",
            "label_column": "won",
            "positive_labels": ["yes"],
            "fit_columns": {"Employees": "numeric", "Revenue": "numeric"},
            "icp_columns": {"employee_count": "Employees", "annual_revenue": "Revenue"},
        }
    )


def test_an_export_number_no_company_has_is_quarantined_as_in_crm_tables_and_refused_online():
    # README: more than 10,000,000 employees or a revenue above 10 trillion is quarantined "in CRM tables,
    # flat exports and online rows alike"; an export's mapped columns were scored (reasons "annual revenue:
    # 100,000,000,000,000,001,097,...").
    spec = _sized_spec()
    export = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "won": "no",
            "Employees": ["10", "20000000", "10000000", "n/a", "12"],
            "Revenue": ["1e308", "5e6", "1e13", "7", "inf"],
        }
    )
    valid, quarantine = check_export(export, spec)
    assert valid["id"].tolist() == ["c"]
    assert quarantine[["row", "column", "check"]].values.tolist() == [
        [0, "Revenue", "le(1e13)"],
        [1, "Employees", "le(10000000)"],
        [3, "Employees", "is_number"],
        [4, "Revenue", "is_number"],  # not a number: said once, not also above the ceiling
    ]
    assert "above 10 trillion" in quarantine["reason"][0]
    with pytest.raises(LeadInputError, match=r"row 0, field 'Revenue': .*\(rule: le\(1e13\)\)"):
        checked_request(export.iloc[[0]], spec, AS_OF, None)


def test_an_export_s_negative_size_or_revenue_is_quarantined_as_in_crm_tables():
    # CRM tables quarantined employee_count below 1 and a negative revenue; an export's mapped columns
    # scored -40 employees (a "small company" to the guardrail) with exit 0.
    spec = _sized_spec()
    export = pd.DataFrame(
        {"id": ["a", "b", "c"], "won": "no", "Employees": ["-40", "0", "12"], "Revenue": ["5", "-1", "0"]}
    )
    valid, quarantine = check_export(export, spec)
    assert valid["id"].tolist() == ["c"]
    assert quarantine[["row", "column", "check"]].values.tolist() == [
        [0, "Employees", "ge(1)"],
        [1, "Employees", "ge(1)"],
        [1, "Revenue", "ge(0)"],
    ]
    assert "must be at least 1" in quarantine["reason"][0]
    with pytest.raises(LeadInputError, match=r"row 0, field 'Employees': .*\(rule: ge\(1\)\)"):
        checked_request(export.iloc[[0]], spec, AS_OF, None)


def test_lead_ids_in_leadscores_own_csv_files_are_read_back_as_written(tmp_path):
    # A scores CSV read back by `queue` (and a call list by `card --calls`) had its ids guessed: "007" became
    # lead 7 on the call list, and "NA" a gap that stopped `queue` with a traceback.
    ids = ["007", "NA", "1e5", "-5", "null", "L 1,2"]
    scores = score_table(n=len(ids)).assign(lead_id=ids, disqualified=False)
    scores = scores.assign(rank_score=scores["score"])
    published = tmp_path / "scores.csv"
    write_scores_file(scores, pd.DataFrame({"lead_id": []}), published, {"as_of": "2026-10-01"})
    calls = tmp_path / "calls.csv"
    plan = run_queue(published, Capacity(reps=1, per_rep=len(ids)), QueueConfig(exploration_share=0), calls)
    assert sorted(plan.calls["lead_id"]) == sorted(ids)
    assert sorted(read_call_lists([calls])["lead_id"]) == sorted(ids)
    assert sorted(read_previous_file(published)["lead_id"]) == sorted(ids)


def test_crm_tables_read_ids_as_written_and_no_value_words_as_missing_on_every_route(tmp_path):
    # pandas' CSV reader took "NA", "N/A", "NULL" and "None" for gaps, in every column: lead "NA" was
    # quarantined as having no id, where the same table as Parquet (or in Spark, a database, online) kept it.
    # Now ids are read as written on every route, and in number and time columns the words that mean no value
    # ("N/A", "NULL": features.text.NO_VALUE) are missing on every route, as pandas read them in a CSV (Parquet
    # had quarantined them as no number); an industry "N/A" reads as missing on every route.
    tables = _one_lead_per_account(["N/A", "NULL", "software"], ["referral"] * 3)
    tables["leads"]["lead_id"] = ["NA", "None", "007"]
    tables["accounts"]["employee_count"] = pd.Series(["N/A", "NULL", "12"], dtype=object)
    read = {}
    for fmt in ("csv", "parquet"):
        write_tables(tables, tmp_path / fmt, fmt)
        read[fmt] = validate_tables(read_tables(tmp_path / fmt, required=("accounts", "leads", "activities")))
    for fmt in ("csv", "parquet"):
        assert read[fmt].quarantine.empty
        assert read[fmt].valid["leads"]["lead_id"].tolist() == ["NA", "None", "007"]
        assert read[fmt].valid["accounts"]["employee_count"].tolist()[2] == 12.0
        assert read[fmt].valid["accounts"]["employee_count"].isna().tolist() == [True, True, False]
    features = build_features(
        read["csv"].valid, scoring_snapshots(read["csv"].valid["leads"], AS_OF), FeatureConfig(), ICPConfig()
    ).to_frame()
    assert features["industry"].tolist() == ["unknown", "unknown", "software"]


def test_a_no_value_word_in_an_online_number_or_time_is_missing_as_in_batch():
    from models.lead_input import parse_time

    assert parse_time("N/A") == parse_time(None) and parse_time(" null ") == parse_time(None)
    for written in ("N/A", "NULL", " - "):
        row = {"lead_id": "L1", "email": "ann@acme.com", "employee_count": written}
        assert pd.isna(check_lead_rows([row])["employee_count"]).tolist() == [True]


def test_a_padded_or_mixed_case_no_value_word_is_missing_in_batch_as_online():
    # Online read " null " and "Null" as missing while batch quarantined them as no number or no date: the
    # same lead scored on one route and was quarantined on the other.
    written = [" null ", "Null", "n/a ", " NONE", "12", "twelve"]
    tables = _one_lead_per_account(["software"] * 6, ["referral"] * 6)
    tables["accounts"]["employee_count"] = pd.Series(written, dtype=object)
    tables["leads"]["created_at"] = pd.Series(
        [" null ", "Null", "2026-01-05", "2026-01-05", "2026-01-05", "2026-01-05"], dtype=object
    )
    result = validate_tables(tables)
    assert result.valid["accounts"]["employee_count"].isna().tolist() == [True] * 4 + [False]
    quarantined = result.quarantine
    assert quarantined[quarantined["column"] == "employee_count"]["value"].tolist() == ["twelve"]
    # a lead needs its creation time: read as missing, the rule it breaks is not_null, not a bad date
    assert quarantined[quarantined["column"] == "created_at"]["check"].tolist() == ["not_null", "not_null"]
    for value in written[:4]:
        row = {"lead_id": "L1", "email": "ann@acme.com", "employee_count": value}
        assert pd.isna(check_lead_rows([row])["employee_count"]).tolist() == [True]


def test_an_activity_type_in_other_case_or_with_spaces_is_the_word_in_batch_as_online():
    # "Blog" or " pricing_page " were quarantined in batch and refused online, as unknown activity types.
    import json

    from models.lead_input import lead_rows_to_tables

    tables = _one_lead_per_account(["software"] * 3, ["referral"] * 3)
    written = [" Blog", "PRICING_PAGE ", "Chat"]
    tables["activities"] = pd.DataFrame(
        {"lead_id": tables["leads"]["lead_id"], "occurred_at": "2026-01-10", "activity_type": written}
    )
    result = validate_tables(tables)
    assert result.valid["activities"]["activity_type"].tolist() == ["blog", "pricing_page"]
    refused = result.quarantine[result.quarantine["column"] == "activity_type"]
    assert refused[["check", "value"]].values.tolist() == [["isin(ACTIVITY_TYPES)", "Chat"]]
    items = [{"activity_type": kind, "occurred_at": "2026-01-10"} for kind in written[:2]]
    row = {"lead_id": "L1", "email": "ann@acme.com", "activities": json.dumps(items)}
    online, _ = lead_rows_to_tables(check_lead_rows([row]), pd.Timestamp("2026-02-01"))
    assert sorted(online["activities"]["activity_type"].tolist()) == ["blog", "pricing_page"]
    unknown = [{"activity_type": "Chat", "occurred_at": "2026-01-10"}]
    checked = check_lead_rows([{**row, "activities": json.dumps(unknown)}])
    with pytest.raises(LeadInputError, match="unknown activity_type 'Chat'"):
        lead_rows_to_tables(checked, pd.Timestamp("2026-02-01"))


def test_a_csv_call_list_shows_reasons_and_ids_in_a_spreadsheet_as_written_never_as_formulas(tmp_path):
    # Every reason starts with + or -: a spreadsheet opening calls.csv ran it as a formula (#NAME? in every
    # row), and an id "=HYPERLINK(...)" would have run. Numbers stay numbers; card --calls reads the ids back.
    ids = ["=HYPERLINK(1)", "@SUM(A1)", "-5", "L1", "+1 555"]
    reasons = ["+ requested a demo", "- no activity for 200 days", "", "+ ok; - not", "\tx"]
    scores = score_table(n=len(ids)).assign(lead_id=ids, reasons=reasons, disqualified=False)
    scores = scores.assign(rank_score=scores["score"])
    published = tmp_path / "scores.parquet"
    write_scores_file(scores, pd.DataFrame({"lead_id": []}), published, {"as_of": "2026-10-01"})
    calls = tmp_path / "calls.csv"
    run_queue(published, Capacity(reps=1, per_rep=len(ids)), QueueConfig(exploration_share=0), calls)
    written = pd.read_csv(calls, dtype=str, keep_default_na=False).set_index("lead_id")["reasons"].to_dict()
    assert written == {
        "'=HYPERLINK(1)": "'+ requested a demo",
        "'@SUM(A1)": "'- no activity for 200 days",
        "-5": "",
        "L1": "'+ ok; - not",
        "'+1 555": "'\tx",
    }
    assert sorted(read_call_lists([calls])["lead_id"]) == sorted(ids)


def test_an_extra_icp_rule_on_text_meets_values_whatever_their_case_as_the_icp_lists_do():
    # Features write industries lower case and countries upper case: a rule `industry == Government` never
    # fired (exit 0, nobody disqualified) and `country not_in [us]` fired on every lead, US ones included.
    rules = (
        ExtraRule(name="gov", feature="industry", op="==", value="Government ", action="disqualify"),
        ExtraRule(name="abroad", feature="country", op="not_in", value=("us",), action="disqualify"),
    )
    tables = _one_lead_per_account(["government", "software"], ["referral"] * 2)
    tables["accounts"]["country"] = ["US", "DE"]
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    guard = icp_columns(features, ICPConfig(extra_rules=rules, disqualify_outside_geography=False))
    assert guard["disqualified"].tolist() == [True, True]
    assert [d.split(":")[0] for d in guard["disqualify_detail"]] == ["rule gov", "rule abroad"]


def test_an_export_level_with_an_invisible_character_is_the_seen_level():
    # A zero-width space or a byte-order mark pasted into "pro" made a level the model never saw; so did "Pro"
    # (sweep 23), which a spec with fold_levels false (a model trained before it) still keeps a level apart.
    spec = SourceSpec.model_validate(
        {
            "name": "tiny",
            "id_column": "id",
            "label_column": "won",
            "positive_labels": ["yes"],
            "fit_columns": {"Plan": "categorical"},
        }
    )
    export = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "won": "no",
            "Plan": ["pro", "pro\u200b", "\ufeffpro ", "\u200b", "Pro"],
        }
    )
    features, _ = build_flat_features(export, spec)
    assert features["Plan"].tolist()[:3] == ["pro"] * 3
    assert pd.isna(features["Plan"][3]) and features["Plan"][4] == "pro"
    features, _ = build_flat_features(export, spec.model_copy(update={"fold_levels": False}))
    assert features["Plan"].tolist()[:3] == ["pro"] * 3
    assert pd.isna(features["Plan"][3]) and features["Plan"][4] == "Pro"


def test_a_job_title_split_by_an_invisible_character_reads_as_the_word():
    # "Stu" + a soft hyphen or a zero-width space + "dent" read as two words: no persona, so a student escaped
    # the wrong_persona rule (and a "Vice\u200bPresident" was no vp).
    seniority, _ = title_labels(
        ["Stu\u00addent", "stu\u200bdent", "Vice President\u200b of Sales", "In\ufefftern"]
    )
    assert seniority == ["student", "student", "vp", "intern"]
