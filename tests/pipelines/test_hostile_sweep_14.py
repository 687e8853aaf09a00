"""Hostile sweep 14: inputs that scored with exit 0 but read something other than the CRM meant."""

from __future__ import annotations

import pandas as pd
import pycountry
import pytest

from features.build import build_features, scoring_snapshots
from features.config import FeatureConfig, ICPConfig
from features.icp import icp_columns
from pipelines.spec import read_spec_export
from tests.pipelines.exports import numbered_calls_spec

AS_OF = pd.Timestamp("2026-06-01")


def _crm(
    tech_stacks: list[str],
    titles: list[str] | None = None,
    emails: list[str] | None = None,
    countries: list[str] | None = None,
    industries: list[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """One lead per account, each account with the tech stack (and country) given, each lead with the job
    title and email given."""
    n = len(tech_stacks)
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{k}" for k in range(n)],
            "name": "Acme",
            "domain": [f"acme{k}.com" for k in range(n)],
            "industry": industries or "software",
            "employee_count": 120.0,
            "annual_revenue": 2.5e7,
            "country": countries or "US",
            "tech_stack": tech_stacks,
            "created_at": pd.Timestamp("2025-01-01"),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{k}" for k in range(n)],
            "account_id": [f"A{k}" for k in range(n)],
            "email": emails or [f"ann@acme{k}.com" for k in range(n)],
            "job_title": titles or "VP Sales",
            "lead_source": "event",
            "created_at": pd.Timestamp("2026-01-01"),
        }
    )
    activities = pd.DataFrame(
        {
            "lead_id": pd.Series(dtype=str),
            "occurred_at": pd.Series(dtype="datetime64[ns]"),
            "activity_type": "",
        }
    ).iloc[:0]
    return {"accounts": accounts, "leads": leads, "activities": activities}


@pytest.mark.parametrize(
    "written",
    [
        "Salesforce, Snowflake, Excel",
        "salesforce|snowflake|excel",
        "Salesforce\nSnowflake\nExcel",
        "salesforce ;snowflake, excel",
    ],
)
def test_a_tech_stack_separated_by_commas_pipes_or_lines_lists_the_tools_the_semicolons_do(written):
    # Other exports write a multi-select field with commas, pipes or one tool per line: "salesforce, snowflake"
    # was one tool nobody wants, so the lead lost its ICP tools (294 of 634 scores moved, exit 0).
    tables = _crm(["salesforce;snowflake;excel", written])
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    rows = features.to_frame().set_index("lead_id")
    counts = rows[["tech_overlap_count", "tech_stack_size"]]
    assert counts.loc["L0"].tolist() == [2, 3]
    assert counts.loc["L1"].tolist() == counts.loc["L0"].tolist()


STAFF_OF_STUDENTS = [
    ("Student Success Manager", "manager"),
    ("Head of Student Recruitment", "director"),
    ("VP, Student Experience", "vp"),
    ("Chief Student Officer", "c_level"),
    ("Director of Student Affairs", "director"),
    ("Intern Manager", "manager"),
    ("Internship Coordinator", "individual_contributor"),
]
STUDENTS = [
    "Graduate Student",
    "Student Intern",
    "Product Manager Intern",
    "Student Assistant",
    "Marketing Intern",
]


def test_staff_who_look_after_students_or_interns_are_not_disqualified_as_students_or_interns():
    # "Student Success Manager" read as a student and "Internship Coordinator" as an intern: the guardrail
    # disqualified them (wrong_persona, grade D, never called, left out of training) with exit 0, although an
    # edtech vendor sells to exactly these people. The persona still holds when the title is the person's own.
    titles = [t for t, _ in STAFF_OF_STUDENTS] + STUDENTS
    tables = _crm(["salesforce"] * len(titles), titles)
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    icp = icp_columns(features, ICPConfig())
    staff = len(STAFF_OF_STUDENTS)
    assert list(features["seniority"][:staff]) == [seniority for _, seniority in STAFF_OF_STUDENTS]
    assert not icp["disqualified"][:staff].any(), list(icp["disqualify_reasons"][:staff])
    assert list(features["seniority"][staff:]) == ["student", "intern", "intern", "student", "intern"]
    assert set(icp["disqualify_reasons"][staff:]) == {"wrong_persona"}


