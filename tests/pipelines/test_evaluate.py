"""`leadscore evaluate` end to end through the CLI, and `leadscore generate --scenario`."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import write_tables
from tests.features.test_flat import x_education_fixture

runner = CliRunner()
FAST = [
    "--set",
    "model.lightgbm.num_threads=1",
    "--set",
    "model.lightgbm.learning_rate=0.1",
    "--set",
    "evaluate.baseline_iterations=20",
    "--set",
    "evaluate.contenders=[leadscore, points_model, logistic_regression, lightgbm_default]",
]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def crm(small_history, tmp_path_factory):
    folder = tmp_path_factory.mktemp("crm")
    write_tables({**small_history.tables(), "truth": small_history.truth}, folder)
    return folder


def _export(n: int) -> pd.DataFrame:
    frame = x_education_fixture(n)
    frame.loc[frame["Converted"] == 1, "Total Time Spent on Website"] += 900  # a learnable signal
    # In market for the spec's ICP (India), so the backtest keeps every row, as training does.
    frame["Country"] = frame["Country"].replace("United States", "India")
    return frame


@pytest.mark.slow  # a backtest: every contender trained per fold
def test_out_of_time_on_crm_tables_writes_every_contender_and_the_oracle(crm, tmp_path):
    out = tmp_path / "results.json"
    args = ["evaluate", "--input", str(crm), "--truth", str(crm / "truth.parquet"), "--out-of-time"]
    result = runner.invoke(app, [*args, "--output", str(out), *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["mode"] == "out_of_time" and len(report["folds"]) == 1
    fold = report["folds"][0]
    rows = fold["n_train"] + fold["n_not_known"] + fold["n_test"]
    assert fold["status"] == "ok" and rows == report["labelled"]["rows"] and fold["n_not_known"] > 0
    assert set(fold["metrics"]) == {
        "leadscore",
        "points_model",
        "logistic_regression",
        "lightgbm_default",
        "oracle",
    }
    assert report["mean"]["leadscore"]["roc_auc"] > 0.65
    assert report["mean"]["oracle"]["roc_auc"] > report["mean"]["points_model"]["roc_auc"]
    assert "leadscore" in result.output and "oracle" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # written atomically, nothing left over


@pytest.mark.slow  # a backtest: every contender trained per fold
def test_rolling_windows_on_crm_tables_follow_each_other(crm, tmp_path):
    out = tmp_path / "rolling.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--input",
            str(crm),
            "--rolling",
            "2",
            "--test-fraction",
            "0.3",
            "--output",
            str(out),
            *FAST,
        ],
    )
    assert result.exit_code == 0, result.output
    folds = json.loads(out.read_text())["folds"]
    assert [f["fold"] for f in folds] == ["window 1", "window 2"]
    assert folds[0]["test_end"] < folds[1]["test_start"]
    before = [f["n_train"] + f["n_not_known"] for f in folds]  # rows before each window
    assert before[1] == before[0] + folds[0]["n_test"]  # the second comes after the first


@pytest.mark.slow  # a backtest: every contender trained per fold
def test_kfold_on_a_flat_export_uses_scikit_learns_folds(tmp_path):
    export = tmp_path / "Leads.csv"
    frame = _export(600)
    frame.to_csv(export, index=False)
    out = tmp_path / "kfold.json"
    args = ["evaluate", "--input", str(export), "--source-spec", "x_education", "--folds", "3", "--seed", "1"]
    result = runner.invoke(app, [*args, "--output", str(out), *FAST, "--set", "model.min_won=20"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    y = frame["Converted"].to_numpy()
    expected = [len(test) for _, test in StratifiedKFold(3, shuffle=True, random_state=1).split(frame, y)]
    assert [f["n_test"] for f in report["folds"]] == expected
    assert "points_model" not in report["contenders"] and "oracle" not in report["contenders"]
    assert any(note.startswith("points_model left out: its rules read") for note in report["notes"])
    assert all(f["metrics"]["leadscore"]["roc_auc"] > 0.7 for f in report["folds"])


def test_out_of_time_on_data_without_times_exits_2_with_a_sentence(tmp_path):
    export = tmp_path / "Leads.csv"
    _export(300).to_csv(export, index=False)
    result = runner.invoke(
        app, ["evaluate", "--input", str(export), "--source-spec", "x_education", "--out-of-time", *FAST]
    )
    assert result.exit_code == exit_codes.USAGE
    assert "needs a time per row" in _flat(result.output) and "--folds" in result.output


def test_too_little_labelled_data_for_the_folds_exits_4_naming_the_counts(tmp_path):
    export = tmp_path / "Leads.csv"
    _export(30).to_csv(export, index=False)
    result = runner.invoke(
        app, ["evaluate", "--input", str(export), "--source-spec", "x_education", "--folds", "5"]
    )
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA
    assert "10 won and 20 lost" in _flat(result.output)


def test_contradictory_modes_are_a_command_line_error(crm):
    result = runner.invoke(app, ["evaluate", "--input", str(crm), "--folds", "3", "--out-of-time"])
    assert result.exit_code == exit_codes.USAGE
    assert "choose one of" in _flat(result.output)


def test_generate_a_scenario_writes_its_truth(tmp_path):
    out = tmp_path / "no_signal"
    args = ["generate", "--accounts", "300", "--months", "12", "--scenario", "no_signal", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    truth = pd.read_parquet(out / "truth.parquet")
    assert len(truth) == len(pd.read_parquet(out / "deals.parquet"))
    assert np.ptp(truth["true_probability"].to_numpy()) < 1e-12
    bad = runner.invoke(app, ["generate", "--scenario", "earthquake", "--out", str(tmp_path / "x")])
    assert bad.exit_code == exit_codes.USAGE and "concept_shift" in _flat(bad.output)


def test_an_export_missing_a_spec_column_exits_3_naming_it(tmp_path):
    export = tmp_path / "Leads.csv"
    _export(100).drop(columns=["Lead Origin"]).to_csv(export, index=False)
    result = runner.invoke(
        app, ["evaluate", "--input", str(export), "--source-spec", "x_education", "--folds", "3"]
    )
    assert result.exit_code == exit_codes.BAD_INPUT
    assert "Lead Origin" in _flat(result.output)


@pytest.mark.slow  # a backtest: every contender trained per fold
def test_an_export_is_read_as_its_spec_says_and_only_its_won_and_lost_rows_are_folded(tmp_path):
    """The backtest reads an export the way training does: the spec's delimiter, its open rows left out."""
    import yaml

    from pipelines.settings import load_source_spec
    from tests.features.crm_exports import hubspot_contacts_export

    spec = load_source_spec("hubspot_contacts").model_copy(
        update={"name": "semicolons", "delimiter": ";", "icp_columns": {}, "icp": {}}  # guardrail off
    )
    spec_path = tmp_path / "semicolons.yaml"
    spec_path.write_text(yaml.safe_dump(spec.model_dump(mode="json")))
    frame = hubspot_contacts_export(n=800)
    export = tmp_path / "contacts.csv"
    frame.to_csv(export, index=False, sep=";")
    out = tmp_path / "kfold.json"
    args = ["evaluate", "--input", str(export), "--source-spec", str(spec_path), "--folds", "3"]
    result = runner.invoke(app, [*args, "--output", str(out), *FAST, "--set", "model.min_won=20"])
    assert result.exit_code == 0, result.output
    closed = ~frame["Lifecycle Stage"].isin(spec.open_labels)
    assert json.loads(out.read_text())["labelled"]["rows"] == int(closed.sum()) < len(frame)
    assert "open rows (open_labels) left out of training" in _flat(result.output)


