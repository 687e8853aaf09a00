"""Typed configuration of the conversion model, its baselines and its evaluation (values live in YAML)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A number of days before a date, at most 100 years: a longer one put dates before pandas' first (1677) and
# ended in its traceback (model.maturity_days=1000000), and no deal takes a century to close.
MAX_DAYS = 36_500
MAX_QUARTERS = 400  # the same century in quarters (retrain.trailing_quarters)
MAX_WORKERS = 256  # the most worker processes `leadscore serve` starts (serving.workers, --workers)


class SplitConfig(_Strict):
    """How closed deals are divided into train, validation (early stopping + calibration) and test windows.

    out_of_time: rows ordered by snapshot time; the oldest go to train, the next `valid_fraction` of rows to
    validation, the most recent `test_fraction` to test. `valid_start` and `test_start`, when given, fix the
    window boundaries instead of the fractions (train < valid_start <= valid < test_start <= test).
    grouped_random: for data without dates; whole accounts are drawn at random into each window.
    """

    method: Literal["out_of_time", "grouped_random"] = "out_of_time"
    valid_fraction: float = Field(default=0.15, gt=0, lt=1)
    test_fraction: float = Field(default=0.15, gt=0, lt=1)
    valid_start: datetime | None = None
    test_start: datetime | None = None
    # Out of time on CRM tables: true, the tested model (the one the gate and the card measure) learns only
    # the deals known on the test window's first day, closed before it and created model.maturity_days
    # before it, as `leadscore train` run that day would have (its figures then equal `evaluate
    # --out-of-time`'s). false (default): it learns every deal before the test window, outcomes that came
    # later included, and the card says how many; on a drifting market its figures flatter it, but the gate,
    # which compares it with a champion that learnt the same way, keeps its power (benchmarks/RESULTS.md,
    # "The tested model learns only what was known"). The model that ships learns every deal either way.
    known_at_test_start: bool = False  # out_of_time only (refused with grouped_random, which has no such day)
    # How old a deal must be on the test window's first day to be learnt by the tested model; None: model.
    # maturity_days. `leadscore retrain` sets it, as it applies the maturity rule itself (maturity_days 0).
    known_maturity_days: int | None = Field(default=None, ge=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _consistent(self) -> SplitConfig:
        if self.valid_fraction + self.test_fraction >= 1:
            raise ValueError("valid_fraction + test_fraction must leave some rows for training (sum < 1)")
        if (self.valid_start is None) != (self.test_start is None):
            raise ValueError("give both valid_start and test_start, or neither")
        if self.known_at_test_start and self.method == "grouped_random":  # it was ignored without a word
            raise ValueError(
                "known_at_test_start needs method out_of_time: a grouped_random test window has no first day "
                "by which deals are known; set known_at_test_start false or method out_of_time"
            )
        if (
            self.valid_start is not None
            and self.test_start is not None
            and self.valid_start >= self.test_start
        ):
            raise ValueError("valid_start must be earlier than test_start")
        return self


def known_maturity_setting(cfg: ModelConfig) -> str:
    """The setting known_maturity read, to name in a sentence."""
    return (
        "model.maturity_days" if cfg.split.known_maturity_days is None else "model.split.known_maturity_days"
    )


def known_maturity(cfg: ModelConfig) -> int:
    """The days a deal must be old on the test window's first day for the tested model to learn it."""
    chosen = cfg.split.known_maturity_days
    return cfg.maturity_days if chosen is None else chosen


class LightGBMConfig(_Strict):
    """LightGBM parameters. No class weights on purpose: reweighting distorts the probabilities."""

    learning_rate: float = Field(default=0.05, gt=0)
    # small trees: lead data is wide and shallow; measured in benchmarks/. At most LightGBM's own limit (more
    # ended training in its traceback).
    num_leaves: int = Field(7, ge=2, le=131_072)
    max_depth: int = -1
    min_child_samples: int = Field(100, ge=1)
    n_estimators: int = Field(default=2000, ge=1)  # upper bound; early stopping picks the number of trees
    # Rounds without a better mean held-out log loss over the selection folds before boosting stops (the mean
    # of several folds is smoother than one window's curve, so fewer rounds of patience suffice).
    early_stopping_rounds: int = Field(default=50, ge=1)
    feature_fraction: float = Field(default=0.8, gt=0, le=1)
    bagging_fraction: float = Field(default=0.8, gt=0, le=1)
    bagging_freq: int = Field(default=1, ge=0)
    lambda_l1: float = Field(default=0.0, ge=0)
    lambda_l2: float = Field(default=1.0, ge=0)
    min_data_per_group: int = Field(default=50, ge=1)  # rows a category needs to get its own split
    cat_smooth: float = Field(default=10.0, ge=0)
    max_bin: int = Field(default=255, ge=2)
    deterministic: bool = True
    # At most 4,096, beyond any machine's cores: LightGBM crashed the process (segmentation fault) at 1,000,000.
    num_threads: int = Field(default=2, ge=1, le=4096)
    # Training on fewer rows than this uses one thread: on small data LightGBM's per-tree thread start-up costs
    # more than the threads save (measured: 150 trees on 5,922 demo rows took 0.9 s on one thread and 20-54 s
    # on two, on a busy 2-core machine). Scoring still uses num_threads for large inputs.
    single_thread_below_rows: int = Field(default=50_000, ge=0)
    verbosity: int = -1


