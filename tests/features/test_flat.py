from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from features.flat import (
    SourceSpec,
    build_flat_features,
    flat_categorical_features,
    flat_feature_groups,
    undeclared_columns,
)

X_EDUCATION_SPEC = Path(__file__).resolve().parents[2] / "pipelines" / "specs" / "x_education.yaml"

X_EDUCATION_COLUMNS = (
    "Prospect ID", "Lead Number", "Lead Origin", "Lead Source", "Do Not Email", "Do Not Call", "Converted",
    "TotalVisits", "Total Time Spent on Website", "Page Views Per Visit", "Last Activity", "Country",
    "Specialization", "How did you hear about X Education", "What is your current occupation",
    "What matters most to you in choosing a course", "Search", "Magazine", "Newspaper Article",
    "X Education Forums", "Newspaper", "Digital Advertisement", "Through Recommendations",
    "Receive More Updates About Our Courses", "Tags", "Lead Quality", "Update me on Supply Chain Content",
    "Get updates on DM Content", "Lead Profile", "City", "Asymmetrique Activity Index",
    "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score",
    "I agree to pay the amount through cheque", "A free copy of Mastering The Interview",
    "Last Notable Activity",
)  # fmt: skip


def x_education_fixture(n: int = 30) -> pd.DataFrame:
    """A small export in the shape of X Education's Leads.csv (same 37 columns, same kinds of values)."""
    rng = np.random.default_rng(3)
    converted = np.arange(n) % 3 == 0

    def pick(values, p=None):
        return rng.choice(np.array(values, dtype=object), size=n, p=p)

    visits = rng.integers(0, 12, n).astype(float)
    visits[[4, 9]] = np.nan
    frame = pd.DataFrame(
        {
            "Prospect ID": [f"{i:08x}-8bba-4d29-b9a2-b6e0beafe620" for i in range(n)],
            "Lead Number": 660737 - np.arange(n),
            "Lead Origin": pick(["API", "Landing Page Submission", "Lead Add Form"]),
            "Lead Source": pick(["Google", "Direct Traffic", "Olark Chat", "Organic Search", None]),
            "Do Not Email": pick(["No", "Yes"], p=[0.9, 0.1]),
            "Do Not Call": "No",
            "Converted": converted.astype(int),
            "TotalVisits": visits,
            "Total Time Spent on Website": rng.integers(0, 2000, n),
            "Page Views Per Visit": np.round(rng.uniform(0, 6, n), 2),
            "Last Activity": pick(["Email Opened", "SMS Sent", "Page Visited on Website", None]),
            "Country": pick(["India", "United States", None]),
            "Specialization": pick(["Select", "Finance Management", "Marketing Management", None]),
            "How did you hear about X Education": pick(["Select", "Online Search", "Word Of Mouth", None]),
            "What is your current occupation": pick(["Unemployed", "Working Professional", "Student", None]),
            "What matters most to you in choosing a course": pick(["Better Career Prospects", None]),
            "Search": "No",
            "Magazine": "No",
            "Newspaper Article": "No",
            "X Education Forums": "No",
            "Newspaper": "No",
            "Digital Advertisement": "No",
            "Through Recommendations": pick(["No", "Yes"], p=[0.95, 0.05]),
            "Receive More Updates About Our Courses": "No",
            "Tags": np.where(converted, "Closed by Horizzon", "Ringing"),
            "Lead Quality": pick(["Might be", "Not Sure", "High in Relevance", "Worst", None]),
            "Update me on Supply Chain Content": "No",
            "Get updates on DM Content": "No",
            "Lead Profile": pick(["Select", "Potential Lead", "Other Leads", None]),
            "City": pick(["Mumbai", "Select", "Thane & Outskirts", None]),
            "Asymmetrique Activity Index": pick(["02.Medium", "01.High", "03.Low", None]),
            "Asymmetrique Profile Index": pick(["02.Medium", "01.High", None]),
            "Asymmetrique Activity Score": pick([14.0, 15.0, 16.0, np.nan]),
            "Asymmetrique Profile Score": pick([15.0, 18.0, np.nan]),
            "I agree to pay the amount through cheque": "No",
            "A free copy of Mastering The Interview": pick(["No", "Yes"]),
            "Last Notable Activity": pick(["Modified", "Email Opened", "SMS Sent"]),
        }
    )
    frame.loc[0, "City"] = "Select"
    frame.loc[0, "Specialization"] = " Select "
    return frame[list(X_EDUCATION_COLUMNS)]


def _shipped_spec() -> SourceSpec:
    return SourceSpec.model_validate(yaml.safe_load(X_EDUCATION_SPEC.read_text()))


