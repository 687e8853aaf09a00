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


def test_python_workers_fork_from_a_preloaded_daemon_with_one_thread_unless_turned_off():
    conf = load_config().spark.session_conf()
    assert conf["spark.python.daemon.module"] == "pipelines.spark_daemon"
    assert conf["spark.executorEnv.OMP_NUM_THREADS"] == "1"
    off = load_config(overrides=["spark.preload_workers=false", "spark.worker_threads=null"]).spark
    assert "spark.python.daemon.module" not in off.session_conf()
    assert "spark.executorEnv.OMP_NUM_THREADS" not in off.session_conf()


def test_the_daemon_preloads_what_it_can_and_names_what_it_cannot():
    from pipelines.spark_daemon import preload

    assert preload(("json", "leadscore_no_such_module")) == ["leadscore_no_such_module"]
