"""Job: the model card. Written at the end of every training run and on demand for a registered version
(`leadscore card --model models:/leadscore@champion --input DIR --out DIR`), as model_card.html (self-contained,
charts embedded) and model_card.md, both logged to the model's MLflow run under card/.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipelines.io import InputError, atomic_path

if TYPE_CHECKING:
    from models.card import AnyScorer, CardData, CardSettings
    from pipelines.settings import PipelineConfig
    from pipelines.train import TrainResult

HTML_NAME, MARKDOWN_NAME = "model_card.html", "model_card.md"
CARD_ARTIFACT_DIR = "card"
EVALUATION_DIR = "evaluation"


def previous_test_probabilities(
    result: TrainResult, previous: AnyScorer | None, tables: dict[str, pd.DataFrame] | None
) -> np.ndarray | None:
    """The previous champion's probabilities on this run's test leads: from the evaluation when it scored
    them, else rebuilt from the tables with the champion's own features (as training does)."""
    if previous is None:
        return None
    scores = result.evaluation.test_scores
    if "champion" in scores.columns:
        return scores["champion"].to_numpy(dtype=float)
    from models.scorer import LeadScorer

    if tables is None or not isinstance(previous, LeadScorer):
        return None  # a flat-export champion is scored at training, on the same export, or not at all
    test = result.data.frame.iloc[result.split.test]
    frame = previous.feature_frame(tables, test[["deal_id", "lead_id", "snapshot_at"]])
    return previous.model.predict_proba(frame)


def card_data_for(
    result: TrainResult,
    cfg: PipelineConfig,
    *,
    previous: AnyScorer | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    trained_at: pd.Timestamp | None = None,
    history: list[str] | None = None,
    notes: list[str] | None = None,
    settings: CardSettings | None = None,
) -> CardData:
    """CardData of a training result (pure apart from reading the tables it is given)."""
    from models.card import build_card_data

    decision = result.decision.summary() if result.decision is not None else ""
    return build_card_data(
        scorer=result.scorer,
        evaluation=result.evaluation,
        frame=result.data.frame,
        y=result.data.y,
        split=result.split,
        excluded=result.data.excluded,
        too_recent=result.data.too_recent,
        win_rate_by_tier_all=result.data.win_rate_by_tier,
        row_counts=result.data.counts,
        model_cfg=cfg.model,
        trained_at=trained_at if trained_at is not None else _now(),
        run_id=result.run_id or "",
        version=result.version or "",
        decision=decision,
        previous=previous,
        previous_test_p=previous_test_probabilities(result, previous, tables),
        history=history or [],
        notes=notes or [],
        settings=settings,
    )


def write_card_files(data: CardData, out_dir: Path) -> tuple[Path, Path]:
    """Render the card and write model_card.html and model_card.md atomically into `out_dir`."""
    from models.card import render_card

    page, markdown = render_card(data)
    html_path, md_path = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    for path, text in ((html_path, page), (md_path, markdown)):
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
            tmp.chmod(0o644)  # a page to share: readable like any other report, not private like a temp file
    return html_path, md_path


