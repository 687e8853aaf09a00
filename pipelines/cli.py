"""The `leadscore` command line."""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from models.config import MAX_DAYS, MAX_QUARTERS, MAX_WORKERS
from pipelines import exit_codes
from pipelines.console import console, frame_table, labelled

# pandera imports pyspark.pandas whenever the spark extra is installed, and pyspark then warns about pandas 3
# on every command; the warning is about pyspark's pandas API, which leadscore does not use.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
# MLflow's own INFO lines, pickling warning and download bars are not for a leadscore user: the summary says
# what happened. Errors still show; MLFLOW_LOGGING_LEVEL=INFO shows everything again.
if "MLFLOW_LOGGING_LEVEL" not in os.environ:
    # Except the traceback MLflow logs for each database error it then raises: a full tracking store printed
    # two tracebacks above the sentence that names it (an error leadscore does not say is raised anyway).
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

EXIT_CODES_HELP = (
    "Exit codes: 0 ok, 1 unexpected error, 2 bad command line, 3 bad or missing input, "
    "4 not enough data or no learnable signal, 5 quarantine over the allowed share, 6 challenger not promoted, "
    "7 not promoted because the new data or outcomes look broken, 130/143/129 stopped by SIGINT/SIGTERM/SIGHUP."
)

INPUT_HELP = (
    "Folder with accounts, leads, activities, deals (.parquet or .csv), or a database URL: "
    "duckdb:///data/leadscore.duckdb, postgresql://user@host:5432/crm (password from PGPASSWORD or ~/.pgpass)."
)
InputTables = Annotated[
    list[str] | None,
    typer.Option(
        "--input-table",
        help="Read a CRM table from another table, e.g. --input-table accounts=crm.companies.",
    ),
]
InputQueries = Annotated[
    list[str] | None,
    typer.Option(
        "--query",
        help='Read a CRM table from a SELECT, e.g. --query "activities=SELECT lead_id, occurred_at, activity_type '
        'FROM crm.web_events".',
    ),
]


ConfigFile = Annotated[Path | None, typer.Option(help="Run configuration YAML (default: the shipped one).")]
Overrides = Annotated[
    list[str] | None, typer.Option("--set", help="Override one config value, e.g. --set model.seed=3.")
]
ForceReason = Annotated[
    str | None, typer.Option(help="Promote to champion even if the gate refuses; give the reason.")
]
TruthFile = Annotated[
    Path | None, typer.Option(help="Synthetic data only: true probabilities, to report the oracle AUC.")
]


def _read_input(input_: str, input_table: list[str] | None, query: list[str] | None, required=None):
    from features.vocab import TABLES
    from pipelines.locations import parse_assignments, read_input

    return read_input(
        input_,
        parse_assignments(input_table, "--input-table"),
        parse_assignments(query, "--query"),
        required=required or TABLES,
    )


