"""Deterministic flat exports in the shapes HubSpot and Salesforce write them, with a learnable signal.

Column names are the CRMs' usual export headers; values are synthetic. About a quarter of the leads are
still open. Conversion rises with engagement (page views, sessions, form submissions) and with the
industry and company size; sales-side columns (Lead Status, Rating, Converted, dates of later events)
follow the outcome, as they do in a real export, so a drafter must find them leaky.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INDUSTRIES = ["Software", "Financial Services", "Retail", "Education", "Healthcare", "Manufacturing"]
INDUSTRY_EFFECT = {"Software": 0.8, "Financial Services": 0.5, "Retail": -0.2, "Education": -0.6}
COUNTRIES = ["United States", "Germany", "United Kingdom", "France", "India", "Canada"]
TITLES = ["Head of Sales", "Marketing Manager", "CTO", "Founder", "Student", "Analyst", "VP Operations"]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Emma", "Femi", "Greta", "Hugo", "Ines", "Jon"]
LAST = ["Smith", "Garcia", "Müller", "Rossi", "Khan", "Silva", "Dubois", "Novak", "Ito", "Berg"]


def _base(n: int, seed: int) -> tuple[np.random.Generator, pd.DataFrame, np.ndarray, np.ndarray]:
    """Shared attributes, each lead's outcome ('won', 'lost', 'open') and its creation time."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(INDUSTRIES, n)
    employees = np.round(np.exp(rng.normal(4.5, 1.5, n))).astype(int) + 1
    pageviews = rng.poisson(np.exp(rng.normal(1.5, 0.8, n)))
    sessions = np.maximum(1, np.round(pageviews / rng.uniform(1.5, 4, n))).astype(int)
    forms = rng.poisson(0.6, n)
    logit = (
        -3.0
        + 1.1 * np.log1p(pageviews)
        + 0.9 * forms
        + 1.5 * np.array([INDUSTRY_EFFECT.get(i, 0.0) for i in industry])
        + 0.4 * (np.log(employees) - 4.5)
    )
    won = rng.random(n) < 1 / (1 + np.exp(-logit))
    is_open = rng.random(n) < 0.25
    outcome = np.where(is_open, "open", np.where(won, "won", "lost"))
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 540 * 24 * 60, n), unit="min")
    attributes = pd.DataFrame(
        {
            "industry": industry,
            "employees": employees,
            "revenue": employees * rng.integers(80, 300, n) * 1000,
            "country": rng.choice(COUNTRIES, n),
            "title": rng.choice(TITLES, n),
            "pageviews": pageviews,
            "sessions": sessions,
            "forms": forms,
            "first": rng.choice(FIRST, n),
            "last": rng.choice(LAST, n),
        }
    )
    return rng, attributes, outcome, pd.DatetimeIndex(created).to_numpy()


def hubspot_contacts_export(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A HubSpot contacts export (Contacts > Export, all properties shown in the view)."""
    rng, a, outcome, created = _base(n, seed)
    created = pd.Series(created)
    stage_open = rng.choice(["Lead", "Marketing Qualified Lead", "Sales Qualified Lead", "Opportunity"], n)
    stage = np.where(outcome == "won", "Customer", np.where(outcome == "lost", "Other", stage_open))
    status = np.select(
        [outcome == "won", outcome == "lost"],
        [rng.choice(["Connected", "Open Deal"], n), rng.choice(["Unqualified", "Bad Timing"], n)],
        rng.choice(["New", "Attempted to Contact", "In Progress"], n),
    )
    became_customer = (created + pd.to_timedelta(rng.integers(5, 90, n), unit="D")).where(outcome == "won")
    last_activity = created + pd.to_timedelta(rng.integers(0, 120 * 24, n), unit="h")
    hubspot_score = np.clip(
        a["pageviews"] * 2 + np.where(outcome == "won", 40, 0) + rng.integers(0, 20, n), 0, 100
    )
    email = [
        f"{f.lower()}.{last.lower()}{i}@example.com"
        for i, (f, last) in enumerate(zip(a["first"], a["last"], strict=True))
    ]
    return pd.DataFrame(
        {
            "Record ID": 5001 + np.arange(n) * 7,
            "First Name": a["first"],
            "Last Name": a["last"],
            "Email": email,
            "Phone Number": [f"+1 555 {i:04d}" for i in range(n)],
            "Company Name": [f"Company {i}" for i in rng.permutation(n)],
            "Create Date": created.dt.strftime("%Y-%m-%d %H:%M"),
            "Lifecycle Stage": stage,
            "Lead Status": status,
            "Contact owner": rng.choice(["Sam Lee", "Ria Patel", "Tom Ford"], n),
            "Original Source": rng.choice(
                [
                    "Organic Search",
                    "Paid Search",
                    "Direct Traffic",
                    "Referrals",
                    "Social Media",
                    "Email Marketing",
                    "Offline Sources",
                ],
                n,
            ),
            "Industry": a["industry"],
            "Number of Employees": a["employees"],
            "Annual Revenue": a["revenue"],
            "Country/Region": a["country"],
            "Job Title": a["title"],
            "Number of Pageviews": a["pageviews"],
            "Number of Sessions": a["sessions"],
            "Number of Form Submissions": a["forms"],
            "Marketing emails opened": rng.poisson(3, n),
            "HubSpot Score": hubspot_score,
            "Last Activity Date": last_activity.dt.strftime("%Y-%m-%d %H:%M"),
            "Became a Customer Date": became_customer.dt.strftime("%Y-%m-%d %H:%M"),
        }
    )


def salesforce_leads_report(n: int = 400, seed: int = 1) -> pd.DataFrame:
    """A Salesforce leads report exported as CSV (Reports > Leads > Export, details only)."""
    rng, a, outcome, created = _base(n, seed)
    created = pd.Series(created)
    status = np.select(
        [outcome == "won", outcome == "lost"],
        ["Closed - Converted", "Closed - Not Converted"],
        rng.choice(["Open - Not Contacted", "Working - Contacted"], n),
    )
    rating = np.where(outcome == "won", rng.choice(["Hot", "Warm"], n), rng.choice(["Warm", "Cold"], n))
    converted_date = (created + pd.to_timedelta(rng.integers(3, 60, n), unit="D")).where(outcome == "won")
    last_activity = created + pd.to_timedelta(rng.integers(1, 100, n), unit="D")
    return pd.DataFrame(
        {
            "Lead ID": [f"00Q5g00000{i:05d}AAA" for i in range(n)],
            "First Name": a["first"],
            "Last Name": a["last"],
            "Title": a["title"],
            "Company / Account": [f"Acct {i}" for i in rng.permutation(n)],
            "Email": [f"lead{i}@example.org" for i in range(n)],
            "Phone": [f"(555) 010-{i:04d}" for i in range(n)],
            "Lead Source": rng.choice(
                ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"], n
            ),
            "Lead Status": status,
            "Converted": (outcome == "won").astype(int),
            "Rating": rating,
            "Industry": a["industry"],
            "No. of Employees": a["employees"],
            "Annual Revenue": a["revenue"],
            "Country": a["country"],
            "Lead Owner": rng.choice(["Sam Lee", "Ria Patel", "Tom Ford"], n),
            "Created Date": created.dt.strftime("%d/%m/%Y"),
            "Last Activity": last_activity.dt.strftime("%d/%m/%Y"),
            "Converted Date": converted_date.dt.strftime("%d/%m/%Y"),
            "Email Opt Out": rng.choice([0, 1], n, p=[0.9, 0.1]),
            "Web Visits": a["pageviews"],
            "Form Submissions": a["forms"],
        }
    )
