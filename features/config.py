"""Typed configuration of the feature pipelines and the ICP guardrail (values live in YAML)."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from features.countries import alpha2, region_by_country
from features.domains import listed_domain
from features.text import composed
from features.vocab import ACTIVITY_TYPES, DISQUALIFY_REASONS

# A weight: a finite number (an infinite one makes every share inf / inf, not a number: no tier at all).
Weight = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _no_nan(self) -> Any:
        """NaN (YAML's .nan, the text "nan") compares false with everything, so a range, cut point or rule
        value holding it passed every check and then matched nothing, or everything, silently."""
        for name, value in self:
            if _has_nan(value):
                raise ValueError(f"{name} holds NaN (not a number); give a number")
        return self


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, tuple | list):
        return any(_has_nan(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    return False


# A domain name: labels of letters (in any script), digits and hyphens, joined by dots.
_DOMAIN_NAME = re.compile(r"[^\W_](?:[\w\-]*[^\W_])?(?:\.[^\W_](?:[\w\-]*[^\W_])?)+")


def _country_codes(values: tuple[str, ...], name: str) -> tuple[str, ...]:
    """Alpha-2 codes of countries written as codes or names ("USA", "Germany" as the data contract reads
    them); a value that is no country is refused: it would never match a lead, silently."""
    codes = [alpha2(value) for value in values]
    unknown = [value for value, code in zip(values, codes, strict=True) if code is None]
    if unknown:
        raise ValueError(
            f"{name} names {unknown}, which are no countries; give ISO 3166 codes such as US, DE"
        )
    return tuple(str(code) for code in codes)


def _domain_names(values: tuple[str, ...], name: str) -> tuple[str, ...]:
    """The domains as the ICP rules compare them (features.domains.listed_domain: "@rivalscore.io" and
    "https://www.rivalscore.io/" are rivalscore.io); a value that is no domain is refused: an empty one met
    every lead, one with a space none."""
    domains = [listed_domain(value) for value in values]
    wrong = [
        value for value, domain in zip(values, domains, strict=True) if not _DOMAIN_NAME.fullmatch(domain)
    ]
    if wrong:
        raise ValueError(f"{name} names {wrong}, which are no domain names; write them as rivalscore.io")
    return tuple(domains)


class ActivityWeight(_Strict):
    """How much one activity counts in the engagement score, and how fast that fades."""

    weight: Weight
    half_life_days: float = Field(gt=0)


def _default_activity_weights() -> dict[str, ActivityWeight]:
    table = {
        "demo_request": (10.0, 30.0),
        "pricing_page": (5.0, 14.0),
        "case_study": (3.0, 30.0),
        "webinar": (3.0, 45.0),
        "blog": (1.0, 14.0),
        "email_click": (2.0, 14.0),
        "email_open": (0.5, 7.0),
        "careers_page": (-3.0, 30.0),
        "unsubscribe": (-10.0, 180.0),
    }
    return {name: ActivityWeight(weight=w, half_life_days=h) for name, (w, h) in table.items()}


class FeatureConfig(_Strict):
    """What the fit and intent features are built from."""

    windows_days: tuple[int, ...] = (7, 30, 90)
    activity_weights: dict[str, ActivityWeight] = Field(default_factory=_default_activity_weights)
    inactive_after_days: int = Field(60, ge=1)
    employee_band_edges: tuple[int, ...] = (1, 10, 50, 200, 1000, 5000)
    revenue_band_edges: tuple[float, ...] = (0.0, 1e6, 1e7, 5e7, 2.5e8, 1e9)
    # Every inhabited country's region (features.countries.REGION_COUNTRIES); a map given in YAML replaces it,
    # and a country it leaves out is in the region "other".
    region_by_country: dict[str, str] = Field(default_factory=region_by_country)
    exclude_features: tuple[str, ...] = ()  # names flagged by the leak audit that the user chose to drop

    @model_validator(mode="after")
    def _known_activities(self) -> FeatureConfig:
        unknown = set(self.activity_weights) - set(ACTIVITY_TYPES)
        if unknown:
            raise ValueError(f"activity_weights names unknown activity types: {sorted(unknown)}")
        # A window counted twice named two features alike (the model then refused its own input); a window of
        # 0 days or fewer counts nothing.
        if any(w < 1 for w in self.windows_days) or len(set(self.windows_days)) < len(self.windows_days):
            raise ValueError(
                f"windows_days must be whole days >= 1, each once; got {list(self.windows_days)}"
            )
        for name in ("employee_band_edges", "revenue_band_edges"):
            edges = getattr(self, name)
            if not edges or any(high <= low for low, high in zip(edges, edges[1:], strict=False)):
                # the bands are found by binary search: edges out of order put leads in the wrong band
                raise ValueError(f"{name} must be increasing cut points; got {list(edges)}")
        return self

    @field_validator("region_by_country", mode="after")
    @classmethod
    def _country_keys(cls, regions: dict[str, str]) -> dict[str, str]:
        codes = _country_codes(tuple(regions), "region_by_country")
        return dict(zip(codes, regions.values(), strict=True))


Op = Literal["==", "!=", ">", ">=", "<", "<=", "in", "not_in"]
_ORDERING_OPS = (">", ">=", "<", "<=")
_MEMBERSHIP_OPS = ("in", "not_in")

# Seniority levels the feature builder derives from job titles (see build_features); personas name these.
SENIORITY_LEVELS = (
    "c_level",
    "vp",
    "director",
    "manager",
    "individual_contributor",
    "student",
    "intern",
    "job_seeker",
    "unknown",
)
# The ICP criteria that set the fit tier; criterion_weights is keyed by these names.
ICP_CRITERIA = ("industry", "employee_range", "revenue_range", "geography", "tech", "persona")
# Columns written by the guardrail itself: extra rules may not read them.
ICP_OUTPUT_COLUMNS = ("fit_tier", "icp_fit_share", "disqualified", "disqualify_reasons", "disqualify_detail")


class ExtraRule(_Strict):
    """One extra ICP rule: a simple condition `<feature> <op> <value>` on a feature column.

    action "criterion": a lead meeting it earns `weight` towards its fit share.
    action "disqualify": a lead meeting it is disqualified with `reason` (a DISQUALIFY_REASONS code).
    A missing feature value never meets the condition (not even for "!=" or "not_in").
    """

    name: str = Field(min_length=1)
    feature: str = Field(min_length=1)
    op: Op
    value: float | bool | str | tuple[float, ...] | tuple[str, ...]
    action: Literal["disqualify", "criterion"] = "criterion"
    reason: str = "bad_fit"  # reason code when action == "disqualify"
    weight: Weight = Field(1.0, ge=0)  # weight when action == "criterion"
    description: str = ""  # the rule in words, used in disqualify_detail

    @model_validator(mode="after")
    def _consistent(self) -> ExtraRule:
        if self.reason not in DISQUALIFY_REASONS:
            raise ValueError(
                f"extra rule {self.name!r}: reason {self.reason!r} is not a disqualify reason code; "
                f"use one of {list(DISQUALIFY_REASONS)}"
            )
        if self.feature in ICP_OUTPUT_COLUMNS:
            raise ValueError(f"extra rule {self.name!r}: {self.feature!r} is an output of the guardrail")
        is_list = isinstance(self.value, tuple)
        if self.op in _MEMBERSHIP_OPS and not is_list:
            raise ValueError(f"extra rule {self.name!r}: op {self.op!r} needs a list, got {self.value!r}")
        if self.op not in _MEMBERSHIP_OPS and is_list:
            raise ValueError(f"extra rule {self.name!r}: op {self.op!r} needs a single value, got a list")
        if self.op in _ORDERING_OPS and (isinstance(self.value, bool) or not isinstance(self.value, float)):
            raise ValueError(f"extra rule {self.name!r}: op {self.op!r} needs a number, got {self.value!r}")
        return self


def _default_criterion_weights() -> dict[str, float]:
    return dict.fromkeys(ICP_CRITERIA, 1.0)


class ICPConfig(_Strict):
    """The ideal customer profile: criteria that set the fit tier, hard rules that disqualify.

    Domains, industries, tech, personas and regions are compared in lower case, countries in upper case
    (ISO 3166 alpha-2); the validator normalises them. pipelines/defaults/icp.yaml documents every field.
    """

    target_industries: tuple[str, ...] = ("software", "fintech", "ecommerce", "healthcare_it", "media")
    employee_range: tuple[int, int] = (50, 5000)  # inclusive
    revenue_range: tuple[float, float] = (5e6, 1e9)  # inclusive, USD
    served_regions: tuple[str, ...] = ("north_america", "europe")
    served_countries: tuple[str, ...] = ()  # in-market too, whatever their region
    desired_tech: tuple[str, ...] = ("salesforce", "hubspot", "segment", "snowflake", "marketo")
    free_email_domains: tuple[str, ...] = (
        "gmail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "aol.com",
        "icloud.com",
        "proton.me",
        "gmx.de",
        "mail.ru",
        "yandex.ru",
    )
    competitor_domains: tuple[str, ...] = ("rivalscore.io", "leadgenius.ai", "scoreforce.com")
    target_seniorities: tuple[str, ...] = ("c_level", "vp", "director", "manager")  # the persona criterion
    excluded_personas: tuple[str, ...] = ("student", "intern", "job_seeker")
    criterion_weights: dict[str, Weight] = Field(default_factory=_default_criterion_weights)
    tier_a_min_share: float = Field(0.8, ge=0, le=1)  # share of the criteria weight met for tier A
    tier_b_min_share: float = Field(0.5, ge=0, le=1)
    disqualify_free_email: bool = True
    disqualify_outside_geography: bool = True
    exclude_disqualified_in_training: bool = True
    # Training stops when the hard rules disqualify more than this share of the won deals: rules that call
    # most of the customers won bad leads are settings that do not describe the market (e.g. its countries).
    max_won_disqualified_share: float = Field(0.5, ge=0, le=1)
    extra_rules: tuple[ExtraRule, ...] = ()

    @field_validator(
        "target_industries",
        "served_regions",
        "desired_tech",
        "target_seniorities",
        "excluded_personas",
        mode="after",
    )
    @classmethod
    def _lower(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        # As the data's levels read them (composed): "Santé" typed with a combining accent meets "Santé".
        return tuple(composed(v).strip().lower() for v in values)

    @field_validator("served_countries", mode="after")
    @classmethod
    def _upper(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _country_codes(values, "served_countries")

    @field_validator("free_email_domains", "competitor_domains", mode="after")
    @classmethod
    def _domains(cls, values: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        return _domain_names(values, str(info.field_name))

    @field_validator("criterion_weights", mode="after")
    @classmethod
    def _weights(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = set(weights) - set(ICP_CRITERIA)
        if unknown:
            raise ValueError(
                f"criterion_weights names unknown criteria {sorted(unknown)}; known: {list(ICP_CRITERIA)}"
            )
        negative = sorted(k for k, w in weights.items() if w < 0)
        if negative:
            raise ValueError(f"criterion_weights must be >= 0; negative for {negative}")
        # A criterion left out keeps its default weight 1.0; set 0 to switch it off.
        return {**_default_criterion_weights(), **weights}

    @model_validator(mode="after")
    def _consistent(self) -> ICPConfig:
        ranges = {"employee_range": self.employee_range, "revenue_range": self.revenue_range}
        for name, (low, high) in ranges.items():
            if low < 0 or low > high:
                raise ValueError(f"{name} must be [low, high] with 0 <= low <= high, got [{low}, {high}]")
        if self.tier_b_min_share > self.tier_a_min_share:
            raise ValueError("tier_b_min_share must not exceed tier_a_min_share")
        for name in ("target_seniorities", "excluded_personas"):
            unknown = set(getattr(self, name)) - set(SENIORITY_LEVELS)
            if unknown:
                raise ValueError(
                    f"{name} names unknown seniorities {sorted(unknown)}; known: {list(SENIORITY_LEVELS)}"
                )
        both = set(self.target_seniorities) & set(self.excluded_personas)
        if both:
            raise ValueError(f"seniorities {sorted(both)} are both targeted and excluded")
        if self.disqualify_outside_geography and not (self.served_regions or self.served_countries):
            raise ValueError(
                "served_regions and served_countries are both empty: every lead would be outside geography"
            )
        names = [rule.name for rule in self.extra_rules]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"extra_rules names must be unique; repeated: {duplicated}")
        criteria_weight = sum(self.criterion_weights.values())
        criteria_weight += sum(r.weight for r in self.extra_rules if r.action == "criterion")
        if criteria_weight <= 0:
            raise ValueError("criterion_weights and criterion extra rules sum to 0: no fit tier can be set")
        return self
