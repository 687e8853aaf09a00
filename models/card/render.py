"""The card as a self-contained HTML page (styles inline, charts as embedded PNG) and its Markdown twin."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import Any

from models.card.data import CardData, ExampleLead
from models.card.sections import (
    Bullets,
    Chart,
    ChartRow,
    Example,
    Heading,
    Para,
    Section,
    Table,
    Tiles,
    card_sections,
)
from models.card.words import version_name
from models.formatting import NBSP, day_text, md_text, own_bold, pct_text

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f3f5f8; color: #1d2330; font: 15px/1.55 "Segoe UI", "Helvetica Neue", Arial,
  "DejaVu Sans", sans-serif; }
header { background: #14365d; color: #fff; padding: 28px 0 22px; }
header .inner, main { max-width: 1140px; margin: 0 auto; padding: 0 32px; }
header h1 { margin: 0 0 4px; font-size: 27px; font-weight: 650; letter-spacing: .2px; }
header .meta { color: #c9d6e6; font-size: 13.5px; }
header .badge { display: inline-block; background: #2e9e6f; color: #fff; border-radius: 12px; padding: 1px 10px;
  font-size: 12.5px; font-weight: 600; margin-left: 8px; vertical-align: 3px; }
header .badge.refused { background: #b5533c; }
nav { max-width: 1140px; margin: 14px auto 0; padding: 0 32px; font-size: 13.5px; }
nav a { color: #1f5fa8; text-decoration: none; margin-right: 16px; }
section { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(20, 40, 70, .10);
  margin: 18px 0; padding: 22px 30px 26px; }
h2 { margin: 0 0 14px; font-size: 21px; color: #14365d; }
h3 { margin: 22px 0 8px; font-size: 16px; color: #14365d; }
p { margin: 8px 0; }
ul { margin: 8px 0; padding-left: 22px; }
li { margin: 4px 0; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin: 4px 0 16px; }
.tile { background: #eef3fa; border-radius: 8px; padding: 14px 16px; }
.tile .big { font-size: 32px; font-weight: 700; color: #14365d; line-height: 1.15; }
.tile .small { font-size: 13px; color: #4a5567; }
.table-wrap { overflow-x: auto; margin: 14px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; color: #14365d; padding-bottom: 6px; }
th { background: #f0f3f7; font-weight: 600; color: #344054; text-align: left; }
th, td { padding: 5px 9px; border-bottom: 1px solid #e4e8ee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td:first-child { white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
.note { font-size: 12.5px; color: #5b6575; margin: 4px 0 0; }
.charts { display: flex; gap: 14px; align-items: flex-start; margin: 14px 0; }
.charts figure { margin: 0; flex: 1 1 0; min-width: 0; }
.charts figure.half { flex: 0 0 calc(50% - 7px); }
.charts img { width: 100%; height: auto; border: 1px solid #e4e8ee; border-radius: 6px; }
figcaption { font-size: 12.5px; color: #5b6575; margin-top: 4px; }
figcaption .says { display: block; font-size: 14px; color: #1d2330; font-weight: 600; }
.appendix-title { max-width: 1140px; margin: 34px auto 0; color: #14365d; font-size: 19px; }
.examples { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
.example { border: 1px solid #e4e8ee; border-top: 4px solid #1f5fa8; border-radius: 8px; padding: 12px 14px;
  font-size: 13.5px; }
.example h4 { margin: 0 0 2px; font-size: 14px; color: #14365d; }
.example .score { font-size: 24px; font-weight: 700; color: #14365d; }
.example .facts { color: #5b6575; font-size: 12.5px; margin: 2px 0 6px; }
.example .outcome-won { color: #2e7d4f; font-weight: 600; }
.example .outcome-lost { color: #9a3b2b; font-weight: 600; }
.example ul { padding-left: 18px; }
.plus { color: #2e7d4f; } .minus { color: #9a3b2b; }
footer { color: #7a8494; font-size: 12px; text-align: center; padding: 10px 0 30px; }
@media print { body { background: #fff; } section { box-shadow: none; page-break-inside: avoid; } }
"""


def _inline(text: str) -> str:
    """Escape for HTML; a leading **title** (the card's own, models.formatting.own_bold) becomes <strong>."""
    title, rest = own_bold(text)
    return (f"<strong>{html.escape(title)}</strong>" if title else "") + html.escape(rest)


def _html_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)

    def cls(i: int) -> str:
        return ' class="num"' if numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{html.escape(c)}</th>" for i, c in enumerate(table.columns))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{html.escape(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f'<div class="table-wrap"><table><caption>{html.escape(table.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"
    )