class Leadscore(typer.Typer):
    """The CLI. Run as a program (the `leadscore` script calls it), SIGINT, SIGTERM and SIGHUP end a command
    with a sentence and 130, 143 or 129, and a MemoryError with 1 (pipelines.stopping). CliRunner, which tests
    use, runs the commands without this."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from pipelines.stopping import (
            Stopped,
            arrived,
            out_of_memory,
            out_of_memory_sentence,
            stopped_sentence,
            stopping_command,
        )

        command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
        try:
            with stopping_command():
                return super().__call__(*args, **kwargs)
        except Stopped as stop:
            console.print(labelled("stopped:", stopped_sentence(stop, command), "red"))
            raise SystemExit(stop.exit_code) from None
        except SystemExit as ended:
            # A library that turns the Stopped into its own KeyboardInterrupt (CatBoost), or handles SIGINT itself
            # (pyspark's SparkContext), ends in typer's silent 130; a command that finished (0: a server shut
            # down by the signal) stays finished.
            signalled = arrived() if ended.code else None
            if signalled is None and ended.code == exit_codes.INTERRUPTED:
                signalled = Stopped(signal.SIGINT)
            if signalled is None:
                raise
            console.print(labelled("stopped:", stopped_sentence(signalled, command), "red"))
            raise SystemExit(signalled.exit_code) from None
        except (MemoryError, ImportError) as error:  # said once the unwinding freed memory
            if not out_of_memory(error):
                raise
            console.print(labelled("error:", out_of_memory_sentence(command), "red"))
            raise SystemExit(exit_codes.FAILED) from None


app = Leadscore(
    name="leadscore",
    help=(
        "Predictive lead scoring from won and lost deals: fit and intent features, an ICP guardrail, "
        "a calibrated LightGBM model with reasons, one MLflow artifact.\n\n"
        "Examples:\n\n"
        "\b\n"
        "  leadscore demo          # the whole flow on built-in synthetic data\n"
        "  leadscore generate --accounts 5000 --months 24 --seed 7 --out data/synthetic\n"
        "  leadscore validate --input data/synthetic --quarantine quarantine.csv\n"
        "  leadscore evaluate --input data/synthetic --out-of-time --output results.json\n\n"
        f"{EXIT_CODES_HELP}"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@contextmanager
def expected_failures(job: str = "train") -> Iterator[None]:
    """Turn the errors a user can fix into a one-line message and the exit code that names them (`job` names
    what there is not enough data for)."""
    from features.contracts import ContractError
    from features.icp import ICPRuleError
    from models.minimum_data import InsufficientDataError, NoSignalError
    from pipelines.db import DatabaseWriteError
    from pipelines.io import InputError, OptionError, OutputError
    from pipelines.registry import RegistrationRaceError
    from pipelines.score import NothingToScore
    from pipelines.settings import ConfigError
    from pipelines.store import store_failed_midway
    from pipelines.train import TrainingQuarantineError

    try:
        yield
    except TrainingQuarantineError as error:
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.QUARANTINE_OVER_LIMIT) from error
    except NothingToScore as error:
        console.print(frame_table(error.result.accounting, title="leads"))
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.BAD_INPUT) from error
    except OptionError as error:  # an option's value written wrong (--input-table leads): the job definition
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.USAGE) from error
    except (InputError, ContractError, ConfigError, OutputError, ICPRuleError) as error:
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.BAD_INPUT) from error
    except InsufficientDataError as error:
        headline = "refused" if isinstance(error, NoSignalError) else f"not enough data to {job}"
        said = str(error).startswith("not enough")  # the message already says it
        console.print(labelled(f"{headline}:", str(error), "red") if not said else Text(str(error), "red"))
        raise typer.Exit(exit_codes.NOT_ENOUGH_DATA) from error
    except (DatabaseWriteError, RegistrationRaceError) as error:
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.FAILED) from error
    except Exception as error:  # MLflow's, from a tracking store that filled or was locked midway
        store = store_failed_midway(error)
        if store is None:
            raise
        console.print(labelled("error:", store, "red"))
        raise typer.Exit(exit_codes.BAD_INPUT) from error


@app.command()
def generate(
    out: Annotated[
        str,
        typer.Option(
            "--out", help="Folder (or database URL) to write accounts, leads, activities, deals and truth to."
        ),
    ],
    accounts: Annotated[int, typer.Option(help="Number of accounts (companies); about 3 leads each.")] = 8000,
    months: Annotated[int, typer.Option(help="Months of history, ending at --end.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same tables.")] = 7,
    end: Annotated[
        str, typer.Option(help="The history runs up to (not including) this date.")
    ] = "2026-10-01",
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    dirty_rows: Annotated[int, typer.Option(help="Plant this many rows of each data defect.")] = 0,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="A drift scenario for backtests: base_rate_shift, concept_shift, numeric_trend, new_levels, "
            "seasonality or no_signal (default: none, the demo data's stable mechanism)."
        ),
    ] = None,
) -> None:
    """Write a synthetic CRM history whose conversion mechanism is known.

    The folder gets accounts, leads, activities and deals in the data contract's shape, and truth with each
    deal's true conversion probability (for the oracle AUC).

    Scenarios change the mechanism over the history: base_rate_shift (the win rate climbs), concept_shift
    (manufacturing starts converting from mid-history), numeric_trend (activity grows out of the early
    range), new_levels (new lead sources appear late), seasonality (a yearly cycle), no_signal (every deal
    has the same chance, whatever its features). Truth is written for each.

    Examples:

    \b
      leadscore generate --accounts 16700 --months 12 --seed 1 --out /tmp/big
      leadscore generate --accounts 3000 --scenario concept_shift --out /tmp/concept
      leadscore generate --out duckdb:///data/leadscore.duckdb
    """
    import pandas as pd

    from features.synthetic import SCENARIOS, GeneratorError, scenario_config
    from pipelines.generate import run_generate
    from pipelines.io import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(
            f"{fmt!r} is no table format; use one of {', '.join(FORMATS)}", param_hint="--format"
        )
    cfg = _generator_config(accounts=accounts, months=months, seed=seed, end=end, dirty_rows=dirty_rows)
    try:
        end_date = pd.Timestamp(end)
    except (ValueError, TypeError, OverflowError):
        end_date = pd.NaT
    if end_date is pd.NaT:
        raise typer.BadParameter(f"{end!r} is not a date; e.g. --end 2026-10-01", param_hint="--end")
    if scenario is not None:
        if scenario not in SCENARIOS:
            raise typer.BadParameter(
                f"unknown scenario; choose one of {', '.join(SCENARIOS)}", param_hint="--scenario"
            )
        cfg = scenario_config(scenario, cfg)
    with expected_failures():  # an --out that is a file, or cannot be written: a traceback before
        try:
            history = run_generate(cfg, out, fmt)
        except GeneratorError as error:
            raise typer.BadParameter(str(error), param_hint="--dirty-rows") from None
    counts = {name: len(frame) for name, frame in history.tables().items()}
    console.print(f"wrote {out}: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))


def _generator_config(**options):
    """The GeneratorConfig of the command line's options; an option it refuses (--accounts 0) is a bad command
    line naming the option, not a traceback."""
    from pydantic import ValidationError

    from features.synthetic import GeneratorConfig

    try:
        return GeneratorConfig(**options)
    except ValidationError as error:
        problem = error.errors()[0]
        option = "--" + str(problem["loc"][0]).replace("_", "-")
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise typer.BadParameter(f"{message} (found {problem['input']!r})", param_hint=option) from None


@app.command()
def validate(
    input_dir: Annotated[str, typer.Option("--input", help=INPUT_HELP)],
    quarantine: Annotated[
        Path, typer.Option(help="Where to write the quarantined rows (.csv or .parquet).")
    ] = Path("quarantine.csv"),
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Snapshot time: later timestamps are quarantined; leads and deals created later are "
            "counted as not created yet. Without it, the history is checked as train reads it (a deal "
            "created before its lead is quarantined)."
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="Run configuration YAML (input date formats, quarantine limit).")
    ] = None,
    set_: Overrides = None,
    input_table: InputTables = None,
    query: InputQueries = None,
) -> None:
    """Check CRM tables against the data contract; invalid rows go to the quarantine file with reasons.

    Exits 5 when more leads than scoring.max_quarantine_share are quarantined, or more rows of one table for a
    rule of their own, as `score` does.

    Example:

    \b
      leadscore validate --input data/crm --as-of 2026-10-01 --quarantine quarantine.csv
    """
    from pipelines.validate import (
        over_limit,
        own_quarantine_shares,
        quarantine_summary,
        rule_counts,
        run_validate,
        validation_share,
    )

    when = _as_of(as_of) if as_of else None
    _export_is_checked_by_spec_check(input_dir)
    _refuse_unknown_table_format(quarantine, "--quarantine")
    _refuse_overwriting([input_dir], [quarantine], "--quarantine")
    with expected_failures():
        cfg = _config(config, set_)
        tables = _read_input(input_dir, input_table, query)
        result = run_validate(tables, when, quarantine, cfg.input, deals_after_their_lead=when is None)
    console.print(frame_table(result.counts(), title="rows read, valid and quarantined"))
    if len(result.quarantine):
        console.print(
            frame_table(quarantine_summary(result).head(20), title=f"quarantine by check -> {quarantine}")
        )
    shares = own_quarantine_shares(result.quarantine, result.read)
    limit = cfg.scoring.max_quarantine_share
    too_many = over_limit(validation_share(result), shares, limit, rule_counts(result.quarantine))
    if too_many:
        console.print(f"{too_many}; see {quarantine}", style="red")
        raise typer.Exit(exit_codes.QUARANTINE_OVER_LIMIT)


def _as_of(text: str, option: str = "--as-of"):
    """The as-of option as a timestamp; anything that is not an ISO 8601 date or time is a bad command line
    (exit 2): "01/10/2026" is 1 October or 10 January depending on who wrote it, and "today" moves."""
    from datetime import datetime

    import pandas as pd

    try:
        when = pd.Timestamp(datetime.fromisoformat(text.strip()))
    except (ValueError, TypeError, OverflowError):
        raise typer.BadParameter(
            f"{text!r} is not a date in ISO 8601 (01/10/2026 is 1 October or 10 January depending on who "
            f"wrote it); give one such as {option} 2026-10-01 or 2026-10-01T09:00:00+02:00",
            param_hint=option,
        ) from None
    # Naive UTC, as every time of the input is read: a time zone left on it failed where it met them (the
    # previous run's as-of, a database's as_of column) with a traceback.
    utc = (when.tz_convert("UTC") if when.tzinfo else when.tz_localize("UTC")).tz_localize(None)
    future = _in_the_future(utc, text)  # every recency would count up to a day that has not come
    if future:
        raise typer.BadParameter(future, param_hint=option)
    return utc


def _in_the_future(when, text: str) -> str | None:
    """The sentence for an as-of (naive UTC) later than a day from now (a day of clock skew allowed), else
    None: scores as of then look fine and are wrong, and a retrain's evaluation would hold deals too young to
    have closed."""
    import pandas as pd

    now = pd.Timestamp.now("UTC").tz_localize(None)
    if when > now + pd.Timedelta(days=1):
        return f"{text!r} is in the future (it is {now:%Y-%m-%d} UTC); give today or an earlier date"
    return None


def _is_export_file(input_: str) -> bool:
    """Whether --input names one file of rows (a flat export), not a folder of CRM tables or a database."""
    path = Path(input_)
    return path.is_file() and path.suffix.lower() in (".csv", ".parquet", ".tsv", ".txt")


def _export_needs_spec(input_: str, source_spec: str | None) -> None:
    """An export file given as --input without --source-spec: a bad command line (exit 2) naming the option,
    not "not a folder of CRM tables" with no way forward."""
    if source_spec is None and _is_export_file(input_):
        raise typer.BadParameter(
            f"{input_} is a file: a flat export is read with --source-spec (a spec YAML, or a shipped name such "
            f"as x_education; draft one with `leadscore spec draft --input {input_} --out spec.yaml`); CRM "
            "tables are given as their folder",
            param_hint="--input",
        )


def _crm_only_options(source_spec: str | None, **given: object) -> None:
    """Options that read CRM tables, given with --source-spec (one export file): a bad command line (exit 2).
    `train` and `evaluate` ignored them without a word (`--query "deals=..."` beside an export)."""
    named = [f"--{option.replace('_', '-')}" for option, value in given.items() if value]
    if source_spec and named:
        raise typer.BadParameter(
            f"{' and '.join(named)} go{'es' if len(named) == 1 else ''} with CRM tables; with --source-spec, "
            "--input is one export file: leave "
            f"{'it' if len(named) == 1 else 'them'} out, or leave out --source-spec to read CRM tables"
        )


def _export_is_checked_by_spec_check(input_: str) -> None:
    """An export file given to `validate`, which checks CRM tables: a bad command line (exit 2) naming the
    command that checks an export, not "not a folder of CRM tables" with no way forward."""
    if _is_export_file(input_):
        raise typer.BadParameter(
            f"{input_} is a file: validate checks a folder of CRM tables; a flat export is checked with "
            f"`leadscore spec check --input {input_} --source-spec spec.yaml` (draft the spec with `leadscore "
            f"spec draft --input {input_} --out spec.yaml`)",
            param_hint="--input",
        )


def _refuse_overwriting(inputs: list[str | Path | None], written: list[Path], option: str) -> None:
    """An output that is one of the run's input files, or a CRM table's file in the input folder, would be
    replaced by the run (`score --output crm/leads.csv` wrote the scores over the leads, exit 0): a bad
    command line (exit 2), said before anything is read or written."""
    from features.vocab import TABLES
    from pipelines.locations import is_database_url

    for given in inputs:
        if given is None or is_database_url(given) or str(given).startswith("spark:"):
            continue
        source = Path(given).resolve()
        for path in written:
            target = path.resolve()
            in_folder = source.is_dir() and any(
                target.is_relative_to(source / table)  # the table's file, or its folder of parts
                or (target.parent == source and target.name.split(".")[0].lower() == table)
                for table in TABLES
            )
            if target == source or in_folder:
                what = "the input" if target == source else "a table of the input"
                raise typer.BadParameter(
                    f"{path} would replace {what} {given}; write it elsewhere", param_hint=option
                )


def _table_name(table: str) -> None:
    """A --table that is no table name (`scores; drop table x`) is a bad command line (exit 2), said before
    the model loads; it was exit 3, an input's code, after scoring."""
    from pipelines.db import DatabaseError, TableRef

    try:
        TableRef.parse(table)
    except DatabaseError as error:
        raise typer.BadParameter(str(error), param_hint="--table") from None


