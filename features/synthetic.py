"""A synthetic CRM history whose conversion mechanism is known.

The generator writes accounts, leads, activities and deals in the shape of the data contract, and for every
deal its true conversion probability, so that a model can be compared with the best AUC any model could
reach on the same data (the oracle).

The mechanism (all on the log-odds scale, evaluated at the deal's creation time, from what is observable then):
- fit: target industry, company size and revenue in range, served region, tech overlap, seniority;
- intent: demo requests, pricing-page visits, case studies, webinars, email clicks in the 90 days before,
  with more weight on the last 30 days; recency of the last activity; careers page and unsubscribes count
  against;
- a small seasonal effect (deals created near quarter end close more often) and lead source;
- traps: students and job seekers engage but do not buy, competitors research the pricing page heavily and
  never buy, out-of-market accounts engage like buyers but convert at a fraction of the rate.
The accounts carry the company's founding year (founded_year; no part of the mechanism) and when their CRM
record was created (created_at, shortly before the account's first lead). Outcomes are Bernoulli draws from
that probability; after a deal is created, won deals see a burst of
buying activity and lost ones go cold, so any feature that looks past the snapshot leaks the label.

Everything is vectorised numpy; the same seed gives the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.vocab import ACTIVITY_TYPES

INDUSTRIES = (
    "software",
    "fintech",
    "ecommerce",
    "healthcare_it",
    "media",
    "manufacturing",
    "retail",
    "education",
    "government",
    "nonprofit",
    "logistics",
)
TARGET_INDUSTRIES = ("software", "fintech", "ecommerce", "healthcare_it", "media")
INDUSTRY_WEIGHTS = (0.2, 0.1, 0.1, 0.07, 0.06, 0.12, 0.1, 0.08, 0.06, 0.05, 0.06)

COUNTRIES = (
    "US",
    "CA",
    "GB",
    "DE",
    "FR",
    "NL",
    "ES",
    "SE",
    "IE",
    "BR",
    "MX",
    "IN",
    "SG",
    "AU",
    "JP",
    "ZA",
    "AE",
)
COUNTRY_WEIGHTS = (
    0.34,
    0.06,
    0.1,
    0.08,
    0.05,
    0.04,
    0.03,
    0.02,
    0.02,
    0.05,
    0.03,
    0.07,
    0.03,
    0.04,
    0.02,
    0.01,
    0.01,
)
SERVED_COUNTRIES = ("US", "CA", "GB", "DE", "FR", "NL", "ES", "SE", "IE")

TECH = (
    "salesforce",
    "hubspot",
    "segment",
    "snowflake",
    "marketo",
    "zendesk",
    "shopify",
    "sap",
    "oracle",
    "excel",
)
DESIRED_TECH = ("salesforce", "hubspot", "segment", "snowflake", "marketo")
TECH_RATES = (0.35, 0.3, 0.15, 0.15, 0.12, 0.25, 0.15, 0.12, 0.1, 0.3)

FREE_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com")
COMPETITOR_DOMAINS = ("rivalscore.io", "leadgenius.ai", "scoreforce.com")

LEAD_SOURCES = ("organic_search", "paid_search", "referral", "event", "outbound", "partner", "content")
SOURCE_WEIGHTS = (0.25, 0.18, 0.1, 0.1, 0.17, 0.08, 0.12)
SOURCE_EFFECT = (0.0, -0.1, 0.5, 0.2, -0.3, 0.3, -0.05)

# (true seniority, weight, effect on log-odds, messy titles as people type them)
PERSONAS = (
    (
        "c_level",
        0.07,
        0.6,
        (
            "CEO",
            "Chief Executive Officer",
            "CEO & Founder",
            "Co-founder and CTO",
            "Chief Revenue Officer",
            "CMO",
            "cfo",
            "Founder",
        ),
    ),
    (
        "vp",
        0.1,
        0.5,
        (
            "VP Sales",
            "vp of sales",
            "Vice President, Marketing",
            "VP Engineering",
            "SVP Revenue",
            "VP, Growth",
        ),
    ),
    (
        "director",
        0.15,
        0.35,
        (
            "Director of Sales",
            "Sales Director",
            "Head of Growth",
            "Head of Marketing",
            "Dir. Operations",
            "director it",
        ),
    ),
    (
        "manager",
        0.2,
        0.15,
        (
            "Marketing Manager",
            "Sales Manager",
            "Marketing Ops Manager",
            "Engineering Manager",
            "mgr, finance",
            "Team Lead Sales",
        ),
    ),
    (
        "individual_contributor",
        0.33,
        0.0,
        (
            "Account Executive",
            "SDR",
            "Software Engineer",
            "Sr. Software Engineer",
            "Data Analyst",
            "marketing specialist",
            "Consultant",
            "Accountant",
        ),
    ),
    ("student", 0.05, -3.0, ("student", "Student", "MBA Candidate", "PhD student", "Graduate Student")),
    ("intern", 0.02, -2.5, ("Intern", "Marketing Intern", "summer intern")),
    ("job_seeker", 0.02, -3.0, ("looking for work", "Job Seeker", "Open to work")),
    ("unknown", 0.06, -0.2, ("", "n/a", "-", "Other")),
)

# Monthly activity rate before the deal, for an average lead, and the rate multiplier per unit of interest.
ACTIVITY_BASE_RATE = {
    "pricing_page": 0.6,
    "demo_request": 0.12,
    "case_study": 0.35,
    "webinar": 0.2,
    "blog": 1.2,
    "email_open": 3.0,
    "email_click": 0.6,
    "careers_page": 0.1,
    "unsubscribe": 0.015,
}
ACTIVITY_INTEREST_SLOPE = {
    "pricing_page": 0.8,
    "demo_request": 1.0,
    "case_study": 0.6,
    "webinar": 0.5,
    "blog": 0.3,
    "email_open": 0.3,
    "email_click": 0.5,
    "careers_page": -0.2,
    "unsubscribe": -0.8,
}
LOST_REASONS_COMMON = ("no_budget", "timing", "unresponsive", "competitor")


class GeneratorConfig(BaseModel):
    """Knobs of the synthetic history; the defaults are the demo data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    accounts: int = Field(8000, ge=1)
    months: int = Field(24, ge=1, le=1200)  # at most 100 years: 100,000 months fell before pandas' first date
    seed: int = Field(7, ge=0)  # numpy's generators take no negative seed
    end: str = "2026-10-01"  # the history runs up to, not including, this date
    leads_per_account: float = Field(3.0, gt=0)
    free_email_share: float = 0.1
    duplicate_share: float = 0.02
    competitor_accounts_share: float = 0.01
    deal_share: float = 0.85  # share of leads that become a deal (the rest stay leads to be scored)
    intercept: float = -2.2
    season_amplitude: float = 0.15
    dirty_rows: int = Field(0, ge=0)  # rows per kind of defect planted, as real CRM exports have them
    # A shift of mechanism from this date on (for retraining scenarios): industry -> extra log-odds.
    shift_from: str | None = None
    shift_industry_effect: dict[str, float] = Field(default_factory=dict)
    shift_source_effect: dict[str, float] = Field(default_factory=dict)
    # Drift knobs for development scenarios (see SCENARIOS); the defaults leave the history unchanged.
    scenario: str | None = None  # the name of the scenario these knobs came from, for the record
    intercept_trend: float = 0.0  # extra log-odds added linearly over the history (0 at start, this at end)
    activity_trend: float = (
        0.0  # activity rates grow by exp(this) over the history (log-scale, linear in time)
    )
    annual_amplitude: float = 0.0  # yearly cycle of conversion, peaking in December
    new_sources_from: str | None = None  # from this date some leads come from sources never seen before
    new_source_share: float = Field(0.0, ge=0, le=1)
    new_source_effect: dict[str, float] = Field(default_factory=dict)  # new source -> extra log-odds
    no_signal: bool = False  # every deal converts with the same probability, whatever its features

    @field_validator("end")
    @classmethod
    def _end_in_range(cls, end: str) -> str:
        """A date from 2000 to 2100: a history ending in 1900 is all before 1990 (placeholders the contract
        quarantines), and one ending in 2300 is beyond what a timestamp holds (a traceback)."""
        try:
            at = pd.Timestamp(end)
        except (ValueError, TypeError, OverflowError):
            return end  # not a date: said by the command line
        if at is pd.NaT or not pd.Timestamp("2000-01-01") <= at <= pd.Timestamp("2100-01-01"):
            raise ValueError("the history must end from 2000-01-01 to 2100-01-01")
        return end


