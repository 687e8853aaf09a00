"""The keys that link CRM rows: lead_id / account_id as the contract reads them, and the leads' mailboxes.

A module of its own with light imports: Spark's Python workers that compute keys (pipelines/spark_job.py)
import only this, pandas and features.fit, not the whole scoring path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.fit import normalised_emails


def id_keys(values: pd.Series, table: str, offset: int) -> np.ndarray:
    """lead_id as the contract reads it (stripped text, 12.0 as "12"); a missing id gets a key of its own row."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if (present == np.floor(present)).all():
            values = values.astype("Int64")
    text = values.astype("str").str.strip()
    missing = (values.isna() | text.eq("")).to_numpy(dtype=bool)
    keys = text.to_numpy(dtype=object)
    rows = np.flatnonzero(missing)
    keys[rows] = [f"\0{table}:{offset + r}" for r in rows]
    return keys


def mailboxes(leads: pd.DataFrame) -> np.ndarray:
    """The mailbox of each lead with an email that can be valid (has an '@'), else None."""
    if "email" not in leads.columns:
        return np.full(len(leads), None, dtype=object)
    usable = leads["email"].astype("str").str.contains("@", regex=False).fillna(False).to_numpy(dtype=bool)
    boxes = normalised_emails(leads["email"]).to_numpy(dtype=object)
    boxes[~usable] = None
    return boxes
