"""Hostile inputs, second sweep: flat exports whose labels, ids, headers or lines are written in ways that gave
a wrong answer with exit 0, a misleading sentence or a traceback; each test holds one class of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.export_contract import check_export
from features.flat import ExportSpec, flat_label, label_outcomes
from models.trend import comparable_run, with_trend
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import InputError
from pipelines.sources import ExportSource
from pipelines.spec import read_export, read_spec_export

runner = CliRunner()


def flat(output: str) -> str:
    return " ".join(output.split())


SPEC_YAML = """
name: tiny
id_column: Lead ID
label_column: Converted
positive_labels: {won}
negative_labels: {lost}
open_labels: {open}
fit_columns: {{Source: categorical}}
intent_columns: [Visits]
"""


def spec_of(won: str, lost: str, open_: str = "[]") -> ExportSpec:
    """A spec as a user writes it in YAML (so `[Yes]` is what YAML makes of it: a boolean)."""
    return ExportSpec.model_validate(yaml.safe_load(SPEC_YAML.format(won=won, lost=lost, open=open_)))


def export(labels: list, ids: list | None = None) -> pd.DataFrame:
    n = len(labels)
    return pd.DataFrame(
        {
            "Lead ID": ids if ids is not None else [f"L{i}" for i in range(n)],
            "Source": ["Google", "Referral"] * (n // 2) + ["Google"] * (n % 2),
            "Visits": np.arange(n),
            "Converted": labels,
        }
    )


# --- label values: the same value written two ways is one value ------------------------------------------


@pytest.mark.parametrize(
    ("won", "lost", "open_", "labels"),
    [
        ("[Yes]", "[No]", "[]", ["Yes", "No", "Yes", "No"]),  # YAML reads Yes/No as booleans, the CSV as text
        ('["TRUE"]', '["FALSE"]', "[]", [True, False, True, False]),  # pandas reads TRUE/FALSE as booleans
        ("[true]", "[false]", "[]", ["true", "FALSE", "True", "false"]),
        ("[1]", "[0]", "[open]", ["1.0", "0.0", "1.0", "open"]),  # a column with a word is read as text
    ],
)
def test_label_values_that_yaml_or_pandas_read_as_booleans_or_numbers_match_their_text(
    won, lost, open_, labels
):
    spec = spec_of(won, lost, open_)
    frame = export(labels)
    outcomes = label_outcomes(frame, spec).tolist()
    expected = ["won", "lost", "won", "open" if labels[-1] == "open" else "lost"]
    assert outcomes == expected
    label = flat_label(frame, spec)
    assert label.iloc[:3].tolist() == [1, 0, 1]


def test_yes_no_labels_written_unquoted_in_the_spec_pass_spec_check(tmp_path):
    path = tmp_path / "leads.csv"
    export(["Yes", "No"] * 10).to_csv(path, index=False)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC_YAML.format(won="[Yes]", lost="[No]", open="[]"))
    result = runner.invoke(app, ["spec", "check", "--input", str(path), "--source-spec", str(spec_path)])
    assert result.exit_code == 0, result.output
    assert "10 won, 10 lost" in flat(result.output)


def test_a_label_value_outside_the_lists_is_still_refused():
    frame = export(["Yes", "No", "Maybe", "No"])
    assert label_outcomes(frame, spec_of("[Yes]", "[No]")).tolist() == ["won", "lost", "unknown", "lost"]


def test_a_word_in_a_numeric_label_column_is_not_read_as_a_number():
    """A 0/1 label column with stray "yes"/"no" rows is a broken feed: those rows are unknown, not won or lost
    (reading "yes" as 1 remapped a fifth of the outcomes and the gate called the evidence broken, exit 7)."""
    frame = export([1, "yes", 0, "no", "on", "TRUE"])
    outcomes = label_outcomes(frame, spec_of("[1]", "[0]")).tolist()
    assert outcomes == ["won", "unknown", "lost", "unknown", "unknown", "won"]


# --- ids: read as written ----------------------------------------------------------------------------------


def test_an_export_id_is_read_as_written_not_as_a_number(tmp_path):
    """The ids "00012" and "12" are two leads (read as numbers they were one, and one was quarantined as a repeat);
    numeric ids with a blank row stayed numbers but became "660001.0"."""
    spec = spec_of("[1]", "[0]")
    path = tmp_path / "leads.csv"
    ids = ["00012", "12", "660001", None, "660002"]
    export([1, 0, 1, 0, 1], ids=ids).to_csv(path, index=False)
    frame = read_spec_export(path, spec)
    assert frame["Lead ID"].tolist()[:3] == ["00012", "12", "660001"]
    valid, quarantine = check_export(frame, spec)
    assert valid["Lead ID"].tolist() == ["00012", "12", "660001", "660002"]
    assert quarantine[["row", "check"]].values.tolist() == [[3, "not_null"]]


def test_a_parquet_export_with_whole_number_ids_stored_as_floats_reads_them_as_whole_numbers(tmp_path):
    path = tmp_path / "leads.parquet"
    export([1, 0, 1], ids=[660001.0, np.nan, 660003.0]).to_parquet(path)
    frame = read_spec_export(path, spec_of("[1]", "[0]"))
    assert frame["Lead ID"].tolist() == ["660001", None, "660003"]


# --- headers: two cells that read as one column ------------------------------------------------------------


@pytest.mark.parametrize("second", ["Visits", "Visits ", "visits"])
def test_header_cells_that_read_as_one_column_are_refused_naming_them(tmp_path, second):
    """pandas renamed the second "Visits" to "Visits.1" and the spec read the first, silently (exit 0)."""
    path = tmp_path / "leads.csv"
    frame = export([1, 0] * 5)
    frame[second + "_"] = 0
    text = frame.to_csv(index=False).replace(second + "_", second, 1)
    path.write_text(text)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC_YAML.format(won="[1]", lost="[0]", open="[]"))
    with pytest.raises(InputError, match="read as one"):
        read_spec_export(path, spec_of("[1]", "[0]"))
    result = runner.invoke(app, ["spec", "check", "--input", str(path), "--source-spec", str(spec_path)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert f"'Visits', '{second}'" in flat(result.output) and "keep one of them" in flat(result.output)


def test_trailing_empty_header_cells_are_not_repeated_columns(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(export([1, 0] * 3).to_csv(index=False).replace("\n", ",,\n"))
    frame = read_export(path)
    assert len(frame) == 6 and frame["Visits"].tolist() == list(range(6))


# --- a ragged line: the sentence names the line, not a delimiter it already uses ----------------------------


def test_a_line_with_more_fields_than_the_header_is_named_without_a_wrong_delimiter_hint(tmp_path):
    path = tmp_path / "leads.csv"
    lines = export([1, 0] * 5).to_csv(index=False).splitlines()
    lines[4] += ",extra"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as error:
        read_export(path)
    said = str(error.value)
    assert "line 5" in said and "more fields than the header" in said
    assert "it looks like delimiter" not in said


# --- the trend of a re-run whose first write found only new leads -----------------------------------------


def test_a_rerun_whose_first_write_had_only_new_leads_keeps_them_new():
    """The first write of an as-of compared with an earlier run and found every lead new; re-running that
    as-of kept the trend against no rows at all, and with_trend indexed an empty array (a traceback)."""
    as_of = pd.Timestamp("2026-10-01")
    first = pd.DataFrame(
        {
            "lead_id": ["a", "b"],
            "as_of": as_of,
            "score": [0.4, 0.6],
            "grade": ["C", "B"],
            "model_name": "leadscore",
            "trend": ["new", "new"],
            "previous_score": [np.nan, np.nan],
            "previous_grade": ["", ""],
        }
    )
    rows, sentence = comparable_run(first, "leadscore", as_of, "scores.csv")
    assert rows is not None and rows.empty and "re-run" in sentence
    again = with_trend(first[["lead_id", "score", "grade"]], rows, 0.05)
    assert again["trend"].tolist() == ["new", "new"] and again["previous_score"].isna().all()


# --- the label in disguise: a leak a hand-written spec lets through -------------------------------------------


def _leaky_export(n: int = 400) -> tuple[pd.DataFrame, ExportSpec]:
    rng = np.random.default_rng(0)
    won = rng.random(n) < 0.4
    visits = rng.poisson(3, n) + 3 * won  # a real, imperfect signal
    frame = pd.DataFrame(
        {
            "Lead ID": [f"L{i}" for i in range(n)],
            "Source": rng.choice(["Google", "Referral", "Chat"], n),
            "Visits": visits,
            "Status": np.where(won, "Closed - Converted", "Closed - Lost"),  # the outcome, in other words
            "Days To Close": np.where(won, rng.integers(5, 90, n), np.nan),  # filled in once it converted
            "Converted": won.astype(int),
        }
    )
    text = SPEC_YAML.format(won="[1]", lost="[0]", open="[]")
    spec = yaml.safe_load(text) | {
        "fit_columns": {"Source": "categorical", "Status": "categorical"},
        "intent_columns": ["Visits", "Days To Close"],
    }
    return frame, ExportSpec.model_validate(spec)


def test_a_column_that_alone_tells_won_from_lost_stops_training_naming_it():
    """Trained on, the model scored AUC 1.000 on its test window and was promoted with exit 0."""
    from features.contracts import ContractError
    from pipelines.settings import load_config
    from pipelines.sources import ExportSource

    frame, spec = _leaky_export()
    with pytest.raises(ContractError) as error:
        ExportSource(frame, spec).training_data(load_config(), None)
    said = str(error.value)
    assert "'Status' (AUC 1.000)" in said and "'Days To Close'" in said and "leaky_columns" in said
    assert "'Visits'" not in said and "'Source'" not in said  # real signal is no leak
    honest = spec.model_copy(
        update={
            "fit_columns": {"Source": "categorical"},
            "intent_columns": ("Visits",),
            "leaky_columns": {"Status": "set by sales", "Days To Close": "after the outcome"},
        }
    )
    data = ExportSource(frame, honest).training_data(load_config(), None)
    assert len(data.y) == len(frame)
    off = load_config(overrides=["model.leak_auc=null"])
    assert len(ExportSource(frame, spec).training_data(off, None).y) == len(frame)


def test_evaluate_refuses_the_label_in_disguise_as_train_does(tmp_path):
    frame, spec = _leaky_export()
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    result = runner.invoke(
        app, ["evaluate", "--input", str(path), "--source-spec", str(spec_path), "--folds", "3"]
    )
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "'Status' (AUC 1.000), 'Days To Close' (AUC 1.000) alone tell won from lost" in flat(result.output)


# --- as-of and the export's own times ----------------------------------------------------------------------


def _dated_spec() -> ExportSpec:
    return spec_of("[1]", "[0]", "[open]").model_copy(update={"timestamp_column": "Created"})


def test_export_rows_created_after_as_of_are_not_scored_and_counted():
    """Scored as of 2024-01-01, leads created in 2025 were all scored (a backfill that saw the future)."""
    frame = export(["open"] * 4).assign(Created=["2024-12-01", "2025-01-02", "2025-03-01", None])
    rows = ExportSource(frame, _dated_spec()).scoring_rows(pd.Timestamp("2025-01-01"), None)
    assert rows.to_score["Lead ID"].tolist() == ["L0", "L3"]  # a row without a time cannot be placed later
    assert rows.validation.not_created == {"leads": 2} and rows.validation.read == {"leads": 4}


def test_the_default_as_of_of_an_export_is_never_after_now():
    """A creation time in the future (a typo) made it the default as-of: every lead scored as of 2031."""
    frame = export(["open"] * 2).assign(Created=["2025-01-02", "2031-01-01"])
    source = ExportSource(frame, _dated_spec())
    now = pd.Timestamp.now("UTC").tz_localize(None)
    as_of = source.default_as_of()
    assert as_of <= now and as_of >= now - pd.Timedelta(minutes=5)
    rows = source.scoring_rows(as_of, None)
    assert rows.to_score["Lead ID"].tolist() == ["L0"] and rows.validation.not_created == {"leads": 1}


# --- numbers written with separators or signs: never a category, never a silent gap in the guardrail -------


def test_an_icp_revenue_written_with_signs_is_quarantined_not_read_as_not_given():
    """icp_columns mapped annual_revenue to a column the spec does not model: "$1,200,000" was read as not
    given (the revenue criterion silently never met), with exit 0."""
    spec = spec_of("[1]", "[0]").model_copy(update={"icp_columns": {"annual_revenue": "Revenue"}})
    frame = export([1, 0, 1, 0]).assign(Revenue=["$1,200,000", "2500000", None, "n/a"])
    valid, quarantine = check_export(frame, spec)
    assert valid["Lead ID"].tolist() == ["L1", "L2"]
    assert quarantine[["row", "column", "check"]].values.tolist() == [
        [0, "Revenue", "is_number"],
        [3, "Revenue", "is_number"],
    ]
    assert "separators" in quarantine["reason"].iloc[0]


@pytest.mark.parametrize("written", ["{:,}", "${}", "{}%", "€ {:,}"])
def test_draft_never_makes_numbers_with_separators_a_category_or_an_icp_number(tmp_path, written):
    """A column of "12%" was drafted a categorical fit column with a level per value; "76,630" free text, yet mapped to
    annual_revenue, whose every value would then be quarantined."""
    rng = np.random.default_rng(1)
    frame = export([1, 0] * 30).assign(
        Source=rng.choice(["Google", "Referral", "Chat"], 60),
        Visits=rng.integers(0, 9, 60),
        Revenue=[written.format(v) for v in rng.integers(1000, 90000, 60)],
    )
    path = tmp_path / "leads.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "spec.yaml"
    result = runner.invoke(
        app, ["spec", "draft", "--input", str(path), "--out", str(out), "--label", "Converted"]
    )
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load(out.read_text())
    assert "Revenue" in spec["drop_columns"] and "separators or signs" in spec["drop_columns"]["Revenue"]
    assert "annual_revenue" not in (spec.get("icp_columns") or {})


# --- online scoring of a flat export's rows: refused where batch would not score them ----------------------


def _online_row(**changes) -> dict:
    return {"Lead ID": "X1", "Created": "2026-05-01", "Source": "Google", "Visits": 3.0} | changes


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"Visits": float("inf")}, "row 0, field 'Visits': Visits is not a number ('inf')"),  # was scored A
        ({"Lead ID": "  "}, "field 'Lead ID': Lead ID is missing"),  # was scored, lead_id "  "
        ({"Created": "yesterday"}, "field 'Created': Created is not a date"),  # was scored
        ({"Created": "01/05/2026"}, "could be read either as"),  # was a 500
        ({"Created": "2026-11-01"}, "created after as_of"),  # was scored
        ({"Source": ["Google"]}, "field 'Source': must be one value"),  # was scored as "['Google']"
        ({"Source": "x" * 50}, "more than the 40 accepted"),
    ],
)
def test_an_online_export_row_batch_would_not_score_is_refused_naming_row_field_and_rule(changes, said):
    from models.flat_scorer import checked_request
    from models.lead_input import LeadInputError

    frame = pd.DataFrame.from_records([_online_row(**changes)])
    with pytest.raises(LeadInputError) as error:
        checked_request(frame, _dated_spec(), pd.Timestamp("2026-10-01"), max_text_chars=40)
    assert said in str(error.value) and "(rule: " in str(error.value)


def test_an_online_request_with_a_repeated_id_or_a_left_out_column():
    from models.flat_scorer import checked_request, with_fields_left_out
    from models.lead_input import LeadInputError

    with pytest.raises(LeadInputError, match="row 1, field 'Lead ID': Lead ID repeats"):
        checked_request(
            pd.DataFrame([_online_row(), _online_row()]), _dated_spec(), pd.Timestamp("2026-10-01"), None
        )
    # A column the signature calls optional and the request's records leave out is missing, not a 500 (a
    # frame without it is refused: in process, MLflow drops a column of another spelling).
    frame = with_fields_left_out([{k: v for k, v in _online_row().items() if k != "Visits"}], _dated_spec())
    checked = checked_request(frame, _dated_spec(), pd.Timestamp("2026-10-01"), None)
    assert checked["Visits"].isna().all()


def test_whole_numbers_are_doubles_for_the_signature():
    """JavaScript sends 3.0 as 3: MLflow refused int64 for a double column (400 for a valid lead), and a
    numeric id (660737) for the text the export's ids are read as."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from pipelines.serve import whole_numbers_as_doubles

    class Model:
        class metadata:  # noqa: N801 - the attribute MLflow's PyFuncModel has
            @staticmethod
            def get_input_schema():
                return ModelSignature(
                    Schema([ColSpec("string", "Lead ID"), ColSpec("double", "Visits")])
                ).inputs

    frame = whole_numbers_as_doubles(pd.DataFrame.from_records([{"Lead ID": 7, "Visits": 3}]), Model)
    assert frame["Visits"].dtype == "float64" and frame["Lead ID"].tolist() == ["7"]  # a numeric id as text
    kept = whole_numbers_as_doubles(pd.DataFrame.from_records([{"Lead ID": "7", "Visits": True}]), Model)
    assert kept["Visits"].dtype == bool  # not a number: MLflow still refuses it