class GeneratorError(ValueError):
    """The history cannot be generated as asked (more defects to plant than it has rows)."""


# Name -> how each drift scenario departs from the default history. Dates are placed by share of the
# history (0 = its start, 1 = its end), so a scenario works for any --months and --end.
SCENARIOS: dict[str, dict[str, object]] = {
    "base_rate_shift": {"intercept_trend": 2.0},
    "concept_shift": {"shift_at": 0.5, "shift_industry_effect": {"manufacturing": 2.0}},
    "numeric_trend": {"activity_trend": 2.0},
    "new_levels": {
        "new_sources_at": 0.6,
        "new_source_share": 0.3,
        "new_source_effect": {"ai_assistant": 1.2, "marketplace": 0.6},
    },
    "seasonality": {"annual_amplitude": 0.8, "season_amplitude": 0.4},
    "no_signal": {"no_signal": True},
}


def scenario_config(name: str, cfg: GeneratorConfig | None = None) -> GeneratorConfig:
    """`cfg` (default: the demo history) with the drift of scenario `name`; ValueError for an unknown name."""
    cfg = cfg or GeneratorConfig()
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)}")
    update = dict(SCENARIOS[name])
    for share_key, date_key in (("shift_at", "shift_from"), ("new_sources_at", "new_sources_from")):
        if share_key in update:
            update[date_key] = _date_at_share(cfg, float(update.pop(share_key)))  # type: ignore[arg-type]
    return cfg.model_copy(update={**update, "scenario": name})


