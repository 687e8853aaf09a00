"""Reasons a sales rep understands, from TreeSHAP contributions and the lead's own values.

Features that tell of one thing (the pricing page over 7, 30 and 90 days, or every measure of activity) are
summed into one reason concept, so a reason speaks of it once. A concept's words depend on the sign of its
contribution: as good news it says what the lead did ("visited the pricing page 3 times in the last 7
days"), as bad news what is missing ("no pricing-page visit or demo request for 40 days", "only 1 active
day in the last 90"); where nothing true reads as the sign (an absence that raised a score, say "no blog
reading") the reason is not shown and the next concept takes its place. A reason needs a minimum
contribution, a larger one when it tells of an absence. Contributions are summed with numpy over all rows;
sentences are written only for the candidates, from those rows' values, so one lead costs little and a
batch stays fast.
"""

from __future__ import annotations

import calendar
import re
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


Phrase = tuple[
    str, bool
]  # (sentence, whether it tells of an absence); "" where nothing true agrees with the sign
Words = Callable[[Table, np.ndarray, bool], list[Phrase]]  # (features, row positions, raised the score)

FEW = 2  # at most this many of a wanted activity reads as "only N" when it lowered a score


def _shortest(frame: Table, activity: str, rows: np.ndarray) -> tuple[list[int], list[int]]:
    """Per row, the count of `activity` in the shortest window with any (7, 30 or 90 days) and that window
    (0, 0 where none in 90 days)."""
    counts, windows = [0] * len(rows), [0] * len(rows)
    for window in (90, 30, 7):  # the shortest window with activity wins, so it is written last
        n = _num(frame, f"n_{activity}_{window}d", rows)
        whole = _ints(n)
        for i in np.flatnonzero(n > 0).tolist():
            counts[i], windows[i] = whole[i], window
    return counts, windows


def _wanted(activity: str, done: str, unit: str, absent: str) -> Words:
    """An activity that reads as interest. Raising the score: 'read a case study 2 times in the last 30 days'.
    Lowering it: its absence, or 'only 1 case study read in the last 90 days' (at most FEW of them; more of
    an activity that reads as interest cannot honestly be worded as bad news, so it is not shown)."""

    def words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
        if up:
            counts, windows = _shortest(frame, activity, rows)
            return [
                (f"{done} {_times(n)} in the last {w} days", False) if n > 0 else ("", False)
                for n, w in zip(counts, windows, strict=True)
            ]
        return [
            (absent, True)
            if n == 0
            else (f"only {_times(n, unit)} in the last 90 days", False)
            if n <= FEW
            else ("", False)
            for n in _ints(_num(frame, f"n_{activity}_90d", rows))
        ]

    return words


def _careers_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    """Careers-page visits are what job seekers do: as bad news the visits, as good news their absence."""
    counts, windows = _shortest(frame, "careers_page", rows)
    if up:
        none = "no sign of job hunting (no careers-page visit in the last 90 days)"
        return [(none, True) if n == 0 else ("", False) for n in counts]
    return [
        (f"visited the careers page {_times(n)} in the last {w} days, as job seekers do", False)
        if n > 0
        else ("", False)
        for n, w in zip(counts, windows, strict=True)
    ]


def _email_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    clicks = _num(frame, "n_email_click_30d", rows)
    opens = _num(frame, "n_email_open_30d", rows)
    clicked, opened = (_filled(clicks) != 0).tolist(), (_filled(opens) != 0).tolist()
    out: list[Phrase] = []
    for c, o, has_click, has_open in zip(_ints(clicks), _ints(opens), clicked, opened, strict=True):
        if up:
            out.append(
                (f"clicked {_times(c, 'email link')} in 30 days", False)
                if has_click
                else (f"opened {_times(o, 'email')} in the last 30 days", False)
                if has_open
                else ("", False)
            )
        else:
            out.append(
                ("no email opened or clicked in the last 30 days", True)
                if not (has_click or has_open)
                else (f"only {_times(o, 'email')} opened in the last 30 days", False)
                if not has_click and o <= FEW
                else ("", False)
            )
    return out


