"""Job: train the conversion model on closed deals, compare it, log it to MLflow, register it, gate it.

Reads top to bottom as the architecture: source (CRM tables or a flat export, pipelines/sources.py) ->
contract -> features -> ICP guardrail -> split -> minimum-data check -> LightGBM + calibration -> baselines ->
evaluation -> scorer -> MLflow run -> registry -> promotion gate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from features.contracts import ContractError
from features.fit import unknown_lead_sources
from features.leak_audit import labels_together
from features.season import SEASON_FEATURES
from features.vocab import LEAD_SOURCES
from models.compare import Evaluation, evaluate_on_test, fit_baselines
from models.config import known_maturity, known_maturity_setting
from models.minimum_data import InsufficientDataError, check_minimum_data
from models.monitoring import closes_stopped, newest_event
from models.promotion import learned_by_champion, learned_window
from models.scorer import Scorer, intent_cutpoints_from
from models.splits import Split, known_at_test_start, refit_split, split_from_config
from models.train import train_conversion_model
from pipelines.settings import ConfigError, PipelineConfig
from pipelines.sources import Source, TrainingData, as_source

# CRM-table training data (pipelines.sources), found here before
from pipelines.sources import mature_closed_deals as mature_closed_deals
from pipelines.sources import training_data as training_data
from pipelines.stopping import record_done, signals_held
from pipelines.train_result import TrainResult as TrainResult  # where callers found it before
from pipelines.validate import most_broken_rule, own_quarantine_shares


def make_split(frame: pd.DataFrame, cfg: PipelineConfig, known_only: bool = True) -> Split:
    """Out of time by the deal's creation (default), or grouped by account when the data has no dates. On
    CRM tables (deals with their close), the tested model learns only what was known on the test window's
    first day (model.split.known_at_test_start), unless `known_only` is False."""
    split = split_from_config(
        cfg.model.split, snapshot_at=frame["snapshot_at"], groups=frame["account_id"], seed=cfg.model.seed
    )
    if "closed_at" not in frame.columns:
        return split
    honest = known_at_test_start(split, frame["snapshot_at"], frame["closed_at"], known_maturity(cfg.model))
    if known_only and cfg.model.split.known_at_test_start:
        return honest
    if not len(honest.not_known):
        return split
    # Learnt all the same: counted, for the card to say that its figures may flatter the model.
    return replace(split, extra={**split.extra, LEARNT_LATER: len(honest.not_known)})


def left_out_before_counting(data: TrainingData, maturity_days: int) -> str:
    """The closed rows left out before won and lost were counted (too recent, disqualified by the ICP
    guardrail), as a sentence to add to a too-little-data error; empty when none were. Without it, 650
    closed deals all younger than maturity_days read as "no closed deals at all"."""
    parts = []
    if data.too_recent:
        setting = "model.export_maturity_days" if data.from_export else "model.maturity_days"
        parts.append(
            f"{data.too_recent_sentence(maturity_days)} (lower {setting}, or wait for them to mature)"
        )
    excluded = int(data.excluded.get("total", 0))
    if excluded:
        parts.append(f"{excluded:,} labelled rows disqualified by the ICP guardrail (see the ICP rules)")
    return f" Left out before counting: {' and '.join(parts)}." if parts else ""


def train_scorer(data: TrainingData, cfg: PipelineConfig, model_name: str) -> tuple[Scorer, Split]:
    """Fit the calibrated model on the split and bundle it as the scorer of the data's source."""
    cfg = data.source.training_config(cfg)
    try:
        check_minimum_data(data.y, cfg.model.min_won, cfg.model.min_lost, window="usable history")
    except InsufficientDataError as error:
        raise InsufficientDataError(
            f"{error}{left_out_before_counting(data, cfg.model.maturity_days)}"
        ) from error
    split = make_split(data.frame, cfg)
    try:
        return fit_scorer(data, cfg, model_name, split), split
    except InsufficientDataError:
        if not len(split.not_known):
            raise
    # Too few deals were known on the test window's first day (a short history): the tested model learns
    # every earlier deal, as before known_at_test_start, and the run says its figures may flatter it.
    everything = make_split(data.frame, cfg, known_only=False)
    everything = replace(everything, extra={**everything.extra, TOO_FEW_KNOWN: True})
    return fit_scorer(data, cfg, model_name, everything), everything