def _html_chart(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    half = ' class="half"' if chart.half else ""
    return (
        f'<figure{half}><img id="chart-{chart.name}" src="data:image/png;base64,{data}" '
        f'alt="{html.escape(chart.alt)}">'
        f"<figcaption>{_says(chart)}{html.escape(chart.alt)}</figcaption></figure>"
    )


def _says(chart: Chart) -> str:
    return f'<span class="says">{html.escape(chart.says)}</span> ' if chart.says else ""


def _html_example(lead: ExampleLead) -> str:
    outcome = (
        '<span class="outcome-won">went on to win</span>'
        if lead.won
        else '<span class="outcome-lost">was lost</span>'
    )
    plus = "".join(f'<li><span class="plus">+</span> {html.escape(r)}</li>' for r in lead.reasons_positive)
    minus = "".join(
        f'<li><span class="minus">\u2212</span> {html.escape(r)}</li>' for r in lead.reasons_negative
    )
    return (
        f'<div class="example"><h4>{html.escape(lead.label)}</h4>'
        f'<div><span class="score">{pct_text(lead.score)}</span> grade {html.escape(lead.grade)}'
        f"{html.escape(_tier_and_intent(lead))}</div>"
        f'<div class="facts">{html.escape(_id_and_facts(lead))}</div>'
        f"<ul>{plus}{minus}</ul><div>This deal {outcome}.</div></div>"
    )


def _html_blocks(blocks: Sequence[Any]) -> str:
    out: list[str] = []
    examples: list[str] = []
    for block in blocks:  # a few dozen blocks
        if isinstance(block, Example):
            examples.append(_html_example(block.lead))
            continue
        if examples:
            out.append(f'<div class="examples">{"".join(examples)}</div>')
            examples = []
        out.append(_HTML_BLOCK[type(block)](block))
    if examples:
        out.append(f'<div class="examples">{"".join(examples)}</div>')
    return "\n".join(out)


_HTML_BLOCK: dict[type, Callable[[Any], str]] = {
    Para: lambda b: f"<p>{_inline(b.text)}</p>",
    Bullets: lambda b: "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>",
    Heading: lambda b: f"<h3>{html.escape(b.text)}</h3>",
    Tiles: lambda b: (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><div class="big">{html.escape(big)}</div><div class="small">{html.escape(small)}'
            "</div></div>"
            for big, small in b.items
        )
        + "</div>"
    ),
    Table: _html_table,
    ChartRow: lambda b: '<div class="charts">' + "".join(_html_chart(c) for c in b.charts) + "</div>",
}


def _title(data: CardData) -> str:
    return f"Model card: {data.model_name} {version_name(data)}"


def _meta(data: CardData) -> str:
    run = f" \u00b7 MLflow run {data.run_id}" if data.run_id else ""
    return (
        f"Lead scoring model \u00b7 trained {day_text(data.trained_at)} \u00b7 next retrain "
        f"{day_text(data.next_retrain)}{run}"
    )


def _badge(data: CardData) -> tuple[str, str]:
    if not data.decision:
        return "", ""
    promoted = data.decision.startswith("promoted")
    return ("promoted to champion" if promoted else "not promoted"), ("" if promoted else " refused")


def to_html(data: CardData, sections: Sequence[Section]) -> str:
    badge, badge_class = _badge(data)
    badge_html = f'<span class="badge{badge_class}">{html.escape(badge)}</span>' if badge else ""
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        (f'<h2 class="appendix-title">{APPENDIX_TITLE}</h2>\n' if _opens_appendix(sections, i) else "")
        + f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>\n{_html_blocks(s.blocks)}\n</section>'
        for i, s in enumerate(sections)
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(_title(data))}</title><style>{CSS}</style></head><body>\n"
        f'<header><div class="inner"><h1>{html.escape(_title(data))}{badge_html}</h1>'
        f'<div class="meta">{html.escape(_meta(data))}</div></div></header>\n'
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        "<footer>Generated by leadscore. Numbers come from the training run named above; the Markdown twin "
        "of this page holds the same sections and tables.</footer>\n</body></html>\n"
    )


APPENDIX_TITLE = "Appendix: the numbers behind the first page, for analysts"


def _opens_appendix(sections: Sequence[Section], i: int) -> bool:
    return sections[i].appendix and (i == 0 or not sections[i - 1].appendix)


