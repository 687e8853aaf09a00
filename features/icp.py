"""The ICP guardrail: fit tier A/B/C from the ideal customer profile, and hard disqualification rules.

Pure functions over the feature frame (see features/build.py). The guardrail outranks the model: a
disqualified lead keeps its model score, but `guarded_grades` and `guarded_ranks` keep it out of the top
grade and below every qualified lead.

The same code serves one lead and millions: pandas charges per call, so the work is done on numpy arrays,
text once per distinct value, and the output frame is built once.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.config import ExtraRule, ICPConfig
from features.fit import UNKNOWN
from features.frames import Table, column_values, numbers
from features.text import TEXT, Text, cased, factorize_texts, stripped
from features.vocab import DISQUALIFY_REASONS

_NO_COUNTRY = UNKNOWN.upper()  # the fit features' missing country, in upper case as countries are compared

FIT_TIERS = ("A", "B", "C")
LOWEST_GRADE = "D"

# The feature columns the guardrail reads; `email_domain` is optional and only sharpens the words.
REQUIRED_COLUMNS = (
    "industry",
    "employee_count",
    "annual_revenue",
    "country",
    "region",
    "tech_overlap_count",
    "seniority",
    "email_domain_type",
    "is_duplicate",
    "unsubscribed",
)
OPTIONAL_EMAIL_DOMAIN = "email_domain"
# The text columns icp_columns reads (email_domain, with its many distinct values, is read on its own).
_TEXT_COLUMNS = ("industry", "seniority", "country", "region", "email_domain_type")

# Each reason code in words, for reports and the model card.
REASON_LABELS = {
    "competitor": "works for a competitor",
    "wrong_persona": "excluded persona (student, intern, job seeker)",
    "free_email": "free email provider",
    "outside_geography": "outside the served geography",
    "bad_fit": "bad fit (extra ICP rule)",
    "duplicate": "duplicate of an earlier lead",
    "unsubscribed": "unsubscribed",
}

# Disqualified leads rank at score - DISQUALIFIED_RANK_OFFSET: below every qualified probability in [0, 1].
DISQUALIFIED_RANK_OFFSET = 2.0
_NOT_PROBABILITIES = "guarded_ranks expects scores in [0, 1] (calibrated probabilities)"
_SHARE_TOLERANCE = 1e-9  # so that 4 of 5 equal weights meets a 0.8 threshold despite float rounding
# The ";"-joined reason codes of every combination of code bits (bit i: DISQUALIFY_REASONS[i]).
_JOINED_REASONS = np.array(
    [
        ";".join(code for i, code in enumerate(DISQUALIFY_REASONS) if bits >> i & 1)
        for bits in range(1 << len(DISQUALIFY_REASONS))
    ],
    dtype=object,
)


# The columns icp_columns gives (the guardrail's columns beside the features).
GUARDRAIL_COLUMNS = ("fit_tier", "icp_fit_share", "disqualified", "disqualify_reasons", "disqualify_detail")


def icp_columns(features: Table, icp: ICPConfig) -> dict[str, np.ndarray]:
    """Fit tier and disqualification for every row of the features.

    The columns: fit_tier (A/B/C), icp_fit_share (0..1, share of the criteria weight met), disqualified
    (bool), disqualify_reasons (";"-joined codes in DISQUALIFY_REASONS order, "" when qualified) and
    disqualify_detail (the rules that fired, in words, "; "-joined). A missing value never meets a criterion
    and never fires a rule.
    """
    _require_columns(features, REQUIRED_COLUMNS)
    _require_rule_features(features, icp)
    columns = _Columns(features, texts=_TEXT_COLUMNS)
    met = _criteria(columns, icp)
    share = _share(met, icp)
    code_bits, detail = _disqualification(_hard_rules(columns, icp, met["geography"]), features.n_rows)
    return {
        "fit_tier": _tiers(share, icp),
        "icp_fit_share": share,
        "disqualified": code_bits != 0,
        "disqualify_reasons": _JOINED_REASONS[code_bits],
        "disqualify_detail": detail,
    }


class _Columns:
    """The feature columns, each read and normalised once: every pandas call costs, even on one row.

    The text columns named up front are read together, with one factorisation for all of them.
    """

    def __init__(self, features: Table, texts: tuple[str, ...] = ()) -> None:
        self.features = features
        self._read: dict[tuple[str, str], Any] = {}
        if texts:
            for name, text in zip(texts, _read_texts([self.raw(name) for name in texts]), strict=True):
                self._read["text", name] = text

    def raw(self, name: str) -> np.ndarray:
        """The column's values."""
        return self.features[name]

    def text(self, name: str) -> Text:
        return self._cached("text", name, lambda: _read_texts([self.raw(name)])[0])

    def lower(self, name: str) -> Text:
        """Like .astype("str").str.strip().str.lower()."""
        return self._cached("lower", name, lambda: _cased(self.text(name), upper=False))

    def upper(self, name: str) -> Text:
        """Like .astype("str").str.strip().str.upper()."""
        return self._cached("upper", name, lambda: _cased(self.text(name), upper=True))

    def numbers(self, name: str) -> np.ndarray:
        return self._cached("numbers", name, lambda: numbers(self.raw(name)))

    def flag(self, name: str) -> np.ndarray:
        return self._cached("flag", name, lambda: flags(self.raw(name)))

    def _cached(self, kind: str, name: str, read: Callable[[], Any]) -> Any:
        value = self._read.get((kind, name))
        if value is None:
            value = self._read[kind, name] = read()
        return value


