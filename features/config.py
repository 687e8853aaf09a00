"""Typed configuration of the feature pipelines and the ICP guardrail (values live in YAML)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from features.vocab import ACTIVITY_TYPES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActivityWeight(_Strict):
    """How much one activity counts in the engagement score, and how fast that fades."""

    weight: float
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
    inactive_after_days: int = 60
    employee_band_edges: tuple[int, ...] = (1, 10, 50, 200, 1000, 5000)
    revenue_band_edges: tuple[float, ...] = (0.0, 1e6, 1e7, 5e7, 2.5e8, 1e9)
    region_by_country: dict[str, str] = Field(
        default_factory=lambda: {
            "US": "north_america", "CA": "north_america", "MX": "latin_america", "BR": "latin_america",
            "AR": "latin_america", "GB": "europe", "DE": "europe", "FR": "europe", "NL": "europe",
            "ES": "europe", "IT": "europe", "SE": "europe", "IE": "europe", "PL": "europe",
            "IN": "asia_pacific", "SG": "asia_pacific", "AU": "asia_pacific", "JP": "asia_pacific",
            "CN": "asia_pacific", "AE": "middle_east_africa", "ZA": "middle_east_africa",
            "NG": "middle_east_africa",
        }
    )
    exclude_features: tuple[str, ...] = ()  # names flagged by the leak audit that the user chose to drop

    @model_validator(mode="after")
    def _known_activities(self) -> FeatureConfig:
        unknown = set(self.activity_weights) - set(ACTIVITY_TYPES)
        if unknown:
            raise ValueError(f"activity_weights names unknown activity types: {sorted(unknown)}")
        return self


Op = Literal["==", "!=", ">", ">=", "<", "<=", "in", "not_in"]


class ExtraRule(_Strict):
    """One extra ICP rule: a simple condition on a feature column."""

    name: str
    feature: str
    op: Op
    value: float | str | bool | list[str] | list[float]
    action: Literal["disqualify", "criterion"] = "criterion"
    reason: str = "bad_fit"  # reason code when action == "disqualify"
    weight: float = 1.0  # weight when action == "criterion"
    description: str = ""


class ICPConfig(_Strict):
    """The ideal customer profile: criteria that set the fit tier, hard rules that disqualify."""

    target_industries: tuple[str, ...] = ("software", "fintech", "ecommerce", "healthcare_it", "media")
    employee_range: tuple[int, int] = (50, 5000)
    revenue_range: tuple[float, float] = (5e6, 1e9)
    served_regions: tuple[str, ...] = ("north_america", "europe")
    desired_tech: tuple[str, ...] = ("salesforce", "hubspot", "segment", "snowflake", "marketo")
    free_email_domains: tuple[str, ...] = (
        "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com", "proton.me",
        "gmx.de", "mail.ru", "yandex.ru",
    )
    competitor_domains: tuple[str, ...] = ("rivalscore.io", "leadgenius.ai", "scoreforce.com")
    excluded_personas: tuple[str, ...] = ("student", "intern", "job_seeker")
    criterion_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "industry": 1.0, "employee_range": 1.0, "revenue_range": 1.0, "geography": 1.0, "tech": 1.0,
            "persona": 1.0,
        }
    )
    tier_a_min_share: float = Field(0.8, ge=0, le=1)  # share of the criteria weight met for tier A
    tier_b_min_share: float = Field(0.5, ge=0, le=1)
    disqualify_free_email: bool = True
    disqualify_outside_geography: bool = True
    exclude_disqualified_in_training: bool = True
    extra_rules: tuple[ExtraRule, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> ICPConfig:
        if self.employee_range[0] > self.employee_range[1] or self.revenue_range[0] > self.revenue_range[1]:
            raise ValueError("employee_range and revenue_range must be (low, high) with low <= high")
        if self.tier_b_min_share > self.tier_a_min_share:
            raise ValueError("tier_b_min_share must not exceed tier_a_min_share")
        return self
