"""Scoring input against training's coverage: the features the leads scored miss far more than training did,
and the numbers outside training's range (a column blanked or dropped, a level spelled anew, a unit changed).
The model keeps each feature's missing share and each number's range (TrainedModel.feature_missing and
feature_range); `leadscore score` says what these find, and scores all the same. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.frames import Table, as_table
from models.train import FeatureEncoder, TrainedModel, missing_shares


def range_warning(
    model: TrainedModel, names: Sequence[str], encoded: np.ndarray, checked: str, missing_rise: float
) -> str | None:
    """A sentence naming the numeric features outside training's range in at least `missing_rise` of the
    rows (a unit changed, counts gone negative): the trees read them as training's extremes. A
    time-identifying number read by the linear part only (a macro series) is expected to leave its range."""
    outside = []
    for j, name in enumerate(names):
        if name not in model.feature_range or name in model.linear_only:
            continue
        low, high = model.feature_range[name]
        beyond = (encoded[:, j] < low) | (encoded[:, j] > high)
        share = float(beyond.mean())
        if share >= missing_rise:
            outside.append(
                f"{name} {share:.0%} (e.g. {encoded[beyond, j][0]:g}; training {low:g} to {high:g})"
            )
    if not outside:
        return None
    return (
        f"features outside training's range in the {len(encoded):,} {checked}: {', '.join(outside)}; the "
        "model reads them as training's extremes: check the unit and sign of the input columns they are "
        "built from"
    )


# The guardrail's column in the features a coverage check is given: training learnt no disqualified lead (a
# country out of market, a free mailbox), so their levels are no news at scoring.
QUALIFYING = "disqualified"

# A feature's missing share at scoring is judged only when training's share would give it by chance at most
# this often: a batch of a few leads is often missing what a third of training's leads were missing.
CHANCE = 1e-3


def lost_features(model: TrainedModel, now: dict[str, float], rows: int, missing_rise: float) -> list[str]:
    """Features missing in every row now although training had them, or missing in `missing_rise` more of
    the rows than in training (a level spelled anew): only where training's share makes it unlikely."""
    from scipy.stats import binom

    lost = []
    for name, share in now.items():
        before = model.feature_missing[name]
        missing = round(share * rows)
        unlikely = binom.sf(missing - 1, rows, before) <= CHANCE
        if unlikely and (share == 1.0 and before < 1.0 or share - before >= missing_rise):
            lost.append(name)
    return lost


def feature_coverage_warnings(
    model: TrainedModel, frame: Table | pd.DataFrame, checked: str, missing_rise: float
) -> list[str]:
    """Sentences naming the features scoring misses far more than training did (see lost_features: the
    scores are made without them) and those outside training's range (range_warning). `frame`: features as
    scoring builds them. Empty for a model trained before training's coverage was kept. Features absent
    from the frame are not judged."""
    table = as_table(frame)
    present = [name for name in model.feature_missing if name in table]
    if not present or table.n_rows == 0:
        return []
    encoder = FeatureEncoder(present, [c for c in model.categorical if c in present])
    encoder.levels_ = {c: model.encoder.levels_[c] for c in encoder.categorical}
    encoded = encoder.transform(table)
    now = missing_shares(present, encoded, encoder.levels_)
    lost = lost_features(model, now, table.n_rows, missing_rise)
    warnings = []
    if lost:
        named = ", ".join(
            f"{name} {now[name]:.0%} (in training {model.feature_missing[name]:.0%}"
            f"{unseen_values(table[name], encoded[:, present.index(name)]) if name in encoder.categorical else ''})"
            for name in lost
        )
        unknown = (
            "; a text value training never saw counts as missing (check its spelling)"
            if set(lost) & set(encoder.categorical)
            else ""
        )
        warnings.append(
            f"features missing in the {table.n_rows:,} {checked} far more than in training: {named}{unknown}; "
            "the scores are made without them: check the input columns they are built from"
        )
    unseen = unseen_levels_warning(
        model, table, encoded, present, set(lost) | set(model.linear_only), checked
    )
    if unseen:
        warnings.append(unseen)
    outside = range_warning(model, present, encoded, checked, missing_rise)
    return warnings if outside is None else [*warnings, outside]


def new_level_rate(model: TrainedModel, name: str, trained: int) -> float:
    """How often training's leads brought a level no other lead held (TrainedModel.new_level_share). A model
    trained before that was kept gets its levels per training row, which bounds it from above: an upgrade
    must not make a long-tail feature of today's champion warn on every run."""
    if name in model.new_level_share:
        return model.new_level_share[name]
    return len(model.encoder.levels_.get(name, ())) / trained


