"""The card's first page, for a VP of Sales: what the score is, how good it is, what the grades mean in today's
open leads, whom to call first, what the model cannot do and why this model. Plain words, every number computed
from CardData; no metric names (JARGON lists the words the body must not use)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.icp import REASON_LABELS
from models.card.data import CODE, GRADES, SEGMENT_NAMES, CardData, small_segments
from models.card.words import baseline_of, summary_sentences
from models.evaluate import MISSING_GROUP
from models.formatting import (
    NBSP,
    count_text,
    counted,
    day_text,
    is_finite,
    pct_text,
    points_text,
    times_text,
    top_key,
)

# Words of the analyst's trade that the body (first page and the sections before the appendix) never uses.
JARGON = ("AUC", "ECE", "PSI", "SHAP", "log-odds", "Brier")
_JARGON_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(re.escape(w) for w in JARGON) + r")(?![A-Za-z])", re.I)


def jargon_in(text: str) -> list[str]:
    """The metric names found in `text` (whole words, any case), in order of appearance."""
    return [m.group(0) for m in _JARGON_RE.finditer(text)]


# What a score weighs, in words, per concept of the model's features (models.explain.CONCEPTS): the card names
# only those the model reads (a feature left out by features.exclude_features or the drift check is not).
WHO_WORDS = {
    "industry": "industry",
    "company size": "size",
    "seniority": "role",
    "department": "role",
    "geography": "region",
    "lead source": "source",
}
DID_WORDS = {
    **dict.fromkeys(("pricing page", "case studies", "blog", "careers page"), "site visits"),
    "demo requests": "demo requests",
    "email engagement": "email",
    **dict.fromkeys(("recency", "high-intent recency", "engagement"), "how recently it was active"),
}
# The same, in the drivers section's words.
DRIVER_DID_WORDS = {
    **dict.fromkeys(("pricing page", "case studies", "blog", "careers page"), "visits"),
    "demo requests": "demo requests",
    "email engagement": "email engagement",
    **dict.fromkeys(("recency", "high-intent recency", "engagement"), "recency"),
}


def concept_words(data: CardData, words: dict[str, str]) -> str:
    """The words of `words` (concept -> word) whose concepts the model reads, each once, in their order."""
    read = set(data.importance["concept"])
    return ", ".join(dict.fromkeys(word for concept, word in words.items() if concept in read))


def with_words(what: str, words: str) -> str:
    """`what` and its words in brackets, e.g. "who the lead is (industry, size)"; `what` alone without words."""
    return f"{what} ({words})" if words else what


def what_the_score_is(data: CardData) -> str:
    shares = data.grade_shares
    learned = (
        f"{with_words('who the lead is', concept_words(data, WHO_WORDS))} and "
        f"{with_words('what it did', concept_words(data, DID_WORDS))}"
        if not data.flat_export
        else "what the lead export says about each lead"
    )
    return (
        f"**What the score is.** Every open lead gets a score from 0 to 100{NBSP}%: its chance of becoming a "
        f"won deal, learned from {data.n_deals:,} past {data.unit}. It weighs {learned}. Leads are graded A "
        f"(the top {pct_text(shares['A'])} of scores), B (the next {pct_text(shares['B'])}), C (the next "
        f"{pct_text(shares['C'])}) and D (the rest), and every score comes with its main reasons in plain words."
    )


def _wins_reached(row: pd.Series, key: str) -> float:
    return float(row[f"capture_{key}"]) * float(row["base_rate"]) * float(row["n"])


def held_back(data: CardData, n: int) -> str:
    """The test deals as the card names them: the most recent (or held-out) ones, never seen while learning,
    or, for a model trained again with them after its test (model.refit_on_test_window), kept from it until it
    was tested on them."""
    recent = "most recent" if data.split_method == "out_of_time" else "held-out"
    if data.refit_deals:
        return f"the {n:,} {recent} {data.unit}, kept from the model until it had been tested on them"
    return f"the {n:,} {recent} {data.unit}, which the model never saw while learning"


def how_good_sentences(data: CardData) -> list[str]:
    """Wins reached by working the top of the list, against the points model (or logistic regression)."""
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    share, key = data.settings.top_share, top_key(data.settings.top_share)
    summary = summary_sentences(data)
    n, won = int(model["n"]), float(model["base_rate"]) * float(model["n"])
    calls = round(share * n)
    out = [summary[0]]
    baseline = baseline_of(rows)
    if round(won) == 0:  # no win to reach: the share of wins reached is 0 / 0
        out = [
            f"None of {held_back(data, n)}, was won, so "
            "how many wins working the top of the list reaches cannot be measured on them."
        ]
    elif baseline is not None:
        name, words = baseline
        mine, theirs = _wins_reached(model, key), _wins_reached(rows.loc[name], key)
        diff = round(mine) - round(theirs)
        verdict = (
            f"{counted(diff, 'more won deal')} for the same number of calls"
            if diff > 0
            else f"{counted(-diff, 'fewer won deal')} for the same number of calls"
            if diff < 0
            else "as many won deals for the same number of calls"
        )
        out.append(
            f"On {held_back(data, n)}, the best-scored "
            f"{calls:,} by this model hold {round(mine):,} of the {round(won):,} wins; the best {calls:,} by "
            f"{words} hold {round(theirs):,}: {verdict}."
        )
    else:
        out.append(
            f"On {held_back(data, n)}, the best-scored "
            f"{calls:,} hold {round(_wins_reached(model, key)):,} of the {round(won):,} wins."
        )
    out.extend(s for s in summary[1:] if s.startswith(("The previous champion", "The champion")))
    out.extend(s for s in summary if s.startswith("Grade A leads"))  # when both grades hold test leads
    out.append(chance_sentence(data.reliability, float(model["ece"]), data.unit))
    return out


# A score band shown as what a score means holds this many test rows at least (fewer: a share of noise).
MIN_BAND_ROWS = 20


def chance_sentence(reliability: pd.DataFrame, ece: float, unit: str) -> str:
    """What a score means, measured on the test rows: the share won among those scored in the fullest band
    of the reliability table, and how far the scores were from what happened, on average (ECE)."""
    if not is_finite(ece):
        return "A score reads as a chance."
    off = f"On the test {unit} the scores were {points_text(ece)} from what happened, on average."
    full = reliability[reliability["n"] >= MIN_BAND_ROWS] if len(reliability) else reliability
    if full.empty:
        return f"A score reads as a chance. {off}"
    band = full.loc[full["n"].idxmax()]
    return (
        f"A score reads as a chance: of the {int(band['n']):,} test {unit} scored "
        f"{band['p_low'] * 100:.0f} to {pct_text(band['p_high'])}, {pct_text(band['observed_rate'])} won. {off}"
    )


def _open_frame(data: CardData) -> pd.DataFrame | None:
    if data.open_grades is None or int(data.open_grades["leads"].sum()) == 0:
        return None
    return data.open_grades.set_index("grade").reindex(list(GRADES), fill_value=0)


def open_lead_blocks_text(data: CardData) -> tuple[list[str], pd.DataFrame | None]:
    """The paragraphs on today's open leads per grade, and the table (None without open-lead counts)."""
    table = _open_frame(data)
    if table is None:
        why = data.open_note or "this card was recorded before open leads were counted"
        return [f"Today's open leads were not counted: {why}."], None
    total = int(table["leads"].sum())
    when = day_text(data.open_as_of)
    counts = ", ".join(
        f"{count_text(table.loc[g, 'leads'])} {'are grade ' + g if g == 'A' else g} "
        f"({pct_text(table.loc[g, 'leads'] / total)})"
        for g in GRADES
    )
    paragraphs = [
        f"At the end of the history ({when}), {total:,} leads "
        f"were open (no deal yet, or an open one). Scored with this model, {counts}."
    ]
    disqualified = int(table["disqualified"].sum())
    qualified = int(table["qualified"].sum())
    designed_a = data.grade_shares.get("A", float("nan"))
    if disqualified:
        reasons = data.open_reasons if data.open_reasons is not None else pd.DataFrame()
        main = "; ".join(
            f"{REASON_LABELS.get(r, r.replace('_', ' '))} ({n:,})"
            for r, n in reasons[["reason", "leads"]].head(3).itertuples(index=False)
        )
        paragraphs.append(
            f"**Why D is large.** {disqualified:,} of the open leads ({pct_text(disqualified / total)}) are "
            "disqualified by the ICP guardrail and always graded D, whatever their score"
            + (f"; the main reasons (a lead can have several): {main}." if main else ".")
        )
    if qualified:
        share_a = table.loc["A", "qualified"] / qualified
        if is_finite(designed_a) and share_a < designed_a - 0.02:
            compare = "fewer of today's open leads reach the grade A cut-off than closed deals did"
        elif is_finite(designed_a) and share_a > designed_a + 0.02:
            compare = "more of today's open leads reach the grade A cut-off than closed deals did"
        else:
            compare = "about as many of today's open leads reach it as designed"
        shares = ", ".join(f"{pct_text(table.loc[g, 'qualified'] / qualified)} {g}" for g in GRADES)
        paragraphs.append(
            f"Among the {qualified:,} qualified open leads: {shares}. The grade cut-offs are fixed scores, set "
            f"so that A held {pct_text(designed_a)} of {designed_on_words(data)}; {compare}."
        )
    return paragraphs, table


