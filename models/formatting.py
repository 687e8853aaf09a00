"""Numbers and dates in words: as the model card prints them (percentages, multiples, counts, days and
intervals, with a dash where a number cannot be measured), and as the retrain's report and tags print them
(ISO days, plain percentages); and text from the data as Markdown that shows as written."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

NBSP = "\u00a0"
DASH = "\u2014"  # shown where a number cannot be measured; every table says why


_YEAR_NAME = re.compile(r"(?:^|[^a-z])year(?:$|[^a-z])")


def names_a_year(name: str) -> bool:
    """A column named for a calendar year (`year_established`, `Founded Year`, `YearBuilt`): its whole numbers
    are years, written 2012, never 2,012."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name)).casefold()
    return _YEAR_NAME.search(words) is not None


def number_words(value: float, year: bool = False) -> str:
    """A number as a reason says it: 2012 for a year (`year`), else figure_text (2,012 for an amount, 0.0000846
    never in exponent form)."""
    if year and float(value).is_integer():
        return f"{value:.0f}"
    return figure_text(value)


def is_finite(x: Any) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def pct_text(x: Any, digits: int = 0) -> str:
    """A share as a percentage; one that is neither none nor all never reads as 0 % or 100 % ("<1 %", ">99 %"):
    199 won of 200 is not "won 100 % of the time"."""
    if not is_finite(x):
        return DASH
    value = float(x) * 100
    text = f"{value:.{digits}f}"
    step = 10.0**-digits
    if float(text) == 0 and value > 1e-9:  # a tolerance: a sum of shares is not exactly 0 or 1
        return f"<{step:.{digits}f}{NBSP}%"
    if float(text) == 100 and value < 100 - 1e-9:
        return f">{100 - step:.{digits}f}{NBSP}%"
    return f"{text}{NBSP}%"


def points_text(x: Any) -> str:
    """A gap between two shares in percentage points, in whole points; one that rounds to 0 but is no 0 reads
    "less than 1 percentage point" (an ECE of 0.002 is not "0 percentage points from what happened")."""
    if not is_finite(x):
        return DASH
    value = abs(float(x)) * 100
    if round(value) == 0:
        return "less than 1 percentage point" if value > 1e-9 else "0 percentage points"
    return f"{value:.0f} percentage point{'s' * (round(value) != 1)}"


def num_text(x: Any, digits: int = 3) -> str:
    return f"{float(x):.{digits}f}" if is_finite(x) else DASH


def figure_text(value: float, significant: int = 3) -> str:
    """A number as a reason says it: thousands grouped and whole from 100 (6,136), else `significant` digits
    and never in exponent form (86.5, 0.0106, 0.0000846: not 86.4569 or 8.456e-05)."""
    if not np.isfinite(value):
        return f"{value:g}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if value == 0:
        return "0"
    decimals = max(0, significant - 1 - int(np.floor(np.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def times_text(x: Any) -> str:
    return f"{float(x):.1f}\u00d7" if is_finite(x) else DASH


def count_text(x: Any) -> str:
    return f"{int(round(float(x))):,}" if is_finite(x) else DASH


def day_text(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return DASH
    stamp = pd.Timestamp(x)
    return DASH if pd.isna(stamp) else f"{stamp.day} {stamp:%b %Y}"


def has_date(x: Any) -> bool:
    return x is not None and not pd.isna(x)


def interval_text(value: Any, low: Any, high: Any) -> str:
    if is_finite(low) and is_finite(high):
        return f"{num_text(value)} ({num_text(low)}\u2013{num_text(high)})"
    return num_text(value)


def counted(n: int, noun: str) -> str:
    """'1 input', '3 inputs', '1,200 segments': a count with its noun in the right number."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


# Characters Markdown reads as markup rather than text: raw HTML and entities, links and images, code spans,
# emphasis and strikethrough (`*`, `_`, `~`) and the escape itself. Text from the data (an industry, a lead
# source, an export's column or level) is written with them escaped, as the HTML twin escapes it, so that it
# shows as written and never runs (`<img onerror=...>`, `[x](javascript:...)`) or toggles bold ("**VIP**").
# A `_` between two letters or digits never starts or ends emphasis, so `wrong_persona` stays as it is.
MD_MARKUP = re.compile(r"[\\`*~\[\]<&]|(?<![^\W_])_|_(?![^\W_])")
# The card's own bold: a sentence or bullet that starts with a title ("**What the score is.** ..."). Only there
# is `**` the card's; anywhere else it came with the data.
OWN_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def own_bold(text: str) -> tuple[str, str]:
    """`text` split into its leading bold title (the card's own, "" when none) and the rest."""
    title = OWN_BOLD.match(text)
    return (title[1], text[title.end() :]) if title else ("", text)


def md_text(text: str, bold: bool = False) -> str:
    """`text` as Markdown that shows as written, on one line. With `bold` (a paragraph or bullet of the card),
    a leading **title** stays bold, as the card's HTML makes it; every other `**` shows as written."""
    line = " ".join(str(text).splitlines())
    title, rest = own_bold(line) if bold else ("", line)
    escaped = [MD_MARKUP.sub(lambda found: "\\" + found[0], part) for part in (title, rest)]
    return f"**{escaped[0]}**{escaped[1]}" if title else escaped[1]


def top_key(share: float) -> str:
    return f"top{round(share * 100)}"


def iso_day(value: Any) -> str:
    """2026-02-01, or the full ISO time when it is not midnight (the retrain's windows, report and tags)."""
    ts = pd.Timestamp(value)
    return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat()


def pct_or_na(value: Any) -> str:
    """12%, or n/a when missing (the retrain's report)."""
    return "n/a" if pd.isna(value) else f"{float(value):.0%}"