def _criteria(columns: _Columns, icp: ICPConfig) -> dict[str, np.ndarray]:
    """Whether each row meets each criterion (and each criterion extra rule), as bool arrays."""
    low_emp, high_emp = icp.employee_range
    low_rev, high_rev = icp.revenue_range
    met = {
        "industry": _one_of_written_anyhow(columns.lower("industry"), icp.target_industries),
        "employee_range": _between(columns.numbers("employee_count"), low_emp, high_emp),
        "revenue_range": _between(columns.numbers("annual_revenue"), low_rev, high_rev),
        "geography": _served(columns, icp),
        "tech": columns.numbers("tech_overlap_count") >= 1,
        "persona": columns.lower("seniority").isin(icp.target_seniorities),
    }
    for rule in icp.extra_rules:
        if rule.action == "criterion":
            met[f"rule:{rule.name}"] = _rule_hits(columns.raw(rule.feature), rule)
    return met


def _one_of_written_anyhow(text: Text, allowed: tuple[str, ...]) -> np.ndarray:
    """Whether each row's text is one of `allowed` written with other blanks or punctuation between its words:
    a CRM's "Healthcare IT" or "E-Commerce" is the ICP's healthcare_it or ecommerce (they never met it)."""
    keys = {_words_key(word) for word in allowed}
    return text.per_row([_words_key(t) in keys for t in text.texts], False, bool)