# In a split's summary: earlier deals the tested model learnt although their outcome came after its test
# window began (model.split.known_at_test_start off, or too few known deals), and whether too few were.
LEARNT_LATER, TOO_FEW_KNOWN = "n_learnt_later", "too_few_known"


def learnt_later_warning(split: Split, cfg: PipelineConfig) -> str | None:
    """When model.split.known_at_test_start asked the tested model to learn only the deals known on its test
    window's first day and those were too few (train_scorer), what that means, in a sentence; else None."""
    n = split.extra.get(LEARNT_LATER)
    if not n or not split.extra.get(TOO_FEW_KNOWN) or split.test_start is None:
        return None
    return (
        f"the deals known on {split.test_start:%Y-%m-%d}, where the test window begins (closed before it and "
        f"created {known_maturity(cfg.model)} days before it, {known_maturity_setting(cfg.model)}), were too few "
        "to train on, so the "
        f"tested model also learnt {n:,} earlier deals whose outcome came later: on a market that drifts its "
        "test figures, and the gate's, may look better than the model will do; a longer history makes them "
        "honest (model.split.known_at_test_start)"
    )


def check_model_features(names: list[str], cfg: PipelineConfig) -> None:
    """ConfigError naming the setting when features.exclude_features leaves no feature, or model.drift.keep
    lists a name that is none of the data's features (a typo of the feature meant: that one was left out by
    the drift check as if never listed). The month of the year may be listed where the data has none (no
    time column, or features.exclude_features drops it)."""
    if not names and cfg.features.exclude_features:  # the linear part's and the trees' fits: tracebacks
        raise ConfigError(
            f"features.exclude_features ({len(cfg.features.exclude_features)} names) leaves the model no "
            "feature to learn from; exclude fewer features"
        )
    if not cfg.model.drift.enabled:
        return
    unknown = [name for name in cfg.model.drift.keep if name not in names and name not in SEASON_FEATURES]
    if unknown:
        shown = ", ".join(names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "")
        raise ConfigError(
            f"model.drift.keep names {unknown}, which are no features of this data, so they keep nothing; "
            f"fix the names or leave them out (features: {shown})"
        )


def fit_scorer(data: TrainingData, cfg: PipelineConfig, model_name: str, split: Split) -> Scorer:
    """The calibrated model fitted on the split's learning rows (train + validation), as the source's scorer."""
    source = data.source
    cfg = source.training_config(cfg)
    groups = source.feature_groups(cfg)
    names = groups["fit"] + groups["intent"]
    check_model_features(names, cfg)
    model = train_conversion_model(
        data.frame, data.y, names, source.categorical_features(cfg), split, cfg.model
    )
    scorer = source.scorer(model, cfg)
    scorer.model_name = model_name
    # The validation window, or the training rows when none of it was known on the test window's first day.
    reference = split.valid if len(split.valid) else split.train
    scorer.intent_cutpoints = intent_cutpoints_from(model, data.frame.iloc[reference], groups["intent"])
    return scorer


def shipped_scorer(
    data: TrainingData,
    cfg: PipelineConfig,
    tested: Scorer,
    split: Split,
    evaluation: Evaluation | None = None,
) -> Scorer:
    """The scorer that ships: with model.refit_on_test_window, the same training on every usable row, the
    test window included (splits.refit_split), so that it knows the newest deals; else the tested one. A
    refusal of that second training says it came after the test (`evaluation`, the tested model's)."""
    if not cfg.model.refit_on_test_window or len(split.test) == 0:
        return tested
    try:
        return fit_scorer(data, cfg, tested.model_name, refit_split(split))
    except InsufficientDataError as error:
        raise type(error)(refit_refusal(error, evaluation, len(split.test))) from error