def test_an_email_written_with_a_display_name_or_as_a_link_meets_the_icp_rules_of_its_address():
    # "Ann Lee <ann@gmail.com>" had the domain "gmail.com>": no free email address, and "<bob@rivalscore.io>"
    # no competitor's, so both were scored as business leads with exit 0.
    emails = [
        "Ann Lee <ann@gmail.com>",
        '"Bob" <bob@rivalscore.io>',
        "mailto:carl@acme2.com",
        "<dan@yahoo.com>;",
    ]
    tables = _crm(["salesforce"] * len(emails), emails=emails)
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    icp = icp_columns(features, ICPConfig())
    assert list(features["email_domain_type"]) == ["free", "competitor", "business", "free"]
    assert list(icp["disqualify_reasons"]) == ["free_email", "competitor", "", "free_email"]


def test_the_same_mailbox_written_with_a_display_name_is_a_duplicate_lead():
    emails = ["ann.lee@gmail.com", "Ann Lee <annlee@gmail.com>"]
    tables = _crm(["salesforce"] * 2, emails=emails)
    tables["leads"]["created_at"] = [pd.Timestamp("2026-01-01"), pd.Timestamp("2026-02-01")]
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    assert list(features["is_duplicate"]) == [False, True]


SALESFORCE_FOOTER = (
    "\n"
    '"Grand Totals (4 records)"\n'
    "\n"
    '"Confidential Information - Do Not Distribute"\n'
    '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n'
)


@pytest.mark.parametrize("numbered", [False, True])
def test_a_report_footer_below_an_export_is_skipped_and_said_not_scored_as_leads(tmp_path, capsys, numbered):
    # A Salesforce report exported as CSV ends with lines that fill their first cell only: each was read as a
    # lead ("Grand Totals (4 records)", no label, so open) and scored with exit 0. A row that fills only its
    # id among the leads is still a lead.
    spec = numbered_calls_spec().model_copy(
        update={"id_from_row": numbered, "id_column": "row" if numbered else "id"}
    )
    header = "job,campaign,y" if numbered else "id,job,campaign,y"
    rows = ["admin,1,no", ",,", "technician,3,yes", "services,2,"]
    rows = rows if numbered else ["7,admin,1,no", "8,,,", "9,technician,3,yes", "10,services,2,"]
    path = tmp_path / "report.csv"
    path.write_text("\n".join([header, *rows]) + "\n" + SALESFORCE_FOOTER)
    frame = read_spec_export(path, spec)
    said = " ".join(capsys.readouterr().out.split())
    assert len(frame) == (3 if numbered else 4), frame
    assert "Grand Totals" not in frame.to_string()
    assert "3 lines after the last lead: a summary or a report's footer" in said
    assert "'Grand Totals (4 records)'" in said


def test_a_lead_from_any_european_country_is_in_the_served_geography_not_only_from_the_countries_listed():
    # The default region map listed 22 countries: a lead from Austria, Belgium, Switzerland, Denmark or
    # Portugal was in the region "other", so the default ICP (north_america and europe served) disqualified it
    # as outside the served geography: 105 grade-A and -B leads of the demo turned D with exit 0.
    countries = ["AT", "BE", "CH", "DK", "PT", "NO", "CZ", "GR", "US", "BR", "KE"]
    tables = _crm(["salesforce"] * len(countries), countries=countries)
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    icp = icp_columns(features, ICPConfig())
    assert list(features["region"]) == ["europe"] * 8 + [
        "north_america",
        "latin_america",
        "middle_east_africa",
    ]
    assert list(icp["disqualify_reasons"]) == [""] * 9 + ["outside_geography"] * 2


def test_every_inhabited_country_has_a_region_and_the_countries_listed_before_keep_theirs():
    regions = FeatureConfig().region_by_country
    uninhabited = {"AQ", "BV", "GS", "HM", "TF"}
    assert set(regions) == {country.alpha_2 for country in pycountry.countries} - uninhabited
    before = {
        **dict.fromkeys(["US", "CA"], "north_america"),
        **dict.fromkeys(["MX", "BR", "AR"], "latin_america"),
        **dict.fromkeys(["GB", "DE", "FR", "NL", "ES", "IT", "SE", "IE", "PL"], "europe"),
        **dict.fromkeys(["IN", "SG", "AU", "JP", "CN"], "asia_pacific"),
        **dict.fromkeys(["AE", "ZA", "NG"], "middle_east_africa"),
    }
    assert {code: regions[code] for code in before} == before


