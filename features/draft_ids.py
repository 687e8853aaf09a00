"""Which column is the record id: one with an id-like name (the last word one of rules.id_words) that is
filled in and unique in every row, or with only a few repeated or missing ids; else a unique column of codes;
else none, and the spec numbers the rows (ROW_ID_NAMES). A contact detail is never the id.
"""

from __future__ import annotations

import pandas as pd

from features.draft_rules import DraftRules, name_words


def is_id_name(name: object, rules: DraftRules) -> bool:
    """An id-like name: its last word is one of rules.id_words ("Record ID", "Lead Number", "lead_id")."""
    words = name_words(name).split()
    return bool(words) and words[-1] in {name_words(w) for w in rules.id_words}


# The column a spec numbers the rows into when the export has no id (the first name the export does not use).
ROW_ID_NAMES = ("row", "row_number", "leadscore_row", "leadscore_row_number")


def guess_id(frame: pd.DataFrame, rules: DraftRules, exclude: str) -> str | None:
    """The column with an id-like name whose values are filled in and unique in every row, the one whose last
    word comes first in rules.id_words ("Lead ID" before "Lead Number", whatever the column order); else such
    a column with a few repeated or missing ids (at most rules.id_repeat_share of the rows, which the contract
    quarantines: a CRM's merged duplicates); else the first unique column whose values look like codes (no
    blanks, no @, not dates), e.g. a CRM's GUID column; None when no column is one (public data sets often
    have no record id). A contact detail (Phone Number) is never the id: the scores would be keyed by phone
    numbers, and a repeated record id let it take the record id's place."""
    contact = {name_words(w) for w in rules.contact_words}
    columns = [c for c in frame.columns if c != exclude and name_words(c) not in contact]
    unique = [c for c in columns if frame[c].notna().all() and frame[c].is_unique]
    id_words = [name_words(w) for w in rules.id_words]
    named = [c for c in unique if is_id_name(c, rules)]
    if not named:
        named = [c for c in columns if is_id_name(c, rules) and id_repeats(frame[c]) <= rules.id_repeat_share]
    if named:
        return str(min(named, key=lambda c: id_words.index(name_words(c).split()[-1])))
    for column in unique:
        text = frame[column].astype("str")
        if not text.str.contains(r"[\s@]|^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).any():
            return str(column)
    return None


def id_repeats(ids: pd.Series) -> float:
    """The share of rows whose id is missing or repeats an earlier row's (what the contract quarantines)."""
    text = ids.astype("str").str.strip()
    bad = ids.isna() | text.eq("") | text.duplicated(keep="first")
    return float(bad.mean()) if len(ids) else 1.0
