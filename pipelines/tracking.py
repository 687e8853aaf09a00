"""MLflow: the tracking store, training runs, the scoring artifact, the registry, aliases and the audit trail."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pipelines.io import OutputError, artifact_csv, quarantine_for_csv
from pipelines.settings import PROJECT_ROOT, PipelineConfig, tracking_uri
from pipelines.store import artifacts_unwritable, setup, store_unwritable

if TYPE_CHECKING:
    from features.flat import ExportSpec
    from models.scorer import Scorer
    from pipelines.train_result import TrainResult

ARTIFACT_PATH = "model"
# Pinned like pyproject.toml: letting mlflow infer requirements costs about 3 s per logged model.
PIP_REQUIREMENTS = [
    "mlflow==3.17.2",
    "lightgbm==4.7.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "scikit-learn==1.9.1",
    "pydantic==2.14.4",
    "pyarrow==25.0.1",
    "pandera[pandas]==0.35.0",
    "pyyaml==6.0.4",
    "uvloop==0.23.0",  # the model server's faster event loop and HTTP parser (see pyproject.toml)
    "httptools==0.9.0",
]


def data_fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """A short hash of the input tables' content (rows and values, not file names)."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        digest.update(name.encode())
        digest.update(_row_hashes(tables[name]).tobytes())
    return digest.hexdigest()[:16]


def _row_hashes(table: pd.DataFrame) -> np.ndarray:
    try:
        return pd.util.hash_pandas_object(table, index=False).to_numpy()
    except TypeError:  # a column of lists or records the contract does not read (Parquet, database): as text
        # Each value's str(), bytes as b'\xff' (a BLOB, BYTEA or BIT column beside it): astype("str") decoded
        # bytes as UTF-8, and bytes that are no text ended the run in a traceback.
        text = {
            c: table[c].map(str, na_action="ignore").astype("str")
            for c in table.columns
            if table[c].dtype == object
        }
        return pd.util.hash_pandas_object(table.assign(**text), index=False).to_numpy()


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flat_params(cfg: PipelineConfig) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = json.dumps(value, default=str)[:500]

    walk("", cfg.model_dump(mode="json", exclude={"icp": True, "features": {"region_by_country"}}))
    return flat


# The artifact's input example: made up (the README's example lead), never a row of the training data. The
# second row holds only the required fields, so that the signature marks every other field optional.
EXAMPLE_LEAD = {
    "lead_id": "L-1001",
    "email": "maria.lopez@example.com",
    "job_title": "VP of Sales",
    "lead_source": "referral",
    "lead_created_at": "2026-08-03T09:12:00",
    "account_id": "ACC-77",
    "domain": "example.com",
    "industry": "software",
    "employee_count": 420.0,
    "annual_revenue": 38000000.0,
    "country": "US",
    "tech_stack": "salesforce;segment;snowflake",
    "account_created_at": "2025-06-02T00:00:00",
    "account_founded_year": 2012.0,
    "activities": json.dumps(
        [
            {"activity_type": "pricing_page", "occurred_at": "2026-09-28T10:02:00"},
            {"activity_type": "pricing_page", "occurred_at": "2026-09-29T16:40:00"},
            {"activity_type": "demo_request", "occurred_at": "2026-09-30T08:15:00"},
        ]
    ),
    "as_of": "2026-10-01T00:00:00",
}
EXAMPLE_MINIMAL_LEAD = {"lead_id": "L-1002", "email": "sam.lee@example.org"}
EXAMPLE_ROWS_SHARED_BY = 10  # a flat export's text value enters its example only when this many rows share it


def example_lead_rows() -> pd.DataFrame:
    """Two made-up lead rows in the artifact's input format, for the signature and input example."""
    minimal = {field: None for field in EXAMPLE_LEAD} | EXAMPLE_MINIMAL_LEAD
    return pd.DataFrame([EXAMPLE_LEAD, minimal]).astype({"employee_count": float, "annual_revenue": float})


