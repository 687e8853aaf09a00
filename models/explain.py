"""Reasons a sales rep understands, from TreeSHAP contributions and the lead's own values.

Features of one concept (the pricing page over 7, 30 and 90 days, say) are summed into one contribution, so
a reason speaks of the pricing page once. Each concept has a sentence built from the lead's values, the same
sentence whether the concept pushed the score up or down; the sign decides whether it is listed among the
positive or the negative reasons. Contributions are summed with numpy over all rows; sentences are written
only for the reasons shown, from those rows' values, so one lead costs little and a batch stays fast.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.errors import IntCastingNaNError

from features.frames import Table, numbers

Text = Callable[[Table, np.ndarray], list[str]]  # (features, row positions) -> one sentence per row


def _num(frame: Table, name: str, rows: np.ndarray) -> np.ndarray:
    """Float values of column `name` at `rows`, NaN where missing or not a number (as pd.to_numeric coerces)."""
    if name not in frame:
        return np.full(len(rows), np.nan)
    return numbers(frame[name][rows])


def _str(frame: Table, name: str, rows: np.ndarray) -> list[str]:
    """Text values of column `name` at `rows`, 'unknown' where missing."""
    if name not in frame:
        return ["unknown"] * len(rows)
    return [v if isinstance(v, str) else "unknown" for v in frame[name][rows].tolist()]


def _yes(frame: Table, name: str, rows: np.ndarray) -> np.ndarray:
    """Boolean values of column `name` at `rows` (False when the column is absent)."""
    if name not in frame:
        return np.zeros(len(rows), dtype=bool)
    return frame[name][rows].astype(bool)


def _filled(values: np.ndarray) -> np.ndarray:
    """NaN as 0."""
    return np.where(np.isnan(values), 0.0, values)


def _ints(values: np.ndarray) -> list[int]:
    """Whole numbers (NaN as 0, fractions cut off), refusing infinities as pandas' astype(int) does."""
    filled = _filled(values)
    if not np.isfinite(filled).all():
        raise IntCastingNaNError("Cannot convert non-finite values (NA or inf) to integer")
    return filled.astype(int).tolist()


def _rounded(values: np.ndarray) -> list[int]:
    """Nearest whole numbers (NaN as 0, halves to even)."""
    return _ints(np.round(values))