def _date_at_share(cfg: GeneratorConfig, share: float) -> str:
    end = pd.Timestamp(cfg.end)
    start = end - pd.DateOffset(months=cfg.months)
    return (start + (end - start) * share).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class SyntheticHistory:
    """The four CRM tables and the ground truth per deal."""

    accounts: pd.DataFrame
    leads: pd.DataFrame
    activities: pd.DataFrame
    deals: pd.DataFrame
    truth: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "accounts": self.accounts,
            "leads": self.leads,
            "activities": self.activities,
            "deals": self.deals,
        }


def generate_history(cfg: GeneratorConfig | None = None) -> SyntheticHistory:
    """Generate a deterministic CRM history for `cfg` (defaults: the demo data)."""
    cfg = cfg or GeneratorConfig()
    rng = np.random.default_rng(cfg.seed)
    end = pd.Timestamp(cfg.end)
    start = end - pd.DateOffset(months=cfg.months)
    accounts, acc = _accounts(rng, cfg)
    leads, lead = _leads(rng, cfg, acc, start, end)
    accounts = accounts.assign(created_at=_record_dates(cfg, lead, leads["created_at"]))
    pre, lead = _pre_deal_activity(rng, lead)
    logit = _true_logit(cfg, acc, lead, pre)
    deals, truth, lead = _deals(rng, cfg, lead, logit, end)
    activities = _activity_table(rng, lead, pre, end)
    if cfg.dirty_rows:
        accounts, leads, activities, deals = _plant_defects(
            rng, cfg.dirty_rows, accounts, leads, activities, deals
        )
    return SyntheticHistory(accounts=accounts, leads=leads, activities=activities, deals=deals, truth=truth)


