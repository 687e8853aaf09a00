"""The pipeline's configuration: one typed object, loaded from YAML, overridable on the command line."""

from __future__ import annotations

import functools
import getpass
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from features.config import FeatureConfig, ICPConfig
from features.dates import DateFormats
from features.flat import ExportSpec
from models.config import MAX_DAYS, MAX_QUARTERS, MAX_WORKERS, BacktestConfig, ModelConfig
from models.crm_export import CrmExportConfig
from models.queue import QueueConfig

DEFAULTS_DIR = Path(__file__).parent / "defaults"
DEFAULT_CONFIG = DEFAULTS_DIR / "leadscore.yaml"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "leadscore"


class ConfigError(ValueError):
    """A configuration file is missing or invalid."""


class RegistryConfig(BaseModel):
    """Where runs and models are tracked, and the promotion gate's tolerances."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # MLflow refuses a model name with "/" or ":" (they separate the parts of a models:/ URI)
    model_name: str = Field(DEFAULT_MODEL_NAME, min_length=1, pattern=r"^[^/:]+$")
    experiment: str = Field("leadscore", min_length=1)
    auc_tolerance: float = Field(0.005, ge=0)  # a challenger may be this much below the champion's AUC
    ece_tolerance: float = Field(0.01, ge=0)  # and this much above its expected calibration error
    # The gate decides on intervals: a paired bootstrap of the test window at this confidence.
    confidence: float = Field(0.95, gt=0.5, lt=1)
    bootstrap_rounds: int = Field(1000, ge=100)
    # Fewer won or lost deals than this in the test window: the gate refuses rather than decide on noise.
    min_test_won: int = Field(20, ge=1)
    min_test_lost: int = Field(20, ge=1)
    # The champion's AUC interval on the new window ending this far below its registered interval: the new
    # data or outcomes look broken.
    broken_margin: float = Field(0.02, ge=0)
    # A first model must not be worse than its strongest baseline beyond the noise ("not_worse"), or must be
    # better than it ("better": the lower bound of the AUC gain above 0).
    first_model_rule: Literal["not_worse", "better"] = "not_worse"
    model_card: bool = True  # write the model card at the end of every training run and log it to the run


class ScoringConfig(BaseModel):
    """Batch scoring: chunking, reasons and the quarantine limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chunk_size: int = Field(50_000, ge=1)
    max_quarantine_share: float = Field(0.05, ge=0, le=1)  # above this share the run exits with code 5
    positive_reasons: int = Field(3, ge=0)
    negative_reasons: int = Field(2, ge=0)
    # A reason is shown when its concept moves the score by at least this much (log-odds); a reason that tells
    # of an absence ("no demo request in the last 90 days") needs at least min_absence_contribution.
    min_reason_contribution: float = Field(0.05, ge=0)
    min_absence_contribution: float = Field(0.1, ge=0)
    # Score trend against the last run of the same model name: a lead whose score moved by at most this much
    # (a probability, e.g. 0.05 = 5 points out of 100) is steady, else rising or falling.
    trend_steady: float = Field(0.05, ge=0, lt=1)
    # A feature missing in this much more of the leads scored than of training's rows (0.5 = half the leads;
    # a text value training never saw counts as missing), or in all of them, is named in a warning.
    missing_rise: float = Field(0.5, gt=0, le=1)
    # Seconds a write of the scores to PostgreSQL waits for a lock another session holds on its tables (a DBA's
    # CREATE INDEX, a BI tool's open transaction) before it fails, nothing written (exit 1): it waited forever.
    database_lock_timeout: float = Field(600, gt=0)


