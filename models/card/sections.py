"""The document as data: the blocks a section is made of (Para, Bullets, Tiles, Heading, Table, Chart,
ChartRow, Example) and the seven sections built from CardData, for render.py to turn into HTML and Markdown
alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np
import pandas as pd

from features.icp import REASON_LABELS
from models.card.charts import (
    chart_beeswarm,
    chart_calibration,
    chart_drift,
    chart_gains,
    chart_grades,
    chart_importance,
    chart_roc_pr,
)
from models.card.data import CUTOFF_SCORES, SEGMENT_NAMES, CardData, ExampleLead, feature_label, pooled_rows
from models.card.first_page import (
    DRIVER_DID_WORDS,
    MIN_BAND_ROWS,
    WHO_WORDS,
    call_first_sentences,
    cannot_do_sentences,
    concept_words,
    disqualified_kinds,
    exploration_sentences,
    held_back,
    how_good_sentences,
    inbound_lead,
    not_a_cause,
    open_lead_blocks_text,
    open_lead_table,
    what_the_score_is,
    why_this_model_sentences,
    with_words,
)
from models.card.words import contender_label, summary_sentences, summary_tiles
from models.drift import psi_level
from models.formatting import (
    DASH,
    count_text,
    counted,
    day_text,
    has_date,
    interval_text,
    num_text,
    pct_text,
    points_text,
    times_text,
    top_key,
)

# The body (a VP's pages, no metric names: first_page.JARGON) and then the appendix (metrics, technical detail).
BODY_IDS = ("summary", "intended-use", "drivers", "limitations")
APPENDIX_IDS = ("data", "performance", "drivers-detail", "drift")
SECTION_IDS = (*BODY_IDS, *APPENDIX_IDS)
CONTENDER_ORDER = ("model", "champion", "points_model", "logistic_regression", "oracle")


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Tiles:
    items: list[tuple[str, str]]


@dataclass
class Heading:
    text: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    note: str = ""
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Chart:
    name: str
    draw: Callable[[], bytes]  # the chart's PNG, drawn when first asked for (the Markdown twin needs none)
    alt: str
    half: bool = False  # a one-panel chart alone in its row: half the page width
    says: str = ""  # the chart's point in one plain sentence, shown above its description

    @cached_property
    def png(self) -> bytes:
        return self.draw()


@dataclass
class ChartRow:
    charts: list[Chart]


@dataclass
class Example:
    lead: ExampleLead


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Any]
    appendix: bool = False


def _table(frame: pd.DataFrame, caption: str, note: str = "", text_columns: int = 1) -> Table:
    columns = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    numeric = [i >= text_columns for i in range(len(columns))]
    return Table(columns, rows, caption, note, numeric)


def first_page_tiles(data: CardData) -> list[tuple[str, str]]:
    """The summary tiles without the ranking-quality tile: today's grade A leads instead."""
    tiles = [t for t in summary_tiles(data) if "ROC AUC" not in t[1]]
    open_grades = data.open_grades
    if open_grades is not None and int(open_grades["leads"].sum()):
        a = int(open_grades.set_index("grade").loc["A", "leads"]) if "A" in set(open_grades["grade"]) else 0
        tiles.append(
            (
                f"{a:,}",
                f"grade A leads open on {day_text(data.open_as_of)} (of {int(open_grades['leads'].sum()):,} "
                "open leads)",
            )
        )
    return tiles


def gains_says(data: CardData) -> str:
    rows = data.comparison.set_index("model")
    key, share = top_key(data.settings.top_share), pct_text(data.settings.top_share)
    said = f"Working the top {share} of the list reaches {pct_text(rows.loc['model', f'capture_{key}'])} of the wins"
    if "points_model" in rows.index:
        said += (
            f"; the points model's top {share} reaches {pct_text(rows.loc['points_model', f'capture_{key}'])}"
        )
    return said + "."


def grades_says(data: CardData) -> str:
    grades = data.by_grade.set_index("group")
    parts = [f"{g} {pct_text(grades.loc[g, 'win_rate'])}" for g in ("A", "B", "C", "D") if g in grades.index]
    return f"Share of leads that won, per grade: {', '.join(parts)}; call the top grades first."


