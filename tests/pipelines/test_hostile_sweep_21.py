"""Hostile-input sweep 21: scoring answers that were silently wrong (exit 0), and point in time.

Each test holds one class of input that gave a wrong score, grade or guardrail verdict with exit 0 (HTTP 200).
"""

import json

import pandas as pd
import pytest

from features.build import build_features, scoring_snapshots
from features.config import FeatureConfig, ICPConfig
from features.countries import read_country
from models.lead_input import tables_to_lead_rows
from tests.pipelines.test_hostile_sweep_5c import _one_lead_per_account

AS_OF = pd.Timestamp("2026-10-01")


def _domain_types(emails: list[str], domains: list[str], icp: ICPConfig | None = None) -> list[str]:
    tables = _one_lead_per_account(["software"] * len(emails), ["referral"] * len(emails), emails, domains)
    tables["leads"]["created_at"] = pd.date_range("2026-09-01", periods=len(emails), freq="D")
    snapshots = scoring_snapshots(tables["leads"], AS_OF)
    features = build_features(tables, snapshots, FeatureConfig(), icp or ICPConfig()).to_frame()
    return features["email_domain_type"].tolist()


def test_a_competitor_or_free_domain_in_fullwidth_letters_or_with_an_invisible_character_is_still_one():
    # A company domain with a zero-width space pasted after it, a domain in fullwidth letters or with a
    # fullwidth dot (an Asian keyboard's input method) read as a business domain: the competitor's lead was
    # qualified and ranked among the best (the email's invisible characters were already dropped).
    emails = [
        "bob@rivalscore\uff0eio",
        "eve@\uff27\uff2d\uff21\uff29\uff2c.com",
        "ann@acme.com",
        "cy@acme.com",
    ]
    domains = ["acme.com", "acme.com", "rivalscore.io\u200b", "\uff52ivalscore\u3002io"]
    assert _domain_types(emails, domains) == ["competitor", "free", "competitor", "competitor"]


def test_a_company_domain_written_as_an_address_or_a_mail_link_is_its_domain():
    # "@rivalscore.io", "sales@rivalscore.io" or a mailto link pasted in the account's domain, and an email
    # written as a link with its fields (mailto:...?subject=), had read as no competitor's.
    emails = ["a@acme.com", "b@acme.com", "c@acme.com", "mailto:d@rivalscore.io?subject=Demo"]
    domains = ["@rivalscore.io", "sales@rivalscore.io", "mailto:bob@rivalscore.io", "acme.com"]
    assert _domain_types(emails, domains) == ["competitor"] * 4


@pytest.mark.parametrize(
    "written",
    [
        "RivalScore.io",
        "@rivalscore.io",
        "*.rivalscore.io",
        ".rivalscore.io",
        "www.rivalscore.io",
        "https://www.rivalscore.io/",
        "rivalscore.io.",
    ],
)
def test_the_icp_lists_of_domains_read_a_domain_however_it_is_written(written):
    # icp.competitor_domains written as a mail filter writes it (@rivalscore.io) or as a website never met a
    # lead's domain: every competitor was scored as a business lead, with exit 0. "*.rivalscore.io" stopped
    # the run with a regular expression's traceback. Free mail providers alike.
    icp = ICPConfig(
        competitor_domains=(written,),
        free_email_domains=(written.lower().replace("rivalscore.io", "gmail.com").upper(),),
    )
    assert icp.competitor_domains == ("rivalscore.io",) and icp.free_email_domains == ("gmail.com",)
    kinds = _domain_types(
        ["a@rivalscore.io", "b@eu.rivalscore.io", "c@gmail.com", "d@notrivalscore.io"], ["acme.com"] * 4, icp
    )
    assert kinds == ["competitor", "competitor", "free", "business"]


@pytest.mark.parametrize("written", ["", "  ", "rival score.io", "localhost"])
def test_an_icp_domain_that_is_no_domain_is_refused_naming_the_setting(written):
    # An empty competitor domain matched every lead's domain (every lead disqualified), one with a space none.
    with pytest.raises(ValueError, match=r"competitor_domains names .* no domain names"):
        ICPConfig(competitor_domains=("rivalscore.io", written))


def test_leads_without_any_activity_become_rows_for_spark_with_no_activities():
    # score --engine spark turns the open leads into the artifact's rows (tables_to_lead_rows): when none of
    # them had an activity (a feed of new leads, an activities table of a header only) pandas' groupby.apply
    # gave an empty frame and the run stopped with a ValueError's traceback.
    tables = _one_lead_per_account(["software", "fintech"], ["referral", "event"])
    rows = tables_to_lead_rows(tables)
    assert rows["activities"].tolist() == ["[]", "[]"]
    tables["activities"] = pd.DataFrame(
        {"lead_id": ["L1"], "occurred_at": [pd.Timestamp("2026-09-02 10:00")], "activity_type": ["blog"]}
    )
    rows = tables_to_lead_rows(tables)
    assert rows["activities"].tolist() == [
        "[]",
        json.dumps([{"activity_type": "blog", "occurred_at": "2026-09-02T10:00:00.000000"}]),
    ]


COUNTRIES_WRITTEN_OTHERWISE = {
    "Côte d\u2019Ivoire": "CI",  # a word processor's apostrophe
    "Cote d'Ivoire": "CI",  # a keyboard without accents
    "TURKIYE": "TR",
    "Espana": "ES",
    "Curacao": "CW",
    "Aland Islands": "AX",
    "Deutschland\u200b": "DE",  # a zero-width space pasted after it
    "\uff35\uff33": "US",  # fullwidth letters
}


def test_a_country_written_without_its_accents_or_with_a_typographic_apostrophe_is_its_country():
    # Each of these quarantined its account as no country in batch (every lead of it lost for the run) and was
    # refused online, where "Côte d'Ivoire" or "Türkiye" as ISO writes them were read.
    from features.contracts import validate_tables
    from models.lead_input import check_lead_rows, lead_rows_to_tables

    written = list(COUNTRIES_WRITTEN_OTHERWISE)
    tables = _one_lead_per_account(["software"] * len(written), ["referral"] * len(written))
    tables["accounts"]["country"] = written
    read = validate_tables(tables)
    assert read.quarantine.empty
    assert read.valid["accounts"]["country"].tolist() == list(COUNTRIES_WRITTEN_OTHERWISE.values())
    rows = [{"lead_id": f"L{k}", "email": f"a{k}@acme.com", "country": c} for k, c in enumerate(written)]
    online, _ = lead_rows_to_tables(check_lead_rows(rows), AS_OF)
    assert online["accounts"]["country"].tolist() == list(COUNTRIES_WRITTEN_OTHERWISE.values())
    assert read_country("Atlantis") == (None, False) and read_country("Cote divoire") == (None, False)
