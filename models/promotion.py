"""The promotion gate: may a challenger replace the champion? Pure: metrics in, a decision out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GateDecision:
    """Whether to promote, and every check in words (for the registry's audit tags and the card)."""

    promote: bool
    reasons: tuple[str, ...]
    compared: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        verdict = "promoted" if self.promote else "not promoted"
        return f"{verdict}: " + "; ".join(self.reasons)


def promotion_decision(
    challenger: Mapping[str, float],
    champion: Mapping[str, float] | None,
    points_model: Mapping[str, float] | None,
    *,
    auc_tolerance: float,
    ece_tolerance: float,
    data_gate_met: bool = True,
    baseline_name: str = "points model",
) -> GateDecision:
    """Decide on promotion from test-window metrics (keys `roc_auc` and `ece`) measured on the same rows.

    With a champion: the challenger's AUC may be at most `auc_tolerance` below it and its ECE at most
    `ece_tolerance` above. Without one, the first model must beat the points model's AUC.
    """
    reasons: list[str] = []
    ok = data_gate_met
    if not data_gate_met:
        reasons.append("the minimum-data gate was not met")
    c_auc, c_ece = float(challenger["roc_auc"]), float(challenger["ece"])
    compared = {"challenger_auc": c_auc, "challenger_ece": c_ece}
    if champion is None:
        if points_model is None:
            reasons.append(f"no champion and no {baseline_name} to compare with")
            return GateDecision(False, tuple(reasons), compared)
        p_auc = float(points_model["roc_auc"])
        compared["points_auc"] = p_auc
        beats = c_auc > p_auc
        ok = ok and beats
        reasons.append(
            f"first model: AUC {c_auc:.3f} {'beats' if beats else 'does not beat'} the {baseline_name}'s {p_auc:.3f}"
        )
        return GateDecision(ok, tuple(reasons), compared)
    h_auc, h_ece = float(champion["roc_auc"]), float(champion["ece"])
    compared.update({"champion_auc": h_auc, "champion_ece": h_ece})
    auc_ok = c_auc >= h_auc - auc_tolerance
    ece_ok = c_ece <= h_ece + ece_tolerance
    reasons.append(
        f"AUC {c_auc:.3f} vs champion {h_auc:.3f} (tolerance {auc_tolerance:.3f}): {'ok' if auc_ok else 'worse'}"
    )
    reasons.append(
        f"ECE {c_ece:.3f} vs champion {h_ece:.3f} (tolerance {ece_tolerance:.3f}): {'ok' if ece_ok else 'worse'}"
    )
    return GateDecision(ok and auc_ok and ece_ok, tuple(reasons), compared)