def section_summary(data: CardData) -> Section:
    """The first page, for sales leadership (first_page.py has its words)."""
    paragraphs, open_table = open_lead_blocks_text(data)
    with_tiers = bool(len(data.win_rate_by_tier_all))
    blocks: list[Any] = [
        Para(what_the_score_is(data)),
        Tiles(first_page_tiles(data)),
        Heading("How good it is"),
        Bullets(how_good_sentences(data)),
        ChartRow(
            [
                Chart(
                    "gains",
                    partial(chart_gains, data),
                    "Left: share of won deals reached against share of leads worked, best-scored first, for "
                    + (
                        "this model, the points model and the previous champion"
                        if data.champion_gains is not None
                        else "this model and the points model"
                        if data.points_gains is not None
                        else "this model"
                    )
                    + "; right: the share of leads that won in each tenth of the list.",
                    says=gains_says(data),
                )
            ]
        ),
        Heading("What the grades mean in today's open leads"),
        *[Para(p) for p in paragraphs],
    ]
    if open_table is not None:
        blocks.append(
            _table(
                open_lead_table(data, open_table),
                f"Open leads per grade on {day_text(data.open_as_of)}, and how each grade did in the test window",
                f"Disqualified leads are always D; {window_holds_words(data)}.",
            )
        )
    blocks += [
        Heading("Whom to call first"),
        Bullets(call_first_sentences(data)),
        ChartRow(
            [
                Chart(
                    "grades",
                    partial(chart_grades, data),
                    "Share of leads that won and share of leads per grade A to D in the test window"
                    + (", and per ICP fit tier." if with_tiers else "."),
                    half=not with_tiers,
                    says=grades_says(data),
                )
            ]
        ),
        Heading("What the model cannot do"),
        Bullets(cannot_do_sentences(data)),
        Heading("Why this model, rather than the points model or a plain logistic regression"),
        Bullets(why_this_model_sentences(data)),
    ]
    return Section("summary", "1. For sales leadership: the score on one page", blocks)


def section_intended_use(data: CardData) -> Section:
    shares = data.grade_shares
    return Section(
        "intended-use",
        "2. Intended use and out of scope",
        [
            Para(
                "The model ranks open leads by their chance of turning into a won deal, so reps call the "
                "most promising ones first. Each lead gets a score (its estimated chance of winning), a "
                f"grade (A = the top {pct_text(shares['A'])}, B the next {pct_text(shares['B'])}, C the next "
                f"{pct_text(shares['C'])}, D the rest) and the reasons behind it, in plain words."
            ),
            Heading("Use it to"),
            Bullets(
                [
                    "decide the order in which leads are worked and how fast they are followed up;",
                    "route A and B leads to senior reps and C and D leads to nurture campaigns;",
                    "see at a glance why a lead scores high or low (the reasons shown with each score).",
                ]
            ),
            Heading("Do not use it to"),
            Bullets(
                [
                    f"ignore inbound leads: {inbound_lead(data)} still gets a reply, whatever its grade;",
                    "explain why deals are won: the model finds patterns that go with winning, it does not "
                    f"show cause and effect ({not_a_cause(data)});",
                    "judge reps, set quotas or compensation, or decide anything about individual people;",
                    *(
                        [
                            f"rank leads the ICP guardrail disqualified ({disqualified_kinds(data)} and the other "
                            "reasons in the appendix): they are always graded D and listed last, whatever their score.",
                        ]
                        if data.guardrail
                        else []
                    ),
                ]
            ),
        ],
    )


def too_recent_bullet(data: CardData) -> str:
    """The rows left out as too young to have their outcome: closed deals of CRM tables (always said), an
    export's labelled leads (said when some were: an export without open rows loses none)."""
    if not data.flat_export:
        return (
            f"{data.too_recent:,} closed deals created in the last {data.maturity_days} days of the history were "
            "left out as too recent: only the quick ones have closed yet, which would skew the win rate."
        )
    if not data.too_recent:
        return ""
    return (
        f"{data.too_recent:,} labelled leads created in the last {data.maturity_days} days before the export's "
        "newest lead were left out as too recent (model.export_maturity_days): the export still holds open "
        "leads of that age, so the outcomes known for them are the quick ones, mostly lost, which would skew "
        "the win rate."
    )