def _md_cell(text: str) -> str:
    return md_text(text).replace("|", "\\|")


def _md_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    lines = [
        f"**{md_text(table.caption)}**",
        "",
        "| " + " | ".join(_md_cell(c) for c in table.columns) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
        *("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows),
    ]
    if table.note:
        lines += ["", f"_{md_text(table.note)}_"]
    return "\n".join(lines)


def _tier_and_intent(lead: ExampleLead) -> str:
    """ ", fit tier A, high intent", leaving out what the data has not (an export without ICP or intent
    columns)."""
    parts = [f"fit tier {lead.fit_tier}" if _given(lead.fit_tier) else "", ""]
    parts[1] = f"{lead.intent_band} intent" if _given(lead.intent_band) else ""
    return "".join(f", {p}" for p in parts if p)


def _given(value: str) -> bool:
    return value not in ("", "nan", "<NA>", "None")


def _id_and_facts(lead: ExampleLead) -> str:
    """The lead's id, then its company facts when the data has any (an export's card has none to say)."""
    return " \u00b7 ".join(part for part in (lead.lead_id, lead.facts) if part)


def _md_example(lead: ExampleLead) -> str:
    outcome = "went on to win" if lead.won else "was lost"
    lines = [
        f"**{md_text(lead.label)}**: {pct_text(lead.score)}, grade {md_text(lead.grade + _tier_and_intent(lead))} "
        f"({md_text(_id_and_facts(lead))}). This deal {outcome}.",
        "",
        *(f"- + {md_text(r)}" for r in lead.reasons_positive),
        *(f"- \u2212 {md_text(r)}" for r in lead.reasons_negative),
    ]
    return "\n".join(lines)


_MD_BLOCK: dict[type, Callable[[Any], str]] = {
    Para: lambda b: md_text(b.text, bold=True),
    Bullets: lambda b: "\n".join(f"- {md_text(i, bold=True)}" for i in b.items),
    Heading: lambda b: f"### {md_text(b.text)}",
    Tiles: lambda b: (
        "| "
        + " | ".join(f"**{_md_cell(big)}**" for big, _ in b.items)
        + " |\n|"
        + "---|" * len(b.items)
        + "\n| "
        + " | ".join(_md_cell(small) for _, small in b.items)
        + " |"
    ),
    Table: _md_table,
    ChartRow: lambda b: "\n\n".join(
        f"> Chart ({c.name}, in the HTML card): {md_text(c.says + ' ' if c.says else '')}{md_text(c.alt)}"
        for c in b.charts
    ),
    Example: lambda b: _md_example(b.lead),
}


def to_markdown(data: CardData, sections: Sequence[Section]) -> str:
    lines = [f"# {md_text(_title(data))}", "", md_text(_meta(data)) + ".", ""]
    if data.decision:
        lines += [f"Status: {_badge(data)[0]}.", ""]
    for i, section in enumerate(sections):
        if _opens_appendix(sections, i):
            lines += ["---", "", f"**{APPENDIX_TITLE}**", ""]
        lines += [f'<a id="{section.id}"></a>', "", f"## {md_text(section.title)}", ""]
        for block in section.blocks:
            lines += [_MD_BLOCK[type(block)](block), ""]
    lines.append(
        "_The charts are in the HTML card; this Markdown twin has the same sections, sentences and tables._"
    )
    return "\n".join(lines).replace(NBSP, " ") + "\n"


def body_text(data: CardData, sections: Sequence[Section] | None = None) -> str:
    """The card's body as text (title, first page and every section before the appendix): what a VP reads,
    and what must name no metric (first_page.JARGON)."""
    sections = card_sections(data) if sections is None else sections
    body = [s for s in sections if not s.appendix]
    return to_markdown(data, body).removesuffix(
        "_The charts are in the HTML card; this Markdown twin has the same sections, sentences and tables._\n"
    )


def render_card(data: CardData) -> tuple[str, str]:
    """The card as (self-contained HTML, Markdown twin). Sections carry the ids in SECTION_IDS."""
    import matplotlib

    sections = card_sections(data)
    # The charts are drawn as the HTML asks for them (the Markdown twin and body_text draw none). Their labels
    # are plain text: an export column "Budget ($) vs spend ($)" is no TeX formula ("Visits $$ count" failed).
    with matplotlib.rc_context(
        {"font.size": 10, "axes.titleweight": "bold", "font.family": "DejaVu Sans", "text.parse_math": False}
    ):
        page = to_html(data, sections)
    return page, to_markdown(data, sections)
