"""Hostile inputs, fourth sweep (time, history and labels): an --as-of with a time zone, and dates after the
run in the CRM history a model trains on; each test holds one class of input that gave a traceback or a wrong
answer with exit 0."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import typer

from pipelines.cli import _as_of
from pipelines.score_job import latest_run_beside

# --- an --as-of with a time zone: read as the same instant in UTC, as every time of the input ---------------


@pytest.mark.parametrize(
    "given",
    ["2026-10-01T00:00:00+02:00", "2026-09-30T22:00:00Z", "2026-09-30T22:00:00+00:00", "2026-09-30T22:00:00"],
)
def test_an_as_of_with_an_offset_is_the_same_instant_in_naive_utc(given):
    """`score --as-of 2026-10-01T00:00:00+02:00` ended in a traceback (tz-aware against the naive as-of of the
    previous run's manifest, or of a database's as_of column)."""
    when = _as_of(given)
    assert when.tzinfo is None
    assert when == pd.Timestamp("2026-09-30 22:00:00")


def test_an_as_of_in_the_future_is_still_refused_whatever_its_offset():
    later = (pd.Timestamp.now("UTC") + pd.Timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S+05:00")
    with pytest.raises(typer.BadParameter, match="in the future"):
        _as_of(later)


def test_a_manifest_beside_the_output_with_an_offset_is_compared_as_utc(tmp_path):
    """A manifest whose as_of carries an offset (written by an older run) made the trend lookup raise."""

    def publish(name: str, as_of: str) -> None:
        (tmp_path / f"{name}.parquet").write_bytes(b"")
        manifest = {
            "as_of": as_of,
            "model_name": "leadscore",
            "files": {"scores": {"file": f"{name}.parquet"}},
        }
        (tmp_path / f"{name}.manifest.json").write_text(json.dumps(manifest))

    publish("a", "2026-09-01T00:00:00+02:00")  # 2026-08-31 22:00 UTC
    publish("b", "2026-08-31T23:00:00")
    found = latest_run_beside(tmp_path / "new.parquet", "leadscore", pd.Timestamp("2026-10-01"))
    assert found == tmp_path / "b.parquet"  # the later instant, whatever the offset
    assert latest_run_beside(tmp_path / "new.parquet", "leadscore", pd.Timestamp("2026-08-31 22:30")) == (
        tmp_path / "a.parquet"
    )