def _split_words(data: CardData) -> str:
    """How the rows were split into windows, and what the tested and the shipped model learnt of them."""
    if data.split_method == "out_of_time":
        how = (
            "Rows are split by date: the model learns from the oldest, is tuned on the next ones and is tested "
            "on the most recent, which it never saw, just as it will meet next month's leads."
        )
    elif data.flat_export:
        # the export may well hold dates (a close date, an engage date): only the spec names none as the creation
        how = (
            "The export's spec names no creation date (timestamp_column), so leads were drawn at random into the "
            "training, validation and test sets; none is on two sides. The test therefore says how the model ranks "
            "leads like the past ones, not next month's: name the creation date in timestamp_column to test it "
            "on the most recent leads."
        )
    else:
        how = (
            "The split is random (model.split.method: grouped_random), so whole accounts were drawn at random "
            "into the training, validation and test sets; none is on two sides."
        )
    if data.not_known:
        test_start = data.windows.set_index("window").loc["test", "start"]
        how += (
            f" The tested model learnt only the {data.unit} it could have known on {day_text(test_start)}, when "
            f"its test window begins: closed by then and created at least {data.not_known_days} days before "
            f"(the maturity rule); {data.not_known:,} earlier {data.unit}, whose outcome came later, were kept "
            "from it, as they would have been from a model trained that day."
        )
    if data.learnt_later:
        how += (
            f" The tested model also learnt {data.learnt_later:,} earlier {data.unit} that a model trained on "
            "the day its test window began could not have learnt (closed after that day, or younger than the "
            "maturity window then): on a market that drifts, the figures below may look better than the model "
            "will do (leadscore evaluate --out-of-time measures without them; model.split.known_at_test_start "
            "tests that way too)."
        )
    if data.refit_deals:
        dated = data.split_method == "out_of_time"
        how += (
            f" Once tested, the model that scores was trained again the same way on all {data.refit_deals:,} "
            f"{data.unit}, the test {'window' if dated else 'set'} included, so that it "
            f"{'also learns from the newest ones' if dated else 'learns from every one of them'}; the figures "
            f"on this card were measured on the tested model (the retrained one has no unseen {data.unit} left "
            "to be measured on)."
        )
    return how


def _target_words(data: CardData) -> str:
    """What counts as won and lost, and as of when each lead is described."""
    if not data.flat_export:
        return (
            "A lead counts as won when its deal closed as won and as lost when its deal closed as lost; open "
            "deals are not used. Each lead is described as it was on the day its deal was created, so the "
            "model never sees what happened later. "
        )
    return (
        data.export_outcome
        or "A lead counts as won when the export marks it as converted. The export's columns that only fill "
        "in after a lead converts were left out, so the model sees what was known before. "
    )


def _learning_words(data: CardData, dated: bool) -> str:
    """The learning rows, what was chosen on their folds, and the test window."""
    windows = data.windows.set_index("window")

    def window_words(name: str) -> str:
        row = windows.loc[name]
        when = f" created {day_text(row['start'])} to {day_text(row['end'])}" if dated else ""
        return f"{count_text(row['deals'])} {data.unit}{when}"

    test = f"test: {window_words('test')}, {pct_text(windows.loc['test', 'win_rate'])} won."
    if not data.selection_folds:  # a model recorded before its selection folds were
        return (
            f"Training: {window_words('training')}; tuning (early stopping, calibration, grade cut-offs): "
            f"{window_words('validation')}; {test}"
        )
    learning = int(windows.loc["training", "deals"] + windows.loc["validation", "deals"])
    windows_named = (
        "training and validation windows" if windows.loc["validation", "deals"] else "training window"
    )
    folds = "time-ordered" if data.fold_kind == "time_ordered" else "random"
    return (
        f"Learning: {learning:,} {data.unit} (the {windows_named} below). The kind of model and "
        f"its number of trees were chosen on {data.selection_folds} {folds} folds of them, and calibration "
        f"and grade cut-offs set on {cutoff_rows_words(data)}; {test}"
    )


def _guardrail_bullet(data: CardData) -> str:
    """What the ICP guardrail did to the training rows."""
    unit = data.unit
    excluded_total = int(data.excluded.set_index("reason").loc["total", "excluded"])
    if data.guardrail and data.kept_disqualified:
        return (
            f"{excluded_total:,} {unit} were disqualified by the ICP guardrail and kept (table below; "
            "icp.exclude_disqualified_in_training is off): the model learns from them and is tested on them, "
            "graded D as scoring grades them."
        )
    if data.guardrail:
        return (
            f"{excluded_total:,} {unit} were left out by the ICP guardrail (table below): disqualified "
            "leads do not teach the model."
        )
    return (
        "The ICP guardrail is off for this export: its spec maps no column to an ICP attribute "
        "(icp_columns), so no lead was left out or disqualified and fit tiers are empty."
    )


def _minimum_data_bullet(minimum: dict[str, int]) -> str:
    """The minimum-data check, passed or not, with its counts and settings."""
    passed = (
        minimum["train_won"] >= minimum["min_won"]
        and minimum["train_lost"] >= minimum["min_lost"]
        and minimum["valid_won"] >= minimum["min_valid"]
        and minimum["valid_lost"] >= minimum["min_valid"]
    )
    return (
        f"Minimum-data check {'passed' if passed else 'NOT passed'}: the learning window (training and "
        "validation) has "
        f"{minimum['train_won']:,} won and {minimum['train_lost']:,} lost (at least {minimum['min_won']:,} "
        f"and {minimum['min_lost']:,} required); the calibration rows (the newest held-out rows of the selection "
        f"folds) {minimum['valid_won']:,} won and {minimum['valid_lost']:,} lost (at least "
        f"{minimum['min_valid']:,} each)."
    )


