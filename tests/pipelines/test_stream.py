"""Streaming batch scoring: the same scores and accounting as the in-memory path, in bounded parts."""

import pandas as pd
import pytest

from features.synthetic import GeneratorConfig, generate_history
from pipelines.io import unquoted, write_tables
from pipelines.score import run_score
from pipelines.stream import run_score_streaming

AS_OF = pd.Timestamp("2026-10-01")


@pytest.fixture(scope="module")
def scorer(small_scorer):
    return small_scorer  # trained once per session on small_history (tests/conftest.py); read-only


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_streaming_equals_in_memory_scoring(tmp_path, scorer, fmt):
    history = generate_history(GeneratorConfig(accounts=400, months=12, seed=9, dirty_rows=3))
    folder = tmp_path / "crm"
    write_tables(history.tables(), folder, fmt)
    output = tmp_path / f"scores.{fmt}"
    streamed = run_score_streaming(scorer, folder, AS_OF, output, chunk_size=300)
    in_memory = run_score(scorer, history.tables(), AS_OF, None)
    pd.testing.assert_frame_equal(streamed.accounting, in_memory.accounting)
    written = pd.read_parquet(output) if fmt == "parquet" else unquoted(pd.read_csv(output))
    expected = in_memory.scores
    assert written["lead_id"].tolist() == expected["lead_id"].tolist()
    pd.testing.assert_series_equal(written["score"], expected["score"], check_names=False)
    assert written["reasons"].tolist() == expected["reasons"].tolist()
    q = pd.read_csv(tmp_path / "scores.quarantine.csv")
    assert set(q["table"]) == {"accounts", "leads", "activities", "deals"}
    # Row numbers point at the input files: the planted bad activity types are found where the quarantine says.
    bad_types = q[q["check"] == "isin(ACTIVITY_TYPES)"]["row"].astype(int)
    assert (history.activities.loc[bad_types, "activity_type"] == "chat_message").all()


def test_a_batch_scored_in_parts_judges_its_feeds_on_every_lead_as_in_memory(tmp_path, scorer, small_history):
    """Demo requests no longer logged, lost deals no longer delivered, a tenth of the activities written twice:
    streamed in parts, the feed checks
    read the first part's leads alone (about a fifth of the events, so a type stopped was less sure to be
    named, and 'about N expected' was that part's N). Every part's feeds are now judged together: the
    sentences are the in-memory run's, word for word."""
    tables = small_history.tables()
    activities, deals = tables["activities"], tables["deals"]
    window = AS_OF - pd.Timedelta(days=90)
    demo_gone = (activities["occurred_at"] >= window) & (activities["activity_type"] == "demo_request")
    lost_gone = (deals["closed_at"] >= window) & (deals["outcome"] == "lost")
    kept = activities[~demo_gone]
    twice = pd.concat([kept, kept.iloc[: len(kept) // 10]], ignore_index=True)  # a tenth written twice
    tables = {**tables, "activities": twice, "deals": deals[~lost_gone]}
    folder = tmp_path / "crm"
    write_tables(tables, folder, "parquet")
    in_memory = run_score(scorer, tables, AS_OF, None, reasons=False)
    gaps = [w for w in in_memory.warnings if w.startswith(("activities:", "deals:"))]
    assert any("no demo_request (about" in w for w in gaps) and any("no lost (about" in w for w in gaps)
    assert any("rows repeat an earlier row in lead, time and type" in w for w in gaps)
    streamed = run_score_streaming(
        scorer, folder, AS_OF, tmp_path / "scores.parquet", chunk_size=100, reasons=False
    )
    assert streamed.warnings[: len(gaps)] == gaps


@pytest.mark.parametrize("sizes", [[40, 35, 50], [1500, 900, 7, 2600], [50_000, 3, 50_000, 12_345]])
def test_the_coverage_samples_step_is_known_from_the_parts_sizes_in_any_order(monkeypatch, sizes):
    """CoverageSample doubles its step as parts come; Spark's parts each sample alone (sample_step of their
    own size) and the whole input's step is chosen after (pipelines.spark_job): the rows kept must be the
    same, every step-th lead of every part, whatever the parts' order."""
    from types import SimpleNamespace

    from features.frames import Table
    from pipelines.stream import ROW, CoverageSample, sample_step

    monkeypatch.setattr(
        "pipelines.stream.coverage_features", lambda scorer, tables, sample, as_of: Table({"x": sample["x"]})
    )
    scorer = SimpleNamespace(model=SimpleNamespace(feature_missing={"x": 0.0}))
    parts = [pd.DataFrame({"x": range(n), ROW: range(k * 10**6, k * 10**6 + n)}) for k, n in enumerate(sizes)]
    for order in (parts, parts[::-1]):
        sample = CoverageSample()
        for part in order:
            sample.add(scorer, {}, part, AS_OF)
        step = sample_step(sizes)
        assert sample.step == step and sum(-(-n // step) for n in sizes) <= 2000
        assert step == 1 or sum(-(-n // (step // 2)) for n in sizes) > 2000
        kept = sorted(r for t in sample.tables for r in t[ROW])
        assert kept == sorted(r for part in parts for r in part[ROW].iloc[::step])
        for part in parts:  # a part's own sample holds every row the whole input's step keeps
            own = sample_step([len(part)])
            assert step % own == 0 and set(part[ROW].iloc[::step]) <= set(part[ROW].iloc[::own])


@pytest.mark.parametrize(("sizes", "step"), [([1] * 2500, 1), ([3] * 2500, 4), ([5000] + [1] * 2100, 8192)])
def test_more_parts_than_the_coverage_sample_end_with_every_part_at_its_first_lead(monkeypatch, sizes, step):
    """Each part keeps one lead at least: past COVERAGE_SAMPLE parts no step keeps few enough, and the step
    doubled forever (streamed scoring with a small scoring.chunk_size hung)."""
    from types import SimpleNamespace

    from features.frames import Table
    from pipelines.stream import ROW, CoverageSample, sample_step

    assert sample_step(sizes) == step
    monkeypatch.setattr(
        "pipelines.stream.coverage_features", lambda scorer, tables, sample, as_of: Table({"x": sample["x"]})
    )
    scorer = SimpleNamespace(model=SimpleNamespace(feature_missing={"x": 0.0}))
    sample = CoverageSample()
    for k, n in enumerate(sizes):
        sample.add(scorer, {}, pd.DataFrame({"x": range(n), ROW: range(k * 10**4, k * 10**4 + n)}), AS_OF)
    assert sample.step == step and sum(t.n_rows for t in sample.tables) == sum(-(-n // step) for n in sizes)