class SparkConfig(BaseModel):
    """The Spark settings leadscore gives a session it starts itself (`--engine spark` without spark-submit or
    a notebook); a setting spark-submit, spark-defaults.conf or the cluster gives explicitly wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shuffle_partitions: int = Field(8, ge=1)  # spark.sql.shuffle.partitions (Spark's default: 200)
    adaptive: bool = True  # spark.sql.adaptive.enabled: coalesce small shuffle partitions
    python_worker_reuse: bool = True  # spark.python.worker.reuse: a worker imports the project once
    arrow_batch_rows: int = Field(10_000, ge=1)  # spark.sql.execution.arrow.maxRecordsPerBatch
    preload_workers: bool = True  # spark.python.daemon.module=pipelines.spark_daemon: workers fork loaded
    worker_threads: int | None = Field(1, ge=1)  # OMP_NUM_THREADS of the Python workers (None: all cores)
    progress_bar: bool = False  # spark.ui.showConsoleProgress: Spark's stage progress bars on stderr

    def session_conf(self) -> dict[str, str]:
        """These settings as Spark configuration keys and values."""
        conf = {
            "spark.sql.shuffle.partitions": str(self.shuffle_partitions),
            "spark.sql.adaptive.enabled": str(self.adaptive).lower(),
            "spark.python.worker.reuse": str(self.python_worker_reuse).lower(),
            "spark.sql.execution.arrow.maxRecordsPerBatch": str(self.arrow_batch_rows),
            "spark.ui.showConsoleProgress": str(self.progress_bar).lower(),
        }
        if self.preload_workers:
            conf["spark.python.daemon.module"] = "pipelines.spark_daemon"
        if self.worker_threads is not None:
            conf["spark.executorEnv.OMP_NUM_THREADS"] = str(self.worker_threads)
        return conf


class ServingConfig(BaseModel):
    """Online scoring (`leadscore serve`): request limits and worker processes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(1_048_576, ge=1)  # a larger request body is answered 413, unread
    max_text_chars: int = Field(1_000, ge=1)  # a longer text field (not the activities list) is answered 400
    workers: int | None = None  # worker processes, 1 to MAX_WORKERS; none: one per core
    keep_alive_seconds: int = Field(5, ge=1)  # an idle client connection is closed after this long
    # A worker that does not answer uvicorn's health check for this long is restarted. Loading the model on
    # a busy machine holds the interpreter for seconds: uvicorn's default of 5 s killed workers at start-up.
    healthcheck_seconds: int = Field(60, ge=1)

    @field_validator("workers", mode="before")
    @classmethod
    def _workers_not_a_switch(cls, workers: object) -> object:
        if isinstance(workers, bool):
            raise ValueError("must be a number of worker processes, not true or false")
        return workers

    @field_validator("workers")
    @classmethod
    def _workers(cls, workers: int | None) -> int | None:
        """1 to MAX_WORKERS processes, however written ("100000", 1e9, -5.0 reach here as whole numbers):
        serving.workers of 100,000 was taken, and serve forked until the machine ran out of memory (each
        worker loads its own copy of the model)."""
        if workers is not None and not 1 <= workers <= MAX_WORKERS:
            raise ValueError(
                f"must be from 1 to {MAX_WORKERS} worker processes (each loads its own copy of the model; "
                "beyond about two per core they only wait for one), or null for one per core"
            )
        return workers


def current_user() -> str:
    """$USER, else the login name the system knows, else "unknown" (e.g. a container without a user)."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class RetrainConfig(BaseModel):
    """The quarterly retrain: window length, drift thresholds, backtest horizon, and who is asking."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Training window: this many calendar quarters before the validation quarter.
    trailing_quarters: int = Field(8, ge=1, le=MAX_QUARTERS)  # a century at most: 5,000 began in the year 775
    # PSI at or above psi_threshold: the input "moved" and is named in the card; at or above psi_watch: "watch".
    psi_threshold: float = Field(0.2, gt=0)
    psi_watch: float = Field(0.1, gt=0)
    # A segment (category of an input) "shifted" when the champion misses its win rate by this much beyond
    # its overall miss on the quarter (and by 3 standard errors); segments under gap_min_rows are skipped.
    gap_threshold: float = Field(0.1, gt=0, lt=1)
    gap_min_rows: int = Field(30, ge=1)
    # The backtest scores the leads as they were this many days before as_of.
    backtest_days: int = Field(90, ge=1, le=MAX_DAYS)  # at most 100 years (models.config.MAX_DAYS)
    # Recorded as gate.trigger on the new version; {user} is replaced by $USER (or the login name).
    trigger: str = "leadscore retrain by {user}"

    @model_validator(mode="after")
    def _watch_below_threshold(self) -> RetrainConfig:
        if self.psi_watch > self.psi_threshold:
            raise ValueError("psi_watch must not exceed psi_threshold")
        return self

    def trigger_text(self) -> str:
        return self.trigger.replace("{user}", current_user())


