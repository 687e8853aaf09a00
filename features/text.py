"""Text columns in the feature code: pandas' "str" dtype, and work done once per distinct text.

The feature code reads a text column as its codes into the distinct texts, works on those texts in plain
Python, and spreads the results back to the rows: one lead and a million cost the same per distinct text.
Case and whitespace follow pandas' own .str methods exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

TEXT = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype
# Up to this many values, a plain Python loop costs less than one pandas or Arrow call (a fixed cost of
# tens of microseconds): the one size switch of the feature code, inside the few functions that look up or
# number text, which give the same answer either way.
FEW_VALUES = 256


class Text(NamedTuple):
    """A column read as text (as astype("str") reads it), one code per row and the distinct texts.

    Work is done once per distinct text, then spread to the rows by the codes; code -1 marks a missing value.
    """

    codes: np.ndarray
    texts: list[str]

    def per_row(
        self, per_text: list[Any], missing: Any, dtype: type = object, rows: Any = slice(None)
    ) -> np.ndarray:
        """The value of each row's text (or of these rows'), from one value per distinct text and one for
        missing values."""
        return np.array([*per_text, missing], dtype=dtype)[self.codes[rows]]  # code -1 picks `missing`

    def isin(self, allowed: tuple[str, ...]) -> np.ndarray:
        allowed_set = set(allowed)
        return self.per_row([text in allowed_set for text in self.texts], False, bool)


def cased(texts: list[str], upper: bool) -> list[str]:
    """The texts lower (or upper) cased as pandas' str.lower() (str.upper()) does it."""
    if all(text.isascii() for text in texts):
        return [text.upper() if upper else text.lower() for text in texts]
    # Beyond ASCII, pyarrow (pandas' engine) and Python differ on some case mappings ("İ", "ß").
    series = pd.Series(texts, dtype=TEXT)
    return (series.str.upper() if upper else series.str.lower()).tolist()


def stripped(texts: list[str]) -> list[str]:
    """The texts without leading and trailing whitespace, as pandas' str.strip() gives them."""
    if all(text.isascii() for text in texts):
        return [text.strip() for text in texts]
    # Beyond ASCII, pyarrow and Python differ on what counts as whitespace.
    return pd.Series(texts, dtype=TEXT).str.strip().tolist()


# What a spreadsheet writes in a cell whose formula failed ("#N/A": a lookup that found nothing), as Excel,
# LibreOffice and Google Sheets spell them: no value (and no record's id: features.keys.formula_errors).
SPREADSHEET_ERRORS = frozenset(
    [
        "#n/a",
        "#n/a n/a",
        "#ref!",
        "#value!",
        "#div/0!",
        "#name?",
        "#null!",
        "#num!",
        "#spill!",
        "#calc!",
        "#error!",
        "#getting_data",
    ]
)
# What CRMs write for "not given": missing, like an empty cell (not a country to quarantine, nor a level):
# placeholders, a form's or picklist's untouched choice ("Select", X Education's; Salesforce's "--None--"), a
# report's "(blank)" and a spreadsheet's formula errors.
PLACEHOLDERS = frozenset(
    {
        "-",
        "--",
        "?",
        "n/a",
        "na",
        "none",
        "null",
        "unknown",
        "not given",
        "not specified",
        "not provided",
        "not available",
        "n.a.",
        "(blank)",
        "(none)",
        "(empty)",
        "<blank>",
        "<empty>",
        "[not provided]",
        "undefined",
        "select",
        "please select",
        "-- select --",
        "--select--",
        "none selected",
        "--none--",
    }
    | SPREADSHEET_ERRORS
)
# What CRMs, databases and spreadsheets write in a number or time column for "no value" (pandas read these
# as missing in a CSV; Parquet, Spark and JSON keep them as text): missing on every route, never a value to
# quarantine as no number or no date. Compared after stripping, without case.
NO_VALUE = PLACEHOLDERS | {"nan", "<na>", "nil"}


# Their spellings as written ("NULL", "Null", "null"): a whole column is checked by hashing, not by text ops.
NO_VALUE_SPELLINGS = frozenset(
    spell(word) for word in NO_VALUE for spell in (str.lower, str.upper, str.title, str.capitalize)
)


