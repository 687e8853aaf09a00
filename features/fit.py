"""Fit features: who the lead is and what company they work for, as known at the snapshot.

Firmographics are taken as they stand in the accounts table (the CRM keeps no history of them); the
only time-dependent fit features are company_age_years and is_duplicate, both computed against the
snapshot time. Missing categorical values read "unknown" (region: "other"), so every categorical
column is a plain string column without gaps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.config import FeatureConfig, ICPConfig
from features.titles import normalise_titles
from features.vocab import LEAD_SOURCES

UNKNOWN = "unknown"
DAYS_PER_YEAR = 365.25
FIT_FEATURES = (
    "industry",
    "employee_count",
    "employee_band",
    "annual_revenue",
    "revenue_band",
    "country",
    "region",
    "company_age_years",
    "tech_overlap_count",
    "tech_stack_size",
    "seniority",
    "department",
    "email_domain_type",
    "lead_source",
    "is_duplicate",
)
# Gmail ignores dots in the local part; every provider here ignores a "+tag".
_DOTLESS_DOMAINS = ("gmail.com", "googlemail.com")


def fit_features(
    snapshots: pd.DataFrame,
    leads: pd.DataFrame,
    accounts: pd.DataFrame,
    config: FeatureConfig,
    icp: ICPConfig,
) -> pd.DataFrame:
    """The FIT_FEATURES columns, one row per snapshot row (same index)."""
    lead = _rows_for(leads, "lead_id", snapshots["lead_id"])
    account = _rows_for(accounts, "account_id", lead["account_id"])
    snapshot_at = pd.to_datetime(snapshots["snapshot_at"]).reset_index(drop=True)
    employees = pd.to_numeric(account["employee_count"], errors="coerce").astype(float)
    revenue = pd.to_numeric(account["annual_revenue"], errors="coerce").astype(float)
    country = _text(account["country"]).str.upper().fillna(UNKNOWN)
    overlap, stack_size = tech_counts(account["tech_stack"], icp.desired_tech)
    titles = normalise_titles(lead["job_title"])
    duplicate_since = duplicate_since_times(leads)
    features = pd.DataFrame(
        {
            "industry": _text(account["industry"]).str.lower().fillna(UNKNOWN),
            "employee_count": employees,
            "employee_band": band_labels(
                employees, config.employee_band_edges, count_band_names(config.employee_band_edges)
            ),
            "annual_revenue": revenue,
            "revenue_band": band_labels(
                revenue, config.revenue_band_edges, money_band_names(config.revenue_band_edges)
            ),
            "country": country,
            "region": region_of(country, config.region_by_country),
            "company_age_years": years_between(pd.to_datetime(account["created_at"]), snapshot_at),
            "tech_overlap_count": overlap,
            "tech_stack_size": stack_size,
            "seniority": titles["seniority"],
            "department": titles["department"],
            "email_domain_type": email_domain_type(lead["email"], account["domain"], icp),
            "lead_source": normalise_lead_source(lead["lead_source"]),
            "is_duplicate": is_duplicate_at(lead["lead_id"], duplicate_since, snapshot_at),
        }
    )
    features.index = snapshots.index
    return features


def band_labels(values: pd.Series, edges: tuple[float, ...], names: list[str]) -> pd.Series:
    """The name of the band [edge_i, edge_i+1) of each value; "unknown" below the first edge or missing."""
    position = np.searchsorted(np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right") - 1
    known = (position >= 0) & values.notna().to_numpy()
    bands = np.where(known, np.asarray(names, dtype=object)[np.clip(position, 0, None)], UNKNOWN)
    return pd.Series(bands, index=values.index, dtype="str")


def count_band_names(edges: tuple[int, ...]) -> list[str]:
    """Band names for whole counts: edges (1, 10, 50) give "1-9", "10-49", "50+"."""
    closed = [f"{lo:g}-{hi - 1:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*closed, f"{edges[-1]:g}+"]


def money_band_names(edges: tuple[float, ...]) -> list[str]:
    """Band names for amounts: edges (0, 1e6, 1e7) give "0-1M", "1M-10M", "10M+"."""
    closed = [f"{_money(lo)}-{_money(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*closed, f"{_money(edges[-1])}+"]


def region_of(country: pd.Series, region_by_country: dict[str, str]) -> pd.Series:
    """The sales region of an ISO country code, "other" when the country is not mapped."""
    upper = {code.upper(): region for code, region in region_by_country.items()}
    return country.map(upper).fillna("other").astype("str")


def years_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Years from start to end (NaN when start is missing, 0 when start is after end)."""
    days = (end.reset_index(drop=True) - start.reset_index(drop=True)) / pd.Timedelta(days=1)
    return pd.Series((days / DAYS_PER_YEAR).clip(lower=0).to_numpy(dtype=float), index=start.index)