def open_lead_table(data: CardData, table: pd.DataFrame) -> pd.DataFrame:
    grades = data.by_grade.set_index("group")
    return pd.DataFrame(
        {
            "grade": list(GRADES),
            "open leads today": [count_text(table.loc[g, "leads"]) for g in GRADES],
            "of them disqualified": [count_text(table.loc[g, "disqualified"]) for g in GRADES],
            "won in the test window": [
                pct_text(grades.loc[g, "win_rate"]) if g in grades.index else "\u2014" for g in GRADES
            ],
        }
    )


def call_first_sentences(data: CardData) -> list[str]:
    """Whom to call first and how soon, from the grades' win rates and today's counts."""
    grades = data.by_grade.set_index("group")
    table = _open_frame(data)
    base = float(data.comparison.set_index("model").loc["model", "base_rate"])

    def today(g: str) -> str:
        return (
            f"the {count_text(table.loc[g, 'leads'])} grade {g} leads open today"
            if table is not None
            else (f"grade {g} leads")
        )

    def won(g: str) -> str:
        return pct_text(grades.loc[g, "win_rate"]) if g in grades.index else "\u2014"

    settings = data.settings
    out = []
    if "A" in grades.index:
        lift = float(grades.loc["A", "win_rate"]) / base if base else float("nan")
        out.append(
            f"**Grade A first**: {today('A')}. In the test window {won('A')} of grade A leads won, "
            f"{times_text(lift)} the average; reach them within {_days(settings.call_a_within_days)}."
        )
    if "B" in grades.index:
        out.append(
            f"**Then grade B**: {today('B')}; {won('B')} of grade B leads won. Reach them within "
            f"{_days(settings.call_b_within_days)}."
        )
    if "C" in grades.index:
        out.append(
            f"**Grade C** ({won('C')} won, average {pct_text(base)}): "
            + (
                "call them after grade B: they win at least as often as the average lead, more than a nurture campaign "
                "should leave behind."
                if float(grades.loc["C", "win_rate"]) >= base
                else "nurture campaigns, and a call when a lead shows new activity."
            )
        )
    if "D" in grades.index:
        disqualified = (
            f"; {count_text(table.loc['D', 'disqualified'])} of today's {count_text(table.loc['D', 'leads'])} D "
            "leads are disqualified"
            if table is not None and table.loc["D", "disqualified"]
            else ""
        )
        out.append(
            f"**Grade D** ({won('D')} of the {'' if data.kept_disqualified else 'qualified '}D leads "
            f"won{disqualified}): "
            + (
                "more of them win than lose, so call them too, after the other grades: here the grades set the "
                "order of the calls, not whom to drop."
                if float(grades.loc["D", "win_rate"]) > 0.5
                else "no calls by default, but keep a small random share of calls for lower grades so the model "
                "keeps learning about them."
            )
        )
    concepts = [str(c) for c in data.importance["concept"].head(3)]
    if "recency" in concepts:
        out.append(
            "Why quickly: how recently a lead was active is among what moves a score most, so a lead's score "
            "drops as it goes quiet."
        )
    out.append(f"Whatever the grade, {inbound_lead(data)} still gets a reply.")
    return out


