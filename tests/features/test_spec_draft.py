"""Drafting a source spec from an export, and checking a spec against one (pure parts)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from features.contracts import ContractError
from features.flat import SourceSpec, build_flat_features, closed_rows, flat_label, label_outcomes
from features.spec_check import check_spec
from features.spec_draft import DraftError, DraftRules, draft_spec, name_words, render_spec
from tests.features.crm_exports import hubspot_contacts_export, salesforce_leads_report
from tests.features.test_flat import _small_spec, x_education_fixture

ROOT = Path(__file__).resolve().parents[2]
RULES = DraftRules.model_validate(yaml.safe_load((ROOT / "pipelines/defaults/spec_draft.yaml").read_text()))


def shipped(name: str) -> SourceSpec:
    return SourceSpec.model_validate(yaml.safe_load((ROOT / "pipelines/specs" / f"{name}.yaml").read_text()))


def drafted(frame: pd.DataFrame, **kwargs) -> tuple[SourceSpec, str]:
    text = render_spec(draft_spec(frame, RULES, "drafted", **kwargs))
    return SourceSpec.model_validate(yaml.safe_load(text)), text


def as_read(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The frame as pandas reads it back from CSV (dates as text, empty cells missing)."""
    frame.to_csv(tmp_path / "export.csv", index=False)
    return pd.read_csv(tmp_path / "export.csv")


@pytest.mark.parametrize(
    ("build", "name"),
    [(hubspot_contacts_export, "hubspot_contacts"), (salesforce_leads_report, "salesforce_leads")],
)
def test_draft_of_a_crm_export_matches_the_shipped_spec(build, name, tmp_path):
    spec, text = drafted(as_read(build(), tmp_path))
    ship = shipped(name)
    assert (spec.id_column, spec.label_column, spec.timestamp_column) == (
        ship.id_column,
        ship.label_column,
        ship.timestamp_column,
    )
    assert spec.date_format == ship.date_format
    assert spec.fit_columns == ship.fit_columns
    assert set(spec.intent_columns) == set(ship.intent_columns)
    assert set(spec.leaky_columns) == set(ship.leaky_columns)
    assert set(spec.drop_columns) == set(ship.drop_columns)
    assert set(spec.positive_labels) <= set(ship.positive_labels)
    assert set(spec.negative_labels) <= set(ship.negative_labels)
    assert set(spec.open_labels) <= set(ship.open_labels)
    assert check_spec(as_read(build(), tmp_path), ship).ok  # the shipped spec fits the fixture
    assert "Leak audit: Possible leak" in text and "# fit, " in text and "# intent: " in text


def test_every_column_gets_exactly_one_role_and_reasons_are_given(tmp_path):
    frame = as_read(hubspot_contacts_export(), tmp_path)
    spec, _ = drafted(frame)
    assert spec.declared_columns() == set(frame.columns)
    assert "Leak audit" in spec.leaky_columns["Became a Customer Date"]
    assert "filled in only for converted rows" in spec.leaky_columns["Became a Customer Date"]


def test_x_education_draft_finds_id_label_leaks_and_constants():
    frame = x_education_fixture(200)
    frame["Magazine"] = "No"
    frame.insert(0, "Unnamed: 0", range(200))  # a CSV written with its index
    spec, _ = drafted(frame)
    assert "row number" in spec.drop_columns["Unnamed: 0"]
    assert (spec.id_column, spec.label_column) == ("Prospect ID", "Converted")
    assert spec.positive_labels == (1,) and spec.negative_labels == (0,) and spec.open_labels == ()
    assert "Constant" in spec.drop_columns["Magazine"]
    assert "Lead Number" in spec.drop_columns
    assert {"Tags", "Lead Quality", "Last Activity", "Last Notable Activity"} <= set(spec.leaky_columns)
    assert "Select" in spec.missing_values
    assert set(spec.intent_columns) == {"TotalVisits", "Total Time Spent on Website", "Page Views Per Visit"}


