"""A model trained on CRM tables gets the same scorer settings whether its features were built in process or
on Spark: the configuration's reason minimums reach both."""

from pipelines.settings import load_config
from pipelines.sources import CrmSource
from pipelines.spark_job import SparkInput
from pipelines.spark_train import SparkCrmSource


def test_in_process_and_spark_sources_build_the_same_scorer(trained_small):
    cfg = load_config(
        overrides=["scoring.min_reason_contribution=0.2", "scoring.min_absence_contribution=0.3"]
    )
    model = trained_small.scorer.model
    in_process = CrmSource({}).scorer(model, cfg)
    on_spark = SparkCrmSource(spark=None, where=SparkInput()).scorer(model, cfg)  # no session is started
    for scorer in (in_process, on_spark):
        assert (scorer.min_reason_contribution, scorer.min_absence_contribution) == (0.2, 0.3)
    assert vars(in_process).keys() == vars(on_spark).keys()
    assert all(
        getattr(in_process, k) is getattr(on_spark, k) or getattr(in_process, k) == getattr(on_spark, k)
        for k in vars(in_process)
        if k != "model"
    )
