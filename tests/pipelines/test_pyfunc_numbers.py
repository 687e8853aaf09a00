"""The registered artifact, loaded with `mlflow.pyfunc.load_model` in a notebook or a job, scores a lead whose
numbers are integers (employee_count 420, as JSON and pandas give them) exactly as it scores 420.0: MLflow's
own check refused int64 for a column declared double."""

import numpy as np
import pytest

import mlflow
from models.lead_input import tables_to_lead_rows

AS_OF = {"as_of": "2026-10-01"}


@pytest.fixture()
def rows(small_history):
    tables = small_history.tables()
    rows = tables_to_lead_rows(tables, tables["leads"]["lead_id"].head(5).tolist())
    return rows.assign(employee_count=[420.0, 12.0, None, 8000.0, 55.0])


def test_integer_numbers_score_as_their_float_twins_in_process(champion_store, rows):
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    as_floats = model.predict(rows, params=AS_OF)
    whole = rows.dropna(subset=["employee_count"]).astype({"employee_count": "int64"})
    as_ints = model.predict(whole, params=AS_OF)
    expected = as_floats.loc[rows["employee_count"].notna().to_numpy()]
    np.testing.assert_allclose(
        as_ints["score"].to_numpy(float), expected["score"].to_numpy(float), rtol=1e-12
    )
    assert as_ints["reasons"].tolist() == expected["reasons"].tolist()


def test_a_number_that_is_no_number_is_still_refused_naming_the_field(champion_store, rows):
    model = mlflow.pyfunc.load_model("models:/leadscore@champion")
    with pytest.raises(mlflow.exceptions.MlflowException, match="employee_count"):
        model.predict(rows.astype({"employee_count": object}).assign(employee_count="many"), params=AS_OF)
