"""The Spark settings leadscore gives a session it starts (pipelines.settings.SparkConfig): typed, in the YAML,
and never over what spark-submit or spark-defaults.conf set."""

from pipelines.settings import load_config
from pipelines.spark_job import settings_to_give


def test_the_shipped_spark_settings_are_spark_keys_and_overridable():
    conf = load_config().spark.session_conf()
    assert conf["spark.sql.shuffle.partitions"] == "8"  # not Spark's 200 tasks per shuffle on one machine
    assert conf["spark.python.worker.reuse"] == "true" and conf["spark.sql.adaptive.enabled"] == "true"
    changed = load_config(overrides=["spark.shuffle_partitions=64", "spark.adaptive=false"]).spark
    assert changed.session_conf()["spark.sql.shuffle.partitions"] == "64"
    assert changed.session_conf()["spark.sql.adaptive.enabled"] == "false"


def test_a_setting_spark_submit_gave_is_not_overridden():
    conf = load_config().spark.session_conf()
    given = settings_to_give(conf, {"spark.sql.shuffle.partitions", "spark.master"})
    assert "spark.sql.shuffle.partitions" not in given
    assert given == {k: v for k, v in conf.items() if k != "spark.sql.shuffle.partitions"}
