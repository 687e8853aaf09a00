"""Time-robust training: folds inside the learning window, the linear contender, the drift check, monotone
calibration and the no-signal refusal (issue 17, item 2)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from models.adversarial import adversarial_auc, time_identifying
from models.baselines import fit_logistic_regression
from models.card.data import selection_lines
from models.config import DriftConfig, SelectionConfig
from models.linear import fit_linear_score
from models.minimum_data import InsufficientDataError, NoSignalError
from models.selection import grouped_folds, time_ordered_folds
from models.splits import Split, grouped_random_split, out_of_time_split
from models.train import final_reading_shift, fit_calibrator, train_conversion_model


@pytest.fixture(scope="module")
def split(leads):
    return out_of_time_split(leads.frame["snapshot_at"], 0.15, 0.15)


def _train(leads, split, cfg, frame=None, y=None, features=None):
    return train_conversion_model(
        leads.frame if frame is None else frame,
        leads.y if y is None else y,
        leads.features if features is None else features,
        leads.categorical,
        split,
        cfg,
    )


def test_time_ordered_folds_expand_and_hold_out_newer_rows():
    times = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.repeat(np.arange(100), 10), unit="D")
    folds = time_ordered_folds(pd.Series(times).sample(frac=1, random_state=0).to_numpy(), 3)
    assert len(folds) == 3
    shuffled = pd.Series(times).sample(frac=1, random_state=0).to_numpy()
    previous_end = None
    for fit, held in folds:
        assert len(np.intersect1d(fit, held)) == 0
        assert shuffled[fit].max() < shuffled[held].min()  # fit on the past, hold out the future
        if previous_end is not None:
            assert shuffled[held].min() > previous_end  # blocks follow one another
        previous_end = shuffled[held].max()
    assert [len(fit) for fit, _ in folds] == [400, 600, 800]
    assert shuffled[folds[-1][1]].max() == shuffled.max()


def test_grouped_folds_keep_groups_together():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 60, size=600).astype(str)
    y = rng.integers(0, 2, size=600)
    for fit, held in grouped_folds(y, groups, 3, seed=1):
        assert not set(groups[fit]) & set(groups[held])


def test_choices_never_read_the_test_rows(leads, split, small_config):
    """Garbling the test window's labels and features changes nothing the training chose or learnt."""
    frame, y = leads.frame.copy(), leads.y.copy()
    rng = np.random.default_rng(3)
    test_rows = frame.index[split.test]
    for name in leads.features:
        frame.loc[test_rows, name] = frame.loc[test_rows, name].to_numpy()[rng.permutation(len(test_rows))]
    frame.loc[test_rows, "employee_count"] = 1e9  # would be flagged by the drift check if it were read
    y[split.test] = 1 - y[split.test]
    honest = _train(leads, split, small_config)
    garbled = _train(leads, split, small_config, frame=frame, y=y)
    assert garbled.selection == honest.selection
    assert garbled.feature_names == honest.feature_names
    learning = leads.frame.iloc[np.r_[split.train, split.valid]]
    np.testing.assert_array_equal(garbled.predict_raw(learning), honest.predict_raw(learning))
    assert garbled.grade_thresholds == honest.grade_thresholds


def test_selection_is_recorded_and_refits_on_the_learning_window(leads, split, small_config):
    model = _train(leads, split, small_config)
    sel = model.selection
    assert sel["folds"] == "time_ordered" and sel["n_folds"] == 3
    assert set(sel["contenders"]) == {"lightgbm", "linear_lightgbm", "blend"}
    assert 0 <= sel["contenders"]["blend"]["tree_weight"] <= 1
    chosen = sel["contenders"][sel["chosen"]]
    assert chosen["log_loss"] == min(c["log_loss"] for c in sel["contenders"].values())
    assert model.best_iteration == chosen["trees"] == model.booster.current_iteration()
    assert (model.linear is not None) == (sel["chosen"] in ("linear_lightgbm", "blend"))
    assert 0.5 < sel["oof_auc_low"] <= sel["oof_auc"] <= sel["oof_auc_high"]
    assert sum(held for _, held in sel["fold_rows"]) < len(split.train) + len(split.valid)
    assert sel["fold_rows"][-1][0] + sel["fold_rows"][-1][1] == len(split.train) + len(split.valid)


