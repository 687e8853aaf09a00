"""The model card for sales leadership: what the card needs (CardData), and the card itself as a
self-contained HTML page (styles inline, charts as embedded PNG) with a Markdown twin.

Pure: frames and fitted objects in, strings out. Every section says its point in plain words first, computed
from the numbers, and shows the numbers second. The Markdown twin has the same sections, sentences and tables;
it leaves the charts out and names each one (with its description) so that it stays one readable text file.
"""

from __future__ import annotations

from models.card.data import AnyScorer, CardData, CardSettings, build_card_data
from models.card.render import render_card
from models.card.sections import SECTION_IDS, drift_sentences
from models.card.words import contender_label, summary_sentences
from models.formatting import DASH, NBSP

__all__ = [
    "AnyScorer",
    "CardData",
    "CardSettings",
    "DASH",
    "NBSP",
    "SECTION_IDS",
    "build_card_data",
    "contender_label",
    "drift_sentences",
    "render_card",
    "summary_sentences",
]