def _days_ago(whole: int) -> str:
    """'today', '1 day ago', '12 days ago'."""
    return "today" if whole <= 0 else _times(whole, "day") + " ago"


def _activity_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    """All activity together (recency, active days, trend, counts): one concept, so a lead never hears both
    'no activity for 300 days' and 'no activity in the last 90 days'. Good news: 'active on 19 days in the
    last 90, picking up this week'; bad news: 'no recorded activity', 'no activity for 12 days', 'only 1
    active day in the last 90'."""
    days = _num(frame, "days_since_last_activity", rows)
    active = _ints(_num(frame, "active_days_90d", rows))
    velocity = _filled(_num(frame, "velocity_7_30", rows)).tolist()
    out: list[Phrase] = []
    for d, whole, missing, a, v in zip(
        days.tolist(), _rounded(days), np.isnan(days).tolist(), active, velocity, strict=True
    ):
        if up:
            trend = (
                ", picking up this week" if v >= 1 else f", last active {_days_ago(whole)}" if d < 7 else ""
            )
            out.append(
                (f"active on {_times(a, 'day')} in the last 90{trend}", False) if a > 0 else ("", False)
            )
        elif missing:
            out.append(("no recorded activity", True))
        elif d >= 7:
            out.append((f"no activity for {whole} days", True))
        else:
            out.append((f"only {_times(a, 'active day')} in the last 90", False) if a <= FEW else ("", False))
    return out


def _buying_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    """Demo requests, pricing-page visits and the days since the last of either: one concept, so a lead never
    hears 'never visited pricing or asked for a demo' beside 'no pricing-page visit in the last 90 days'."""
    last = _num(frame, "days_since_last_high_intent", rows)
    if up:
        demos, demo_windows = _shortest(frame, "demo_request", rows)
        visits, visit_windows = _shortest(frame, "pricing_page", rows)
        out: list[Phrase] = []
        for d, dw, p, pw, whole, missing in zip(
            demos, demo_windows, visits, visit_windows, _rounded(last), np.isnan(last).tolist(), strict=True
        ):
            parts = (
                [
                    f"requested a demo {_times(d)} and visited the pricing page {_times(p)} in the last {dw} days"
                ]
                if d > 0 and p > 0 and dw == pw
                else [
                    *([f"requested a demo {_times(d)} in the last {dw} days"] if d > 0 else []),
                    *([f"visited the pricing page {_times(p)} in the last {pw} days"] if p > 0 else []),
                ]
            )
            out.append(
                (" and ".join(parts), False)
                if parts
                else ("", False)
                if missing
                else (f"visited pricing or asked for a demo {_days_ago(whole)}", False)
            )
        return out
    demo_90d = _filled(_num(frame, "n_demo_request_90d", rows)).tolist()
    # Unless the lead did something else at least a week after its last pricing visit or demo request,
    # "no activity for 40 days" says it already.
    since_any = _filled(_num(frame, "days_since_last_activity", rows))
    other_activity_since = (last - since_any) >= 7
    return [
        ("never visited pricing or asked for a demo", True)
        if missing
        else (f"no pricing-page visit or demo request for {whole} days", True)
        if d >= 30 and other
        else ("no demo request in the last 90 days", True)
        if demos == 0
        else ("", False)
        for d, whole, missing, demos, other in zip(
            last.tolist(),
            _rounded(last),
            np.isnan(last).tolist(),
            demo_90d,
            other_activity_since.tolist(),
            strict=True,
        )
    ]


def _unsubscribe_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    flags = _yes(frame, "unsubscribed", rows) | (_filled(_num(frame, "n_unsubscribe_90d", rows)) > 0)
    if up:
        return [("", False) if flag else ("still subscribed to emails", True) for flag in flags.tolist()]
    return [("unsubscribed from emails", False) if flag else ("", False) for flag in flags.tolist()]