class PointsConfig(_Strict):
    """The hand-made points model sales teams use, as a baseline.

    Presence-based: each rule adds its points once when it fires, however many times the activity happened
    (a lead with five pricing-page visits gets +15, not +75). That is how most CRM scoring templates work
    and it keeps the score bounded. Activity rules look at the `window_days` window, i.e. the feature column
    `n_{activity}_{window_days}d`:

    | weight          | fires when                                   |
    | --------------- | -------------------------------------------- |
    | demo_request    | n_demo_request_{w}d > 0                      |
    | pricing_page    | n_pricing_page_{w}d > 0                      |
    | case_study      | n_case_study_{w}d > 0                        |
    | blog            | n_blog_{w}d > 0                              |
    | careers_page    | n_careers_page_{w}d > 0                      |
    | c_level         | seniority == "c_level"                       |
    | free_email      | email_domain_type == "free"                  |
    | competitor      | email_domain_type == "competitor"            |
    | unsubscribe     | unsubscribed is true (any time before)       |
    | inactive_60d    | inactive_60d is true                         |
    """

    demo_request: float = 30.0
    pricing_page: float = 15.0
    case_study: float = 10.0
    blog: float = 5.0
    c_level: float = 20.0
    careers_page: float = -10.0
    free_email: float = -5.0
    unsubscribe: float = -25.0
    competitor: float = -50.0
    inactive_60d: float = -15.0
    window_days: int = Field(default=90, ge=1)


class GradeConfig(_Strict):
    """Grades A-D by share of leads, cut points frozen on the calibrated scores of the most recent labelled
    rows (the calibration rows: the latest selection folds' held-out blocks, scored out of fold).

    A = the top `a_share` of leads, B the next `b_share`, C the next `c_share`, D the rest.
    """

    a_share: float = Field(default=0.10, gt=0, lt=1)
    b_share: float = Field(default=0.20, gt=0, lt=1)
    c_share: float = Field(default=0.30, gt=0, lt=1)

    @model_validator(mode="after")
    def _leaves_room_for_d(self) -> GradeConfig:
        if self.a_share + self.b_share + self.c_share >= 1:
            raise ValueError("a_share + b_share + c_share must be below 1 (grade D takes the rest)")
        return self

    def shares(self) -> dict[str, float]:
        return {"A": self.a_share, "B": self.b_share, "C": self.c_share}


Contender = Literal["lightgbm", "linear_lightgbm", "blend"]
CONTENDERS: tuple[Contender, ...] = ("lightgbm", "linear_lightgbm", "blend")