def disqualified_kinds(data: CardData) -> str:
    """The kinds of disqualified leads, in words: those the guardrail left out of this training where it left
    any out (an export whose spec maps few ICP columns has few), else the usual ones."""
    excluded = data.excluded.set_index("reason")["excluded"] if len(data.excluded) else pd.Series(dtype=int)
    found = [REASON_LABELS[r] for r, n in excluded.items() if r in REASON_LABELS and n > 0]
    if not data.flat_export or not found:
        return "competitors, students, free email"
    return ", ".join(found[:3])


def not_a_cause(data: CardData) -> str:
    """An example of a pattern that is no cause, from a signal the data has."""
    if data.flat_export:
        return "a value that goes with converting does not make a lead convert"
    return "visiting the pricing page does not make a lead buy"


def inbound_lead(data: CardData) -> str:
    """Who always gets a reply, in the words of the signals the data has."""
    return "a lead who asks for a demo" if data.demo_signal else "a lead who gets in touch"


def _days(n: int) -> str:
    return f"{n} working day" + ("" if n == 1 else "s")


def segment_value(segment: str, value: str) -> str:
    """A segment as the first page names it: its value ("Retail"), with its column before a value that is a
    number ("region 5": a code, which alone says nothing) and for the leads without one ("lead source not
    given", as reasons say it; the card listed "((missing), Facebook, ...)")."""
    text = str(value).replace("_", " ")
    column = SEGMENT_NAMES.get(segment, segment).lower()
    if value == MISSING_GROUP:
        return f"{column} not given"
    return f"{column} {text}" if re.fullmatch(CODE, text) else text