class PipelineConfig(BaseModel):
    """Everything a run needs besides the data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: DateFormats = Field(default_factory=DateFormats)  # how non-ISO dates in the input are written
    features: FeatureConfig = Field(default_factory=FeatureConfig)
    icp: ICPConfig = Field(default_factory=ICPConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    crm_export: CrmExportConfig = Field(default_factory=CrmExportConfig)
    evaluate: BacktestConfig = Field(default_factory=BacktestConfig)
    serving: ServingConfig = Field(default_factory=ServingConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)

    @model_validator(mode="after")
    def _served_regions_exist(self) -> PipelineConfig:
        """A served region no country maps to (a typo, `north_amercia`) would put every lead of that region
        outside the geography, disqualified, without a word."""
        known = {region.strip().lower() for region in self.features.region_by_country.values()} | {"other"}
        unknown = sorted(set(self.icp.served_regions) - known)
        if unknown:
            raise ValueError(
                f"icp.served_regions names {unknown}, a region no country of features.region_by_country "
                f"maps to; known: {sorted(known)}"
            )
        return self

    @model_validator(mode="after")
    def _points_window_counted(self) -> PipelineConfig:
        """The points model reads the activity counts of model.points.window_days: without that window in
        features.windows_days training ended in a KeyError."""
        if self.model.points.window_days not in self.features.windows_days:
            raise ValueError(
                f"model.points.window_days {self.model.points.window_days} is not one of "
                f"features.windows_days {list(self.features.windows_days)}; the points model counts activities "
                "over that window: add it to features.windows_days or change model.points.window_days"
            )
        return self

    @model_validator(mode="after")
    def _excluded_features_exist(self) -> PipelineConfig:
        """A name in features.exclude_features that is no feature (a typo of the one the leak audit flagged)
        excluded nothing, and the feature it meant stayed in the model, silently."""
        from features.build import FIT_FEATURES, SEASON_FEATURES, intent_feature_names

        known = [*FIT_FEATURES, *SEASON_FEATURES, *intent_feature_names(self.features)]
        unknown = [name for name in self.features.exclude_features if name not in known]
        if unknown:
            raise ValueError(
                f"features.exclude_features names {unknown}, which are no features of CRM tables (a flat "
                f"export leaves a column out with its spec's leaky_columns or drop_columns); known: {known}"
            )
        return self


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a key written twice in one mapping is an error: PyYAML lets the
    last one win silently, so `seed: 1` then `seed: 2` (or two `scoring:` sections) ran on half the file."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *anchor": its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        text = path.read_text(encoding="utf-8")  # whatever the locale: a cron job's may be C or Latin-1
    except (OSError, UnicodeDecodeError) as error:  # a folder, no permission, a binary file: a traceback
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read the configuration ({reason}); give a YAML file") from error
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {yaml_problem(error)}; fix the file") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


def yaml_problem(error: yaml.YAMLError) -> str:
    """Where and what the YAML parser found wrong, on one line: "line 2, column 1: expected ..."."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return (
        where + " ".join(str(problem).split()) + (f" ({' '.join(str(context).split())})" if context else "")
    )


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, override: str) -> None:
    keys = dotted.split(".")
    if not all(key.strip() for key in keys):
        raise ConfigError(
            f"--set {override}: {dotted!r} is no setting; write section.key=value, e.g. model.seed=3"
        )
    node = data
    for depth, key in enumerate(keys[:-1]):
        if key not in node:
            node[key] = _default_map(keys[: depth + 1]) or {}
        node = node[key]
        if not isinstance(node, dict):  # e.g. model.seed.x=3, or evaluate.contenders.0=x (a list)
            section = ".".join(keys[: depth + 1])
            raise ConfigError(
                f"--set {override}: {section} is a value ({node!r}), not a section with settings; "
                f"set it whole, e.g. --set {section}=..."
            )
    node[keys[-1]] = value