def test_linear_contender_contributions_add_up_to_the_raw_score(leads, split, small_config, fresh_leads):
    cfg = small_config.model_copy(update={"selection": SelectionConfig(contenders=["linear_lightgbm"])})
    model = _train(leads, split, cfg)
    assert model.linear is not None and model.selection["chosen"] == "linear_lightgbm"
    rows = fresh_leads.frame.iloc[:300].copy()
    rows.loc[rows.index[:20], "industry"] = "never seen in training"
    rows.loc[rows.index[20:40], "employee_count"] = np.nan
    rows.loc[rows.index[40:60], "employee_count"] = 1e12  # far outside the training range
    contributions = model.contributions(rows)
    assert list(contributions.columns) == [*model.feature_names, "bias"]
    np.testing.assert_allclose(contributions.sum(axis=1), model.predict_raw(rows), atol=1e-9)
    np.testing.assert_allclose(model.predict_raw(rows.iloc[[5]]), model.predict_raw(rows)[[5]], atol=1e-12)
    # The linear part is additive by feature: changing one feature moves only its own contribution.
    changed = rows.copy()
    changed["n_demo_request_90d"] = changed["n_demo_request_90d"] + 3
    delta = model.linear.contributions(model.encoded(changed)) - model.linear.contributions(
        model.encoded(rows)
    )
    moved = np.flatnonzero(np.abs(delta).max(axis=0) > 0)
    assert [model.feature_names[j] for j in moved] == ["n_demo_request_90d"]
    # Demo requests raise the chance of winning in the synthetic mechanism: the linear part learnt that.
    assert (delta[:, moved[0]] > 0).all()
    assert np.isfinite(model.predict_proba(rows)).all()


def test_a_trending_category_is_dropped_and_a_trending_number_is_left_to_the_linear_part(
    leads, split, small_config
):
    frame = leads.frame.copy()
    days = (frame["snapshot_at"] - frame["snapshot_at"].min()).dt.days.to_numpy()
    frame["macro_index"] = 100 + 0.05 * days + np.random.default_rng(0).normal(0, 1, len(frame))
    frame["created_month"] = frame["snapshot_at"].dt.strftime("%Y-%m").astype("str")
    features = [*leads.features, "macro_index"]
    model = train_conversion_model(
        frame,
        leads.y,
        [*features, "created_month"],
        [*leads.categorical, "created_month"],
        split,
        small_config,
    )
    drift = model.selection["drift"]
    assert drift["checked"] and drift["dropped"] == ["created_month"]
    assert drift["linear_only"] == ["macro_index"] == model.linear_only
    # only the trees boosted from the linear part compete: plain trees would not read the series at all
    assert list(model.selection["contenders"]) == ["linear_lightgbm"] == drift["contenders"]["kept"]
    assert model.selection["chosen"] == "linear_lightgbm" and model.linear is not None
    assert drift["auc"]["macro_index"] > 0.95 and drift["auc"]["created_month"] > 0.95
    assert "created_month" not in model.feature_names and "macro_index" in model.feature_names
    card = " ".join(selection_lines(model.selection))
    assert "Time-identifying numbers read by the linear part only" in card and "macro index" in card
    assert "only the trees boosted from the linear part competed" in card
    assert "Left out as time-identifying" in card and "created month" in card
    position = model.feature_names.index("macro_index")
    assert model.booster.feature_importance("split")[position] == 0  # the trees never split on it
    assert model.predict_raw(frame.iloc[split.test]).shape == (len(split.test),)

    dropping = small_config.model_copy(update={"drift": DriftConfig(numbers="drop")})
    dropped = train_conversion_model(frame, leads.y, features, leads.categorical, split, dropping)
    assert dropped.selection["drift"]["dropped"] == ["macro_index"] and not dropped.linear_only
    assert "macro_index" not in dropped.feature_names
    assert set(dropped.feature_names) == set(leads.features)  # the lead's own features are not flagged
    keep = small_config.model_copy(update={"drift": DriftConfig(keep=["macro_index"])})
    kept = train_conversion_model(frame, leads.y, features, leads.categorical, split, keep)
    assert "macro_index" in kept.feature_names and kept.selection["drift"]["kept"] == ["macro_index"]
    assert not kept.linear_only
    off = small_config.model_copy(update={"drift": DriftConfig(enabled=False)})
    unchecked = train_conversion_model(frame, leads.y, features, leads.categorical, split, off)
    assert "macro_index" in unchecked.feature_names and not unchecked.selection["drift"]["checked"]