def test_an_industry_written_with_spaces_or_hyphens_meets_the_icp_industry_written_with_underscores():
    # The ICP's target industries are healthcare_it and ecommerce; a CRM writes "Healthcare IT" and
    # "E-Commerce": the industry criterion was never met, so their leads fell a fit tier, with exit 0.
    industries = ["healthcare_it", "Healthcare IT", "health-care IT", "ecommerce", "E-Commerce", "retail"]
    tables = _crm(["salesforce"] * len(industries), industries=industries)
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    share = icp_columns(features, ICPConfig())["icp_fit_share"]
    assert share[0] == share[1] == share[2] == share[3] == share[4] > share[5]


def test_a_total_row_below_an_export_is_skipped_and_a_company_named_total_is_a_lead(tmp_path, capsys):
    # A spreadsheet's "Total" line (the sums of the number columns, every other cell blank) was scored as a
    # lead with 6 campaigns' intent, exit 0.
    spec = numbered_calls_spec().model_copy(update={"id_from_row": False, "id_column": "id"})
    path = tmp_path / "export.csv"
    path.write_text("id,job,campaign,y\n7,admin,1,no\nTotal Wine,retail,2,\n8,services,3,\nTotal:,,6,\n")
    frame = read_spec_export(path, spec)
    assert frame["id"].tolist() == ["7", "Total Wine", "8"]
    assert "1 line after the last lead: a summary" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("override", "setting"),
    [
        ("scoring.max_quarantine_share=yes", "scoring.max_quarantine_share"),  # read as 1.0: nothing too much
        ("model.leak_auc=on", "model.leak_auc"),  # read as 1.0: the leak check off
        ("model.min_won=true", "model.min_won"),
        ("icp.employee_range=[no, 5000]", "icp.employee_range.0"),
        ("icp.criterion_weights={industry: off}", "icp.criterion_weights.industry"),
    ],
)
def test_true_or_false_where_a_setting_reads_a_number_is_refused_naming_it(override, setting):
    from pipelines.settings import ConfigError, load_config

    with pytest.raises(ConfigError) as caught:
        load_config(overrides=[override])
    said = str(caught.value)
    assert f"--set {override}: setting {setting}: a number, not true or false" in said, said


def test_true_or_false_where_booleans_or_labels_belong_still_load(tmp_path):
    from pipelines.settings import load_config

    rule = "icp.extra_rules=[{name: x, feature: unsubscribed, op: ==, value: true, action: disqualify}]"
    cfg = load_config(overrides=["icp.disqualify_free_email=no", "model.leak_auc=null", rule])
    assert cfg.icp.disqualify_free_email is False and cfg.model.leak_auc is None
    written = tmp_path / "leadscore.yaml"
    written.write_text("scoring:\n  max_quarantine_share: no\n")
    from pipelines.settings import ConfigError

    with pytest.raises(ConfigError, match=f"{written}: setting scoring.max_quarantine_share: a number"):
        load_config(written)


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        ("Assistant to the CEO", "individual_contributor"),
        ("Executive Assistant to the CFO", "individual_contributor"),
        ("Sales Manager reporting to the CRO", "manager"),
        ("Consultant for VP Sales", "individual_contributor"),
        ("CEO", "c_level"),
        ("Chief of Staff to the CEO", "c_level"),
        ("Head of Go to Market", "director"),
    ],
)
def test_the_rank_of_the_person_a_title_works_for_is_not_the_leads_own(title, seniority):
    # "Assistant to the CEO" was read as c_level: the ICP's persona criterion met and the model told of a
    # chief executive, exit 0.
    from features.titles import title_labels

    assert title_labels([title])[0] == [seniority]


def test_an_export_id_with_spaces_around_it_is_the_id_without_them_on_every_route(tmp_path):
    # " 13933" was scored as the lead " 13933": no trend against the last run's 13933, and a write-back that
    # matched no CRM record, exit 0 (the duplicate check already compared the ids trimmed).
    from features.contracts import export_ids

    spec = numbered_calls_spec().model_copy(update={"id_from_row": False, "id_column": "id"})
    path = tmp_path / "export.csv"
    path.write_text('id,job,campaign,y\n" 7",admin,1,no\n"008 ",services,3,\n" 9.0 ",retail,2,\n')
    assert read_spec_export(path, spec)["id"].tolist() == ["7", "008", "9"]
    online = pd.Series([" 7", "008 "], dtype=object)  # a JSON request's text ids
    assert export_ids(online).tolist() == ["7", "008"]