def example_export_rows(
    export: pd.DataFrame,
    columns: list[str],
    id_column: str,
    time_column: str | None = None,
    date_format: str | None = None,
) -> pd.DataFrame:
    """Two made-up rows of a flat export, typed like its columns: ids 1 and 2 (or EXAMPLE-1, EXAMPLE-2), each
    number column's median, each text column's most common value when at least EXAMPLE_ROWS_SHARED_BY rows
    share it (else "example"), times a fixed date (the `time_column` written as text: in its `date_format`,
    else ISO 8601, never "example", which the scorer refuses as no date); the second row leaves everything but
    the id empty. Never a real row."""
    from features.dates import EPOCH_UNITS

    first: dict[str, Any] = {}
    for column in columns:
        values = export[column]
        if column == id_column:
            first[column] = 1.0 if pd.api.types.is_numeric_dtype(values) else "EXAMPLE-1"
        elif column == time_column and date_format in EPOCH_UNITS:  # seconds or ms since 1970, a whole number
            unit = pd.Timedelta(1, unit=EPOCH_UNITS[date_format])
            first[column] = float((pd.Timestamp("2026-01-01") - pd.Timestamp("1970-01-01")) // unit)
        elif column == time_column and not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
        ):
            day = pd.Timestamp("2026-01-01")
            first[column] = day.strftime(date_format) if date_format else day.isoformat()
        elif pd.api.types.is_numeric_dtype(values):  # booleans too: numbers in the signature, as before
            first[column] = _example_number(values.dropna().astype(float))
        elif pd.api.types.is_datetime64_any_dtype(values):
            first[column] = pd.Timestamp("2026-01-01")
        else:
            counts = values.dropna().astype(str).value_counts()
            shared = len(counts) and counts.iloc[0] >= EXAMPLE_ROWS_SHARED_BY
            # a type for the signature, no one's text
            first[column] = counts.index[0] if shared else "example"
    second = {column: None for column in columns} | {
        id_column: 2.0 if first[id_column] == 1.0 else "EXAMPLE-2"
    }
    rows = pd.DataFrame([first, second], columns=columns)
    numeric = [c for c in columns if pd.api.types.is_numeric_dtype(export[c])]
    return rows.astype({c: float for c in numeric})


def _example_number(present: pd.Series) -> float:
    """A made-up number for a column: its median, a whole number when every value is one (the median of an
    even count, 91.5 employees, is refused by the scorer's whole-number check, and train stopped with a
    traceback while logging the model)."""
    if not len(present):
        return np.nan
    median = float(present.median())
    return float(np.floor(median)) if (present == np.floor(present)).all() else median


class ExampleReader:
    """The artifact's input example for the input a scorer reads (a models.scorer.InputReader)."""

    def __init__(self, tables: dict[str, pd.DataFrame]) -> None:
        self.tables = tables

    def crm_tables(self) -> pd.DataFrame:
        return example_lead_rows()

    def flat_export(self, spec: ExportSpec) -> pd.DataFrame:
        from features.export_contract import EXPORT_TABLE

        rows = example_export_rows(
            self.tables[EXPORT_TABLE],
            spec.input_columns(),
            spec.id_column,
            spec.timestamp_column,
            spec.date_format,
        )
        if getattr(spec, "id_from_row", False):  # the id is a row number, as a caller sends it
            rows[spec.id_column] = ["1", "2"]
        return rows