def _tech_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    counts = _ints(_num(frame, "tech_overlap_count", rows))
    if up:
        return [(f"uses {n} of the tools in the ICP", False) if n > 0 else ("", False) for n in counts]
    return [
        ("uses none of the tools in the ICP", True)
        if n == 0
        else (f"uses only {n} of the tools in the ICP", False)
        if n <= FEW
        else ("", False)
        for n in counts
    ]


DOMAIN_WORDS = {
    "business": "business email address",
    "free": "free email address",
    "competitor": "competitor email domain",
}


def _domain_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    """A business address as good news; a free or competitor address, or none known, as bad news."""
    kinds = _str(frame, "email_domain_type", rows)
    return [
        (DOMAIN_WORDS.get(kind, "email domain unknown"), False) if (kind == "business") == up else ("", False)
        for kind in kinds
    ]


def _duplicate_words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
    flags = _yes(frame, "is_duplicate", rows).tolist()
    if up:
        return [("", False) if flag else ("first lead with this email", True) for flag in flags]
    return [("duplicate of an earlier lead", False) if flag else ("", False) for flag in flags]


def _size_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [
        "company size unknown" if band == "unknown" else f"company size {band} employees"
        for band in _str(frame, "employee_band", rows)
    ]


def _revenue_text(frame: Table, rows: np.ndarray) -> list[str]:
    return [f"annual revenue band {band}" for band in _str(frame, "revenue_band", rows)]


def _geo_text(frame: Table, rows: np.ndarray) -> list[str]:
    countries, regions = _str(frame, "country", rows), _str(frame, "region", rows)
    return [f"based in {c} ({r.replace('_', ' ')})" for c, r in zip(countries, regions, strict=True)]


def _persona_text(frame: Table, rows: np.ndarray) -> list[str]:
    return ["seniority: " + v.replace("_", " ") for v in _str(frame, "seniority", rows)]


def _plain(prefix: str, column: str) -> Text:
    return lambda frame, rows: [prefix + in_reason(v.replace("_", " ")) for v in _str(frame, column, rows)]


def in_reason(text: str) -> str:
    """A value from the data as a reason says it: reasons are joined with "; " and read back by splitting on it
    (the card's example leads, the CRM export's cut at a whole reason), so a level "health; beauty" reads
    "health, beauty" rather than becoming a second reason."""
    return text.replace(";", ",")


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
    days = _num(frame, "lead_age_days", rows)
    return [
        "lead creation date unknown" if missing else f"lead created {whole} days ago"
        for whole, missing in zip(_rounded(days), np.isnan(days).tolist(), strict=True)
    ]


def _fact(text: Text) -> Words:
    """A fact about the lead (its industry, size, age) read the same either way: the model learned whether it
    goes with more or fewer wins. An unknown value is only ever bad news (missing information), an absence."""

    def words(frame: Table, rows: np.ndarray, up: bool) -> list[Phrase]:
        return [
            (("", False) if up else (s, True)) if "unknown" in s else (s, False) for s in text(frame, rows)
        ]

    return words


