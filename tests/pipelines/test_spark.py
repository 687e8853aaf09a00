"""Spark scoring through the same artifact gives the same scores and reasons as pandas."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

from models.score_table import dtype_mismatches
from pipelines.score import run_score
from pipelines.tracking import load_scorer

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
if shutil.which("java") is None:  # pragma: no cover - Java 17 is on the machine and in CI
    pytest.skip("Spark needs Java", allow_module_level=True)

AS_OF = pd.Timestamp("2026-10-01")


@pytest.mark.slow  # a Spark session (a JVM and Python workers)
@pytest.mark.usefixtures("spark_local")  # the process's shared session: local_spark_session gets it
def test_spark_and_pandas_give_the_same_scores_and_reasons(small_history, champion_store):
    tables = small_history.tables()
    sample = tables["leads"].sample(60, random_state=1)
    tables = {**tables, "leads": sample}
    uri = "models:/leadscore@champion"
    scorer = load_scorer(uri)
    pandas_scores = run_score(scorer, tables, AS_OF, None).scores
    spark_scores = run_score(scorer, tables, AS_OF, None, engine="spark", model_uri=uri).scores
    assert len(spark_scores) == len(pandas_scores) > 0
    assert dtype_mismatches(spark_scores) == [] == dtype_mismatches(pandas_scores)  # the score table
    a = pandas_scores.set_index("lead_id").sort_index()
    b = spark_scores.set_index("lead_id").sort_index()
    np.testing.assert_allclose(b["score"].to_numpy(float), a["score"].to_numpy(float), rtol=1e-9)
    for column in ("grade", "fit_tier", "intent_band", "disqualified", "disqualify_reasons", "reasons"):
        assert b[column].astype(str).tolist() == a[column].astype(str).tolist(), column
    assert os.environ["MLFLOW_TRACKING_URI"].startswith("sqlite")