def _windows_table(data: CardData, dated: bool) -> Table:
    """Deals, won and win rate of each window (with its dates when dated)."""
    # A validation window none of whose deals was known when the test began is empty: not a row of dashes.
    shown = data.windows[(data.windows["window"] != "validation") | (data.windows["deals"] > 0)]
    columns: dict[str, Any] = {"window": shown["window"]}
    if dated:
        columns["created from"] = shown["start"].map(day_text)
        columns["to"] = shown["end"].map(day_text)
    columns.update(
        {
            data.unit: shown["deals"].map(count_text),
            "won": shown["won"].map(count_text),
            "win rate": shown["win_rate"].map(pct_text),
        }
    )
    return _table(
        pd.DataFrame(columns), "Training, validation and test windows", text_columns=3 if dated else 1
    )


def _excluded_table(data: CardData) -> Table:
    """Rows the ICP guardrail left out (or disqualified and kept), per reason."""
    unit, excluded = data.unit, data.excluded
    left_out = "disqualified (kept)" if data.kept_disqualified else "excluded"
    table = pd.DataFrame(
        {
            "reason": [
                REASON_LABELS.get(r, "any reason (a deal can have several)") for r in excluded["reason"]
            ],
            "code": excluded["reason"],
            f"{unit} {left_out}": excluded["excluded"].map(count_text),
        }
    )
    return _table(
        table, f"{unit[0].upper()}{unit[1:]} {left_out} by the ICP guardrail, per reason", text_columns=2
    )


def _contract_table(counts: pd.DataFrame) -> Table:
    """Rows read, valid and quarantined per input table."""
    contract = pd.DataFrame(
        {
            "table": counts["table"],
            "rows read": counts["read"].map(count_text),
            "valid": counts["valid"].map(count_text),
            "quarantined (bad data)": counts["quarantined"].map(count_text),
        }
    )
    return _table(contract, "Data contract: rows read, valid and quarantined")


def section_data(data: CardData) -> Section:
    """Appendix A: what counts as won, how the rows were split, the guardrail, the minimum-data check, the
    windows and the data contract."""
    # A model trained again on every deal dates its windows only when they were cut by date.
    dated = (
        data.split_method == "out_of_time" if data.refit_deals else has_date(data.windows["start"].iloc[0])
    )
    bullets = [
        f"{data.n_deals:,} {data.unit} used, {pct_text(data.base_rate)} of them won (the base rate).",
        _learning_words(data, dated),
        _guardrail_bullet(data),
    ]
    too_recent = too_recent_bullet(data)
    if too_recent:
        bullets.append(too_recent)
    bullets.append(_minimum_data_bullet(data.minimum_data))
    blocks: list[Any] = [
        Para(_target_words(data) + _split_words(data)),
        Bullets(bullets),
        _windows_table(data, dated),
    ]
    if data.guardrail:
        blocks.append(_excluded_table(data))
    if len(data.row_counts):
        blocks.append(_contract_table(data.row_counts))
    return Section("data", "Appendix A. Target, windows and data", blocks, appendix=True)


def _comparison_table(data: CardData) -> Table:
    key = top_key(data.settings.top_share)
    rows = []
    order = {name: i for i, name in enumerate(CONTENDER_ORDER)}
    records = sorted(data.comparison.to_dict("records"), key=lambda r: order.get(r["model"], len(order)))
    for row in records:
        rows.append(
            [
                contender_label(row["model"], data),
                interval_text(row["roc_auc"], row.get("roc_auc_low"), row.get("roc_auc_high")),
                interval_text(row["pr_auc"], row.get("pr_auc_low"), row.get("pr_auc_high")),
                num_text(row["brier"]),
                num_text(row["ece"]),
                pct_text(row["capture_top10"]),
                pct_text(row[f"capture_{key}"]),
                pct_text(row["capture_top30"]),
                times_text(row[f"lift_{key}"]),
            ]
        )
    # model.bootstrap_rounds 0: no contender has an interval, and the headers do not promise one
    drawn = bool(data.comparison["roc_auc_low"].notna().any()) if "roc_auc_low" in data.comparison else False
    interval = " (95 % interval)" if drawn else ""
    columns = [
        "contender",
        f"ROC AUC{interval}",
        f"PR AUC{interval}",
        "Brier",
        "ECE",
        "wins in top 10 %",
        f"wins in top {pct_text(data.settings.top_share)}",
        "wins in top 30 %",
        f"lift at {pct_text(data.settings.top_share)}",
    ]
    return Table(
        columns,
        rows,
        "Every contender on the same test leads",
        "ROC AUC: chance that a won lead is ranked above a lost one. PR AUC: precision averaged over all "
        "cut-offs (random order gets the base rate). Brier and ECE: how far scores are from outcomes "
        "(lower is better). Wins in top x %: share of all won deals among the x % best-scored leads. "
        + (
            "Intervals: bootstrap over the test leads."
            if drawn
            else "No intervals: model.bootstrap_rounds was 0."
        ),
        [False] + [True] * 8,
    )