# concept -> feature-name test; the first concept whose test matches a feature owns it. These are the
# concepts of the card's importance table; reasons merge some of them (REASON_CONCEPTS).
CONCEPTS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("pricing page", lambda f: f.startswith("n_pricing_page_")),
    ("demo requests", lambda f: f.startswith("n_demo_request_")),
    ("case studies", lambda f: f.startswith("n_case_study_")),
    ("webinars", lambda f: f.startswith("n_webinar_")),
    ("blog", lambda f: f.startswith("n_blog_")),
    ("email engagement", lambda f: f.startswith(("n_email_open_", "n_email_click_"))),
    ("careers page", lambda f: f.startswith("n_careers_page_")),
    ("unsubscribed", lambda f: f.startswith("n_unsubscribe_") or f == "unsubscribed"),
    ("recency", lambda f: f in ("days_since_last_activity", "inactive_60d")),
    ("high-intent recency", lambda f: f == "days_since_last_high_intent"),
    (
        "engagement",
        lambda f: (
            f.startswith("n_activities_") or f in ("engagement_score", "velocity_7_30", "active_days_90d")
        ),
    ),
    ("industry", lambda f: f == "industry"),
    ("company size", lambda f: f in ("employee_count", "employee_band")),
    ("revenue", lambda f: f in ("annual_revenue", "revenue_band")),
    ("geography", lambda f: f in ("country", "region")),
    ("tech stack", lambda f: f.startswith("tech_")),
    ("seniority", lambda f: f == "seniority"),
    ("department", lambda f: f == "department"),
    ("email domain", lambda f: f == "email_domain_type"),
    ("lead source", lambda f: f == "lead_source"),
    ("company age", lambda f: f == "company_age_years"),
    ("lead age", lambda f: f == "lead_age_days"),
    ("time of year", lambda f: f == "month_of_year"),
    ("duplicate", lambda f: f == "is_duplicate"),
)

# Concepts that tell of one thing and so give one reason: their contributions are summed.
REASON_CONCEPTS = {
    "recency": "activity",
    "engagement": "activity",
    "pricing page": "pricing and demo",
    "demo requests": "pricing and demo",
    "high-intent recency": "pricing and demo",
}

# Concepts of one kind of activity: for a lead with no activity in the last 90 days their absences are one
# fact, told once by "activity" ("no activity for 200 days") with their contributions added to it.
ACTIVITY_KINDS = ("pricing and demo", "case studies", "webinars", "blog", "email engagement", "careers page")

# reason concept -> its words, as good news (it raised the score) and as bad news (it lowered it)
WORDS: dict[str, Words] = {
    "pricing and demo": _buying_words,
    "case studies": _wanted(
        "case_study", "read a case study", "case study read", "no case study read in the last 90 days"
    ),
    "webinars": _wanted("webinar", "attended a webinar", "webinar", "no webinar in the last 90 days"),
    "blog": _wanted("blog", "read the blog", "blog visit", "no blog reading in the last 90 days"),
    "email engagement": _email_words,
    "careers page": _careers_words,
    "unsubscribed": _unsubscribe_words,
    "activity": _activity_words,
    "industry": _fact(_plain("industry: ", "industry")),
    "company size": _fact(_size_text),
    "revenue": _fact(_revenue_text),
    "geography": _fact(_geo_text),
    "tech stack": _tech_words,
    "seniority": _fact(_persona_text),
    "department": _fact(_plain("department: ", "department")),
    "email domain": _domain_words,
    "lead source": _fact(_plain("came in through ", "lead_source")),
    "company age": _fact(_years_text),
    "lead age": _fact(_lead_age_text),
    "time of year": _fact(_month_text),
    "duplicate": _duplicate_words,
}

# reason concept -> (what good news starts with, what bad news says): a reason's words must read as its
# sign, which reason_texts checks for every sentence it shows (and the tests check against the sentences).
# A concept without good words states a fact that reads either way; "unknown" is bad news for every concept.
_NO = r"^(no |only |never )"
SIGN_WORDS: dict[str, tuple[str | None, str]] = {
    "pricing and demo": (r"^(requested a demo|visited the pricing page|visited pricing)", _NO),
    "activity": (r"^active on", _NO + r"|quiet"),
    "case studies": (r"^read a case study", _NO),
    "webinars": (r"^attended a webinar", _NO),
    "blog": (r"^read the blog", _NO),
    "email engagement": (r"^(clicked|opened) ", _NO),
    "careers page": (r"^no sign of job hunting", r"^visited the careers page"),
    "unsubscribed": (r"^still subscribed", r"^unsubscribed"),
    "tech stack": (r"^uses \d+ of", r"^uses (none|only)"),
    "email domain": (r"^business", r"^(free|competitor)"),
    "duplicate": (r"^first lead", r"^duplicate"),
}


