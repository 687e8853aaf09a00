"""The CRM tables as they were known at a date: what a job run on that date would have seen."""

from __future__ import annotations

import pandas as pd


def tables_as_of(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The CRM as it was known at `as_of`: later leads, deals and activities removed, later closes undone.

    Accounts are kept whole (reference data that leads point to).
    """
    as_of = pd.Timestamp(as_of)
    out = dict(tables)
    out["leads"] = _before(tables["leads"], "created_at", as_of)
    out["activities"] = _before(tables["activities"], "occurred_at", as_of)
    if "deals" in tables:
        deals = _before(tables["deals"], "created_at", as_of).copy()
        closed_later = (deals["closed_at"] >= as_of).to_numpy()
        deals.loc[closed_later, "outcome"] = "open"
        deals.loc[closed_later, "closed_at"] = pd.NaT
        deals.loc[closed_later, "lost_reason"] = None
        out["deals"] = deals
    return out


def _before(frame: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    return frame[pd.to_datetime(frame[column]) < as_of].reset_index(drop=True)
