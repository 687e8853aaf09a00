"""A marketing funnel with few columns, out of time, the way a user runs it: `leadscore spec draft` on the
export, then `leadscore evaluate --out-of-time` with the drafted spec.

Run: .venv/bin/python -m benchmarks.bench_pages [--seeds 0,1,2] [--rows 8000] [--set model.KEY=VALUE]

The export is shaped like the public marketing-funnel data of a marketplace (one row per qualified lead, one
year of first contacts): the id, the date of first contact, the landing page the lead signed up on (hundreds
of pages, a few popular and a long tail, new pages launched all year) and the lead's origin (ten channels
and some blanks); the outcome, "converted", is a closed deal. Few leads came in the first half year and most
in the last five months, when the win rate also rose: from about 4 % to about 15 %. The landing page and the
origin carry the signal; nothing in the columns shows the rise. The oracle is the generator's true
probability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.bench_bank import drafted_backtests

# Leads per month of first contact, June to May (the shape of the public data: a slow start, then growth).
MONTHLY_LEADS = [4, 239, 386, 312, 416, 445, 200, 1141, 1028, 1174, 1352, 1303]
ORIGINS = {  # channel: (share of leads, effect on the log-odds)
    "organic_search": (0.287, 0.2),
    "paid_search": (0.198, 0.35),
    "social": (0.169, -0.35),
    "unknown": (0.137, -0.6),
    "direct_traffic": (0.062, 0.1),
    "email": (0.062, -0.7),
    "referral": (0.036, 0.3),
    "other": (0.019, -0.2),
    "display": (0.015, -0.4),
    "other_publicities": (0.008, -0.3),
    "": (0.007, 0.0),
}


def landing_pages(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """Each page's id, its launch day in the year, popularity weight and effect on the log-odds."""
    launched = np.where(rng.random(count) < 0.4, 0.0, rng.uniform(0, 340, count))
    return pd.DataFrame(
        {
            "page": [f"{value:032x}" for value in rng.integers(0, 2**62, count)],
            "launched": launched,
            "weight": rng.pareto(1.1, count) + 0.05,
            "effect": rng.normal(0, 0.8, count),
        }
    )


def pages_export(seed: int, rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The export (as written to CSV) and each row's true win probability."""
    rng = np.random.default_rng(seed)
    months = rng.choice(12, rows, p=np.array(MONTHLY_LEADS) / sum(MONTHLY_LEADS))
    days = np.sort(months * 30.4 + rng.uniform(0, 30.4, rows))
    pages = landing_pages(rng, 495)
    page = np.empty(rows, dtype=int)
    for i, day in enumerate(days):  # a page is chosen among those already launched, by popularity
        weight = np.where(pages["launched"].to_numpy() <= day, pages["weight"].to_numpy(), 0.0)
        page[i] = rng.choice(len(pages), p=weight / weight.sum())
    names = list(ORIGINS)
    shares = np.array([ORIGINS[n][0] for n in names])
    origin = rng.choice(len(names), rows, p=shares / shares.sum())
    rise = 1.4 * np.clip((days - 150) / 200, 0, 1)  # the win rate rises through the second half year
    logit = -3.0 + rise + pages["effect"].to_numpy()[page] + np.array([ORIGINS[n][1] for n in names])[origin]
    p = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "mql_id": [f"{value:032x}" for value in rng.integers(0, 2**62, rows)],
            "first_contact_date": (pd.Timestamp("2017-06-01") + pd.to_timedelta(days, unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "landing_page_id": pages["page"].to_numpy()[page],
            "origin": np.array(names)[origin],
            "converted": (rng.random(rows) < p).astype(int),
        }
    )
    return frame, p


def main() -> None:
    drafted_backtests("pages", pages_export, lambda frame: frame["converted"].to_numpy(), 8000, __doc__ or "")


if __name__ == "__main__":
    main()
