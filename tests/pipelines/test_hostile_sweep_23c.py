"""Hostile sweep 23c: settings at the edges. Values that pass the configuration's types but sit at the ends of
their range, or that the data cannot support, each answered with what was done, truthfully, or one sentence
naming the setting and its fix with the README's exit code; never a traceback or an empty number.

Classes:
- model.lightgbm.bagging_fraction so small that a selection fold's bagging draws no row (LightGBM's fatal
  check, a traceback with exit 1): exit 4 naming the setting, the smallest fraction that works and
  bagging_freq=0;
- model.target_stats.smoothing 0: a key never fitted got 0 / 0, NaN (numpy's warnings on the console), not
  the prior the docstring promises;
- model.bootstrap_rounds 1 to 19: a "95 % interval" of one resample, which need not hold the AUC; 0 (off):
  empty interval cells on the console, and a card that gave the AUC itself as its interval;
- model.drift.keep naming no feature of the data (a typo): kept nothing, silently;
- features.exclude_features listing every feature: a traceback from scikit-learn (0 features);
- model.split.known_maturity_days said as model.maturity_days in the too-few-known warning;
- model.lightgbm.num_leaves above LightGBM's limit (traceback), num_threads of a million (segmentation fault),
  model.ece_bins of 100,000 ("calibrated to within 41 points"), crm_export.score_scale of 10**21 (overflow);
- known_at_test_start with a grouped_random split, ignored without a word;
- a retrain backtest of one outcome ("AUC nan"), or with no closed lead (left out of the report unsaid);
- model.selection.folds so many that no bootstrap round of the out-of-fold AUC could be measured: refused as
  "no learnable signal (interval nan to nan)";
- evaluate's auc_std column of empty cells for one window;
- the queue's exploration sentence: "off (queue.exploration_share is 0)" when 5 % of a short list rounded to
  none, "1 calls (50% of capacity)" for the only call;
- day counts (maturity, backtest, generate --months, trailing quarters) that reach before pandas' first date;
- a no-signal refusal silent about the features the drift setting left out;
- a version logged with a setting refused since (model.bootstrap_rounds 10) whose card rebuild was a traceback.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from features.synthetic import GeneratorConfig, generate_history
from models.card.data import selection_lines
from models.config import LightGBMConfig, ModelConfig
from models.minimum_data import InsufficientDataError
from models.target_stats import TargetStats, smoothed_rates
from models.train import check_bagging_rows
from pipelines import exit_codes
from pipelines.cli import app
from pipelines.settings import ConfigError, load_config
from pipelines.train import check_model_features, summary_table


@pytest.fixture(scope="module")
def crm_folder(tmp_path_factory):
    """A small CRM history with enough won and lost deals to reach training."""
    folder = tmp_path_factory.mktemp("crm-23c")
    for name, frame in generate_history(GeneratorConfig(accounts=500, months=15, seed=3)).tables().items():
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


def _folds(fit_sizes: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.arange(n), np.arange(n, n + 10)) for n in fit_sizes]


@pytest.mark.parametrize(
    ("fraction", "freq", "refused"),
    [(0.0001, 1, True), (0.009, 1, True), (0.01, 1, False), (0.0001, 0, False), (0.8, 1, False)],
)
def test_a_bagging_fraction_that_draws_no_row_of_a_fold_is_refused_naming_it(fraction, freq, refused):
    cfg = LightGBMConfig(bagging_fraction=fraction, bagging_freq=freq)
    folds = _folds([100, 200, 300])  # the smallest fold fits on 100 rows
    if not refused:
        check_bagging_rows(folds, cfg)
        return
    with pytest.raises(InsufficientDataError, match="model.lightgbm.bagging_fraction") as caught:
        check_bagging_rows(folds, cfg)
    said = str(caught.value)
    assert "of the 100 rows" in said and "bagging_freq=0" in said
    suggested = float(said.split("bagging_fraction to ")[1].split(" ")[0])
    check_bagging_rows(folds, LightGBMConfig(bagging_fraction=suggested))  # the fix it names works


def test_train_with_a_bagging_fraction_too_small_for_the_data_exits_4_not_a_traceback(
    crm_folder, mlflow_store
):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--input",
            str(crm_folder),
            "--set",
            "model.lightgbm.bagging_fraction=0.0001",
            "--set",
            "registry.model_card=false",
        ],
    )
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    assert "model.lightgbm.bagging_fraction=0.0001" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 10.0])
def test_a_key_never_fitted_gets_the_prior_whatever_the_smoothing(smoothing):
    won, rows = np.array([3.0, 0.0, 1.0]), np.array([4, 0, 1])
    with np.errstate(all="raise"):  # 0 / 0 warned on the console
        rates = smoothed_rates(won, rows, prior=0.4, smoothing=smoothing)
    assert rates[1] == 0.4
    with np.errstate(invalid="ignore"):  # the formula's 0 / 0, left out of the comparison
        expected = (won + smoothing * 0.4) / (rows + smoothing)
    np.testing.assert_array_equal(rates[[0, 2]], expected[[0, 2]])


def test_target_stats_without_smoothing_encode_no_nan():
    codes = np.array([[0.0], [0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [1.0]])
    y = np.array([1, 0, 1, 0, 1, 0, 0, 1])
    stats = TargetStats([(0,)], {0: 3}, 1, smoothing=0.0, folds=2, seed=0)
    encoded = stats.fit_transform(codes, y)
    unseen = stats.transform(np.array([[2.0], [np.nan]]))  # a level never fitted, and missing
    assert not np.isnan(encoded).any() and not np.isnan(unseen).any()
    assert unseen.ravel().tolist() == [stats.prior_, stats.prior_]


@pytest.mark.parametrize("rounds", [1, 5, 19])
def test_bootstrap_rounds_too_few_for_an_interval_are_refused_naming_the_setting(rounds):
    with pytest.raises(ValidationError, match="give 0"):
        ModelConfig(bootstrap_rounds=rounds)
    with pytest.raises(ConfigError, match=rf"model.bootstrap_rounds.*found {rounds}"):
        load_config(overrides=[f"model.bootstrap_rounds={rounds}"])


@pytest.mark.parametrize("rounds", [0, 20, 200])
def test_no_rounds_or_enough_rounds_still_load(rounds):
    assert load_config(overrides=[f"model.bootstrap_rounds={rounds}"]).model.bootstrap_rounds == rounds


def test_without_bootstrap_rounds_the_console_shows_no_empty_interval_columns():
    comparison = pd.DataFrame(
        {
            "model": ["model", "points_model"],
            "roc_auc": [0.75, 0.7],
            "roc_auc_low": [np.nan, np.nan],
            "roc_auc_high": [np.nan, np.nan],
            "pr_auc": [0.6, 0.5],
            "brier": [0.2, 0.2],
            "ece": [0.05, 0.06],
            "lift_top10": [1.8, 1.5],
            "capture_top20": [0.3, 0.3],
        }
    )
    table = summary_table(SimpleNamespace(comparison=comparison))
    assert "auc_low" not in table.columns and not table.isna().any().any()
    with_intervals = comparison.assign(roc_auc_low=[0.7, 0.6], roc_auc_high=[0.8, 0.8])
    assert "auc_low" in summary_table(SimpleNamespace(comparison=with_intervals)).columns


@pytest.mark.parametrize(
    ("rounds", "said"), [(0, "no interval: model.bootstrap_rounds was 0"), (20, "0.700 to 0.780")]
)
def test_the_card_gives_no_interval_for_the_out_of_fold_auc_when_none_was_drawn(rounds, said):
    selection = {
        "contenders": {"lightgbm": {"log_loss": 0.6, "trees": 10}},
        "chosen": "lightgbm",
        "folds": "time_ordered",
        "n_folds": 3,
        "oof_auc": 0.74,
        "oof_auc_low": 0.74 if rounds == 0 else 0.70,
        "oof_auc_high": 0.74 if rounds == 0 else 0.78,
        "bootstrap_rounds": rounds,
    }
    assert f"out-of-fold ROC AUC 0.740 ({said})." in selection_lines(selection)[0]


NAMES = ["industry", "lead_source", "n_demo_request_30d"]


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["model.drift.keep=[no_such_feature]"], "model.drift.keep names ['no_such_feature']"),
        (["model.drift.keep=[month_of_year, industy]"], "model.drift.keep names ['industy']"),
    ],
)
def test_a_kept_name_that_is_no_feature_is_refused_naming_the_setting(overrides, said):
    with pytest.raises(ConfigError, match=r"keep nothing") as caught:
        check_model_features(NAMES, load_config(overrides=overrides))
    assert said in str(caught.value)


@pytest.mark.parametrize(
    "overrides",
    [
        [],  # keep: [month_of_year], though these rows have no month
        ["model.drift.keep=[industry]"],
        ["model.drift.enabled=false", "model.drift.keep=[no_such_feature]"],  # keeps nothing either way
    ],
)
def test_kept_features_of_the_data_and_the_month_are_taken(overrides):
    check_model_features(NAMES, load_config(overrides=overrides))


def test_excluding_every_feature_is_refused_naming_the_setting():
    from features.build import FIT_FEATURES, SEASON_FEATURES, intent_feature_names

    cfg = load_config()
    every = [*FIT_FEATURES, *SEASON_FEATURES, *intent_feature_names(cfg.features)]
    cfg = load_config(overrides=[f"features.exclude_features=[{', '.join(every)}]"])
    with pytest.raises(ConfigError, match="features.exclude_features .* leaves the model no feature"):
        check_model_features([], cfg)


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("model.drift.keep=[no_such_feature]", "model.drift.keep names ['no_such_feature']"),
        (
            "features.exclude_features=[{every}]",
            "leaves the model no feature to learn from",
        ),
    ],
)
def test_train_and_evaluate_exit_3_on_features_the_settings_cannot_give(
    crm_folder, mlflow_store, override, said
):
    from features.build import FIT_FEATURES, SEASON_FEATURES, intent_feature_names

    every = [*FIT_FEATURES, *SEASON_FEATURES, *intent_feature_names(load_config().features)]
    override = override.replace("{every}", ", ".join(every))
    for command in (["train"], ["evaluate", "--out-of-time", "--set", "evaluate.contenders=[leadscore]"]):
        result = CliRunner().invoke(app, [*command, "--input", str(crm_folder), "--set", override])
        assert result.exit_code == exit_codes.BAD_INPUT, result.output
        assert said in " ".join(result.output.split())
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        ([], "created 120 days before it, model.maturity_days)"),
        (
            ["model.split.known_maturity_days=10000"],
            "created 10000 days before it, model.split.known_maturity_days)",
        ),
    ],
)
def test_the_too_few_known_warning_names_the_maturity_setting_that_applied(overrides, said):
    """model.split.known_maturity_days=10000 was said as "model.maturity_days", a setting left at 120."""
    from pipelines.train import LEARNT_LATER, TOO_FEW_KNOWN, learnt_later_warning

    split = SimpleNamespace(
        extra={LEARNT_LATER: 514, TOO_FEW_KNOWN: True}, test_start=pd.Timestamp("2026-03-19")
    )
    cfg = load_config(overrides=["model.split.known_at_test_start=true", *overrides])
    assert said in learnt_later_warning(split, cfg)


@pytest.mark.parametrize(
    ("override", "said"),
    [
        ("model.lightgbm.num_leaves=200000", "less than or equal to 131072"),  # LightGBM's traceback
        ("model.lightgbm.num_threads=1000000", "less than or equal to 4096"),  # a segmentation fault
        ("model.ece_bins=100000", "less than or equal to 100"),  # "calibrated to within 41 points", not 7
        ("crm_export.score_scale=1000000000000000000000", "less than or equal to 1000000"),  # int64 overflow
    ],
)
def test_settings_beyond_what_can_run_or_mean_anything_are_refused_naming_them(override, said):
    with pytest.raises(ConfigError, match=rf"--set {override}: setting {override.split('=')[0]}: .*{said}"):
        load_config(overrides=[override])


@pytest.mark.parametrize(
    ("won", "said"),
    [
        (0, "AUC not measurable: 3 closed leads, one outcome (all lost)"),
        (3, "AUC not measurable: 3 closed leads, one outcome (all won)"),
    ],
)
def test_a_backtest_of_one_outcome_says_why_it_has_no_auc_not_nan(won, said):
    """retrain.backtest_days=1: the few leads that closed the day before --as-of, all lost, read "AUC nan"."""
    from models.monitoring import backtest_of
    from pipelines.retrain_report import backtest_sentence

    scores = pd.DataFrame({"lead_id": ["a", "b", "c"], "grade": ["A", "C", "D"], "score": [0.8, 0.4, 0.1]})
    deals = pd.DataFrame(
        {
            "lead_id": ["a", "b", "c"],
            "closed_at": ["2026-09-30"] * 3,
            "outcome": ["won" if won else "lost"] * 3,
        }
    )
    backtest = backtest_of(scores, deals, pd.Timestamp("2026-09-30"), pd.Timestamp("2026-10-01"), "1")
    sentence = backtest_sentence(backtest)
    assert said in sentence and "nan" not in sentence


def test_no_backtest_is_said_naming_the_setting_not_left_out():
    """retrain.backtest_days=100000 (1752): no lead was open, and the report's Backtest section was simply
    missing while a warning spoke of leads open then that the champion had learnt."""
    from pipelines.retrain import no_backtest_sentence

    said = no_backtest_sentence("1", pd.Timestamp("1752-12-16"), pd.Timestamp("2026-10-01"), 100_000)
    assert "retrain.backtest_days=100000" in said and "1752-12-16" in said and "2026-10-01" in said


def test_known_at_test_start_with_a_random_split_is_refused_not_ignored():
    """A grouped_random split has no test window's first day: the setting was ignored, the card silent."""
    overrides = ["model.split.method=grouped_random", "model.split.known_at_test_start=true"]
    with pytest.raises(
        ConfigError,
        match=r"--set model.split.method=grouped_random: setting model.split: known_at_test_start needs method "
        "out_of_time",
    ):
        load_config(overrides=overrides)
    assert load_config(overrides=overrides[:1]).model.split.method == "grouped_random"