def test_a_spec_with_an_unknown_encoding_is_an_invalid_spec_not_a_traceback(tmp_path):
    path = tmp_path / "leads.csv"
    export([1, 0] * 5).to_csv(path, index=False)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC_YAML.format(won="[1]", lost="[0]", open="[]") + "encoding: klingon\n")
    result = runner.invoke(app, ["spec", "check", "--input", str(path), "--source-spec", str(spec_path)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "unknown encoding 'klingon'" in flat(result.output)


def test_spec_check_fails_a_text_column_the_spec_calls_numeric_and_counts_rows_to_quarantine(tmp_path):
    """It said ok (exit 0); train then quarantined every row and stopped with exit 5."""
    path = tmp_path / "leads.csv"
    frame = export([1, 0] * 10).assign(Visits=["many"] * 20)
    frame.loc[3, "Lead ID"] = "L2"  # a repeated id: a warning with the count, not a failure
    frame.to_csv(path, index=False)
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC_YAML.format(won="[1]", lost="[0]", open="[]"))
    result = runner.invoke(app, ["spec", "check", "--input", str(path), "--source-spec", str(spec_path)])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    text = flat(result.output)
    assert "20 of 20 rows break rule is_number on column 'Visits'" in text and "make it categorical" in text
    assert "1 of 20 rows break rule unique on column 'Lead ID'" in text


# --- a synthetic truth file that is not one -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truth", "said"),
    [
        (pd.DataFrame({"x": ["D1"], "y": [0.5]}), "lacks the column(s) 'deal_id', 'true_probability'"),
        (pd.DataFrame({"deal_id": ["D1"], "true_probability": ["abc"]}), "'abc' is not a probability"),
        (pd.DataFrame({"deal_id": ["D1"], "true_probability": [1.5]}), "1.5 is not a probability"),
        (pd.DataFrame({"deal_id": ["D1", "D1"], "true_probability": [0.1, 0.2]}), "repeats deal_id 'D1'"),
    ],
)
def test_a_truth_file_that_is_not_one_is_named_not_a_traceback(truth, said):
    """evaluate and train --truth with such a file ended in a KeyError or ValueError traceback (exit 1)."""
    from features.contracts import ContractError
    from pipelines.sources import truth_probabilities

    with pytest.raises(ContractError, match="--truth") as error:
        truth_probabilities(truth)
    assert said in str(error.value)
    good = truth_probabilities(pd.DataFrame({"deal_id": ["D1", "D2"], "true_probability": ["0.25", 1]}))
    assert good.to_dict() == {"D1": 0.25, "D2": 1.0}


