"""Fit features: who the lead is and what company they work for, as known at the snapshot.

Firmographics are taken as they stand in the accounts table (the CRM keeps no history of them); the
only time-dependent fit features are company_age_years (from the optional accounts.founded_year, missing
without it: accounts.created_at is when the CRM record was created, which says nothing about the company)
and is_duplicate, both computed against the snapshot time. Missing categorical values read "unknown"
(region: "other"), so every categorical column is a plain string column without gaps.

The same code serves one lead online and millions in a batch, so the work is done on numpy arrays
and in plain Python over the *distinct* texts of a column (factorised once), not with per-call
pandas string methods; the results are those of pandas' str methods (pyarrow-backed "str" dtype).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from features.config import FeatureConfig, ICPConfig
from features.domains import company_domain, listed_domain, plain_domain_text
from features.frames import Table, column_values, naive_times, numbers
from features.text import NO_VALUE, TEXT, Text, cased, factorize_texts, levels
from features.titles import title_labels
from features.vocab import LEAD_SOURCES

UNKNOWN = "unknown"
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
# pandas' str methods give Python `re` results (they use pyarrow's RE2 only where it agrees), so the
# patterns run here in `re` as they were written for pandas.
# A domain's trailing dot (the DNS root: "gmail.com." is gmail.com) is not part of its name.
_EMAIL_DOMAIN = re.compile(r"@([^@\s]+?)\.*$")
_PLUS_TAG = re.compile(r"\+[^@]*@")
_MAILBOX = re.compile(r"^([^@]*)@([^@\s]+?)\.*$")
_SOURCE_SEPARATORS = re.compile(r"[\s\-]+")
# An email as most CRMs hold it, and the address inside "Name <address>".
_PLAIN_ADDRESS = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9.\-]+")
_NAMED_ADDRESS = re.compile(r"<([^<>\s]*@[^<>\s]*)>")
_ADDRESS_WRAPPING = "\"'<>()[]{};, "
# The entries of a field holding several addresses: what a ";" or "," parts outside quotes ('"Lee, Ann"
# <ann@acme.com>, bob@acme.com'), and an address as a list holds it whole, local@host.tld (a display name's
# "@annlee", "ann@work" or a lone "@" is none).
_LIST_ENTRY = re.compile(r'(?:"[^"]*"|[^;,])+')
_WHOLE_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+\.?")
# A stack is ";"-separated (HubSpot and Salesforce multi-select fields); other exports write a comma, a pipe or
# one tool per line. No tool name holds one of these, so each of them separates tools.
_TOOL_SEPARATORS = re.compile(r"[;,|\r\n]")


def fit_columns(
    snapshots: Table, leads: Table, accounts: Table, config: FeatureConfig, icp: ICPConfig
) -> dict[str, np.ndarray]:
    """The FIT_FEATURES columns, one row per snapshot row, in FIT_FEATURES order (text as object arrays)."""
    lead_ids = snapshots["lead_id"]
    lead_at = _first_positions(leads["lead_id"], lead_ids)
    account_at = _first_positions(accounts["account_id"], _values_at(leads["account_id"], lead_at))
    snapshot_at = naive_times(snapshots["snapshot_at"])
    emails = _stripped_lower(_read_text(leads["email"]))  # of all leads: duplicates need them
    features = {
        **_company_features(accounts, account_at, snapshot_at, config, icp),
        **_person_features(leads, lead_at),
        "email_domain_type": _domain_types(
            Text(_take(emails.codes, lead_at), emails.texts),
            _text_at(accounts["domain"], account_at),
            icp,
        ),
        "is_duplicate": _is_duplicate(lead_ids, *_repeats(leads, emails), snapshot_at),
    }
    return {name: features[name] for name in FIT_FEATURES}


def _company_features(
    accounts: Table,
    account_at: np.ndarray,
    snapshot_at: np.ndarray,
    config: FeatureConfig,
    icp: ICPConfig,
) -> dict[str, np.ndarray]:
    """The firmographic features of the accounts at the positions."""
    employees = _numbers_at(accounts["employee_count"], account_at)
    revenue = _numbers_at(accounts["annual_revenue"], account_at)
    industry = _text_at(accounts["industry"], account_at)
    country = _text_at(accounts["country"], account_at)
    countries = [*cased(country.texts, upper=True), UNKNOWN]  # the last one for a missing country
    overlap, stack_size = _tech_counts(_text_at(accounts["tech_stack"], account_at), icp.desired_tech)
    founded = (
        _numbers_at(accounts["founded_year"], account_at)
        if "founded_year" in accounts
        else np.full(len(account_at), np.nan)
    )
    return {
        "industry": _per_row(
            [*(level or UNKNOWN for level in levels(industry.texts)), UNKNOWN], industry.codes
        ),
        "employee_count": employees,
        "employee_band": _bands(
            employees, config.employee_band_edges, _names_of(count_band_names, config.employee_band_edges)
        ),
        "annual_revenue": revenue,
        "revenue_band": _bands(
            revenue, config.revenue_band_edges, _names_of(money_band_names, config.revenue_band_edges)
        ),
        "country": _per_row(countries, country.codes),
        "region": _per_row(_regions(countries, config.region_by_country), country.codes),
        "company_age_years": _age_in_years(founded, snapshot_at),
        "tech_overlap_count": overlap,
        "tech_stack_size": stack_size,
    }


def _person_features(leads: Table, lead_at: np.ndarray) -> dict[str, np.ndarray]:
    """Seniority, department and lead source of the leads at the positions."""
    title = _text_at(leads["job_title"], lead_at)
    seniority, department = title_labels([*title.texts, ""])  # "" stands for a missing title
    return {
        "seniority": _per_row(seniority, title.codes),
        "department": _per_row(department, title.codes),
        "lead_source": _lead_sources(_text_at(leads["lead_source"], lead_at)),
    }


def count_band_names(edges: tuple[int, ...]) -> list[str]:
    """Band names for whole counts: edges (1, 10, 50) give "1-9", "10-49", "50+"."""
    closed = [f"{lo:g}-{hi - 1:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*closed, f"{edges[-1]:g}+"]


def money_band_names(edges: tuple[float, ...]) -> list[str]:
    """Band names for amounts: edges (0, 1e6, 1e7) give "0-1M", "1M-10M", "10M+"."""
    closed = [f"{_money(lo)}-{_money(hi)}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [*closed, f"{_money(edges[-1])}+"]


def normalised_emails(email: pd.Series) -> pd.Series:
    """Emails as the mailbox they reach: lower case, "+tag" dropped, Gmail dots dropped."""
    mailboxes = _mailboxes(_stripped_lower(_read_text(column_values(email))))
    return pd.Series(pd.array(mailboxes, dtype=TEXT), index=email.index)


# --- columns and rows of a table --------------------------------------------------------------


def _first_positions(keys: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of the first key equal to each id, -1 when there is none (a missing id finds a missing key,
    as reindexing on the keys would)."""
    first_of = dict(zip(reversed(keys.tolist()), range(len(keys) - 1, -1, -1), strict=True))
    return np.array([first_of.get(key, -1) for key in ids.tolist()], dtype=np.intp)