def test_rows_training_would_quarantine_are_said_and_too_many_stop_as_training_does(tmp_path):
    """The backtest learns from what training would: rows that break the contract are left out and said
    (console and JSON), and a share over model.max_quarantine_share stops with exit 5, as `train` does."""
    frame = _export(300)
    frame["TotalVisits"] = frame["TotalVisits"].astype(object)
    frame.loc[[3, 50], "TotalVisits"] = "lots"  # 2 of 300 rows: below the 5 % allowed
    export, out = tmp_path / "Leads.csv", tmp_path / "kfold.json"
    frame.to_csv(export, index=False)
    args = ["evaluate", "--input", str(export), "--source-spec", "x_education", "--folds", "3"]
    only_lr = ["--set", "evaluate.contenders=[logistic_regression]", "--set", "model.min_won=20"]
    result = runner.invoke(app, [*args, "--output", str(out), *only_lr])
    assert result.exit_code == 0, result.output
    said = _flat(result.output)
    assert "2 export rows quarantined and left out, as training would" in said and "TotalVisits" in said
    report = json.loads(out.read_text())
    assert report["labelled"]["rows"] == 298
    assert any("2 export rows quarantined" in note for note in report["notes"])

    frame.loc[::10, "TotalVisits"] = "lots"  # 10 % of the rows
    frame.to_csv(export, index=False)
    result = runner.invoke(app, [*args, *only_lr])
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, result.output
    said = _flat(result.output)
    assert "model.max_quarantine_share" in said and "TotalVisits" in said and "Traceback" not in said