def test_a_crm_column_spelled_with_inner_spaces_or_punctuation_is_named_with_the_fix(tmp_path):
    # "Founded Year" left founded_year out without a word (company age missing in every lead, exit 0), and
    # "Lead ID" was said as lead_id missing with no word of the cell.
    from pipelines.io import InputError, normalise_columns

    accounts = pd.DataFrame(columns=["account_id", "Name", "Founded Year", "E-mail"])
    with pytest.raises(InputError, match=r"accounts.csv: .*'Founded Year' for founded_year; rename"):
        normalise_columns(accounts, "accounts", tmp_path / "accounts.csv")
    leads = pd.DataFrame(columns=["Lead ID", "lead_id ", "email"])  # lead_id is there: "Lead ID" is another
    assert list(normalise_columns(leads, "leads", "leads.csv").columns) == ["Lead ID", "lead_id", "email"]


def test_country_names_crms_write_that_iso_does_not_hold_are_their_countries_not_quarantined():
    # "England", "Turkey" (Türkiye in ISO 3166 now), "UAE" and "The Netherlands" quarantined their accounts, and
    # every lead of them, as no country.
    from features.countries import alpha2_countries

    written = ["England", "Turkey", "UAE", "The Netherlands", "St. Lucia", "Korea", "Ivory Coast", "Atlantis"]
    codes, no_country = alpha2_countries(pd.Series(written))
    assert codes.tolist()[:-1] == ["GB", "TR", "AE", "NL", "LC", "KR", "CI"]
    assert no_country.tolist() == [False] * 7 + [True]


@pytest.mark.parametrize("command", ["generate", "demo"])
def test_generate_and_demo_onto_a_file_or_with_no_accounts_exit_with_a_code_not_a_traceback(
    tmp_path, command
):
    # `generate --out notes.csv` (a file) and `demo --accounts 0` ended in a traceback (exit 1).
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    runner = CliRunner()
    a_file = tmp_path / "notes.csv"
    a_file.write_text("not a folder\n")
    result = runner.invoke(app, [command, "--out", str(a_file), "--accounts", "30", "--months", "3"])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "is a file, not a folder" in " ".join(result.output.split())
    result = runner.invoke(app, [command, "--out", str(tmp_path / "out"), "--accounts", "0"])
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "--accounts" in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("won_words: [1, 2\n", "not valid YAML: line 2, column 1"),
        ("won_words: [won]\n", "it lacks label_names, lost_words"),
        ("- a list\n", "the file: Input should be a valid dictionary"),
    ],
)
def test_spec_draft_rules_that_are_no_rules_are_one_sentence_naming_the_file(tmp_path, text, said):
    # `spec draft --rules` printed YAML's or pydantic's text over dozens of lines, field by field.
    from pipelines.settings import ConfigError
    from pipelines.spec import load_draft_rules

    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_draft_rules(rules)
    message = str(caught.value)
    assert message.startswith(f"{rules}: ") and said in message and "\n" not in message, message


def test_a_company_domain_written_as_a_website_meets_the_competitor_rule():
    # A CRM's "Website" in the domain column, "https://www.rivalscore.io/", was read whole: the competitor
    # rule never fired and the competitor's people were scored as buyers, exit 0.
    websites = [
        "https://www.rivalscore.io/",
        "http://rivalscore.io/about",
        "www.rivalscore.io:443",
        "acme3.com",
    ]
    tables = _crm(["salesforce"] * len(websites))
    tables["accounts"]["domain"] = websites
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    assert list(icp_columns(features, ICPConfig())["disqualify_reasons"]) == ["competitor"] * 3 + [""]


def test_a_lead_source_in_the_plural_is_its_source_not_other():
    # HubSpot's "Referrals" and "Events" were the source "other", the referral's reason and weight lost, exit 0.
    sources = ["Referrals", "referral", "Events", "Partners", "Organic Search", "Web"]
    tables = _crm(["salesforce"] * len(sources))
    tables["leads"]["lead_source"] = sources
    features = build_features(tables, scoring_snapshots(tables["leads"], AS_OF), FeatureConfig(), ICPConfig())
    expected = ["referral", "referral", "event", "partner", "organic_search", "other"]
    assert list(features["lead_source"]) == expected