def refit_refusal(error: InsufficientDataError, evaluation: Evaluation | None, tested_rows: int) -> str:
    """Why nothing was registered when the training again with the test window was refused although the
    tested model was trained: the test deals the tested model never saw are the ones that broke it."""
    measured = ""
    if evaluation is not None:
        auc = evaluation.comparison.set_index("model").loc["model", "roc_auc"]
        measured = f" (ROC AUC {float(auc):.3f} on them)"
    return (
        f"the model was trained and tested on {tested_rows:,} test rows{measured}, but trained again with "
        f"them (model.refit_on_test_window) it was refused, so nothing was registered: {error} The test rows "
        "may be labelled unlike the rest; `--set model.refit_on_test_window=false` registers the tested "
        "model and lets the promotion gate judge it on them."
    )


def evaluate_scorer(
    data: TrainingData, scorer: Scorer, split: Split, cfg: PipelineConfig, champion: Scorer | None
) -> Evaluation:
    """Baselines on the same split; every contender (and the champion, if it reads the same input) on the
    same test rows."""
    source = data.source
    groups = source.feature_groups(cfg)
    names = groups["fit"] + groups["intent"]
    categorical = source.categorical_features(cfg)
    baselines = fit_baselines(
        data.frame, data.y, split, names, categorical, cfg.model, with_points=source.has_points_model
    )
    champion_p = None
    if champion is not None and champion.input == source.input:
        on_spark = getattr(source, "champion_probabilities", None)  # Spark: built on the executors
        if on_spark is not None:
            champion_p = on_spark(data, champion, split.test)
        else:
            rows = source.rows_of(data, split.test)
            champion_p = champion.model.predict_proba(champion.feature_frame(data.feature_tables(), rows))
    return evaluate_on_test(
        data.frame, data.y, split, scorer.model, baselines, cfg.model, data.true_probability, champion_p
    )


def check_labels_together(
    data: TrainingData, evaluation: Evaluation, cfg: PipelineConfig, forced: bool = False
) -> None:
    """Stop before registering a model trained on an export that tells won from lost on its test rows with an
    AUC of model.leak_auc or more (ContractError, exit 3): its columns together are the outcome in disguise.
    A test window with fewer than evaluate.min_test_rows_per_class won or lost rows says nothing (evaluate
    skips such a fold too; 2 test rows read AUC 1.000, refused as a leak), so it is not judged when the gate
    will refuse it for its size (registry.min_test_won, min_test_lost) and nobody `forced` the promotion; a
    window the gate would judge (its minimums lowered) or a forced run is checked whatever its size: a leak
    promoted is worse than a small export refused. CRM tables are left alone: their features are leadscore's
    own, built as of each deal's creation."""
    from pipelines.registry import gate_rules

    spec = getattr(data.source, "spec", None)
    if spec is None or cfg.model.leak_auc is None:
        return
    tested = evaluation.test_scores["won"].to_numpy(dtype=int)
    won, lost = int(tested.sum()), int(len(tested) - tested.sum())
    tiny = min(won, lost) < cfg.evaluate.min_test_rows_per_class  # 1 won and 1 lost rank right by chance
    if tiny and not gate_rules(cfg).enough_to_decide(won, lost) and not forced:
        return  # no leak read from noise; the gate refuses to judge so small a window (exit 6)
    auc = float(evaluation.comparison.set_index("model").loc["model", "roc_auc"])
    found = labels_together(data.frame, data.y, spec, auc, cfg.model.leak_auc)
    if found:
        raise ContractError(found)


def stopped_feed_warning(data: TrainingData, cfg: PipelineConfig) -> str | None:
    """CRM tables whose outcome feed looks stopped at the end of the history: in the retrain.backtest_days
    before the newest lead or activity, closes fell under a tenth of the window before (models.monitoring.
    closes_stopped). The test window then ends where the outcomes stopped, and the newest leads look open
    whatever happened to them. None for an export, or when the closes go on."""
    tables = data.valid_tables
    if not tables or not {"deals", "leads"} <= set(tables):
        return None
    newest = newest_event(tables, columns={"leads": ("created_at",), "activities": ("occurred_at",)})
    if newest is None:
        return None
    rules = cfg.registry
    return closes_stopped(
        tables["deals"],
        newest - pd.Timedelta(days=cfg.retrain.backtest_days),
        newest + pd.Timedelta(seconds=1),
        rules.min_test_won + rules.min_test_lost,
        arriving=newest,
        created=tables["leads"]["created_at"],
    )