def test_kfold_cuts_the_rows_in_input_order_while_training_takes_them_by_id(small_history):
    """--folds are scikit-learn's StratifiedKFold over the labelled rows as the input lists them (the README's
    promise, so anyone can reproduce them); each fold's training rows go in id order, as training takes them."""
    from pipelines.evaluate import FoldPlan, crm_data, flat_data, make_folds
    from pipelines.settings import load_config, load_source_spec

    cfg = load_config(overrides=["model.min_won=20", "model.min_lost=20"])
    export = _export(400).sample(frac=1, random_state=5).reset_index(drop=True)  # ids in no order
    tables = small_history.tables()
    for data, listed in [
        (flat_data(export, load_source_spec("x_education"), cfg), export[["Prospect ID", "Converted"]]),
        (
            crm_data(tables, cfg),
            tables["deals"][["deal_id"]].assign(won=tables["deals"]["outcome"].eq("won")),
        ),
    ]:
        ids = data.frame["lead_id" if "deal_id" not in data.frame else "deal_id"].astype("str")
        assert ids.tolist() == sorted(ids)  # training's order
        id_column = listed.columns[0]
        kept = listed[listed[id_column].astype("str").isin(set(ids))]  # in input order
        folds = make_folds(data, FoldPlan(folds=3, seed=1), cfg)
        cut = StratifiedKFold(3, shuffle=True, random_state=1).split(kept, kept.iloc[:, 1].astype(int))
        for fold, (_, test) in zip(folds, cut, strict=True):
            assert set(ids.iloc[fold.test]) == set(kept[id_column].astype("str").iloc[test])


def test_contenders_measured_on_unequal_folds_are_compared_again_on_the_same_ones(tmp_path, capsys):
    from models.backtest import Fold, FoldResult, mean_metrics
    from pipelines.evaluate import BacktestReport, FoldPlan, print_report, write_results

    def measured(name: str, **auc: float) -> FoldResult:
        metrics = {c: {"roc_auc": a, "pr_auc": 0.5, "log_loss": 0.6, "ece": 0.05} for c, a in auc.items()}
        return FoldResult(fold=Fold(name=name, train=np.arange(3), test=np.arange(3, 6)), metrics=metrics)

    results = [
        measured("window 1", leadscore=0.80, logistic_regression=0.78),
        measured("window 2", logistic_regression=0.55),  # leadscore refused this window
        measured("window 3", leadscore=0.70, logistic_regression=0.72),
    ]
    report = BacktestReport(
        plan=FoldPlan(windows=3),
        counts={"rows": 9, "won": 4, "lost": 5},
        contenders=["leadscore", "logistic_regression"],
        results=results,
        mean=mean_metrics(results),
    )
    print_report(report)
    out = capsys.readouterr().out
    assert "the same folds for every contender (window 1, window 3)" in out
    saved = json.loads(write_results(report, tmp_path / "r.json").read_text())
    assert saved["same_folds"] == ["window 1", "window 3"]
    assert saved["mean_same_folds"]["logistic_regression"]["roc_auc"] == pytest.approx(0.75)
    assert saved["mean"]["logistic_regression"]["roc_auc"] == pytest.approx(0.6833, abs=1e-4)


def test_an_export_whose_columns_together_give_the_outcome_away_is_no_backtest_answer(tmp_path):
    """Checkout flags each under the column leak check (AUC 0.95-0.99 alone) and the outcome together:
    evaluate printed AUC 1.000 for every contender as a measurement, wrote the results and exited 0, where
    `train` refuses the same export (exit 3). Now evaluate exits 3 with train's sentence and writes no file."""
    import yaml

    from tests.pipelines.test_real_shape_13 import propensity_sessions

    frame, y = propensity_sessions(n=3000)
    frame.insert(0, "UserID", [f"u{i}" for i in range(len(frame))])
    frame["pages_viewed"] = np.random.default_rng(1).poisson(2 + 2 * y)  # a signal, no leak
    frame["ordered"] = y
    export, out, spec_path = tmp_path / "sessions.csv", tmp_path / "kfold.json", tmp_path / "propensity.yaml"
    frame.to_csv(export, index=False)
    columns = dict.fromkeys(["checked_delivery_detail", "sign_in", "saw_checkout", "pages_viewed"], "numeric")
    spec = {"name": "propensity", "id_column": "UserID", "label_column": "ordered", "positive_labels": [1],
            "negative_labels": [0], "fit_columns": columns}  # fmt: skip
    spec_path.write_text(yaml.safe_dump(spec))
    args = ["evaluate", "--input", str(export), "--source-spec", str(spec_path), "--folds", "3", *FAST]
    result = runner.invoke(app, [*args, "--output", str(out), "--set", "model.min_won=20"])
    said = _flat(result.output)
    assert result.exit_code == exit_codes.BAD_INPUT, said
    assert "columns together give the outcome away" in said and "leaky_columns" in said, said
    assert "mean over folds" in said and "Traceback" not in said  # the table that shows it, then why
    assert not out.exists()
    honest = {**spec, "fit_columns": {"saw_homepage": "numeric", "pages_viewed": "numeric"}}
    spec_path.write_text(yaml.safe_dump(honest))
    result = runner.invoke(app, [*args, "--output", str(out), "--set", "model.min_won=20"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["mean"]["leadscore"]["roc_auc"] < 0.99
