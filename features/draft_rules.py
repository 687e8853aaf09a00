"""The drafter's vocabulary: DraftRules (the word lists and thresholds of pipelines/defaults/spec_draft.yaml),
the Draft it fills in and DraftError, and how the rules read an export's column names and values: a name as
its plain words (name_words, has_word), a value as YAML writes it (plain_value), and the values that mean
'not given' (find_placeholders, without_drafted_placeholders).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.flat import IcpAttribute
from features.text import SPREADSHEET_ERRORS, without_accents


class DraftError(ValueError):
    """The export cannot be drafted (no id or label column found): one sentence with the fix."""


class DraftRules(BaseModel):
    """Word lists and thresholds the drafter decides with (see pipelines/defaults/spec_draft.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label_names: list[str]
    lost_words: list[str]
    won_words: list[str]
    open_words: list[str]
    id_words: list[str]
    time_words: list[str]
    intent_words: list[str]
    leaky_words: list[str]
    leaky_names: list[str] = Field(default_factory=list)  # whole names only: "duration", not "Page Duration"
    contact_words: list[str]
    # A number counting the time since the lead came in, as the CRM computed it on the export day ("Days Since
    # Created", "Lead Age"): names for it, and words before a creation word (rules.time_words). A default: a
    # rules file written before it still reads.
    age_words: list[str] = Field(default_factory=list)
    since_words: list[str] = Field(default_factory=list)
    # A whole-number column with one of these words in its name holds codes of categories (TrafficType 2 is no
    # more than 1): categorical, never numeric. A default: a rules file written before it still reads.
    code_words: list[str] = Field(default_factory=list)
    # ... and a name whose last word ends in one of these: an API's run-together names (Dynamics 365's
    # leadsourcecode, industrycode) hold the word without a blank before it.
    code_suffixes: list[str] = Field(default_factory=list)
    placeholders: list[str]
    placeholder_prefixes: list[str]
    free_text_share: float = Field(gt=0, le=1)
    numeric_share: float = Field(gt=0, le=1)
    # A column numbers fill this share of (short of numeric_share) beside at most stray_texts_max texts ("#DIV/0!",
    # "TBD") is numbers with a few odd cells, never categories: a QUESTION. Defaults: older rules files still read.
    mostly_numbers_share: float = Field(0.5, gt=0, le=1)
    stray_texts_max: int = Field(3, ge=1)
    audit_auc: float = Field(gt=0.5, le=1)
    fill_gap: float = Field(gt=0, le=1)
    follow_up_auc: float = Field(0.7, gt=0.5, le=1)  # a default: a rules file written before it still reads
    # A dated export's number whose AUC alone falls by this much from its oldest third of won and lost rows to
    # its newest (and by 3 standard errors, from at least follow_up_auc) keeps moving after the outcome.
    aging_auc_drop: float = Field(0.15, gt=0, lt=0.5)
    id_repeat_share: float = Field(0.01, ge=0, lt=1)  # an id-like column with this share repeated is the id
    # A label without open values whose newest leads (this share, by creation time) are won at most
    # newest_won_ratio as often as the older ones may count the leads not decided yet as lost: a QUESTION.
    newest_share: float = Field(0.1, gt=0, lt=0.5)
    newest_won_ratio: float = Field(0.5, gt=0, lt=1)
    # A label with open values that holds at least this share of its leads created stale_open_days or more
    # before the newest one open: a CRM that never closes the leads it gave up on (HubSpot's 'Lead' for ever)
    # may hold losses there.
    stale_open_share: float = Field(0.2, gt=0, le=1)
    stale_open_days: int = Field(180, gt=0, le=36500)
    # A fit or intent column whose audit AUC alone is at least lone_auc and lone_auc_gap above every other
    # column's is a QUESTION: under audit_auc, yet the one thing the model would learn.
    lone_auc: float = Field(0.8, gt=0.5, le=1)
    lone_auc_gap: float = Field(0.15, gt=0, lt=0.5)
    closed_names: list[str] = Field(default_factory=list)  # a flag saying a deal is closed (false: open)
    # A label whose whole numbers are more than a 1 / 0 flag is sorted by its column's name only: its 0 and 1
    # are codes, not flags (Dynamics 365's statecode 0 is Open). Column name -> code -> won / lost / open.
    label_codes: dict[str, dict[int, Literal["won", "lost", "open"]]] = Field(default_factory=dict)
    icp_names: dict[IcpAttribute, list[str]] = Field(default_factory=dict)  # ICP attribute -> column names
    # A country outside the served geography is proposed for icp.served_countries when it holds this share of
    # the won leads (only when the geography would stop training: icp.max_won_disqualified_share).
    served_country_min_won_share: float = Field(0.01, gt=0, le=1)
    # A revenue column whose median per employee is below this is in thousands or millions (Maven's CRM data
    # writes 1,120 for $1.12bn), not the ICP's USD: it is not mapped to annual_revenue.
    min_revenue_per_employee: float = Field(1000.0, ge=0)


@dataclass
class Draft:
    """An ExportSpec-shaped dict, and the comments that go beside its keys and columns."""

    spec: dict[str, Any]
    notes: dict[str, str] = field(default_factory=dict)  # top-level key -> comment
    column_notes: dict[str, str] = field(default_factory=dict)  # export column -> comment
    questions: list[str] = field(default_factory=list)  # what the drafter could not decide
    header: list[str] = field(default_factory=list)


def name_words(name: object) -> str:
    """'IsConverted' -> 'is converted', 'Number of Pageviews' -> 'number of pageviews'; accents dropped and
    other scripts kept ('Größe' -> 'grosse', 'Société' -> 'societe', 'Доход' -> 'доход'), never a letter."""
    text = without_accents(str(name))
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def has_word(name: object, words: list[str]) -> str | None:
    """The first word or phrase of `words` found whole in the name, else None."""
    padded = f" {name_words(name)} "
    return next((w for w in words if f" {name_words(w)} " in padded), None)


def code_word(name: object, rules: DraftRules) -> str | None:
    """The word saying a column holds codes of categories (rules.code_words, or a last word ending in one of
    rules.code_suffixes: 'leadsourcecode'), else None."""
    words = name_words(name).split()
    suffix = next((s for s in rules.code_suffixes if words and words[-1].endswith(name_words(s))), None)
    return has_word(name, rules.code_words) or suffix


def plain_value(value: object) -> str | int | float | bool:
    """A label value as YAML can write it (numpy scalars to Python)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def find_placeholders(frame: pd.DataFrame, rules: DraftRules) -> list[str]:
    """Text values that mean 'not given' ("Select", "-", "Unknown"), as written in the export: one of the rules'
    words, or a prefix of theirs as a whole word ("Select one", "Please select..."; "Selection" is a level).
    A word that negates the other of a column's only two values is that column's level ("Not available" beside
    "Available", "Unknown" beside "Known"): missing_values apply to every column, and listing it made the
    column constant and dropped it."""
    words = {
        w.casefold() for w in rules.placeholders
    } | SPREADSHEET_ERRORS  # every formula error, as CRM reading
    prefixes = tuple(p.casefold() for p in rules.placeholder_prefixes)
    found: set[str] = set()
    levels: set[str] = set()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        distinct = values.dropna().astype("str").str.strip().unique()
        for value in distinct:
            folded = value.casefold()
            if folded in words or any(_starts_with_word(folded, prefix) for prefix in prefixes):
                (levels if _negates_the_other(value, distinct) else found).add(value)
    return sorted(found - levels)


def _negates_the_other(value: str, distinct: Sequence[str]) -> bool:
    """Whether `value` is one of two values and holds the other as a word or as its end ("Not available" and
    "Available", "Unknown" and "Known")."""
    if len(distinct) != 2:
        return False
    other = next(v for v in distinct if v != value).casefold()
    folded = value.casefold()
    return bool(other) and (other in folded.split() or folded.endswith(other))


def _starts_with_word(text: str, prefix: str) -> bool:
    """Whether `text` starts with `prefix` as a whole word (what follows is no letter or digit)."""
    return text.startswith(prefix) and not text[len(prefix) : len(prefix) + 1].isalnum()


def without_drafted_placeholders(values: pd.Series, placeholders: list[str]) -> pd.Series:
    """The values with the placeholders found in the export masked as missing (a column of numbers as it is)."""
    if not placeholders or pd.api.types.is_numeric_dtype(values):
        return values
    return values.mask(values.astype("str").str.strip().isin(placeholders))