def write_card(
    result: TrainResult,
    out_dir: Path,
    previous: AnyScorer | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    *,
    cfg: PipelineConfig,
    trained_at: pd.Timestamp | None = None,
    history: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[Path, Path]:
    """The card of a training result, written to `out_dir`; returns (html_path, md_path)."""
    data = card_data_for(
        result, cfg, previous=previous, tables=tables, trained_at=trained_at, history=history, notes=notes
    )
    return write_card_files(data, out_dir)


def log_card_to_run(run_id: str, paths: tuple[Path, ...] | list[Path]) -> None:
    """Attach the card files to an existing MLflow run, under card/."""
    from pipelines.registry import attach_to_run

    attach_to_run(run_id, paths, CARD_ARTIFACT_DIR)


def card_after_training(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    previous: AnyScorer | None,
    out_dir: Path | None = None,
) -> tuple[Path, Path] | None:
    """The end of a training run: write the card (to `out_dir`, or a temporary folder) and log it to the run.

    Returns the paths when `out_dir` is given; with a temporary folder the card lives only in MLflow.
    """
    history = registry_history(cfg.registry.model_name, before=result.version) if result.version else []
    if out_dir is not None:
        paths = write_card(result, out_dir, previous, tables, cfg=cfg, history=history)
        if result.run_id:
            log_card_to_run(result.run_id, paths)
        return paths
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_card(result, Path(tmp), previous, tables, cfg=cfg, history=history)
        if result.run_id:
            log_card_to_run(result.run_id, paths)
    return None


# ----------------------------------------------------------------------------------------------------------
# The card of a registered version: `leadscore card --model URI --input DIR --out DIR`
# ----------------------------------------------------------------------------------------------------------


def _model_version(model_uri: str) -> Any:
    """The registered version a card is written for (runs:/ and paths have no registry record)."""
    from pipelines.registry import resolve_version

    version = resolve_version(model_uri)
    if version is None:
        raise InputError(
            f"{model_uri}: the card needs a registered model, e.g. models:/leadscore@champion or "
            "models:/leadscore/3"
        )
    return version


def _gate_summary(tags: dict[str, str]) -> str:
    decision = tags.get("gate.decision")
    if not decision:
        return ""
    verdict = {"promoted": "promoted", "evidence_broken": "evidence looks broken"}.get(
        decision, "not promoted"
    )
    return f"{verdict}: " + "; ".join(r for r in tags.get("gate.reasons", "").split(" | ") if r)


def registry_history(model_name: str, before: str | None = None, limit: int = 5) -> list[str]:
    """One line per earlier registered version (newest first): date and the gate's verdict."""
    from pipelines.registry import model_versions

    earlier = [v for v in model_versions(model_name) if before is None or int(v.version) < int(before)]
    lines = []
    for v in earlier[:limit]:
        day = pd.Timestamp(int(v.creation_timestamp), unit="ms").strftime("%Y-%m-%d")
        verdict = _gate_summary(v.tags) or "no gate decision recorded"
        lines.append(f"Earlier: version {v.version} registered {day}, {verdict}.")
    return lines


def previous_champion_version(model_name: str, version: str) -> str | None:
    """The newest version below `version` that the gate promoted: the champion this version was measured
    against."""
    from pipelines.registry import model_versions

    promoted = [
        int(v.version)
        for v in model_versions(model_name)
        if int(v.version) < int(version) and v.tags.get("gate.decision") == "promoted"
    ]
    return str(max(promoted)) if promoted else None


def _read_logged_frames(run_id: str) -> dict[str, pd.DataFrame]:
    from pipelines.registry import download_run_artifact

    with tempfile.TemporaryDirectory() as tmp:
        folder = download_run_artifact(run_id, EVALUATION_DIR, tmp)
        frames = {path.stem: pd.read_csv(path) for path in folder.glob("*.csv")}
        frames.update({path.stem: pd.read_parquet(path) for path in folder.glob("*.parquet")})
    return frames


def _logged_config(run_id: str) -> PipelineConfig:
    from pipelines.registry import download_run_artifact
    from pipelines.settings import PipelineConfig

    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_artifact(run_id, "config.json", tmp)
        return PipelineConfig.model_validate(json.loads(path.read_text()))


def _logged_or(frames: dict[str, pd.DataFrame], name: str, fallback: pd.DataFrame) -> pd.DataFrame:
    return frames.get(name, fallback)


def _aligned_test_scores(logged: pd.DataFrame, recomputed: pd.DataFrame) -> pd.DataFrame | None:
    """The logged test scores in the order of the rebuilt test window (matched on deal_id), or None."""
    if "deal_id" not in logged.columns or len(logged) != len(recomputed):
        return None
    by_deal = logged.set_index(logged["deal_id"].astype("str"))
    keys = recomputed["deal_id"].astype("str")
    if not keys.isin(by_deal.index).all():
        return None
    return by_deal.loc[keys.to_numpy()].reset_index(drop=True)


def card_from_registry(
    model_uri: str,
    tables: dict[str, pd.DataFrame],
    out_dir: Path,
    *,
    previous_uri: str | None = None,
    log: bool = True,
) -> tuple[Path, Path]:
    """The card of a registered version, rebuilt from its MLflow run and the CRM tables it was trained on.

    Headline metrics (the comparison with the points model, the champion at the time and the oracle) are the
    ones logged at training; the feature rows behind the drivers, examples and drift are rebuilt from
    `tables` with the run's logged configuration, and a note in the card says so if they differ from the
    training data. The previous champion is the newest earlier version the gate promoted (or
    `previous_uri`). With `log`, the card is also attached to the version's run under card/.
    """
    from models.compare import evaluate_on_test, fit_baselines
    from models.promotion import GateDecision, status_of_tag
    from models.scorer import LeadScorer
    from pipelines import tracking
    from pipelines.registry import run_of
    from pipelines.train import TrainResult, make_split, training_data

    version = _model_version(model_uri)
    run = run_of(version.run_id)
    cfg = _logged_config(version.run_id)
    logged = _read_logged_frames(version.run_id)
    scorer = tracking.load_scorer(f"models:/{version.name}/{version.version}")
    scorer.model_version = str(version.version)
    if not isinstance(scorer, LeadScorer):
        raise InputError(
            f"{model_uri}: version {version.version} was trained on a flat export; its card is written at "
            "training (MLflow run, card/), rebuilding it needs the export rather than CRM tables"
        )

    data = training_data(tables, cfg, truth=None)
    split = make_split(data.frame, cfg)
    names = scorer.model.feature_names
    baselines = fit_baselines(data.frame, data.y, split, names, scorer.model.categorical, cfg.model)
    evaluation = evaluate_on_test(data.frame, data.y, split, scorer.model, baselines, cfg.model)
    notes = _consistency_notes(run, tables, evaluation.comparison, logged)
    recomputed_scores = evaluation.test_scores
    logged_scores = (
        _aligned_test_scores(logged["test_scores"], recomputed_scores) if "test_scores" in logged else None
    )
    evaluation.comparison = _logged_or(logged, "comparison", evaluation.comparison)
    for name in ("gains", "points_gains", "reliability", "by_grade", "by_tier", "segments"):
        setattr(evaluation, name, _logged_or(logged, name, getattr(evaluation, name)))
    if logged_scores is not None:
        evaluation.test_scores = logged_scores
    if "oracle_auc" in run.data.metrics:
        evaluation.extra["oracle_auc"] = run.data.metrics["oracle_auc"]
    data.win_rate_by_tier = _logged_or(logged, "win_rate_by_tier_all_closed", data.win_rate_by_tier)
    data.counts = _logged_or(logged, "row_counts", data.counts)

    previous_ref = previous_uri
    if previous_ref is None:
        previous_version = previous_champion_version(version.name, str(version.version))
        previous_ref = f"models:/{version.name}/{previous_version}" if previous_version else None
    previous = tracking.load_scorer(previous_ref) if previous_ref else None
    if previous is not None and "champion" not in evaluation.comparison["model"].tolist():
        notes.append(
            "The previous champion was not scored on this version's test leads at training; its comparison "
            "rows are left out, its drift figures are computed from the given input."
        )

    tags = dict(version.tags or {})
    decision = None
    if tags.get("gate.decision"):
        reasons = tuple(r for r in tags.get("gate.reasons", "").split(" | ") if r)
        decision = GateDecision(status_of_tag(tags["gate.decision"]), reasons)
    result = TrainResult(
        scorer=scorer,
        data=data,
        split=split,
        evaluation=evaluation,
        decision=decision,
        run_id=version.run_id,
        version=str(version.version),
    )
    paths = write_card(
        result,
        out_dir,
        previous,
        tables,
        cfg=cfg,
        trained_at=pd.Timestamp(run.info.start_time, unit="ms"),
        history=registry_history(version.name, before=str(version.version)),
        notes=notes,
    )
    if log:
        log_card_to_run(version.run_id, paths)
    return paths


def _consistency_notes(
    run: Any, tables: dict[str, pd.DataFrame], recomputed: pd.DataFrame, logged: dict[str, pd.DataFrame]
) -> list[str]:
    """Say in the card when the given input is not the data the version was trained on."""
    from pipelines.tracking import data_fingerprint

    notes = []
    logged_print = run.data.tags.get("data_fingerprint")
    if logged_print and logged_print != data_fingerprint(tables):
        notes.append(
            "The CRM tables given to build this card are not the ones this version was trained on "
            f"(fingerprint {data_fingerprint(tables)}, trained on {logged_print}). Headline metrics are the "
            "ones logged at training; examples, drivers and drift come from the given tables."
        )
    if "comparison" in logged:
        logged_auc = logged["comparison"].set_index("model").loc["model", "roc_auc"]
        again = recomputed.set_index("model").loc["model", "roc_auc"]
        if abs(float(logged_auc) - float(again)) > 1e-6:
            notes.append(
                f"Re-evaluated on the given tables the ROC AUC is {again:.3f}; {logged_auc:.3f} was logged at "
                "training (shown above)."
            )
    return notes


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)).floor("s")
