"""The card's points in words: contender names, the 30-second summary, the gate verdict and the summary
tiles."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from models.card.data import CardData
from models.formatting import NBSP, is_finite, num_text, pct_text, points_text, times_text, top_key


def version_name(data: CardData) -> str:
    return f"v{data.model_version}" if data.model_version else "(not registered)"


def contender_label(name: str, data: CardData) -> str:
    labels = {
        "model": f"This model (v{data.model_version})" if data.model_version else "This model",
        "points_model": "Points model",
        "logistic_regression": "Logistic regression",
        "champion": f"Previous champion (v{data.previous_version})"
        if data.previous_version
        else "Previous champion",
        "oracle": "Oracle (true chances)",
    }
    return labels.get(name, name.replace("_", " "))


def _capture_phrase(mine: float, theirs: float, who: str) -> str:
    diff = mine - theirs
    if abs(diff) < 0.02:
        return f"about as many as {who}"
    points = f"{abs(diff) * 100:.0f}{NBSP}percentage points"
    return f"{points} {'more' if diff > 0 else 'fewer'} than {who}"


def _auc_phrase(row: Mapping[str, float], other: float, who: str) -> str:
    auc = float(row["roc_auc"])
    low, high = float(row.get("roc_auc_low", np.nan)), float(row.get("roc_auc_high", np.nan))
    if is_finite(low) and low > other:
        return f"clearly better than {who} ({num_text(other)}: below this model's whole interval)"
    if is_finite(high) and high < other:
        return f"clearly worse than {who} ({num_text(other)})"
    if abs(auc - other) < 0.005:
        return f"level with {who} ({num_text(other)})"
    side = "ahead of" if auc > other else "behind"
    return f"a little {side} {who} ({num_text(other)}), within the margin of error"


def baseline_of(rows: pd.DataFrame) -> tuple[str, str] | None:
    """The baseline the summary compares with: the points model, or logistic regression without one (flat
    exports); (name, words) or None."""
    for name, words in (("points_model", "the points model"), ("logistic_regression", "logistic regression")):
        if name in rows.index:
            return name, words
    return None


def capture_ceiling(share: float, base_rate: float) -> str:
    """When more leads win than the top share holds, the most any ranking's top share can reach, in words
    (a label 88 % won: 23 % of the wins and 1.1x is the best there is, not a weak model); else ""."""
    if not base_rate or share >= base_rate:
        return ""
    return (
        f" {pct_text(base_rate).capitalize()} of leads win here, more than the top {pct_text(share)} of a list can "
        f"hold, so no ranking's top {pct_text(share)} can hold more than "
        f"{pct_text(share / base_rate)} of the wins or reach more than {times_text(1 / base_rate)} the average: "
        "the win rates per grade say more."
    )


def ceiling_words(share: float, base_rate: float) -> tuple[str, str]:
    """The headline tiles' ceilings when more leads win than the top share holds (the share of the wins, the
    lift): ("; at most 23 % when 88 % of leads win", "; at most 1.1x ..."); else ("", "")."""
    if not base_rate or share >= base_rate:
        return "", ""
    when = f" when {pct_text(base_rate)} of leads win"
    return f"; at most {pct_text(share / base_rate)}{when}", f"; at most {times_text(1 / base_rate)}{when}"


def summary_sentences(data: CardData) -> list[str]:
    """The 30-second summary: what working the top leads buys, against the points model and the champion."""
    rows = data.comparison.set_index("model")
    baseline = baseline_of(rows)
    model = rows.loc["model"]
    share, key = data.settings.top_share, top_key(data.settings.top_share)
    capture, lift = model[f"capture_{key}"], model[f"lift_{key}"]
    out = [
        f"Working the top {pct_text(share)} of leads ranked by this model reaches {pct_text(capture)} of the deals "
        f"won, {times_text(lift)} the average." + capture_ceiling(share, float(model["base_rate"]))
    ]
    if baseline is not None:
        name, words = baseline
        points = rows.loc[name]
        out.append(
            f"{words[0].upper()}{words[1:]}'s top {pct_text(share)} reaches "
            f"{pct_text(points[f'capture_{key}'])} of the won deals ({times_text(points[f'lift_{key}'])}): "
            "this model finds "
            f"{_capture_phrase(capture, points[f'capture_{key}'], words)} for the same effort."
        )
    if "champion" in rows.index:
        champion = rows.loc["champion"]
        out.append(
            f"The {contender_label('champion', data).lower()} reaches {pct_text(champion[f'capture_{key}'])} on the "
            f"same leads: this version finds "
            f"{_capture_phrase(capture, champion[f'capture_{key}'], 'the previous champion')}."
        )
    elif data.has_previous:
        out.append(
            f"The {contender_label('champion', data).lower()} was not scored on these test leads, so it "
            "cannot be compared here."
        )
    elif data.earlier_versions:  # e.g. a champion of another input (an export), or none promoted yet
        out.append(
            "No previous champion was compared with this version on these leads (the versions registered "
            "before it are in the change log)."
        )
    else:
        out.append("This is the first version: there is no previous champion to compare with.")
    grades = data.by_grade.set_index("group")
    if _graded(grades, "A") and _graded(grades, "D"):
        out.append(
            f"Grade A leads ({pct_text(grades.loc['A', 'share_of_leads'])} of leads) won "
            f"{pct_text(grades.loc['A', 'win_rate'])} of the time, grade D leads "
            f"({pct_text(grades.loc['D', 'share_of_leads'])} of leads) {pct_text(grades.loc['D', 'win_rate'])}; "
            f"on average {pct_text(model['base_rate'])} of these leads won."
        )
    auc_words = "Ranking quality over all leads (ROC AUC; 0.5 is a coin toss, 1 is perfect) is " + num_text(
        model["roc_auc"]
    )
    if baseline is not None:
        auc_words += ", " + _auc_phrase(model, rows.loc[baseline[0], "roc_auc"], baseline[1])
    if "champion" in rows.index:
        auc_words += "; against the previous champion: " + _auc_phrase(
            model, rows.loc["champion", "roc_auc"], "it"
        )
    out.append(auc_words + ".")
    out.append(
        f"A score is a probability: leads in the test window were given {pct_text(model['mean_predicted'])} on "
        f"average and {pct_text(model['base_rate'])} won; per score band the typical gap is "
        f"{points_text(model['ece'])}."
    )
    if data.decision:
        out.append(gate_sentence(data))
    return out


def gate_sentence(data: CardData) -> str:
    """The promotion gate's verdict in one sentence (its checks are in the change log)."""
    name = f"Version {data.model_version}" if data.model_version else "This model"
    forced = [part for part in data.decision.split("; ") if part.startswith("forced: ")]
    if forced:
        return f"{name} was made the champion by override ({forced[0].removeprefix('forced: ')}); see the change log."
    if data.decision.startswith("evidence looks broken"):
        return (
            f"{name} was not promoted: the champion scored far worse on the new data than on its own test "
            "window, so the new data or outcomes look broken (check the deals feed); the gate's checks are in "
            "the change log."
        )
    if data.decision.startswith("promoted"):
        return f"{name} passed the promotion gate and became the champion; the gate's checks are in the change log."
    return f"{name} did not pass the promotion gate and is not the champion; the gate's checks are in the change log."


