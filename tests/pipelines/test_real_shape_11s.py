"""Real shape 11s: a web-sessions export (UCI online shoppers) through spec draft, evaluate, train and score."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from mlflow.models import infer_signature

from features.flat import ExportSpec
from features.spec_draft import draft_spec
from models.card.data import _facts
from models.card.first_page import segment_value
from models.card.sections import movement_sentence
from models.flat_scorer import checked_request, flat_reasons
from models.formatting import figure_text
from models.lead_input import LeadInputError
from models.score_table import CREATED_LATER, DEAL_CLOSED, LeadCounts
from models.train import FeatureEncoder
from pipelines.score import ScoreResult, nothing_to_score_reason
from pipelines.spec import load_draft_rules
from pipelines.tracking import with_columns_read_by_the_scorer

MONTHS = ["Feb", "Mar", "May", "June", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def sessions(n: int = 400, seed: int = 0, duplicates: int = 6) -> pd.DataFrame:
    """Sessions shaped like the UCI data: no id, no date, integer codes, Month as text, TRUE/FALSE booleans,
    exact duplicate rows; PageValues, ExitRates, November and new visitors drive Revenue."""
    rng = np.random.default_rng(seed)
    month = rng.choice(MONTHS, n)
    visitor = rng.choice(["Returning_Visitor", "New_Visitor", "Other"], n, p=[0.8, 0.17, 0.03])
    page_values = np.where(rng.random(n) < 0.25, np.round(rng.gamma(1.5, 20, n), 3), 0.0)
    exit_rates = np.round(rng.beta(1.5, 30, n), 5)
    logit = -2.5 + 0.06 * page_values + 1.5 * (page_values > 0) - 20 * exit_rates + 1.0 * (month == "Nov")
    logit += 0.5 * (visitor == "New_Visitor")
    frame = pd.DataFrame(
        {
            "Administrative": rng.poisson(2, n),
            "Administrative_Duration": np.round(rng.gamma(2, 40, n), 3),
            "ProductRelated": rng.poisson(20, n) + 1,
            "ProductRelated_Duration": np.round(rng.gamma(2, 300, n), 3),
            "BounceRates": np.round(rng.beta(0.5, 12, n), 5),
            "ExitRates": exit_rates,
            "PageValues": page_values,
            "SpecialDay": rng.choice([0, 0.2, 0.4, 0.6, 0.8, 1.0], n),
            "Month": month,
            "OperatingSystems": rng.choice([1, 2, 3, 4, 8], n),
            "Browser": rng.choice([1, 2, 4, 5, 10, 13], n),
            "Region": rng.choice(range(1, 10), n),
            "TrafficType": rng.choice([1, 2, 3, 4, 6, 13, 20], n),
            "VisitorType": visitor,
            "Weekend": rng.random(n) < 0.23,
            "Revenue": rng.random(n) < 1 / (1 + np.exp(-logit)),
        }
    )
    copies = frame.sample(duplicates, random_state=seed)
    return pd.concat([frame, copies], ignore_index=True)


def test_integer_codes_named_as_categories_are_drafted_categorical_and_counts_stay_numbers():
    draft = draft_spec(sessions(), load_draft_rules(), "sessions", label="Revenue")
    fit = draft.spec["fit_columns"]
    for code in ["TrafficType", "Region", "Browser", "OperatingSystems"]:
        assert fit[code] == "categorical", code
        assert "codes of categories" in draft.column_notes[code]
    for number in ["Administrative", "ProductRelated_Duration", "PageValues", "ExitRates", "SpecialDay"]:
        assert fit[number] == "numeric", number
    assert fit["Month"] == "categorical" and draft.spec["timestamp_column"] is None


def test_exact_duplicate_rows_of_an_export_without_id_are_said_and_kept():
    export = sessions(duplicates=6)
    draft = draft_spec(export, load_draft_rules(), "sessions", label="Revenue")
    assert draft.spec["id_from_row"] and not draft.spec["leaky_columns"]
    said = [q for q in draft.questions if "repeat an earlier row in every column" in q]
    assert len(said) == 1 and said[0].startswith(f"{int(export.duplicated().sum())} rows")
    assert "remove them from the export" in said[0]
    clean = draft_spec(export.drop_duplicates(), load_draft_rules(), "sessions", label="Revenue")
    assert not any("repeat an earlier row" in q for q in clean.questions)


def test_reason_numbers_read_as_a_person_writes_them_never_in_exponent_form():
    frame = pd.DataFrame(
        {"BounceRates": [8.456e-05, 0.0], "ExitRates": [0.0105547, 0.2], "PageValues": [86.4569, 6136.2]}
    )
    pushes = pd.DataFrame({"BounceRates": [0.3, -0.3], "ExitRates": [0.2, -0.2], "PageValues": [0.5, 0.5]})
    labels = {"BounceRates": "bounce rates", "ExitRates": "exit rates", "PageValues": "page values"}
    reasons = flat_reasons(frame, pushes, 3, 2, labels)["reasons"].tolist()
    assert reasons[0] == "+ page values: 86.5; + bounce rates: 0.0000846; + exit rates: 0.0106"
    assert reasons[1] == "+ page values: 6,136; - bounce rates: 0; - exit rates: 0.2"
    assert [figure_text(v) for v in [3.0, 2.5, -1.0, 0.152063, 99.96]] == ["3", "2.5", "-1", "0.152", "100"]


def test_a_card_without_intent_columns_does_not_say_every_score_comes_from_who_the_lead_is():
    said = movement_sentence(SimpleNamespace(intent_signal=False), 0.0)  # type: ignore[arg-type]
    assert "This export has no intent columns" in said and "scores carry no intent band" in said
    assert "every score comes from who the lead is" not in said


def test_a_segment_whose_value_is_a_code_is_named_with_its_column_on_the_first_page():
    assert segment_value("region", "5") == "region 5"
    assert segment_value("industry", "Retail") == "Retail"
    assert segment_value("lead_source", "paid_search") == "paid search"
    # the leads without a value: the card listed "((missing), Facebook, ...)"
    assert segment_value("lead_source", "(missing)") == "lead source not given"


def numbered_spec() -> ExportSpec:
    """The spec `spec draft` gives a sessions export: no id (rows numbered into 'row'), no time."""
    draft = draft_spec(sessions(n=200), load_draft_rules(), "sessions", label="Revenue")
    return ExportSpec.model_validate(draft.spec)


def test_a_frame_read_from_an_export_without_id_lacks_the_row_number_and_is_told_how_to_add_it():
    spec = numbered_spec()
    read = sessions(n=20, duplicates=0).drop(columns="Revenue")  # as pd.read_csv gives the file
    with pytest.raises(
        LeadInputError, match=r"no column 'row'.*frame.insert\(0, 'row', range\(1, len\(frame\)"
    ):
        checked_request(read, spec, pd.Timestamp("2026-12-01"), None)
    read.insert(0, "row", range(1, len(read) + 1))
    assert checked_request(read, spec, pd.Timestamp("2026-12-01"), None)["row"].tolist()[:3] == [
        "1",
        "2",
        "3",
    ]
    # The signature lets a frame without it reach the scorer (MLflow quoted the whole frame instead).
    example = read.astype({"row": "str"}).head(2)
    signature = with_columns_read_by_the_scorer(infer_signature(example), optional=["row"])
    assert "row" not in signature.inputs.required_input_names()
    assert "row" in with_columns_read_by_the_scorer(infer_signature(example)).inputs.required_input_names()


def test_an_example_lead_whose_region_is_a_code_is_described_with_its_column():
    facts = _facts(pd.DataFrame({"region": ["4", "EMEA"], "industry": ["Retail", "7"]}))
    assert facts.tolist() == ["Retail · region 4", "industry 7 · EMEA"]


def test_scoring_a_file_whose_every_lead_has_its_outcome_says_what_to_score_instead():
    counts = LeadCounts(read=406, scored=0, quarantined=0, not_scored={DEAL_CLOSED: 406, CREATED_LATER: 0})
    result = ScoreResult(scores=pd.DataFrame(), quarantine=pd.DataFrame(), leads=counts)
    why = nothing_to_score_reason(result)
    assert why is not None and "deal already closed: 406" in why
    assert "score the leads still open, in an export with its label column empty or left out" in why
    some_later = LeadCounts(read=8, scored=0, quarantined=0, not_scored={DEAL_CLOSED: 3, CREATED_LATER: 5})
    later = nothing_to_score_reason(ScoreResult(pd.DataFrame(), pd.DataFrame(), some_later))
    assert later is not None and "is --as-of before the data?" in later and "still open" not in later


def test_a_boolean_column_is_one_level_however_the_rows_write_it():
    # Training read Weekend from the CSV as booleans (True); a frame of text ("TRUE": a database, Spark, JSON,
    # a CSV read as text) scored every weekend session as a level never seen, silently (0.0075 off here).
    encoder = FeatureEncoder(["weekend", "source"], ["weekend", "source"]).fit(
        pd.DataFrame({"weekend": [True, False, True], "source": ["Google", "google", "Bing"]})
    )
    as_bools = encoder.transform(pd.DataFrame({"weekend": [True, False], "source": ["Google", "google"]}))
    for true, false in [("TRUE", "FALSE"), ("true", "false"), ("True", "False")]:
        as_text = encoder.transform(pd.DataFrame({"weekend": [true, false], "source": ["Google", "google"]}))
        np.testing.assert_array_equal(as_text, as_bools)
    text_trained = FeatureEncoder(["weekend"], ["weekend"]).fit(
        pd.DataFrame({"weekend": ["TRUE", "FALSE", "n/k"]})
    )
    codes = text_trained.transform(pd.DataFrame({"weekend": [True, "true", "FALSE", "yes"]}))[:, 0]
    assert codes[0] == codes[1] == text_trained.levels_["weekend"].index("TRUE") and np.isnan(codes[3])
    assert as_bools[0, 1] != as_bools[1, 1]  # other words keep their case: Google and google are two levels
