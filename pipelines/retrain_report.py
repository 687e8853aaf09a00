"""The retrain's findings in words: the Markdown report, the sentences for the model card and the console,
and the comparison columns they show. Pure: a RetrainResult in, text out (the job is pipelines/retrain.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.formatting import iso_day, md_text, pct_or_na

if TYPE_CHECKING:
    from models.monitoring import Backtest, DriftReport
    from models.promotion import GateDecision
    from models.retrain import RetrainWindows
    from pipelines.settings import RetrainConfig
    from pipelines.train_result import TrainResult

REPORT_NAME = "retrain_report.md"
DRIFT_ARTIFACT = "drift/drift.csv"
REPORT_ROWS = 15  # rows of the drift and segment tables shown in the report (all of them are logged)
COMPARISON_COLUMNS = (
    "model",
    "roc_auc",
    "roc_auc_low",
    "roc_auc_high",
    "pr_auc",
    "brier",
    "ece",
    "lift_top10",
    "n",
    "n_won",
)


@dataclass
class RetrainResult:
    windows: RetrainWindows
    train: TrainResult
    champion_version: str | None  # the champion the challenger was measured against
    drift: DriftReport | None = None
    backtest: Backtest | None = None
    left_out: dict[str, int] = field(default_factory=dict)  # closed deals outside the windows
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    champion_learned: str | None = None  # the champion was trained on some evaluation deals (see the gate)
    no_backtest: str = (
        ""  # why a champion of these tables has no backtest (pipelines.retrain.no_backtest_sentence)
    )

    @property
    def decision(self) -> GateDecision | None:
        return self.train.decision

    @property
    def promoted(self) -> bool:
        return bool(self.train.decision and self.train.decision.promote)

    @property
    def version(self) -> str | None:
        return self.train.version

    def comparison(self) -> pd.DataFrame:
        """Challenger (and champion, when there is one) on the evaluation quarter."""
        table = self.train.evaluation.comparison
        rows = table[table["model"].isin(["model", "champion", "points_model"])].copy()
        rows["model"] = rows["model"].map(
            {"model": "challenger", "champion": "champion", "points_model": "points_model"}
        )
        return rows.reset_index(drop=True)


def drift_sentences(drift: DriftReport, rcfg: RetrainConfig) -> list[str]:
    psi_of = drift.table.set_index("feature")["psi"]
    moved = ", ".join(f"{f} (PSI {psi_of[f]:.2f})" for f in drift.moved) or "none"
    shifted = drift.segments[drift.segments["status"] == "shifted"]
    gaps = "; ".join(
        f"{row.feature} = {row.value}: won {row.win_rate:.0%}, predicted {row.predicted:.0%}"
        for row in shifted.head(6).itertuples()
    )
    return [
        f"Drift, the {drift.current} against {drift.reference}: the champion's score moved by PSI "
        f"{drift.score_psi:.3f}.",
        f"Inputs whose mix moved (PSI at least {rcfg.psi_threshold:g}): {moved}.",
        f"To watch (PSI {rcfg.psi_watch:g} to {rcfg.psi_threshold:g}): {', '.join(drift.watch) or 'none'}.",
        f"Inputs whose conversion shifted (the champion off by {rcfg.gap_threshold:.0%} or more beyond its "
        f"overall miss): {', '.join(drift.shifted) or 'none'}" + (f" ({gaps})." if gaps else "."),
    ]


def backtest_sentence(backtest: Backtest) -> str:
    rates = backtest.table.set_index("grade")["win_rate"]
    verdict = {
        True: "grade A converted more than grade D, as promised",
        False: "grade A did NOT convert more than grade D",
        None: "grade A or D had no closed lead to compare",
    }[backtest.a_beats_d]
    if backtest.a_beats_d is not None and not backtest.measurable:
        verdict = "too few closed leads to compare grades"
    return (
        f"Backtest of version {backtest.model_version}: scored the open leads as of {iso_day(backtest.scored_at)}; "
        f"{backtest.n_leads:,} of them closed by {iso_day(backtest.as_of)} ({backtest.n_won:,} won). "
        f"Win rate A {pct_or_na(rates['A'])}, D {pct_or_na(rates['D'])}: {verdict}; {backtest_auc_text(backtest)}."
    )


def backtest_auc_text(backtest: Backtest) -> str:
    """ "AUC 0.874", or why it is not measurable: the closed leads all won or all lost ("AUC nan" in the
    report), or fewer won or lost than the gate's minimum (2 leads read "AUC 0.000", as if measured)."""
    lost = backtest.n_leads - backtest.n_won
    if not backtest.n_won or not lost:
        outcome = "won" if backtest.n_won else "lost"
        return f"AUC not measurable: {backtest.n_leads:,} closed leads, one outcome (all {outcome})"
    if not backtest.measurable:
        return (
            f"AUC not measurable: {backtest.n_leads:,} closed leads ({backtest.n_won:,} won, {lost:,} lost), "
            f"fewer than the {backtest.min_won:,} won and {backtest.min_lost:,} lost an AUC needs to say "
            "anything (registry.min_test_won, registry.min_test_lost)"
        )
    return f"AUC {backtest.auc:.3f}"


