"""The ICP guardrail: fit tier A/B/C from the ideal customer profile, and hard disqualification rules.

Pure functions over the feature frame (see features/build.py). The guardrail outranks the model: a
disqualified lead keeps its model score, but `guard_grade` and `guarded_rank_score` keep it out of the top
grade and below every qualified lead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.config import ExtraRule, ICPConfig
from features.vocab import DISQUALIFY_REASONS

FIT_TIERS = ("A", "B", "C")
GRADES = ("A", "B", "C", "D")
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
_SHARE_TOLERANCE = 1e-9  # so that 4 of 5 equal weights meets a 0.8 threshold despite float rounding


def apply_icp(features: pd.DataFrame, icp: ICPConfig) -> pd.DataFrame:
    """Fit tier and disqualification for every row of a feature frame.

    Returns a frame with the same index and the columns fit_tier (A/B/C), icp_fit_share (0..1, share of the
    criteria weight met), disqualified (bool), disqualify_reasons (";"-joined codes in DISQUALIFY_REASONS
    order, "" when qualified) and disqualify_detail (the rules that fired, in words, "; "-joined).
    A missing value never meets a criterion and never fires a rule.
    """
    _require_columns(features, REQUIRED_COLUMNS + tuple(rule.feature for rule in icp.extra_rules))
    share = fit_share(features, icp)
    tier = fit_tier_from_share(share, icp)
    reasons, detail = _disqualification(features, icp)
    return pd.DataFrame(
        {
            "fit_tier": tier,
            "icp_fit_share": share,
            "disqualified": reasons != "",
            "disqualify_reasons": reasons,
            "disqualify_detail": detail,
        },
        index=features.index,
    )


def with_icp_columns(features: pd.DataFrame, icp: ICPConfig) -> pd.DataFrame:
    """The feature frame with the apply_icp columns added (replacing them if already present)."""
    icp_columns = apply_icp(features, icp)
    return pd.concat([features.drop(columns=list(icp_columns.columns), errors="ignore"), icp_columns], axis=1)


def criteria_met(features: pd.DataFrame, icp: ICPConfig) -> pd.DataFrame:
    """Whether each lead meets each ICP criterion and each criterion extra rule (column "rule:<name>")."""
    low_emp, high_emp = icp.employee_range
    low_rev, high_rev = icp.revenue_range
    met = {
        "industry": _lower(features["industry"]).isin(icp.target_industries),
        "employee_range": _numeric(features["employee_count"]).between(low_emp, high_emp),
        "revenue_range": _numeric(features["annual_revenue"]).between(low_rev, high_rev),
        "geography": in_served_market(features, icp),
        "tech": _numeric(features["tech_overlap_count"]) >= 1,
        "persona": _lower(features["seniority"]).isin(icp.target_seniorities),
    }
    for rule in icp.extra_rules:
        if rule.action == "criterion":
            met[f"rule:{rule.name}"] = rule_condition(features[rule.feature], rule)
    return pd.DataFrame(met, index=features.index).astype(bool)


def fit_share(features: pd.DataFrame, icp: ICPConfig) -> pd.Series:
    """Share (0..1) of the total criteria weight that the lead meets."""
    met = criteria_met(features, icp)
    weights = dict(icp.criterion_weights)
    weights.update({f"rule:{r.name}": r.weight for r in icp.extra_rules if r.action == "criterion"})
    weight_vector = pd.Series(weights)[met.columns].to_numpy(dtype=float)
    share = met.to_numpy(dtype=float) @ weight_vector / weight_vector.sum()
    return pd.Series(share, index=features.index, name="icp_fit_share")


def fit_tier_from_share(share: pd.Series, icp: ICPConfig) -> pd.Series:
    """A if share >= tier_a_min_share, B if >= tier_b_min_share, else C."""
    tier = np.select(
        [share >= icp.tier_a_min_share - _SHARE_TOLERANCE, share >= icp.tier_b_min_share - _SHARE_TOLERANCE],
        ["A", "B"],
        default="C",
    )
    return pd.Series(tier, index=share.index, dtype="str", name="fit_tier")


def in_served_market(features: pd.DataFrame, icp: ICPConfig) -> pd.Series:
    """True when the lead's country is in served_countries or its region in served_regions."""
    country = features["country"].astype("str").str.strip().str.upper()
    return (country.isin(icp.served_countries) | _lower(features["region"]).isin(icp.served_regions)).astype(
        bool
    )