def _small_spec(**changes) -> dict:
    spec = {
        "name": "tiny",
        "id_column": "id",
        "label_column": "won",
        "positive_labels": ["yes"],
        "fit_columns": {"Plan": "categorical", "Seats": "numeric"},
        "intent_columns": ["Visits"],
        "leaky_columns": {"Stage": "set by sales after the call"},
        "missing_values": ["Select"],
        "renames": {"Plan": "plan", "Seats": "seats"},
    }
    return spec | changes


def test_shipped_x_education_spec_applies_to_the_fixture():
    spec = _shipped_spec()
    frame = x_education_fixture()
    assert undeclared_columns(frame, spec) == []  # every column of the export has a role
    features, label = build_flat_features(frame, spec)

    groups = flat_feature_groups(spec)
    assert list(features.columns) == ["lead_id", *groups["fit"], *groups["intent"]]
    assert features.index.equals(pd.RangeIndex(len(frame)))
    for leaky in ("Tags", "Lead Quality", "Lead Profile", "Last Activity", "Last Notable Activity"):
        assert leaky not in features.columns and leaky in spec.leaky_columns
    assert not any(c.startswith("Asymmetrique") for c in features.columns)
    assert "Lead Number" not in features.columns and "Converted" not in features.columns
    for column in flat_categorical_features(spec):
        assert features[column].dtype == "str"
    for column in groups["intent"]:
        assert features[column].dtype == "float64"
    assert "Select" not in set(features[flat_categorical_features(spec)].stack())
    assert pd.isna(features.loc[0, "city"]) and pd.isna(features.loc[0, "specialization"])
    assert features["total_visits"].isna().sum() == 2

    assert label.tolist() == frame["Converted"].tolist()
    assert label.dtype == "int64" and label.index.equals(features.index)


def test_every_excluded_column_of_the_shipped_spec_says_why():
    spec = _shipped_spec()
    assert all(len(reason) > 20 for reason in {**spec.leaky_columns, **spec.drop_columns}.values())
    assert len(spec.declared_columns()) == len(X_EDUCATION_COLUMNS)


def test_export_without_label_gives_no_label():
    features, label = build_flat_features(x_education_fixture().drop(columns="Converted"), _shipped_spec())
    assert label is None and len(features) == 30


def test_placeholders_numbers_and_labels_on_a_tiny_export():
    spec = SourceSpec.model_validate(_small_spec())
    frame = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "won": ["yes", "no", "yes"],
            "Plan": ["Pro", "Select", "  Basic "],
            "Seats": ["10", "many", None],
            "Visits": [3, None, 0],
            "Stage": ["closed", "open", "closed"],
            "Unlisted": [1, 2, 3],
        }
    )
    features, label = build_flat_features(frame, spec)
    assert list(features.columns) == ["id", "plan", "seats", "Visits"]
    assert features["id"].tolist() == ["1", "2", "3"]
    assert features["plan"].tolist()[0::2] == ["pro", "basic"] and pd.isna(features.loc[1, "plan"])
    assert features["seats"].tolist()[0] == 10.0 and features["seats"].isna().tolist()[1:] == [True, True]
    assert label.tolist() == [1, 0, 1]
    assert undeclared_columns(frame, spec) == ["Unlisted"]


def test_numeric_positive_labels_match_text_and_floats():
    spec = SourceSpec.model_validate(_small_spec(positive_labels=[1]))
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "won": ["1", "0", "1.0"], "Plan": ["a", "b", "c"], "Seats": [1, 2, 3], "Visits": 0}
    )
    frame["won"] = pd.to_numeric(frame["won"])
    _, label = build_flat_features(frame, spec)
    assert label.tolist() == [1, 0, 1]


def test_missing_feature_columns_are_named():
    spec = SourceSpec.model_validate(_small_spec())
    with pytest.raises(ValueError, match="Seats"):
        build_flat_features(pd.DataFrame({"id": [1], "won": ["yes"], "Plan": ["a"], "Visits": [1]}), spec)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"leaky_columns": {"Plan": "entered by sales"}}, "Plan"),
        ({"renames": {"Plan": "seats", "Seats": "seats"}}, "seats"),
        ({"renames": {"Stage": "stage"}}, "Stage"),
        ({"leaky_columns": {"Stage": " "}}, "why"),
        ({"fit_columns": {}, "intent_columns": []}, "nothing to model"),
        ({"fit_columns": {"Plan": "text"}}, "categorical"),
        ({"positive_labels": []}, "positive_labels"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_inconsistent_specs_are_refused(changes, message):
    with pytest.raises(ValidationError, match=message):
        SourceSpec.model_validate(_small_spec(**changes))