def test_given_label_wins_and_a_missing_one_is_named(tmp_path):
    frame = as_read(salesforce_leads_report(), tmp_path)
    spec, _ = drafted(frame, label="Converted")
    assert spec.label_column == "Converted" and "Lead Status" in spec.leaky_columns
    with pytest.raises(DraftError, match="did you mean 'Lead Status'"):
        drafted(frame, label="lead status ")


def test_what_cannot_be_decided_stays_a_question():
    frame = pd.DataFrame(
        {
            "Lead ID": range(60),
            "Status": ["Won"] * 20 + ["Lost"] * 20 + ["Zombie"] * 20,
            "Plan": ["a", "b", "c"] * 20,
            "Signup": ["03/04/2026", "04/03/2026", "05/06/2026"] * 20,
        }
    )
    spec, text = drafted(frame)
    assert "Zombie" not in {*spec.positive_labels, *spec.negative_labels, *spec.open_labels}
    assert "QUESTIONS" in text and "'Zombie' (20 rows) is won, lost or open?" in text
    assert "is 'Signup' the date the lead was created?" in text
    assert spec.timestamp_column is None
    with pytest.raises(ContractError, match="Zombie"):  # never relabelled silently
        flat_label(frame, spec)


def test_an_ambiguous_creation_date_is_a_question():
    frame = pd.DataFrame(
        {
            "Lead ID": range(40),
            "Converted": [1, 0] * 20,
            "Plan": ["a", "a", "b", "b"] * 10,
            "Created": ["03/04/2026", "04/03/2026", "05/06/2026", "07/08/2026"] * 10,
        }
    )
    spec, text = drafted(frame)
    assert spec.timestamp_column == "Created" and spec.date_format is None
    assert "QUESTION: its dates could be read as" in text