def no_deals_sentence(rows_read: dict[str, int], input_dir: str) -> str | None:
    """The warning for CRM tables scored without deals: no deals table, or one of a header only (a feed that
    delivered nothing, which left every lead open as no table does, without a word); None when deals came."""
    if rows_read.get("deals"):
        return None
    what, fix = (
        ("has no deals table", "add the deals table")
        if "deals" not in rows_read
        else ("has a deals table without rows", "export the deals again")
    )
    return (
        f"{input_dir} {what}: every valid lead was scored as open, leads whose deal already closed included; "
        f"{fix} to leave them out"
    )


def _refuse_unknown_table_format(path: str | Path, option: str) -> None:
    """A table output named neither .parquet nor .csv (`--output scores.txt`) is a bad command line (exit 2),
    said before anything is read, as evaluate's --output not named .json (it was exit 3, the input's code)."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        written = f"not {suffix!r}" if suffix else "without a suffix"
        raise typer.BadParameter(
            f"{path}: writes a .parquet or .csv file, {written}; name it e.g. {Path(path).stem or 'out'}.csv",
            param_hint=option,
        )


def _published(output: str | Path) -> list[Path]:
    """The files a scoring run publishes at a file --output (scores, quarantine, manifest, failed run)."""
    from pipelines.score import failed_quarantine_path_for, manifest_path_for, quarantine_path_for

    path = Path(output)
    return [path, quarantine_path_for(path), manifest_path_for(path), failed_quarantine_path_for(path)]


def _config(config: Path | None, overrides: list[str] | None):
    from pipelines.settings import load_config

    return load_config(config, overrides)


@app.command()
def train(
    input_dir: Annotated[
        str, typer.Option("--input", help=INPUT_HELP + " With --source-spec: a flat export file.")
    ],
    config: ConfigFile = None,
    set_: Overrides = None,
    force: ForceReason = None,
    truth: TruthFile = None,
    source_spec: Annotated[
        str | None,
        typer.Option(
            help="--input is a flat lead export (CSV/Parquet) described by this spec (file or shipped name)."
        ),
    ] = None,
    card_dir: Annotated[
        Path | None,
        typer.Option(help="Also write the model card here (it is always logged to the MLflow run)."),
    ] = None,
    input_table: InputTables = None,
    query: InputQueries = None,
    engine: Annotated[
        str,
        typer.Option(
            help="pandas (in process) or spark: the closed deals' features built on Spark, only they are "
            "collected (the spark extra)."
        ),
    ] = "pandas",
    spark_master: Annotated[
        str | None,
        typer.Option(help="With --engine spark: the master URL (default: spark-submit's, else local[*])."),
    ] = None,
) -> None:
    """Train the conversion model on closed deals, compare it with the baselines, log and register it.

    The new model version gets the alias `challenger`; the promotion gate moves `champion` to it only if, on
    the same test rows (paired bootstrap intervals), it has signal (AUC interval above 0.5) and is not worse
    than the champion beyond the noise, or, for the first model, than its strongest baseline (points model,
    logistic regression; registry.first_model_rule: better asks it to beat it). Exit 6 when not promoted,
    7 when the champion collapsed on the new data (the data or outcomes look broken), 4 when there is not
    enough data or no learnable signal. Runs are tracked in MLflow (MLFLOW_TRACKING_URI, default sqlite
    under mlflow/).

    Examples:

    \b
      leadscore train --input data/crm
      leadscore train --input data/crm --set model.split.test_fraction=0.25 --set model.seed=3
      leadscore train --input data/crm --force "new ICP approved by sales leadership"
      leadscore train --input Leads.csv --source-spec x_education      # a flat export, shipped spec
      leadscore train --input duckdb:///data/leadscore.duckdb
      leadscore train --input data/crm --engine spark --spark-master "local[*]"
      leadscore train --input spark:crm --engine spark      # the Spark tables crm.accounts, crm.leads, ...
    """
    from pipelines.io import read_frame
    from pipelines.locations import parse_assignments
    from pipelines.settings import load_source_spec
    from pipelines.sources import training_source
    from pipelines.summary import print_training_summary
    from pipelines.train import run_train

    _check_engine(engine, spark_master, spark_ok=source_spec is None and not query)
    _export_needs_spec(input_dir, source_spec)
    _crm_only_options(source_spec, input_table=input_table, query=query, truth=truth)
    with expected_failures():
        cfg = _config(config, set_)
        spec = load_source_spec(source_spec) if source_spec else None
        table_names = parse_assignments(input_table, "--input-table")
        truth_frame = read_frame(truth) if truth else None
        if engine == "spark":
            result = _train_on_spark(
                input_dir, table_names, spark_master, cfg, truth_frame, force, config, card_dir
            )
        else:
            source, notes = training_source(input_dir, spec, table_names, parse_assignments(query, "--query"))
            for note in notes:
                console.print(f"note: {note}")
            result = run_train(
                source,
                cfg,
                truth=truth_frame,
                force_reason=force,
                config_path=config,
                card_dir=card_dir,
            )
    print_training_summary(result)
    raise typer.Exit(gate_exit_code(result.decision))


def _check_engine(engine: str, spark_master: str | None, spark_ok: bool = True) -> None:
    """BadParameter (exit 2) for an unknown engine, a master without --engine spark, or a master that is not a
    Spark URL (naming it)."""
    from pipelines.spark_job import master_problem

    if engine not in ("pandas", "spark"):
        raise typer.BadParameter(f"{engine!r}: use pandas or spark", param_hint="--engine")
    if engine == "spark" and not spark_ok:
        raise typer.BadParameter(
            "spark trains on CRM tables (not --source-spec or --query)", param_hint="--engine"
        )
    if spark_master is not None and (engine != "spark" or master_problem(spark_master)):
        why = master_problem(spark_master) if engine == "spark" else "goes with --engine spark"
        raise typer.BadParameter(str(why), param_hint="--spark-master")


def _train_on_spark(input_dir, table_names, spark_master, cfg, truth, force, config, card_dir):
    """run_train on the CRM tables as Spark reads them (pipelines/spark_train.py); a master Spark cannot
    start on exits 2."""
    from pipelines.locations import describe_location
    from pipelines.spark_job import BadMasterError, SparkInput, session_for
    from pipelines.spark_train import SparkCrmSource
    from pipelines.train import run_train

    where = SparkInput.parse(input_dir, table_names)
    location = input_dir if where.folder is None else describe_location(input_dir)
    try:
        with session_for(spark_master, cfg.spark.session_conf()) as spark:
            source = SparkCrmSource(spark, where, cfg.scoring.chunk_size, location=location)
            return run_train(
                source, cfg, truth=truth, force_reason=force, config_path=config, card_dir=card_dir
            )
    except BadMasterError as error:
        console.print(labelled("error:", str(error), "red"))
        raise typer.Exit(exit_codes.USAGE) from error


def gate_exit_code(decision) -> int:
    """0 promoted, 6 not promoted, 7 refused because the evidence looks broken (a scheduler can alert on 7);
    4 for a first model that ranked its test window no better than chance (no learnable signal, no champion)."""
    if decision is None or decision.promote:
        return exit_codes.OK
    if decision.first_without_signal:
        return exit_codes.NOT_ENOUGH_DATA
    return exit_codes.EVIDENCE_BROKEN if decision.status == "evidence_broken" else exit_codes.NOT_PROMOTED


@app.command()
def evaluate(
    input_dir: Annotated[
        str, typer.Option("--input", help=INPUT_HELP + " With --source-spec: a flat export file.")
    ],
    source_spec: Annotated[
        str | None,
        typer.Option(
            help="--input is a flat lead export (CSV/Parquet) described by this spec (file or shipped name)."
        ),
    ] = None,
    folds: Annotated[
        int | None, typer.Option(help="Stratified K-fold over the labelled rows in input order (default 5).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="With --folds: StratifiedKFold's random_state (default 0).")
    ] = None,
    out_of_time: Annotated[
        bool, typer.Option("--out-of-time", help="Train on the earliest rows by time, test on the latest.")
    ] = False,
    rolling: Annotated[
        int | None,
        typer.Option(help="N consecutive test windows at the end, each trained only on earlier rows."),
    ] = None,
    test_fraction: Annotated[
        float | None,
        typer.Option(
            help="With --out-of-time / --rolling: the latest share of rows tested (default evaluate.test_fraction)."
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option(help="Write every fold's metrics here as JSON.")] = None,
    truth: TruthFile = None,
    config: ConfigFile = None,
    set_: Overrides = None,
    input_table: InputTables = None,
    query: InputQueries = None,
) -> None:
    """Backtest leadscore's default pipeline against baselines on the same folds, before trusting it.

    Labelled rows are the mature closed deals (CRM tables) or the labelled rows of a flat export. Each
    fold trains leadscore's default pipeline, the points model (CRM tables), logistic regression,
    HistGradientBoosting, default LightGBM and default CatBoost (when installed: pip install -e .[bench])
    on the fold's training rows only, and reports ROC AUC, PR AUC, log loss and ECE on its test rows, per
    fold and on average; with --truth, also the oracle (the synthetic data's true probabilities).
    A fold whose test rows hold one class is skipped and said; a contender that refuses to train
    (not enough data, no learnable signal) is recorded for that fold.

    Examples:

    \b
      leadscore evaluate --input data/crm --folds 5 --seed 0
      leadscore evaluate --input data/synthetic --truth data/synthetic/truth.parquet --out-of-time --output results.json
      leadscore evaluate --input data/crm --rolling 4 --test-fraction 0.4
      leadscore evaluate --input Leads.csv --source-spec x_education --folds 5 --output xedu.json
    """
    from features.contracts import ContractError
    from pipelines.console import progress
    from pipelines.evaluate import (
        FoldPlan,
        NoTimeColumnError,
        backtest_data,
        combined_leak,
        print_report,
        run_evaluate,
        write_results,
    )
    from pipelines.io import read_frame
    from pipelines.locations import describe_location
    from pipelines.sources import CrmSource

    plan = _fold_plan(folds, seed, out_of_time, rolling, test_fraction)
    _export_needs_spec(input_dir, source_spec)
    if source_spec and truth:
        raise typer.BadParameter(
            "the oracle's truth exists for synthetic CRM tables only", param_hint="--truth"
        )
    _crm_only_options(source_spec, input_table=input_table, query=query)
    if output is not None:
        # The spec and the configuration too: JSON is YAML, and --output spec.json wrote over the spec (exit 0).
        spec_file = source_spec if source_spec and Path(source_spec).is_file() else None
        _refuse_overwriting([input_dir, truth, spec_file, config], [output], "--output")
        if output.suffix and output.suffix.lower() != ".json":  # results.csv held JSON, exit 0
            raise typer.BadParameter(
                f"{output}: evaluate writes JSON; name the file .json, e.g. results.json",
                param_hint="--output",
            )
    with expected_failures():
        cfg = _config(config, set_)
        if output is not None:  # an unwritable --output is said now, not after every fold has been trained
            from pipelines.io import check_writable

            check_writable(output)
        if plan.folds == 0 and test_fraction is None:
            plan = FoldPlan(windows=plan.windows, test_fraction=cfg.evaluate.test_fraction)
        if source_spec:
            from pipelines.settings import load_source_spec
            from pipelines.sources import training_source

            spec = load_source_spec(source_spec)
            source, notes = training_source(input_dir, spec)
            for note in notes:
                console.print(labelled("note:", note, "yellow"))
            data = backtest_data(source, cfg)
        else:
            spec, notes = None, []
            tables = _read_input(input_dir, input_table, query)
            data = backtest_data(CrmSource(tables), cfg, read_frame(truth) if truth else None)
        try:
            report = run_evaluate(data, plan, cfg, source=describe_location(input_dir), progress=progress)
        except NoTimeColumnError as error:
            console.print(labelled("error:", str(error), "red"))
            raise typer.Exit(exit_codes.USAGE) from error
        report.read_notes = notes
        leak = combined_leak(report, data, spec, cfg.model.leak_auc) if spec is not None else None
        if leak:  # the table shows every contender near 1; no results file: it is no answer
            print_report(report)
            raise ContractError(leak)
        if output is not None:
            write_results(report, output)
    print_report(report)
    if output is not None:
        console.print(f"wrote {output}")


def _fold_plan(
    folds: int | None, seed: int | None, out_of_time: bool, rolling: int | None, test_fraction: float | None
):
    """The fold plan of the command line; BadParameter (exit 2) for a contradictory or impossible one."""
    from pipelines.evaluate import FoldPlan

    asked = [
        name
        for name, on in (
            ("--folds", folds is not None),
            ("--out-of-time", out_of_time),
            ("--rolling", rolling is not None),
        )
        if on
    ]
    if len(asked) > 1:
        raise typer.BadParameter(
            f"choose one of --folds, --out-of-time and --rolling, not {' and '.join(asked)}"
        )
    if test_fraction is not None and not 0 < test_fraction < 1:
        raise typer.BadParameter("must be between 0 and 1, e.g. 0.2", param_hint="--test-fraction")
    if seed is not None and not 0 <= seed < 2**32:  # scikit-learn's range; a traceback came after reading
        raise typer.BadParameter(f"must be between 0 and {2**32 - 1}, e.g. 0", param_hint="--seed")
    if out_of_time or rolling is not None:
        if seed is not None:  # it was ignored in silence, and the JSON said seed null
            raise typer.BadParameter(
                "--seed goes with --folds (StratifiedKFold's shuffle); --out-of-time and --rolling cut the "
                "rows by time and draw nothing: leave --seed out"
            )
        if rolling is not None and rolling < 1:
            raise typer.BadParameter("must be at least 1", param_hint="--rolling")
        return FoldPlan(windows=rolling or 1, test_fraction=test_fraction or 0.2)
    if test_fraction is not None:
        raise typer.BadParameter("--test-fraction goes with --out-of-time or --rolling, not with --folds")
    k = 5 if folds is None else folds
    if k < 2:
        raise typer.BadParameter("must be at least 2", param_hint="--folds")
    return FoldPlan(folds=k, seed=0 if seed is None else seed)


@app.command()
def score(
    input_dir: Annotated[str, typer.Option("--input", help=INPUT_HELP + " Deals are optional.")],
    output: Annotated[
        str,
        typer.Option(
            help="Scores file (.parquet/.csv, quarantine CSV beside it) or a database URL (with --table)."
        ),
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Score as of this date: only earlier events count. Required for CRM tables; for a flat "
            "export the default is the export's latest time (its spec's time column), else now."
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option(
            help="With a database --output: the scores table, created if missing; quarantine goes to "
            "<table>_quarantine. Re-running the same --as-of and model replaces that run's rows."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model URI (default: models:/<registry.model_name>@champion).")
    ] = None,
    reasons: Annotated[bool, typer.Option(help="Explain every score (the expensive part).")] = True,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Run configuration YAML (input date formats, scoring, crm_export, registry.model_name)."
        ),
    ] = None,
    set_: Overrides = None,
    engine: Annotated[
        str, typer.Option(help="pandas (in process) or spark (local Spark, the spark extra).")
    ] = "pandas",
    input_table: InputTables = None,
    query: InputQueries = None,
    spark_master: Annotated[
        str | None,
        typer.Option(help="With --engine spark: the master URL (default: spark-submit's, else local[*])."),
    ] = None,
    crm_format: Annotated[
        str | None,
        typer.Option(
            help="Also write <output>.<format>.csv for the CRM's import: hubspot or salesforce (crm_export in "
            "the config: field names, pass-through columns)."
        ),
    ] = None,
    previous: Annotated[
        str | None,
        typer.Option(
            help="An earlier scores file (.parquet/.csv) to compare with for the trend; default: the scores "
            "being replaced at --output (a file, or the table's latest earlier run)."
        ),
    ] = None,
    trend: Annotated[
        bool,
        typer.Option(
            help="Give each lead its previous score, change, trend (rising, falling, steady, new) and grade "
            "jump against the last run of the same model (name, tracking store and input; steady: "
            "scoring.trend_steady)."
        ),
    ] = True,
) -> None:
    """Score every open lead as of a date with the registered model; write scores and quarantine atomically.

    Every lead read is scored, quarantined (bad data, with the reason) or not scored (its deal has already
    closed, or it was created after --as-of); the summary says how many of each. Re-running for the same
    as-of rewrites the same output. A folder input is streamed in parts of scoring.chunk_size leads (bounded
    memory). Each lead's trend is against the last run of the same model name (another model's scores: no
    trend, and the summary says so).

    Examples:

    \b
      leadscore score --input data/crm --as-of 2026-10-01 --output scores/2026-10-01.parquet
      # DB=postgresql://leadscore@db:5432/crm
      leadscore score --input "$DB" --as-of 2026-10-01 --output "$DB" --table analytics.lead_scores
      leadscore score --input data/crm --as-of 2026-10-01 --output scores.parquet --engine spark
      leadscore score --input data/crm --as-of 2026-10-01 --output scores.csv --crm-format hubspot
      leadscore score --input data/crm --as-of 2026-10-08 --output week41.parquet --previous week40.parquet
    """
    from models.scorer import CRM_TABLES
    from pipelines.db import is_database_url
    from pipelines.locations import parse_assignments
    from pipelines.registry import champion_uri
    from pipelines.score import top_leads
    from pipelines.score_job import run_score_job
    from pipelines.sources import settings_not_applied, settings_warning, source_for
    from pipelines.spark_job import BadMasterError, spark_output_problem, spark_reads
    from pipelines.tracking import load_scorer

    if is_database_url(output) and not table:
        raise typer.BadParameter("a database --output needs --table NAME", param_hint="--table")
    if is_database_url(output) and table:
        _table_name(table)
    if not is_database_url(output):
        if engine == "spark" and spark_reads(input_dir, query) and spark_output_problem(output):
            raise typer.BadParameter(str(spark_output_problem(output)), param_hint="--output")
        _refuse_unknown_table_format(output, "--output")  # (the advice to name it .csv is not Spark's)
        _refuse_overwriting([input_dir], _published(output), "--output")
    if previous is not None and not trend:
        raise typer.BadParameter(
            "--previous compares for the trend; drop it or --no-trend", param_hint="--previous"
        )
    when = _as_of(as_of) if as_of is not None else None
    _check_engine(engine, spark_master)
    with expected_failures():
        cfg = _config(config, set_)
        table_names = parse_assignments(input_table, "--input-table")  # the command line before the model
        queries = parse_assignments(query, "--query")
        model = model or champion_uri(cfg.registry.model_name)  # what `train` registers
        scorer = load_scorer(model)
        source = source_for(scorer, input_dir, table_names, queries)
        not_applied = settings_not_applied(scorer, source, cfg)
        if not_applied:
            console.print(labelled("warning:", settings_warning(scorer, not_applied), "yellow"))
        when = when if when is not None else source.default_as_of()
        if when is None:
            raise typer.BadParameter(
                "needed to score CRM tables (events after it do not count), e.g. --as-of 2026-10-01",
                param_hint="--as-of",
            )
        try:
            result, written = run_score_job(
                scorer,
                source,
                when,
                output,
                cfg,
                table=table,
                reasons=reasons,
                engine=engine,
                model_uri=model,
                spark_master=spark_master,
                trend=trend,
                previous=previous,
            )
        except BadMasterError as error:
            console.print(labelled("error:", str(error), "red"))
            raise typer.Exit(exit_codes.USAGE) from error
        if crm_format is not None:
            from pipelines.score_job import write_crm_file

            scores = result.scores if engine == "pandas" and source.stream_folder is None else None
            written.append(str(write_crm_file(output, crm_format, cfg, source, scores)))
    console.print(frame_table(result.accounting, title="leads"))
    console.print(frame_table(result.grade_summary(), title="grades"))
    if result.trend is not None:
        if result.trend.counts is not None:
            console.print(frame_table(result.trend.counts, title="trend against the last run"))
        console.print(
            labelled("warning:", result.trend.sentence, "yellow")
            if result.trend.warning
            else result.trend.sentence
        )
    no_deals = no_deals_sentence(result.rows_read, input_dir) if scorer.input == CRM_TABLES else None
    if no_deals:
        console.print(labelled("warning:", no_deals, "yellow"))
    for warning in result.warnings:
        console.print(labelled("warning:", warning, "yellow"))
    console.print(frame_table(top_leads(result.scores), title="top 10 leads"))
    for line in written:
        console.print(f"wrote {line}")
    console.print(f"model {scorer.model_name} version {scorer.model_version}")
    from pipelines.validate import over_limit, under_limit_notes

    limit = cfg.scoring.max_quarantine_share
    too_many = over_limit(result.quarantined_share, result.table_shares(), limit, result.rule_counts())
    if too_many:
        console.print(f"{too_many}; see the quarantine file", style="red")
        raise typer.Exit(exit_codes.QUARANTINE_OVER_LIMIT)
    for note in under_limit_notes(result.table_shares(), result.rule_counts()):
        console.print(labelled("note:", note, "yellow"))


@app.command()
def serve(
    model: Annotated[
        str | None, typer.Option(help="Model URI (default: models:/<registry.model_name>@champion).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: one the system chooses).", min=0, max=65535)] = 5001,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes (default: serving.workers, else one per core).", min=1, max=MAX_WORKERS
        ),
    ] = None,
    config: ConfigFile = None,
    set_: Overrides = None,
) -> None:
    """Serve the model online: POST lead rows to /invocations, get scores and reasons back as JSON.

    Runs MLflow's scoring app for the registered champion under uvicorn, one worker process per core. A
    body over serving.max_body_bytes gets 413; a malformed request gets 400 with a message naming the row,
    the field and the rule.

    Example:

    \b
      leadscore serve --port 5001 &
      curl -s 127.0.0.1:5001/invocations -H 'Content-Type: application/json' -d @lead.json
    """
    from models.scorer import Scorer
    from pipelines.registry import champion_uri, resolve_version
    from pipelines.serve import ServeError, check_listen, run_serve
    from pipelines.sources import OnlineReader, settings_not_applied, settings_warning

    with expected_failures():
        cfg = _config(config, set_)
        model = model or champion_uri(cfg.registry.model_name)  # what `train` registers
        resolve_version(model)  # no champion or an unknown alias: exit 3 naming what exists, before starting
        try:
            check_listen(host, port)  # a port in use: exit 2, before the model is downloaded
        except ServeError as error:
            raise typer.BadParameter(str(error), param_hint="--port") from error

        def say_settings(scorer: Scorer) -> None:
            not_applied = settings_not_applied(scorer, scorer.input.read(OnlineReader()), cfg)
            if not_applied:
                console.print(labelled("warning:", settings_warning(scorer, not_applied), "yellow"))

        try:
            run_serve(model, host, port, workers, cfg.serving, loaded=say_settings)
        except ServeError as error:
            console.print(labelled("error:", str(error), "red"))
            raise typer.Exit(exit_codes.BAD_INPUT) from error


@app.command()
def retrain(
    input_dir: Annotated[str, typer.Option("--input", help=INPUT_HELP + " The full history.")],
    as_of: Annotated[
        str,
        typer.Option(
            help="Retrain as the data were known on this date (e.g. today): later events are ignored."
        ),
    ],
    config: ConfigFile = None,
    set_: Overrides = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for retrain_report.md and the model card (always logged to MLflow)."),
    ] = None,
    trailing_quarters: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_QUARTERS,
            help="Quarters of closed deals to train on (default: retrain.trailing_quarters).",
        ),
    ] = None,
    backtest_days: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_DAYS, help="Backtest the champion on the leads as they were this many days ago."
        ),
    ] = None,
    force: ForceReason = None,
    truth: TruthFile = None,
    card: Annotated[bool, typer.Option(help="Write the model card (charts and explanations).")] = True,
) -> None:
    """Quarterly retrain: a challenger on the trailing window against the champion on the latest mature quarter.

    The evaluation quarter is the latest calendar quarter that ended at least model.maturity_days before
    --as-of; the challenger tunes on the quarter before it and trains on the trailing quarters before that.
    Both models are scored on the same leads, the promotion gate decides, and its verdict, reasons and
    compared metrics are tagged on the new version. The report adds drift (PSI per input and for the score,
    and the segments the champion now misses) and a backtest (the champion's grades --backtest-days ago
    against what closed since). Exit code 0 when the challenger was promoted, 6 when it was not, 7 when the
    champion collapsed on the new data (the data or outcomes look broken).

    Examples:

    \b
      leadscore retrain --input data/crm --as-of 2026-07-01
      leadscore retrain --input data/crm --as-of 2026-07-01 --out reports/2026Q3 --trailing-quarters 6
    """
    from pipelines.io import read_frame
    from pipelines.locations import read_input
    from pipelines.retrain import run_retrain
    from pipelines.settings import RetrainConfig
    from pipelines.summary import print_retrain_summary

    with expected_failures("retrain"):
        when = _retrain_as_of(as_of)
        cfg = _config(config, set_)
        updates = {"trailing_quarters": trailing_quarters, "backtest_days": backtest_days}
        rcfg = RetrainConfig.model_validate(
            {**cfg.retrain.model_dump(), **{k: v for k, v in updates.items() if v is not None}}
        )
        tables = read_input(input_dir)
        truth_frame = read_frame(truth) if truth else None
        result = run_retrain(
            tables, cfg, rcfg, when, truth_frame, force, out_dir=out, card=card, source=input_dir
        )
    print_retrain_summary(result, rcfg)
    raise typer.Exit(gate_exit_code(result.decision) if result.decision else exit_codes.NOT_PROMOTED)


def _retrain_as_of(value: str):
    """Retrain's --as-of: a plain date or time; anything else is bad input (exit 3), as it always was."""
    import pandas as pd

    from pipelines.io import InputError

    try:
        ts = pd.Timestamp(value)
    except ValueError as error:
        raise InputError(f"--as-of {value!r}: not a date; use e.g. 2026-07-01") from error
    if pd.isna(ts) or ts.tzinfo is not None:
        raise InputError(f"--as-of {value!r}: give a plain date or time (UTC, no time zone), e.g. 2026-07-01")
    future = _in_the_future(ts, value)  # the gate would act on an evaluation of deals too young to close
    if future:
        raise InputError(f"--as-of {future}")
    return ts