def _decile_table(data: CardData) -> Table:
    gains, points = data.gains, data.points_gains
    frame = pd.DataFrame(
        {
            "decile": gains["decile"].map(str),
            "leads": gains["leads"].map(count_text),
            "won": gains["won"].map(count_text),
            "win rate": gains["win_rate"].map(pct_text),
            "share of wins so far": gains["cumulative_capture"].map(pct_text),
            "lift": gains["lift"].map(times_text),
        }
    )
    if points is not None:
        frame["points model: win rate"] = points["win_rate"].map(pct_text)
        frame["points model: wins so far"] = points["cumulative_capture"].map(pct_text)
    if data.champion_gains is not None:
        frame["previous champion: wins so far"] = data.champion_gains["cumulative_capture"].map(pct_text)
    return _table(
        frame,
        "Decile table: test leads ranked by score, cut into ten equal slices (1 = best)",
        "Points-model slices share out tied scores in proportion." if points is not None else "",
    )


def _grade_table(data: CardData) -> Table:
    grades = data.by_grade.set_index("group")
    frame = pd.DataFrame(
        {
            "grade": grades.index,
            "designed share": [pct_text(data.grade_shares.get(g)) for g in grades.index],
            "share of test leads": grades["share_of_leads"].map(pct_text),
            "leads": grades["leads"].map(count_text),
            "won": grades["won"].map(count_text),
            "win rate": grades["win_rate"].map(pct_text),
            "share of all wins": grades["share_of_wins"].map(pct_text),
        }
    )
    if data.champion_by_grade is not None:
        old = data.champion_by_grade.set_index("group").reindex(grades.index)
        frame["previous champion: win rate"] = old["win_rate"].map(pct_text).to_numpy()
        frame["previous champion: share"] = old["share_of_leads"].map(pct_text).to_numpy()
    return _table(
        frame,
        "Conversion by grade (test window)",
        f"Designed share: grade cut-offs were set so that each grade holds this share of {cutoff_rows_words(data)}.",
    )


def cutoff_rows_words(data: CardData) -> str:
    """The learning rows the calibration and grade cut-offs were set on, in words."""
    if not data.calibration_rows:
        return "the tuning window"
    newest = "newest " if data.fold_kind == "time_ordered" else ""
    return f"the {newest}{data.calibration_rows:,} {data.unit} of the learning window, scored out of fold"


def window_holds_words(data: CardData) -> str:
    """Whether the test window holds disqualified leads, in words."""
    if data.kept_disqualified:
        return "the test window holds disqualified leads too (icp.exclude_disqualified_in_training is off)"
    return "the test window holds qualified leads only"


def _tier_table(data: CardData) -> Table:
    all_closed = data.win_rate_by_tier_all.set_index("fit_tier")
    tiers = data.by_tier.set_index("group").reindex(all_closed.index) if len(data.by_tier) else None
    frame = pd.DataFrame({"ICP fit tier": all_closed.index})
    if tiers is not None:
        # a tier without test leads has 0 of them (a count, not a dash) and no win rate
        frame["test leads"] = tiers["leads"].fillna(0).map(count_text).to_numpy()
        frame["test win rate"] = tiers["win_rate"].map(pct_text).to_numpy()
    frame[f"all {data.unit}"] = all_closed["closed_deals"].map(count_text).to_numpy()
    frame[f"win rate, all {data.unit}"] = all_closed["win_rate"].map(pct_text).to_numpy()
    return _table(
        frame,
        "Win rate by ICP fit tier",
        f"All {data.unit} include the ones the guardrail disqualified; {window_holds_words(data)}.",
    )


