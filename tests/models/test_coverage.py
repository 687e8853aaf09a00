"""models.coverage: what the feeds stopped delivering reads a compacted input as the input itself."""

import numpy as np
import pandas as pd
import pytest

from models.coverage import compact_events, repeated_activities, unlogged_values


@pytest.mark.parametrize("window", [1, 7, 30, 90])
@pytest.mark.parametrize("as_of", ["2026-10-01", "2026-10-01 13:45"])
def test_compacted_events_in_parts_give_the_whole_inputs_verdict_and_counts(window, as_of):
    """Each part compacted to a row per type and day counted back from as_of, the parts concatenated (and
    compacted again): the types no longer logged and the counts their earlier rate expected are the
    whole frame's, for any window of whole days, at midnight or not."""
    rng = np.random.default_rng(3)
    as_of = pd.Timestamp(as_of)
    n = 5000
    times = as_of - pd.to_timedelta(rng.uniform(-20, 400, n), unit="D")  # some after as_of
    kinds = rng.choice(["email_open", "demo_request", "webinar", "pricing_page"], n, p=[0.5, 0.2, 0.2, 0.1])
    frame = pd.DataFrame({"occurred_at": times, "activity_type": kinds})
    gone = (frame["occurred_at"] >= as_of - pd.Timedelta(days=window)) & frame["activity_type"].isin(
        ["demo_request", "pricing_page"]
    )
    frame = frame[~gone].reset_index(drop=True)
    whole = unlogged_values(frame, "occurred_at", "activity_type", as_of, window)
    parts = [
        compact_events(part, "occurred_at", "activity_type", as_of)
        for part in (frame.iloc[i::4] for i in range(4))
    ]
    joined = pd.concat(parts, ignore_index=True)
    assert len(joined) < len(frame)
    for compacted in (joined, compact_events(joined, "occurred_at", "activity_type", as_of)):
        said = unlogged_values(compacted, "occurred_at", "activity_type", as_of, window)
        assert said == pytest.approx(whole)
    if window >= 7:
        assert set(whole) == {"demo_request", "pricing_page"}


def test_activities_written_twice_are_counted_alike_whole_or_compacted_in_parts():
    """A lead's rows are in one part: the repeats each part counts add up to the whole input's."""
    rng = np.random.default_rng(4)
    as_of = pd.Timestamp("2026-10-01")
    n = 3000
    frame = pd.DataFrame(
        {
            "lead_id": rng.integers(0, 300, n).astype(str),
            "occurred_at": as_of - pd.to_timedelta(rng.integers(-5, 400, n), unit="D"),
            "activity_type": rng.choice(["email_open", "webinar"], n),
        }
    )
    frame = pd.concat([frame, frame.iloc[:400]], ignore_index=True)
    whole = repeated_activities(frame)
    parts = [
        compact_events(frame[frame["lead_id"].map(hash) % 3 == k], "occurred_at", "activity_type", as_of)
        for k in range(3)
    ]
    assert whole >= 400 and repeated_activities(pd.concat(parts, ignore_index=True)) == whole
    assert repeated_activities(frame.drop_duplicates()) == 0


def _in_parts(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, parts: int) -> dict[str, pd.DataFrame]:
    """Each table split in `parts` (by row), each part compacted (feed_tables), the parts concatenated."""
    from models.coverage import feed_tables

    slim = [feed_tables({n: t.iloc[k::parts] for n, t in tables.items()}, as_of) for k in range(parts)]
    return {name: pd.concat([s[name] for s in slim], ignore_index=True) for name in tables}


@pytest.mark.parametrize("as_of", ["2026-10-01", "2026-10-01 13:45"])
def test_closes_and_new_leads_compacted_in_parts_give_the_whole_inputs_verdict(as_of):
    """stopped_closes reads the leads a row per day and the deals a row per close time (feed_tables), in
    parts and concatenated, as the whole tables: the same expected closes, the same silences (new leads
    down to a trickle, a history imported with one closing date, closes booked in batches)."""
    from models.coverage import feed_gap_warnings, feed_tables, stopped_closes

    as_of = pd.Timestamp(as_of)
    steady = pd.Series(pd.date_range("2025-06-01", "2026-04-30", periods=900))
    arriving = pd.Series(pd.date_range("2025-06-01", "2026-09-30", periods=1200))
    trickle = pd.concat([steady, pd.Series(pd.to_datetime(["2026-07-15", "2026-08-20", "2026-09-10"]))])
    closed = pd.Series(pd.date_range("2025-07-01", "2026-05-31", periods=600))
    imported = pd.concat([closed, pd.Series([pd.Timestamp("2025-08-04 10:00")] * 400)], ignore_index=True)
    open_deals = pd.DataFrame({"closed_at": [pd.NaT] * 30, "outcome": "open"})
    quarter_ends = pd.Series(
        pd.to_datetime(["2025-09-30", "2025-12-31", "2026-03-31", "2026-06-30"]).repeat(50)
    )
    said = []
    for created in (arriving, trickle):
        for closes in (closed, imported, quarter_ends):
            deals = pd.DataFrame({"closed_at": closes, "outcome": ["won", "lost"] * (len(closes) // 2)})
            tables = {
                "deals": pd.concat([deals, open_deals], ignore_index=True),
                "leads": pd.DataFrame({"created_at": created}),
            }
            whole = stopped_closes(tables, as_of, 90)
            joined = _in_parts(tables, as_of, 3)
            again = feed_tables(joined, as_of)  # as Spark combines its parts' rows
            assert len(again["leads"]) < len(created) / 2 and len(again["deals"]) <= len(closes) + 1
            for compacted in (joined, again):
                assert stopped_closes(compacted, as_of, 90) == pytest.approx(whole)
                assert feed_gap_warnings(compacted, as_of, 90) == feed_gap_warnings(tables, as_of, 90)
            said.append(whole)
    assert said[0] > 100 and said[1] > 100 and said[3:] == [None, None, None]