def _plant_defects(
    rng: np.random.Generator,
    k: int,
    accounts: pd.DataFrame,
    leads: pd.DataFrame,
    activities: pd.DataFrame,
    deals: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Plant `k` rows of each defect the data contract must catch (the rest of the data is untouched)."""
    closed_deals = int(deals["closed_at"].notna().sum())
    room = min(len(accounts), len(leads), len(activities) // 2, closed_deals)
    if k > room:
        raise GeneratorError(
            f"dirty_rows {k:,} is more rows of each defect than the history holds ({len(accounts):,} accounts, "
            f"{len(leads):,} leads, {len(activities):,} activities, {closed_deals:,} closed deals): plant at most "
            f"{room:,}, or generate more accounts"
        )
    accounts, leads, activities, deals = accounts.copy(), leads.copy(), activities.copy(), deals.copy()
    accounts.loc[rng.choice(len(accounts), k, replace=False), "employee_count"] = -1
    rows = rng.choice(len(activities), 2 * k, replace=False)
    activities.loc[rows[:k], "activity_type"] = "chat_message"
    activities.loc[rows[k:], "lead_id"] = "L_UNKNOWN"
    closed = np.flatnonzero(deals["closed_at"].notna().to_numpy())
    bad = rng.choice(closed, k, replace=False)
    deals.loc[bad, "closed_at"] = deals.loc[bad, "created_at"] - pd.Timedelta(days=3)
    leads = pd.concat([leads, leads.iloc[rng.choice(len(leads), k, replace=False)]], ignore_index=True)
    leads.loc[rng.choice(len(leads), k, replace=False), "email"] = "no-email-given"
    return accounts, leads, activities, deals


def _accounts(rng: np.random.Generator, cfg: GeneratorConfig) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    n = cfg.accounts
    industry = rng.choice(INDUSTRIES, size=n, p=_norm(INDUSTRY_WEIGHTS))
    employees = np.clip(np.round(np.exp(rng.normal(5.0, 1.6, n))), 1, 200_000)
    revenue = np.round(employees * np.exp(rng.normal(np.log(150_000), 0.6, n)), -3)
    country = rng.choice(COUNTRIES, size=n, p=_norm(COUNTRY_WEIGHTS))
    size_boost = np.clip(np.log10(employees) / 3, 0.3, 1.5)
    has_tech = rng.random((n, len(TECH))) < np.outer(size_boost, TECH_RATES)
    tech_stack = _join_flags(has_tech, TECH)
    competitor = rng.random(n) < cfg.competitor_accounts_share
    ids = np.char.add("ACC", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    domain = np.char.add(np.char.add("company", np.arange(1, n + 1).astype(str)), ".com").astype(object)
    domain[competitor] = rng.choice(COMPETITOR_DOMAINS, size=int(competitor.sum()))
    industry = industry.astype(object)
    industry[competitor] = "software"
    missing_industry = rng.random(n) < 0.03
    founded = pd.to_datetime("1960-01-01") + pd.to_timedelta(rng.integers(0, 365 * 64, n), unit="D")
    # created_at (when the CRM record was created) is set once the leads exist: see _record_dates.
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "name": np.char.add("Company ", np.arange(1, n + 1).astype(str)),
            "domain": domain.astype(str),
            "industry": pd.Series(industry).where(~missing_industry),
            "employee_count": employees.astype("int64"),
            "annual_revenue": revenue.astype(float),
            "country": country,
            "tech_stack": tech_stack,
            "created_at": pd.NaT,
            "founded_year": np.asarray(founded.year, dtype="int64"),
        }
    )
    overlap = has_tech[:, [TECH.index(t) for t in DESIRED_TECH]].sum(axis=1)
    acc = {
        "id": ids,
        "domain": accounts["domain"].to_numpy(),
        "industry": industry,
        "employees": employees,
        "revenue": revenue,
        "country": country,
        "tech_overlap": overlap,
        "competitor": competitor,
    }
    return accounts, acc


def _record_dates(cfg: GeneratorConfig, lead: dict[str, np.ndarray], lead_created: pd.Series) -> pd.Series:
    """When each account's CRM record was created: some days before its first lead (an account is entered
    with, or a little before, its first contact). Drawn from a generator of its own, so the rest of the
    history (and the truth) is the same as before record dates existed."""
    rng = np.random.default_rng([cfg.seed, 2])
    first = pd.Series(lead_created.to_numpy()).groupby(lead["account"]).min().sort_index()
    gap = pd.to_timedelta(np.round(rng.exponential(30.0, len(first)) * 86400), unit="s")
    return pd.Series(first.to_numpy() - gap.to_numpy())


def _leads(
    rng: np.random.Generator,
    cfg: GeneratorConfig,
    acc: dict[str, np.ndarray],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    per_account = 1 + rng.poisson(cfg.leads_per_account - 1, len(acc["id"]))
    account_idx = np.repeat(np.arange(len(acc["id"])), per_account)
    n = len(account_idx)
    span_days = (end - start).days
    created_days = np.round(rng.uniform(0, span_days, n) * 86400) / 86400  # days since start, whole seconds
    weights = np.array([p[1] for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=weights / weights.sum())
    title = np.empty(n, dtype=object)
    for k, (_, _, _, titles) in enumerate(PERSONAS):
        mask = persona == k
        title[mask] = rng.choice(titles, size=int(mask.sum()))
    source = rng.choice(len(LEAD_SOURCES), size=n, p=_norm(SOURCE_WEIGHTS))
    first = rng.choice(
        np.array(["ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo"]), n
    )
    local = np.char.add(np.char.add(first, "."), np.arange(n).astype(str))
    free = rng.random(n) < cfg.free_email_share
    domain = acc["domain"][account_idx].astype(object)
    domain[free] = rng.choice(FREE_EMAIL_DOMAINS, size=int(free.sum()))
    email = np.char.add(np.char.add(local, "@"), domain.astype(str)).astype(object)
    duplicate = _pick_duplicates(rng, cfg.duplicate_share, created_days, account_idx)
    email[duplicate >= 0] = email[duplicate[duplicate >= 0]]
    ids = np.char.add("L", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    created_at = start + pd.to_timedelta(np.round(created_days * 86400), unit="s")
    leads = pd.DataFrame(
        {
            "lead_id": ids,
            "account_id": acc["id"][account_idx],
            "email": email.astype(str),
            "job_title": title.astype(str),
            "lead_source": np.asarray(LEAD_SOURCES)[source],
            "created_at": created_at,
        }
    )
    interest = rng.normal(0.0, 1.0, n)
    source_names, source_extra = _new_sources(cfg, np.asarray(LEAD_SOURCES)[source], created_at, n)
    if cfg.new_sources_from is not None:
        leads["lead_source"] = source_names
    lead = {
        "id": ids,
        "account": account_idx,
        "persona": persona,
        "source": source,
        "free": free,
        "duplicate": duplicate >= 0,
        "created_days": created_days,
        "interest": interest,
        "source_extra": source_extra,
        "activity_boost": np.exp(cfg.activity_trend * created_days / span_days),
        "start": np.full(n, start.value),
        "span_days": np.full(n, span_days, dtype=float),
    }
    return leads, lead


def _new_sources(
    cfg: GeneratorConfig, names: np.ndarray, created_at: pd.DatetimeIndex, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lead source names and their extra log-odds: from `new_sources_from` a share of leads come from new
    sources. Drawn from a generator of its own, so the rest of the history is the same as without them."""
    extra = np.zeros(n)
    if cfg.new_sources_from is None or not cfg.new_source_effect or not cfg.new_source_share:
        return names, extra
    rng = np.random.default_rng([cfg.seed, 1])
    late = np.asarray(created_at >= pd.Timestamp(cfg.new_sources_from))
    moved = late & (rng.random(n) < cfg.new_source_share)
    new_names = np.asarray(list(cfg.new_source_effect), dtype=object)
    picked = rng.integers(0, len(new_names), n)
    names = names.astype(object)
    names[moved] = new_names[picked[moved]]
    extra[moved] = np.asarray(list(cfg.new_source_effect.values()), dtype=float)[picked[moved]]
    return names.astype(str), extra


