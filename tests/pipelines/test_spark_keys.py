"""The lead and account keys Spark computes without Python (pipelines.spark_job.id_key) are the keys the pandas
functions give (features.keys.id_keys, as the Pandas UDF applies them): every whitespace str.strip() strips,
empty and missing ids, an id starting with NUL, integer ids with gaps."""

import shutil
import sys

import pandas as pd
import pytest

from features.keys import id_keys

pytest.importorskip("pyspark", reason="the spark extra is not installed (make test installs it)")
if shutil.which("java") is None:  # pragma: no cover - Java 17 is on the machine and in CI
    pytest.skip("Spark needs Java", allow_module_level=True)

pytestmark = pytest.mark.slow
SPACES = "".join(
    c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and not 0xD800 <= ord(c) < 0xE000
)


def _expected(values: pd.Series, table: str, own: bool) -> list:
    """_id_key_udf's reading: id_keys, then a key starting with NUL is the row's own (or none)."""
    keys = pd.Series(id_keys(values, table, 0), dtype=object)
    return [(f"\0{table}:{r}" if own else None) if k.startswith("\0") else k for r, k in enumerate(keys)]


def test_spark_keys_equal_the_pandas_keys(spark_local):
    from pipelines.spark_job import id_key
    from pipelines.stream import ROW

    texts = [f"{s}L-1{s}" for s in SPACES] + [
        "x\u200bx",
        " \u200b",
        "",
        "   ",
        None,
        "\0L",
        "a\0",
        "L 2",
        "7",
    ]
    texts += ["\u00a0", "\ufeffL", "L\r\n", "\t\x1c 9 \x1f"]
    longs = [12, None, 0, -3, 2**40]
    ints = [7, 0, None, -1]
    columns = {"text": texts, "long": longs, "int": ints}
    n = max(map(len, columns.values()))
    padded = {c: v + [None] * (n - len(v)) for c, v in columns.items()}
    rows = pd.DataFrame(
        {
            "text": pd.Series(padded["text"], dtype=object),
            "long": pd.array(padded["long"], dtype="Int64"),
            "int": pd.array(padded["int"], dtype="Int32"),
            ROW: range(n),
        }
    )
    arrow = "spark.sql.execution.arrow.pyspark.enabled"
    before = spark_local.conf.get(arrow)
    spark_local.conf.set(arrow, "true")  # the rows reach the JVM through Arrow: no Python worker is started
    try:
        frame = spark_local.createDataFrame(rows, f"text string, long long, int int, {ROW} long")
    finally:
        spark_local.conf.set(arrow, before)
    keys = [id_key(frame, c, "activities", own).alias(f"{c}-{own}") for c in columns for own in (True, False)]
    got = frame.select(*keys).collect()  # one small job
    for c, values in padded.items():
        as_read = pd.Series(values, dtype=object if c == "text" else "float64")  # Arrow's pandas for the UDF
        for own in (True, False):
            assert [r[f"{c}-{own}"] for r in got] == _expected(as_read, "activities", own), (c, own)