def test_folds_too_many_to_resample_are_refused_naming_the_setting_not_as_no_signal(crm_folder, mlflow_store):
    """model.selection.folds=150: held-out blocks of a few rows, every bootstrap round NaN, and a model of
    AUC 0.7 refused as "no learnable signal ... interval nan to nan, which includes 0.5" (numpy's warning)."""
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--input",
            str(crm_folder),
            "--set",
            "model.selection.folds=150",
            "--set",
            "registry.model_card=false",
        ],
    )
    said = " ".join(result.output.split())
    assert result.exit_code == exit_codes.NOT_ENOUGH_DATA, result.output
    assert "model.selection.folds=150" in said and "Lower model.selection.folds" in said
    assert "nan" not in said and "no learnable signal" not in said and "RuntimeWarning" not in said


def test_the_card_says_when_the_out_of_fold_auc_could_not_be_resampled():
    selection = {
        "contenders": {"lightgbm": {"log_loss": 0.6, "trees": 10}},
        "chosen": "lightgbm",
        "folds": "time_ordered",
        "n_folds": 3,
        "oof_auc": 0.74,
        "oof_auc_low": float("nan"),
        "oof_auc_high": float("nan"),
        "bootstrap_rounds": 200,
    }
    line = selection_lines(selection)[0]
    assert "nan" not in line and "too small to resample" in line