def _segment_table(data: CardData) -> Table:
    seg = data.segments
    has_champion = "auc_champion" in seg.columns
    frame = pd.DataFrame(
        {
            "segment": seg["segment"].map(lambda s: SEGMENT_NAMES.get(s, s)),
            "value": seg["value"].str.replace("_", " "),
            "test leads": seg["n"].map(count_text),
            "won": seg["n_won"].map(count_text),
            "win rate": seg["win_rate"].map(pct_text),
            "mean score": seg["mean_predicted"].map(pct_text),
            "ROC AUC: this model": seg["auc_model"].map(num_text),
        }
    )
    if "auc_points_model" in seg.columns:
        frame["ROC AUC: points model"] = seg["auc_points_model"].map(num_text)
    if has_champion:
        frame["ROC AUC: previous champion"] = seg["auc_champion"].map(num_text)
    return _table(
        frame,
        "Per segment (test window): is the model as good everywhere?",
        f"{DASH} : fewer than {data.segment_min_rows:,} test leads, too few to measure ranking quality"
        + (
            "; an 'other' row pools a column's smaller values and is not one segment"
            if pooled_rows(seg).any()
            else ""
        )
        + ". Mean score against win rate shows whether a segment is over- or under-scored.",
        text_columns=2,
    )


def largest_calibration_gap(reliability: pd.DataFrame) -> pd.Series | None:
    """The score band whose win rate is furthest from its scores among the bands of MIN_BAND_ROWS test rows or
    more (0 won of 6 leads scored 36 % is noise, not a gap), else None."""
    full = reliability[reliability["n"] >= MIN_BAND_ROWS] if len(reliability) else reliability
    return full.loc[full["gap"].abs().idxmax()] if len(full) else None


def performance_sentences(data: CardData) -> list[str]:
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    out = [f"All numbers below are measured on {held_back(data, int(model['n']))} (the test window)."]
    first_decile = data.gains.iloc[0]
    last_decile = data.gains.iloc[-1]
    out.append(
        f"The best-scored tenth of leads won {pct_text(first_decile['win_rate'])} of the time, the worst-scored "
        f"tenth {pct_text(last_decile['win_rate'])}; the average was {pct_text(model['base_rate'])}."
    )
    calibration = (
        f"Scores are calibrated to within {points_text(model['ece'])} on average (ECE "
        f"{num_text(model['ece'])}, Brier {num_text(model['brier'])})"
    )
    worst = largest_calibration_gap(data.reliability)
    if worst is not None:
        side = "above" if worst["gap"] > 0 else "below"
        calibration += (
            f"; the largest gap in a band of {MIN_BAND_ROWS} test leads or more is for scores of "
            f"{pct_text(worst['p_low'])} to {pct_text(worst['p_high'])} ({count_text(worst['n'])} leads), where the "
            f"win rate was {points_text(worst['gap'])} {side} the score"
        )
    out.append(calibration + ".")
    segments = data.segments
    measured = segments[segments["enough"] & segments["auc_model"].notna()] if len(segments) else segments
    if len(measured):
        lowest = measured.loc[measured["auc_model"].idxmin()]
        highest = measured.loc[measured["auc_model"].idxmax()]
        out.append(
            f"Across the {len(measured)} segments large enough to measure, ROC AUC runs from "
            f"{num_text(lowest['auc_model'])} ({SEGMENT_NAMES.get(lowest['segment'], lowest['segment']).lower()} "
            f"{lowest['value'].replace('_', ' ')}) to {num_text(highest['auc_model'])} "
            f"({SEGMENT_NAMES.get(highest['segment'], highest['segment']).lower()} "
            f"{highest['value'].replace('_', ' ')})."
        )
    if data.oracle_auc is not None:
        out.append(
            f"On this synthetic history the true probabilities themselves reach a ROC AUC of "
            f"{num_text(data.oracle_auc)}: no model can rank better than that."
        )
    return out


def curves_drawn(data: CardData) -> str:
    """The contenders the ROC and precision-recall chart draws, in words: a flat export has no points model."""
    names = ["this model"]
    if "points_model" in set(data.comparison["model"]):
        names.append("the points model")
    if data.champion_gains is not None:
        names.append("the previous champion")
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def section_performance(data: CardData) -> Section:
    rivals = curves_drawn(data)
    model = data.comparison.set_index("model").loc["model"]
    return Section(
        "performance",
        "Appendix B. Performance on the "
        + ("out-of-time test window" if data.split_method == "out_of_time" else "held-out test set"),
        [
            Heading("The first page in numbers"),
            Bullets(summary_sentences(data)),
            Heading("On the test window"),
            Bullets(performance_sentences(data)),
            _comparison_table(data),
            _decile_table(data),
            ChartRow(
                [
                    Chart(
                        "roc_pr",
                        partial(chart_roc_pr, data),
                        f"ROC and precision-recall curves of {rivals} on the test leads.",
                        says=f"The higher and further left a curve, the better the ranking; this model's ROC AUC is "
                        f"{num_text(model['roc_auc'])}.",
                    )
                ]
            ),
            ChartRow(
                [
                    Chart(
                        "calibration",
                        partial(chart_calibration, data),
                        "Reliability chart: the score given against the share of leads that actually won, "
                        "per score band; and how many test leads fall in each band.",
                        says=f"Scores match what happened: on average {points_text(model['ece'])} "
                        "apart per score band.",
                    )
                ]
            ),
            _grade_table(data),
            *([_tier_table(data)] if len(data.win_rate_by_tier_all) else []),
            *([_segment_table(data)] if len(data.segments) else []),
        ],
        appendix=True,
    )