def unseen_levels_warning(
    model: TrainedModel,
    table: Table,
    encoded: np.ndarray,
    present: Sequence[str],
    named: set[str],
    checked: str,
) -> str | None:
    """A sentence naming the categorical features whose values training never saw are more of the leads
    `checked` than the new levels a CRM adds by chance: a level renamed for some of the leads ("Google" written
    "Google Ads" from one day) reads as missing, below scoring.missing_rise, and the run had said nothing.
    A level absent from training's n rows has a rate below 3 / n (the rule of three), unless training's own
    levels say new ones come more often: the share of its rows whose level no other row held (Good-Turing,
    TrainedModel.new_level_share; a long tail of landing pages brings new ones every day). The feature is
    named when that rate would give its unseen values at most CHANCE of the time. Features `named` already are
    left out, and so are the leads the ICP guardrail disqualified (QUALIFYING): training learnt none of them."""
    from scipy.stats import binom

    trained = sum(model.training_counts.values())
    qualified = np.ones(len(encoded), dtype=bool)
    if QUALIFYING in table:
        qualified = ~pd.Series(table[QUALIFYING], dtype=object).fillna(False).astype(bool).to_numpy()
    rows = int(qualified.sum())
    if not trained or not rows:
        return None
    found = []
    for name in model.categorical:
        if name not in present or name in named:
            continue
        counts = unseen_counts(
            np.asarray(table[name], dtype=object)[qualified], encoded[qualified, present.index(name)]
        )
        unseen = int(counts.sum())
        expected = max(3 / trained, new_level_rate(model, name, trained))
        if unseen and binom.sf(unseen - 1, rows, min(expected, 1.0)) <= CHANCE:
            found.append(f"{name} {unseen / rows:.0%} of them ({counts_words(counts)})")
    if not found:
        return None
    which = " that the ICP guardrail did not disqualify" if rows < len(encoded) else ""
    return (
        f"levels training never saw in the {rows:,} {checked}{which}: {'; '.join(found)}; the model reads them as "
        "missing, so a value renamed in the CRM or the export (some 'Google' leads now 'Google Ads') loses what "
        "it learnt of the old one: write them as training did, or retrain on data that holds them"
    )


def unlogged_values(
    frame: pd.DataFrame, time_column: str, value_column: str, as_of: pd.Timestamp, window_days: int
) -> dict[str, float]:
    """Values of `value_column` (activity types, deal outcomes) logged before the `window_days` days before
    `as_of` so often that none in those days would happen by chance at most CHANCE, and none there while
    other values are: a value the CRM stopped logging. Each with the count its earlier rate expected. A
    compacted frame (compact_events) counts its EVENTS column's events per row."""
    times = pd.to_datetime(frame[time_column], errors="coerce")
    start = as_of - pd.Timedelta(days=window_days)
    earlier = times < start
    before = frame.loc[earlier, value_column]
    recent = set(frame.loc[(times >= start) & (times < as_of), value_column])
    span_days = (start - times[earlier].min()) / pd.Timedelta(days=1) if len(before) else 0.0
    if not recent or span_days <= 0:
        return {}
    counts = (
        frame.loc[earlier].groupby(value_column)[EVENTS].sum() if EVENTS in frame else before.value_counts()
    )
    expected = counts / span_days * window_days
    # Poisson: no event in the window has chance exp(-expected).
    return {
        str(value): float(n) for value, n in expected.items() if value not in recent and np.exp(-n) <= CHANCE
    }


# A compacted events frame's columns (compact_events): how many events each of its rows stands for, and how
# many of them repeat an earlier row.
EVENTS = "events"
REPEATS = "repeats"


def compact_events(
    frame: pd.DataFrame, time_column: str, value_column: str | None, as_of: pd.Timestamp
) -> pd.DataFrame:
    """The events as one row per value and day counted back from `as_of` (event_days): its earliest time, how
    many events it stands for (EVENTS) and how many of them repeat an earlier row in lead, time and value
    (REPEATS). unlogged_values and repeated_activities read it as they read `frame`, for any window of whole
    days (`value_column` None: a row per day, e.g. the leads' creation times stopped_closes counts). Parts
    of an input compacted and concatenated read as the whole input: a batch scored in parts judges what its
    feeds stopped delivering on every lead, not on the first part's (a lead's rows are in one part)."""
    times = pd.to_datetime(frame[time_column], errors="coerce")
    events = events_of(frame)
    if REPEATS in frame:
        repeats = frame[REPEATS]
    else:
        keys = [c for c in ("lead_id", time_column, value_column) if c is not None and c in frame]
        repeats = frame.duplicated(subset=keys).astype("int64") if len(keys) == 3 else events * 0
    values = {} if value_column is None else {value_column: frame[value_column]}
    rows = pd.DataFrame(
        {time_column: times, **values, "day": event_days(times, as_of), EVENTS: events, REPEATS: repeats}
    )
    grouped = rows.groupby([*values, "day"], sort=False, observed=True, dropna=False)
    return (
        grouped.agg(**{time_column: (time_column, "min"), EVENTS: (EVENTS, "sum"), REPEATS: (REPEATS, "sum")})
        .reset_index()
        .drop(columns="day")
    )


