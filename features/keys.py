"""The keys that link CRM rows: lead_id / account_id as the contract reads them, and the leads' mailboxes.

A module of its own with light imports: Spark's Python workers that compute keys (pipelines/spark_job.py)
import only this, pandas and features.fit, not the whole scoring path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.fit import normalised_emails
from features.text import INVISIBLE, SPREADSHEET_ERRORS

# An integer id written as a float ("7.0", "-3.0"): no leading zero ("007.0" is an id of text), one zero after
# the point, as pandas, Python and spreadsheets write a whole-number float. Group 1 is the integer text.
FLOAT_WRITTEN_ID = r"^(-?(?:0|[1-9][0-9]*))\.0$"


# A long number as a spreadsheet shows it, and writes it back to a CSV it saved: "1.23457E+11" for the id
# 123456789012, rounded to 6 digits. Such an id names no CRM record (ids that differ in their last digits read
# as one), so the contract refuses it rather than scoring a lead under it. One digit before the point, a
# capital E and a signed exponent of two or three digits: the shape Excel, LibreOffice and Google Sheets give
# a number, no id's. Python's "1e+20" (a float id column beyond int64) is read as written (sweep 9b).
SPREADSHEET_ROUNDED_ID = r"^[0-9](?:\.[0-9]+)?E\+[0-9]{2,3}$"


# An id of digits with the zeros before its first other digit: "007", "0001234" ("0" alone is kept).
LEADING_ZEROS = r"^0+(?=[0-9])"
ALL_DIGITS = r"^[0-9]+$"


def without_leading_zeros(ids: pd.Series) -> pd.Series:
    """Each id of digits alone without its leading zeros ("007" -> "7", "000" -> "0"), as a spreadsheet that
    opened a CSV writes it back; any other id (letters, missing) is missing here: only digits lose zeros.
    (ALL_DIGITS and LEADING_ZEROS say the same for Spark; str methods here, as a regex took 1.5 s a million.)"""
    text = ids if pd.api.types.is_string_dtype(ids) else ids.astype("str").where(ids.notna())
    digits = (text.str.isascii() & text.str.isdigit()).fillna(False).to_numpy(dtype=bool)
    out = pd.Series(np.nan, index=text.index, dtype=object)
    if digits.any():
        stripped = text[digits].str.lstrip("0")
        out[digits] = stripped.where(stripped != "", "0").to_numpy(dtype=object)
    return out


def formula_errors(ids: pd.Series) -> pd.Series:
    """Which ids are a spreadsheet's formula error (SPREADSHEET_ERRORS, in any case, blanks around ignored):
    True or False per id, False where it is missing or no text."""
    text = ids if pd.api.types.is_string_dtype(ids) else ids.astype("str").where(ids.notna())
    return text.str.strip().str.casefold().isin(SPREADSHEET_ERRORS).fillna(False).astype(bool)


def in_scientific_notation(ids: pd.Series) -> pd.Series:
    """Which ids are written as a spreadsheet shows a long number (SPREADSHEET_ROUNDED_ID): True or False per
    id, False where it is missing or no text."""
    text = ids if pd.api.types.is_string_dtype(ids) else ids.astype("str").where(ids.notna())
    return text.str.match(SPREADSHEET_ROUNDED_ID, na=False).astype(bool)


def visible_ids(ids: pd.Series) -> pd.Series:
    """Text ids without the characters that show as nothing (features.text.INVISIBLE: a zero-width space or a
    byte-order mark pasted in or left by a joined export): the deals of a lead written "L7" and a zero-width
    space were no deals of L7, which was scored as an open lead though it had won. Only ids holding one are
    rewritten."""
    odd = ids.str.contains(INVISIBLE.pattern, regex=True).to_numpy(dtype=bool, na_value=False)
    if not odd.any():
        return ids
    return ids.mask(odd, ids[odd].str.replace(INVISIBLE.pattern, "", regex=True))


def float_written_ids(ids: pd.Series) -> pd.Series:
    """Text ids with each whole-number float ("7.0", from an integer column with gaps exported as floats) read
    as its integer text "7", as the same id is written in a table without gaps; each id on its own, so a
    chunk, a Spark part or one online lead reads it as the whole table does. "7.5" and "007.0" are untouched."""
    odd = ids.str.endswith(".0").to_numpy(dtype=bool, na_value=False)
    if not odd.any():
        return ids
    return ids.mask(odd, ids[odd].str.replace(FLOAT_WRITTEN_ID, r"\1", regex=True))


def id_keys(values: pd.Series, table: str, offset: int) -> np.ndarray:
    """lead_id as the contract reads it (stripped text without invisible characters, 12.0 and "12.0" as "12"); a
    missing id gets a key of its own row."""
    if pd.api.types.is_float_dtype(values):
        present = values.dropna()
        if (present == np.floor(present)).all():
            values = values.astype("Int64")
    text = float_written_ids(visible_ids(values.astype("str")).str.strip())
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