def card_notes(result: RetrainResult, rcfg: RetrainConfig) -> list[str]:
    """Plain sentences for the model card: windows, drift, backtest."""
    w = result.windows
    notes = [
        f"Retrain as of {iso_day(w.as_of)}: trained on deals created {iso_day(w.train_start)} to "
        f"{iso_day(w.valid_start)}, tuned on {iso_day(w.valid_start)} to {iso_day(w.test_start)}, evaluated on "
        f"{w.evaluation_quarter} ({iso_day(w.test_start)} to {iso_day(w.test_end)}), the latest quarter whose "
        "deals had all had the maturity period to close; closed deals created after it were left out "
        f"({result.left_out.get('after_evaluation_quarter', 0):,})."
        + (
            f" Once evaluated, the version that scores was trained again with {w.evaluation_quarter}'s deals too "
            "(model.refit_on_test_window)."
            if result.train.refitted
            else ""
        )
    ]
    if result.drift is not None:
        notes.extend(drift_sentences(result.drift, rcfg))
    if result.backtest is not None:
        notes.append(backtest_sentence(result.backtest))
    elif result.no_backtest:
        notes.append(result.no_backtest[0].upper() + result.no_backtest[1:] + ".")
    return notes


def retrain_report_markdown(result: RetrainResult, rcfg: RetrainConfig) -> str:
    """The comparison report: windows, challenger against champion, the gate, drift and backtest."""
    w = result.windows
    decision = result.decision
    verdict = "promoted to champion" if result.promoted else "NOT promoted"
    against = f"version {result.champion_version}" if result.champion_version else "no champion (first model)"
    lines = [
        f"# Retrain as of {iso_day(w.as_of)}: version {result.version} {verdict}",
        "",
        f"Measured against: {against}.",
        "",
        "## Gate",
        "",
        *[f"- {reason}" for reason in (decision.reasons if decision else ())],
        "",
        "## Windows",
        "",
        _md(pd.DataFrame([w.as_dict()])),
        "",
        f"## Challenger against champion on {w.evaluation_quarter}",
        "",
        _md(result.comparison()[list(COMPARISON_COLUMNS)]),
        "",
        *([md_text(result.champion_learned), ""] if result.champion_learned else []),
    ]
    if result.drift is not None:
        lines += ["## Drift", "", *[f"- {md_text(s)}" for s in drift_sentences(result.drift, rcfg)], ""]
        lines += [
            _md(result.drift.table.head(REPORT_ROWS)),
            "",
            f"All inputs: {DRIFT_ARTIFACT} in the run.",
            "",
        ]
        lines += [
            "### The champion's errors by segment",
            "",
            _md(result.drift.segments.head(REPORT_ROWS)),
            "",
        ]
    if result.backtest is None and result.no_backtest:
        lines += ["## Backtest", "", result.no_backtest[0].upper() + result.no_backtest[1:] + ".", ""]
    if result.backtest is not None:
        lines += ["## Backtest", "", backtest_sentence(result.backtest), "", _md(result.backtest.table), ""]
        lines += [
            "Only the leads whose deal closed within the window count: quick decisions and deals already under "
            "way at the start, so the win rates are not the ones a full quarter would show. The promised win "
            "rates are the champion's own, on its test quarter; the check is the order of the grades.",
            "",
        ]
    return "\n".join(lines)


def _md(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float | np.floating):
            return "" if pd.isna(value) else f"{value:.3f}"
        return md_text(str(value)).replace("|", "\\|")  # a segment's value comes from the data

    header = "| " + " | ".join(cell(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
