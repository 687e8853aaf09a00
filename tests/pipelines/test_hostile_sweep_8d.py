"""Eighth hostile sweep, part d: exit-5 sentences, in-process export models, lost reasons. Each test is one
class of input leadscore read wrongly: a flat export read with pandas (whole numbers int64, a text column of
blanks float64) given to the artifact in process or on Spark, ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import mlflow
from features.contracts import validate_tables
from features.export_contract import EXPORT_TABLE
from features.synthetic import GeneratorConfig, generate_history
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.io import read_frame, write_tables
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import ExportSource
from pipelines.store import setup
from pipelines.tracking import example_export_rows, log_scorer, with_columns_read_by_the_scorer
from pipelines.train import run_train
from pipelines.validate import (
    most_broken_rule,
    over_limit,
    own_quarantine_shares,
    rule_clause,
    rule_counts,
    run_validate,
    validation_share,
)
from tests.conftest import FAST_OVERRIDES, new_store, point_mlflow_at
from tests.features.crm_exports import hubspot_contacts_export
from tests.features.test_flat import x_education_fixture

AS_OF = {"as_of": "2026-10-01"}
runner = CliRunner()


def _x_education(n: int) -> pd.DataFrame:
    frame = x_education_fixture(n)
    frame.loc[frame["Converted"] == 1, "Total Time Spent on Website"] += 900  # a learnable signal
    return frame


@pytest.fixture(scope="module")
def export_champion(tmp_path_factory, empty_mlflow_db):
    """A model trained on an X Education export (not gated) and registered as the champion of its own store;
    the export written as Leads.csv beside it."""
    folder = tmp_path_factory.mktemp("export-champion")
    frame = _x_education(600)
    frame.to_csv(folder / "Leads.csv", index=False)
    spec = load_source_spec("x_education")
    trained = run_train(ExportSource(frame, spec), load_config(overrides=FAST_OVERRIDES), register=False)
    uri = new_store(empty_mlflow_db, folder / "mlflow")
    with pytest.MonkeyPatch.context() as patch:
        point_mlflow_at(uri, patch)
        setup("leadscore")  # the experiment's artifacts beside the store, not in ./mlruns
        version = log_scorer(trained.scorer, {EXPORT_TABLE: frame}, "leadscore").registered_model_version
        mlflow.MlflowClient().set_registered_model_alias("leadscore", "champion", version)
    return uri, folder / "Leads.csv", trained.scorer


@pytest.mark.slow  # trains on an export
def test_an_export_model_scores_the_csv_as_pandas_reads_it_in_process_as_batch_does(
    export_champion, monkeypatch
):
    """`mlflow.pyfunc.load_model(uri).predict(pd.read_csv("Leads.csv"))` failed with MLflow's "Total Time
    Spent on Website ... can not safely convert int64 to float64": the signature typed the export's columns,
    and pandas reads whole numbers as int64 (a text column of blanks as float64). Spark's columns cross as
    the same dtypes. The scores are batch's; a value that is no number is still refused naming its field."""
    uri, path, scorer = export_champion
    point_mlflow_at(uri, monkeypatch)
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    rows = pd.read_csv(path).drop(columns=["Converted"]).head(40)
    assert rows["Total Time Spent on Website"].dtype == "int64"
    rows["Specialization"] = np.nan  # a column no lead of this batch filled in: float64
    scores = model.predict(rows, params=AS_OF).set_index("lead_id")
    batch = scorer.score_tables({EXPORT_TABLE: rows}, pd.Timestamp("2026-10-01")).set_index("lead_id")
    np.testing.assert_allclose(
        scores["score"].to_numpy(float), batch.loc[scores.index, "score"].to_numpy(float)
    )
    assert scores["reasons"].tolist() == batch.loc[scores.index, "reasons"].tolist()
    as_floats = rows.astype({"Total Time Spent on Website": float})
    assert model.predict(as_floats, params=AS_OF)["score"].tolist() == scores["score"].tolist()
    bad = rows.head(3).astype({"TotalVisits": object})
    bad.loc[1, "TotalVisits"] = "many"
    with pytest.raises(mlflow.exceptions.MlflowException, match="row 1, field 'TotalVisits'"):
        model.predict(bad, params=AS_OF)


@pytest.mark.slow  # trains on an export
def test_an_export_model_reads_ids_sent_as_whole_floats_as_their_integer_text(export_champion, monkeypatch):
    """Typed Any, an id column of floats (JSON's 660737.0, a Parquet column with a gap) reached the scorer and
    came back as lead_id "660737.0", where batch reads the id 660737: an id that matches no CRM record. MLflow
    had refused the column while the signature typed it."""
    uri, path, _ = export_champion
    point_mlflow_at(uri, monkeypatch)
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    rows = (
        pd.read_csv(path).drop(columns=["Converted"]).head(3).assign(**{"Prospect ID": [7.0, 8.0, 660737.0]})
    )
    assert model.predict(rows, params=AS_OF)["lead_id"].tolist() == ["7", "8", "660737"]