def test_a_lead_lost_before_that_came_back_with_a_new_open_deal_is_scored():
    # A lead lost last year with a new deal open today was counted "not scored: deal already closed": it fell
    # out of the call list while sales worked its deal, exit 0. A customer's new deal (an upsell) leaves it a
    # customer, and a deal left open before the lead was lost does not reopen it.
    from pipelines.sources import open_leads

    day = pd.Timestamp
    deals = pd.DataFrame(
        [
            ("back", "lost", day("2025-03-01")),
            ("back", "open", day("2026-05-01")),
            ("customer", "won", day("2025-03-01")),
            ("customer", "open", day("2026-05-01")),
            ("stale", "open", day("2024-01-01")),
            ("stale", "lost", day("2025-03-01")),
            ("new", "open", day("2026-05-01")),
            ("tie", "lost", day("2026-05-01")),
            ("tie", "open", day("2026-05-01")),
        ],
        columns=["lead_id", "outcome", "created_at"],
    )
    leads = pd.DataFrame({"lead_id": ["back", "customer", "stale", "new", "tie", "no deal"]})
    to_score, closed = open_leads(leads, deals)
    assert to_score["lead_id"].tolist() == ["back", "new", "no deal"]
    assert closed["lead_id"].tolist() == ["customer", "stale", "tie"]


def test_activities_written_twice_are_said_and_a_few_repeats_are_not():
    # An activities export appended to itself doubled every count: 431 of 634 demo scores moved (up to +0.10),
    # exit 0 without a word (leads and deals repeated are quarantined by their ids; activities have none).
    from models.coverage import feed_gap_warnings

    n = 200
    activities = pd.DataFrame(
        {
            "lead_id": [f"L{k % 40}" for k in range(n)],
            "occurred_at": pd.date_range("2026-05-01", periods=n, freq="7h"),
            "activity_type": "pricing_page",
        }
    )
    twice = pd.concat([activities, activities], ignore_index=True)
    said = feed_gap_warnings({"activities": twice}, AS_OF, 90)
    assert any("200 of 400 rows repeat an earlier row in lead, time and type" in s for s in said), said
    a_few = pd.concat(
        [activities, activities.iloc[:3]], ignore_index=True
    )  # an event logged twice in a second
    assert not any("repeat" in s for s in feed_gap_warnings({"activities": a_few}, AS_OF, 90))


def test_the_format_proposed_for_times_written_with_utc_is_accepted_and_reads_them():
    # A column written "2026-03-15 09:40:05 UTC" is refused, proposing input.date_formats...='%Y-%m-%d %H:%M:%S
    # %Z'; set as proposed, the configuration was refused in turn ("is not a strftime pattern", pandas' advice
    # over four lines), so the proposed fix never worked.
    from features.dates import DateFormatError, DateFormats, parse_timestamps
    from pipelines.settings import load_config

    times = pd.Series(["2026-03-15 09:40:05 UTC", "2026-03-16 10:00:00 UTC"])
    with pytest.raises(DateFormatError) as refused:
        parse_timestamps(times)
    proposed = "%Y-%m-%d %H:%M:%S %Z"
    assert proposed in str(refused.value)
    cfg = load_config(overrides=[f"input.date_formats.leads.created_at={proposed}"])
    assert isinstance(cfg.input, DateFormats)
    parsed = parse_timestamps(times, proposed)[0]
    assert parsed.tolist() == [pd.Timestamp("2026-03-15 09:40:05"), pd.Timestamp("2026-03-16 10:00:00")]


def test_a_negative_queue_seed_is_a_bad_command_line_naming_the_option(tmp_path):
    # `queue --seed -5` ended in numpy's "expected non-negative integer" traceback (exit 1), after the scores
    # were read; `--set queue.seed=-5` too.
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app
    from pipelines.settings import ConfigError, load_config

    args = ["queue", "--scores", str(tmp_path / "s.parquet"), "--reps", "2", "--per-rep", "5"]
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "calls.csv"), "--seed", "-5"])
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "--seed" in result.output and "greater than or equal to 0" in " ".join(result.output.split())
    with pytest.raises(ConfigError, match="setting queue.seed"):
        load_config(overrides=["queue.seed=-5"])


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--seed", "-1"], "--seed"),  # numpy's "expected non-negative integer" traceback
        (["--end", "2300-01-01"], "--end"),  # beyond a timestamp: an OverflowError traceback
        (["--end", "1900-01-01"], "--end"),  # every row before 1990: all quarantined as placeholders, exit 0
        (["--dirty-rows", "100000"], "--dirty-rows"),  # "Cannot take a larger sample than population"
    ],
)
def test_generate_options_that_cannot_make_a_history_name_the_option(tmp_path, options, named):
    from typer.testing import CliRunner

    from pipelines import exit_codes
    from pipelines.cli import app

    args = ["generate", "--out", str(tmp_path / "crm"), "--accounts", "20", "--months", "3", *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == exit_codes.USAGE, result.output
    assert named in result.output and "Value error" not in result.output
    assert not (tmp_path / "crm").exists()