class SelectionConfig(_Strict):
    """How the model is chosen inside the learning window (train + validation; the test window is never read).

    The learning rows are cut into `folds` expanding-window folds by snapshot time (each fold trains on all
    rows before its held-out block), or into grouped stratified folds when the rows have no time order. The
    number of trees and the contender are the ones with the lowest mean out-of-fold log loss; the final model
    is refitted on every learning row with them.
    contenders: "lightgbm" (plain boosted trees), "linear_lightgbm" (trees boosted from a regularised
    logistic regression's log-odds, which can extrapolate a trend the trees cannot) and "blend" (w * plain
    trees + (1 - w) * that logistic regression, w on a grid by the same out-of-fold log loss).
    Training stops with "no learnable signal" when the `signal_confidence` bootstrap interval of the
    out-of-fold AUC includes 0.5, the AUC is below `min_auc`, or the calibration map on the latest window
    falls as the score rises (`check_signal: false` turns all three off; the promotion gate still judges).
    That AUC scores each fold with the contender, tree count and blend weight chosen on the other folds, and
    its interval is widened by sqrt(2) when the folds are k-fold (rows without a time order: each fold's
    model learnt from the other folds' held-out rows, so their AUCs rise and fall together). Chosen on the
    folds that measure, the best of several lifts the AUC of data without signal: the check let 10 % of
    label-independent CRM histories of 600-1,200 rows through, and 12 % of untimed frames of 600 rows; now
    2-5 % at every size from 300 to 3,000 rows (60 seeds each). `min_auc` is on the chosen model's own AUC.
    """

    folds: int = Field(default=3, ge=2)
    contenders: list[Contender] = Field(default_factory=lambda: list(CONTENDERS), min_length=1)
    # Inverse L2 strengths tried for the logistic regression of "linear_lightgbm" and "blend" (on
    # standardised inputs); the one with the lowest out-of-fold log loss of its own is used.
    linear_c: list[float] = Field(default_factory=lambda: [0.1, 1.0], min_length=1)
    # Its categorical levels with fewer training rows are pooled. Lower than the baseline's
    # (logistic_min_frequency): the L2 penalty shrinks a rare level's own column, and a long tail of levels
    # (landing pages, campaigns) carries signal that pooling loses: +0.004 AUC over 20 seeds of the
    # landing-page funnel (benchmarks/RESULTS.md), the CRM histories and X Education unchanged.
    linear_min_frequency: int = Field(default=5, ge=1)
    check_signal: bool = True
    signal_confidence: float = Field(default=0.95, gt=0, lt=1)
    # ... and when that AUC itself is below this: a model ranking leads this weakly is of no use anyway.
    min_auc: float = Field(default=0.55, ge=0.5, lt=1)


class DriftConfig(_Strict):
    """The adversarial check: can a feature alone tell the most recent labelled window from the older rows?

    A feature whose AUC at that (e.g. an absolute date or month, a macro series that trends) reaches
    `adversarial_auc` identifies time rather than the lead. Unless listed in `keep`: a category is dropped
    from the model (its newest levels were never seen before); a number is dropped too with
    `numbers: drop`, and with `numbers: linear` (the default) only the linear part of the model reads it:
    trees learn a trending number as "which period was this" and cannot extrapolate it beyond the training
    range, while the linear part can. Then only the trees boosted from the linear part (linear_lightgbm) compete
    when configured: plain trees cannot read such a number and a blend may weigh it down to nothing, and the
    selection folds cannot see the cost (each fold's linear part was fitted before the number moved).
    With `calibrate_final_reading` (the default), the calibration rows' out-of-fold scores read those numbers
    as the final linear part does, not as their fold's did: a fold fitted before the numbers moved did not
    learn what they do, so its scores lag the level that the final model, fitted on every row, already
    reaches, and a calibrator fitted on them would add the lag again. The trade: where a number moves
    steadily through the whole history, the folds had learnt it too, and their extrapolating reading was
    the closer stand-in for the final model's on new leads (benchmarks/RESULTS.md, "Macro drift").
    A month of the year in `keep` is kept only when the learning rows cover the year, each month with at
    least `season_min_rows_per_month` rows; in a shorter history the months at scoring were never seen and
    the months seen name their period, so it is dropped (never read linearly: a month is a cycle, not a
    trend).
    `enabled: false` skips the check. Data without a time order is not checked.
    """

    enabled: bool = True
    adversarial_auc: float = Field(default=0.8, gt=0.5, le=1)
    keep: list[str] = Field(default_factory=list)
    season_min_rows_per_month: int = Field(default=30, ge=0)
    # A flagged category is kept when at least this share of the newest rows with a value (the newest half of
    # the most recent held-out block) hold a level that `recurring_min_rows` rows of the held-out block before
    # hold too: its levels outlast the half block between (sales reps, of whom some leave and some join), so
    # it names the lead as well as the period. A month, a quarter's campaign, or a month's name (it recurs a
    # year later) is left out as before. 1: every flagged category is left out.
    recurring_share: float = Field(default=0.5, gt=0, le=1)
    recurring_min_rows: int = Field(default=10, ge=1)
    numbers: Literal["linear", "drop"] = "linear"
    calibrate_final_reading: bool = True


class TargetStatsConfig(_Strict):
    """Target statistics (models/target_stats.py): the smoothed win rate of each categorical level appended to
    the trees' matrix as a number, beside the native categorical. Training rows are encoded out of fold
    (`folds` stratified folds), so no row's encoding uses its own label; inside model selection each fold
    fits them on its own fitted rows only. `smoothing` pulls a level's rate towards the overall win rate by
    that many rows. `max_pairs` > 0 also encodes pairs of categorical features with 3 to `pair_max_levels`
    levels each (in feature order): off by default, it won on X Education and lost on the drift scenarios
    out of time (benchmarks/RESULTS.md, "Target statistics").
    """

    enabled: bool = True
    smoothing: float = Field(default=10.0, ge=0)
    folds: int = Field(default=5, ge=2)
    pair_max_levels: int = Field(default=10, ge=3)
    max_pairs: int = Field(default=0, ge=0)