def test_an_export_signature_takes_the_dtypes_pandas_and_spark_give_an_export():
    """The signature logged for a flat export: every column Any (the id still required), so MLflow's check
    lets int64 numbers, an int64 id and a float64 column of blanks (HubSpot's Record ID and counts, as
    pd.read_csv and Spark give them) through to the scorer, which reads them as batch does."""
    from mlflow.models import infer_signature
    from mlflow.models.utils import _enforce_schema

    spec = load_source_spec("hubspot_contacts")
    read = hubspot_contacts_export(n=60)
    as_batch_reads = read.astype({spec.id_column: "str"})  # batch reads the id column as written
    example = example_export_rows(
        as_batch_reads, spec.input_columns(), spec.id_column, spec.timestamp_column, spec.date_format
    )
    signature = with_columns_read_by_the_scorer(infer_signature(example))
    assert signature.inputs.required_input_names() == [spec.id_column]
    rows = read[spec.input_columns()].head(5).assign(Industry=np.nan)
    assert rows["Number of Pageviews"].dtype == "int64" and rows[spec.id_column].dtype == "int64"
    enforced = _enforce_schema(rows, signature.inputs)
    assert list(enforced.dtypes) == list(rows.dtypes)


# --- the exit-5 sentence: which table, which rule, an example row -------------------------------------------


@pytest.fixture(scope="module")
def crm_tables():
    return generate_history(GeneratorConfig(accounts=80, months=12, seed=5)).tables()


def _deals_with_other_ids(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Deals whose lead_id really differs from the leads' ("L-" + the lead's id): every deal of no lead."""
    deals = tables["deals"]
    return {**tables, "deals": deals.assign(lead_id="L-" + deals["lead_id"].astype(str))}


def _accounts_a_third_too_small(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    accounts = tables["accounts"].copy()
    accounts.loc[accounts.index[::3], "employee_count"] = -1  # breaks ge(1): a third of the leads held back
    return {**tables, "accounts": accounts}


def _said(result) -> str:
    return " ".join(result.output.split())


DEALS_SENTENCE = (
    "the deals rows most broke references unknown lead on column 'lead_id' (first at row 0, deal_id '{deal}', "
    "lead_id 'L-{lead}': lead_id does not match any lead)"
)


def _first_deal(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    lead, deal = tables["deals"][["lead_id", "deal_id"]].iloc[0]
    return {"lead": lead, "deal": deal}


def test_validate_and_evaluate_over_the_limit_name_the_table_the_rule_and_an_example_row(
    tmp_path, crm_tables
):
    """Ids that really differ ("L-7" in deals, "7" in leads) quarantined every deal, and exit 5 said only a
    share: now one sentence names the table, the rule most of its rows broke and the first such row (its row,
    column and value). Training and evaluate, which stop before training, say the same."""
    tables = _deals_with_other_ids(crm_tables)
    write_tables(tables, tmp_path / "crm", "csv")
    lead, deal = crm_tables["deals"][["lead_id", "deal_id"]].iloc[0]
    result = runner.invoke(
        app, ["validate", "--input", str(tmp_path / "crm"), "--quarantine", str(tmp_path / "q.csv")]
    )
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, result.output
    said = _said(result)
    assert "100.0% of the deals rows broke a rule of the contract" in said
    assert DEALS_SENTENCE.format(lead=lead, deal=deal) in said
    evaluated = runner.invoke(app, ["evaluate", "--input", str(tmp_path / "crm")])
    assert evaluated.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, evaluated.output
    rule = f"most broke references unknown lead on column 'lead_id' (first at row 0, deal_id '{deal}', lead_id 'L-"
    assert rule in _said(evaluated) and "model.max_quarantine_share" in _said(evaluated)


def test_leads_held_back_by_their_account_name_the_accounts_rule_and_row(crm_tables):
    """A lead share over the limit whose leads only followed a quarantined account names the account's rule."""
    tables = _accounts_a_third_too_small(crm_tables)
    result = run_validate(tables, pd.Timestamp("2026-10-01"))
    shares = own_quarantine_shares(result.quarantine, result.read)
    said = over_limit(validation_share(result), shares, 0.05, rule_counts(result.quarantine))
    assert said is not None and said.startswith(f"{validation_share(result):.1%} of leads quarantined")
    assert "the leads rows most broke parent account quarantined on column 'account_id'" in said
    assert (
        "the accounts rows most broke ge(1) on column 'employee_count' (first at row 0, account_id "
        f"'{tables['accounts']['account_id'].iloc[0]}', employee_count '-1'" in said
    )


@pytest.mark.slow  # scores with the session's champion
def test_score_over_the_limit_names_the_table_the_rule_and_an_example_row(
    tmp_path, crm_tables, champion_store
):
    tables = _deals_with_other_ids(crm_tables)
    write_tables(tables, tmp_path / "crm", "csv")
    result = runner.invoke(
        app,
        [
            "score",
            "--input",
            str(tmp_path / "crm"),
            "--as-of",
            "2026-10-01",
            "--output",
            str(tmp_path / "s.csv"),
        ],
    )
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, result.output
    assert DEALS_SENTENCE.format(**_first_deal(crm_tables)) in _said(result)