@app.command()
def queue(
    scores: Annotated[
        Path, typer.Option(help="A scores file published by `leadscore score` (.parquet or .csv).")
    ],
    reps: Annotated[int, typer.Option(help="Reps making calls.")],
    per_rep: Annotated[int, typer.Option(help="Calls each rep makes a day.")],
    output: Annotated[Path, typer.Option(help="The call list (.csv or .parquet), written atomically.")],
    days: Annotated[int, typer.Option(help="Days the list covers.")] = 1,
    senior_reps: Annotated[
        int, typer.Option(help="Of the reps, how many are senior: they get grades A and B first.")
    ] = 0,
    exploration: Annotated[
        float | None,
        typer.Option(
            help="Share of the calls drawn at random below the cut (default queue.exploration_share; 0: off)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the exploration draw (default queue.seed).")
    ] = None,
    config: ConfigFile = None,
    set_: Overrides = None,
) -> None:
    """Today's call list from the latest scores: the reps' capacity filled best first, disqualified leads never
    called, grades A and B routed to senior reps, and an exploration slice of leads drawn at random from below
    the cut (flagged), so the next retrain learns what low scores are worth.

    The summary compares the plan's expected wins with a plain score-ordered list and a random one.

    Examples:

    \b
      leadscore queue --scores scores/2026-10-01.parquet --reps 6 --per-rep 40 --output calls.csv
      leadscore queue --scores scores.parquet --reps 8 --senior-reps 2 --per-rep 30 --days 5 --output week.csv
      leadscore queue --scores scores.parquet --reps 4 --per-rep 25 --exploration 0 --output calls.csv
    """
    from models.queue import Capacity, NoCallableLeads, QueueError
    from pipelines.queue import calls_by_rep, expected_wins_table, plan_sentences, run_queue

    with expected_failures():
        cfg = _config(config, set_).queue
    updates = {k: v for k, v in (("exploration_share", exploration), ("seed", seed)) if v is not None}
    if updates:
        from pydantic import ValidationError

        try:
            cfg = cfg.model_validate(cfg.model_dump() | updates)
        except ValidationError as error:  # --seed -5 had been a traceback from numpy's generator
            problem = error.errors()[0]
            option = "--seed" if problem["loc"] and problem["loc"][0] == "seed" else "--exploration"
            raise typer.BadParameter(problem["msg"], param_hint=option) from error
    capacity = Capacity(reps=reps, per_rep=per_rep, days=days, senior_reps=senior_reps)
    _refuse_unknown_table_format(output, "--output")
    _refuse_overwriting([scores, *_published(scores)[1:3]], [output], "--output")
    with expected_failures():
        try:
            plan = run_queue(scores, capacity, cfg, output)
        except QueueError as error:  # all leads disqualified is the data's (exit 3), the rest the command's
            console.print(labelled("error:", str(error), "red"))
            code = exit_codes.BAD_INPUT if isinstance(error, NoCallableLeads) else exit_codes.USAGE
            raise typer.Exit(code) from error
    console.print(frame_table(calls_by_rep(plan), title="calls by rep and day", float_format="{:.2f}"))
    console.print(frame_table(expected_wins_table(plan), title="expected wins", float_format="{:.2f}"))
    for line in plan_sentences(plan, cfg):
        console.print(line)
    console.print(f"wrote {output}")


