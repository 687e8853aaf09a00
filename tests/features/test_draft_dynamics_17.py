"""Drafting a Dynamics 365 lead export as its API writes it: run-together names and numeric option sets."""

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
