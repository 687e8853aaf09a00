"""Training and scoring on a flat lead export described by a source spec (X Education's shape)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.contracts import ContractError
from features.flat import ExportSpec, closed_rows
from pipelines.cli import app
from pipelines.io import unquoted
from pipelines.score import run_score
from pipelines.settings import load_source_spec
from pipelines.sources import ExportSource
from pipelines.train import run_train
from tests.features.crm_exports import hubspot_contacts_export
from tests.features.test_flat import x_education_fixture

runner = CliRunner()


def _export(n: int = 900) -> pd.DataFrame:
    frame = x_education_fixture(n)
    converted = frame["Converted"] == 1
    # A learnable signal: converted leads spent more time on the website.
    frame.loc[converted, "Total Time Spent on Website"] += 900
    return frame


@pytest.mark.slow  # trains and scores end to end through the CLI
def test_train_and_score_a_flat_export_through_the_cli(tmp_path, mlflow_store):
    export = tmp_path / "Leads.csv"
    _export().to_csv(export, index=False)
    args = [
        "train",
        "--input",
        str(export),
        "--source-spec",
        "x_education",
        "--set",
        "model.bootstrap_rounds=20",
        "--set",
        "registry.model_card=false",  # the card of a flat export: test_card.py
    ]
    # On this tiny, linear fixture logistic regression may edge out LightGBM: --force records why it goes live.
    result = runner.invoke(app, [*args, "--force", "first flat-export model"])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "logistic_regression" in flat and "points_model" not in flat
    assert "logistic regression is its strongest baseline" in flat and "model version 1: promoted" in flat
    assert "labelled_leads" in flat and "closed_deals" not in flat  # an export's rows are leads, not deals
    # the gate's verdict counts an export's leads
    assert " leads) (logistic regression is its strongest baseline)" in flat and " deals)" not in flat
    out = tmp_path / "scores.csv"
    new_leads = _export(60).drop(columns=["Converted"])
    new_leads.to_csv(tmp_path / "new.csv", index=False)
    result = runner.invoke(
        app, ["score", "--input", str(tmp_path / "new.csv"), "--as-of", "2026-10-01", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    scores = unquoted(pd.read_csv(out))  # the CSV's reasons start with an apostrophe (spreadsheets)
    assert len(scores) == 60 and scores["score"].between(0, 1).all()
    assert scores["reasons"].str.contains("time on website").any()  # the label the spec gives the column
    assert (scores["model_version"] == 1).all()
    assert scores["rank_score"].is_monotonic_decreasing  # the guardrail's order: disqualified leads last
    assert scores.loc[scores["disqualified"], "grade"].eq("D").all()
    # Served online, the same artifact answers the export's own rows (typed by its signature) as batch did.
    import mlflow
    from pipelines.serve import answer

    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    sent = new_leads.head(3)
    sent = sent.astype(
        {c: float for c in sent.select_dtypes("number").columns}
    )  # doubles, as the signature has
    rows = sent.astype(object).where(sent.notna(), None).to_dict("records")
    body = json.dumps({"dataframe_records": rows, "params": {"as_of": "2026-10-01"}}).encode()
    status, text = answer(model, body, "application/json")
    assert status == 200, text
    online = pd.DataFrame(json.loads(text)["predictions"]).set_index("lead_id")
    batch = scores.assign(lead_id=scores["lead_id"].astype(str)).set_index("lead_id").loc[online.index]
    assert online["score"].to_numpy() == pytest.approx(batch["score"].to_numpy())
    assert (online["reasons"] == batch["reasons"]).all() and (online["as_of"] == "2026-10-01T00:00:00").all()


@pytest.fixture(scope="module")
def trained_export():
    """run_train on `_export()` (X Education's spec, not registered), shared by the tests that only read it."""
    from pipelines.settings import load_config

    spec = load_source_spec("x_education")
    return run_train(
        ExportSource(_export(), spec), load_config(overrides=["model.bootstrap_rounds=20"]), register=False
    )


@pytest.mark.slow  # trains on the export
def test_leaky_columns_never_reach_the_model(trained_export):
    spec = load_source_spec("x_education")
    result = trained_export
    used = set(result.scorer.model.feature_names)
    leaky = {spec.feature_name(c) for c in spec.leaky_columns} | set(spec.leaky_columns)
    assert not used & leaky
    assert "Tags" in spec.leaky_columns and spec.feature_name("Total Time Spent on Website") in used
    # The export has no dates: the default (out of time) cannot apply, so the split is grouped by lead.
    assert result.split.method == "grouped_random"
    # A scorer reads what it was trained on, and says so rather than failing inside.
    with pytest.raises(
        ContractError, match="trained on a flat export .spec 'x_education'. and cannot score CRM"
    ):
        run_score(result.scorer, {"leads": pd.DataFrame()}, pd.Timestamp("2026-10-01"), None)


@pytest.mark.slow  # trains on the export
@pytest.mark.parametrize("method", ["out_of_time", "grouped_random"])
def test_the_split_method_of_a_dated_export_comes_from_the_config(method):
    from pipelines.settings import load_config

    spec = load_source_spec("hubspot_contacts")
    rows, _ = closed_rows(hubspot_contacts_export(n=800), spec)
    cfg = load_config(
        overrides=["model.bootstrap_rounds=20", "registry.model_card=false", f"model.split.method={method}"]
    )
    result = run_train(ExportSource(rows, spec), cfg, register=False)
    assert result.split.method == method


@pytest.mark.slow  # trains through the CLI
def test_an_export_without_signal_is_refused_with_exit_4(tmp_path, mlflow_store):
    """Labels drawn independently of every feature: no model, exit 4 and a sentence saying why."""
    frame = x_education_fixture(900)
    frame["Converted"] = (pd.Series(range(900)).sample(frac=1, random_state=5).to_numpy() % 5 < 2).astype(int)
    export = tmp_path / "Leads.csv"
    frame.to_csv(export, index=False)
    result = runner.invoke(app, ["train", "--input", str(export), "--source-spec", "x_education"])
    assert result.exit_code == 4, result.output
    flat = " ".join(result.output.split())
    assert "no learnable signal: the grouped out-of-fold ROC AUC is" in flat
    assert "Traceback" not in result.output


def _broken(frame: pd.DataFrame) -> pd.DataFrame:
    """An export with a repeated id, a missing id and a number written with a separator."""
    broken = pd.concat([frame, frame.head(1)], ignore_index=True)  # the first lead again, at the end
    broken["TotalVisits"] = broken["TotalVisits"].astype(object)
    broken.loc[1, "Prospect ID"] = None
    broken.loc[2, "TotalVisits"] = "1,234"
    return broken


@pytest.mark.slow  # trains and scores the export
def test_export_rows_that_break_the_contract_are_quarantined_in_training_and_scoring(tmp_path):
    from pipelines.settings import load_config

    spec = load_source_spec("x_education")
    export = _broken(_export())
    cfg = load_config(overrides=["model.bootstrap_rounds=20"])
    trained = run_train(ExportSource(export, spec), cfg, register=False)
    assert trained.data.counts.loc[0, ["read", "valid", "quarantined"]].tolist() == [901, 898, 3]
    assert sorted(trained.data.quarantine["check"]) == ["is_number", "not_null", "unique"]
    out_of_market = trained.data.excluded["total"]  # the spec's ICP: X Education serves India
    assert len(trained.data.frame) == 898 - out_of_market and trained.data.frame["lead_id"].is_unique

    new = _broken(_export(60)).drop(columns=["Converted"])
    result = run_score(
        trained.scorer, ExportSource(new, spec), pd.Timestamp("2026-10-01"), tmp_path / "s.csv"
    )
    assert result.leads.count("read") == 61 and result.leads.count("quarantined") == 3
    assert len(result.scores) == 58 and result.scores["lead_id"].is_unique
    quarantine = pd.read_csv(tmp_path / "s.quarantine.csv")
    assert set(quarantine["row"]) == {1, 2, 60} and "thousands separators" in " ".join(quarantine["reason"])


@pytest.mark.slow  # trains and scores the export
def test_closed_export_rows_are_not_scored_and_as_of_defaults_to_the_export(trained_export):
    spec = load_source_spec("x_education")
    trained = trained_export
    new = _export(60).astype({"Converted": object})
    new.loc[:29, "Converted"] = None  # still open: no outcome yet
    source = ExportSource(new, spec)
    assert source.default_as_of() is not None  # no time column in this spec: now
    result = run_score(trained.scorer, source, source.default_as_of(), None)
    assert result.leads.count("scored") == 30
    assert result.leads.count("not scored: deal already closed") == 30
    assert set(result.scores["lead_id"]) == set(new.loc[:29, "Prospect ID"])


def test_features_exclude_features_leaves_the_month_out_of_a_dated_export():
    """The month of the snapshot is the one feature an export's spec cannot drop (it has no column): the
    config's exclude_features once left it in the model silently."""
    from pipelines.settings import load_config

    spec = load_source_spec("hubspot_contacts")
    rows, _ = closed_rows(hubspot_contacts_export(n=80), spec)
    source = ExportSource(rows, spec)
    assert "month_of_year" in source.feature_groups(load_config())["fit"]
    cfg = load_config(overrides=["features.exclude_features=[month_of_year]"])
    groups = source.feature_groups(cfg)
    assert "month_of_year" not in groups["fit"] + groups["intent"]
    assert set(source.categorical_features(cfg)) <= set(groups["fit"])


def test_an_exports_reasons_follow_scoring_min_reason_contribution():
    """Export reasons once kept a fixed 0.02 log-odds bar whatever scoring.min_reason_contribution said."""
    from models.flat_scorer import flat_reasons
    from pipelines.settings import load_config

    rows = pd.DataFrame({"source": ["web"], "visits": [3.0], "city": ["Pune"]})
    moves = pd.DataFrame({"source": [0.4], "visits": [0.03], "city": [-0.03]})
    weak = flat_reasons(rows, moves, 3, 2, {}, min_contribution=0.02)
    assert weak.loc[0, "reasons"] == "+ source: web; + visits: 3; - city: Pune"
    strong = flat_reasons(rows, moves, 3, 2, {}, min_contribution=0.05)
    assert strong.loc[0, "reasons"] == "+ source: web"
    spec = load_source_spec("hubspot_contacts")
    source = ExportSource(hubspot_contacts_export(n=20), spec)
    cfg = load_config(overrides=["scoring.min_reason_contribution=0.2"])
    assert source.scorer(None, cfg).min_reason_contribution == 0.2  # type: ignore[arg-type]


def test_an_export_has_no_maturity_gap_so_a_drift_is_extrapolated_from_its_newest_row():
    """An export's rows are not cut at model.maturity_days, so scoring starts at its newest row: the base-rate
    trend was extrapolated 120 days too far (a funnel whose win rate rose: scores 0.72 against 0.20 won)."""
    from features.synthetic import GeneratorConfig, generate_history
    from pipelines.evaluate import crm_data, flat_data
    from pipelines.settings import load_config

    cfg = load_config()
    spec = load_source_spec("hubspot_contacts")
    rows, _ = closed_rows(hubspot_contacts_export(n=400), spec)
    assert ExportSource(rows, spec).training_config(cfg).model.maturity_days == 0
    assert flat_data(rows, spec, cfg).maturity_days == 0
    assert cfg.model.maturity_days == 120  # CRM tables keep theirs
    tables = generate_history(GeneratorConfig(accounts=300, months=12, seed=1)).tables()
    assert crm_data(tables, cfg).maturity_days == 120


def test_an_export_without_ids_is_read_with_its_rows_numbered_and_a_clash_is_refused(tmp_path):
    from pipelines.io import InputError
    from pipelines.spec import read_spec_export

    spec = ExportSpec(
        name="calls",
        id_column="row",
        id_from_row=True,
        label_column="y",
        positive_labels=("yes",),
        fit_columns={"job": "categorical"},
    )
    path = tmp_path / "calls.csv"
    pd.DataFrame({"job": ["admin.", "services", "admin."], "y": ["no", "yes", "no"]}).to_csv(
        path, index=False
    )
    frame = read_spec_export(path, spec)
    assert frame["row"].tolist() == ["1", "2", "3"] and frame["job"].tolist() == [
        "admin.",
        "services",
        "admin.",
    ]
    pd.DataFrame({"row": [5, 6], "job": ["a", "b"], "y": ["no", "yes"]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="numbers the rows into a column 'row'.*has a column of that name"):
        read_spec_export(path, spec)


def test_a_public_data_set_without_ids_is_drafted_checked_and_backtested_end_to_end(tmp_path, mlflow_store):
    rng = np.random.default_rng(3)
    n = 2000
    job = rng.choice(["admin.", "services", "technician", "retired"], n)
    calls = rng.integers(1, 6, n)
    won = rng.random(n) < np.where(job == "retired", 0.45, 0.12) / calls**0.3
    path, spec = tmp_path / "bank.csv", tmp_path / "bank.yaml"
    pd.DataFrame(
        {"age": rng.integers(18, 90, n), "job": job, "campaign": calls, "y": np.where(won, "yes", "no")}
    ).to_csv(path, index=False)
    drafted = runner.invoke(app, ["spec", "draft", "--input", str(path), "--out", str(spec)])
    assert drafted.exit_code == 0, drafted.output
    assert "the rows numbered" in drafted.output
    checked = runner.invoke(app, ["spec", "check", "--input", str(path), "--source-spec", str(spec)])
    assert checked.exit_code == 0, checked.output
    results = tmp_path / "results.json"
    backtest = runner.invoke(
        app,
        [
            "evaluate",
            "--input",
            str(path),
            "--source-spec",
            str(spec),
            "--folds",
            "2",
            "--output",
            str(results),
        ]
        + ["--set", "evaluate.contenders=[leadscore,logistic_regression]"],
    )
    assert backtest.exit_code == 0, backtest.output
    report = json.loads(results.read_text())
    assert report["mean"].get("leadscore", {}).get("roc_auc", 0) > 0.55, (report["mean"], report["notes"])
    trained = runner.invoke(
        app,
        ["train", "--input", str(path), "--source-spec", str(spec), "--set", "registry.model_card=false"]
        + ["--force", "a public data set"],
    )
    assert trained.exit_code == 0, trained.output
    new = tmp_path / "new.csv"
    pd.read_csv(path).head(30).drop(columns=["y"]).to_csv(new, index=False)
    out = tmp_path / "scores.csv"
    for _ in range(2):  # the second run finds the first, yet row 7 of another file is another lead
        scored = runner.invoke(app, ["score", "--input", str(new), "--output", str(out)])
        assert scored.exit_code == 0, scored.output
    assert "no record id" in " ".join(scored.output.split()) and "no trend" in scored.output
    scores = pd.read_csv(out)
    assert sorted(scores["lead_id"]) == list(range(1, 31)) and scores["previous_score"].isna().all()
