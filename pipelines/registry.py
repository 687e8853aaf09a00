"""The MLflow model registry: versions, aliases, the champion and its record, the promotion gate's verdicts.
The one module that uses MlflowClient (runs are logged with mlflow's fluent API in pipelines/tracking.py).

The gate's rules are pure (models/promotion.py); this module feeds them the test window and the champion's
record, moves the aliases and writes the audit tags.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.io import InputError, artifact_from_csv
from pipelines.settings import PipelineConfig, tracking_uri

if TYPE_CHECKING:
    from models.promotion import ChampionRecord, GateDecision, GateRules, Status
    from pipelines.train_result import TrainResult

CHAMPION, CHALLENGER = "champion", "challenger"


def champion_uri(model_name: str) -> str:
    """The model URI of `model_name`'s champion (the alias the gate moves)."""
    return f"models:/{model_name}@{CHAMPION}"


class ModelNotFoundError(InputError):
    """A model URI names no registered model, version or alias in the tracking store (exit code 3)."""


class UnreadableTestedModel(ModelNotFoundError):
    """A refitted version's tested model (tested/scorer.pkl of its run) is missing or damaged (exit code 3):
    the gate has nothing to compare; `train --force` goes on without comparing."""


class RegistrationRaceError(RuntimeError):
    """Other training runs kept registering versions while this one did (exit code 1, one sentence)."""


def _client() -> Any:
    from mlflow import MlflowClient
    from pipelines.store import setup

    setup()
    return MlflowClient()


def parse_model_uri(model_uri: str) -> tuple[str, str | None, str | None] | None:
    """models:/NAME@ALIAS -> (NAME, ALIAS, None); models:/NAME/VERSION -> (NAME, None, VERSION); else None."""
    if not model_uri.startswith("models:/"):
        return None
    rest = model_uri.removeprefix("models:/").strip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        return name, alias, None
    name, _, version = rest.rpartition("/")
    return (name, None, version) if name else (rest, None, None)


def aliases_of(client: Any, name: str) -> dict[str, str]:
    """alias -> version of a registered model (empty when the model is not registered)."""
    from mlflow.exceptions import MlflowException

    try:
        return {alias: str(v) for alias, v in sorted(client.get_registered_model(name).aliases.items())}
    except MlflowException:
        return {}


def _not_found(model_uri: str, name: str, client: Any, problem: str, option: str) -> ModelNotFoundError:
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
    aliases = aliases_of(client, name)
    store = tracking_uri()
    if not versions:
        models = sorted(m.name for m in client.search_registered_models())
        known = f" (it has: {', '.join(models)})" if models else " (it has no registered model)"
        if name in models:  # registered, and every version deleted since
            known = " (the model is registered, but every version of it was deleted)"
        return ModelNotFoundError(
            f"{model_uri}: the tracking store {store} has no version of model {name!r}{known}; train one "
            "with `leadscore train --input ...`, or point MLFLOW_TRACKING_URI at the store that holds it"
        )
    alias_words = ", ".join(f"{a} -> version {v}" for a, v in aliases.items()) or "no aliases"
    suggestion = f"models:/{name}@{CHALLENGER}" if CHALLENGER in aliases else f"models:/{name}/{versions[-1]}"
    hint = ""
    if problem == f"no alias {CHAMPION!r}":
        hint = " (the promotion gate has not promoted any version yet: `leadscore history` says why)"
    return ModelNotFoundError(
        f"{model_uri}: model {name!r} in the tracking store {store} has {problem}{hint}; it has versions "
        f"{', '.join(map(str, versions))} and {alias_words}. Use {option} {suggestion} to use that version, "
        'or promote one with `leadscore train --force "why"`'
    )


def resolve_version(model_uri: str, option: str = "--model") -> Any | None:
    """The registered ModelVersion a models:/ URI names (None for runs:/ and paths); ModelNotFoundError with a
    sentence naming the store, the model, its versions and aliases when there is none, and the command-line
    `option` that gave the URI."""
    from mlflow.exceptions import MlflowException

    parsed = parse_model_uri(model_uri)
    if parsed is None:
        return None
    name, alias, version = parsed
    client = _client()
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version and version.isdigit():
            return client.get_model_version(name, version)
    except MlflowException:
        pass
    problem = f"no alias {alias!r}" if alias else f"no version {version!r}" if version else "no version given"
    raise _not_found(model_uri, name, client, problem, option)