def data_warnings(data: TrainingData, cfg: PipelineConfig) -> list[str]:
    """What `train` and `evaluate` say of the labelled history before trusting it: an outcome feed that looks
    stopped (unless the test window is pinned, as the retrain pins it), an activity feed that delivered nothing,
    lead sources leadscore does not know. `evaluate` said none of them: a stopped outcome feed backtested its
    last window as if the leads were still open, without a word."""
    stopped = stopped_feed_warning(data, cfg) if cfg.model.split.test_start is None else None
    return [w for w in (stopped, empty_activities_warning(data), unknown_sources_warning(data)) if w]


def empty_activities_warning(data: TrainingData) -> str | None:
    """CRM tables whose activities table holds no valid row while leads came (a feed of a header only): every
    lead's intent features read 0 and the model learns from fit alone, without a word. None for an export."""
    tables = data.valid_tables or {}
    activities, leads = tables.get("activities"), tables.get("leads")
    if activities is None or leads is None or len(activities) or not len(leads):
        return None
    return (
        f"activities: the table holds no activity for the {len(leads):,} leads (a feed that delivered nothing?): "
        "every lead's intent features read 0, so the model learns from who the leads are alone; check the "
        "activities feed"
    )


def unknown_sources_warning(data: TrainingData) -> str | None:
    """CRM leads whose lead source leadscore does not know ('webinar', 'trade show'): every such lead reads as
    'other' and the model learns them as one source, so a CRM's own picklist loses what it says. None for an
    export (its columns are the spec's) or when every source is known."""
    leads = (data.valid_tables or {}).get("leads")
    if leads is None or "lead_source" not in leads.columns or leads.empty:
        return None
    unknown = unknown_lead_sources(leads["lead_source"].to_numpy(dtype=object))
    if not unknown:
        return None
    total = sum(unknown.values())
    shown = ", ".join(f"{level!r} {count:,}" for level, count in list(unknown.items())[:3])
    more = f" and {len(unknown) - 3:,} more" if len(unknown) > 3 else ""
    known = ", ".join(code for code in LEAD_SOURCES if code != "other")
    return (
        f"leads.lead_source: {total:,} leads ({total / len(leads):.1%}) have a source leadscore does not know "
        f"({shown}{more}); they all read as 'other', one source to the model: write them as {known} where "
        "one fits (any case, spaces or hyphens, or the plural)"
    )


class TrainingQuarantineError(Exception):
    """More of a table's rows broke the data contract than model.max_quarantine_share allows (exit 5)."""


def check_training_quarantine(data: TrainingData, limit: float) -> None:
    """Stop before training on what a broken feed left: TrainingQuarantineError naming the worst table's share
    of rows that broke a rule of their own (rows that only followed a quarantined lead are not counted)."""
    check_quarantine_share(data.quarantine, data.counts, limit)


def check_quarantine_share(quarantine: pd.DataFrame, counts: pd.DataFrame, limit: float) -> None:
    """check_training_quarantine of a quarantine and its counts per table (ValidationResult.counts())."""
    read = dict(zip(counts["table"], counts["read"], strict=True))
    export = len(read) == 1
    if export:  # a flat export: one table, whatever its quarantine calls it
        read = {table: next(iter(read.values())) for table in set(quarantine["table"])} or read
    shares = own_quarantine_shares(quarantine, read)
    worst = max(shares, key=lambda table: shares[table], default=None)
    if worst is None or shares[worst] <= limit:
        return
    raise TrainingQuarantineError(
        f"{shares[worst]:.1%} of the {worst} rows broke a rule of the data contract, above the allowed "
        f"{limit:.1%} (model.max_quarantine_share), so nothing was trained on what is left; "
        f"{most_broken_rule(quarantine, worst)}; "
        + (  # validate reads CRM tables only
            "`leadscore spec check --input ... --source-spec ...` counts them per rule"
            if export
            else "`leadscore validate --input ... --quarantine q.csv` lists them"
        )
        + ": fix the feed, or raise the setting (--set model.max_quarantine_share=0.2)"
    )


