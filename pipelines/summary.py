"""Console summaries shared by the commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.console import console, frame_table

if TYPE_CHECKING:
    from models.promotion import GateDecision
    from pipelines.train import TrainResult


def print_training_summary(result: TrainResult) -> None:
    """The comparison table, the guardrail's report, and the gate's decision."""
    from features.icp import excluded_counts_frame
    from pipelines.train import summary_table

    console.print(frame_table(result.data.counts, title="rows read, valid and quarantined"))
    console.print(
        frame_table(result.data.win_rate_by_tier, title="win rate by ICP fit tier (all closed deals)")
    )
    excluded = excluded_counts_frame(result.data.excluded)
    console.print(frame_table(excluded, title="closed deals excluded from training by the ICP guardrail"))
    console.print(
        f"also left out: {result.data.too_recent:,} closed deals younger than the maturity window "
        "(only the quick ones have closed yet)"
    )
    console.print(frame_table(summary_table(result.evaluation), title="test window: model vs baselines"))
    if "oracle_auc" in result.evaluation.extra:
        console.print(f"oracle AUC (true probabilities): {result.evaluation.extra['oracle_auc']:.3f}")
    if result.decision is not None:
        print_gate_decision(result.version, result.decision)
    if result.card_paths is not None:
        console.print(f"model card: {result.card_paths[0]}")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


def print_gate_decision(version: str | None, decision: GateDecision) -> None:
    """The verdict in colour, then each check on its own line."""
    colour = {"promoted": "green", "refused": "yellow", "evidence_broken": "red"}[decision.status]
    console.print(f"[{colour}]model version {version}: {decision.verdict}[/{colour}]")
    for reason in decision.reasons:
        console.print(f"  - {reason}")