@app.command()
def history(
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Registered model (default: registry.model_name).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="Run configuration YAML (registry section).")] = None,
    limit: Annotated[int | None, typer.Option(help="Show only the newest N versions.", min=1)] = None,
) -> None:
    """The audit trail: every registered version, newest first, with the promotion gate's decision, its reasons,
    the metrics it compared, who or what triggered it and, for a retrain, the date its data were taken as of.

    Examples:

    \b
      leadscore history
      leadscore history --limit 8
    """
    from pipelines.history import history_command

    raise typer.Exit(history_command(model_name, config, limit))


@app.command()
def card(
    input_dir: Annotated[
        str | None,
        typer.Option(
            "--input",
            help=INPUT_HELP + " The tables the version was trained on: needed only with --previous, or for a "
            "version logged before training recorded its card's data.",
        ),
    ] = None,
    model: Annotated[
        str, typer.Option(help="Registered version: models:/<name>@<alias> or models:/<name>/<version>.")
    ] = "models:/leadscore@champion",
    out: Annotated[Path, typer.Option(help="Folder for model_card.html and model_card.md.")] = Path(
        "model-card"
    ),
    previous: Annotated[
        str | None,
        typer.Option(
            help="Compare with this version instead of the previous champion, e.g. models:/leadscore/3."
        ),
    ] = None,
    log: Annotated[
        bool, typer.Option(help="Also attach the card to the version's MLflow run under card/.")
    ] = True,
    input_table: InputTables = None,
    query: InputQueries = None,
    calls: Annotated[
        list[Path] | None,
        typer.Option(
            "--calls",
            help="A past call list written by `leadscore queue` (repeatable): the card reports how its "
            "exploration slice converted, with the outcomes in the --input tables' deals.",
        ),
    ] = None,
) -> None:
    """Write the model card of a registered version for sales leadership: a self-contained HTML page (charts
    embedded) and its Markdown twin. Training writes one automatically and logs it to the run with the data it
    shows; this renders the same card again from that data, without scoring anything. With --previous (or
    for a version logged before its card's data was), the card is rebuilt from the --input tables.

    Examples:

    \b
      leadscore card --model models:/leadscore@champion --out model-card
      leadscore card --model models:/leadscore/4 --previous models:/leadscore/2 --input data/crm
      leadscore card --calls calls-2026-10-01.csv --input data/crm     # with the exploration slice
    """
    from pipelines.card_rebuild import card_of_version

    if calls and (not input_dir or previous):
        raise typer.BadParameter(
            "--calls needs --input (the CRM tables holding the calls' outcomes) and no --previous",
            param_hint="--calls",
        )

    def read_tables():
        return _read_input(input_dir, input_table, query)

    with expected_failures():
        html_path, md_path = card_of_version(
            model, out, read_tables if input_dir else None, previous_uri=previous, log=log, calls=calls
        )
    console.print(f"wrote {html_path} and {md_path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path("demo-output"),
    accounts: Annotated[int, typer.Option(help="Accounts in the synthetic history.")] = 8000,
    months: Annotated[int, typer.Option(help="Months of synthetic history.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic history.")] = 7,
) -> None:
    """Run the whole flow on built-in synthetic CRM data: generate, validate, train and register, score.

    Example:

    \b
      leadscore demo --out demo-output
    """
    from features.synthetic import GeneratorError
    from pipelines.demo import run_demo

    generator = _generator_config(accounts=accounts, months=months, seed=seed, dirty_rows=5)
    with expected_failures():  # an --out that is a file, too few accounts to train: tracebacks before
        try:
            run_demo(out, generator)
        except GeneratorError as error:  # its 5 rows of each defect in a history too small to hold them
            raise typer.BadParameter(str(error), param_hint="--accounts") from None