def run_train(
    source: Source | dict[str, pd.DataFrame],
    cfg: PipelineConfig,
    *,
    truth: pd.DataFrame | None = None,
    register: bool = True,
    force_reason: str | None = None,
    config_path: Path | None = None,
    trigger: str = "leadscore train",
    card_dir: Path | None = None,
    evidence_broken: str = "",
) -> TrainResult:
    """Train on a source (CRM tables, as a dict of frames or a CrmSource, or an ExportSource), evaluate, and
    (with `register`) log, register and gate the model in MLflow, and write its card.

    A flat export has no points model (its rules need the CRM features): its first model must beat logistic
    regression. A champion that reads another input (another kind, or another export spec) is not scored on
    the new test rows, so the gate cannot replace it without --force. `evidence_broken` says why the newest
    outcomes look broken (a retrain's backtest found it): the gate refuses with that status.
    """
    from pipelines.store import check_artifacts_writable

    source = as_source(source)
    data = source.training_data(cfg, truth)
    check_training_quarantine(data, cfg.model.max_quarantine_share)
    # Checked before training: a champion whose files are damaged, or a store whose artifacts cannot be
    # written, stops the run before the minutes of training.
    champions, unscored, started_against = None, "", None
    if register:
        champions, unscored = load_champions(cfg.registry.model_name, force_reason)
        # The champion this run is compared with, read once (a second read could see one promoted meanwhile).
        started_against = (
            str(champions[0].model_version) if champions else champion_at_start(cfg.registry.model_name)
        )
        check_artifacts_writable(cfg.registry.experiment)
    tested, split = train_scorer(data, cfg, cfg.registry.model_name)
    champion, live = champion_to_compare(champions, data, split, cfg)
    evaluation = evaluate_scorer(data, tested, split, cfg, champion)
    check_labels_together(data, evaluation, cfg, forced=bool(force_reason))
    scorer = shipped_scorer(data, cfg, tested, split, evaluation)
    result = TrainResult(
        scorer=scorer,
        data=data,
        split=split,
        evaluation=evaluation,
        tested=tested,
        champion=champion if champion is not None and champion.input == source.input else None,
        champion_live=live,
        champion_unscored=unscored,
        evidence_broken=evidence_broken,
        champion_at_start=started_against,
    )
    result.gate_notes = [
        *icp_change_notes(champion, scorer, source.input),
        *compared_note(champions, live, split, known_maturity(cfg.model)),
    ]
    result.warnings.extend([*data_warnings(data, cfg), *filter(None, [learnt_later_warning(split, cfg)])])
    if register:
        # Before the gate moves the alias: the champion --force goes past uncompared, for the card to name.
        previous = result.champion or uncompared_champion(cfg.registry.model_name, unscored, source.input)
        register_and_gate(
            result, cfg, source, config_path=config_path, force_reason=force_reason, trigger=trigger
        )
        if cfg.registry.model_card and attach_card(result, cfg, source.tables, previous, card_dir):
            record_done("version", registered_note(result, cfg.registry.model_name, source.location))
    return result


def champion_at_start(model_name: str) -> str:
    """The champion's version as a run starts ("" when there is none), for the gate to see it moved since."""
    from pipelines.registry import champion_version

    found = champion_version(model_name)
    return "" if found is None else str(found.version)