def rule_condition(column: pd.Series, rule: ExtraRule) -> pd.Series:
    """Whether each value meets `<feature> <op> <value>`; missing values never do."""
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


def _disqualification(features: pd.DataFrame, icp: ICPConfig) -> tuple[pd.Series, pd.Series]:
    """The ";"-joined reason codes and the "; "-joined words of the hard rules that fired."""
    rules = _hard_rules(features, icp)
    code_bits = np.zeros(len(features), dtype=np.int64)
    detail = np.full(len(features), "", dtype=object)
    for code, fired, words in rules:
        code_bits |= fired.astype(np.int64) << DISQUALIFY_REASONS.index(code)
        rows = np.flatnonzero(fired)
        if rows.size:  # words are built only for the rows the rule fired on
            text = _as_text(words(fired), rows.size)
            so_far = detail[rows]
            detail[rows] = np.where(so_far == "", text, so_far + "; " + text)
    # Few distinct code combinations exist: join the codes once per combination, then broadcast.
    combinations, which = np.unique(code_bits, return_inverse=True)
    joined = [";".join(c for i, c in enumerate(DISQUALIFY_REASONS) if bits >> i & 1) for bits in combinations]
    reasons = pd.Categorical.from_codes(which.reshape(-1), categories=pd.Index(joined, dtype="str"))
    return (
        pd.Series(reasons, index=features.index, name="disqualify_reasons").astype("str"),
        pd.Series(detail, index=features.index, dtype="str", name="disqualify_detail"),
    )


Words = Callable[[np.ndarray], "pd.Series | str"]


def _hard_rules(features: pd.DataFrame, icp: ICPConfig) -> list[tuple[str, np.ndarray, Words]]:
    """(reason code, fired mask, words for the fired rows) per hard rule; built-in rules come first."""
    domain_type = _lower(features["email_domain_type"])
    seniority = _lower(features["seniority"])
    email_domain = _email_domain(features)
    country = features["country"].astype("str").str.strip().str.upper()
    has_country = features["country"].notna() & (country != "")

    rules: list[tuple[str, pd.Series, Words]] = [
        (
            "competitor",
            domain_type == "competitor",
            _domain_words(
                email_domain, "email domain {} is a competitor", "email or company domain is a competitor's"
            ),
        ),
        (
            "wrong_persona",
            seniority.isin(icp.excluded_personas),
            lambda m: (
                "job title reads as "
                + seniority[m].str.replace("_", " ", regex=False)
                + ", an excluded persona"
            ),
        ),
    ]
    if icp.disqualify_free_email:
        rules.append(
            (
                "free_email",
                domain_type == "free",
                _domain_words(email_domain, "email domain {} is a free email provider", "free email address"),
            )
        )
    if icp.disqualify_outside_geography:
        region = _lower(features["region"])
        rules.append(
            (
                "outside_geography",
                has_country & ~in_served_market(features, icp),
                lambda m: (
                    "country "
                    + country[m]
                    + " ("
                    + region[m].fillna("unknown region").str.replace("_", " ", regex=False)
                    + ") is outside the served geography"
                ),
            )
        )
    rules += [
        (
            "duplicate",
            _flag(features["is_duplicate"]),
            lambda m: "duplicate of an earlier lead with the same email",
        ),
        ("unsubscribed", _flag(features["unsubscribed"]), lambda m: "unsubscribed from email"),
    ]
    for rule in icp.extra_rules:
        if rule.action == "disqualify":
            rules.append(
                (rule.reason, rule_condition(features[rule.feature], rule), _extra_rule_words(features, rule))
            )
    return [(code, fired.to_numpy(dtype=bool), words) for code, fired, words in rules]