def test_evaluate_prints_no_empty_spread_column_for_one_window():
    """--out-of-time (one window): the auc_std column was a column of empty cells."""
    from pipelines.evaluate import shown_means

    one = pd.DataFrame(
        {"contender": ["leadscore"], "roc_auc": [0.76], "auc_std": [float("nan")], "folds": [1]}
    )
    assert "auc_std" not in shown_means(one).columns
    several = one.assign(auc_std=[0.02], folds=[3])
    assert shown_means(several)["auc_std"].tolist() == [0.02]


@pytest.mark.parametrize(
    ("per_rep", "share", "said"),
    [
        (
            2,
            0.05,
            "No call explores: queue.exploration_share 0.05 of 2 calls rounds to none (it takes 10 calls",
        ),
        (
            3,
            0.0001,
            "No call explores: queue.exploration_share 0.0001 of 3 calls rounds to none (it takes 5,000",
        ),
        (1, 0.5, "1 of the 1 calls (100%; queue.exploration_share 0.5) go to leads drawn at random"),
        (10, 0.1, "1 of the 10 calls (10%; queue.exploration_share 0.1) go to leads drawn at random"),
        (10, 0.0, "Exploration is off (queue.exploration_share is 0)"),
    ],
)
def test_the_queue_says_how_many_calls_explore_not_the_share_asked(per_rep, share, said):
    """The default share on a list of 2 calls read "Exploration is off (queue.exploration_share is 0)", and
    the one call of a 1-call list drawn at random read "1 calls (50% of capacity)"."""
    from models.queue import Capacity, QueueConfig, plan_calls
    from pipelines.queue import plan_sentences
    from tests.models.test_queue import score_table

    cfg = QueueConfig(exploration_share=share)
    plan = plan_calls(score_table(), Capacity(reps=1, per_rep=per_rep), cfg)
    assert said in " ".join(plan_sentences(plan, cfg, today=pd.Timestamp("2026-10-01")))