MIN_BOOTSTRAP_ROUNDS = 20  # model.bootstrap_rounds: 0 (off), or at least this many


class ModelConfig(_Strict):
    """Everything the conversion model training and evaluation need besides the data."""

    seed: int = Field(default=42, ge=0, lt=2**32)  # numpy and scikit-learn take 0 .. 2**32 - 1
    split: SplitConfig = Field(default_factory=SplitConfig)
    # Minimum won and lost deals in the learning window, training and validation (Dynamics 365 asks for 40 of each).
    min_won: int = Field(default=40, ge=1)
    min_lost: int = Field(default=40, ge=1)
    # Deals created in the last `maturity_days` of the history are left out: only the quick ones have closed
    # yet, and the quick ones are mostly losses, so keeping them biases the test window's base rate.
    maturity_days: int = Field(120, ge=0, le=MAX_DAYS)
    # A flat export has no close date, only each row's label on the day it was taken: where it holds open rows,
    # its newest labelled rows are the quick outcomes (mostly lost). Its labelled rows younger than this many
    # days (before its newest row) are left out of training and testing: "auto" measures the age from the open
    # share by creation month (features/outcome_maturity.py), a number fixes it, 0 switches it off. An export
    # without open rows (every outcome known) or without a timestamp_column loses no row under "auto".
    export_maturity_days: int | Literal["auto"] = "auto"
    # "auto": the youngest age from which every older creation month has at most this share more of its leads
    # open than the oldest months (the win rate measured there misses at most that share of its rows).
    export_max_open_share: float = Field(0.02, gt=0, lt=1)
    # ... give or take this many standard errors of a month's open share around the oldest months' (leads a
    # CRM never closes: a quarter of 100 leads reads 0.20 or 0.30 by chance, which is no maturity).
    export_open_share_z: float = Field(3.0, ge=0)
    # Training stops (exit 5) when more than this share of a table's rows broke a rule of the data contract:
    # a model would learn from what a broken feed left, and be promoted with exit 0.
    max_quarantine_share: float = Field(0.05, ge=0, le=1)
    # A flat export's fit or intent column that alone tells won from lost this well (single-column AUC, leak
    # audit) is the outcome in disguise: training refuses it (exit 3) until the spec lists it in leaky_columns;
    # None switches the check off.
    leak_auc: float | None = Field(default=0.99, gt=0.5, le=1)
    # Won and lost deals needed in the calibration rows (the newest held-out blocks of the selection folds,
    # model.calibration_min_rows at least), where the calibrator and the grade cut-offs are fitted.
    min_valid_per_class: int = Field(default=10, ge=1)
    # After the test window is scored, the model that ships is trained again the same way on every usable
    # deal, the test window included; the card's and the gate's numbers stay those of the tested model.
    # Without it the shipped model never learns from its newest deals, and scores leads a test window later
    # than what it knows (benchmarks/RESULTS.md, "The shipped model learns the test window"). false: the
    # tested model ships.
    refit_on_test_window: bool = True
    lightgbm: LightGBMConfig = Field(default_factory=LightGBMConfig)
    calibration: Literal["auto", "isotonic", "sigmoid", "none"] = "auto"
    # "auto" picks isotonic or sigmoid by the Brier score of a cross-validation inside the calibration rows.
    # The calibrator is fitted on the most recent out-of-fold block of the time-ordered selection folds, and
    # on the next older blocks too until they hold this many rows: a map fitted on a few hundred recent rows
    # is noisier than the level moves (measured on the drift scenarios: benchmarks/RESULTS.md, "Backtests").
    calibration_min_rows: int = Field(default=1000, ge=0)
    calibration_cv_folds: int = Field(default=5, ge=2)
    # ... on at least this many calibration rows; on fewer, "auto" is sigmoid. Isotonic on the few hundred
    # rows of a recent window overfits: always sigmoid there lowered the out-of-time log loss of every drift
    # scenario where the choice differed (benchmarks/RESULTS.md, "Backtests").
    calibration_isotonic_min_rows: int = Field(default=1000, ge=0)
    # The isotonic map's lowest and highest steps hold at least this many rows (pooled with their
    # neighbours): an end step of a few rows sits at 0 or 1, and every lead scored beyond the calibrated range
    # (a macro series or count out of its training range) would get that certainty.
    calibration_isotonic_end_rows: int = Field(default=30, ge=0)
    # Base-rate tracking (models.calibration_trend): a drift of the win rate measured out of fold on the
    # time-ordered folds is extrapolated to the first day of scoring (maturity_days after the newest deal)
    # when its slope is at least this many standard errors from 0; None switches it off.
    calibration_trend_min_z: float | None = Field(default=3.0, gt=0)
    # Resamples of the test window (the card's and the console's intervals) and of the selection folds (the
    # signal check's interval). 0 switches the intervals off, for speed: the signal check then reads the
    # out-of-fold AUC alone, and the card and the console say so. 1 to 19 is refused: a 95 % interval's ends
    # are then the few extreme resamples drawn (1 round: one resample, which need not hold the AUC itself).
    bootstrap_rounds: int = Field(default=200, ge=0)
    # Score bands of the expected calibration error (and the gate's ECE check). At most 100, bands of a point:
    # narrower ones hold a lead or two each, and the ECE measures each lead's distance from 0 or 1 (10,000
    # bands read "calibrated to within 41 points" for a model within 7 points on 10 bands).
    ece_bins: int = Field(default=10, ge=1, le=100)
    points: PointsConfig = Field(default_factory=PointsConfig)
    grades: GradeConfig = Field(default_factory=GradeConfig)
    segment_min_rows: int = Field(default=100, ge=1)  # segments with fewer rows get counts but no metrics
    # The card lists this many values of a segment column, the largest, and pools the rest in one row: a B2C
    # lead source of 13,811 values made a 3 MB card nobody reads.
    segment_max_values: int = Field(default=20, ge=1)
    logistic_c: float = Field(default=1.0, gt=0)
    logistic_min_frequency: int = Field(default=20, ge=1)  # rarer categories are pooled as "infrequent"
    # Standardised numeric inputs of the linear models are clipped to +-this many standard deviations, so a
    # value far outside the training range cannot blow the log-odds up.
    logistic_clip: float = Field(default=5.0, gt=0)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    drift: DriftConfig = Field(default_factory=DriftConfig)
    target_stats: TargetStatsConfig = Field(default_factory=TargetStatsConfig)

    @field_validator("bootstrap_rounds")
    @classmethod
    def _rounds_or_off(cls, rounds: int) -> int:
        if 0 < rounds < MIN_BOOTSTRAP_ROUNDS:
            raise ValueError(
                f"give 0 (no intervals) or at least {MIN_BOOTSTRAP_ROUNDS} rounds: fewer cannot place a 95 % "
                "interval's ends"
            )
        return rounds

    @field_validator("export_maturity_days", mode="before")
    @classmethod
    def _export_maturity(cls, days: object) -> object:
        """A number of days or "auto": true (YAML's yes, on) read as 1 day before."""
        if isinstance(days, bool):
            raise ValueError('must be "auto" or a number of days, not true or false')
        if isinstance(days, int) and not 0 <= days <= MAX_DAYS:
            raise ValueError(f'must be "auto" or a number of days from 0 (leaves no row out) to {MAX_DAYS:,}')
        return days


BacktestContender = Literal[
    "leadscore",
    "points_model",
    "logistic_regression",
    "hist_gradient_boosting",
    "lightgbm_default",
    "catboost_default",
]
BACKTEST_CONTENDERS: tuple[BacktestContender, ...] = get_args(BacktestContender)


class BacktestConfig(BaseModel):
    """Settings of `leadscore evaluate` (the `evaluate:` section of the run configuration)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # catboost_default only when installed; at least one (none measured nothing, and exited 0)
    contenders: tuple[BacktestContender, ...] = Field(BACKTEST_CONTENDERS, min_length=1)
    valid_fraction: float = Field(
        0.15, gt=0, lt=1
    )  # leadscore's validation share of each fold's training rows
    test_fraction: float = Field(0.2, gt=0, lt=1)  # out of time / rolling: the latest share of rows tested
    baseline_iterations: int | None = Field(None, ge=1)  # None: each library's default number of trees
    min_test_rows_per_class: int = Field(10, ge=1)  # a test fold or window with fewer of a class says nothing

    @field_validator("contenders")
    @classmethod
    def _each_once(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        """A contender listed twice was trained twice per fold and printed twice."""
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"list each contender once ({', '.join(repeated)} is listed more than once)")
        return names