def event_days(times: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Each time's day counted back from `as_of` (1: the day up to as_of; NaN for a time that is no date): the
    rows compact_events keeps one of per value and day."""
    return np.ceil((as_of - times) / pd.Timedelta(days=1))


def compact_closes(deals: pd.DataFrame) -> pd.DataFrame:
    """The deals as one row per outcome and close time with how many deals it stands for (EVENTS): what
    unlogged_values and stopped_closes read of them, concatenated over an input's parts as of the whole input.
    Kept at their exact times, not per day: stopped_closes counts calendar days with a close and the longest
    quiet spell between two."""
    rows = pd.DataFrame(
        {"outcome": deals["outcome"], "closed_at": deals["closed_at"], EVENTS: events_of(deals)}
    )
    grouped = rows.groupby(["outcome", "closed_at"], sort=False, observed=True, dropna=False)
    return grouped[EVENTS].sum().reset_index()


def feed_tables(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """What feed_gap_warnings reads of the input tables, small: the activities compacted (compact_events), the
    deals' outcomes and closes (compact_closes), the leads' creation times a row per day (compact_events).
    Concatenated over the parts of an input, feed_gap_warnings reads them as it reads the whole input."""
    slim = {}
    if "activities" in tables:
        slim["activities"] = compact_events(tables["activities"], "occurred_at", "activity_type", as_of)
    if "deals" in tables:
        slim["deals"] = compact_closes(tables["deals"])
    if "leads" in tables:
        slim["leads"] = compact_events(tables["leads"], "created_at", None, as_of)
    return slim


def unseen_counts(values: np.ndarray, codes: np.ndarray) -> pd.Series:
    """How often each text value of a categorical feature occurs that its encoder read as missing (codes NaN,
    the value given, blanks around it dropped), most frequent first; empty when the feature is blank."""
    given = pd.Series(values, dtype=object)
    unseen = given[np.isnan(codes) & given.notna().to_numpy()].astype(str).str.strip()
    return unseen[unseen != ""].value_counts()


def counts_words(counts: pd.Series, most: int = 3) -> str:
    """ "'seo' 412, 'ppc' 230": the first `most` values of unseen_counts with their counts."""
    return ", ".join(f"{value[:40]!r} {n:,}" for value, n in counts.head(most).items())


def unseen_values(values: np.ndarray, codes: np.ndarray, most: int = 3) -> str:
    """'; values training never saw: 'seo' 412, 'ppc' 230' (unseen_counts); empty when there are none (the
    feature is blank, not spelled anew)."""
    counts = unseen_counts(values, codes)
    return f"; values training never saw: {counts_words(counts, most)}" if len(counts) else ""


def feed_gap_warnings(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, window: int) -> list[str]:
    """Sentences naming the activity types, and the deal outcomes, the history logged often and the `window`
    days before `as_of` (the longest feature window) not once: a type no longer logged is no error in any
    row, yet the model reads every lead's counts of it as 0; a feed that stops delivering lost deals leaves
    their leads looking open, so they are scored (and called) again."""
    day = pd.Timestamp(as_of).date()
    said = []
    repeated = "activities" in tables and repeated_activities(tables["activities"])
    if repeated:
        n = event_count(tables["activities"])
        said.append(
            f"activities: {repeated:,} of {n:,} rows repeat an earlier row in lead, time and type (the same export "
            "appended twice?): each counts in the features, so those leads' activity looks larger than it was; "
            "remove the repeated rows"
        )
    if "activities" in tables:
        gone = unlogged_values(
            tables["activities"], "occurred_at", "activity_type", pd.Timestamp(as_of), window
        )
        if gone:
            said.append(
                f"activities: no {expected_text(gone)} in the {window} days before {day}, though the earlier "
                "history logs them and other types: the model reads every lead's counts of them as 0; check that "
                "the CRM still logs them (a type renamed is quarantined, one no longer logged is not)"
            )
    stopped = None if "leads" not in tables else stopped_closes(tables, pd.Timestamp(as_of), window)
    if stopped is not None:
        said.append(
            f"deals: no deal closed in the {window} days before {day}, though about {stopped:,.0f} were expected "
            "at the earlier rate and leads still arrive: the outcome feed looks stopped, and a lead whose deal "
            "closed since looks open and is scored; check the deals feed"
        )
    elif "deals" in tables:
        gone = unlogged_values(tables["deals"], "closed_at", "outcome", pd.Timestamp(as_of), window)
        if gone:
            said.append(
                f"deals: no {expected_text(gone)} deal closed in the {window} days before {day}, though the "
                "earlier history has them and other outcomes still close: a lead whose closed deal the feed no "
                "longer delivers looks open and is scored; check the deals feed"
            )
    return said


# A share of the activity rows repeating an earlier one in every column this large is no event logged twice in
# one second: the rows were written twice.
REPEATED_SHARE = 0.05


def repeated_activities(activities: pd.DataFrame) -> int:
    """How many activity rows repeat an earlier row's lead, time and type, when they are REPEATED_SHARE of the
    rows or more (else 0)."""
    if REPEATS in activities:  # compacted (compact_events)
        repeated = int(activities[REPEATS].sum())
    else:
        columns = [c for c in ("lead_id", "occurred_at", "activity_type") if c in activities.columns]
        if len(columns) < 3 or len(activities) == 0:
            return 0
        repeated = int(activities.duplicated(subset=columns).sum())
    return repeated if repeated and repeated >= REPEATED_SHARE * event_count(activities) else 0


def event_count(frame: pd.DataFrame) -> int:
    """How many events a table holds: its rows, or what its compacted rows stand for (compact_events)."""
    return int(frame[EVENTS].sum()) if EVENTS in frame else len(frame)


def events_of(frame: pd.DataFrame) -> pd.Series:
    """How many events each row of a table stands for: one, or a compacted row's EVENTS (feed_tables)."""
    return frame[EVENTS] if EVENTS in frame else pd.Series(1, index=frame.index)


def stopped_closes(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, window_days: int) -> float | None:
    """The closes the earlier history's rate expected in the `window_days` days before `as_of`, when none came
    there although leads were still created and no close by chance had probability CHANCE at most (the whole
    outcome feed stopped, which unlogged_values, one outcome among others, cannot see); else None."""
    if "deals" not in tables:
        return None
    deals, leads = tables["deals"], tables["leads"]
    won_or_lost = deals["outcome"].isin(["won", "lost"])
    closed = pd.to_datetime(deals.loc[won_or_lost, "closed_at"], errors="coerce")
    closes = events_of(deals)[won_or_lost].to_numpy()  # a compacted row stands for several (feed_tables)
    created = pd.to_datetime(leads["created_at"], errors="coerce")
    arrived = events_of(leads).to_numpy()
    start = as_of - pd.Timedelta(days=window_days)
    earlier = closed[closed < start]
    if ((closed >= start) & (closed < as_of)).any() or not ((created >= start) & (created < as_of)).any():
        return None
    span_days = (start - earlier.min()) / pd.Timedelta(days=1) if len(earlier) else 0.0
    if span_days <= 0:
        return None
    expected = float(closes[(closed < start).to_numpy()].sum()) / span_days * window_days
    if quiet_before(earlier, as_of):  # closes booked in batches: a quiet spell like this one came before
        return None
    # Leads that fell as far (marketing paused, a trickle arriving): the pipeline drained, not the feed.
    lead_span = (start - created[created < start].min()) / pd.Timedelta(days=1)
    new_leads = int(arrived[((created >= start) & (created < as_of)).to_numpy()].sum())
    if (
        lead_span > 0
        and new_leads
        < LEADS_SHARE * int(arrived[(created < start).to_numpy()].sum()) / lead_span * window_days
    ):
        return None
    # Chance is judged on the days with a close: many deals closed on one day (a backfill imported with one
    # date, a batch booked at quarter end) are one event, and would make a quiet spell look impossible.
    close_days = earlier.dt.normalize().nunique() / span_days * window_days
    return float(expected) if np.exp(-close_days) <= CHANCE else None


# New leads under this share of their earlier rate: the leads stopped too, and closes with them.
LEADS_SHARE = 0.1
# How far back a history's earlier quiet spells are looked for: a year holds every season and quarter end.
QUIET_LOOKBACK_DAYS = 365


def quiet_before(closed: pd.Series, as_of: pd.Timestamp, slack: float = 0.1) -> bool:
    """Whether the closes went about as long without one (within `slack` of it) in the year before their
    newest as they have from it to `as_of`: a business that books its deals at quarter end (or in any
    batches) is quiet for a quarter at a time, and that is no stopped feed."""
    times = closed.dropna().sort_values()
    times = times[times < as_of]
    if len(times) < 2:
        return False
    newest = times.iloc[-1]
    recent = times[times >= newest - pd.Timedelta(days=QUIET_LOOKBACK_DAYS)]
    longest = recent.diff().max()
    return bool(pd.notna(longest) and longest >= (1 - slack) * (as_of - newest))


def expected_text(gone: dict[str, float]) -> str:
    """'demo_request (about 132 expected at its earlier rate)', for each value no longer logged."""
    return ", ".join(
        f"{value} (about {n:,.0f} expected at its earlier rate)" for value, n in sorted(gone.items())
    )