def test_evaluate_names_an_unwritable_output_before_training_any_fold(tmp_path, monkeypatch):
    """It trained every fold (a minute on a small export) and then failed to write the results."""
    import pipelines.evaluate

    def never(*args, **kwargs):
        raise AssertionError("the folds ran before the output was found unwritable")

    monkeypatch.setattr(pipelines.evaluate, "run_evaluate", never)
    (tmp_path / "a-file").write_text("x")
    result = runner.invoke(
        app,
        ["evaluate", "--input", str(tmp_path / "none.csv"), "--source-spec", "x_education", "--output"]
        + [str(tmp_path / "a-file" / "results.json")],
    )
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "cannot write" in flat(result.output) and "a-file/results.json" in flat(result.output)


def _dated_export(n: int, seed: int, created: list) -> pd.DataFrame:
    """`n` export rows with random labels, sources and visits, created at `created`."""
    rng = np.random.default_rng(seed)
    return export(list(rng.integers(0, 2, n))).assign(
        Source=rng.choice(["Google", "Referral", "Chat"], n),
        Visits=rng.integers(0, 9, n),
        Created=created,
    )


def test_a_training_row_created_in_the_future_is_quarantined():
    """A 2031 typo was trained on, as the newest lead of the out-of-time test window."""
    from pipelines.settings import load_config

    n = 40
    frame = _dated_export(n, seed=2, created=[f"2025-{1 + i % 12:02d}-01" for i in range(n)])
    frame.loc[7, "Created"] = "2031-01-01"
    data = ExportSource(frame, _dated_spec()).training_data(load_config(), None)
    assert len(data.y) == n - 1 and 7 not in data.frame.index
    row = data.quarantine.loc[data.quarantine["check"] == "not_in_future"]
    assert row[["row", "column", "value"]].values.tolist() == [[7, "Created", "2031-01-01"]]
    assert data.counts[["read", "valid", "quarantined"]].values.tolist() == [[n, n - 1, 1]]