def _times(n: int, word: str = "time") -> str:
    """'1 time' / '3 times'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _activity_text(activity: str, phrase: str, absent: str) -> Text:
    """'visited the pricing page 3 times in the last 7 days', from the shortest window with activity."""

    def text(frame: Table, rows: np.ndarray) -> list[str]:
        out = [absent] * len(rows)
        for window in (90, 30, 7):  # the shortest window with activity wins, so it is written last
            n = _num(frame, f"n_{activity}_{window}d", rows)
            counts = _ints(n)
            for i in np.flatnonzero(n > 0).tolist():
                out[i] = f"{phrase} {_times(counts[i])} in the last {window} days"
        return out

    return text


def _email_text(frame: Table, rows: np.ndarray) -> list[str]:
    clicks = _num(frame, "n_email_click_30d", rows)
    opens = _num(frame, "n_email_open_30d", rows)
    clicked, opened = (_filled(clicks) != 0).tolist(), (_filled(opens) != 0).tolist()
    return [
        f"clicked {_times(c, 'email link')} in 30 days"
        if has_click
        else f"opened {_times(o, 'email')} in the last 30 days"
        if has_open
        else "no email opened or clicked in the last 30 days"
        for c, o, has_click, has_open in zip(_ints(clicks), _ints(opens), clicked, opened, strict=True)
    ]


def _days_ago(whole: int) -> str:
    """'today', '1 day ago', '12 days ago'."""
    return "today" if whole <= 0 else _times(whole, "day") + " ago"


def _recency_text(frame: Table, rows: np.ndarray) -> list[str]:
    days = _num(frame, "days_since_last_activity", rows)
    return [
        "no recorded activity"
        if missing
        else f"no activity for {whole} days"
        if old
        else "last activity " + _days_ago(whole)
        for whole, missing, old in zip(
            _rounded(days), np.isnan(days).tolist(), (days >= 60).tolist(), strict=True
        )
    ]


def _high_intent_recency_text(frame: Table, rows: np.ndarray) -> list[str]:
    days = _num(frame, "days_since_last_high_intent", rows)
    return [
        "never visited pricing or asked for a demo"
        if missing
        else "last pricing visit or demo request " + _days_ago(whole)
        for whole, missing in zip(_rounded(days), np.isnan(days).tolist(), strict=True)
    ]


HIGHLIGHTS = (
    ("demo_request", "demo request", "demo requests"),
    ("pricing_page", "pricing-page visit", "pricing-page visits"),
    ("case_study", "case study", "case studies"),
    ("webinar", "webinar", "webinars"),
)


def _engagement_text(frame: Table, rows: np.ndarray) -> list[str]:
    """'active on 19 days in the last 90, picking up this week (6 pricing-page visits in 7 days)'."""
    days = _ints(_num(frame, "active_days_90d", rows))
    velocity = _filled(_num(frame, "velocity_7_30", rows))
    counts = _filled(np.column_stack([_num(frame, f"n_{a}_7d", rows) for a, _, _ in HIGHLIGHTS]))
    top = counts.argmax(axis=1)  # the first of the most frequent
    highlight_n = counts.max(axis=1).astype(int)
    out = []
    for d, v, k, n in zip(days, velocity.tolist(), top.tolist(), highlight_n.tolist(), strict=True):
        active = (
            "no activity in the last 90 days" if d == 0 else f"active on {_times(d, 'day')} in the last 90"
        )
        trend = ", picking up this week" if v >= 1 else "" if v > 0 else ", quiet this week"
        _, one, many = HIGHLIGHTS[k]
        highlight = f" ({n} {one if n == 1 else many} in 7 days)" if n > 0 else ""
        out.append(active + trend + highlight)
    return out


def _unsubscribe_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [
        "unsubscribed from emails" if flag else "still subscribed to emails"
        for flag in _yes(frame, "unsubscribed", rows).tolist()
    ]


def _size_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [f"company size {band} employees" for band in _str(frame, "employee_band", rows)]


def _revenue_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [f"annual revenue band {band}" for band in _str(frame, "revenue_band", rows)]


def _geo_text(frame: Table, rows: np.ndarray) -> list[str]:
    countries, regions = _str(frame, "country", rows), _str(frame, "region", rows)
    return [f"based in {c} ({r.replace('_', ' ')})" for c, r in zip(countries, regions, strict=True)]


def _tech_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [
        f"uses {n} of the tools in the ICP" if n > 0 else "uses none of the tools in the ICP"
        for n in _ints(_num(frame, "tech_overlap_count", rows))
    ]


def _persona_text(frame: Table, rows: np.ndarray) -> list[str]:
    return ["seniority: " + v.replace("_", " ") for v in _str(frame, "seniority", rows)]


DOMAIN_WORDS = {
    "business": "business email address",
    "free": "free email address",
    "competitor": "competitor email domain",
}


def _domain_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [DOMAIN_WORDS.get(kind, "email domain unknown") for kind in _str(frame, "email_domain_type", rows)]


def _plain(prefix: str, column: str) -> Text:
    return lambda frame, rows: [prefix + v.replace("_", " ") for v in _str(frame, column, rows)]


def _years_text(frame: Table, rows: np.ndarray) -> list[str]:
    years = _num(frame, "company_age_years", rows)
    return [
        # company_age_years comes from accounts.founded_year only (never from the CRM record's created_at)
        "founding year unknown" if missing else f"company founded {_times(whole, 'year')} ago"
        for whole, missing in zip(_rounded(years), np.isnan(years).tolist(), strict=True)
    ]


def _month_text(frame: Table, rows: np.ndarray) -> list[str]:
    months = _rounded(_num(frame, "month_of_year", rows))
    return [f"time of year: {calendar.month_name[m]}" if 1 <= m <= 12 else "time of year" for m in months]


def _lead_age_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [f"lead created {whole} days ago" for whole in _rounded(_num(frame, "lead_age_days", rows))]


def _duplicate_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [
        "duplicate of an earlier lead" if flag else "first lead with this email"
        for flag in _yes(frame, "is_duplicate", rows).tolist()
    ]


# concept -> (feature-name test, sentence); the first concept whose test matches a feature owns it.
CONCEPTS: tuple[tuple[str, Callable[[str], bool], Text], ...] = (
    (
        "pricing page",
        lambda f: f.startswith("n_pricing_page_"),
        _activity_text(
            "pricing_page", "visited the pricing page", "no pricing-page visit in the last 90 days"
        ),
    ),
    (
        "demo requests",
        lambda f: f.startswith("n_demo_request_"),
        _activity_text("demo_request", "requested a demo", "no demo request in the last 90 days"),
    ),
    (
        "case studies",
        lambda f: f.startswith("n_case_study_"),
        _activity_text("case_study", "read a case study", "no case study read in the last 90 days"),
    ),
    (
        "webinars",
        lambda f: f.startswith("n_webinar_"),
        _activity_text("webinar", "attended a webinar", "no webinar in the last 90 days"),
    ),
    (
        "blog",
        lambda f: f.startswith("n_blog_"),
        _activity_text("blog", "read the blog", "no blog reading in the last 90 days"),
    ),
    ("email engagement", lambda f: f.startswith(("n_email_open_", "n_email_click_")), _email_text),
    (
        "careers page",
        lambda f: f.startswith("n_careers_page_"),
        _activity_text("careers_page", "visited the careers page", "no careers-page visit"),
    ),
    ("unsubscribed", lambda f: f.startswith("n_unsubscribe_") or f == "unsubscribed", _unsubscribe_text),
    ("recency", lambda f: f in ("days_since_last_activity", "inactive_60d"), _recency_text),
    ("high-intent recency", lambda f: f == "days_since_last_high_intent", _high_intent_recency_text),
    (
        "engagement",
        lambda f: (
            f.startswith("n_activities_") or f in ("engagement_score", "velocity_7_30", "active_days_90d")
        ),
        _engagement_text,
    ),
    ("industry", lambda f: f == "industry", _plain("industry: ", "industry")),
    ("company size", lambda f: f in ("employee_count", "employee_band"), _size_text),
    ("revenue", lambda f: f in ("annual_revenue", "revenue_band"), _revenue_text),
    ("geography", lambda f: f in ("country", "region"), _geo_text),
    ("tech stack", lambda f: f.startswith("tech_"), _tech_text),
    ("seniority", lambda f: f == "seniority", _persona_text),
    ("department", lambda f: f == "department", _plain("department: ", "department")),
    ("email domain", lambda f: f == "email_domain_type", _domain_text),
    ("lead source", lambda f: f == "lead_source", _plain("came in through ", "lead_source")),
    ("company age", lambda f: f == "company_age_years", _years_text),
    ("lead age", lambda f: f == "lead_age_days", _lead_age_text),
    ("time of year", lambda f: f == "month_of_year", _month_text),
    ("duplicate", lambda f: f == "is_duplicate", _duplicate_text),
)


def concept_of(feature: str) -> str:
    """The business concept a feature belongs to (its own name when no concept claims it)."""
    for name, test, _ in CONCEPTS:
        if test(feature):
            return name
    return feature


class _Layout(NamedTuple):
    features: pd.Index  # the feature names
    concepts: pd.Index  # the concepts, in order of first appearance among the features
    positions: np.ndarray  # per concept its features' positions, left-padded with len(features) (a zero)


@lru_cache(maxsize=32)
def _concept_layout(feature_names: tuple[str, ...]) -> _Layout:
    """Which features sum into which concept; computed once per list of feature names."""
    concepts = [concept_of(f) for f in feature_names]
    names = list(dict.fromkeys(concepts))
    members = [[i for i, c in enumerate(concepts) if c == name] for name in names]
    width = max((len(m) for m in members), default=0)
    pad = len(feature_names)
    positions = np.array([[pad] * (width - len(m)) + m for m in members], dtype=np.intp)
    return _Layout(
        pd.Index(feature_names, dtype="str"),
        pd.Index(names, dtype="str"),
        positions.reshape(len(names), width),
    )


def _feature_values(contributions: pd.DataFrame, features: pd.Index) -> np.ndarray:
    """The features' contributions as floats, taken by position when the frame starts with the features
    (as the model's contributions do), which saves a column lookup per call."""
    values = contributions.to_numpy()
    if values.dtype == np.float64 and contributions.columns[: len(features)].equals(features):
        return values[:, : len(features)]
    return contributions[list(features)].to_numpy(dtype=float)


def _group_sums(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per row, the sum of values[:, positions[g]] for each group g, NaN counting as 0. Each row's sums depend
    on that row alone, so a lead gets the same reasons scored alone or in a batch. One group at a time: a
    rows x groups x members array would cost gigabytes on a large batch."""
    padded = np.concatenate([values, np.zeros((len(values), 1))], axis=1)
    sums = np.empty((len(values), len(positions)))
    for g, members in enumerate(positions):
        sums[:, g] = np.nansum(padded[:, members], axis=1)
    return sums


def concept_contributions(contributions: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """Contributions summed per concept (columns: concepts in order of first appearance in `feature_names`,
    an unclaimed feature being its own concept)."""
    layout = _concept_layout(tuple(feature_names))
    sums = _group_sums(_feature_values(contributions, layout.features), layout.positions)
    return pd.DataFrame(sums, index=contributions.index, columns=layout.concepts.copy())


def concept_sums(values: np.ndarray, feature_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """concept_contributions of a contributions array whose first columns are `feature_names`: the sums and
    the concepts."""
    layout = _concept_layout(tuple(feature_names))
    return _group_sums(values[:, : len(feature_names)], layout.positions), layout.concepts.tolist()


_TEXTS: dict[str, Text] = {name: text for name, _, text in CONCEPTS}


def _sentences(frame: Table, concepts: np.ndarray, needed: np.ndarray) -> np.ndarray:
    """n_rows x n_concepts array of sentences, built only where `needed` (a reason is shown), else ""."""
    out = np.full(needed.shape, "", dtype=object)
    for j in np.flatnonzero(needed.any(axis=0)).tolist():
        rows = np.flatnonzero(needed[:, j])
        concept = concepts[j]
        text = _TEXTS.get(concept)
        out[rows, j] = text(frame, rows) if text is not None else concept.replace("_", " ")
    return out


def reason_texts(
    frame: Table,
    values: np.ndarray,
    concepts: list[str],
    positive: int = 3,
    negative: int = 2,
    min_abs: float = 0.02,
) -> np.ndarray:
    """The top `positive` and `negative` reasons per row, from the concept sums (rows x concepts), as
    '; '-joined sentences in an object array: rows x (reasons_positive, reasons_negative, reasons, the last
    as '+ ...; - ...').

    A concept counts only when its contribution is at least `min_abs` in log-odds, so that a reason is never
    a rounding error.
    """
    order = np.argsort(-values, axis=1, kind="stable")
    rows = np.arange(len(values))[:, None]
    ranked_values = values[rows, order]
    n_concepts = values.shape[1]
    shown = np.zeros_like(values, dtype=bool)  # only the sentences that will be shown are written
    shown_ranks = [
        *range(min(positive, n_concepts)),
        *range(n_concepts - min(negative, n_concepts), n_concepts),
    ]
    shown[rows, order[:, shown_ranks] if shown_ranks else order[:, :0]] = True
    sentences = _sentences(frame, np.array(concepts, dtype=object), shown)
    ranked_sentences = sentences[rows, order]
    n_positive, n_negative = min(positive, n_concepts), min(negative, n_concepts)
    kept_positive = np.where(ranked_values[:, :n_positive] >= min_abs, ranked_sentences[:, :n_positive], "")
    lowest_values, lowest_sentences = (
        ranked_values[:, ::-1][:, :n_negative],
        ranked_sentences[:, ::-1][:, :n_negative],
    )
    kept_negative = np.where(lowest_values <= -min_abs, lowest_sentences, "")
    return np.array(
        [_reason_texts(p, n) for p, n in zip(kept_positive.tolist(), kept_negative.tolist(), strict=True)],
        dtype=object,
    ).reshape(len(values), 3)


def _reason_texts(positive: list[str], negative: list[str]) -> tuple[str, str, str]:
    """'a; b', 'c' and '+ a; + b; - c' from one row's positive and negative sentences ('' = not shown)."""
    shown_positive = [s for s in positive if s]
    shown_negative = [s for s in negative if s]
    signed = [
        *(["+ " + "; + ".join(shown_positive)] if shown_positive else []),
        *(["- " + "; - ".join(shown_negative)] if shown_negative else []),
    ]
    return "; ".join(shown_positive), "; ".join(shown_negative), "; ".join(signed)


def join_nonempty(parts: Sequence[np.ndarray], sep: str, n: int) -> np.ndarray:
    """Join non-empty strings element-wise with `sep`."""
    out = np.full(n, "", dtype=object)
    for part in parts:
        if len(part) == 0:
            continue
        part = np.asarray(part, dtype=object)
        has = part != ""
        both = has & (out != "")
        out = np.where(both, out + sep + part, np.where(has, part, out))
    return out