def _pick_duplicates(
    rng: np.random.Generator, share: float, created_days: np.ndarray, account_idx: np.ndarray
) -> np.ndarray:
    """For a share of leads, the index of an earlier lead of the same account whose email they repeat (-1: none)."""
    order = np.lexsort((created_days, account_idx))
    same_as_previous = np.r_[False, account_idx[order][1:] == account_idx[order][:-1]]
    candidates = order[same_as_previous & (rng.random(len(order)) < share)]
    duplicate = np.full(len(order), -1)
    previous = np.r_[-1, order[:-1]]
    position = np.empty(len(order), dtype=int)
    position[order] = np.arange(len(order))
    duplicate[candidates] = previous[position[candidates]]
    return duplicate


def _pre_deal_activity(rng: np.random.Generator, lead: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Activities between a lead's creation and its deal's creation (the snapshot), as ages before it."""
    n = len(lead["id"])
    # The deal is created some weeks after the lead; leads with more interest move faster.
    delay = rng.gamma(2.0, 20.0, n) * np.exp(-0.25 * lead["interest"])
    snapshot_days = lead["created_days"] + np.round(np.clip(delay, 1, None) * 86400) / 86400
    persona = np.array([p[0] for p in PERSONAS])[lead["persona"]]
    engages_anyway = np.isin(persona, ("student", "intern", "job_seeker"))
    # Some leads go cold: their activity stops well before the snapshot.
    cold_gap = np.where(rng.random(n) < 0.3, rng.uniform(20, 120, n), 0.0)
    lifetime = np.maximum(delay - cold_gap, 0.5)
    lead_rows, ages, types = [], [], []
    for k, name in enumerate(ACTIVITY_TYPES):
        slope = ACTIVITY_INTEREST_SLOPE[name]
        rate = ACTIVITY_BASE_RATE[name] * np.exp(slope * lead["interest"]) * lead["activity_boost"]
        if name in ("blog", "webinar", "careers_page"):
            rate = rate * np.where(engages_anyway, 3.0, 1.0)
        count = rng.poisson(rate * lifetime / 30.0)
        rows = np.repeat(np.arange(n), count)
        # A burst: a share of the events sits in the two weeks before the lead went quiet.
        burst = rng.random(len(rows)) < 0.35 + 0.1 * np.tanh(lead["interest"][rows])
        age = np.where(burst, rng.exponential(5.0, len(rows)), rng.uniform(0, lifetime[rows]))
        age = np.minimum(age, lifetime[rows]) + cold_gap[rows]
        lead_rows.append(rows)
        ages.append(age)
        types.append(np.full(len(rows), k, dtype=np.int8))
    pre = {"lead": np.concatenate(lead_rows), "age": np.concatenate(ages), "type": np.concatenate(types)}
    lead = {**lead, "snapshot_days": snapshot_days, "persona_name": persona}
    return pre, lead


def _count(pre: dict, n: int, activity: str, max_age: float) -> np.ndarray:
    mask = (pre["type"] == ACTIVITY_TYPES.index(activity)) & (pre["age"] < max_age)
    return np.bincount(pre["lead"][mask], minlength=n)


def _true_logit(cfg: GeneratorConfig, acc: dict, lead: dict, pre: dict) -> np.ndarray:
    """The known mechanism, on the log-odds scale, from what is observable at the snapshot."""
    n = len(lead["id"])
    a = lead["account"]
    industry = acc["industry"][a].astype(str)
    in_industry = np.isin(industry, TARGET_INDUSTRIES)
    in_size = (acc["employees"][a] >= 50) & (acc["employees"][a] <= 5000)
    in_revenue = (acc["revenue"][a] >= 5e6) & (acc["revenue"][a] <= 1e9)
    served = np.isin(acc["country"][a], SERVED_COUNTRIES)
    persona_effect = np.array([p[2] for p in PERSONAS])[lead["persona"]]
    fit = (
        0.8 * in_industry
        + 0.6 * in_size
        + 0.3 * in_revenue
        + 0.35 * np.minimum(acc["tech_overlap"][a], 3)
        + persona_effect
        + 1.5 * np.asarray(SOURCE_EFFECT)[lead["source"]]
        - 0.4 * lead["free"]
    )
    demo = _count(pre, n, "demo_request", 90)
    pricing30 = _count(pre, n, "pricing_page", 30)
    pricing90 = _count(pre, n, "pricing_page", 90)
    case = _count(pre, n, "case_study", 90)
    webinar = _count(pre, n, "webinar", 90)
    click = _count(pre, n, "email_click", 30)
    careers = _count(pre, n, "careers_page", 90)
    unsub = np.bincount(pre["lead"][pre["type"] == ACTIVITY_TYPES.index("unsubscribe")], minlength=n) > 0
    last_age = np.full(n, np.inf)
    np.minimum.at(last_age, pre["lead"], pre["age"])
    recency_days = np.minimum(last_age, 120.0)
    intent = (
        0.9 * np.log1p(demo)
        + 0.5 * np.log1p(pricing30)
        + 0.2 * np.log1p(pricing90)
        + 0.3 * np.log1p(case)
        + 0.2 * np.log1p(webinar)
        + 0.25 * np.log1p(click)
        - 0.35 * np.log1p(careers)
        - 1.2 * unsub
        - 0.012 * recency_days
    )
    # Out-of-market accounts engage like buyers but convert at a fraction of the rate.
    intent = np.where(served, intent, 0.3 * intent)
    month = _snapshot_months(lead)
    season = cfg.season_amplitude * np.cos(2 * np.pi * (month % 3 - 2) / 3)
    logit = cfg.intercept + fit + intent - 1.0 * ~served + season
    logit = logit + _shift(cfg, lead, industry) + _drift(cfg, lead, month)
    logit = np.where(acc["competitor"][a], -4.5, logit)
    logit = np.where(np.isin(lead["persona_name"], ("student", "job_seeker")), np.minimum(logit, -3.5), logit)
    if cfg.no_signal:  # the same chance for every deal: the base rate of the mechanism above
        rate = float(np.mean(1.0 / (1.0 + np.exp(-logit))))
        logit = np.full(n, np.log(rate / (1 - rate)))
    return logit


def _drift(cfg: GeneratorConfig, lead: dict, month: np.ndarray) -> np.ndarray:
    """Extra log-odds of the drift scenarios: a trend over time, a yearly cycle, new lead sources."""
    out = lead["source_extra"].copy()
    if cfg.intercept_trend:
        out += cfg.intercept_trend * lead["snapshot_days"] / lead["span_days"]
    if cfg.annual_amplitude:
        out += cfg.annual_amplitude * np.cos(2 * np.pi * (month - 12) / 12)
    return out


def _shift(cfg: GeneratorConfig, lead: dict, industry: np.ndarray) -> np.ndarray:
    """Extra log-odds for deals created after `shift_from` (a drifting market)."""
    if cfg.shift_from is None:
        return np.zeros(len(lead["id"]))
    snapshot = lead["start"] + (lead["snapshot_days"] * 86400e9).astype("int64")
    after = snapshot >= pd.Timestamp(cfg.shift_from).value
    by_industry = pd.Series(industry).map(cfg.shift_industry_effect).fillna(0.0).to_numpy()
    sources = np.asarray(LEAD_SOURCES)[lead["source"]]
    by_source = pd.Series(sources).map(cfg.shift_source_effect).fillna(0.0).to_numpy()
    return np.where(after, by_industry + by_source, 0.0)


def _snapshot_months(lead: dict) -> np.ndarray:
    snapshot = pd.to_datetime(lead["start"] + (lead["snapshot_days"] * 86400e9).astype("int64"))
    return np.asarray(snapshot.month)


def _deals(
    rng: np.random.Generator, cfg: GeneratorConfig, lead: dict, logit: np.ndarray, end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    n = len(lead["id"])
    p = 1.0 / (1.0 + np.exp(-logit))
    start = pd.Timestamp(lead["start"][0])
    snapshot = start + pd.to_timedelta(np.round(lead["snapshot_days"] * 86400), unit="s")
    has_deal = (rng.random(n) < cfg.deal_share) & (snapshot < end)
    won = rng.random(n) < p
    cycle_days = rng.gamma(2.5, 18.0, n) * np.where(won, 1.2, 0.8)
    closed = snapshot + pd.to_timedelta(np.round(cycle_days * 86400), unit="s")
    is_closed = closed < end
    outcome = np.where(~is_closed, "open", np.where(won, "won", "lost"))
    lost_reason = _lost_reasons(rng, lead, outcome)
    amount = np.round(np.exp(rng.normal(9.5, 0.8, n)), 2)
    idx = np.flatnonzero(has_deal)
    ids = np.char.add("D", np.char.zfill(np.arange(1, len(idx) + 1).astype(str), 7))
    deals = pd.DataFrame(
        {
            "deal_id": ids,
            "lead_id": lead["id"][idx],
            "account_id": np.char.add("ACC", np.char.zfill((lead["account"][idx] + 1).astype(str), 6)),
            "created_at": snapshot[idx],
            "closed_at": pd.Series(closed[idx]).where(is_closed[idx]),
            "outcome": outcome[idx],
            "amount": amount[idx],
            "lost_reason": pd.Series(lost_reason[idx], dtype="str").where(outcome[idx] == "lost"),
        }
    )
    truth = pd.DataFrame(
        {
            "deal_id": ids,
            "lead_id": lead["id"][idx],
            "true_probability": p[idx],
            "true_logit": logit[idx],
        }
    )
    lead = {
        **lead,
        "has_deal": has_deal,
        "won": won & is_closed & has_deal,
        "lost": ~won & is_closed & has_deal,
        "snapshot": snapshot,
        "closed": closed,
    }
    return deals, truth, lead


def _lost_reasons(rng: np.random.Generator, lead: dict, outcome: np.ndarray) -> np.ndarray:
    n = len(outcome)
    reason = rng.choice(LOST_REASONS_COMMON, size=n, p=(0.3, 0.3, 0.25, 0.15)).astype(object)
    persona = lead["persona_name"]
    reason[np.isin(persona, ("student", "intern", "job_seeker")) & (rng.random(n) < 0.8)] = "bad_fit"
    reason[lead["duplicate"]] = "duplicate"
    return np.where(outcome == "lost", reason, "").astype(str)


def _activity_table(rng: np.random.Generator, lead: dict, pre: dict, end: pd.Timestamp) -> pd.DataFrame:
    """Pre-deal activities, then a burst before a win or a fade after a loss, then activity of open leads."""
    n = len(lead["id"])
    snapshot_ns = lead["snapshot"].asi8 if hasattr(lead["snapshot"], "asi8") else lead["snapshot"].value
    rows = [pre["lead"]]
    times = [snapshot_ns[pre["lead"]] - (pre["age"] * 86400e9).astype("int64")]
    types = [pre["type"]]
    closed_ns = lead["closed"].asi8
    # Won deals: demos and pricing visits between the deal's creation and its close (post-snapshot: leaky).
    for activity, rate in (("demo_request", 1.5), ("pricing_page", 3.0), ("case_study", 1.0)):
        count = rng.poisson(rate, n) * (lead["won"] | (lead["has_deal"] & ~lead["lost"] & ~lead["won"]))
        r = np.repeat(np.arange(n), count)
        span = np.maximum(closed_ns[r] - snapshot_ns[r], 1)
        rows.append(r)
        times.append(snapshot_ns[r] + (rng.random(len(r)) * span).astype("int64"))
        types.append(np.full(len(r), ACTIVITY_TYPES.index(activity), dtype=np.int8))
    # Lost deals: a few email opens fading out, sometimes an unsubscribe.
    count = rng.poisson(1.0, n) * lead["lost"]
    r = np.repeat(np.arange(n), count)
    rows.append(r)
    times.append(snapshot_ns[r] + (rng.exponential(10.0, len(r)) * 86400e9).astype("int64"))
    types.append(np.full(len(r), ACTIVITY_TYPES.index("email_open"), dtype=np.int8))
    unsub = np.flatnonzero(lead["lost"] & (rng.random(n) < 0.1))
    rows.append(unsub)
    times.append(closed_ns[unsub] + (rng.exponential(7.0, len(unsub)) * 86400e9).astype("int64"))
    types.append(np.full(len(unsub), ACTIVITY_TYPES.index("unsubscribe"), dtype=np.int8))
    lead_idx = np.concatenate(rows)
    occurred = np.concatenate(times)
    kind = np.concatenate(types)
    created_ns = lead["start"] + (lead["created_days"] * 86400e9).astype("int64")
    keep = (occurred < end.value) & (occurred >= created_ns[lead_idx])
    lead_idx, occurred, kind = lead_idx[keep], occurred[keep], kind[keep]
    order = np.lexsort((occurred, lead_idx))
    return pd.DataFrame(
        {
            "lead_id": lead["id"][lead_idx[order]],
            "occurred_at": pd.to_datetime(occurred[order].astype("datetime64[ns]")).as_unit("us"),
            "activity_type": np.asarray(ACTIVITY_TYPES)[kind[order]],
        }
    )


def _join_flags(flags: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Row-wise ';'-join of the names whose flag is set."""
    out = np.full(flags.shape[0], "", dtype=object)
    for j, name in enumerate(names):
        add = flags[:, j]
        out[add] = np.where(out[add] == "", name, out[add] + ";" + name)
    return out.astype(str)


def _norm(weights: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def with_shuffled_outcomes(tables: dict[str, pd.DataFrame], seed: int = 0) -> dict[str, pd.DataFrame]:
    """The same tables with the closed deals' outcomes shuffled among them (what a broken join does): no
    feature can predict them any more. Lost deals get a valid lost_reason, won ones none."""
    deals = tables["deals"].copy()
    closed = deals["outcome"].isin(["won", "lost"]).to_numpy()
    deals.loc[closed, "outcome"] = np.random.default_rng(seed).permutation(deals.loc[closed, "outcome"])
    deals.loc[closed, "lost_reason"] = deals.loc[closed, "outcome"].map({"lost": "timing"})
    return {**tables, "deals": deals}