def spelled_word(
    value: object, words: Collection[str], other_spellings: Mapping[str, str] | None = None
) -> str | None:
    """The word of `words` that `value` spells in another case or with blanks around (" Won" -> "won",
    "NULL" -> "null"), with characters that show as nothing pasted in, or with spaces or hyphens between its
    parts as CRM exports write them ("Demo Request", "demo-request" -> "demo_request"), or that
    `other_spellings` gives for it so written ("Opt-Out" -> opt_out -> "unsubscribe"); None when it spells
    none, or is no text."""
    if not isinstance(value, str):
        return None
    word = value.strip().lower()
    if word in words:
        return word
    joined = WORD_GAPS.sub("_", INVISIBLE.sub("", word).strip())
    if joined in words:
        return joined
    return other_spellings.get(joined) if other_spellings else None


# Between the parts of a word written "demo_request": CRMs write "Demo Request", "Demo-Request", "demo - request".
WORD_GAPS = re.compile(r"[\s_-]+")


def is_no_value(value: object) -> bool:
    """Whether one value is text that means no value (NO_VALUE)."""
    return spelled_word(value, NO_VALUE) is not None


# Characters that show as nothing (zero-width spaces and joiners, direction marks, a byte-order mark, a soft
# hyphen) and control characters: pasted into a CRM field they make "software" a level the model never saw.
INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` as it may be shown or written for people (a console cell, a reason): control characters one space
    each (an escape sequence would recolour a terminal, a carriage return split a CSV row), invisible characters
    dropped (a direction override reorders what is shown)."""
    return INVISIBLE.sub("", CONTROL.sub(" ", text))


def composed(text: str) -> str:
    """`text` in one form however it was typed: accents composed or decomposed ("Santé" as Windows and as macOS
    write it) and fullwidth letters ("ｓｏｆｔｗａｒｅ") read alike (unicodedata's NFKC); ASCII text as it is.
    Every level, categorical value and ICP list is read through it, so they meet on every route."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def without_accents(text: str) -> str:
    """`text` with its accents dropped and other scripts kept ("Société" is Societe, "Доход" stays, fullwidth
    letters plain): the compatibility decomposition without its combining marks."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def composed_column(values: pd.Series) -> pd.Series:
    """A text column with each text as composed() reads it (work done once per distinct non-ASCII text)."""
    non_ascii = values.notna() & ~values.str.isascii().fillna(True).astype(bool)
    if not non_ascii.any():
        return values
    forms = {text: composed(text) for text in values[non_ascii].unique()}
    return values.mask(non_ascii, values[non_ascii].map(forms))


# Punctuation an export leaves after a level typed by hand ("Google.", "Referral;"): no part of the level.
TRAILING_PUNCTUATION = ".,;:!?"


def levels(texts: list[str]) -> list[str | None]:
    """Categorical texts as one level each: lower case, invisible characters dropped, control characters and
    runs of whitespace (non-breaking spaces too) one space, none at either end, no punctuation at the end
    ("Software." is software); None when nothing is left or it is a placeholder ("n/a", "unknown"). "SaaS",
    "saas " and "saas" with a zero-width space are one level, the same in training and scoring; so are text in
    its composed and decomposed forms ("Santé" as Windows and as macOS write it) and in fullwidth letters
    (composed)."""
    if all(
        text.isascii() and text.isprintable() and text == text.strip() and "  " not in text for text in texts
    ):
        lower = [text.lower() for text in texts]
    else:
        cleaned = [" ".join(CONTROL.sub(" ", INVISIBLE.sub("", composed(text))).split()) for text in texts]
        lower = cased(cleaned, upper=False)
    return [None if not text or text in PLACEHOLDERS else _level_of(text) for text in lower]


def _level_of(text: str) -> str | None:
    level = without_end_punctuation(text)
    return None if level in PLACEHOLDERS else level


def without_end_punctuation(text: str) -> str:
    """`text` without the punctuation a level typed by hand ends in ("Software.", "Referral;"), and the blanks
    before it; text that is only punctuation ("?") as it is."""
    return text.rstrip(TRAILING_PUNCTUATION).rstrip() or text


def level_key(text: str) -> str:
    """One spelling for the ways people type one level of an export's column: lower case, without accents,
    blanks or punctuation at its end, runs of blanks one space ("Google", "google ", "GOOGLE", "Google." and
    "Gôogle" are "google"); text that is only punctuation is kept as it is."""
    folded = " ".join(without_accents(composed(text)).split())
    return without_end_punctuation(cased([folded], upper=False)[0].strip())


def factorize_texts(texts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """pd.factorize of an array of str and None (plain Python for a few values: faster)."""
    if len(texts) > FEW_VALUES:
        codes, distinct = pd.factorize(texts)
        return codes, distinct.tolist()
    position: dict[str, int] = {}
    codes = [position.setdefault(t, len(position)) if isinstance(t, str) else -1 for t in texts]
    return np.array(codes, dtype=np.intp), list(position)