@pytest.mark.slow  # scores on Spark
def test_spark_scoring_over_the_limit_names_the_table_the_rule_and_an_example_row(
    tmp_path, crm_tables, small_scorer, spark_local, monkeypatch, mlflow_store
):
    monkeypatch.setattr("pipelines.tracking.load_scorer", lambda uri: small_scorer)
    write_tables(_deals_with_other_ids(crm_tables), tmp_path / "crm", "csv")
    output = tmp_path / "scores.parquet"
    args = ["score", "--input", str(tmp_path / "crm"), "--as-of", "2026-10-01", "--output", str(output)]
    result = runner.invoke(app, [*args, "--engine", "spark"])
    assert result.exit_code == exit_codes.QUARANTINE_OVER_LIMIT, result.output
    assert DEALS_SENTENCE.format(**_first_deal(crm_tables)) in _said(result)


@pytest.mark.slow  # starts Spark
def test_spark_counts_the_rule_and_example_row_the_pandas_path_names(spark_local, crm_tables):
    """`score --engine spark` keeps the quarantine in Spark: its counts (SparkScores.causes) give the same
    rule and example row as the pandas quarantine's."""
    from features.contracts import QUARANTINE_COLUMNS
    from pipelines.spark_job import KIND, SEQ, SparkScores

    for tables, table in (
        (_deals_with_other_ids(crm_tables), "deals"),
        (_accounts_a_third_too_small(crm_tables), "leads"),
    ):
        quarantine = run_validate(tables, pd.Timestamp("2026-10-01")).quarantine[list(QUARANTINE_COLUMNS)]
        order = quarantine["table"].map(
            {t: i for i, t in enumerate(("accounts", "leads", "activities", "deals"))}
        )
        quarantine = quarantine.assign(_o=order).sort_values(["_o", "row"], kind="stable").drop(columns="_o")
        rows = quarantine.astype({c: "object" for c in QUARANTINE_COLUMNS if c != "row"}).reset_index(
            drop=True
        )
        rows = rows.assign(**{SEQ: range(len(rows)), KIND: "quarantine"}).astype({"row": "int64"})
        rows = rows.where(rows.notna(), None)
        schema = (
            f"{SEQ} long, table string, row long, key string, column string, check string, value string, "
        )
        schema += f"reason string, {KIND} string"
        frame = spark_local.createDataFrame(rows[[SEQ, *QUARANTINE_COLUMNS, KIND]], schema)
        job = SparkScores(frame.filter("table != 'accounts'"), frame.filter("table = 'accounts'"))
        expected = most_broken_rule(quarantine, table)
        assert "first at row 0" in expected and rule_clause(job.causes(), table) == expected


# --- vocabulary columns read as CRMs spell them --------------------------------------------------------------


def _as_a_crm_writes(word: str) -> str:
    return word.replace("_", " ").title()  # "no_budget" -> "No Budget", as a CRM's picklist label


def test_every_vocabulary_column_of_the_contract_reads_a_word_as_crms_spell_it(tmp_path, crm_tables):
    """deals.lost_reason "No Budget" was quarantined for isin(LOST_REASONS) when lost, where activity types
    and outcomes were already read with features.text.spelled_word: every column the contract checks against
    a vocabulary now reads its words the same way (from the CSV, as training, batch and Spark read it). A
    reason that is no known one ("price") is still quarantined."""
    deals = crm_tables["deals"].copy()
    lost = deals.index[deals["outcome"] == "lost"]
    reasons = ["No Budget", " COMPETITOR ", "bad-fit", "price"]
    deals.loc[lost[:4], "lost_reason"] = reasons
    deals["outcome"] = deals["outcome"].map(_as_a_crm_writes)
    activities = crm_tables["activities"].assign(
        activity_type=crm_tables["activities"]["activity_type"].map(_as_a_crm_writes)
    )
    write_tables({**crm_tables, "deals": deals, "activities": activities}, tmp_path / "crm", "csv")
    read = {name: read_frame(tmp_path / "crm" / f"{name}.csv", name) for name in crm_tables}
    result = validate_tables(read, pd.Timestamp("2026-10-01"))
    quarantine = result.quarantine
    worded = quarantine.loc[quarantine["column"].isin(["lost_reason", "outcome", "activity_type"])]
    assert worded[["column", "value"]].values.tolist() == [["lost_reason", "price"]]
    valid = result.valid["deals"].set_index("deal_id")
    assert valid.loc[deals.loc[lost[:3], "deal_id"], "lost_reason"].tolist() == [
        "no_budget",
        "competitor",
        "bad_fit",
    ]
    assert set(valid["outcome"]) == {"won", "lost", "open"}
    assert set(result.valid["activities"]["activity_type"]) == set(crm_tables["activities"]["activity_type"])