def _words_key(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _share(met: dict[str, np.ndarray], icp: ICPConfig) -> np.ndarray:
    """Share of the criteria weight met per row."""
    weights = dict(icp.criterion_weights)
    weights.update({f"rule:{r.name}": r.weight for r in icp.extra_rules if r.action == "criterion"})
    weight_vector = np.array([weights[name] for name in met], dtype=float)
    # Rows x criteria in column-major order, like DataFrame.to_numpy gives it: the same float sums, bit for bit.
    matrix = np.array(list(met.values()), dtype=float).T
    return matrix @ weight_vector / weight_vector.sum()


def _tiers(share: np.ndarray, icp: ICPConfig) -> np.ndarray:
    tier_a = share >= icp.tier_a_min_share - _SHARE_TOLERANCE
    tier_b = share >= icp.tier_b_min_share - _SHARE_TOLERANCE
    return np.array(FIT_TIERS, dtype=object)[np.where(tier_a, 0, np.where(tier_b, 1, 2))]


def _served(columns: _Columns, icp: ICPConfig) -> np.ndarray:
    return columns.upper("country").isin(icp.served_countries) | columns.lower("region").isin(
        icp.served_regions
    )


_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_TEXT_TESTS: dict[str, Callable[[str, Any], bool]] = {
    "in": lambda text, value: text in value,
    "not_in": lambda text, value: text not in value,
    "==": operator.eq,
    "!=": operator.ne,
}


def _rule_hits(column: np.ndarray, rule: ExtraRule) -> np.ndarray:
    """Whether each value meets `<feature> <op> <value>`; missing values never do.

    Text columns tested against text and number columns compared with a number are done once per distinct
    text or with numpy; every other combination goes through pandas, whose type rules decide.
    """
    value = rule.value
    members = value if isinstance(value, tuple) else (value,)
    is_text = column.dtype == object
    if is_text and rule.op in _TEXT_TESTS and all(isinstance(v, str) for v in members):
        # Without case or surrounding spaces, as the ICP's lists: features write industries lower case and
        # countries upper case, so "Government" or [us] would never have matched (and != always).
        text = _cased(_read_texts([column])[0], upper=False)
        folded = tuple(str(v).strip().lower() for v in members)
        wanted = folded if isinstance(value, tuple) else folded[0]
        test = _TEXT_TESTS[rule.op]
        return text.per_row([test(t, wanted) for t in text.texts], False, bool)
    is_number_column = column.dtype.kind in "biuf"
    if is_number_column and rule.op in _COMPARISONS and not isinstance(value, str | tuple):
        return _COMPARISONS[rule.op](column, value) & ~pd.isna(column)
    return _pandas_rule_condition(pd.Series(column, copy=False), rule).to_numpy(dtype=bool)


def _pandas_rule_condition(column: pd.Series, rule: ExtraRule) -> pd.Series:
    value = rule.value
    members = list(value) if isinstance(value, tuple) else [value]
    try:
        if rule.op == "in":
            hit = column.isin(members)
        elif rule.op == "not_in":
            hit = ~column.isin(members)
        elif rule.op == "==":
            hit = column == value
        elif rule.op == "!=":
            hit = column != value
        elif rule.op == ">":
            hit = column > value
        elif rule.op == ">=":
            hit = column >= value
        elif rule.op == "<":
            hit = column < value
        else:
            hit = column <= value
    except TypeError as error:
        raise ValueError(
            f"extra rule {rule.name!r}: cannot compare column {rule.feature!r} ({column.dtype}) "
            f"{rule.op} {value!r}: {error}"
        ) from error
    return (hit.fillna(False).astype(bool) & column.notna()).astype(bool)


# The words of a hard rule for the rows it fired on (their positions), one text per row.
Words = Callable[[np.ndarray], np.ndarray]


def _disqualification(
    rules: list[tuple[str, np.ndarray, Words]], n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the bits of the reason codes (bit i: DISQUALIFY_REASONS[i]) and the "; "-joined words."""
    fired = np.array([mask for _, mask, _ in rules], dtype=bool)  # rules x rows
    bits = np.array([1 << DISQUALIFY_REASONS.index(code) for code, _, _ in rules], dtype=np.int64)
    code_bits = np.bitwise_or.reduce(fired * bits[:, np.newaxis], axis=0)
    detail = np.full(n_rows, "", dtype=object)
    for i in np.flatnonzero(fired.any(axis=1)):  # words only for the rules that fired, on their rows
        _, _, words = rules[i]
        rows = np.flatnonzero(fired[i])
        text = words(rows)
        so_far = detail[rows]
        detail[rows] = np.where(so_far == "", text, so_far + "; " + text)
    return code_bits, detail


def _hard_rules(
    columns: _Columns, icp: ICPConfig, in_market: np.ndarray
) -> list[tuple[str, np.ndarray, Words]]:
    """(reason code, fired mask, words for the fired rows) per hard rule; built-in rules come first.

    `in_market` is the geography criterion (see _served), already at hand.
    """
    domain_type = columns.lower("email_domain_type")
    seniority = columns.lower("seniority")
    email_domain = columns.lower(OPTIONAL_EMAIL_DOMAIN) if OPTIONAL_EMAIL_DOMAIN in columns.features else None

    def persona_words(rows: np.ndarray) -> np.ndarray:
        words = [f"job title reads as {s.replace('_', ' ')}, an excluded persona" for s in seniority.texts]
        return seniority.per_row(words, "", rows=rows)

    rules: list[tuple[str, np.ndarray, Words]] = [
        (
            "competitor",
            domain_type.isin(("competitor",)),
            _domain_words(
                email_domain, "email domain {} is a competitor", "email or company domain is a competitor's"
            ),
        ),
        ("wrong_persona", seniority.isin(icp.excluded_personas), persona_words),
    ]
    if icp.disqualify_free_email:
        rules.append(
            (
                "free_email",
                domain_type.isin(("free",)),
                _domain_words(email_domain, "email domain {} is a free email provider", "free email address"),
            )
        )
    if icp.disqualify_outside_geography:
        country = columns.upper("country")
        region = columns.lower("region")
        # the fit features write a missing country (empty, or a placeholder such as "n/a") as "unknown": no
        # country, never a country outside the geography (every lead without one was disqualified)
        has_country = country.per_row([text not in ("", _NO_COUNTRY) for text in country.texts], False, bool)

        def geography_words(rows: np.ndarray) -> np.ndarray:
            country_words = country.per_row([f"country {c} (" for c in country.texts], "", rows=rows)
            region_words = region.per_row(
                [f"{r.replace('_', ' ')}) is outside the served geography" for r in region.texts],
                "unknown region) is outside the served geography",
                rows=rows,
            )
            return country_words + region_words

        rules.append(("outside_geography", has_country & ~in_market, geography_words))
    rules += [
        (
            "duplicate",
            columns.flag("is_duplicate"),
            _same_words("duplicate of an earlier lead with the same email"),
        ),
        ("unsubscribed", columns.flag("unsubscribed"), _same_words("unsubscribed from email")),
    ]
    for rule in icp.extra_rules:
        if rule.action == "disqualify":
            column = columns.raw(rule.feature)
            rules.append((rule.reason, _rule_hits(column, rule), _extra_rule_words(column, rule)))
    return rules


def _same_words(words: str) -> Words:
    return lambda rows: np.full(rows.size, words, dtype=object)


def _domain_words(domain: Text | None, template: str, fallback: str) -> Words:
    """Words naming the email domain where it is known, the fallback words elsewhere."""
    if domain is None:
        return _same_words(fallback)
    words = [template.format(d) if d != "" else fallback for d in domain.texts]
    return lambda rows: domain.per_row(words, fallback, rows=rows)


def _extra_rule_words(column: Any, rule: ExtraRule) -> Words:
    label = rule.description or f"rule {rule.name}: {rule.feature} {rule.op} {_show(rule.value)}"
    before = label + f" ({rule.feature} is "
    return lambda rows: before + pd.Series(column[rows]).astype(TEXT).to_numpy(dtype=object) + ")"


def exclude_disqualified(frame: pd.DataFrame, icp: ICPConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Training rows without the disqualified ones, and how many were excluded per reason code.

    `frame` carries the icp_columns columns. Counts have every DISQUALIFY_REASONS code (0 when none) and
    "total"; a row with several reasons counts once under each and once in total. When
    icp.exclude_disqualified_in_training is False nothing is dropped, but the counts are still those that
    would have been excluded. The kept frame keeps the original index.
    """
    _require_columns(frame, ("disqualified", "disqualify_reasons"))
    disqualified = flags(column_values(frame["disqualified"]))
    counts = disqualify_reason_counts(frame.loc[disqualified, "disqualify_reasons"])
    kept = frame.loc[~disqualified] if icp.exclude_disqualified_in_training else frame
    return kept, counts


# What to check when a reason disqualifies most wins ({where}: where this run's icp settings live).
REASON_FIXES = {
    "competitor": "check icp.competitor_domains in {where}: it lists domains the customers write from",
    "wrong_persona": "check icp.excluded_personas in {where}: the customers hold those titles",
    "free_email": (
        "remove the customers' providers from icp.free_email_domains, or set icp.disqualify_free_email: false, "
        "in {where}"
    ),
    "outside_geography": (
        "set icp.served_countries and icp.served_regions in {where} to the market the company sells to (or "
        "icp.disqualify_outside_geography: false)"
    ),
    "bad_fit": "check icp.extra_rules in {where}: a rule disqualifies most customers",
    "duplicate": "check how the leads table marks duplicates: most won leads are marked as duplicates",
    "unsubscribed": "check the unsubscribe activities: most won leads have one",
}


def won_disqualified_sentence(frame: pd.DataFrame, icp: ICPConfig, where: str) -> str | None:
    """Why training stops when the hard rules disqualify more than icp.max_won_disqualified_share of the won
    rows (`frame` has outcome, disqualified and disqualify_reasons), else None. `where` says where the icp
    settings of this run live (the config, or an export spec's icp: section)."""
    _require_columns(frame, ("outcome", "disqualified", "disqualify_reasons"))
    won = frame["outcome"].to_numpy() == "won"
    disqualified = flags(column_values(frame["disqualified"]))
    counts = disqualify_reason_counts(frame.loc[won & disqualified, "disqualify_reasons"])
    n_won = int(won.sum())
    if n_won == 0 or counts["total"] <= icp.max_won_disqualified_share * n_won:
        return None
    top = max(DISQUALIFY_REASONS, key=lambda code: counts[code])
    limit = icp.max_won_disqualified_share
    return (
        f"the ICP guardrail disqualifies {counts['total']:,} of the {n_won:,} won leads "
        f"({counts['total'] / n_won:.0%}), above icp.max_won_disqualified_share ({limit:.0%}): "
        "rules that call most of the customers won bad leads would leave the model few customers to learn "
        f"from and grade leads like them D; {counts[top]:,} of them for {top} ({REASON_LABELS[top]}): "
        + REASON_FIXES[top].format(where=where)
        + ", or --set icp.max_won_disqualified_share=1 to train anyway"
    )


def disqualify_reason_counts(reasons: pd.Series) -> dict[str, int]:
    """Rows per reason code (every code, 0 when absent) and "total" rows with any reason."""
    per_combination = reasons.fillna("").astype("str").value_counts()  # few distinct combinations
    counts = dict.fromkeys(DISQUALIFY_REASONS, 0)
    for combination, rows in per_combination.items():
        for code in filter(None, str(combination).split(";")):
            if code not in counts:
                raise ValueError(f"unknown disqualify reason code {code!r}")
            counts[code] += int(rows)
    counts["total"] = int(per_combination.drop("", errors="ignore").sum())
    return counts


def excluded_counts_frame(counts: dict[str, int]) -> pd.DataFrame:
    """The excluded counts as a table (reason, label, excluded): every code in order, then the total."""
    unknown = set(counts) - set(DISQUALIFY_REASONS) - {"total"}
    if unknown:
        raise ValueError(f"unknown disqualify reason codes {sorted(unknown)}")
    reasons = [*DISQUALIFY_REASONS, "total"]
    return pd.DataFrame(
        {
            "reason": pd.Series(reasons, dtype="str"),
            "label": pd.Series([REASON_LABELS.get(r, "any reason") for r in reasons], dtype="str"),
            "excluded": [int(counts.get(r, 0)) for r in reasons],
        }
    )


def guarded_ranks(score: np.ndarray, disqualified: np.ndarray) -> np.ndarray:
    """A sortable value: the score for qualified leads, score - 2 for disqualified ones.

    With scores being probabilities in [0, 1], every qualified lead sorts above every disqualified one and
    the order within each group is the score's order. Missing scores stay missing.
    """
    if not _in_unit_interval(score):
        raise ValueError(_NOT_PROBABILITIES)
    return np.where(disqualified, score - DISQUALIFIED_RANK_OFFSET, score)


def guarded_grades(grade: np.ndarray, disqualified: np.ndarray) -> np.ndarray:
    """The grades, with disqualified leads set to the lowest grade "D" (never the top grade)."""
    return np.where(disqualified, LOWEST_GRADE, grade)


def win_rate_by_tier(frame: pd.DataFrame) -> pd.DataFrame:
    """Closed deals, won deals and win rate per fit tier (A, B, C always present; open deals ignored).

    `frame` has fit_tier and outcome (won/lost/open). win_rate is NaN for a tier without closed deals.
    """
    _require_columns(frame, ("fit_tier", "outcome"))
    outcome = frame["outcome"].astype("str")
    closed = frame.loc[outcome.isin(("won", "lost"))]
    grouped = (
        pd.DataFrame({"fit_tier": closed["fit_tier"].astype("str"), "won": outcome[closed.index] == "won"})
        .groupby("fit_tier")["won"]
        .agg(["size", "sum"])
        .reindex(list(FIT_TIERS), fill_value=0)
    )
    table = pd.DataFrame(
        {
            "fit_tier": pd.Series(FIT_TIERS, dtype="str"),
            "closed_deals": grouped["size"].to_numpy(dtype=int),
            "won": grouped["sum"].to_numpy(dtype=int),
        }
    )
    closed_deals = table["closed_deals"].replace(0, np.nan)
    table["win_rate"] = (table["won"] / closed_deals).astype(float)
    return table


class ICPRuleError(ValueError):
    """An extra ICP rule reads a feature the frame does not have (a setting to fix, not a defect of the code)."""


def _require_rule_features(features: Table, icp: ICPConfig) -> None:
    unknown = {rule.name: rule.feature for rule in icp.extra_rules if rule.feature not in features}
    if unknown:
        known = [c for c in features if c not in ("lead_id", "snapshot_at", "deal_id")]
        rules = ", ".join(f"rule {name!r} reads {feature!r}" for name, feature in unknown.items())
        raise ICPRuleError(
            f"setting icp.extra_rules: the ICP guardrail needs columns {list(dict.fromkeys(unknown.values()))} "
            f"({rules}), which are no feature columns; known: {known}; fix the rule's feature"
        )


def _require_columns(frame: Table, columns: tuple[str, ...]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame]
    if missing:
        raise ValueError(f"the ICP guardrail needs columns {missing}, missing from the frame")


def _read_texts(columns: list[np.ndarray]) -> list[Text]:
    """Text columns factorised together (they share the distinct texts); a column of another kind is read as
    astype("str") reads it."""
    arrays = [values if values.dtype == object else _as_text(values) for values in columns]
    codes, distinct = factorize_texts(np.concatenate(arrays))  # missing values get code -1
    return [Text(part, distinct) for part in codes.reshape(len(arrays), len(arrays[0]))]


def _cased(text: Text, upper: bool) -> Text:
    """The texts stripped and lower (or upper) cased, as pandas' .str.strip().str.lower() does."""
    return Text(text.codes, cased(stripped(text.texts), upper))


def _between(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return (values >= low) & (values <= high)


def flags(values: np.ndarray) -> np.ndarray:
    """Boolean values with missing values read as False."""
    if values.dtype == np.dtype(bool):
        return values
    return pd.Series(values, copy=False).astype("boolean").fillna(False).to_numpy(dtype=bool)


def _as_text(values: np.ndarray) -> np.ndarray:
    return column_values(pd.Series(values, copy=False).astype(TEXT))


def _in_unit_interval(score: np.ndarray) -> bool:
    return not np.any((score < 0) | (score > 1))  # NaN compares False: missing scores pass


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
