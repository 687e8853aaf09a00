"""Job: `leadscore card` for a registered version. The card is rendered again from the data logged with it at
training (card/data/ in its run: the same card, nothing scored again); for a version logged before training
recorded that data, or against another `--previous` version, it is rebuilt from the run and the CRM tables the
version was trained on (the card written at training is pipelines.card's)."""

from __future__ import annotations

import copy
import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.card import (
    CARD_DATA_DIR,
    EVALUATION_DIR,
    log_card_to_run,
    registry_history,
    write_card,
    write_card_files,
)
from pipelines.io import InputError, artifact_from_csv

if TYPE_CHECKING:
    from models.card import CardData
    from pipelines.settings import PipelineConfig


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


def check_previous_is_another(version: Any, previous: Any) -> None:
    """InputError when `--previous` names the version the card is of, or a later version of its model: the card
    compared the version with itself as its "previous champion" (level with it, 0 % of grades changed), or
    called a newer version its previous champion, with exit 0."""
    if previous is None or previous.name != version.name:
        return
    this, other = int(version.version), int(previous.version)
    if other < this:
        return
    earlier = f"models:/{version.name}/{this - 1}" if this > 1 else None
    fix = f"name an earlier one, e.g. --previous {earlier}, " if earlier else "name an earlier version "
    what = "the version this card is of" if other == this else f"a later version than {this}, this card's"
    flipped = (
        f" (for version {other}'s card against this one: --model models:/{version.name}/{other} --previous "
        f"models:/{version.name}/{this})"
        if other > this
        else ""
    )
    raise InputError(
        f"--previous names version {other} of {version.name}, {what}: a card compares its version with an "
        f"earlier one; {fix}or leave --previous out for the champion it was measured against{flipped}"
    )


class DamagedCardData(InputError):
    """The card data logged with a run cannot be read (a file truncated, overwritten or removed)."""