def test_a_dynamics_like_export_with_unseen_names():
    n = 80
    frame = pd.DataFrame(
        {
            "(Do Not Modify) Lead": [f"{i:08x}-77aa-ef11-8e4f-000d3a5b1c2d" for i in range(n)],
            "Topic": [f"Interested in plan {i}" for i in range(n)],
            "Status": ["Open", "Qualified", "Disqualified", "Qualified"] * (n // 4),
            "Created On": [f"2025-{m:02d}-1{d} 09:30" for m, d in zip(range(1, 9), range(8), strict=True)]
            * (n // 8),
            "Lead Source": ["Web", "Partner", "Trade Show", "Web", "Partner"] * (n // 5),
            "Email": [f"p{i}@example.com" for i in range(n)],
        }
    )
    spec, text = drafted(frame)
    assert spec.id_column == "(Do Not Modify) Lead" and "QUESTION: its name is not id-like" in text
    assert (spec.label_column, spec.timestamp_column) == ("Status", "Created On")
    assert (spec.positive_labels, spec.negative_labels, spec.open_labels) == (
        ("Qualified",),
        ("Disqualified",),
        ("Open",),
    )
    assert "Free text" in spec.drop_columns["Topic"] and "Email" in spec.drop_columns
    assert spec.fit_columns == {"Lead Source": "categorical"}


def test_no_label_or_no_rows_is_refused_with_the_fix():
    with pytest.raises(DraftError, match="--label"):
        drafted(pd.DataFrame({"Lead ID": [1, 2], "Plan": ["a", "b"]}))
    with pytest.raises(DraftError, match="no rows"):
        drafted(pd.DataFrame({"Lead ID": [], "Converted": []}))


def test_an_export_without_a_record_id_gets_its_rows_numbered_with_a_question():
    # Public data sets (a bank's calls, shop sessions) have no id column; the draft used to stop there.
    frame = pd.DataFrame(
        {"Lead ID": [1, 1, 2], "row": ["x", "x", "z"], "Converted": [1, 0, 0], "Plan": ["a"] * 3}
    )
    spec, text = drafted(frame)
    assert spec.id_from_row and spec.id_column == "row_number"  # "row" is taken by the export
    assert "QUESTION: no column" in text and "numbers the rows" in text
    assert "row_number" not in {*spec.fit_columns, *spec.drop_columns, *spec.leaky_columns}
    assert (
        "Lead ID" in spec.fit_columns or "Lead ID" in spec.drop_columns
    )  # not lost: a column like any other


def test_a_public_data_set_s_outcome_column_is_found_by_its_usual_name():
    bank = pd.DataFrame(
        {"id": [1, 2, 3, 4], "job": ["admin.", "services"] * 2, "y": ["no", "yes", "no", "no"]}
    )
    spec, _ = drafted(bank)
    assert (spec.label_column, list(spec.positive_labels), list(spec.negative_labels)) == (
        "y",
        ["yes"],
        ["no"],
    )
    # a CRM's own outcome column still wins over a generic name
    both = bank.assign(Converted=[0, 1, 1, 0], target=["no", "yes", "no", "no"]).drop(columns="y")
    assert drafted(both)[0].label_column == "Converted"


def test_name_words_split_camel_case_and_punctuation():
    assert name_words("IsConverted") == "is converted"
    assert name_words("Country/Region") == "country region"
    assert name_words("TotalVisits") == "total visits"


# --- won / lost / open labels -------------------------------------------------------------------------


def _labelled(values: list) -> tuple[SourceSpec, pd.DataFrame]:
    spec = SourceSpec.model_validate(
        _small_spec(positive_labels=["won"], negative_labels=["lost"], open_labels=["working"])
    )
    n = len(values)
    frame = pd.DataFrame({"id": range(n), "won": values, "Plan": "a", "Seats": 1, "Visits": 1})
    return spec, frame


def test_open_rows_are_not_losses():
    spec, frame = _labelled(["won", "lost", "working", "won"])
    label = flat_label(frame, spec)
    assert label.tolist()[:2] == [1, 0] and pd.isna(label[2]) and label[3] == 1
    closed, n_open = closed_rows(frame, spec)
    assert n_open == 1 and closed["won"].tolist() == ["won", "lost", "won"]
    assert build_flat_features(closed, spec)[1].dtype == "int64"


def test_values_outside_won_lost_open_are_refused_not_relabelled():
    spec, frame = _labelled(["won", "lost", "Engaging", "won"])
    assert label_outcomes(frame, spec).tolist() == ["won", "lost", "unknown", "won"]
    with pytest.raises(ContractError, match="'Engaging' \\(1 rows\\)"):
        flat_label(frame, spec)


def test_a_spec_without_negative_labels_reads_every_other_value_as_lost_and_check_warns():
    spec = SourceSpec.model_validate(_small_spec())
    frame = pd.DataFrame({"id": [1, 2], "won": ["yes", "Engaging"], "Plan": "a", "Seats": 1, "Visits": 1})
    assert flat_label(frame, spec).tolist() == [1, 0]
    frame["Stage"] = "x"
    report = check_spec(frame, spec)
    assert report.ok and "no negative_labels" in report.warnings[0] and "'Engaging'" in report.warnings[0]


def test_a_label_in_two_lists_is_refused():
    with pytest.raises(ValidationError, match="'yes' is in positive_labels and open_labels"):
        SourceSpec.model_validate(_small_spec(open_labels=["yes"]))
    with pytest.raises(ValidationError, match="delimiter"):
        SourceSpec.model_validate(_small_spec(delimiter=";;"))


# --- check ---------------------------------------------------------------------------------------------


def test_check_names_a_renamed_column_with_did_you_mean_and_lists_undeclared(tmp_path):
    frame = as_read(hubspot_contacts_export(), tmp_path).rename(columns={"Job Title": "job title"})
    frame["Custom Field"] = 1
    report = check_spec(frame, shipped("hubspot_contacts"))
    assert not report.ok
    assert (
        report.missing == {"Job Title": "fit_columns"}
        and "did you mean 'job title'" in report.hints["Job Title"]
    )
    assert report.undeclared == ["job title", "Custom Field"]


def test_check_lists_label_values_outside_the_lists(tmp_path):
    frame = as_read(salesforce_leads_report(), tmp_path)
    frame.loc[:4, "Lead Status"] = "Nurturing"
    report = check_spec(frame, shipped("salesforce_leads"))
    assert report.unexpected_labels == {"Nurturing": 5}
    assert any("'Nurturing' (5 rows)" in p for p in report.problems)


def test_missing_feature_columns_get_a_did_you_mean():
    spec = SourceSpec.model_validate(_small_spec())
    with pytest.raises(ContractError, match="'Seats' \\(did you mean 'seats'\\?\\)"):
        build_flat_features(
            pd.DataFrame({"id": [1], "won": ["yes"], "Plan": ["a"], "Visits": [1], "seats": 1}), spec
        )


def test_a_first_contact_date_is_the_creation_time_a_marketing_funnel_splits_on():
    frame = pd.DataFrame(
        {
            "mql_id": [f"{i:032x}" for i in range(40)],
            "first_contact_date": [f"2018-0{1 + i % 5}-1{i % 10}" for i in range(40)],
            "landing_page_id": ["a", "b", "c", "d", "e"] * 8,
            "converted": [1, 0] * 20,
        }
    )
    spec, text = drafted(frame)
    assert spec.timestamp_column == "first_contact_date"
    assert "first_contact_date" not in spec.drop_columns and "QUESTION: is one of" not in text


def test_a_public_data_set_s_last_column_is_its_outcome_when_its_values_say_so():
    # An online shop's sessions: no outcome-like name, the outcome last as public data sets put it.
    shop = pd.DataFrame(
        {
            "PageValues": [0.0, 12.5, 0.0, 3.1, 0.0, 8.0],
            "VisitorType": ["New_Visitor", "Returning_Visitor"] * 3,
            "Weekend": [True, False, False, True, False, False],
            "Revenue": [False, True, False, True, False, False],
        }
    )
    spec, text = drafted(shop)
    assert spec.label_column == "Revenue" and "QUESTION: no column has an outcome's name" in text
    assert "Weekend" in spec.fit_columns  # two values too, but not the last column
    with pytest.raises(DraftError, match="--label"):  # a last column of other values is not guessed
        drafted(shop.assign(Revenue=["a", "b", "c", "a", "b", "c"]))


def test_a_header_in_another_language_keeps_its_letters_in_the_feature_name():
    # "Ünternehmen" became the feature "nternehmen" and "Größe" "gr_e": letters outside a-z were dropped.
    frame = pd.DataFrame(
        {
            "Lead ID": [1, 2, 3, 4],
            "Größe": ["klein", "groß", "klein", "mittel"],
            "Société": ["a", "b", "a", "b"],
            "Доход": ["x", "y", "x", "y"],
            "Converted": [1, 0, 0, 1],
        }
    )
    spec, _ = drafted(frame)
    assert spec.renames["Größe"] == "grosse" and spec.renames["Société"] == "societe"
    assert spec.renames["Доход"] == "доход"
    assert name_words("IsConverted") == "is converted" and name_words("emp.var.rate") == "emp var rate"


def test_a_calls_duration_is_leaky_but_a_visits_page_duration_is_a_feature():
    # "duration" as a word made an online shop's ProductRelated_Duration (time on product pages before buying)
    # leaky; a call's "duration" (known once the call ended) is the whole name.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "Lead ID": range(40),
            "duration": rng.integers(5, 900, 40),
            "ProductRelated_Duration": rng.gamma(2, 30, 40).round(1),
            "Call Duration": rng.integers(5, 900, 40),
            "Converted": [1, 0] * 20,
        }
    )
    spec, _ = drafted(frame)
    assert {"duration", "Call Duration"} <= set(spec.leaky_columns)
    assert "ProductRelated_Duration" in {*spec.fit_columns, *spec.intent_columns}