@pytest.mark.parametrize(
    "override",
    [
        "model.maturity_days=1000000",
        "model.split.known_maturity_days=1000000",
        "model.export_maturity_days=1000000",
        "retrain.backtest_days=1000000",
        "retrain.trailing_quarters=5000",  # a training window from the year 775
    ],
)
def test_day_counts_beyond_a_century_are_refused_naming_the_setting(override):
    """A million days put dates before pandas' first (1677): train and retrain ended in its traceback."""
    setting = override.split("=")[0]
    century, said = (400, "400") if "quarters" in setting else (36500, "36,?500")
    with pytest.raises(ConfigError, match=rf"--set {override}: setting {setting}: .*{said}"):
        load_config(overrides=[override])
    assert load_config(overrides=[f"{setting}={century}"])  # a century still reads


def test_generate_with_months_beyond_a_century_is_a_bad_command_line(tmp_path):
    result = CliRunner().invoke(
        app, ["generate", "--accounts", "5", "--months", "100000", "--out", str(tmp_path)]
    )
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "--months" in result.output and "Traceback" not in result.output


def test_retrain_backtest_days_option_beyond_a_century_is_a_bad_command_line(tmp_path):
    result = CliRunner().invoke(
        app,
        ["retrain", "--input", str(tmp_path), "--as-of", "2026-10-01", "--backtest-days", "1000000"],
    )
    assert result.exit_code == exit_codes.USAGE, result.output
    assert "--backtest-days" in result.output and "36500" in result.output


