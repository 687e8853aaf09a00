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