@lru_cache(maxsize=4096)  # a batch repeats the same few hundred sentences
def reads_as(concept: str, sentence: str, up: bool) -> bool:
    """Whether `sentence` of `concept` reads as good news (`up`) or bad news: never the other's words, and
    a concept with words for good news must use them."""
    good, bad = SIGN_WORDS.get(concept, (None, r"$^"))
    says_good = good is not None and re.search(good, sentence) is not None
    says_bad = re.search(bad, sentence) is not None or "unknown" in sentence
    if up:
        return not says_bad and (says_good or good is None)
    return not says_good and (says_bad or good is None)


def concept_of(feature: str) -> str:
    """The business concept a feature belongs to (its own name when no concept claims it)."""
    for name, test in CONCEPTS:
        if test(feature):
            return name
    return feature


def reason_concept_of(feature: str) -> str:
    """The concept a feature speaks for in reasons: concept_of, with the concepts that tell of one thing
    merged (recency and engagement are "activity")."""
    concept = concept_of(feature)
    return REASON_CONCEPTS.get(concept, concept)


class _Layout(NamedTuple):
    features: pd.Index  # the feature names
    concepts: pd.Index  # the concepts, in order of first appearance among the features
    positions: np.ndarray  # per concept its features' positions, left-padded with len(features) (a zero)
    names: tuple[str, ...]  # the concepts as plain strings (an Index of text is slow to list on every call)


@lru_cache(maxsize=32)
def _concept_layout(feature_names: tuple[str, ...], for_reasons: bool = False) -> _Layout:
    """Which features sum into which concept (reason concepts `for_reasons`); computed once per list of
    feature names."""
    concept = reason_concept_of if for_reasons else concept_of
    concepts = [concept(f) for f in feature_names]
    names = list(dict.fromkeys(concepts))
    members = [[i for i, c in enumerate(concepts) if c == name] for name in names]
    width = max((len(m) for m in members), default=0)
    pad = len(feature_names)
    positions = np.array([[pad] * (width - len(m)) + m for m in members], dtype=np.intp)
    return _Layout(
        pd.Index(feature_names, dtype="str"),
        pd.Index(names, dtype="str"),
        positions.reshape(len(names), width),
        tuple(names),
    )


def _feature_values(contributions: pd.DataFrame, features: pd.Index) -> np.ndarray:
    """The features' contributions as floats, taken by position when the frame starts with the features
    (as the model's contributions do), which saves a column lookup per call."""
    values = contributions.to_numpy()
    if values.dtype == np.float64 and contributions.columns[: len(features)].equals(features):
        return values[:, : len(features)]
    return contributions[list(features)].to_numpy(dtype=float)


# Rows summed at once: a rows x groups x members array of a whole large batch would cost gigabytes.
ROW_BLOCK = 4096