def _rate_history(leads, falls_from: int = 300):
    """The leads with a "rate" series that falls out of its training range from day `falls_from` of the
    history on, the win rate rising as it falls; the labels, the split and the features."""
    frame = leads.frame.copy()
    rng = np.random.default_rng(5)
    days = (frame["snapshot_at"] - frame["snapshot_at"].min()).dt.days.to_numpy()
    fall = np.clip((days - falls_from) / (730 - falls_from), 0, 1)
    frame["rate"] = 5.0 - 4.0 * fall + rng.normal(0, 0.3, len(frame))
    logit = np.log(leads.true_p / (1 - leads.true_p)) - 1.0 - 0.6 * (frame["rate"].to_numpy() - 5.0)
    y = (rng.random(len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    split = out_of_time_split(frame["snapshot_at"], 0.15, 0.15)
    return frame, y, split, [*leads.features, "rate"]


def _fit_rate_history(leads, small_config, falls_from: int = 300, **drift):
    frame, y, split, features = _rate_history(leads, falls_from)
    cfg = small_config.model_copy(update={"drift": DriftConfig(**drift)})
    model = train_conversion_model(frame, y, features, leads.categorical, split, cfg)
    return model, model.predict_proba(frame.iloc[split.test]), y[split.test]


def test_a_macro_series_that_leaves_its_range_still_ranks_and_levels_the_newest_leads(leads, small_config):
    """The win rate follows a macro series that trends out of its training range (as interest rates do):
    read by the linear part it carries the newest leads' level and order; dropped, it cannot."""
    frame, y, split, _ = _rate_history(leads)
    # The rate falls steadily from day 300: the selection folds learnt its slope, and their own reading is
    # the calibration input here (with the final reading, log loss 0.651 against 0.633: the trade named in
    # DriftConfig; the bank-like benchmarks, where it moves late, gain).
    linear, p_linear, _ = _fit_rate_history(leads, small_config, calibrate_final_reading=False)
    dropped, p_dropped, _ = _fit_rate_history(leads, small_config, numbers="drop")
    assert linear.linear_only == ["rate"] and linear.linear is not None
    y_test = y[split.test]
    assert roc_auc_score(y_test, p_linear) > roc_auc_score(y_test, p_dropped) + 0.01
    assert log_loss(y_test, p_linear) < log_loss(y_test, p_dropped)
    assert abs(p_linear.mean() - y_test.mean()) < abs(p_dropped.mean() - y_test.mean())
    # each lead's reasons still add up: the series' share is the linear part's alone
    contributions = linear.contribution_values(frame.iloc[split.test])
    assert np.allclose(contributions.sum(axis=1), linear.predict_raw(frame.iloc[split.test]))
    assert np.abs(contributions[:, linear.feature_names.index("rate")]).max() > 0


def test_the_calibration_reads_a_moving_series_as_the_final_model_does(leads, small_config):
    """Only the calibration changes: the same trees and linear part, a map fitted on scores whose rate
    reading is the final linear part's; the record names the series."""
    model, p, _ = _fit_rate_history(leads, small_config)
    folds_reading, p_folds, _ = _fit_rate_history(leads, small_config, calibrate_final_reading=False)
    record = model.selection["calibration_reading"]
    assert record["features"] == ["rate"] == model.linear_only and record["mean_shift"] != 0
    assert "calibration_reading" not in folds_reading.selection
    card = " ".join(selection_lines(model.selection))
    assert "Calibrated on scores that read rate as the final model does" in card
    assert "as the final model does" not in " ".join(selection_lines(folds_reading.selection))
    frame, _, split, _ = _rate_history(leads)
    test = frame.iloc[split.test]
    np.testing.assert_array_equal(model.predict_raw(test), folds_reading.predict_raw(test))
    assert not np.allclose(p, p_folds)


def test_final_reading_shift_swaps_only_the_named_features_and_only_on_held_out_rows():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=400), np.linspace(0, 4, 400)])  # a lead feature, a moving series
    y = (rng.random(400) < 1 / (1 + np.exp(-(X[:, 0] + X[:, 1] - 2)))).astype(int)
    folds = [(np.arange(0, 200), np.arange(200, 300)), (np.arange(0, 300), np.arange(300, 400))]

    def linear(rows):
        return fit_linear_score(
            X[rows], y[rows], np.array([False, False]), {}, c=1.0, min_frequency=1, clip=5, seed=0
        )

    final, parts = linear(np.arange(400)), [linear(fit) for fit, _ in folds]
    shift = final_reading_shift(final, parts, folds, X, [1])
    assert np.all(shift[:200] == 0)  # never held out
    assert np.all(final_reading_shift(final, [final, final], folds, X, [1])[200:] == 0)  # the same reading
    assert np.abs(shift[200:]).max() > 0
    moved = X.copy()
    moved[:, 0] += 3.0  # the lead feature is not swapped: the shift does not see it
    np.testing.assert_allclose(final_reading_shift(final, parts, folds, moved, [1]), shift)


