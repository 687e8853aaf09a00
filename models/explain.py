"""Reasons a sales rep understands, from TreeSHAP contributions and the lead's own values.

Features of one concept (the pricing page over 7, 30 and 90 days, say) are summed into one contribution, so
a reason speaks of the pricing page once. Each concept has a sentence built from the lead's values, the same
sentence whether the concept pushed the score up or down; the sign decides whether it is listed among the
positive or the negative reasons. Everything is vectorised over rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

Text = Callable[[pd.DataFrame], pd.Series]


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def _str(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("unknown", index=frame.index, dtype="str")
    return frame[column].astype("str").where(frame[column].notna(), "unknown")


def _count_words(n: pd.Series) -> pd.Series:
    """'1 time' / '3 times'."""
    n = n.fillna(0).astype(int)
    return n.astype(str) + np.where(n == 1, " time", " times")


def _activity_text(activity: str, phrase: str, absent: str) -> Text:
    """'visited the pricing page 3 times in the last 7 days', from the shortest window with activity."""

    def text(frame: pd.DataFrame) -> pd.Series:
        out = pd.Series(absent, index=frame.index, dtype="str")
        for window in (90, 30, 7):  # the shortest window with activity wins, so it is written last
            n = _num(frame, f"n_{activity}_{window}d")
            seen = n.fillna(0) > 0
            out = out.where(~seen, f"{phrase} " + _count_words(n) + f" in the last {window} days")
        return out

    return text


def _email_text(frame: pd.DataFrame) -> pd.Series:
    clicks = _num(frame, "n_email_click_30d").fillna(0)
    opens = _num(frame, "n_email_open_30d").fillna(0)
    out = pd.Series("no email opened or clicked in the last 30 days", index=frame.index, dtype="str")
    out = out.where(
        opens == 0, "opened " + _count_words(opens).str.replace("time", "email") + " in the last 30 days"
    )
    return out.where(
        clicks == 0, "clicked " + _count_words(clicks).str.replace("time", "email link") + " in 30 days"
    )


def _days_ago(days: pd.Series) -> pd.Series:
    """'today', '1 day ago', '12 days ago'."""
    whole = days.fillna(0).round().astype(int)
    text = whole.astype(str) + np.where(whole == 1, " day ago", " days ago")
    return text.where(whole > 0, "today")


def _recency_text(frame: pd.DataFrame) -> pd.Series:
    days = _num(frame, "days_since_last_activity")
    whole = days.fillna(0).round().astype(int).astype(str)
    out = pd.Series("no recorded activity", index=frame.index, dtype="str")
    out = out.where(days.isna(), "last activity " + _days_ago(days))
    return out.where(~(days >= 60), "no activity for " + whole + " days")


def _high_intent_recency_text(frame: pd.DataFrame) -> pd.Series:
    days = _num(frame, "days_since_last_high_intent")
    out = pd.Series("never visited pricing or asked for a demo", index=frame.index, dtype="str")
    return out.where(days.isna(), "last pricing visit or demo request " + _days_ago(days))


HIGHLIGHTS = (
    ("demo_request", "demo request", "demo requests"),
    ("pricing_page", "pricing-page visit", "pricing-page visits"),
    ("case_study", "case study", "case studies"),
    ("webinar", "webinar", "webinars"),
)


def _engagement_text(frame: pd.DataFrame) -> pd.Series:
    """'active on 19 days in the last 90, picking up this week (6 pricing-page visits in 7 days)'."""
    days = _num(frame, "active_days_90d").fillna(0).astype(int).astype(str)
    velocity = _num(frame, "velocity_7_30").fillna(0)
    trend = np.where(velocity >= 1, ", picking up this week", np.where(velocity > 0, "", ", quiet this week"))
    counts = pd.concat([_num(frame, f"n_{a}_7d").fillna(0).rename(a) for a, _, _ in HIGHLIGHTS], axis=1)
    top = counts.to_numpy().argmax(axis=1)
    n = counts.to_numpy()[np.arange(len(frame)), top].astype(int)
    one = np.asarray([words for _, words, _ in HIGHLIGHTS], dtype=object)[top]
    many = np.asarray([words for _, _, words in HIGHLIGHTS], dtype=object)[top]
    label = np.where(n == 1, one, many)
    highlight = np.where(n > 0, " (" + n.astype(str) + " " + label + " in 7 days)", "")
    active = np.where(
        days == "0", "no activity in the last 90 days", "active on " + days + " days in the last 90"
    )
    active = np.where(days == "1", "active on 1 day in the last 90", active)
    return pd.Series(active + trend + highlight, index=frame.index, dtype="str")


def _unsubscribe_text(frame: pd.DataFrame) -> pd.Series:
    flag = frame["unsubscribed"].astype(bool) if "unsubscribed" in frame.columns else False
    return pd.Series(
        np.where(flag, "unsubscribed from emails", "still subscribed to emails"), index=frame.index
    )


def _size_text(frame: pd.DataFrame) -> pd.Series:
    return "company size " + _str(frame, "employee_band") + " employees"


def _revenue_text(frame: pd.DataFrame) -> pd.Series:
    return "annual revenue band " + _str(frame, "revenue_band")


def _geo_text(frame: pd.DataFrame) -> pd.Series:
    return "based in " + _str(frame, "country") + " (" + _str(frame, "region").str.replace("_", " ") + ")"


def _tech_text(frame: pd.DataFrame) -> pd.Series:
    n = _num(frame, "tech_overlap_count").fillna(0).astype(int)
    return pd.Series(
        np.where(
            n > 0, "uses " + n.astype(str) + " of the tools in the ICP", "uses none of the tools in the ICP"
        ),
        index=frame.index,
    )


def _persona_text(frame: pd.DataFrame) -> pd.Series:
    return "seniority: " + _str(frame, "seniority").str.replace("_", " ")


def _domain_text(frame: pd.DataFrame) -> pd.Series:
    kind = _str(frame, "email_domain_type")
    words = {
        "business": "business email address",
        "free": "free email address",
        "competitor": "competitor email domain",
    }
    return kind.map(words).fillna("email domain unknown").astype("str")


def _plain(prefix: str, column: str) -> Text:
    return lambda frame: prefix + _str(frame, column).str.replace("_", " ")


def _years_text(frame: pd.DataFrame) -> pd.Series:
    years = _num(frame, "company_age_years")
    return pd.Series(
        np.where(
            years.isna(),
            "company age unknown",
            "company founded " + years.fillna(0).round().astype(int).astype(str) + " years ago",
        ),
        index=frame.index,
    )


def _lead_age_text(frame: pd.DataFrame) -> pd.Series:
    return (
        "lead created " + _num(frame, "lead_age_days").fillna(0).round().astype(int).astype(str) + " days ago"
    )


def _duplicate_text(frame: pd.DataFrame) -> pd.Series:
    flag = frame["is_duplicate"].astype(bool) if "is_duplicate" in frame.columns else False
    return pd.Series(
        np.where(flag, "duplicate of an earlier lead", "first lead with this email"), index=frame.index
    )


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
    ("duplicate", lambda f: f == "is_duplicate", _duplicate_text),
)


def concept_of(feature: str) -> str:
    """The business concept a feature belongs to (its own name when no concept claims it)."""
    for name, test, _ in CONCEPTS:
        if test(feature):
            return name
    return feature


def concept_contributions(contributions: pd.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """Contributions summed per concept (columns: concepts, in CONCEPTS order then the unclaimed features)."""
    concepts = pd.Series([concept_of(f) for f in feature_names], index=list(feature_names))
    summed = contributions[list(feature_names)].T.groupby(concepts.to_numpy(), sort=False).sum().T
    return summed


def _sentences(frame: pd.DataFrame, concepts: Sequence[str], needed: np.ndarray) -> np.ndarray:
    """n_rows x n_concepts array of sentences, built only where `needed` (a reason is shown), else ""."""
    texts = {name: text for name, _, text in CONCEPTS}
    out = np.full((len(frame), len(concepts)), "", dtype=object)
    for j, concept in enumerate(concepts):
        rows = np.flatnonzero(needed[:, j])
        if len(rows) == 0:
            continue
        if concept in texts:
            out[rows, j] = texts[concept](frame.iloc[rows]).astype("str").to_numpy(dtype=object)
        else:
            out[rows, j] = concept.replace("_", " ")
    return out


def top_reasons(
    frame: pd.DataFrame, by_concept: pd.DataFrame, positive: int = 3, negative: int = 2, min_abs: float = 0.02
) -> pd.DataFrame:
    """The top `positive` and `negative` reasons per row, as '; '-joined sentences.

    A concept counts only when its contribution is at least `min_abs` in log-odds, so that a reason is never
    a rounding error. Columns: reasons_positive, reasons_negative, reasons ('+ ...; - ...').
    """
    values = by_concept.to_numpy(dtype=float)
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
    sentences = _sentences(frame, list(by_concept.columns), shown)
    ranked_sentences = sentences[rows, order]
    pos = [
        _join(ranked_sentences[:, k], ranked_values[:, k] >= min_abs)
        for k in range(min(positive, values.shape[1]))
    ]
    neg = [
        _join(ranked_sentences[:, -1 - k], ranked_values[:, -1 - k] <= -min_abs)
        for k in range(min(negative, values.shape[1]))
    ]
    positive_text = _combine(pos, "; ", len(frame))
    negative_text = _combine(neg, "; ", len(frame))
    both = _combine([_prefix(pos, "+ "), _prefix(neg, "- ")], "; ", len(frame))
    return pd.DataFrame(
        {"reasons_positive": positive_text, "reasons_negative": negative_text, "reasons": both},
        index=frame.index,
    )


def _join(sentences: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return np.where(keep, sentences, "")


def _prefix(parts: list[np.ndarray], sign: str) -> np.ndarray:
    if not parts:
        return np.array([], dtype=object)
    joined = _combine(parts, "; " + sign, len(parts[0]))
    return np.where(joined == "", "", sign + joined.astype(object))


def _combine(parts: Sequence[np.ndarray], sep: str, n: int) -> np.ndarray:
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