def _group_sums(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per row, the sum of values[:, positions[g]] for each group g, NaN counting as 0: all groups at once, a
    block of rows at a time. Each sum adds its members one after another (a running sum), so a row's sums
    depend on that row alone and a lead gets the same reasons scored alone or in a batch (numpy's row sums
    add eight or more numbers in another order for one row than for many)."""
    n, width = len(values), positions.shape[1]
    padded = np.zeros((n, values.shape[1] + 1))
    np.copyto(padded[:, :-1], values, where=~np.isnan(values))
    if width == 0:
        return np.zeros((n, len(positions)))
    sums = np.empty((n, len(positions)))
    for start in range(0, n, ROW_BLOCK):
        members = padded[start : start + ROW_BLOCK][:, positions]
        sums[start : start + ROW_BLOCK] = np.cumsum(members, axis=2)[:, :, -1]
    return sums


def concept_contributions(contributions: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """Contributions summed per concept (columns: concepts in order of first appearance in `feature_names`,
    an unclaimed feature being its own concept)."""
    layout = _concept_layout(tuple(feature_names))
    sums = _group_sums(_feature_values(contributions, layout.features), layout.positions)
    return pd.DataFrame(sums, index=contributions.index, columns=layout.concepts.copy())


def concept_sums(values: np.ndarray, feature_names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Contributions summed per reason concept (reason_concept_of), of a contributions array whose first
    columns are `feature_names`: the sums and the concepts."""
    layout = _concept_layout(tuple(feature_names), for_reasons=True)
    return _group_sums(values[:, : len(feature_names)], layout.positions), list(layout.names)


class Chosen(NamedTuple):
    """The reasons shown per row: `positive` slots (largest contribution first), then `negative` slots
    (most negative first); a slot with no reason has concept and text "" and value NaN."""

    concept: np.ndarray  # rows x slots, object
    text: np.ndarray  # rows x slots, object
    value: np.ndarray  # rows x slots, float: the concept's contribution (log-odds)


def _fallback(concept: str) -> Words:
    """A concept with no words of its own (a feature no concept claims): its name, read either way."""
    return lambda frame, rows, up: [(concept.replace("_", " "), False)] * len(rows)


def _side(
    frame: Table,
    values: np.ndarray,
    concepts: list[str],
    slots: int,
    up: bool,
    minimum: float,
    absence: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The reasons of one sign per row, strongest first: a concept counts when its contribution is at least
    `minimum` (`absence` for words that tell of an absence) and it has true words that read as its sign;
    a concept without such words leaves its place to the next. Words are written for the strongest
    candidates only, a round at a time: each row with open slots tries as many next candidates as it has
    slots open, all rows and concepts of a round together."""
    n, m = values.shape
    signed = values if up else -values
    order = np.argsort(-signed, axis=1, kind="stable")
    ranked = signed[np.arange(n)[:, None], order]
    eligible = (ranked >= minimum).sum(axis=1)  # ranked by strength: the eligible ranks come first
    texts = np.full((n, m), "", dtype=object)
    kept = np.zeros((n, m), dtype=bool)
    tried = np.zeros(n, dtype=np.intp)
    rank = np.arange(m)
    while slots > 0:
        wanted = np.minimum(slots - kept.sum(axis=1), eligible - tried)
        rows, ranks = np.nonzero((rank >= tried[:, None]) & (rank < (tried + wanted)[:, None]))
        if len(rows) == 0:
            break
        texts[rows, ranks], kept[rows, ranks] = _candidate_words(
            frame, rows, order[rows, ranks], ranked[rows, ranks] >= absence, concepts, up
        )
        tried += wanted
    return _in_slots(kept, texts, order, values, np.array(concepts, dtype=object), slots)


def _candidate_words(
    frame: Table, rows: np.ndarray, columns: np.ndarray, strong: np.ndarray, concepts: list[str], up: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's sentence (row `rows[i]`, concept `columns[i]`) and whether it is shown: true words
    that read as its sign, telling of an absence only when `strong` (at least the absence minimum)."""
    sentences = np.empty(len(rows), dtype=object)
    shown = np.empty(len(rows), dtype=bool)
    for j in set(columns.tolist()):  # one call per concept, for all its candidate rows
        at = np.flatnonzero(columns == j)
        name = concepts[j]
        phrases = WORDS.get(name, _fallback(name))(frame, rows[at], up)
        texts = [sentence for sentence, _ in phrases]
        absent = np.array([tells_of_absence for _, tells_of_absence in phrases], dtype=bool)
        reads = {sentence: reads_as(name, sentence, up) for sentence in set(texts)}  # a few hundred at most
        sentences[at] = texts
        shown[at] = (
            (sentences[at] != "") & (strong[at] | ~absent) & np.array([reads[t] for t in texts], dtype=bool)
        )
    return sentences, shown


def _in_slots(
    kept: np.ndarray, texts: np.ndarray, order: np.ndarray, values: np.ndarray, names: np.ndarray, slots: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concept, text and value per row and slot: the row's kept candidates (rows x ranks) in rank order."""
    n = len(kept)
    concept = np.full((n, slots), "", dtype=object)
    text = np.full((n, slots), "", dtype=object)
    value = np.full((n, slots), np.nan)
    rows, ranks = np.nonzero(kept)  # at most `slots` per row, in rank order
    at = np.cumsum(kept, axis=1)[rows, ranks] - 1
    columns = order[rows, ranks]
    concept[rows, at] = names[columns]
    text[rows, at] = texts[rows, ranks]
    value[rows, at] = values[rows, columns]
    return concept, text, value


def _dormant_as_one(frame: Table, values: np.ndarray, concepts: list[str]) -> np.ndarray:
    """The concept sums with, on rows with no activity in the last 90 days, every ACTIVITY_KINDS concept
    added into "activity": "no recorded activity" says all their absences at once."""
    if "activity" not in concepts:
        return values
    kinds = [j for j, c in enumerate(concepts) if c in ACTIVITY_KINDS]
    days = _num(frame, "days_since_last_activity", np.arange(len(values)))
    dormant = np.flatnonzero(np.isnan(days) | (days >= 90))
    if not kinds or len(dormant) == 0:
        return values
    out = values.copy()
    activity = concepts.index("activity")
    # a running sum, one concept after another: a row's sum must not depend on the rows scored with it
    out[dormant, activity] = np.cumsum(values[dormant][:, [activity, *kinds]], axis=1)[:, -1]
    out[dormant[:, None], kinds] = 0.0
    return out


def choose_reasons(
    frame: Table,
    values: np.ndarray,
    concepts: list[str],
    positive: int = 3,
    negative: int = 2,
    min_abs: float = 0.05,
    min_absence: float = 0.1,
) -> Chosen:
    """Up to `positive` and `negative` reasons per row from the concept sums (rows x concepts): at most one
    per concept, each at least `min_abs` in log-odds (`min_absence` when its words tell of an absence), in
    words that read as its sign, ordered by the size of the contribution."""
    values = _dormant_as_one(frame, values, concepts)
    up = _side(frame, values, concepts, positive, True, min_abs, min_absence)
    down = _side(frame, values, concepts, negative, False, min_abs, min_absence)
    return Chosen(*(np.concatenate(pair, axis=1) for pair in zip(up, down, strict=True)))


def reason_texts(
    frame: Table,
    values: np.ndarray,
    concepts: list[str],
    positive: int = 3,
    negative: int = 2,
    min_abs: float = 0.05,
    min_absence: float = 0.1,
) -> np.ndarray:
    """choose_reasons as '; '-joined sentences in an object array: rows x (reasons_positive,
    reasons_negative, reasons), the last signed and ordered by the size of the contribution whatever its
    sign ('- no activity for 40 days; + came in through referral')."""
    chosen = choose_reasons(frame, values, concepts, positive, negative, min_abs, min_absence)
    n, texts = len(values), chosen.text
    signs = np.array(["+ "] * positive + ["- "] * negative, dtype=object)
    signed = np.where(texts != "", signs + texts, "")
    size = np.where(np.isnan(chosen.value), -np.inf, np.abs(chosen.value))
    by_size = np.take_along_axis(
        signed, np.argsort(-size, axis=1, kind="stable"), axis=1
    )  # a tie: plus first
    return np.column_stack(
        [
            _joined(texts[:, :positive], n),
            _joined(texts[:, positive:], n),
            _joined(by_size, n),
        ]
    )


def _joined(texts: np.ndarray, n: int) -> np.ndarray:
    """Each row's non-empty sentences joined with '; ', as an object array of n."""
    out = np.empty(n, dtype=object)
    out[:] = ["; ".join([t for t in row if t]) for row in texts.tolist()]
    return out


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