def test_adversarial_check_scores_features():
    rng = np.random.default_rng(1)
    n = 2000
    recent = np.arange(n) >= 1600
    frame = pd.DataFrame(
        {
            "trend": np.arange(n) + rng.normal(0, 50, n),
            "noise": rng.normal(size=n),
            "month": pd.Series(np.where(recent, "2024-12", "2024-01"), dtype="str"),
            "segment": pd.Series(rng.choice(["a", "b"], n), dtype="str"),
        }
    )
    aucs = adversarial_auc(frame, recent, list(frame.columns), ["month", "segment"])
    assert aucs["trend"] > 0.95 and aucs["month"] > 0.99
    assert aucs["noise"] < 0.56 and aucs["segment"] < 0.56
    assert set(time_identifying(aucs, 0.8)) == {"month", "trend"}
    assert time_identifying(aucs, 0.8, keep=["trend"]) == ["month"]


def test_adversarial_check_names_a_number_that_labels_its_period_without_trending():
    """A monthly price index (one random value per month, no trend) names the month as well as the
    calendar does; counts, a sentinel-heavy number, unique amounts and an account's size do not."""
    rng = np.random.default_rng(2)
    month = np.repeat(np.arange(20), 100)
    recent = month >= 16
    frame = pd.DataFrame(
        {
            "price_index": np.round(93.9 + rng.normal(0, 0.5, 20), 3)[month],
            "visits": rng.poisson(1.5, len(month)).astype(float),
            "days_since_contact": np.where(
                rng.random(len(month)) < 0.95, 999.0, rng.integers(1, 20, len(month))
            ),
            "amount": rng.lognormal(8, 1, len(month)),
            # an account's size, shared by its 5 leads, which arrive together: it names the account
            "employees": np.repeat(rng.integers(10, 5000, len(month) // 5), 5).astype(float),
        }
    )
    aucs = adversarial_auc(frame, recent, list(frame.columns), [])
    assert aucs["price_index"] > 0.95
    assert max(aucs["visits"], aucs["days_since_contact"], aucs["amount"], aucs["employees"]) < 0.56
    assert time_identifying(aucs, 0.8) == ["price_index"]


def test_a_number_that_labels_the_period_is_left_to_the_linear_part(leads, split, small_config):
    frame = leads.frame.copy()
    month = frame["snapshot_at"].dt.strftime("%Y-%m").to_numpy()
    levels = np.unique(month)
    index = dict(
        zip(levels, np.round(93.9 + np.random.default_rng(3).normal(0, 0.5, len(levels)), 3), strict=True)
    )
    frame["price_index"] = [index[m] for m in month]
    model = _train(leads, split, small_config, frame=frame, features=[*leads.features, "price_index"])
    drift = model.selection["drift"]
    assert drift["linear_only"] == ["price_index"] == model.linear_only and not drift["dropped"]
    position = model.feature_names.index("price_index")
    assert model.booster.feature_importance("split")[position] == 0  # the trees never split on it


def test_decreasing_calibration_is_refused():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(2 * raw))).astype(int)  # wins fall as the score rises
    for method in ("sigmoid", "auto", "isotonic"):
        with pytest.raises(NoSignalError, match="^no learnable signal: .*does not rise"):
            fit_calibrator(raw, y, method, increasing=True)
    assert fit_calibrator(raw, y, "sigmoid").slope < 0  # a baseline's calibration may still fall
    rising = fit_calibrator(raw, 1 - y, "auto", increasing=True)
    assert np.all(np.diff(rising.predict(np.sort(raw))) >= 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_shuffled_labels_are_refused(leads, split, small_config, seed):
    y = np.random.default_rng(seed).permutation(leads.y)
    with pytest.raises(NoSignalError) as raised:
        _train(leads, split, small_config, y=y)
    message = str(raised.value)
    assert message.startswith("no learnable signal: ") and "includes 0.5" in message  # not only the floor
    assert "interval" in message and "label" in message
    assert isinstance(raised.value, InsufficientDataError)  # the CLI maps it to exit 4


def test_signal_check_can_be_turned_off(leads, split, small_config):
    y = np.random.default_rng(0).permutation(leads.y)
    cfg = small_config.model_copy(update={"selection": SelectionConfig(check_signal=False)})
    try:
        model = _train(leads, split, cfg, y=y)
    except NoSignalError as error:  # the calibration may still refuse a map that falls
        assert "does not rise" in str(error)
    else:
        assert model.selection["oof_auc_low"] <= 0.5


def test_empty_test_window_and_grouped_split(leads, split, small_config):
    no_test = Split(train=split.train, valid=split.valid, test=np.array([], dtype=int), method="out_of_time")
    model = _train(leads, no_test, small_config)
    assert "test" not in model.calibration_report and model.selection["folds"] == "time_ordered"
    grouped = grouped_random_split(leads.frame["account_id"], 0.15, 0.15, seed=0)
    grouped_model = _train(leads, grouped, small_config)
    assert grouped_model.selection["folds"] == "grouped"
    assert not grouped_model.selection["drift"]["checked"]
    assert np.isfinite(grouped_model.predict_proba(leads.frame.iloc[grouped.test])).all()


def test_logistic_baseline_is_bounded_outside_the_training_range(leads):
    model = fit_logistic_regression(leads.frame, leads.y, leads.features, leads.categorical, seed=0, clip=5.0)
    rows = leads.frame.iloc[:50].copy()
    far, farther = rows.copy(), rows.copy()
    far["employee_count"], farther["employee_count"] = 1e12, 1e30
    np.testing.assert_allclose(model.predict_proba(far), model.predict_proba(farther))  # clipped
    p = model.predict_proba(far)
    assert ((p > 1e-4) & (p < 1 - 1e-4)).all()


def test_the_month_of_the_year_is_kept_while_it_recurs_and_left_out_of_a_shorter_history(
    leads, split, small_config
):
    frame = leads.frame.assign(month_of_year=leads.frame["snapshot_at"].dt.month.astype(float))
    features = [*leads.features, "month_of_year"]
    cfg = small_config.model_copy(update={"drift": DriftConfig(keep=["month_of_year"])})
    two_years = _train(leads, split, cfg, frame=frame, features=features)
    assert "month_of_year" in two_years.feature_names
    assert not two_years.selection["drift"]["not_recurring"]

    short = (frame["snapshot_at"] >= frame["snapshot_at"].max() - pd.Timedelta(days=300)).to_numpy()
    rows = frame[short].reset_index(drop=True)
    model = train_conversion_model(
        rows,
        leads.y[short],
        features,
        leads.categorical,
        out_of_time_split(rows["snapshot_at"], 0.15, 0.15),
        cfg,
    )
    drift = model.selection["drift"]
    assert drift["not_recurring"] == ["month_of_year"] and "month_of_year" in drift["dropped"]
    assert "month_of_year" not in model.feature_names and "month_of_year" not in model.linear_only
    card = " ".join(selection_lines(model.selection))
    assert "a history too short for them to recur" in card and "Left out as time-identifying" not in card
    always = cfg.model_copy(
        update={"drift": DriftConfig(keep=["month_of_year"], season_min_rows_per_month=0)}
    )
    split_short = out_of_time_split(rows["snapshot_at"], 0.15, 0.15)
    kept = train_conversion_model(rows, leads.y[short], features, leads.categorical, split_short, always)
    assert "month_of_year" in kept.feature_names and kept.selection["drift"]["kept"] == ["month_of_year"]


def test_only_contenders_that_read_the_time_identifying_numbers_compete():
    from models.train import readers_of

    every = ["lightgbm", "linear_lightgbm", "blend"]
    assert readers_of(["rate"], every) == ["linear_lightgbm"]
    assert readers_of([], every) == every  # nothing handed to the linear part: all compete
    assert readers_of(["rate"], ["lightgbm", "blend"]) == ["lightgbm", "blend"]  # as configured