def version_files(version: Any) -> str:
    """Where a registered version's model files are (its source when the store cannot say)."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_download_uri(version.name, version.version))
    except MlflowException:
        return str(version.source)


def next_version(model_name: str) -> str:
    """The version number the registry will give the next registration of `model_name`."""
    versions = _client().search_model_versions(f"name='{model_name}'")
    return str(max((int(v.version) for v in versions), default=0) + 1)


def delete_version(model_name: str, version: str, model_id: str | None) -> None:
    """Take back a registration and its logged model (never gated: it has no alias and no verdict)."""
    client = _client()
    client.delete_model_version(model_name, version)
    if model_id:
        client.delete_logged_model(model_id)


def champion_version(model_name: str) -> Any | None:
    """The champion's ModelVersion, or None when no version has been promoted yet."""
    from mlflow.exceptions import MlflowException

    try:
        return _client().get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def champion_record(
    version: Any, live: bool = False, split_summary: Mapping[str, Any] | None = None
) -> ChampionRecord | None:
    """What a version (the champion) measured on its own test window at registration (None if not logged, or
    its run is gone from the store), and the deals it learnt from: its tested model's, or with `live` the
    registered model's (promotion.learned_window), read from `split_summary` (the scored model's own) when
    given, else from its run's `split` tag."""
    from mlflow.exceptions import MlflowException

    from models.promotion import ChampionRecord, learned_window

    if not version.run_id:
        return None
    try:
        data = _client().get_run(version.run_id).data
    except MlflowException:
        return None
    metrics = data.metrics
    if not {"roc_auc", "roc_auc_low", "roc_auc_high"} <= set(metrics):
        return None
    start, end = learned_window(split_of_run(data.tags) if split_summary is None else split_summary, live)
    return ChampionRecord(
        version=str(version.version),
        roc_auc=float(metrics["roc_auc"]),
        roc_auc_low=float(metrics["roc_auc_low"]),
        roc_auc_high=float(metrics["roc_auc_high"]),
        learned_start=start,
        learned_end=end,
    )


def split_of_run(tags: Mapping[str, str]) -> dict[str, Any]:
    """The split summary a training run logged as its `split` tag ({} when absent or no JSON)."""
    try:
        summary = json.loads(tags.get("split", ""))
    except ValueError:
        return {}
    return summary if isinstance(summary, dict) else {}


def gate_rules(cfg: PipelineConfig) -> GateRules:
    from models.promotion import GateRules

    r = cfg.registry
    return GateRules(
        auc_tolerance=r.auc_tolerance,
        ece_tolerance=r.ece_tolerance,
        min_test_won=r.min_test_won,
        min_test_lost=r.min_test_lost,
        confidence=r.confidence,
        bootstrap_rounds=r.bootstrap_rounds,
        broken_margin=r.broken_margin,
        seed=cfg.model.seed,
        ece_bins=cfg.model.ece_bins,
        first_model_rule=r.first_model_rule,
    )


def gate_decision(result: TrainResult, cfg: PipelineConfig) -> GateDecision:
    """The promotion gate's verdict on a trained (not yet aliased) version, from its test window."""
    from models.promotion import GateDecision, decide_on_test_scores

    champion = champion_version(cfg.registry.model_name)
    rules = gate_rules(cfg)
    if result.data.from_export:  # an export's rows are leads
        rules = dataclasses.replace(rules, unit="leads")
    decision = decide_on_test_scores(
        result.evaluation.test_scores,
        rules,
        champion_version=None if champion is None else str(champion.version),
        # The window of the model scored, as champion_to_compare read it: a run's `split` tag edited, damaged or
        # missing left every test deal in, those the live champion learnt from included.
        champion=None
        if champion is None
        else champion_record(
            champion,
            result.champion_live,
            None if result.champion is None else result.champion.model.split_summary,
        ),
        unscored=result.champion_unscored or None,
    )
    if champion is not None and "champion" in result.evaluation.test_scores.columns:
        decision = dataclasses.replace(decision, reasons=(*decision.reasons, *result.gate_notes))
    if result.evidence_broken and champion is not None:
        decision = dataclasses.replace(
            decision, status="evidence_broken", reasons=(*decision.reasons, result.evidence_broken)
        )
    moved = champion_moved(result.champion_at_start, champion)
    # What was measured was measured against another champion: no verdict on this one, except that the
    # newest outcomes look broken (exit 7, an alert), which stands whichever champion it was compared with.
    if moved and decision.status != "evidence_broken":
        decision = GateDecision("refused", (moved,))
    return decision


def champion_moved(at_start: str | None, champion: Any | None) -> str | None:
    """Why the gate cannot judge a version when another run promoted a champion while it trained (two jobs
    at once on one registry): both had been promoted, the later one replacing the other uncompared."""
    now = "" if champion is None else str(champion.version)
    if at_start is None or now in ("", at_start):  # unchanged, or its alias removed meanwhile
        return None
    compared = f"version {at_start}" if at_start else "no champion (a first model)"
    return (
        f"the champion changed while this version trained: version {now} was promoted meanwhile by another run, "
        f"and this one was compared with {compared}; rerun to compare it with version {now}, or promote it "
        'with --force "reason"'
    )


