"""Eighth hostile sweep, part d: exit-5 sentences, in-process export models, lost reasons. Each test is one
class of input leadscore read wrongly: a flat export read with pandas (whole numbers int64, a text column of
blanks float64) given to the artifact in process or on Spark, ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlflow
from features.export_contract import EXPORT_TABLE
from pipelines.settings import load_config, load_source_spec
from pipelines.sources import ExportSource
from pipelines.store import setup
from pipelines.tracking import example_export_rows, log_scorer, with_export_columns_read_by_the_scorer
from pipelines.train import run_train
from tests.conftest import FAST_OVERRIDES, new_store, point_mlflow_at
from tests.features.crm_exports import hubspot_contacts_export
from tests.features.test_flat import x_education_fixture

AS_OF = {"as_of": "2026-10-01"}


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
    signature = with_export_columns_read_by_the_scorer(infer_signature(example))
    assert signature.inputs.required_input_names() == [spec.id_column]
    rows = read[spec.input_columns()].head(5).assign(Industry=np.nan)
    assert rows["Number of Pageviews"].dtype == "int64" and rows[spec.id_column].dtype == "int64"
    enforced = _enforce_schema(rows, signature.inputs)
    assert list(enforced.dtypes) == list(rows.dtypes)