def summary_tiles(data: CardData) -> list[tuple[str, str]]:
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    key = top_key(data.settings.top_share)
    grades = data.by_grade.set_index("group")
    baseline = baseline_of(rows)
    points = rows.loc[baseline[0]] if baseline is not None else None
    short = {"points_model": "points model", "logistic_regression": "logistic regression"}
    who = short[baseline[0]] if baseline is not None else ""
    most_wins, most_lift = ceiling_words(data.settings.top_share, float(model["base_rate"]))
    tiles = [
        (
            pct_text(model[f"capture_{key}"]),
            f"of won deals in the top {pct_text(data.settings.top_share)} of leads"
            + (f" ({who} {pct_text(points[f'capture_{key}'])})" if points is not None else "")
            + most_wins,
        ),
        (times_text(model[f"lift_{key}"]), "the average win rate in those leads" + most_lift),
    ]
    if "A" in grades.index:
        tiles.append(
            (
                pct_text(grades.loc["A", "win_rate"]),
                f"win rate of grade A leads ({pct_text(model['base_rate'])} overall)",
            )
        )
    tiles.append(
        (
            num_text(model["roc_auc"], 2),
            "ranking quality, ROC AUC"
            + (f" ({who} {num_text(points['roc_auc'], 2)})" if points is not None else ""),
        )
    )
    return tiles


def _graded(grades: pd.DataFrame, grade: str) -> bool:
    """Whether test leads fell in `grade` (an empty grade has no win rate to say: "won — of the time")."""
    return grade in grades.index and is_finite(grades.loc[grade, "win_rate"])