def cannot_do_sentences(data: CardData) -> list[str]:
    source = (
        "what the CRM records (who the lead is and its tracked activity)"
        if not data.flat_export
        else ("the columns of the export")
    )
    out = [
        f"It cannot tell why deals are won: it finds patterns that go with winning, not causes ({not_a_cause(data)}).",
        f"It knows only {source}: a good conversation or a budget it was never told about is invisible to it.",
        f"It learns only from leads reps chose to work ({data.n_deals:,} {data.unit} with a known outcome): "
        "leads nobody worked have no outcome, so it knows little about them.",
    ]
    table = _open_frame(data)
    if data.guardrail:
        n = int(table["disqualified"].sum()) if table is not None else None
        count = f" {count_text(n)}" if n else ""
        none_open = " None of today's open leads is." if n == 0 else ""  # not "the 0 disqualified leads"
        out.append(
            f"It does not rank the{count} disqualified leads ({disqualified_kinds(data)} and the other ICP "
            f"reasons): they are always D and listed last.{none_open}"
        )
    small, n_small = small_segments(data.segments)
    if n_small:
        names = ", ".join(
            segment_value(s, v) for s, v in small[["segment", "value"]].head(6).itertuples(index=False)
        )
        out.append(
            f"It could not be checked in {counted(n_small, 'segment')} with fewer than "
            f"{data.segment_min_rows:,} recent "
            f"leads ({names}{', ...' if n_small > min(len(small), 6) else ''}): treat scores there with more "
            "caution."
        )
    out.append("It must not be used to judge reps, set quotas or decide anything about individual people.")
    return out


def _ranking_words(model: pd.Series, other: float) -> int:
    """+1 when this model ranks the whole list better beyond the margin of error, -1 worse, 0 level."""
    low, high = float(model.get("roc_auc_low", np.nan)), float(model.get("roc_auc_high", np.nan))
    if is_finite(low) and low > other:
        return 1
    if is_finite(high) and high < other:
        return -1
    return 0


RANKING_TEXT = {
    1: "ranks better, beyond the margin of error",
    -1: "ranks worse, beyond the margin of error",
}