def _default_map(keys: list[str]) -> dict[str, Any] | None:
    """The default of the map setting at `keys` as YAML writes it (features.region_by_country,
    features.activity_weights: defaults no YAML file holds), None for a section or a setting with no such
    default. `--set features.region_by_country.AT=europe` sets one entry of that map: it replaced the whole
    map, every other country in the region "other" (outside the served geography) with exit 0."""
    model: Any = PipelineConfig
    for key in keys[:-1]:
        field = getattr(model, "model_fields", {}).get(key)
        if field is None:
            return None
        model = field.annotation
    field = getattr(model, "model_fields", {}).get(keys[-1])
    if field is None:
        return None
    default = field.get_default(call_default_factory=True)
    if not isinstance(default, dict) or not default:
        return None
    return TypeAdapter(field.annotation).dump_python(default, mode="json")


def _override_value(raw: str) -> Any:
    """A --set value read as YAML (3, true, [7, 30]); text YAML cannot read (e.g. %d/%m/%Y) stays text."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def load_config(path: Path | None = None, overrides: list[str] | None = None) -> PipelineConfig:
    """Load the config (default: the shipped one), with `icp_file` resolved and `key.sub=value` overrides."""
    path = path or DEFAULT_CONFIG
    data = _read_yaml(path)
    icp_file = data.pop("icp_file", None)
    if icp_file is not None and not isinstance(icp_file, str):
        raise ConfigError(f"{path}: setting icp_file: expected the path of a YAML file (found {icp_file!r})")
    if icp_file and "icp" in data:  # the file was ignored without a word
        raise ConfigError(
            f"{path}: both icp_file ({icp_file}) and an icp: section; keep one of them (the section, or the file)"
        )
    if icp_file:
        icp_path = (path.parent / icp_file).resolve()
        if not icp_path.exists():  # a copied leadscore.yaml without the icp.yaml it names beside it
            raise ConfigError(
                f"{path}: icp_file {icp_file} is read beside it, and {icp_path} does not exist; copy "
                "pipelines/defaults/icp.yaml there, or set icp_file to the path of your ICP file"
            )
        data["icp"] = _read_yaml(icp_path)
    given: dict[str, str] = {}
    for override in overrides or []:
        if "=" not in override:
            raise ConfigError(f"override {override!r}: expected key.sub=value, e.g. model.seed=3")
        key, raw = override.split("=", 1)
        _set_dotted(data, key.strip(), _override_value(raw), override)
        given[key.strip()] = override
    flags = _flags_for_numbers(data, _config_schema(), "")
    if flags:
        raise ConfigError(_flag_problems(flags, path, given))
    try:
        return PipelineConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(config_problems(error, path, given)) from error


@functools.cache
def _config_schema() -> dict[str, Any]:
    return PipelineConfig.model_json_schema()


def _flags_for_numbers(value: Any, schema: dict[str, Any], setting: str) -> list[tuple[str, bool]]:
    """The settings holding true or false where only a number is read (with their value): pydantic reads them
    as 1 and 0, and YAML reads yes, no, on and off as true and false, so `max_quarantine_share: yes` let
    every row break the contract and `leak_auc: on` turned the leak check off, silently."""
    if "$ref" in schema:
        schema = _config_schema()["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    options = schema.get("anyOf", [schema])
    if isinstance(value, bool):
        types = {option.get("type") for option in options if "$ref" not in option}
        return [(setting, value)] if types and types <= {"number", "integer", "null"} else []
    found = []
    for option in options:
        if "$ref" in option:
            option = _config_schema()["$defs"][option["$ref"].rsplit("/", 1)[-1]]
        if isinstance(value, dict) and option.get("type") == "object":
            properties, others = option.get("properties", {}), option.get("additionalProperties")
            for key, item in value.items():
                sub = properties.get(key, others if isinstance(others, dict) else None)
                if sub is not None:
                    found += _flags_for_numbers(item, sub, f"{setting}.{key}".lstrip("."))
        elif isinstance(value, list) and option.get("type") == "array":
            fixed, every = option.get("prefixItems", []), option.get("items")
            for k, item in enumerate(value):
                sub = fixed[k] if k < len(fixed) else every
                if isinstance(sub, dict):
                    found += _flags_for_numbers(item, sub, f"{setting}.{k}")
    return found


def _flag_problems(flags: list[tuple[str, bool]], path: Path, overrides: dict[str, str]) -> str:
    problems = []
    for setting, value in flags:
        origin = next(
            (
                f"--set {text}"
                for key, text in overrides.items()
                if setting == key or setting.startswith(key + ".")
            ),
            str(path),
        )
        problems.append(
            f"{origin}: setting {setting}: a number, not true or false (found {value!r}: YAML reads yes, no, on "
            "and off as true and false)"
        )
    return (
        "invalid configuration: "
        + "; ".join(problems)
        + "; write the number, or leave it out for the default"
    )


def config_problems(error: ValidationError, path: Path, overrides: dict[str, str]) -> str:
    """One sentence per invalid setting: where it came from (a --set override or the file), the setting, what
    is wrong and the value found."""
    problems = []
    for problem in error.errors():
        setting = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        origin = next(
            (
                f"--set {text}"
                for key, text in overrides.items()
                if setting == key
                or setting.startswith(key + ".")
                # a check across the settings of a section (or of sections) names them in its message
                or (key.startswith(f"{setting}.") and key.rsplit(".", 1)[-1] in message)
                or (not setting and key in message)
                # an unknown section the override made (--set grades.a_share=0.3): pydantic names the section
                or (problem["type"] == "extra_forbidden" and key.startswith(setting + "."))
            ),
            str(path),
        )
        if problem["type"] == "extra_forbidden":
            message = f"{message}{_named_elsewhere(setting)}"
        if not setting:  # the message names the settings; the value found is the whole configuration
            problems.append(f"{origin}: {message}")
            continue
        found = repr(problem.get("input"))
        found = found if len(found) <= 80 else found[:77] + "..."
        problems.append(f"{origin}: setting {setting}: {message} (found {found})")
    return (
        "invalid configuration: " + "; ".join(problems) + "; fix the value, or leave it out for the default"
    )


def _named_elsewhere(setting: str) -> str:
    """For an unknown setting, where settings of its name are (' (a_share is model.grades.a_share)'), or ''."""
    name = setting.rsplit(".", 1)[-1]
    found = [path for path in _setting_paths(PipelineConfig, "") if path.rsplit(".", 1)[-1] == name]
    return f" ({name} is {' or '.join(found)})" if found and setting not in found else ""


def _setting_paths(model: Any, prefix: str) -> list[str]:
    """Every setting's dotted path in a configuration model, sections included."""
    paths = []
    for name, field in getattr(model, "model_fields", {}).items():
        path = f"{prefix}{name}"
        paths.append(path)
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            paths.extend(_setting_paths(field.annotation, path + "."))
    return paths


