"""The audit trail: every registered version of the model, with the promotion gate's verdict, its reasons,
the metrics it compared, who or what triggered it, and (for retrains) the date the data were taken as of.

The trail lives on the model versions' tags in the MLflow registry (gate.* written by the promotion gate,
retrain.* by `leadscore retrain`); this module only reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HISTORY_COLUMNS = (
    "version",
    "created",
    "aliases",
    "decision",
    "reasons",
    "metrics",
    "evidence",
    "trigger",
    "gate_date",
    "as_of",
    "newest_deal",
    "evaluation_quarter",
    "compared_with",
)


def promotion_history(model_name: str) -> pd.DataFrame:
    """One row per registered version of `model_name`, newest first.

    Columns: version, created (registration time, naive UTC), aliases (comma-joined, e.g. "champion"),
    decision (promoted / refused / "" when no gate ran), reasons (the gate's checks, " | "-joined), metrics
    (JSON of the metrics compared), trigger, gate_date, as_of and evaluation_quarter (retrains only),
    newest_deal (the creation day of the newest deal the version learnt from; "" before 2026-12-07),
    compared_with (the champion version a retrain measured the challenger against). Empty when the model has
    no version.
    """
    from pipelines.registry import aliases_by_version, model_versions

    versions = model_versions(model_name)
    aliases = aliases_by_version(model_name) if versions else {}
    rows = []
    for v in versions:  # one row per registered version
        tags = dict(v.tags or {})
        rows.append(
            {
                "version": int(v.version),
                "created": pd.Timestamp(int(v.creation_timestamp), unit="ms"),
                "aliases": ",".join(aliases.get(str(v.version), [])),
                "decision": tags.get("gate.decision", ""),
                "reasons": tags.get("gate.reasons", ""),
                "metrics": tags.get("gate.metrics", ""),
                "evidence": tags.get("gate.evidence", ""),
                "trigger": tags.get("gate.trigger", ""),
                "gate_date": tags.get("gate.date", ""),
                "as_of": tags.get("retrain.as_of", ""),
                "newest_deal": tags.get("data.newest_deal", ""),
                "evaluation_quarter": tags.get("retrain.evaluation_quarter", ""),
                "compared_with": tags.get("retrain.champion_version", ""),
            }
        )
    frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    frame = frame.astype({c: "str" for c in HISTORY_COLUMNS if c not in ("version", "created")})
    return frame.sort_values("version", ascending=False, kind="stable").reset_index(drop=True)


def metrics_in_words(metrics_json: str) -> str:
    """'{"challenger_auc": 0.79, "champion_auc": 0.78}' -> 'challenger_auc 0.790, champion_auc 0.780'."""
    if not metrics_json:
        return ""
    try:
        metrics = json.loads(metrics_json)
    except json.JSONDecodeError:
        return metrics_json
    if not isinstance(metrics, dict):  # a tag edited by hand: shown as written
        return metrics_json
    return ", ".join(f"{k} {v:.3f}" if isinstance(v, int | float) else f"{k} {v}" for k, v in metrics.items())


def evidence_in_words(evidence_json: str) -> str:
    """The gate's evidence tag as lines: 'AUC gain over logistic regression +0.012 (+0.004 to +0.020, 1,203 rows)'."""
    if not evidence_json:
        return ""
    try:
        items = json.loads(evidence_json)
        return "; ".join(
            f"{e['what']} {e['value']:+.3f} ({e['low']:+.3f} to {e['high']:+.3f}, {e['rows']:,} rows)"
            for e in items
        )
    except (ValueError, TypeError, KeyError):  # no JSON, or not the gate's shape (a tag edited by hand)
        return evidence_json


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The columns `leadscore history` prints, in words."""
    return pd.DataFrame(
        {
            "version": history["version"].astype("str"),
            "registered": pd.to_datetime(history["created"]).dt.strftime("%Y-%m-%d %H:%M"),
            "data as of": history["as_of"],
            "newest deal learnt": history["newest_deal"],
            "aliases": history["aliases"],
            "decision": history["decision"].replace("", "(no gate)"),
            "reasons": history["reasons"].str.replace(" | ", "; ", regex=False),
            "evidence": history["evidence"].map(evidence_in_words),
            "metrics compared": history["metrics"].map(metrics_in_words),
            "trigger": history["trigger"],
        }
    )


def history_command(
    model_name: str | None = None, config: Path | None = None, limit: int | None = None
) -> int:
    """`leadscore history`: print every version's promotion or refusal, newest first. Returns the exit code
    (0; 3 when the configuration or the tracking store cannot be read)."""
    from pipelines import exit_codes
    from pipelines.console import console, frame_table, labelled
    from pipelines.settings import ConfigError, load_config

    try:
        name = model_name or load_config(config).registry.model_name
    except ConfigError as error:
        console.print(labelled("error:", str(error), "red"))
        return exit_codes.BAD_INPUT
    from pipelines.store import TrackingStoreError

    try:
        history = promotion_history(name)
    except TrackingStoreError as error:
        console.print(labelled("error:", str(error), "red"))
        return exit_codes.BAD_INPUT
    if history.empty:
        console.print(
            f"No registered versions of {name!r} yet: `leadscore train` or `leadscore retrain` first."
        )
        return exit_codes.OK
    shown = history.head(limit) if limit else history
    promoted = int((history["decision"] == "promoted").sum())
    refused = int(history["decision"].isin(["refused", "evidence_broken"]).sum())
    console.print(
        frame_table(
            history_table(shown),
            title=f"{name}: {len(history)} versions, {promoted} promoted, {refused} refused (newest first)",
        )
    )
    return exit_codes.OK