def why_this_model_sentences(data: CardData) -> list[str]:
    """Against the points model and logistic regression, honestly: a tie is called a tie."""
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    share, key = data.settings.top_share, top_key(data.settings.top_share)
    out: list[str] = []
    verdicts: dict[str, int] = {}
    for name, words in (
        ("points_model", "The points model (hand-made rules that add points for fit and activity)"),
        ("logistic_regression", "A plain logistic regression (one weight per input, no interactions)"),
    ):
        if name not in rows.index:
            if name == "points_model":
                out.append(
                    "There is no points model to compare with: its rules need the CRM's activity tables."
                )
            continue
        other = rows.loc[name]
        verdict = _ranking_words(model, float(other["roc_auc"]))
        gap = float(model[f"capture_{key}"]) - float(other[f"capture_{key}"])
        verdicts[name] = 1 if verdict == 1 and gap > -0.02 else min(verdict, 0)
        top = (
            f"reaches {pct_text(other[f'capture_{key}'])} of the wins in its top {pct_text(share)}, against "
            f"{pct_text(model[f'capture_{key}'])} for this model"
        )
        if verdict == 0:
            ranking = "over the whole list the two rank as well as each other, within the margin of error"
        else:
            ranking = f"over the whole list this model {RANKING_TEXT[verdict]}"
        tie = abs(gap) < 0.02 and verdict == 0
        out.append(f"{words} {top}; {ranking}" + (": on these leads it is a tie." if tie else "."))
    ties_or_worse = [n for n, v in verdicts.items() if v <= 0]
    promoted = data.decision.startswith("promoted")
    if not data.decision:
        gate = ""
    elif not promoted:
        gate = (
            "This version did not pass the promotion gate: it is not the champion and does not score leads."
        )
    elif "not worse beyond the noise" in data.decision and not data.has_previous:
        gate = (
            "the promotion gate asks a first model not to rank worse than its strongest simple rival beyond the "
            "margin of error (it does not demand a win), and this model met that rule"
        )
    else:
        gate = "it passed the promotion gate (its checks are in the change log)"
    split = ", and how much of the score is fit and how much is intent" if data.intent_signal else ""
    reasons = (
        f"gives every lead its reasons in the words reps see (what raised and what lowered its score{split}); "
        "in leadscore the logistic regression is only a yardstick, with no such reasons"
    )
    chosen = {
        "blend": ". The shipped model is itself a blend of a logistic regression and gradient-boosted trees, "
        "chosen on the training data alone, before the test",
        "linear_lightgbm": ". The shipped model starts from a logistic regression and adds gradient-boosted "
        "trees, chosen on the training data alone, before the test",
    }.get(data.chosen_model, "")
    if data.decision and not promoted:
        out.append(gate)
        return out
    why = "Why it ships anyway" if ties_or_worse else "Why it ships"
    if verdicts and not ties_or_worse:
        out.append(f"{why}: it does better than the simple alternatives on these leads.")
        why = "Also"
    if gate:
        out.append(f"{why}: {gate}.")
        out.append(f"It also {reasons}{chosen}.")
    else:
        out.append(f"{why}: it {reasons}{chosen}.")
    return out


def exploration_sentences(data: CardData) -> list[str]:
    """The exploration slice of past call lists: how its calls converted against what their scores expected
    and against the ranked calls, and what it cost in wins."""
    table = data.exploration
    if table is None:
        return []
    rows = table.set_index("calls")
    explored, ranked = rows.loc["exploration"], rows.loc["ranked"]
    n = int(explored["with_outcome"])
    if n == 0:
        return ["None of the exploration calls has an outcome yet: the slice is measured once they close."]
    rate, expected = float(explored["win_rate"]), float(explored["expected_win_rate"])
    out = [
        f"Each call list keeps a small random share of calls for leads ranked below the cut, so the model keeps "
        f"learning how such leads really do. Of those calls, {n:,} have an outcome: {int(explored['won']):,} won "
        f"({pct_text(rate)}), where their scores expected {pct_text(expected)}."
    ]
    if int(ranked["with_outcome"]):
        ranked_rate = float(ranked["win_rate"])
        cost = n * (ranked_rate - rate)
        out.append(
            f"The ranked calls won {pct_text(ranked_rate)} ({int(ranked['with_outcome']):,} with an outcome): "
            + (
                f"the exploration calls cost about {cost:,.0f} won deals against as many ranked calls."
                if cost >= 0.5
                else "the exploration calls cost no wins against as many ranked calls."
            )
        )
    if n < 30:
        out.append("Too few outcomes yet to say whether the model ranks these leads right.")
    elif rate > expected + 0.05:
        out.append("These leads won more often than their scores said: the next retrain learns from them.")
    elif rate < expected - 0.05:
        out.append("These leads won less often than their scores said.")
    else:
        out.append("These leads won about as often as their scores said: the model ranks them right.")
    return out


def designed_on_words(data: CardData) -> str:
    """The closed deals the grade cut-offs were set on, in a sales reader's words."""
    if not data.calibration_rows:
        return "the closed deals of the tuning window"
    if data.fold_kind == "time_ordered":
        return "the most recent closed deals, each scored by a model that had not learnt it"
    return "past closed deals, each scored by a model that had not learnt it"