def tech_counts(tech_stack: pd.Series, desired: tuple[str, ...]) -> tuple[pd.Series, pd.Series]:
    """How many desired tools are in each ';'-joined stack, and how many distinct tools it lists."""
    codes, stacks = pd.factorize(_text(tech_stack).fillna("").str.lower(), use_na_sentinel=False)
    tools = pd.Series(stacks, dtype="str").str.split(";").explode().str.strip()
    tools = tools[tools != ""].reset_index().drop_duplicates()
    tools.columns = ["stack", "tool"]
    size = np.bincount(tools["stack"].to_numpy(), minlength=len(stacks))
    wanted = tools["stack"][tools["tool"].isin(desired)].to_numpy()
    overlap = np.bincount(wanted, minlength=len(stacks))
    return (
        pd.Series(overlap[codes], index=tech_stack.index, dtype="int64"),
        pd.Series(size[codes], index=tech_stack.index, dtype="int64"),
    )


def email_domains(email: pd.Series) -> pd.Series:
    """The lower-case domain after the last "@" (missing when there is none)."""
    return _text(email).str.strip().str.lower().str.extract(r"@([^@\s]+)$", expand=False)


def email_domain_type(email: pd.Series, account_domain: pd.Series, icp: ICPConfig) -> pd.Series:
    """competitor (email or account domain is a competitor's, subdomains included), free, business.

    An email without a domain reads "unknown": it is neither shown to be free nor to be business.
    """
    domain = email_domains(email)
    company = _text(account_domain).str.strip().str.lower()
    competitor = _is_domain_of(domain, icp.competitor_domains) | _is_domain_of(
        company, icp.competitor_domains
    )
    free = domain.isin(icp.free_email_domains)
    kind = np.select(
        [competitor.to_numpy(), free.to_numpy(), domain.isna().to_numpy()],
        ["competitor", "free", UNKNOWN],
        default="business",
    )
    return pd.Series(kind, index=email.index, dtype="str")


def normalised_emails(email: pd.Series) -> pd.Series:
    """Emails as the mailbox they reach: lower case, "+tag" dropped, Gmail dots dropped."""
    text = _text(email).str.strip().str.lower().str.replace(r"\+[^@]*@", "@", regex=True)
    parts = text.str.extract(r"^(?P<local>[^@]*)@(?P<domain>[^@\s]+)$")
    dotless = parts["domain"].isin(_DOTLESS_DOMAINS)
    local = parts["local"].where(~dotless, parts["local"].str.replace(".", "", regex=False))
    return (local + "@" + parts["domain"]).astype("str")


def duplicate_since_times(leads: pd.DataFrame) -> pd.Series:
    """For each lead that repeats an earlier lead's mailbox: when that first lead was created.

    Indexed by lead_id; leads that are the first with their mailbox (or have no valid email) are
    absent. Ties in created_at go to the smaller lead_id, so exactly one lead per mailbox is the original.
    """
    frame = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "mailbox": normalised_emails(leads["email"]).to_numpy(),
            "created_at": pd.to_datetime(leads["created_at"]).to_numpy(),
        }
    ).dropna(subset=["mailbox"])
    frame = frame.sort_values(["mailbox", "created_at", "lead_id"], kind="stable")
    first_created = frame.groupby("mailbox", sort=False)["created_at"].transform("first")
    later = frame["mailbox"].duplicated(keep="first")
    repeats = frame.loc[later, ["lead_id"]].assign(since=first_created[later])
    return repeats.drop_duplicates("lead_id").set_index("lead_id")["since"]


def is_duplicate_at(lead_id: pd.Series, duplicate_since: pd.Series, snapshot_at: pd.Series) -> pd.Series:
    """True when an earlier lead with the same mailbox existed strictly before the snapshot."""
    # reindex, not map: Series.map with a datetime-valued Series fails on pandas 3 string keys.
    since = pd.Series(pd.to_datetime(duplicate_since.reindex(lead_id.to_numpy()).to_numpy()))
    flags = (since < snapshot_at.reset_index(drop=True)).fillna(False).to_numpy(dtype=bool)
    return pd.Series(flags, index=lead_id.index, dtype=bool)


def normalise_lead_source(source: pd.Series) -> pd.Series:
    """Lead source as a vocabulary code ("Paid Search" -> paid_search); anything else is "other"."""
    code = _text(source).str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True)
    return code.where(code.isin(LEAD_SOURCES), "other").astype("str")


def _rows_for(table: pd.DataFrame, key: str, ids: pd.Series) -> pd.DataFrame:
    """The rows of `table` whose `key` equals each id, in order (all-missing rows for unknown ids)."""
    unique = table.drop_duplicates(key, keep="first").set_index(key, drop=False)
    return unique.reindex(ids.to_numpy()).reset_index(drop=True)


def _is_domain_of(domain: pd.Series, owners: tuple[str, ...]) -> pd.Series:
    """Whether each domain is one of `owners` or a subdomain of one."""
    if not owners:
        return pd.Series(False, index=domain.index)
    suffixes = "|".join(d.replace(".", r"\.") for d in owners)
    return domain.str.contains(rf"(?:^|\.)(?:{suffixes})$", regex=True).fillna(False).astype(bool)


def _text(column: pd.Series) -> pd.Series:
    return column.astype("str")


def _money(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"