def drivers_sentences(data: CardData) -> list[str]:
    top = data.importance.head(3)
    intent_share = float(data.importance.loc[data.importance["kind"] == "intent", "shap_share"].sum())
    names = [str(c) for c in top["concept"]]
    return [
        f"What moves a score most: {', '.join(names[:-1])} and {names[-1]}; together "
        f"{pct_text(top['shap_share'].sum())} of the movement in scores."
        if len(names) > 1
        else f"What moves a score most: {names[0] if names else DASH}.",
        movement_sentence(data, intent_share),
        *(
            []
            if data.flat_export
            else [
                "Related features are summed into one business concept (for example the pricing-page visits "
                "over 7, 30 and 90 days), the same concepts the reasons next to each score speak of."
            ]
        ),
    ]


def movement_sentence(data: CardData, intent_share: float) -> str:
    """How much of a score comes from what the lead did and from who it is, in the words of the data."""
    if not data.intent_signal:
        return (
            # Not "every score comes from who the lead is": a spec's fit columns may well be what a lead did
            # (a web-sessions export's page values and exit rates), only not named as intent.
            "This export has no intent columns (what a lead did, as its spec names them), so scores carry no "
            "intent band and this card does not split a score into who the lead is and what it did."
        )
    did, who = (
        ("the export's intent columns", "its fit columns")
        if data.flat_export
        else (concept_words(data, DRIVER_DID_WORDS), concept_words(data, WHO_WORDS))
    )
    return (
        f"{pct_text(intent_share)} of a score's movement comes from {with_words('what the lead did', did)} and "
        f"{pct_text(1 - intent_share)} from {with_words('who the lead is', who)}."
    )


def section_drivers(data: CardData) -> Section:
    top = data.importance.head(1)
    says = (
        f"{top['concept'].iloc[0][:1].upper()}{top['concept'].iloc[0][1:]} moves scores most: "
        f"{pct_text(top['shap_share'].iloc[0])} of the movement."
        if len(top)
        else ""
    )
    return Section(
        "drivers",
        "3. What moves a score, with three example leads",
        [
            Bullets(drivers_sentences(data)),
            ChartRow(
                [
                    Chart(
                        "importance",
                        partial(chart_importance, data),
                        "Bar chart: share of the score's movement per business concept, what the lead did and "
                        "who the lead is coloured apart.",
                        half=True,
                        says=says,
                    )
                ]
            ),
            Heading("Three example leads from the test window, as a rep sees them"),
            *[Example(lead) for lead in data.examples],
        ],
    )


def section_drivers_detail(data: CardData) -> Section:
    imp = data.importance
    frame = pd.DataFrame(
        {
            "concept": imp["concept"],
            "kind": np.where(imp["kind"] == "intent", "what they did", "who they are"),
            "features": imp["n_features"].map(count_text),
            "share of score movement (SHAP)": imp["shap_share"].map(lambda v: pct_text(v, 1)),
            "mean |SHAP| (log-odds)": imp["mean_abs_shap"].map(num_text),
            "share of tree gain": imp["gain_share"].map(lambda v: pct_text(v, 1)),
        }
    )
    return Section(
        "drivers-detail",
        "Appendix C. Drivers in detail",
        [
            ChartRow(
                [
                    Chart(
                        "shap_summary",
                        partial(chart_beeswarm, data),
                        "SHAP summary: for the most influential features, each dot is one test lead, placed "
                        "by how much the feature raised or lowered its score and coloured by the feature's "
                        "value.",
                        says="Dots to the right raised a lead's chance, dots to the left lowered it.",
                    ),
                ]
            ),
            _table(
                frame,
                f"Importance by business concept ({data.shap_rows:,} test leads explained)",
                "SHAP: how far each concept moves a lead's score, on average, in log-odds. Tree gain: how much "
                "the model's trees rely on the concept while learning.",
                text_columns=2,
            ),
        ],
        appendix=True,
    )