def test_training_rows_without_a_time_are_quarantined_when_the_split_is_out_of_time():
    """The out-of-time split raised "N rows have no snapshot time" as a traceback (exit 1)."""
    from pipelines.settings import load_config

    n = 40
    frame = _dated_export(
        n, seed=3, created=[None if i % 10 == 0 else f"2025-{1 + i % 12:02d}-01" for i in range(n)]
    )
    data = ExportSource(frame, _dated_spec()).training_data(load_config(), None)
    untimed = data.quarantine.loc[data.quarantine["check"] == "not_null", "row"].tolist()
    assert untimed == [0, 10, 20, 30] and len(data.y) == n - 4
    assert "grouped_random" in data.quarantine["reason"].iloc[0]
    grouped = load_config(overrides=["model.split.method=grouped_random"])
    assert len(ExportSource(frame, _dated_spec()).training_data(grouped, None).y) == n  # no time needed


def test_a_utf8_export_under_a_single_byte_encoding_spec_is_refused_naming_the_fix(tmp_path):
    """A spec saying cp1252 read a UTF-8 export as mojibake without a word ('Zürich' as 'ZÃ¼rich')."""
    from pipelines.io import InputError
    from pipelines.spec import read_export

    path = tmp_path / "leads.csv"
    path.write_text("Lead ID,City,Converted\nL1,Zürich,1\nL2,Köln,0\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_export(path, encoding="cp1252")
    assert "set encoding: utf-8" in str(error.value) and str(path) in str(error.value)
    assert read_export(path, encoding="utf-8")["City"].tolist() == ["Zürich", "Köln"]
    single = tmp_path / "single.csv"
    single.write_bytes("Lead ID,City,Converted\nL1,Zürich,1\n".encode("cp1252"))
    assert read_export(single, encoding="cp1252")["City"].tolist() == ["Zürich"]
    plain = tmp_path / "plain.csv"
    plain.write_text("Lead ID,City,Converted\nL1,Paris,1\n")
    assert read_export(plain, encoding="cp1252")["City"].tolist() == ["Paris"]


def test_blank_rows_a_spreadsheet_writes_after_the_data_are_skipped_and_said(tmp_path, capsys):
    """Each ",,," line below the data was quarantined as "no id"; 30 of them stopped a 100-lead run (exit 5)."""
    from pipelines.spec import read_export

    path = tmp_path / "leads.csv"
    rows = [f"L{i},Google,{i % 2}" for i in range(4)]
    path.write_text("Lead ID,Source,Converted\n" + "\n".join([rows[0], ",,", *rows[1:], *[",,"] * 30]) + "\n")
    frame = read_export(path)
    assert frame["Lead ID"].tolist() == ["L0", "L1", "L2", "L3"]  # blank rows between leads go too (sweep 3)
    assert "30 after the last lead" in " ".join(capsys.readouterr().out.split())