spec_app = typer.Typer(
    name="spec",
    help=(
        "Draft and check the source spec of a flat lead export (one row per lead, e.g. a HubSpot or Salesforce "
        "CSV export).\n\n"
        "Examples:\n\n"
        "\b\n"
        "  leadscore spec draft --input contacts.csv --out specs/contacts.yaml\n"
        "  leadscore spec check --input contacts.csv --source-spec specs/contacts.yaml\n\n"
        f"{EXIT_CODES_HELP}"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(spec_app)


@spec_app.command("draft")
def spec_draft(
    input_path: Annotated[
        Path, typer.Option("--input", help="The export: a CSV (any delimiter) or Parquet file.")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the drafted spec (YAML with comments).")],
    label: Annotated[
        str | None, typer.Option(help="The outcome column (default: guessed, e.g. Converted, Lead Status).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="The spec's name (default: the --out file's stem).")
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Drafting rules YAML (default: pipelines/defaults/spec_draft.yaml).")
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            help="Run configuration YAML whose ICP the draft checks the won leads' countries against."
        ),
    ] = None,
    set_: Overrides = None,
) -> None:
    """Draft a source spec from an export: delimiter and encoding, the id, the label with its won / lost / open
    values, the creation date, and a role for every column (fit, intent, leaky, drop) with its reason; the leak
    audit marks suspects leaky with its evidence. What it cannot decide is left as a QUESTION comment.

    Examples:

    \b
      leadscore spec draft --input contacts.csv --out specs/contacts.yaml
      leadscore spec draft --input leads_report.csv --label "Lead Status" --out specs/salesforce.yaml
    """
    from features.spec_draft import Market
    from pipelines.spec import run_spec_draft

    _refuse_overwriting([input_path], [out], "--out")
    with expected_failures():
        cfg = _config(config, set_)
        result = run_spec_draft(
            input_path,
            out,
            label=label,
            name=name,
            rules_path=rules,
            overwrite=overwrite,
            market=Market(cfg.icp, cfg.features.region_by_country),
        )
    spec = result.draft.spec
    console.print(
        f"wrote {result.path}: id {spec['id_column']!r}"
        + (" (the rows numbered: no column is an id)" if spec.get("id_from_row") else "")
        + f", label {spec['label_column']!r} "
        f"({result.draft.notes['positive_labels']}; {result.draft.notes['negative_labels']}; "
        f"{result.draft.notes['open_labels']}), time {spec['timestamp_column']!r}, "
        f"{len(spec['fit_columns'])} fit, {len(spec['intent_columns'])} intent, "
        f"{len(spec['leaky_columns'])} leaky, {len(spec['drop_columns'])} dropped columns"
    )
    for question in result.draft.questions:
        console.print(f"QUESTION: {question}")
    if result.valid_error:
        console.print(
            labelled(
                "error:",
                f"{result.path} is not a valid spec yet ({result.valid_error}); answer its "
                "questions, then run leadscore spec check",
                "red",
            )
        )
        raise typer.Exit(exit_codes.BAD_INPUT)
    console.print(
        f"next: review it, then leadscore spec check --input {input_path} --source-spec {result.path}"
    )


@spec_app.command("check")
def spec_check(
    input_path: Annotated[Path, typer.Option("--input", help="The export: a CSV or Parquet file.")],
    source_spec: Annotated[str, typer.Option(help="The spec: a YAML file or a shipped name (x_education).")],
    config: Annotated[
        Path | None,
        typer.Option(help="The configuration `train` will use (its split and model.max_quarantine_share)."),
    ] = None,
    set_: Overrides = None,
) -> None:
    """Check a spec against an export: spec columns missing from the export (with a did-you-mean), export
    columns the spec gives no role, label values in none of won / lost / open, rows the contract would
    quarantine, and rows without a time (an out-of-time split cannot place them). Exit 3 when anything is
    wrong, or when training would quarantine more rows than model.max_quarantine_share and stop.

    Example:

    \b
      leadscore spec check --input contacts.csv --source-spec specs/contacts.yaml
    """
    from pipelines.spec_check import run_spec_check

    with expected_failures():
        spec, report = run_spec_check(input_path, source_spec, _config(config, set_))
    for warning in report.warnings:
        console.print(f"warning: {warning}")
    if not report.ok:
        for problem in report.problems:
            console.print(f"- {problem}")
        console.print(
            labelled(
                "error:",
                f"the spec {source_spec} does not fit {input_path} ({len(report.problems)} "
                f"problem{'s' if len(report.problems) > 1 else ''} above); fix the spec or the export and check again",
                "red",
            )
        )
        raise typer.Exit(exit_codes.BAD_INPUT)
    counts = ", ".join(f"{n:,} {k}" for k, n in report.outcomes.items())
    console.print(
        f"ok: {source_spec} fits {input_path}: {report.rows:,} rows; label {spec.label_column!r}: {counts}; "
        f"{len(spec.fit_columns)} fit, {len(spec.intent_columns)} intent, {len(spec.leaky_columns)} leaky, "
        f"{len(spec.drop_columns)} dropped columns"
    )


def main() -> None:
    """Entry point (`python -m pipelines.cli`; the `leadscore` script calls `app` itself)."""
    app()


if __name__ == "__main__":
    main()