def _domain_words(domain: pd.Series | None, template: str, fallback: str) -> Words:
    """Words naming the email domain where it is known, the fallback words elsewhere."""
    if domain is None:
        return lambda m: fallback
    before, after = template.split("{}")

    def words(mask: np.ndarray) -> pd.Series:
        fired = domain[mask]
        return (before + fired + after).where(fired.notna() & (fired != ""), fallback)

    return words


def _extra_rule_words(features: pd.DataFrame, rule: ExtraRule) -> Words:
    label = rule.description or f"rule {rule.name}: {rule.feature} {rule.op} {_show(rule.value)}"
    column = features[rule.feature]
    return lambda m: label + f" ({rule.feature} is " + column[m].astype("str") + ")"


def exclude_disqualified(frame: pd.DataFrame, icp: ICPConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Training rows without the disqualified ones, and how many were excluded per reason code.

    `frame` carries the apply_icp columns. Counts have every DISQUALIFY_REASONS code (0 when none) and
    "total"; a row with several reasons counts once under each and once in total. When
    icp.exclude_disqualified_in_training is False nothing is dropped, but the counts are still those that
    would have been excluded. The kept frame keeps the original index.
    """
    _require_columns(frame, ("disqualified", "disqualify_reasons"))
    disqualified = _flag(frame["disqualified"])
    counts = disqualify_reason_counts(frame.loc[disqualified, "disqualify_reasons"])
    kept = frame.loc[~disqualified] if icp.exclude_disqualified_in_training else frame
    return kept, counts


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


def guarded_rank_score(score: pd.Series, disqualified: pd.Series) -> pd.Series:
    """A sortable value: the score for qualified leads, score - 2 for disqualified ones.

    With scores being probabilities in [0, 1], every qualified lead sorts above every disqualified one and
    the order within each group is the score's order. Missing scores stay missing.
    """
    finite = score.dropna()
    if ((finite < 0) | (finite > 1)).any():
        raise ValueError("guarded_rank_score expects scores in [0, 1] (calibrated probabilities)")
    dq = _aligned_flag(disqualified, score.index)
    return score.astype(float).where(~dq, score - DISQUALIFIED_RANK_OFFSET).rename("rank_score")


def guard_grade(grade: pd.Series, disqualified: pd.Series) -> pd.Series:
    """The grade, with disqualified leads set to the lowest grade "D" (never the top grade)."""
    dq = _aligned_flag(disqualified, grade.index)
    return grade.astype("str").where(~dq, LOWEST_GRADE)


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


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"the ICP guardrail needs columns {missing}, missing from the frame")


def _lower(column: pd.Series) -> pd.Series:
    return column.astype("str").str.strip().str.lower()


def _numeric(column: pd.Series) -> pd.Series:
    return pd.to_numeric(column, errors="coerce").astype(float)


def _flag(column: pd.Series) -> pd.Series:
    """A boolean column with missing values read as False."""
    return column.astype("boolean").fillna(False).astype(bool)


def _aligned_flag(disqualified: pd.Series, index: pd.Index) -> pd.Series:
    """The disqualified flags on exactly this index: a misaligned flag must not quietly mean "qualified"."""
    if not disqualified.index.equals(index):
        raise ValueError("disqualified must have the same index as the scores or grades it guards")
    return _flag(disqualified)


def _email_domain(features: pd.DataFrame) -> pd.Series | None:
    if OPTIONAL_EMAIL_DOMAIN not in features.columns:
        return None
    return _lower(features[OPTIONAL_EMAIL_DOMAIN])


def _as_text(words: pd.Series | str, size: int) -> np.ndarray:
    if isinstance(words, str):
        return np.full(size, words, dtype=object)
    return words.astype("str").fillna("").to_numpy(dtype=object)


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