def example_input(scorer: Scorer, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The artifact's input example, made up: lead rows for CRM tables, export rows for a flat export."""
    return scorer.input.read(ExampleReader(tables))


def log_scorer(scorer: Scorer, tables: dict[str, pd.DataFrame], registered_name: str | None) -> Any:
    """Log the scorer as the pyfunc artifact (signature + input example) and optionally register it."""
    from mlflow.models import infer_signature

    import mlflow
    from models.artifact import SCORER_ARTIFACT, LeadScoreModel

    example = example_input(scorer, tables)
    as_of = str(pd.Timestamp.now().floor("s"))
    output = scorer_for_example(scorer, example, as_of)
    # as_of defaults to "" (score as of the request's time): a timestamp here would become the default of
    # every request that leaves it out, and score leads as of the training day for as long as the model serves.
    signature = infer_signature(example, output, params={"as_of": "", "reasons": True})
    spec = getattr(scorer, "spec", None)
    # An export without an id: its rows are numbered into the id column, which a frame read from the file
    # (pd.read_csv) does not hold; the scorer says how to add it rather than MLflow quoting the frame.
    numbered = [spec.id_column] if spec is not None and getattr(spec, "id_from_row", False) else []
    signature = with_columns_read_by_the_scorer(signature, optional=numbered)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scorer.pkl"
        path.write_bytes(pickle.dumps(scorer))
        code = [str(PROJECT_ROOT / "features"), str(PROJECT_ROOT / "models")]
        return mlflow.pyfunc.log_model(
            name=ARTIFACT_PATH,
            python_model=LeadScoreModel(),
            artifacts={SCORER_ARTIFACT: str(path)},
            code_paths=code,
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=registered_name,
        )


def with_columns_read_by_the_scorer(signature: Any, optional: list[str] | None = None) -> Any:
    """The signature with every column typed Any (required as inferred: a CRM model's lead_id and email, an
    export's id). The scorer reads the rows itself, as batch reads them: CRM rows by their checks (a number,
    420 or 420.0; an id, "L-7" or 7, read as text; a time, ISO text or a pandas datetime), an export's
    columns as batch reads the export (numbers with pd.to_numeric, text as its levels, "5.0" as "5"), and
    refuses what batch would quarantine in one sentence naming the row and the field (a 400 online, an
    MlflowException in process). MLflow's own check refused what pandas and Spark give for the same rows, in
    a long message quoting the frame: an int64 column declared double or string ("can not safely convert":
    `employee_count: 420`, `lead_id: 1001`, an export's Total Time Spent on Website), a category column, a
    datetime64 time, a column of blanks (float NaN) for a text field. Versions logged before 2026-12-07 type
    their columns (`leadscore serve` retypes an export's, pipelines.serve.whole_numbers_as_doubles).
    The `optional` columns are not required, whatever was inferred."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    columns: list[ColSpec | TensorSpec] = [
        ColSpec(AnyType(), spec.name, required=spec.required and spec.name not in (optional or []))
        for spec in signature.inputs.inputs
    ]
    return ModelSignature(inputs=Schema(columns), outputs=signature.outputs, params=signature.params)


def scorer_for_example(scorer: Scorer, rows: pd.DataFrame, as_of: str) -> pd.DataFrame:
    from models.artifact import LeadScoreModel

    model = LeadScoreModel()
    model.scorer = scorer
    return model.predict(None, rows, params={"as_of": as_of})


def _log_frames(frames: dict[str, pd.DataFrame]) -> None:
    """Each frame as evaluation/<name>.csv of the active run, for spreadsheets (pipelines.io.artifact_csv)."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in frames.items():
            path = Path(tmp) / f"{name}.csv"
            path.write_text(artifact_csv(frame), encoding="utf-8")
            mlflow.log_artifact(str(path), artifact_path="evaluation")


def log_training_run(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    *,
    location: str,
    fingerprint: str | None = None,
    config_path: Path | None,
    force_reason: str | None,
    trigger: str,
) -> None:
    """One MLflow run: config, fingerprint, commit, features, metrics, tables; the model registered and gated.

    `location` (the "input" tag) names where the training input was read from; `fingerprint`, when given,
    is the input's fingerprint (tables that stay in Spark), else data_fingerprint(tables)."""
    from pipelines import registry

    try:
        setup(cfg.registry.experiment)
        _log_run(result, cfg, tables, location, fingerprint, trigger)
        result.decision = registry.apply_gate(result, cfg, force_reason=force_reason, trigger=trigger)
    except Exception as error:
        # A version registered before the failure (its metrics or verdict could not be written) is one nobody
        # decided on: taken back, as a registration race's is.
        left = _take_back(result, cfg.registry.model_name)
        if isinstance(error, OSError):  # a disk that filled, or a folder made read-only since the check
            raise OutputError(artifacts_unwritable(error.filename or "", error, left)) from error
        said = store_unwritable(tracking_uri(), error, left)
        if said is None:
            raise
        raise OutputError(said) from error


def _take_back(result: TrainResult, model_name: str) -> str:
    """Delete the version a failed run registered (result.version); what is left, for its sentence."""
    from pipelines import registry

    if not result.version:
        return "no version was registered"
    try:
        registry.delete_version(model_name, result.version, None)
    except Exception:  # noqa: BLE001 - the store that failed the run may refuse this too (a full disk)
        return (
            f"version {result.version} of {model_name!r} was registered without its gate's verdict and could "
            "not be taken back: delete it in the MLflow UI"
        )
    taken_back, result.version = result.version, None
    return f"the version it had registered ({taken_back}) was taken back"


def _log_run(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    location: str,
    fingerprint: str | None,
    trigger: str,
) -> None:
    """log_training_run's MLflow run: tags, parameters, tables, the model logged and registered, metrics."""
    import mlflow
    from pipelines import registry

    with mlflow.start_run(run_name=f"train {datetime.now(UTC):%Y-%m-%d %H:%M}") as run:
        mlflow.set_tags(
            {
                "input": location,
                "data_fingerprint": fingerprint or data_fingerprint(tables),
                "git_commit": git_commit(),
                "trigger": trigger,
                "split": json.dumps(result.split_record(), default=str),
            }
        )
        mlflow.log_params(_flat_params(cfg))
        mlflow.log_dict(cfg.model_dump(mode="json"), "config.json")
        mlflow.log_dict(
            {"features": result.scorer.model.feature_names, "categorical": result.scorer.model.categorical},
            "features.json",
        )
        # How the model was chosen: contenders, fold log losses, drift check (see models/train.py).
        selection = getattr(result.scorer.model, "selection", None) or {}
        if selection:
            mlflow.log_dict(selection, "selection.json")
            mlflow.set_tag("model_chosen", str(selection.get("chosen", "")))
        ev = result.evaluation
        _log_frames(
            {
                "comparison": ev.comparison,
                "gains": ev.gains,
                "reliability": ev.reliability,
                "by_grade": ev.by_grade,
                "by_tier": ev.by_tier,
                "segments": ev.segments,
                "win_rate_by_tier_all_closed": result.data.win_rate_by_tier,
                "quarantine": quarantine_for_csv(result.data.quarantine),  # opened by people too
                "row_counts": result.data.counts,
                "importance": result.scorer.model.feature_importance(),
                "test_scores": ev.test_scores,
                "points_gains": ev.points_gains,
            }
        )
        # Before the registration: a failure here (a disk that filled) leaves no version without its tested model.
        if result.refitted:
            log_tested_scorer(result.tested_scorer)
        # The artifact carries its own version, so every score it writes names it; registration is the next one.
        result.scorer.model_version = registry.next_version(cfg.registry.model_name)
        info = log_scorer(result.scorer, tables, cfg.registry.model_name)
        registered = str(info.registered_model_version)
        if registered != result.scorer.model_version:
            # The registry numbers a version after every one it ever held, deleted ones too (no search shows
            # them), or another training run registered one meanwhile: the artifact names another version
            # than its registration. Taken back and logged again under the number the registry gives next.
            registry.delete_version(cfg.registry.model_name, registered, info.model_id)
            result.scorer.model_version = str(int(registered) + 1)
            info = log_scorer(result.scorer, tables, cfg.registry.model_name)
            if str(info.registered_model_version) != result.scorer.model_version:
                registry.delete_version(
                    cfg.registry.model_name, str(info.registered_model_version), info.model_id
                )
                raise registry.RegistrationRaceError(
                    f"model {cfg.registry.model_name!r}: other training runs registered versions while this one "
                    f"was logging (the registry gave version {info.registered_model_version}, the artifact says "
                    f"{result.scorer.model_version}), so this run's version was taken back; rerun it when they "
                    "have finished"
                )
        result.version = str(info.registered_model_version)  # a failure from here on takes it back
        # Logged after the model, in one batch and linked to it: logged before, mlflow copies each metric
        # onto the model with one query per metric (about 100 queries, a second per training).
        metrics = {k: float(v) for k, v in metrics_for_logging(result).items() if pd.notna(v)}
        mlflow.log_metrics(metrics, model_id=info.model_id)
        result.run_id = run.info.run_id


def mlflow_warnings_shown() -> bool:
    """Whether mlflow's warnings on loading a model reach anyone (MLFLOW_LOGGING_LEVEL; the CLI sets ERROR).
    When not, `load_model(suppress_warnings=True)` skips their checks: comparing the model's requirements
    with the installed packages scans every installed distribution, a second or more per process."""
    names = ("mlflow.pyfunc", "mlflow.utils.requirements_utils")
    return any(logging.getLogger(name).isEnabledFor(logging.WARNING) for name in names)


def load_scorer(model_uri: str, local_copy: str | None = None) -> Scorer:
    """The scorer inside a logged or registered artifact (e.g. models:/leadscore@champion), read from
    `local_copy` when it was downloaded already; a URI that names nothing, a version whose files are damaged
    or that another tool logged raise ModelNotFoundError (exit 3) with a sentence naming the store and the fix."""
    from mlflow.exceptions import MlflowException

    import mlflow
    from pipelines.registry import ModelNotFoundError, resolve_version

    setup()
    version = resolve_version(model_uri)
    try:
        model = mlflow.pyfunc.load_model(
            local_copy or model_uri, suppress_warnings=not mlflow_warnings_shown()
        )
    except (MlflowException, OSError) as error:
        if version is not None:  # registered, so its files are there or were: missing or damaged
            raise ModelNotFoundError(damaged_model_sentence(model_uri, version, error)) from error
        raise ModelNotFoundError(
            f"{model_uri}: no model could be loaded from the tracking store {tracking_uri()} ({error}); give "
            "--model a registered version such as models:/leadscore/1, or a run's model URI"
        ) from error
    except Exception as error:  # noqa: BLE001 - a damaged pickle raises whatever the truncated bytes lead to
        raise ModelNotFoundError(damaged_model_sentence(model_uri, version, error)) from error
    scorer = getattr(_python_model(model), "scorer", None)
    if scorer is None:
        which = f"version {version.version} of {version.name!r}" if version is not None else "it"
        raise ModelNotFoundError(
            f"{model_uri}: {which} in the tracking store {tracking_uri()} is no leadscore model (MLflow model "
            f"{type(_python_model(model)).__name__}, logged by another tool); give --model a version "
            "`leadscore train` registered (`leadscore history` lists them)"
        )
    if not scorer.model_version and version is not None:  # artifacts logged before versions were bundled
        scorer.model_version = str(version.version)
    scorer.model_store = model_store_of(model_uri)
    return scorer


def model_store_of(model_uri: str) -> str:
    """Where the model of `model_uri` lives, as a run's manifest records it (a trend compares only runs of one
    store: two stores can each hold a model named leadscore): the tracking store, password hidden and a sqlite
    path made absolute, for models:/ and runs:/ URIs; the absolute folder for a path."""
    if not model_uri.startswith(("models:/", "runs:/")):
        if "://" in model_uri and not model_uri.startswith("file://"):
            return hide_password(model_uri)
        return os.path.abspath(model_uri.removeprefix("file://"))
    store = tracking_uri()
    if store.startswith("sqlite:///"):
        return "sqlite:///" + os.path.abspath(store.removeprefix("sqlite:///"))
    return hide_password(store)


def hide_password(uri: str) -> str:
    """`uri` with the password of its user (https://user:secret@host) replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _python_model(model: Any) -> Any:
    """The Python object inside a pyfunc model (None for other flavours, e.g. a scikit-learn model)."""
    from mlflow.exceptions import MlflowException

    try:
        return model.unwrap_python_model()
    except MlflowException:
        return None


def damaged_model_sentence(model_uri: str, version: Any | None, error: BaseException) -> str:
    """One sentence for a model whose files are there but cannot be read (a truncated or overwritten pickle)."""
    from pipelines.registry import version_files

    reason = " ".join(f"{type(error).__name__}: {error}".split())[:160]
    if version is None:
        return (
            f"{model_uri}: the model's files are damaged and cannot be loaded ({reason}); give --model a "
            "registered version such as models:/leadscore/1"
        )
    return (
        f"{model_uri}: the files of version {version.version} of {version.name!r} in the tracking store "
        f"{tracking_uri()} ({version_files(version)}) are missing or damaged and cannot be loaded ({reason}); restore "
        "them from a backup, or delete that version in the MLflow UI (its aliases go with it) so that "
        "`leadscore train` registers a new one (meanwhile `score`, `serve` and `card` take another registered "
        "version with --model)"
    )


def tested_model_sentence(version: Any, error: BaseException) -> str:
    """One sentence for a version whose tested model cannot be read: the run, the file and the fixes."""
    reason = " ".join(f"{type(error).__name__}: {error}".split())[:160]
    return (
        f"models:/{version.name}/{version.version}: {TESTED_SCORER} of its run {version.run_id} in the tracking "
        f"store {tracking_uri()}, the tested model the promotion gate compares, is missing or damaged "
        f"({reason}); restore the run's artifacts from a backup (`leadscore train` or `retrain` with "
        '`--force "reason"` replace such a champion without comparing the two)'
    )


TESTED_SCORER = "tested/scorer.pkl"  # the tested model of a run whose registered model was refitted


def log_tested_scorer(scorer: Scorer) -> None:
    """The tested model of the active run, beside the registered one that was trained again on the test
    window: the next training's gate scores it, not the refitted one, on deals it never learnt from."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(TESTED_SCORER).name
        path.write_bytes(pickle.dumps(scorer))
        mlflow.log_artifact(str(path), artifact_path=str(Path(TESTED_SCORER).parent))


def load_champion(model_name: str) -> Scorer | None:
    """The current champion's scorer, or None when there is none yet."""
    from pipelines.registry import champion_uri, champion_version

    if champion_version(model_name) is None:
        return None
    return load_scorer(champion_uri(model_name))


def load_champion_pair(model_name: str) -> tuple[Scorer, Scorer] | None:
    """The champion's live (registered) scorer and the one its numbers were measured on (load_tested_scorer:
    the same object unless it was trained again with its test window); None when there is no champion."""
    from pipelines.registry import champion_version

    version = champion_version(model_name)
    if version is None:
        return None
    # By its number, not the alias: a champion promoted meanwhile by another run is not mixed with this one.
    live = load_scorer(f"models:/{version.name}/{version.version}")
    live.model_version = str(version.version)
    return live, load_tested_scorer(version, live)


def load_tested_model(model_uri: str) -> Scorer:
    """load_scorer, then the model that version's numbers were measured on (load_tested_scorer): what a
    previous version is compared with on deals the registered one may have learnt from."""
    from pipelines.registry import resolve_version

    scorer = load_scorer(model_uri)
    version = resolve_version(model_uri)
    return load_tested_scorer(version, scorer) if version is not None else scorer


def load_tested_scorer(version: Any, registered: Scorer) -> Scorer:
    """The model a registered version's numbers were measured on: `registered` itself, or for one trained
    again on its test window the tested model logged with its run, named like the version
    (UnreadableTestedModel naming the run when that file is gone or damaged)."""
    if not registered.model.split_summary.get("refit"):
        return registered
    import mlflow
    from pipelines.registry import UnreadableTestedModel

    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = mlflow.artifacts.download_artifacts(
                run_id=version.run_id, artifact_path=TESTED_SCORER, dst_path=tmp
            )
            scorer = pickle.loads(Path(path).read_bytes())
    except Exception as error:  # noqa: BLE001 - a damaged pickle raises whatever the damaged bytes lead to
        raise UnreadableTestedModel(tested_model_sentence(version, error)) from error
    if not isinstance(scorer, type(registered)):  # another file written over it
        raise UnreadableTestedModel(
            tested_model_sentence(version, TypeError(f"it holds a {type(scorer).__name__}"))
        )
    scorer.model_name, scorer.model_version = registered.model_name, registered.model_version
    return scorer


def metrics_for_logging(result: TrainResult) -> dict[str, Any]:
    """Flat metric names for MLflow: model metrics plain, others prefixed by contender."""
    out: dict[str, Any] = {}
    for row in result.evaluation.comparison.to_dict("records"):
        prefix = "" if row["model"] == "model" else f"{row['model']}_"
        out.update({f"{prefix}{k}": v for k, v in row.items() if k != "model"})
    out.update(
        {f"calibration_{k}": v for k, v in result.scorer.model.calibration_report.items() if _is_number(v)}
    )
    out.update({f"icp_excluded_{k}": v for k, v in result.data.excluded.items()})
    out["excluded_too_recent"] = result.data.too_recent
    if result.data.export_maturity is not None:  # the age an export's labelled rows were cut at
        out["export_maturity_days"] = result.data.export_maturity.days
    out.update({f"train_{k}": v for k, v in result.scorer.model.training_counts.items() if _is_number(v)})
    out.update(selection_metrics(getattr(result.scorer.model, "selection", None) or {}))
    out.update(result.evaluation.extra)
    return out


def selection_metrics(selection: dict[str, Any]) -> dict[str, float]:
    """How the model was chosen, as numbers: each contender's out-of-fold log loss and trees, the out-of-fold
    AUC and its interval, how many features the drift check dropped (the words are in selection.json)."""
    if not selection.get("contenders"):
        return {}
    out: dict[str, float] = {
        f"selection_{name}_{key}": float(value)
        for name, record in selection["contenders"].items()
        for key, value in record.items()
        if _is_number(value)
    }
    out |= {f"selection_{k}": float(selection[k]) for k in ("oof_auc", "oof_auc_low", "oof_auc_high")}
    out["selection_n_folds"] = float(selection["n_folds"])
    out["selection_dropped_features"] = float(len(selection.get("drift", {}).get("dropped", [])))
    out["selection_linear_only_features"] = float(len(selection.get("drift", {}).get("linear_only", [])))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
