"""Drafting vendor lead exports as their CRMs write them: Dynamics 365 API names and option sets, HubSpot internal
names, a converted flag that holds the open leads too."""

import numpy as np
import pandas as pd
import pytest

from features.spec_draft import DraftError, draft_spec
from tests.features.test_spec_draft import RULES, drafted


def dynamics_leads(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A lead export with statecode 0 Open / 1 Qualified / 2 Disqualified, whose won leads come from code 4."""
    rng = np.random.default_rng(seed)
    state = rng.choice([0, 1, 2], rows, p=[0.2, 0.35, 0.45])
    source = np.where(state == 1, rng.choice([4, 8], rows), rng.choice([1, 3, 8, 10], rows))
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300 * 24, rows), unit="h")
    return pd.DataFrame(
        {
            "leadid": [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(rows)],
            "createdon": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "statecode": state,
            "leadsourcecode": source,
            "industrycode": rng.choice([7, 9, 27, 32], rows),
            "numberofemployees": rng.integers(1, 5000, rows),
            "address1_country": rng.choice(["United States", "Germany"], rows),
            "jobtitle": rng.choice(["VP Sales", "Analyst", "Engineer"], rows),
        }
    )


def test_statecode_zero_is_open_never_lost():
    spec, _ = drafted(dynamics_leads())
    assert spec.label_column == "statecode"
    assert (spec.positive_labels, spec.negative_labels, spec.open_labels) == ((1,), (2,), (0,))


def test_run_together_names_read_as_creation_date_codes_and_icp_attributes():
    spec, _ = drafted(dynamics_leads())
    assert spec.timestamp_column == "createdon"
    assert spec.fit_columns["leadsourcecode"] == "categorical"
    assert spec.fit_columns["industrycode"] == "categorical"
    assert spec.fit_columns["numberofemployees"] == "numeric"
    assert spec.icp_columns == {
        "employee_count": "numberofemployees",
        "country": "address1_country",
        "job_title": "jobtitle",
    }


@pytest.mark.parametrize("name", ["Lead Status", "outcome_code"])
def test_a_label_of_unknown_codes_is_never_read_as_a_flag(name):
    """0 and 1 among other codes are codes: a 0 read as lost would train every open lead as lost."""
    frame = dynamics_leads().rename(columns={"statecode": name})
    frame[name] = frame[name].map({0: 0, 1: 1, 2: 3})
    with pytest.raises(DraftError, match="holds codes .*label_codes"):
        draft_spec(frame, RULES, "drafted", label=name)


def test_a_label_of_codes_with_a_won_word_leaves_its_zero_a_question():
    frame = dynamics_leads()
    frame["Lead Status"] = frame.pop("statecode").map({0: "0", 1: "Won", 2: "2"})
    spec, text = drafted(frame, label="Lead Status")
    assert spec.positive_labels == ("Won",) and not spec.negative_labels and not spec.open_labels
    assert "label value '0'" in text or "label value 0" in text


def test_a_zero_one_flag_is_still_lost_and_won():
    frame = dynamics_leads()
    frame["Converted"] = (frame.pop("statecode") == 1).astype(int)
    spec, _ = drafted(frame)
    assert (spec.label_column, spec.positive_labels, spec.negative_labels) == ("Converted", (1,), (0,))


def converted_flag_report(rows: int = 600, open_days: int = 60, seed: int = 1) -> pd.DataFrame:
    """A leads report labelled by IsConverted alone: leads younger than open_days are still being worked,
    so their flag reads false whatever they become."""
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 400, rows), unit="D")
    decided = created < created.max() - pd.Timedelta(days=open_days)
    won = (rng.uniform(size=rows) < 0.4) & decided
    return pd.DataFrame(
        {
            "Lead ID": [f"00Q{i:015d}" for i in range(rows)],
            "Created Date": created.strftime("%Y-%m-%d"),
            "IsConverted": np.where(won, "true", "false"),
            "Industry": rng.choice(["Technology", "Retail", "Finance"], rows),
        }
    )


def test_a_converted_flag_whose_newest_leads_are_rarely_won_asks_about_open_leads():
    spec, text = drafted(converted_flag_report())
    assert spec.label_column == "IsConverted" and not spec.open_labels
    assert "QUESTION: the newest 60 leads" in text and "open leads as lost" in text


def test_a_converted_flag_of_decided_leads_asks_nothing_about_them():
    spec, text = drafted(converted_flag_report(open_days=0))
    assert spec.label_column == "IsConverted"
    assert "the newest" not in text


def test_hubspot_internal_property_names_give_the_label():
    frame = dynamics_leads().rename(columns={"statecode": "lifecyclestage", "createdon": "createdate"})
    frame["lifecyclestage"] = frame["lifecyclestage"].map({0: "lead", 1: "customer", 2: "other"})
    spec, _ = drafted(frame)
    assert (spec.label_column, spec.timestamp_column) == ("lifecyclestage", "createdate")
    assert (spec.positive_labels, spec.negative_labels, spec.open_labels) == (
        ("customer",),
        ("other",),
        ("lead",),
    )


def worked_leads(rows: int = 600, seed: int = 2) -> pd.DataFrame:
    """A contacts export whose Lead Temperature sales set while working a lead: blank for the open leads,
    Hot more often for the won ones; Job Title is given by every lead at sign-up."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(["customer", "other", "lead"], rows, p=[0.35, 0.45, 0.2])
    hot = np.where(stage == "customer", rng.choice(["Hot", "Warm", "Cold"], rows, p=[0.5, 0.3, 0.2]), "")
    cold = rng.choice(["Hot", "Warm", "Cold"], rows, p=[0.1, 0.3, 0.6])
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D")
    return pd.DataFrame(
        {
            "Record ID": range(1000, 1000 + rows),
            "Create Date": created.strftime("%Y-%m-%d"),
            "Lifecycle Stage": stage,
            "Lead Temperature": np.where(stage == "other", cold, hot),
            "Job Title": np.where(rng.uniform(size=rows) < 0.9, rng.choice(["VP", "Analyst"], rows), ""),
        }
    ).replace("", np.nan)


def test_a_field_blank_for_the_open_leads_and_telling_the_outcome_is_leaky():
    spec, text = drafted(worked_leads())
    assert "Lead Temperature" in spec.leaky_columns
    assert "while working a lead" in spec.leaky_columns["Lead Temperature"]
    assert "Job Title" in spec.fit_columns  # blank as often for open and closed leads


def test_a_field_blank_for_the_open_leads_that_tells_nothing_stays_a_feature():
    frame = worked_leads()
    closed = frame["Lifecycle Stage"] != "lead"
    frame["Lead Temperature"] = pd.Series(np.resize(["Hot", "Warm", "Cold"], len(frame))).where(closed)
    spec, _ = drafted(frame)
    assert "Lead Temperature" in spec.fit_columns


def lifecycle_without_lost(rows: int = 300, seed: int = 3) -> pd.DataFrame:
    """A HubSpot export whose disqualified leads stay 'Lead' in Lifecycle Stage: only Lead Status says so."""
    rng = np.random.default_rng(seed)
    state = rng.choice(["won", "lost", "open"], rows, p=[0.3, 0.5, 0.2])
    return pd.DataFrame(
        {
            "Record ID": range(1, rows + 1),
            "Lifecycle Stage": np.where(state == "won", "Customer", "Lead"),
            "Lead Status": np.where(
                state == "lost", "Unqualified", np.where(state == "won", "Connected", "New")
            ),
            "Job Title": rng.choice(["VP", "Analyst", "Engineer"], rows),
        }
    )


def test_a_label_without_lost_leads_is_refused_naming_the_column_that_has_them():
    with pytest.raises(DraftError, match=r"no value of label 'Lifecycle Stage' reads as lost.*'Lead Status'"):
        draft_spec(lifecycle_without_lost(), RULES, "drafted")


def test_a_given_label_without_lost_leads_is_a_question():
    _, text = drafted(lifecycle_without_lost(), label="Lifecycle Stage")
    assert "QUESTION" in text and "no lost lead to learn from" in text


@pytest.mark.parametrize("with_created", [True, False])
def test_a_creation_date_filled_in_for_the_won_leads_only_is_never_the_timestamp(with_created):
    """A leads report's 'Opportunity: Created Date' is the day the lead converted: lost leads have none."""
    frame = converted_flag_report(open_days=0)
    won = frame["IsConverted"] == "true"
    frame["Opportunity: Created Date"] = frame["Created Date"].where(won)
    if not with_created:
        frame = frame.drop(columns=["Created Date"])
    spec, text = drafted(frame)
    assert spec.timestamp_column == ("Created Date" if with_created else None)
    assert ("'Opportunity: Created Date' is named as a creation date" in text) is not with_created


def test_a_one_zero_flag_beside_an_open_word_is_still_a_flag():
    frame = dynamics_leads()
    frame["Converted"] = frame.pop("statecode").map({0: "Open", 1: 1, 2: 0})
    spec, _ = drafted(frame)
    assert (spec.positive_labels, spec.negative_labels, spec.open_labels) == ((1,), (0,), ("Open",))


@pytest.mark.parametrize(
    "name", ["Number of Sales Activities", "Number of times contacted", "num_contacted_notes"]
)
def test_a_count_of_sales_touches_is_leaky(name):
    frame = worked_leads()
    frame[name] = np.random.default_rng(0).poisson(3, len(frame))
    spec, _ = drafted(frame)
    assert name in spec.leaky_columns