def drift_sentences(data: CardData) -> list[str]:
    out = []
    if data.has_previous:
        who = f"version {data.previous_version}" if data.previous_version else "the previous champion"
        if data.score_psi_version is not None:
            out.append(
                f"Against {who} on the same test leads: score distribution PSI {data.score_psi_version:.3f} "
                f"({psi_level(data.score_psi_version)}); "
                f"{pct_text(data.grade_change_share)} of the leads would get a different grade."
            )
        if data.version_drift is not None and len(data.version_drift):
            moved = data.version_drift[data.version_drift["psi"] >= 0.1]
            out.append(
                f"Training data against {who}'s training window: "
                + (
                    f"{len(moved)} of {len(data.version_drift)} inputs shifted (PSI at least 0.1), the most "
                    f"{feature_label(moved.iloc[0]['feature'])} (PSI {moved.iloc[0]['psi']:.2f})."
                    if len(moved)
                    else f"no input shifted noticeably (every PSI below 0.1 across "
                    f"{len(data.version_drift)} inputs)."
                )
            )
    else:
        out.append("First version: there is no previous version to compare with.")
    drift = data.window_drift
    moved = drift[drift["psi"] >= 0.1]
    out.append(
        "Within this version's history, from the training to the test window: "
        + (
            f"{len(moved)} of {len(drift)} inputs shifted (PSI at least 0.1), the most "
            f"{feature_label(moved.iloc[0]['feature'])} (PSI {moved.iloc[0]['psi']:.2f}); "
            if len(moved)
            else f"no input shifted noticeably (every PSI below 0.1 across {len(drift)} inputs); "
        )
        + f"the score distribution moved by PSI {num_text(data.score_psi_window)} ({psi_level(data.score_psi_window)}) "
        + (
            f"from {cutoff_rows_words(data)}, to the test window."
            if CUTOFF_SCORES in data.score_samples
            else "from the validation to the test window."
        )
    )
    out.append(
        f"Next scheduled retrain: {day_text(data.next_retrain)} ({data.settings.retrain_every_days} days after "
        "training)."
    )
    return out


def _drift_frame(table: pd.DataFrame, rows: int, reference: str, current: str) -> pd.DataFrame:
    top = table.head(rows)
    return pd.DataFrame(
        {
            "input": top["feature"].map(feature_label),
            "concept": top["concept"],
            "PSI": top["psi"].map(num_text),
            "shift": top["level"],
            reference: top["reference_summary"],
            current: top["current_summary"],
        }
    )


def _drift_table(frame: pd.DataFrame, caption: str) -> Table:
    return _table(
        frame,
        caption,
        "PSI below 0.1: stable; 0.1 to 0.25: moderate shift; above 0.25: major shift.",
        text_columns=2,
    )


def section_drift(data: CardData) -> Section:
    blocks: list[Any] = [Bullets(drift_sentences(data))]
    blocks.append(
        ChartRow(
            [
                Chart(
                    "drift",
                    partial(chart_drift, data),
                    "Population stability index (PSI) of the inputs that moved most, and the distribution of the "
                    "scores in the validation and the test window"
                    + (
                        " and of the previous champion on the test leads."
                        if data.score_psi_version is not None
                        else "."
                    ),
                    says=drift_says(data),
                )
            ]
        )
    )
    if data.version_drift is not None and len(data.version_drift):
        blocks.append(
            _drift_table(
                _drift_frame(data.version_drift, data.settings.drift_rows, "before", "now"),
                "Largest shifts since the previous version (its training window against this one's)",
            )
        )
    blocks.append(
        _drift_table(
            _drift_frame(data.window_drift, data.settings.drift_rows, "training window", "test window"),
            "Largest shifts from the training window to the test window",
        )
    )
    blocks.append(Heading("Change log"))
    blocks.append(Bullets(data.change_log))
    return Section("drift", "Appendix D. Drift and change", blocks, appendix=True)


def drift_says(data: CardData) -> str:
    moved = (
        data.window_drift[data.window_drift["psi"] >= 0.1] if len(data.window_drift) else data.window_drift
    )
    if len(moved):
        return (
            f"{counted(len(moved), 'input')} moved noticeably between the training and the test window; bars past "
            "0.1 did."
        )
    return "No input moved noticeably between the training and the test window: every bar is short of 0.1."


def section_limitations(data: CardData) -> Section:
    return Section(
        "limitations",
        "4. Limitations and risks",
        [Bullets([f"**{title}.** {text}" for title, text in data.limitations])],
    )


def section_exploration(data: CardData) -> Section:
    return Section(
        "exploration",
        "5. Calls outside the ranking: the exploration slice",
        [Bullets(exploration_sentences(data))],
    )


def card_sections(data: CardData) -> list[Section]:
    """The body's sections, then the appendix's (ids in SECTION_IDS; with past call lists, the exploration
    section closes the body)."""
    return [
        section_summary(data),
        section_intended_use(data),
        section_drivers(data),
        section_limitations(data),
        *([section_exploration(data)] if data.exploration is not None else []),
        section_data(data),
        section_performance(data),
        section_drivers_detail(data),
        section_drift(data),
    ]