def logged_card_data(run_id: str) -> CardData | None:
    """The CardData logged with the run's card at training, or None when the run has none (logged before
    training recorded it); DamagedCardData when its files are there but cannot be read."""
    from mlflow.exceptions import MlflowException

    from models.card.record import CardRecordError, card_from_record
    from pipelines.registry import download_run_artifact

    with tempfile.TemporaryDirectory() as tmp:
        try:
            folder = download_run_artifact(run_id, CARD_DATA_DIR, tmp)
        except (MlflowException, OSError):
            return None
        files = {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
    if not files:
        return None
    try:
        return card_from_record(files)
    # JSON, UTF-8 and Parquet errors are ValueErrors; a frame named in card.json but missing is a KeyError
    except (CardRecordError, ValueError, KeyError, TypeError) as error:
        reason = " ".join(str(error).split())[:160]
        raise DamagedCardData(
            f"the card data logged with run {run_id} ({CARD_DATA_DIR}/ among its artifacts) cannot be read "
            f"({type(error).__name__}: {reason}); give --input the tables the version was trained on to "
            "rebuild its card from them"
        ) from error


def card_from_logged_data(
    model_uri: str, out_dir: Path, *, log: bool = True, exploration: pd.DataFrame | None = None
) -> tuple[Path, Path] | None:
    """The card of a registered version rendered from the data logged with it at training: the same card as
    then, nothing scored again (with `exploration`, plus the exploration slice of past call lists). None when
    the version's run has no such data. With `log`, the card files are attached to the run again under card/."""
    version = _model_version(model_uri)
    data = logged_card_data(version.run_id)
    if data is None:
        return None
    if exploration is not None:
        data = dataclasses.replace(data, exploration=exploration)
    paths = write_card_files(data, out_dir)
    if log:
        log_card_to_run(version.run_id, paths)
    return paths


def _read_logged_frames(run_id: str) -> dict[str, pd.DataFrame]:
    from pipelines.registry import download_run_artifact

    with tempfile.TemporaryDirectory() as tmp:
        folder = download_run_artifact(run_id, EVALUATION_DIR, tmp)
        frames = {path.stem: artifact_from_csv(pd.read_csv(path)) for path in folder.glob("*.csv")}
        frames.update({path.stem: pd.read_parquet(path) for path in folder.glob("*.parquet")})
    return frames


def _logged_config(run_id: str) -> tuple[PipelineConfig, list[str]]:
    from pipelines.registry import download_run_artifact

    with tempfile.TemporaryDirectory() as tmp:
        path = download_run_artifact(run_id, "config.json", tmp)
        return config_as_logged(json.loads(path.read_text()), run_id)


def config_as_logged(logged: dict[str, Any], run_id: str) -> tuple[PipelineConfig, list[str]]:
    """A run's logged configuration, and the settings this version of leadscore no longer accepts (a bound
    added since: model.bootstrap_rounds 10), read at their defaults and named ("model.bootstrap_rounds=10").
    A combination it refuses (a rule over several settings) is an InputError naming the run and the rule: its
    card cannot be rebuilt the way it was trained (a pydantic traceback before)."""
    from pydantic import ValidationError

    from pipelines.settings import PipelineConfig

    def refused(error: ValidationError) -> InputError:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the configuration"
        return InputError(
            f"the run {run_id} was trained with settings this version of leadscore refuses ({where}: "
            f"{problem['msg']}), so its card cannot be rebuilt as it was trained; rebuild it with the leadscore "
            "version that trained it, or train the model again"
        )

    try:
        return PipelineConfig.model_validate(logged), []
    except ValidationError as error:
        pruned, reset = copy.deepcopy(logged), []
        for problem in error.errors():
            *parents, leaf = problem["loc"]
            section: Any = pruned
            for key in parents:
                section = section.get(key) if isinstance(section, dict) else None
            if not isinstance(section, dict) or leaf not in section or isinstance(section[leaf], dict):
                raise refused(error) from error
            setting = ".".join(str(part) for part in problem["loc"])
            reset.append(f"{setting}={section.pop(leaf)!r}")
        try:
            return PipelineConfig.model_validate(pruned), reset
        except ValidationError as again:
            raise refused(again) from again


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


def card_of_version(
    model_uri: str,
    out_dir: Path,
    read_tables: Callable[[], dict[str, pd.DataFrame]] | None,
    *,
    previous_uri: str | None = None,
    log: bool = True,
    calls: list[Path] | None = None,
) -> tuple[Path, Path]:
    """`leadscore card`: from the data logged at training when there is some and no `previous_uri`, else
    rebuilt from the run and the tables `read_tables` reads (InputError when it is None). With `calls` (past
    call lists, rendered from the logged data only), the card reports their exploration slice, with the
    outcomes the tables' deals hold."""
    if previous_uri:  # a wrong --previous is said before anything is read or rebuilt
        from pipelines.registry import resolve_version

        check_previous_is_another(
            _model_version(model_uri), resolve_version(previous_uri, option="--previous")
        )
    if calls:
        from pipelines.card import exploration_from_calls, read_call_lists

        if read_tables is None or previous_uri is not None:
            raise InputError(
                "--calls reports the exploration slice on the card logged at training: give --input (the CRM "
                "tables holding the calls' outcomes) and no --previous"
            )
        exploration = exploration_from_calls(read_call_lists(calls), read_tables())
        paths = card_from_logged_data(model_uri, out_dir, log=log, exploration=exploration)
        if paths is None:
            raise InputError(f"{model_uri}: its run has no card data, so --calls cannot be added to its card")
        return paths
    if previous_uri is None:
        try:
            paths = card_from_logged_data(model_uri, out_dir, log=log)
        except DamagedCardData:
            if read_tables is None:
                raise
            paths = None  # rebuilt from the tables below, as for a version logged without card data
        if paths is not None:
            return paths
    if read_tables is None:
        if previous_uri:
            why = f"comparing it with {previous_uri} rebuilds its card"
        else:
            from pipelines.tracking import load_scorer

            load_scorer(model_uri)  # a version another tool registered has no card data either: said as such
            why = "its run has no card data (logged before training recorded it), so its card is rebuilt"
        raise InputError(f"{model_uri}: {why} from the CRM tables it was trained on; give them with --input")
    return card_from_registry(model_uri, read_tables(), out_dir, previous_uri=previous_uri, log=log)


def card_from_registry(
    model_uri: str,
    tables: dict[str, pd.DataFrame],
    out_dir: Path,
    *,
    previous_uri: str | None = None,
    log: bool = True,
) -> tuple[Path, Path]:
    """The card of a registered version, rebuilt from its MLflow run and the CRM tables it was trained on
    (for versions logged before training recorded the card's data, or against another previous version).

    Headline metrics (the comparison with the points model, the champion at the time and the oracle) are the
    ones logged at training; the feature rows behind the drivers, examples and drift are rebuilt from
    `tables` with the run's logged configuration, and a note in the card says so if they differ from the
    training data. The previous champion is the newest earlier version the gate promoted (or
    `previous_uri`). With `log`, the card is also attached to the version's run under card/.
    """
    from mlflow.exceptions import MlflowException

    from models.compare import evaluate_on_test, fit_baselines
    from models.scorer import CRM_TABLES
    from pipelines import tracking
    from pipelines.registry import decision_from_tags, run_of
    from pipelines.train import TrainResult, make_split, training_data

    version = _model_version(model_uri)
    # First: a version another tool registered, or whose files are damaged, is named as such (exit 3).
    scorer = tracking.load_scorer(f"models:/{version.name}/{version.version}")
    scorer.model_version = str(version.version)
    run = run_of(version.run_id)
    try:
        cfg, reset = _logged_config(version.run_id)
        logged = _read_logged_frames(version.run_id)
    except (MlflowException, OSError) as error:
        raise InputError(
            f"{model_uri}: the run {version.run_id} of version {version.version} no longer holds config.json and "
            f"{EVALUATION_DIR}/ (its artifacts were removed or moved: {type(error).__name__}), so its card cannot "
            "be rebuilt; restore the run's artifacts from a backup"
        ) from error
    if scorer.input != CRM_TABLES:
        raise InputError(
            f"{model_uri}: version {version.version} was trained on {scorer.input.describe()}; its card is "
            "written at training (MLflow run, card/), rebuilding it needs the export rather than CRM tables"
        )

    # The version exists: its card is rebuilt whatever share of the won deals its ICP disqualified (a check
    # training makes since icp.max_won_disqualified_share, which versions logged before it never passed).
    cfg = cfg.model_copy(update={"icp": cfg.icp.model_copy(update={"max_won_disqualified_share": 1.0})})
    data = training_data(tables, cfg, truth=None)
    # The numbers are the tested model's: the registered one may have learnt the test window since.
    tested = tracking.load_tested_scorer(version, scorer)
    # Its learning rows as its training chose them: a version trained before known_at_test_start, or one whose
    # known deals were too few, learnt every deal before its test window.
    split = make_split(data.frame, cfg, known_only="n_not_known" in tested.model.split_summary)
    names = tested.model.feature_names
    baselines = fit_baselines(data.frame, data.y, split, names, tested.model.categorical, cfg.model)
    evaluation = evaluate_on_test(data.frame, data.y, split, tested.model, baselines, cfg.model)
    notes = _consistency_notes(run, tables, evaluation.comparison, logged)
    if reset:
        notes.append(
            f"Rebuilt with today's defaults for settings this version of leadscore no longer accepts: "
            f"{', '.join(reset)} (as logged at training)."
        )
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
    compared = previous_champion_version(version.name, str(version.version))  # the champion at training
    if previous_ref is None:
        previous_ref = f"models:/{version.name}/{compared}" if compared else None
    previous = previous_as_compared(previous_ref, compared, data, split, cfg) if previous_ref else None
    if previous is not None and str(previous.model_version) != compared:
        # The rows logged as the champion's at training are another version's: never shown as this one's.
        evaluation.comparison = evaluation.comparison.loc[evaluation.comparison["model"] != "champion"]
        evaluation.test_scores = evaluation.test_scores.drop(columns=["champion"], errors="ignore")
    if previous is not None and "champion" not in evaluation.comparison["model"].tolist():
        notes.append(
            "The previous champion was not scored on this version's test leads at training; "
            + (
                "its comparison rows and drift figures are computed from the given input."
                if previous.input == scorer.input
                else "it reads another input than this version, so it is not compared on them."
            )
        )

    tags = dict(version.tags or {})
    decision = decision_from_tags(tags)
    result = TrainResult(
        scorer=scorer,
        data=data,
        split=split,
        evaluation=evaluation,
        tested=tested,
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


def previous_as_compared(
    previous_ref: str, compared: str | None, data: Any, split: Any, cfg: PipelineConfig
) -> Any:
    """The previous version a rebuilt card compares: its tested model (tracking.load_tested_model), or when it
    is the champion this version was measured against, the one of its two models the gate scored
    (train.champion_to_compare on the same split): the logged champion rows hold that model's numbers, and
    they were shown beside the other's trees and features, without the deals the live one learnt."""
    from pipelines import tracking
    from pipelines.registry import resolve_version
    from pipelines.train import champion_to_compare

    version = resolve_version(previous_ref, option="--previous")
    if version is None or str(version.version) != compared:
        return tracking.load_tested_model(previous_ref)
    live = tracking.load_scorer(f"models:/{version.name}/{version.version}")
    live.model_version = str(version.version)
    scored, _ = champion_to_compare((live, tracking.load_tested_scorer(version, live)), data, split, cfg)
    return scored


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