NEWEST_DEAL_TAG = "data.newest_deal"  # the creation day of the newest deal the version learnt from


def apply_gate(
    result: TrainResult, cfg: PipelineConfig, *, force_reason: str | None, trigger: str
) -> GateDecision:
    """Alias the new version `challenger`; move `champion` to it if the gate (or --force) says so; record why."""
    client = _client()
    name, version = cfg.registry.model_name, str(result.version)
    decision = gate_decision(result, cfg)
    if force_reason and not decision.promote:
        decision = decision.forced(force_reason)
    client.set_registered_model_alias(name, CHALLENGER, version)
    record_decision(client, name, version, decision, trigger)
    newest = result.newest_deal_learnt()
    if newest:  # what the version knows, for `leadscore history`
        client.set_model_version_tag(name, version, NEWEST_DEAL_TAG, newest)
    if decision.promote:
        client.set_registered_model_alias(name, CHAMPION, version)
    return decision


def decision_from_tags(tags: Mapping[str, str]) -> GateDecision | None:
    """The gate's verdict and reasons as record_decision tagged them on a version (None when no gate ran).
    Versions tagged before evidence_broken existed say "refused"."""
    from models.promotion import GateDecision

    tag = tags.get("gate.decision")
    if not tag:
        return None
    status: Status = (
        "promoted" if tag == "promoted" else "evidence_broken" if tag == "evidence_broken" else "refused"
    )
    reasons = tuple(r for r in tags.get("gate.reasons", "").split(" | ") if r)
    return GateDecision(status, reasons)


def record_decision(client: Any, name: str, version: str, decision: GateDecision, trigger: str) -> None:
    """The audit trail: the gate's verdict, reasons, compared metrics and evidence as tags on the version."""
    tags = {
        "gate.decision": decision.status,
        "gate.date": datetime.now(UTC).isoformat(timespec="seconds"),
        "gate.reasons": " | ".join(decision.reasons),
        "gate.metrics": json.dumps({k: round(float(v), 4) for k, v in decision.compared.items()}),
        "gate.evidence": json.dumps([e.as_dict() for e in decision.evidence]),
        "gate.trigger": trigger,
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def model_versions(model_name: str) -> list[Any]:
    """Every registered version of `model_name` (ModelVersion objects), newest first."""
    versions = _client().search_model_versions(f"name='{model_name}'")
    return sorted(versions, key=lambda v: int(v.version), reverse=True)


def aliases_by_version(model_name: str) -> dict[str, list[str]]:
    """version -> its aliases, sorted (searched versions do not carry their aliases)."""
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases_of(_client(), model_name).items():
        by_version.setdefault(version, []).append(alias)
    return by_version


def run_of(run_id: str) -> Any:
    """The MLflow run a version was logged in (its info, params, metrics and tags)."""
    return _client().get_run(run_id)


def download_run_artifact(run_id: str, path: str, destination: str) -> Path:
    """A run's artifact (file or folder) copied under `destination`; MlflowException or OSError if missing."""
    return Path(_client().download_artifacts(run_id, path, destination))


def attach_to_run(run_id: str, files: Iterable[Path], artifact_path: str) -> None:
    """Log local files as artifacts of an existing run."""
    client = _client()
    for path in files:
        client.log_artifact(run_id, str(path), artifact_path=artifact_path)


def attach_texts(run_id: str, texts: Mapping[str, str]) -> None:
    """Log texts as files of an existing run, each under its artifact path (e.g. "drift/drift.csv")."""
    with tempfile.TemporaryDirectory() as tmp:
        for artifact, text in texts.items():
            folder, name = posixpath.split(artifact)
            path = Path(tmp) / artifact
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            attach_to_run(run_id, [path], folder)


def run_frame(run_id: str, path: str) -> pd.DataFrame | None:
    """A CSV artifact of a run as a frame, or None when the run has none at `path`."""
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return artifact_from_csv(pd.read_csv(download_run_artifact(run_id, path, tmp)))
        except (MlflowException, OSError):
            return None


def record_findings(
    model_name: str, version: str, run_id: str, tags: Mapping[str, str], metrics: Mapping[str, float]
) -> None:
    """Tags on the version and its run, and metrics on the run (e.g. a retrain's drift and backtest)."""
    from mlflow.entities import Metric, RunTag

    client = _client()
    for key, text in tags.items():
        client.set_model_version_tag(model_name, version, key, text)
    now = int(datetime.now(UTC).timestamp() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        tags=[RunTag(key, text) for key, text in tags.items()],
    )
