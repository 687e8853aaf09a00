"""Console summaries shared by the commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.console import console, frame_table, labelled

if TYPE_CHECKING:
    from models.promotion import GateDecision
    from models.splits import Split
    from pipelines.retrain import RetrainResult
    from pipelines.settings import RetrainConfig
    from pipelines.train import TrainResult


def print_training_summary(result: TrainResult) -> None:
    """The comparison table, the guardrail's report, and the gate's decision."""
    from features.icp import excluded_counts_frame
    from pipelines.train import summary_table

    console.print(frame_table(result.data.counts, title="rows read, valid and quarantined"))
    export = result.data.from_export
    unit = "labelled leads" if export else "closed deals"
    if len(result.data.win_rate_by_tier):
        by_tier = result.data.win_rate_by_tier.rename(columns={"closed_deals": unit.replace(" ", "_")})
        console.print(frame_table(by_tier, title=f"win rate by ICP fit tier (all {unit})"))
    if result.data.excluded or not export:
        excluded = excluded_counts_frame(result.data.excluded)
        console.print(frame_table(excluded, title=f"{unit} excluded from training by the ICP guardrail"))
    else:
        console.print(
            "the ICP guardrail is off: the export's spec maps no column to an ICP attribute (icp_columns)"
        )
    if not export:
        console.print(
            f"also left out: {result.data.too_recent:,} closed deals younger than the maturity window "
            "(only the quick ones have closed yet)"
        )
    elif result.data.too_recent:
        console.print(
            f"also left out: {result.data.too_recent_sentence(0)}: their outcomes so far are the quick ones, "
            "mostly lost"
        )
    table = summary_table(result.evaluation)
    console.print(frame_table(table, title="test window: model vs baselines"))
    if "auc_low" not in table.columns:
        console.print("no AUC intervals: model.bootstrap_rounds is 0")
    not_known = not_known_sentence(result.split, unit)
    if not_known:
        console.print(not_known)
    if result.refitted:
        console.print(
            f"the model that ships was then trained again on all {len(result.data.y):,} {unit}, the test "
            "window included (model.refit_on_test_window): the table measures the tested model"
        )
    if "oracle_auc" in result.evaluation.extra:
        console.print(f"oracle AUC (true probabilities): {result.evaluation.extra['oracle_auc']:.3f}")
    if result.decision is not None:
        print_gate_decision(result.version, result.decision)
    if result.card_paths is not None:
        console.print(f"model card: {result.card_paths[0]}")
    for warning in result.warnings:
        console.print(labelled("warning:", warning, "yellow"))


def not_known_sentence(split: Split, unit: str) -> str | None:
    """What the tested model was kept from (model.split.known_at_test_start); None when nothing. The maturity
    is said as a window: the result does not hold which setting gave it (model.maturity_days, or
    model.split.known_maturity_days), and naming the wrong one sent users to a setting left at its default."""
    if not len(split.not_known) or split.test_start is None:
        return None
    return (
        f"the tested model learnt only what was known on {split.test_start:%Y-%m-%d}, where its test window "
        f"begins: {len(split.not_known):,} earlier {unit} closed after it or younger than the maturity window "
        "then were kept from it (model.split.known_at_test_start)"
    )


def print_gate_decision(version: str | None, decision: GateDecision) -> None:
    """The verdict in colour, then each check on its own line."""
    colour = {"promoted": "green", "refused": "yellow", "evidence_broken": "red"}[decision.status]
    console.print(f"model version {version}: {decision.verdict}", style=colour)
    for reason in decision.reasons:
        console.print(f"  - {reason}")
    if decision.first_without_signal:
        console.print(
            labelled(
                "refused: no learnable signal:",
                f"on the newest closed outcomes, which it never learnt from, version {version} ranked no better "
                "than chance, and there is no champion: nothing scores. It stays registered as `challenger` "
                "for review. Check that the outcomes are joined to the right leads and hold won = 1, and that "
                "the features are known when a lead is scored; more closed history narrows the interval.",
                "red",
            )
        )


def print_retrain_summary(result: RetrainResult, rcfg: RetrainConfig) -> None:
    """The windows, challenger against champion, drift, the backtest, the gate's decision and what was written."""
    from models.formatting import iso_day
    from pipelines.retrain_report import COMPARISON_COLUMNS, backtest_sentence, drift_sentences

    w = result.windows
    console.print(
        labelled(
            f"Retrain as of {iso_day(w.as_of)}:",
            f"version {result.version}, trained "
            f"{iso_day(w.train_start)} to {iso_day(w.valid_start)}, evaluated on {w.evaluation_quarter}"
            + (", then trained again with it" if result.train.refitted else "")
            + (
                f" against champion version {result.champion_version}"
                if result.champion_version
                else " (no champion yet)"
            ),
            "bold",
        )
    )
    console.print(
        frame_table(result.comparison()[list(COMPARISON_COLUMNS)], title=f"On {w.evaluation_quarter}")
    )
    if result.champion_learned:
        console.print(result.champion_learned)
    if result.drift is not None:
        top = result.drift.table.head(12)[
            ["feature", "psi", "status", "reference_summary", "current_summary"]
        ]
        console.print(frame_table(top, title="Drift (PSI), champion's training window -> evaluation quarter"))
        gaps = result.drift.segments.head(8)
        console.print(frame_table(gaps, title="The champion's errors by segment on the evaluation quarter"))
        for sentence in drift_sentences(result.drift, rcfg)[1:]:
            console.print(sentence)
    if result.backtest is not None:
        console.print(
            frame_table(result.backtest.table, title="Backtest: the champion's grades, then and now")
        )
        console.print(backtest_sentence(result.backtest))
    if result.decision is not None:
        print_gate_decision(result.version, result.decision)
    for path in result.paths:
        console.print(f"wrote {path}")
    for warning in result.warnings:
        console.print(labelled("warning:", warning, "yellow"))