def _values_at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The values at positions, missing at -1 (None for text, NaN otherwise)."""
    missing = np.array([None] if values.dtype == object else [np.nan])
    return np.append(values, missing)[positions]


def _take(codes: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """codes at positions, -1 at position -1."""
    return np.append(codes, -1)[positions]


def _text_at(values: np.ndarray, positions: np.ndarray) -> Text:
    """The text of the values at positions (missing at -1)."""
    text = _read_text(values)
    return Text(_take(text.codes, positions), text.texts)


def _numbers_at(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The values at positions as numbers (see features.frames.numbers), NaN at -1."""
    return np.append(numbers(values), np.nan)[positions]


# --- text, one distinct value at a time ---------------------------------------------------------


def _read_text(values: np.ndarray) -> Text:
    """A text column factorised (a column of another kind is read as astype("str") reads it)."""
    if values.dtype != object:
        values = column_values(pd.Series(values, copy=False).astype(TEXT))
    return Text(*factorize_texts(values))


def _per_row(values: Sequence[object], codes: np.ndarray) -> np.ndarray:
    """values[code] for each row's code: one value per distinct text, then the one for a missing text."""
    table = np.empty(len(values), dtype=object)
    table[:] = values
    return table[codes]


def _stripped_lower(text: Text) -> Text:
    """The texts stripped and lower case, as pandas' .str.strip().str.lower() gives them."""
    return Text(text.codes, cased([t.strip() for t in text.texts], upper=False))