def register_and_gate(
    result: TrainResult,
    cfg: PipelineConfig,
    source: Source,
    *,
    config_path: Path | None,
    force_reason: str | None,
    trigger: str,
) -> None:
    """Log the run, register the version and gate it, as one step a signal does not cut.

    SIGINT or SIGTERM (a scheduler's timeout) meanwhile acts once the version is gated, and stops the run
    with a sentence naming it: stopped between the two, it had left a version nobody decided on and its MLflow
    run RUNNING. The step takes a second or two.
    """
    from pipelines import tracking

    with signals_held():
        tracking.log_training_run(
            result,
            cfg,
            source.tables,
            location=source.location,
            fingerprint=getattr(source, "fingerprint", None),  # Spark: its tables stay in Spark
            config_path=config_path,
            force_reason=force_reason,
            trigger=trigger,
        )
        card_missing = cfg.registry.model_card
        record_done(
            "version", registered_note(result, cfg.registry.model_name, source.location, card_missing)
        )


def registered_note(result: TrainResult, model_name: str, location: str, card_missing: bool = False) -> str:
    """What a training run stopped after its registration leaves (pipelines.stopping): the version, its
    verdict, and with `card_missing` how to log the model card it did not."""
    verdict = "promoted to champion" if result.decision and result.decision.promote else "not promoted"
    said = f"version {result.version} of {model_name!r} was registered and {verdict}"
    if not card_missing:
        return said
    return (
        f"{said}; its model card was not logged: `leadscore card --model models:/{model_name}/{result.version} "
        f"--input {location}` logs it"
    )


def uncompared_champion(model_name: str, unscored: str, trained_on: Any) -> Scorer | None:
    """The live champion that --force went past without comparing it (`unscored` says why: its tested model
    is lost), when it reads the same input: the card names it as not compared; without it the card said
    'This is the first version'. None otherwise."""
    from pipelines import tracking

    if not unscored:
        return None
    live = tracking.load_champion(model_name)
    return live if live is not None and live.input == trained_on else None


def champion_to_compare(
    champions: tuple[Scorer, Scorer] | None, data: TrainingData, split: Split, cfg: PipelineConfig
) -> tuple[Scorer | None, bool]:
    """The champion the gate scores on the test window, and whether it is the live one. The live
    (registered) model when it was trained again with its test window and this test window holds enough
    deals created after the newest it learnt from (registry.min_test_won / min_test_lost): the model that
    scores today is the one to beat. Else its tested model, which learnt less (the same history trained
    again, or a split without dates): compared on deals the live one learnt, it would look better than it is.
    """
    if champions is None:
        return None, False
    live, tested = champions
    window = learned_window(live.model.split_summary, live=True)
    if live is tested or window[0] is None or not live.model.split_summary.get("learned_end"):
        return tested, False  # not refitted, or undated: what the live one learnt cannot be told apart
    if knew_more_than_the_challenger(window[1], split, known_maturity(cfg.model)):
        return tested, False
    rows = split.test[~learned_by_champion(data.frame["snapshot_at"].iloc[split.test], window)]
    won = int(data.y[rows].sum())
    if won >= cfg.registry.min_test_won and len(rows) - won >= cfg.registry.min_test_lost:
        return live, True
    return tested, False


def knew_more_than_the_challenger(learned_end: pd.Timestamp | None, split: Split, maturity_days: int) -> bool:
    """Whether the live champion learnt deals the tested challenger was not allowed to: when the split held
    back the deals not known on the test window's first day (known_at_test_start), a live model that learnt
    deals created less than `maturity_days` before that day (so trained after it, on outcomes that came
    later) would be compared with a challenger that knew less. A quarterly retrain's live champion learnt up
    to its evaluation quarter, a quarter before the new one's: scored live, it beat the challenger that had
    learnt the same quarter's outcomes (3 seeds of bench_quarterly: 1 of 3 "next quarter" retrains refused)."""
    if not len(split.not_known) or split.test_start is None or learned_end is None:
        return False
    return pd.Timestamp(learned_end) > split.test_start - pd.Timedelta(days=maturity_days)