SPECS_DIR = Path(__file__).parent / "specs"


def load_source_spec(path_or_name: str) -> ExportSpec:
    """A flat export's spec (the --source-spec file) from YAML, or a shipped one by name (e.g. "x_education")."""
    path = Path(path_or_name)
    if not path.exists() and (SPECS_DIR / f"{path_or_name}.yaml").exists():
        path = SPECS_DIR / f"{path_or_name}.yaml"
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in SPECS_DIR.glob("*.yaml")))
        raise ConfigError(
            f"--source-spec {path_or_name}: no such spec file, and not a shipped spec ({shipped}); give the path "
            "of your spec's YAML, or draft one with `leadscore spec draft --input your.csv --out spec.yaml`"
        )
    data = _read_yaml(path)
    flags = (
        _flags_for_numbers({"icp": data["icp"]}, _config_schema(), "")
        if isinstance(data.get("icp"), dict)
        else []
    )
    if flags:  # pydantic reads them as 1 and 0: `max_won_disqualified_share: yes` let every won lead go
        said = "; ".join(
            f"{setting}: a number, not true or false (found {value!r})" for setting, value in flags
        )
        raise ConfigError(
            f"{path}: invalid source spec: {said}: YAML reads yes, no, on and off as true and false; write "
            "the number, or leave it out for the configuration's"
        )
    try:
        return ExportSpec.model_validate(data)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"]) or "the spec"
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{field}: {message}")
        raise ConfigError(f"{path}: invalid source spec: {'; '.join(problems)}; fix the spec file") from error


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI when set, else the sqlite store under the project's mlflow/ folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow' / 'mlflow.db'}"