def _regions(countries: list[str], region_by_country: dict[str, str]) -> list[str]:
    """The region of each country code ("other" when not mapped)."""
    upper = {code.upper(): region for code, region in region_by_country.items()}
    regions = [upper.get(country) for country in countries]
    return ["other" if pd.isna(region) else str(region) for region in regions]


def _tech_counts(stacks: Text, desired: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per row: how many desired tools its stack lists, and how many distinct tools. A word for no value
    ("N/A", "unknown", "none") is no tool: a stack written "N/A" is no stack, as a missing one."""
    wanted = set(desired)
    tools = [
        {tool.strip() for tool in _TOOL_SEPARATORS.split(stack)} - {""} - NO_VALUE
        for stack in cased(stacks.texts, upper=False)
    ]
    overlap = np.array([*(len(t & wanted) for t in tools), 0], dtype=np.int64)
    size = np.array([*(len(t) for t in tools), 0], dtype=np.int64)
    return overlap[stacks.codes], size[stacks.codes]


def email_addresses(email: str) -> list[str]:
    """The addresses of a stripped lower-case email field (each as email_address reads one), the lead's own
    first: a field may hold several, one after another ("ann@acme.com; bob@rivalscore.io"). An entry with an
    address in brackets is that address, whatever its display name holds ("ann lee (@annlee) <ann@gmail.com>",
    '"ann@work" <ann@gmail.com>'); one without is the whole addresses in it."""
    if email.count("@") < 2:
        return [_one_address(email)]
    addresses = [address for entry in _LIST_ENTRY.findall(email) for address in _entry_addresses(entry)]
    return addresses or [_one_address(email)]


def _entry_addresses(entry: str) -> list[str]:
    """The addresses of one entry of an email field: those in brackets, else its words, that are whole
    addresses (a bracketed one that is not is still the entry's when it is all there is: "<ann@acme>")."""
    named = [_one_address(address) for address in _NAMED_ADDRESS.findall(entry)]
    candidates = named or [_one_address(word) for word in entry.split()]
    return [a for a in candidates if _WHOLE_ADDRESS.fullmatch(plain_domain_text(a))] or named


def email_address(email: str) -> str:
    """The address in a stripped lower-case email as mail clients and CRM exports also write it: with a display
    name ("ann lee <ann@acme.com>"), as a link ("mailto:ann@acme.com") or wrapped in brackets, quotes or a
    list's separator ("<ann@acme.com>;") it is ann@acme.com; its domain ended at the ">" before, so that
    "<ann@gmail.com>" was no free email address nor "<bob@rivalscore.io>" a competitor's. Of several addresses
    the first is the lead's (the domain had been the last one's, and the mailbox none)."""
    return email_addresses(email)[0]


def _one_address(email: str) -> str:
    if _PLAIN_ADDRESS.fullmatch(email):
        return email
    named = _NAMED_ADDRESS.search(email)
    address = named.group(1) if named else email
    if address.startswith("mailto:"):  # a link's fields follow a "?": mailto:ann@acme.com?subject=Hi
        address = address.removeprefix("mailto:").split("?", 1)[0]
    return address.strip(_ADDRESS_WRAPPING)


def guardrail_domain(email: str, icp: ICPConfig) -> str | None:
    """The domain the ICP guardrail judges a stripped lower-case email field by: a competitor's among its
    addresses ("ann@acme.com; bob@rivalscore.io"), else the lead's own (the first's)."""
    domains = [email_domain(address) for address in email_addresses(email)]
    is_competitor = _domain_test(icp.competitor_domains)
    return next((d for d in domains if d is not None and is_competitor(d)), domains[0])


def email_domain(email: str) -> str | None:
    """The domain of a stripped lower-case email (its address: email_address; without a trailing dot, nor
    characters that show as nothing: "gmail.com" with a zero-width space pasted after it is gmail.com, nor in
    fullwidth letters: plain_domain_text), None when there is none."""
    match = _EMAIL_DOMAIN.search(plain_domain_text(email_address(email)))
    return None if match is None else match.group(1)


def _mailbox_of(email: str) -> str | None:
    """The mailbox a stripped lower-case email reaches (its address: email_address), None when it is not an
    email."""
    email = plain_domain_text(email_address(email))
    match = _MAILBOX.search(_PLUS_TAG.sub("@", email) if "+" in email else email)
    if match is None:
        return None
    local, domain = match.groups()
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def _domain_types(emails: Text, company_domains: Text, icp: ICPConfig) -> np.ndarray:
    """email_domain_type per row, from stripped lower-case emails and the company domains."""
    is_competitor = _domain_test(icp.competitor_domains)
    free = _listed_domains(icp.free_email_domains)

    def kind(domain: str | None) -> str:
        if domain is not None and is_competitor(domain):
            return "competitor"
        return UNKNOWN if domain is None else "free" if domain in free else "business"

    kinds = _per_row([*(kind(guardrail_domain(text, icp)) for text in emails.texts), UNKNOWN], emails.codes)
    company = np.array(
        [
            *(is_competitor(company_domain(domain)) for domain in _stripped_lower(company_domains).texts),
            False,
        ],
        dtype=bool,
    )
    return np.where(company[company_domains.codes], "competitor", kinds).astype(object)


@functools.cache
def _listed_domains(listed: tuple[str, ...]) -> frozenset[str]:
    """The ICP's domains as the config reads them now (listed_domain): a model trained before keeps the list it
    was given ("@rivalscore.io"), which met no lead."""
    return frozenset(listed_domain(domain) for domain in listed)


@functools.cache
def _domain_test(owners: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a domain is one of `owners` or a subdomain of one."""
    if not owners:
        return lambda domain: False
    suffixes = "|".join(re.escape(d) for d in sorted(_listed_domains(owners)) if d)
    pattern = re.compile(rf"(?:^|\.)(?:{suffixes})$")
    return lambda domain: pattern.search(domain) is not None


def _lead_sources(sources: Text) -> np.ndarray:
    """Lead source codes per row ("other" outside the vocabulary; a plural is its code: HubSpot's "Referrals"
    and "Events" are referral and event, never other)."""
    codes = [_SOURCE_SEPARATORS.sub("_", text or "") for text in levels(sources.texts)]
    return _per_row([*(_source_code(code) for code in codes), "other"], sources.codes)


def unknown_lead_sources(values: np.ndarray) -> dict[str, int]:
    """The lead source values that read as "other" though they name a source of their own (a CRM's picklist:
    "Webinar", "Trade Show"), with their row counts, most first; missing values and placeholders are not
    counted. The model learns them all as one level."""
    text = _read_text(values)
    named = levels(text.texts)
    unknown = [
        k
        for k, level in enumerate(named)
        if level is not None and _lead_code(level) == "other" and level != "other"
    ]
    if not unknown:
        return {}
    counts = np.bincount(text.codes[text.codes >= 0], minlength=len(text.texts))
    found: dict[str, int] = {}
    for k in unknown:  # "Webinar" and "webinar " are one level, said as first written
        level = str(named[k])
        found[level] = found.get(level, 0) + int(counts[k])
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def _lead_code(level: str) -> str:
    return _source_code(_SOURCE_SEPARATORS.sub("_", level))


def _source_code(code: str) -> str:
    if code in LEAD_SOURCES:
        return code
    singular = code.removesuffix("s")
    return singular if singular in LEAD_SOURCES else "other"


# --- numbers and times -------------------------------------------------------------------------


@functools.cache
def _names_of(band_names: Callable[[tuple[float, ...]], list[str]], edges: tuple[float, ...]) -> list[str]:
    return band_names(edges)


def _bands(values: np.ndarray, edges: tuple[float, ...], names: list[str]) -> np.ndarray:
    position = np.searchsorted(np.asarray(edges, dtype=float), values, side="right") - 1
    known = (position >= 0) & ~np.isnan(values)
    return np.where(known, np.asarray(names, dtype=object)[np.clip(position, 0, None)], UNKNOWN)


def _age_in_years(founded_year: np.ndarray, snapshot_at: np.ndarray) -> np.ndarray:
    """Whole years from the founding year to the snapshot's year; missing when either is missing or the
    company was founded after the snapshot's year (the data contradict each other)."""
    snapshot_year = snapshot_at.astype("datetime64[Y]").astype(np.int64) + 1970
    years = np.where(np.isnat(snapshot_at), np.nan, snapshot_year - founded_year)
    return np.where(years < 0, np.nan, years)


# --- duplicates --------------------------------------------------------------------------------


def _mailboxes(emails: Text) -> np.ndarray:
    """The mailbox of each row's stripped lower-case email (None when it is not an email)."""
    return _per_row([*(_mailbox_of(text) for text in emails.texts), None], emails.codes)


def _repeats(leads: Table, emails: Text) -> tuple[np.ndarray, np.ndarray]:
    """Lead ids that repeat an earlier lead's mailbox, and when that first lead was created."""
    lead_ids = leads["lead_id"]
    rows, since = _duplicate_since(lead_ids, _mailboxes(emails), naive_times(leads["created_at"]))
    return lead_ids[rows], since


def _duplicate_since(
    lead_ids: np.ndarray, mailboxes: np.ndarray, created_at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of leads that repeat an earlier lead's mailbox (the first such row per lead_id), and since when.

    Rows with a mailbox are sorted by mailbox, created_at and lead_id (missing last, ties in table
    order); the first row of each mailbox is the original, the others are repeats.
    """
    valid = np.flatnonzero(~pd.isna(mailboxes))
    if len(valid) < 2:
        return valid[:0], created_at[:0]
    times = created_at[valid]
    mailbox = _sort_ranks(mailboxes[valid])
    lead = _sort_ranks(lead_ids[valid])
    time = np.where(np.isnat(times), np.iinfo(np.int64).max, times.view(np.int64))
    order = np.lexsort((lead, time, mailbox))
    mailbox, lead, times = mailbox[order], lead[order], times[order]
    first = np.concatenate([[True], mailbox[1:] != mailbox[:-1]])
    since = times[first][np.cumsum(first) - 1]
    repeats = np.flatnonzero(~first)
    kept = repeats[np.sort(np.unique(lead[repeats], return_index=True)[1])]
    return valid[order][kept], since[kept]


def _sort_ranks(values: np.ndarray) -> np.ndarray:
    """Each value's rank among the distinct values in sorted order; missing values rank last.

    Text sorts by code points, as pyarrow sorts it (UTF-8 bytes).
    """
    keys = values.tolist()
    present = sorted({key for key in keys if key is not None and key == key})  # NaN != NaN
    rank = {key: i for i, key in enumerate(present)}
    return np.array([rank.get(key, len(rank)) for key in keys], dtype=np.intp)


def _is_duplicate(
    lead_ids: np.ndarray, repeat_ids: np.ndarray, since: np.ndarray, snapshot_at: np.ndarray
) -> np.ndarray:
    """Whether each lead is a repeat (repeat_ids, since) whose original was created before the snapshot."""
    if len(repeat_ids) == 0:
        return np.zeros(len(lead_ids), dtype=bool)
    at = _first_positions(repeat_ids, lead_ids)
    return np.append(since, np.array(["NaT"], dtype=since.dtype))[at] < snapshot_at


def _money(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"