def compared_note(
    champions: tuple[Scorer, Scorer] | None,
    live: bool,
    split: Split | None = None,
    maturity_days: int | None = None,
) -> list[str]:
    """Which of a refitted champion's two models the gate scored (champion_to_compare), in words; or that a
    champion split without dates was scored on deals it may have learnt: a test window of another `split`
    (dated, or groups drawn with another seed)."""
    if champions is None:
        return []
    version = champions[0].model_version
    tested = champions[1].model.split_summary
    other = split is not None and (
        split.test_start is not None or split.extra.get("seed") != tested.get("seed")
    )
    if other and learned_window(tested)[0] is None:
        # Its train and validation accounts were drawn from every month: the test deals are among them.
        return [
            f"the champion (version {version}) was trained on a split without dates "
            f"({tested.get('split_method', 'unknown')}), so the test deals it learnt from could not be left "
            "out: measured on them it may look better than it is; if this model should replace it, say why with "
            '--force "reason"'
        ]
    if champions[0] is champions[1]:
        return []
    if live:
        return [
            f"the champion (version {version}) was scored as it scores leads today, trained again with its own "
            "test window, on the test deals created after the newest it learnt from"
        ]
    learned_end = learned_window(champions[0].model.split_summary, live=True)[1]
    if (
        split is not None
        and maturity_days is not None
        and knew_more_than_the_challenger(learned_end, split, maturity_days)
    ):
        return [
            f"the champion (version {version}) was scored as it was tested, before it was trained again with "
            "its own test window: the model that scores today learnt outcomes that came after this test window "
            "began, which the challenger tested here was not allowed to learn (model.split.known_at_test_start)"
        ]
    return [
        f"the champion (version {version}) was scored as it was tested, before it was trained again with its "
        "own test window: the model that scores today learnt from too many of these test deals"
    ]


def load_champions(model_name: str, force_reason: str | None) -> tuple[tuple[Scorer, Scorer] | None, str]:
    """The champion's live and tested scorers (tracking.load_champion_pair) and ""; with --force, a champion
    whose tested model is missing or damaged is not compared, and the second item says why (the gate's
    refusal names it, --force overrides it). Without --force that stops the run (exit code 3)."""
    from pipelines import tracking
    from pipelines.registry import UnreadableTestedModel, champion_version

    try:
        return tracking.load_champion_pair(model_name), ""
    except UnreadableTestedModel:
        if not force_reason:
            raise
        run_id = getattr(champion_version(model_name), "run_id", "")
        return None, f"its tested model, {tracking.TESTED_SCORER} of its run {run_id}, is missing or damaged"


def icp_change_notes(champion: Scorer | None, scorer: Scorer, trained_on: Any) -> list[str]:
    """Why the gate's comparison is not like with like when the ICP changed since the champion: the test
    window holds the leads the new ICP keeps (served countries added: leads the champion never trained on)."""
    if champion is None or champion.input != trained_on or champion.icp is None or scorer.icp is None:
        return []
    if champion.icp == scorer.icp:
        return []
    return [
        "the ICP changed since the champion: both were compared on the test leads the new ICP keeps, not on "
        "those the champion's ICP kept (the leads it was trained and registered on)"
    ]


def attach_card(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    previous: Any,
    card_dir: Path | None,
) -> bool:
    """Write the model card of the new version and log it to its run; a failure warns (False), it does not
    undo the run."""
    from pipelines.card import card_after_training

    try:
        result.card_paths = card_after_training(result, cfg, tables, previous, out_dir=card_dir)
    except Exception as error:  # noqa: BLE001 - the version is registered and gated already
        result.warnings.append(f"the model card could not be written: {error}")
        return False
    return True


def summary_table(evaluation: Evaluation) -> pd.DataFrame:
    """The short comparison printed at the end of training: AUC (interval), PR AUC, Brier, ECE, lift."""
    table = evaluation.comparison[
        [
            "model",
            "roc_auc",
            "roc_auc_low",
            "roc_auc_high",
            "pr_auc",
            "brier",
            "ece",
            "lift_top10",
            "capture_top20",
        ]
    ].copy()
    if table["roc_auc_low"].isna().all():  # model.bootstrap_rounds 0: no interval, no empty columns
        table = table.drop(columns=["roc_auc_low", "roc_auc_high"])
    return table.rename(
        columns={"roc_auc_low": "auc_low", "roc_auc_high": "auc_high", "capture_top20": "wins_in_top20%"}
    )
