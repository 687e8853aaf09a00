"""Sources: what a model learns from and what it scores, CRM tables or a flat export with its spec.

Both kinds keep one contract, `Source`: a source yields the training data (feature frame, labels, times,
groups, quarantine and counts), bundles a fitted model as the scorer that reads it, and hands out the rows
to score as of a date with the account of every row read. Its `input` equals the `input` of every scorer
that can score it (models/scorer.py), and `source_for(scorer, ...)` builds the source a scorer reads without
asking for the scorer's type. Where the files or tables live (a folder, a database URL) is
pipelines/locations.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
from pydantic import BaseModel

from features.build import CATEGORICAL_FEATURES, feature_groups, training_snapshots
from features.contracts import ContractError, ValidationResult, export_ids
from features.dates import DateFormats
from features.export_contract import (
    EXPORT_TABLE,
    check_export,
    quarantine_unknown_labels,
    quarantine_untimed,
)
from features.flat import (
    ExportSpec,
    build_flat_features,
    closed_rows,
    export_icp,
    flat_categorical_features,
    flat_feature_groups,
    flat_guardrail,
    flat_timestamps,
    label_outcomes,
    level_spellings,
)
from features.frames import Table, naive_times
from features.icp import exclude_disqualified, win_rate_by_tier, won_disqualified_sentence
from features.leak_audit import disguised_labels
from features.outcome_maturity import ExportMaturity, export_creation_times, export_maturity, too_young
from features.vocab import TABLES
from models.config import ModelConfig
from models.flat_scorer import ExportInput, FlatScorer
from models.scorer import CRM_TABLES, CrmTablesInput, LeadScorer, Scorer, ScorerInput, feature_frame
from models.train import TrainedModel
from pipelines.console import progress
from pipelines.locations import describe_location, read_input
from pipelines.settings import PipelineConfig
from pipelines.spec import read_spec_export, read_training_export, refuse_missing_columns
from pipelines.validate import run_validate

SCORING_TABLES = ("accounts", "leads", "activities")  # deals are optional when scoring


@dataclass
class TrainingData:
    """Closed deals (or labelled export rows) as a feature frame, their labels, and what the guardrail and the
    contract removed; `source` is where they came from."""

    frame: pd.DataFrame  # features, plus lead_id, snapshot_at (the row's time) and account_id (its group)
    y: np.ndarray
    excluded: dict[str, int]  # per ICP disqualification reason, and "total"
    too_recent: int  # closed deals (export rows) left out because younger than the maturity below
    win_rate_by_tier: pd.DataFrame
    quarantine: pd.DataFrame
    counts: pd.DataFrame
    true_probability: np.ndarray | None
    source: Source = field(repr=False)
    # CRM tables: the tables as the contract left them, which the features were built from (a champion's
    # features on the same rows must be built from them too, never from the raw tables)
    valid_tables: dict[str, pd.DataFrame] | None = field(default=None, repr=False)
    # A flat export: the age (days before its newest row) its labelled rows were cut at, and the setting that
    # chose it; None for CRM tables (model.maturity_days).
    export_maturity: ExportMaturity | None = None

    def too_recent_sentence(self, maturity_days: int) -> str:
        """The rows left out as too recent, in words (`maturity_days`: CRM tables' model.maturity_days)."""
        if self.export_maturity is None:
            return f"{self.too_recent:,} closed deals younger than model.maturity_days={maturity_days}"
        return f"{self.too_recent:,} labelled leads {self.export_maturity.describe()}"

    def feature_tables(self) -> dict[str, pd.DataFrame]:
        """The tables a scorer builds the features of these rows from."""
        return self.valid_tables if self.valid_tables is not None else self.source.tables

    @property
    def from_export(self) -> bool:
        """Whether the rows are a flat export's (read with a spec): labelled leads, not closed deals."""
        return getattr(self.source, "spec", None) is not None


@dataclass
class ScoringRows:
    """What a source holds to score as of a date."""

    validation: ValidationResult  # valid rows per table, quarantine, rows read, rows not created yet
    to_score: pd.DataFrame  # the leads to score: valid, and without a closed deal
    closed: pd.DataFrame  # valid leads not scored: their deal has closed


class Source(Protocol):
    """CRM tables or a flat export: what training and scoring read."""

    @property
    def input(self) -> ScorerInput:
        """The kind of rows it holds; a scorer whose input equals it can score them."""
        ...

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The input as read (fingerprinted, and the artifact's example is made from it)."""
        ...

    @property
    def location(self) -> str:
        """Where it was read from, in words (database URLs without their password); "" when not known."""
        ...

    @property
    def stream_folder(self) -> Path | None:
        """A folder of CRM table files nobody has read yet, which scoring can stream part by part; else None."""
        ...

    def default_as_of(self) -> pd.Timestamp | None:
        """The time to score as of when none is given (None: the user must give one)."""
        ...

    def lead_rows(self) -> pd.DataFrame:
        """The leads as read, with a `lead_id` column (for columns passed through to a CRM file)."""
        ...

    def training_data(self, cfg: PipelineConfig, truth: pd.DataFrame | None) -> TrainingData:
        """The labelled rows to learn from, with what the contract and the guardrail left out."""
        ...

    def training_config(self, cfg: PipelineConfig) -> PipelineConfig:
        """The configuration training uses on this source (`cfg` itself where every setting applies)."""
        ...

    def feature_groups(self, cfg: PipelineConfig) -> dict[str, list[str]]:
        """The model's candidate features by kind ("fit", "intent")."""
        ...

    def categorical_features(self, cfg: PipelineConfig) -> list[str]:
        """Which of the candidate features are categorical."""
        ...

    @property
    def has_points_model(self) -> bool:
        """Whether the points model (rules on the CRM features) can be compared on it."""
        ...

    def scorer(self, model: TrainedModel, cfg: PipelineConfig) -> Scorer:
        """The fitted model bundled as the scorer that reads this kind of input."""
        ...

    def rows_of(self, data: TrainingData, positions: np.ndarray) -> Table:
        """The rows a scorer of this input builds features of (Scorer.feature_frame) for those training rows."""
        ...

    def scoring_rows(self, as_of: pd.Timestamp, date_formats: DateFormats | None) -> ScoringRows:
        """The rows to score as of `as_of`, checked against the contract."""
        ...

    def score(
        self,
        scorer: Scorer,
        rows: ScoringRows,
        as_of: pd.Timestamp,
        chunk_size: int,
        reasons: bool,
        engine: str = "pandas",
        model_uri: str | None = None,
    ) -> pd.DataFrame:
        """The score table of `rows.to_score` (unranked)."""
        ...


def as_source(source: Source | dict[str, pd.DataFrame]) -> Source:
    """A source as given, or CRM tables given as a dict of frames."""
    return CrmSource(tables=source) if isinstance(source, dict) else source


def check_scorer_reads(scorer: Scorer, source: Source, model: str = "the model") -> None:
    """ContractError (exit 3) unless the scorer reads this kind of input."""
    if scorer.input != source.input:
        raise ContractError(
            f"{model} was trained on {scorer.input.describe()} and cannot score {source.input.describe()}"
            + (f" ({source.location})" if source.location else "")
            + "; give --input what it was trained on, or --model a model trained on this input"
        )


@dataclass
class ScoringReader:
    """Reads the input a scorer takes (models.scorer.InputReader) from `location` for scoring."""

    location: str
    table_names: dict[str, str] | None = None
    queries: dict[str, str] | None = None

    def crm_tables(self) -> Source:
        return CrmSource(
            location=self.location,
            table_names=self.table_names,
            queries=self.queries,
            required=SCORING_TABLES,
        )

    def flat_export(self, spec: ExportSpec) -> Source:
        path = Path(self.location)
        rows = read_spec_export(path, spec)
        refuse_missing_columns(rows, spec, path, spec.input_columns())  # a KeyError traceback before
        return ExportSource.read(rows, spec, location=str(path))


def training_source(
    location: str,
    spec: ExportSpec | None = None,
    table_names: dict[str, str] | None = None,
    queries: dict[str, str] | None = None,
) -> tuple[Source, list[str]]:
    """What to train on: the CRM tables at `location` (a folder or a database), or, with a spec, the export
    there (trained on its won and lost rows); and notes on what was left out (open rows, columns the spec
    does not use)."""
    if spec is None:
        return CrmSource(read_input(location, table_names, queries), location=location), []
    rows, notes = read_training_export(Path(location), spec)
    return ExportSource.read(rows, spec, location=location), notes


def source_for(
    scorer: Scorer,
    location: str,
    table_names: dict[str, str] | None = None,
    queries: dict[str, str] | None = None,
) -> Source:
    """The source a scorer reads at `location`: CRM tables (a folder or a database, read when first needed)
    or an export (read with the spec the model was trained with)."""
    return scorer.input.read(ScoringReader(location, table_names, queries))


# ----------------------------------------------------------------------------------------------------------
# CRM tables
# ----------------------------------------------------------------------------------------------------------


class CrmTrainingShape:
    """What every source of CRM tables does the same way when training, wherever its features are built (in
    this process, or on Spark): the configuration as given, the CRM feature groups, the points model, the
    LeadScorer, and deals' rows for a champion."""

    def default_as_of(self) -> pd.Timestamp | None:
        return None  # events after any date could be in the tables: the user names the date

    def training_config(self, cfg: PipelineConfig) -> PipelineConfig:
        return cfg

    def feature_groups(self, cfg: PipelineConfig) -> dict[str, list[str]]:
        return feature_groups(cfg.features)

    def categorical_features(self, cfg: PipelineConfig) -> list[str]:
        groups = self.feature_groups(cfg)
        return [c for c in CATEGORICAL_FEATURES if c in groups["fit"] + groups["intent"]]

    @property
    def has_points_model(self) -> bool:
        return True

    def scorer(self, model: TrainedModel, cfg: PipelineConfig) -> LeadScorer:
        return crm_scorer(model, cfg)

    def rows_of(self, data: TrainingData, positions: np.ndarray) -> Table:
        return data.frame.iloc[positions][["deal_id", "lead_id", "snapshot_at"]]


class CrmSource(CrmTrainingShape):
    """Accounts, leads, activities and deals: given as frames, or read from `location` when first needed."""

    def __init__(
        self,
        tables: dict[str, pd.DataFrame] | None = None,
        *,
        location: str = "",
        table_names: dict[str, str] | None = None,
        queries: dict[str, str] | None = None,
        required: tuple[str, ...] = TABLES,
    ) -> None:
        self.given = tables
        self.raw_location = location
        self.table_names, self.queries, self.required = table_names, queries, required

    @property
    def input(self) -> CrmTablesInput:
        return CRM_TABLES

    @cached_property
    def tables(self) -> dict[str, pd.DataFrame]:
        if self.given is not None:
            return self.given
        return read_input(self.raw_location, self.table_names, self.queries, self.required)

    @property
    def location(self) -> str:
        return describe_location(self.raw_location) if self.raw_location else ""

    def lead_rows(self) -> pd.DataFrame:
        folder = self.stream_folder
        if folder is not None:  # only the leads file, not every table
            from pipelines.io import read_frame, table_path

            path = table_path(folder, "leads")
            return read_frame(path, "leads") if path is not None else pd.DataFrame({"lead_id": []})
        return self.tables["leads"]

    @property
    def stream_folder(self) -> Path | None:
        if self.given is not None or "tables" in self.__dict__ or not Path(self.raw_location).is_dir():
            return None
        if self.table_names or self.queries:  # read_input refuses them for a folder; streaming ignored them
            return None
        return Path(self.raw_location)

    def training_data(self, cfg: PipelineConfig, truth: pd.DataFrame | None) -> TrainingData:
        return training_data(self.tables, cfg, truth, source=self)

    def scoring_rows(self, as_of: pd.Timestamp, date_formats: DateFormats | None) -> ScoringRows:
        validation = run_validate(self.tables, as_of=as_of, date_formats=date_formats)
        to_score, closed = open_leads(validation.valid["leads"], validation.valid.get("deals"))
        return ScoringRows(validation=validation, to_score=to_score, closed=closed)

    def score(
        self,
        scorer: Scorer,
        rows: ScoringRows,
        as_of: pd.Timestamp,
        chunk_size: int,
        reasons: bool,
        engine: str = "pandas",
        model_uri: str | None = None,
    ) -> pd.DataFrame:
        """Chunk by chunk in this process ("pandas"), or through the artifact as a Spark UDF ("spark": needs
        `model_uri` and the spark extra)."""
        valid = rows.validation.valid
        if engine == "spark":
            from pipelines.spark import score_tables_with_spark

            if model_uri is None:
                raise ValueError("the spark engine needs the model URI")
            return score_tables_with_spark(model_uri, valid, rows.to_score, as_of, reasons)
        return score_in_chunks(scorer, valid, rows.to_score, as_of, chunk_size, reasons)


def crm_scorer(model: TrainedModel, cfg: PipelineConfig) -> LeadScorer:
    """The scorer of a model trained on CRM tables (in process or on Spark), with the configuration's
    features, guardrail and reason settings."""
    return LeadScorer(
        features=cfg.features,
        icp=cfg.icp,
        model=model,
        positive_reasons=cfg.scoring.positive_reasons,
        negative_reasons=cfg.scoring.negative_reasons,
        min_reason_contribution=cfg.scoring.min_reason_contribution,
        min_absence_contribution=cfg.scoring.min_absence_contribution,
        model_name=cfg.registry.model_name,
    )


# A scorer's field -> the setting it was built from (crm_scorer, ExportSource.scorer). The model, its name,
# version and intent cut points are the training's own, and an export's spec is the one the scorer reads.
SETTING_OF_FIELD = {
    "features": "features",
    "icp": "icp",
    "guardrail": "icp",
    "regions": "features.region_by_country",
    "positive_reasons": "scoring.positive_reasons",
    "negative_reasons": "scoring.negative_reasons",
    "min_reason_contribution": "scoring.min_reason_contribution",
    "min_absence_contribution": "scoring.min_absence_contribution",
}


def settings_not_applied(scorer: Scorer, source: Source, cfg: PipelineConfig) -> list[str]:
    """The settings of `cfg` that differ from those `scorer` was trained with (e.g. icp.served_countries):
    they travel in the artifact, so scoring follows the model's, as online and on Spark."""
    configured = source.scorer(scorer.model, cfg)
    differ: list[str] = []
    for name, setting in SETTING_OF_FIELD.items():
        trained, now = getattr(scorer, name, None), getattr(configured, name, None)
        if trained == now:
            continue
        if isinstance(trained, BaseModel) and isinstance(now, BaseModel):
            old, new = trained.model_dump(mode="json"), now.model_dump(mode="json")
            keys = sorted(old.keys() & new.keys())  # a field added since the model was pickled is not its
            differ += [f"{setting}.{key}" for key in keys if old[key] != new[key]]
        else:
            differ.append(setting)
    return sorted(dict.fromkeys(differ))


class OnlineReader:
    """The source an online request is read as (models.scorer.InputReader), without rows: what
    settings_not_applied compares a served model's settings with."""

    def crm_tables(self) -> Source:
        return CrmSource(tables={})

    def flat_export(self, spec: ExportSpec) -> Source:
        return ExportSource(pd.DataFrame(columns=list(spec.input_columns())), spec)


def settings_warning(scorer: Scorer, not_applied: list[str]) -> str:
    """The sentence saying which settings of this run the model overrides (see settings_not_applied)."""
    shown = ", ".join(not_applied[:6]) + (f" and {len(not_applied) - 6} more" if len(not_applied) > 6 else "")
    return (
        f"model {scorer.model_name} version {scorer.model_version} was trained with other values of {shown} "
        "than this run's configuration; the scores follow the model's (they travel in its artifact, so "
        "batch, online and Spark score alike): train a new version to apply them"
    )


def run_time() -> pd.Timestamp:
    """Now, as naive UTC to the second: the time a run validates its history as of (a later date is a typo),
    and the latest time an export is scored as of."""
    return pd.Timestamp.now("UTC").tz_localize(None).floor("s")


def training_data(
    tables: dict[str, pd.DataFrame],
    cfg: PipelineConfig,
    truth: pd.DataFrame | None,
    source: Source | None = None,
) -> TrainingData:
    """Validate, build the features of every closed deal at its creation, apply and report the guardrail.

    The history is validated as of the run's time: a date after it is a typo (a deal created in 2099 would
    be the newest test deal and move the maturity horizon past every young deal), so leads and deals created
    later are left out as not created yet, and other later times are quarantined, as `score --as-of` today
    treats them. A deal created before its lead is quarantined (a lead record migrated or re-created after
    its deals): its features at its creation would hide everything the lead did."""
    validation = run_validate(tables, as_of=run_time(), date_formats=cfg.input, deals_after_their_lead=True)
    valid = validation.valid
    deals = valid["deals"]
    closed, too_recent = mature_closed_deals(deals, cfg.model.maturity_days)
    frame = feature_frame(valid, training_snapshots(closed), cfg.features, cfg.icp)
    source = source if source is not None else CrmSource(tables)
    counts = validation.counts()
    data = labelled_training_data(
        frame, closed, too_recent, validation.quarantine, counts, cfg, truth, source
    )
    data.valid_tables = valid
    return data


def labelled_training_data(
    frame: pd.DataFrame,
    closed: pd.DataFrame,
    too_recent: int,
    quarantine: pd.DataFrame,
    counts: pd.DataFrame,
    cfg: PipelineConfig,
    truth: pd.DataFrame | None,
    source: Source,
) -> TrainingData:
    """The feature frame of the mature closed deals `closed` (same rows, same order) with their outcome and
    account, in the order of their deal ids (in_id_order), the guardrail applied and reported (also what
    `leadscore train --engine spark` gathers)."""
    order = in_id_order(frame["deal_id"])
    frame = frame.iloc[order].reset_index(drop=True)
    frame["outcome"] = closed["outcome"].to_numpy()[order]
    frame["account_id"] = closed["account_id"].to_numpy()[order]
    if "closed_at" in closed.columns:  # when the outcome became known (models.splits.known_at_test_start)
        frame["closed_at"] = naive_times(closed["closed_at"])[order]
    by_tier = win_rate_by_tier(frame)
    stop = won_disqualified_sentence(frame, cfg.icp, "the configuration (icp_file, or --set)")
    if stop:
        raise ContractError(stop)
    kept, excluded = exclude_disqualified(frame, cfg.icp)
    kept = kept.reset_index(drop=True)
    true_p = None
    if truth is not None:
        true_p = kept["deal_id"].map(truth_probabilities(truth)).to_numpy(dtype=float)
        true_p = None if np.isnan(true_p).any() else true_p
        check_truth_leads(kept, truth)
    return TrainingData(
        frame=kept,
        y=(kept["outcome"] == "won").to_numpy(dtype=int),
        excluded=excluded,
        too_recent=too_recent,
        win_rate_by_tier=by_tier,
        quarantine=quarantine,
        counts=counts,
        true_probability=true_p,
        source=source,
    )


def in_id_order(ids: pd.Series) -> np.ndarray:
    """Positions that list rows in the order of their ids as text (ties, which the contract leaves none of,
    in table order). Training rows go in this order: the folds, LightGBM's bagging and the bootstrap read rows
    by position, so the same history listed in another order (a database read without ORDER BY, a shuffled
    export) trained another model with other metrics."""
    return np.argsort(ids.astype("str").to_numpy(dtype=object), kind="stable")


def truth_probabilities(truth: pd.DataFrame) -> pd.Series:
    """The --truth file's true_probability by deal_id; ContractError (exit 3) naming what is wrong with it
    (a column missing, an id repeated, a probability that is no number in [0, 1]) instead of a traceback."""
    fix = "give the truth file `leadscore generate` wrote beside the data (deal_id, true_probability)"
    missing = [c for c in ("deal_id", "true_probability") if c not in truth.columns]
    if missing:
        raise ContractError(f"--truth lacks the column(s) {', '.join(map(repr, missing))}; {fix}")
    ids = truth["deal_id"].astype("str")
    if ids.duplicated().any():
        raise ContractError(f"--truth repeats deal_id {ids[ids.duplicated()].iloc[0]!r}; {fix}")
    p = pd.to_numeric(truth["true_probability"], errors="coerce")
    bad = p.isna() | (p < 0) | (p > 1)
    if bad.any():
        value = truth["true_probability"][bad].tolist()[0]
        raise ContractError(f"--truth true_probability {value!r} is not a probability in [0, 1]; {fix}")
    return pd.Series(p.to_numpy(dtype=float), index=ids)


def check_truth_leads(deals: pd.DataFrame, truth: pd.DataFrame) -> None:
    """ContractError unless the --truth file gives each labelled deal the lead the deals table gives it (when it
    has lead_id): `leadscore generate` numbers deals alike in every history, so the truth of another seed
    matched every deal_id and the oracle was measured on another history's probabilities (AUC 0.57, exit 0)."""
    if "lead_id" not in truth.columns or "lead_id" not in deals.columns:
        return
    # Read as the contract reads the deals' lead ids: a Parquet column of 12.0 is the lead "12".
    leads = pd.Series(
        export_ids(truth["lead_id"]).astype("str").to_numpy(), index=truth["deal_id"].astype("str")
    )
    ids = deals["deal_id"].astype("str")
    said, table = ids.map(leads), deals["lead_id"].astype("str")
    other = (said.notna() & (said != table)).to_numpy()
    if other.any():
        first = int(np.flatnonzero(other)[0])
        raise ContractError(
            f"--truth gives deal_id {ids.iloc[first]!r} to lead_id {said.iloc[first]!r} where the deals table "
            f"gives it to {table.iloc[first]!r} ({int(other.sum()):,} of the {len(ids):,} labelled deals differ), "
            "so it is the truth of another history; give the truth file `leadscore generate` wrote beside these "
            "data, or leave --truth out"
        )


def mature_closed_deals(deals: pd.DataFrame, maturity_days: int) -> tuple[pd.DataFrame, int]:
    """Won and lost deals created at least `maturity_days` before the newest deal; and how many were too recent."""
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    if len(deals) == 0:
        return closed.reset_index(drop=True), 0
    horizon = deals["created_at"].max() - pd.Timedelta(days=maturity_days)
    mature = closed[closed["created_at"] <= horizon]
    return mature.reset_index(drop=True), len(closed) - len(mature)


def open_leads(leads: pd.DataFrame, deals: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leads with no deal or an open one (to score), and leads whose deal has closed (not scored).

    A lead with several deals is open when it never won and a deal created after its newest lost one is still
    open: a lead lost last year that came back with a new deal is worked again (it was left out as "deal
    already closed"); a customer's new deal (an upsell) leaves it a customer.
    `leads` and `deals` are the contract's valid rows: a lead whose quarantined deal may have closed is
    already quarantined with it (features.contracts, "deal quarantined"), so it never reaches here as open.
    """
    if deals is None or len(deals) == 0:
        return leads, leads.iloc[0:0]
    ended = deals["outcome"].isin(["won", "lost"]).to_numpy()
    created = pd.to_datetime(deals["created_at"])
    last_closed = created[ended].groupby(deals["lead_id"][ended].to_numpy()).max()
    last_open = created[~ended].groupby(deals["lead_id"][~ended].to_numpy()).max()
    won = set(deals["lead_id"][deals["outcome"].eq("won").to_numpy()])
    later_open = (last_open.reindex(last_closed.index) > last_closed).to_numpy(dtype=bool)
    reopened = later_open & ~last_closed.index.isin(won)
    is_closed = leads["lead_id"].isin(last_closed.index[~reopened])
    return leads[~is_closed], leads[is_closed]


def tables_of_leads(tables: dict[str, pd.DataFrame], leads: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The CRM tables a scorer reads for some of the leads: the accounts, those leads, their activities."""
    activities = tables["activities"]
    return {
        "accounts": tables["accounts"],
        "leads": leads,
        "activities": activities[activities["lead_id"].isin(leads["lead_id"])],
    }


def score_in_chunks(
    scorer: Scorer,
    tables: dict[str, pd.DataFrame],
    leads: pd.DataFrame,
    as_of: pd.Timestamp,
    chunk_size: int,
    reasons: bool = True,
) -> pd.DataFrame:
    """Score `leads` chunk by chunk (bounded memory for features and explanations), with a progress bar."""
    starts = range(0, len(leads), chunk_size)
    parts = []
    for start in progress(starts, "scoring leads", total=len(starts)):
        chunk_tables = tables_of_leads(tables, leads.iloc[start : start + chunk_size])
        parts.append(scorer.score_tables(chunk_tables, as_of, reasons=reasons))
    if not parts:
        return scorer.score_tables({**tables, "leads": leads}, as_of, reasons=reasons)
    return pd.concat(parts, ignore_index=True)


# ----------------------------------------------------------------------------------------------------------
# A flat export read with its spec
# ----------------------------------------------------------------------------------------------------------


def at_export_rows(
    valid: pd.DataFrame, quarantine: pd.DataFrame, positions: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """check_export numbers the rows of what it was given; put valid rows and quarantine rows back at their
    positions in the whole export (`positions`: the export position of each row it was given)."""
    valid = valid.set_axis(positions[valid.index])
    if len(quarantine):
        quarantine = quarantine.assign(row=positions[quarantine["row"].to_numpy(dtype="int64")])
    return valid, quarantine


@dataclass
class ExportSource:
    """The rows of a flat lead export (one row per lead) and the spec they are read with."""

    rows: pd.DataFrame
    spec: ExportSpec
    location: str = ""
    file_rows: np.ndarray | None = None  # each row's row in the file, when the reader skipped blank rows

    @classmethod
    def read(cls, rows: pd.DataFrame, spec: ExportSpec, location: str = "") -> ExportSource:
        """The source of rows as pipelines.spec read them: their index is their row in the file (blank rows
        skipped), kept as `file_rows` for the quarantine, and the rows are renumbered by position."""
        if rows.index.equals(pd.RangeIndex(len(rows))):
            return cls(rows, spec, location=location)
        return cls(rows.reset_index(drop=True), spec, location=location, file_rows=rows.index.to_numpy())

    @property
    def input(self) -> ExportInput:
        return ExportInput(self.spec)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {EXPORT_TABLE: self.rows}

    @property
    def stream_folder(self) -> Path | None:
        return None

    def default_as_of(self) -> pd.Timestamp | None:
        """The export's latest time when the spec names a time column, else now (UTC, to the second): an
        export is a snapshot, its rows already hold what happened before it was taken. Never later than now:
        a time in the future (a typo, 2031) would score every lead as of then, which `--as-of` refuses; rows
        created after as-of are not scored (scoring_rows)."""
        spec = self.spec
        now = run_time()
        if spec.timestamp_column and spec.timestamp_column in self.rows.columns:
            latest = flat_timestamps(self.rows[spec.timestamp_column], spec).max()
            if pd.notna(latest):
                return min(pd.Timestamp(latest), now)
        return now

    def lead_rows(self) -> pd.DataFrame:
        return self.rows.assign(lead_id=self.rows[self.spec.id_column].astype("str"))

    def training_data(self, cfg: PipelineConfig, truth: pd.DataFrame | None) -> TrainingData:
        """The won and lost rows are the labelled leads (open rows are scored, not learned from); a row's id is
        its group.
        Rows that break the export's contract (features/export_contract.py) are quarantined, not trained on;
        where the spec maps ICP attributes, disqualified leads do not teach the model (as closed deals of CRM
        tables, features/icp.py exclude_disqualified); synthetic truth does not exist for an export."""
        spec = self.spec
        closed, _ = closed_rows(self.rows.reset_index(drop=True), spec)
        valid, quarantine = at_export_rows(*check_export(closed, spec), closed.index)
        now = pd.Timestamp.now("UTC").tz_localize(None)
        out_of_time = self.training_config(cfg).model.split.method == "out_of_time"
        valid, quarantine = quarantine_untimed(valid, quarantine, spec, now, need_time=out_of_time)
        valid = valid.iloc[in_id_order(valid[spec.id_column])]  # index kept: positions in the export
        quarantine = self._at_file_rows(quarantine)
        n_valid = len(valid)
        maturity = self.outcome_maturity(cfg.model)
        young = self.too_young_rows(valid, maturity.days)
        valid = valid.loc[~young]
        features, label = build_flat_features(valid, spec)
        if label is None:
            raise ContractError(f"spec {spec.name!r}: the export has no label column {spec.label_column!r}")
        icp = export_icp(spec, cfg.icp)
        if icp is not None:
            features = features.assign(
                **flat_guardrail(valid, features, spec, icp, cfg.features.region_by_country)
            )
        features.index = label.index = valid.index  # positions in the export, as rows_of reads them
        id_name = spec.feature_name(spec.id_column)
        times = features[spec.feature_name(spec.timestamp_column)] if spec.timestamp_column else pd.NaT
        frame = features.assign(
            lead_id=features[id_name].astype("str"), snapshot_at=times, account_id=features[id_name]
        )
        excluded: dict[str, int] = {}
        by_tier = pd.DataFrame()
        if icp is not None:
            frame["outcome"] = np.where(label.to_numpy(dtype=int) == 1, "won", "lost")
            by_tier = win_rate_by_tier(frame) if (frame["fit_tier"] != "").any() else pd.DataFrame()
            stop = won_disqualified_sentence(frame, icp, f"the icp: section of spec {spec.name!r}")
            if stop:
                raise ContractError(stop)
            frame, excluded = exclude_disqualified(frame, icp)
            label = label.loc[frame.index]
        leak = cfg.model.leak_auc
        found = disguised_labels(frame, label.to_numpy(dtype=int), spec, leak) if leak is not None else None
        if found:
            raise ContractError(found)
        counts = pd.DataFrame(
            {
                "table": [spec.name],
                "read": [len(closed)],
                "valid": [n_valid],
                "quarantined": [len(closed) - n_valid],
                "accounted": [True],
            }
        )
        return TrainingData(
            frame=frame,
            y=label.to_numpy(dtype=int),
            excluded=excluded,
            too_recent=int(young.sum()),
            win_rate_by_tier=by_tier,
            quarantine=quarantine,
            counts=counts,
            true_probability=None,
            source=self,
            export_maturity=maturity,
        )

    def training_config(self, cfg: PipelineConfig) -> PipelineConfig:
        """`cfg`, except that an export without a timestamp column is split at random grouped by its id (an
        out-of-time split, the default, needs dates), and that the gap between the newest row learnt and
        scoring is the export's outcome maturity (`outcome_maturity`), not `model.maturity_days`: a drift of
        the win rate is extrapolated to the export's newest row (0 when no labelled row was left out as young)."""
        days = self.outcome_maturity(cfg.model).days
        model = cfg.model.model_copy(update={"maturity_days": days})
        if not self.spec.timestamp_column and model.split.method == "out_of_time":
            model = model.model_copy(
                update={"split": model.split.model_copy(update={"method": "grouped_random"})}
            )
        return cfg.model_copy(update={"model": model})

    def feature_groups(self, cfg: PipelineConfig) -> dict[str, list[str]]:
        return flat_feature_groups(self.spec, cfg.features.exclude_features)

    @cached_property
    def _creation_times(self) -> pd.Series | None:
        return export_creation_times(self.rows, self.spec, run_time())

    @cached_property
    def _maturities(self) -> dict[tuple[int | str, float, float], ExportMaturity]:
        return {}

    def outcome_maturity(self, model: ModelConfig) -> ExportMaturity:
        """How old a labelled row must be, before the export's newest row, to be learnt and tested: its
        outcome is no longer only the quick one (model.export_maturity_days; features/outcome_maturity.py).
        Measured once per setting: training reads it from the training data and each training_config."""
        key = (model.export_maturity_days, model.export_max_open_share, model.export_open_share_z)
        if key not in self._maturities:
            self._maturities[key] = export_maturity(self.rows, self._creation_times, self.spec, *key)
        return self._maturities[key]

    def too_young_rows(self, valid: pd.DataFrame, maturity_days: int) -> np.ndarray:
        """Which of the valid rows (index: positions in the export) are younger than the maturity."""
        times = self._creation_times
        if times is None or maturity_days <= 0:
            return np.zeros(len(valid), dtype=bool)
        return too_young(times.loc[valid.index], times.max(), maturity_days)

    def categorical_features(self, cfg: PipelineConfig) -> list[str]:
        groups = self.feature_groups(cfg)
        kept = set(groups["fit"] + groups["intent"])
        return [name for name in flat_categorical_features(self.spec) if name in kept]

    @property
    def has_points_model(self) -> bool:
        return False  # its rules need the CRM features

    def scorer(self, model: TrainedModel, cfg: PipelineConfig) -> FlatScorer:
        return FlatScorer(
            spec=self.spec,
            model=model,
            positive_reasons=cfg.scoring.positive_reasons,
            negative_reasons=cfg.scoring.negative_reasons,
            min_reason_contribution=cfg.scoring.min_reason_contribution,
            model_name=cfg.registry.model_name,
            guardrail=export_icp(self.spec, cfg.icp),
            regions=tuple(cfg.features.region_by_country.items()),
            level_spellings=level_spellings(self.rows, self.spec),
        )

    def rows_of(self, data: TrainingData, positions: np.ndarray) -> Table:
        return self.rows.iloc[data.frame.index[positions]]

    def _at_file_rows(self, quarantine: pd.DataFrame) -> pd.DataFrame:
        """Quarantine rows numbered as in the file: the reader skipped rows with every cell blank
        (pipelines.spec.without_blank_tail) and `read` kept each row's row in the file."""
        if not len(quarantine) or self.file_rows is None:
            return quarantine
        return quarantine.assign(row=self.file_rows[quarantine["row"].to_numpy(dtype="int64")])

    def scoring_rows(self, as_of: pd.Timestamp, date_formats: DateFormats | None) -> ScoringRows:
        """The open rows that keep the export's contract are scored (its spec types them); rows whose label
        says won or lost are closed, not scored (a converted lead needs no score); rows that break the
        contract go to the quarantine with their reasons."""
        rows = self.rows.reset_index(drop=True)
        valid, quarantine = quarantine_unknown_labels(*check_export(rows, self.spec), self.spec)
        quarantine = self._at_file_rows(quarantine)
        # Created after as_of: not there yet (a backfill), not scored.
        later = np.zeros(len(valid), dtype=bool)
        if self.spec.timestamp_column:
            later = (flat_timestamps(valid[self.spec.timestamp_column], self.spec) > as_of).to_numpy()
        valid = valid.loc[~later]
        validation = ValidationResult(
            valid={"leads": valid},
            quarantine=quarantine,
            read={"leads": len(self.rows)},
            not_created={"leads": int(later.sum())},
        )
        closed = np.zeros(len(valid), dtype=bool)
        if self.spec.label_column in valid.columns:
            closed = label_outcomes(valid, self.spec).isin(["won", "lost"]).to_numpy()
        return ScoringRows(validation=validation, to_score=valid.loc[~closed], closed=valid.loc[closed])

    def score(
        self,
        scorer: Scorer,
        rows: ScoringRows,
        as_of: pd.Timestamp,
        chunk_size: int,
        reasons: bool,
        engine: str = "pandas",
        model_uri: str | None = None,
    ) -> pd.DataFrame:
        """In this process, in one piece (an export is one file read whole); `engine` is not used."""
        return scorer.score_tables({EXPORT_TABLE: rows.to_score}, as_of, reasons).reset_index(drop=True)