@pytest.mark.parametrize(
    ("dropped", "said"),
    [
        (
            ["industry", "lead_age_days"],
            "The drift check left out 2 of the 3 features as time-identifying "
            "(model.drift.adversarial_auc 0.51): raise it, or list features in model.drift.keep",
        ),
        ([], ""),
    ],
)
def test_a_refusal_for_no_signal_names_the_features_the_drift_setting_left_out(dropped, said):
    """model.drift.adversarial_auc=0.51 left out 36 of 54 features and the refusal said only to check the
    labels and the features."""
    from models.train import drift_note

    drift = {"checked": True, "threshold": 0.51, "dropped": dropped, "linear_only": []}
    note = drift_note(drift, ["industry", "lead_age_days", "seniority"])
    assert said in note and bool(note) == bool(said)


def test_a_version_logged_with_a_setting_refused_since_rebuilds_its_card_at_the_default_and_says_so():
    """A run logged with model.bootstrap_rounds=10 (accepted then, refused since sweep 23c) ended `leadscore
    card` in pydantic's traceback (exit 1). The setting is read at its default and named for the card; a
    combination refused since (known_at_test_start with grouped_random) is one sentence naming the run."""
    from pipelines.card_rebuild import config_as_logged
    from pipelines.io import InputError

    logged = load_config(None).model_dump(mode="json")
    logged["model"]["bootstrap_rounds"] = 10
    cfg, reset = config_as_logged(logged, "run-1")
    assert reset == ["model.bootstrap_rounds=10"]
    assert cfg.model.bootstrap_rounds == load_config(None).model.bootstrap_rounds
    assert config_as_logged(load_config(None).model_dump(mode="json"), "run-1")[1] == []

    both = load_config(None).model_dump(mode="json")
    both["model"]["split"] |= {"method": "grouped_random", "known_at_test_start": True}
    with pytest.raises(InputError, match="the run run-2 was trained with settings this version of leadscore"):
        config_as_logged(both, "run-2")
