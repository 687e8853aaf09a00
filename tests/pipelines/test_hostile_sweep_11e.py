"""Hostile sweep 11e: `leadscore evaluate` on hostile input (tables, exports, settings, outputs): each is
answered with an exit code of the README's table and one sentence, never a traceback or an empty exit 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.contracts import ContractError
from features.flat import ExportSpec, flat_label
from features.synthetic import GeneratorConfig, generate_history
from models.backtest import BacktestData, Fold, FoldResult, evaluate_fold, mean_metrics
from models.config import BacktestConfig, ModelConfig
from models.minimum_data import InsufficientDataError, NoSignalError
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.evaluate import BacktestReport, FoldPlan, check_measured, mean_table
from pipelines.io import write_tables
from tests.pipelines.test_evaluate import _export, _flat

runner = CliRunner()
FAST = ["--set", "model.lightgbm.num_threads=1", "--set", "evaluate.baseline_iterations=5"]


@pytest.fixture(scope="module")
def tiny_history():
    return generate_history(GeneratorConfig(accounts=300, months=12, seed=11))


@pytest.fixture(scope="module")
def tiny_tables(tiny_history):
    return tiny_history.tables()


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "Leads.csv"
    _export(300).to_csv(path, index=False)
    return path


def test_a_deals_table_of_a_header_only_exits_4_naming_the_counts(tiny_tables, tmp_path):
    """A deals export with its header and no rows: a TypeError traceback (mapping each deal's close through
    an empty Series). Now exit 4 naming 0 won and 0 lost, as for any data without closed deals."""
    write_tables({**tiny_tables, "deals": tiny_tables["deals"].iloc[:0]}, tmp_path)
    for mode in (["--folds", "3"], ["--out-of-time"]):
        result = runner.invoke(app, ["evaluate", "--input", str(tmp_path), *mode, *FAST])
        assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
        assert "0 won and 0 lost labelled rows" in _flat(result.output)


@pytest.mark.parametrize(
    ("contenders", "said"),
    [
        ("[]", "at least 1 item"),
        ("[leadscore, leadscore]", "list each contender once (leadscore is listed more than once)"),
        ("[points_model]", "points_model needs the activities of CRM tables"),
    ],
)
def test_contenders_that_leave_nothing_to_run_are_a_setting_error(export_file, contenders, said):
    """`evaluate.contenders=[]`, or `[points_model]` on a flat export (it needs CRM activities), trained
    nothing and exited 0 with an empty table and JSON; a contender listed twice was trained twice per fold and
    printed twice. Now exit 3 naming the setting."""
    args = ["evaluate", "--input", str(export_file), "--source-spec", "x_education", "--folds", "3"]
    result = runner.invoke(app, [*args, *FAST, "--set", f"evaluate.contenders={contenders}"])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert "evaluate.contenders" in _flat(result.output) and said in _flat(result.output)


def _refused(name: str, reason: str) -> FoldResult:
    fold = Fold(name=name, train=np.arange(4), test=np.arange(4, 8))
    return FoldResult(fold=fold, refused={"leadscore": reason})


def test_every_contender_refusing_every_fold_is_not_an_answer():
    """`[leadscore]` on data without signal: it refused on every fold and the run exited 0 with an empty table
    (each fold "ok"). Now exit 4 (NoSignalError when every refusal was one), naming the first refusal; a fold
    some contender measured is an answer."""
    no_signal = "NoSignalError: no learnable signal: the AUC is 0.51."
    with pytest.raises(
        NoSignalError, match=r"no contender was measured on any of the 2 folds.*fold 1, leadscore"
    ):
        check_measured([_refused("fold 1", no_signal), _refused("fold 2", no_signal)])
    too_few = "InsufficientDataError: not enough closed deals to train"
    with pytest.raises(InsufficientDataError, match="1 more refusal"):
        check_measured([_refused("fold 1", no_signal), _refused("fold 2", too_few)])
    measured = _refused("fold 2", no_signal)
    measured.metrics["logistic_regression"] = {"roc_auc": 0.6}
    check_measured([_refused("fold 1", no_signal), measured])


def test_a_window_with_a_handful_of_one_class_is_skipped_not_averaged_in():
    """A rolling window of 107 test rows with 2 won was measured (leadscore's AUC 0.38) and averaged in as an
    equal of the window before (0.80): mean 0.59, exit 0, no word. A window with fewer than
    evaluate.min_test_rows_per_class of a class is now skipped and said, before any training."""
    y = np.array([1, 0] * 40 + [1] * 2 + [0] * 40)
    data = BacktestData(
        frame=pd.DataFrame({"x": np.arange(len(y))}), y=y, feature_names=["x"], categorical=[]
    )
    fold = Fold(name="window 3", train=np.arange(80), test=np.arange(80, len(y)))
    result = evaluate_fold(data, fold, ModelConfig(), BacktestConfig(), ["logistic_regression"])
    assert result.skipped == (
        "the test rows (42) hold 2 won and 40 lost, fewer than evaluate.min_test_rows_per_class=10 of each: "
        "their AUC would be noise, fold skipped"
    )
    assert result.metrics == {} and mean_metrics([result]) == {}
    enough = evaluate_fold(data, fold, ModelConfig(), BacktestConfig(min_test_rows_per_class=2), [])
    assert enough.skipped is None


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_an_export_file_without_a_source_spec_names_the_option(export_file, command):
    """`--input Leads.csv` without --source-spec said "not a folder of CRM tables (expected accounts, ...)" with
    no way forward (exit 3). Now a bad command line naming --source-spec and how to draft one."""
    result = runner.invoke(app, [command, "--input", str(export_file)])
    assert result.exit_code == exit_codes.USAGE, result.output
    said = _flat(result.output)
    assert "is a file: a flat export is read with --source-spec" in said and "leadscore spec draft" in said


DATED_SPEC = {
    "name": "dated",
    "id_column": "Lead ID",
    "label_column": "Status",
    "positive_labels": ["Won"],
    "negative_labels": ["Lost"],
    "timestamp_column": "Created",
    "fit_columns": {"Source": "categorical"},
    "intent_columns": ["Visits"],
}


def _dated_export(folder, created) -> list[str]:
    """A small dated export and its spec: the --input and --source-spec arguments."""
    n = len(created)
    rng = np.random.default_rng(0)
    won = np.arange(n) % 2 == 0
    frame = pd.DataFrame(
        {
            "Lead ID": [f"L{i}" for i in range(n)],
            "Created": created,
            "Source": rng.choice(["Google", "Referral"], n),
            "Visits": rng.integers(0, 9, n) + 4 * won,
            "Status": np.where(won, "Won", "Lost"),
        }
    )
    frame.to_csv(folder / "export.csv", index=False)
    (folder / "spec.yaml").write_text(yaml.safe_dump(DATED_SPEC))
    return ["--input", str(folder / "export.csv"), "--source-spec", str(folder / "spec.yaml")]


def test_every_row_at_one_time_says_the_time_column_not_more_windows(tmp_path):
    """A timestamp column holding one value in every row: "too few distinct times ...; ask for fewer windows or
    a larger test fraction", neither of which can help. Now the sentence names the one time and --folds."""
    source = _dated_export(tmp_path, ["2025-06-01 00:00:00"] * 200)
    result = runner.invoke(app, ["evaluate", *source, "--out-of-time", *FAST])
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    said = _flat(result.output)
    assert "every one of the 200 labelled rows has the same time (2025-06-01 00:00:00)" in said
    assert "use --folds K" in said and "larger test fraction" not in said


@pytest.mark.parametrize("name", ["results.csv", "results.PARQUET"])
def test_an_output_named_as_another_format_is_a_command_line_error(export_file, tmp_path, name):
    """`--output results.csv` wrote JSON into a .csv file, exit 0. Now a bad command line, before reading."""
    args = ["evaluate", "--input", str(export_file), "--source-spec", "x_education", "--folds", "3"]
    result = runner.invoke(app, [*args, "--output", str(tmp_path / name)])
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "evaluate writes JSON; name the file .json" in _flat(result.output)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", [["--out-of-time"], ["--rolling", "3"]])
def test_a_seed_given_with_a_time_cut_is_a_command_line_error(export_file, mode):
    """`--seed 5 --out-of-time` ran, ignoring the seed in silence (the JSON said seed null): a time cut draws
    nothing. Now a bad command line, before reading; --folds keeps its default seed 0."""
    args = ["evaluate", "--input", str(export_file), "--source-spec", "x_education", *mode, "--seed", "5"]
    result = runner.invoke(app, args)
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "--seed goes with --folds" in _flat(result.output)


def test_blank_labels_name_the_first_row():
    """Blank labels said "67 rows have no 'Status'" and no row to look at. The sentence names the first."""
    frame = pd.DataFrame({"Status": ["Won", "Lost", None, "Won", None]})
    with pytest.raises(ContractError, match=r"2 rows have no 'Status' \(first at row 2\); fill it in"):
        flat_label(frame, ExportSpec.model_validate(DATED_SPEC))


def test_the_json_says_some_refused_where_the_console_does():
    """A fold where leadscore refused read "ok" in results.json and "some refused" on the console."""
    refused = _refused("window 1", "InsufficientDataError: too few won")
    refused.metrics["logistic_regression"] = {"roc_auc": 0.6}
    assert refused.summary()["status"] == "some refused" == refused.status
    assert FoldResult(fold=refused.fold).summary()["status"] == "ok"


def test_a_truth_file_missing_deals_is_said_not_an_oracle_left_out_in_silence(tiny_history, tmp_path):
    """`--truth` of another history (or cut short): the oracle row vanished from the table and the JSON, exit
    0, no word. Now exit 3 naming how many labelled deals it lacks and the first."""
    write_tables(tiny_history.tables(), tmp_path / "crm")
    truth = tmp_path / "truth.csv"
    tiny_history.truth.iloc[::2].to_csv(truth, index=False)
    args = ["evaluate", "--input", str(tmp_path / "crm"), "--truth", str(truth), "--folds", "3", *FAST]
    result = runner.invoke(app, args)
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    said = _flat(result.output)
    assert "--truth has no true_probability for" in said and "labelled deals (first: deal_id 'D" in said


def test_a_run_that_fails_leaves_no_folder_its_output_would_have_needed(tmp_path):
    """`--output new/sub/results.json` then exit 4 (too little data): the early writability check had made
    new/sub and left them, empty. Nothing of a failed run is left now; a run that succeeds makes them."""
    source = _dated_export(tmp_path, pd.date_range("2025-01-01", periods=30, freq="D").astype(str))
    out = tmp_path / "new" / "sub" / "results.json"
    result = runner.invoke(app, ["evaluate", *source, "--folds", "3", "--output", str(out), *FAST])
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    assert not (tmp_path / "new").exists()


def test_tested_rows_leave_out_a_skipped_window():
    """results.json's tested_rows counted a skipped window's rows (107 of 322 never tested) as tested."""
    measured = _refused("window 1", "InsufficientDataError: too few won")
    measured.metrics["logistic_regression"] = {"roc_auc": 0.6}
    skipped = FoldResult(fold=Fold("window 2", np.arange(8), np.arange(8, 20)), skipped="all lost")
    report = BacktestReport(
        FoldPlan(windows=2), {"rows": 20}, ["logistic_regression"], [measured, skipped], {}
    )
    assert report.as_dict()["tested_rows"] == 4 and report.window_rows == 16


def test_the_auc_per_fold_keeps_each_fold_in_its_place():
    """Window 1 skipped, window 2 measured: "AUC per fold" read "0.600" alone, as if window 1's."""
    skipped = FoldResult(fold=Fold("window 1", np.arange(8), np.arange(8, 20)), skipped="all lost")
    measured = _refused("window 2", "InsufficientDataError: too few won")
    measured.metrics["logistic_regression"] = {"roc_auc": 0.6, "pr_auc": 0.5, "log_loss": 0.6, "ece": 0.1}
    results = [skipped, measured]
    report = BacktestReport(
        FoldPlan(windows=2), {"rows": 20}, ["leadscore", "logistic_regression"], results, {}
    )
    report.mean = mean_metrics(results)
    table = mean_table(report).set_index("contender")["AUC per fold"]
    assert table.to_dict() == {"leadscore": "skipped, -", "logistic_regression": "skipped, 0.600"}


def test_a_deal_dated_after_the_run_is_said_when_left_out(tiny_tables, tmp_path):
    """A deal created in 2030 (a typo'd year) is left out as not created yet, as training does; the backtest
    said every other row it left out and not this one, which vanished from the counts. Now it is said."""
    deals = tiny_tables["deals"].copy()
    deals.loc[deals.index[3], ["created_at", "closed_at"]] = [
        pd.Timestamp("2030-01-01"),
        pd.Timestamp("2030-02-01"),
    ]
    write_tables({**tiny_tables, "deals": deals}, tmp_path)
    result = runner.invoke(app, ["evaluate", "--input", str(tmp_path), "--folds", "200", *FAST])
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    assert "1 deals row created after this run's time left out as not created yet" in _flat(result.output)


def test_an_output_under_a_file_names_the_file_in_the_way(export_file):
    """`--output Leads.csv/results.json`: "cannot write ...: File exists; check the folder and the disk"."""
    args = ["evaluate", "--input", str(export_file), "--source-spec", "x_education", "--folds", "3"]
    result = runner.invoke(app, [*args, "--output", str(export_file / "results.json")])
    assert result.exit_code == exit_codes.BAD_INPUT, result.output
    assert f"{export_file} is a file, not a folder; write elsewhere" in _flat(result.output)
