"""The promotion gate on simulated test windows: decisions on paired intervals, refusal of noise and of
broken evidence."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from models.promotion import (
    ChampionRecord,
    GateRules,
    backtest_collapse,
    decide_promotion,
    learned_by_champion,
    learned_window,
)

RULES = GateRules(bootstrap_rounds=300)


def _window(n=2000, seed=0, strength=1.5):
    """Outcomes and a latent signal: y is drawn from the signal, so a score close to it ranks well."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(strength * signal - 1)))).astype(int)
    return y, signal, rng


def _probability(signal, rng, noise):
    """A calibrated-ish probability from a noisy view of the signal (more noise: a weaker model)."""
    return 1 / (1 + np.exp(-(1.5 * (signal + rng.normal(scale=noise, size=len(signal))) - 1)))


def test_a_random_model_is_refused_for_lack_of_signal():
    y, signal, rng = _window()
    shuffled = rng.permutation(_probability(signal, rng, 0.3))
    decision = decide_promotion(y, shuffled, {"logistic_regression": rng.random(len(y))}, RULES)
    assert decision.status == "refused"
    assert "no evidence of signal" in decision.summary() and "includes 0.5" in decision.summary()
    assert decision.first_without_signal  # no champion: `train` says "no learnable signal" (exit 4)


def test_only_a_first_model_without_signal_is_marked_so_not_one_beside_a_champion_or_a_weak_first_one():
    """With a champion live the refusal is the gate's (exit 6); a first model with signal that loses to a
    baseline is refused for that (exit 6); a forced one is promoted."""
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.3)
    beside = decide_promotion(
        y, rng.permutation(champion_p), {}, RULES, champion_p=champion_p, champion=_record(y, champion_p)
    )
    assert not beside.promote and "no evidence of signal" in beside.summary()
    assert not beside.first_without_signal
    weak = decide_promotion(y, _probability(signal, rng, 1.5), {"logistic_regression": champion_p}, RULES)
    assert not weak.promote and not weak.first_without_signal
    forced = decide_promotion(y, rng.random(len(y)), {}, RULES).forced("approved")
    assert forced.promote and not forced.first_without_signal


def test_a_first_model_as_good_as_its_strongest_baseline_is_promoted_a_worse_one_refused():
    y, signal, rng = _window()
    model = _probability(signal, rng, 0.3)
    as_good = _probability(signal, rng, 0.3)
    assert decide_promotion(
        y, model, {"logistic_regression": as_good, "points_model": rng.random(len(y))}, RULES
    ).promote
    weak = _probability(signal, rng, 1.5)
    refused = decide_promotion(y, weak, {"logistic_regression": as_good}, RULES)
    assert not refused.promote and "worse beyond the noise" in refused.summary()
    assert refused.evidence[-1].what == "AUC gain over logistic regression" and refused.evidence[-1].high < 0


def test_the_strict_first_model_rule_needs_a_gain_whose_interval_is_above_zero():
    y, signal, rng = _window()
    strict = GateRules(bootstrap_rounds=300, first_model_rule="better")
    model = _probability(signal, rng, 0.3)
    equal = decide_promotion(y, model, {"logistic_regression": _probability(signal, rng, 0.3)}, strict)
    better = decide_promotion(y, model, {"logistic_regression": _probability(signal, rng, 1.5)}, strict)
    assert not equal.promote and "does not show that it is better" in equal.summary()
    assert better.promote


def test_a_test_window_too_small_to_decide_is_refused_naming_the_counts():
    y, signal, rng = _window(n=60)
    decision = decide_promotion(y, _probability(signal, rng, 0.1), {}, RULES)
    won = int(y.sum())
    assert not decision.promote
    assert (
        f"{won} won and {60 - won} lost" in decision.summary()
        and "registry.min_test_won" in decision.summary()
    )
    assert "feed" not in decision.summary()  # a small sample of both outcomes: a longer history


def test_a_test_window_of_one_outcome_points_at_the_outcome_feed():
    y, signal, rng = _window(n=600)
    decision = decide_promotion(np.zeros(600, dtype=int), _probability(signal, rng, 0.1), {}, RULES)
    said = decision.summary()
    assert not decision.promote and "0 won and 600 lost" in said
    assert "an outcome feed that stopped delivering won deals" in said and "check the deals table" in said


def _record(y, p):
    from models.evaluate import bootstrap_auc_interval, roc_auc

    low, high = bootstrap_auc_interval(y, p, rounds=300, seed=1)
    return ChampionRecord("1", roc_auc(y, p), low, high)


def test_a_challenger_of_the_same_quality_is_promoted_a_clearly_worse_one_refused():
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.4)
    record = _record(y, champion_p)
    same = decide_promotion(
        y, _probability(signal, rng, 0.4), {}, RULES, champion_p=champion_p, champion=record
    )
    assert same.promote, same.summary()
    worse = decide_promotion(
        y, _probability(signal, rng, 1.5), {}, RULES, champion_p=champion_p, champion=record
    )
    assert worse.status == "refused" and "AUC difference with the champion" in worse.summary()


def test_a_challenger_with_much_worse_calibration_is_refused():
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.3)
    overconfident = np.clip(champion_p * 2.2, 0, 1)  # same ranking, probabilities far too high
    decision = decide_promotion(
        y, overconfident, {}, RULES, champion_p=champion_p, champion=_record(y, champion_p)
    )
    assert decision.status == "refused" and "calibration worse beyond the noise" in decision.summary()


def test_shuffled_outcomes_make_the_champion_collapse_and_the_evidence_is_called_broken():
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.3)
    record = _record(y, champion_p)  # what the champion had on its own, honest test window
    shuffled_y = rng.permutation(y)
    challenger_p = rng.random(len(y))  # a model trained on shuffled outcomes
    decision = decide_promotion(shuffled_y, challenger_p, {}, RULES, champion_p=champion_p, champion=record)
    assert decision.status == "evidence_broken"
    assert "look broken" in decision.summary() and f"{record.roc_auc:.3f}" in decision.summary()
    # a challenger that looks good on the broken window changes nothing: the data is the suspect
    lucky = shuffled_y * 0.2 + rng.random(len(y))
    broken = decide_promotion(shuffled_y, lucky, {}, RULES, champion_p=champion_p, champion=record)
    assert broken.status == "evidence_broken"
    # on the honest window the same champion is not called broken
    honest = decide_promotion(y, champion_p, {}, RULES, champion_p=champion_p, champion=record)
    assert honest.status == "promoted"


def test_a_backtest_on_outcomes_swapped_or_shuffled_since_is_called_broken_an_honest_one_is_not():
    """A retrain's evaluation quarter is older than the deals that closed since the last retrain: a feed that
    broke since then shows first in the champion's backtest, not in the gate's test window."""
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.3)
    record = _record(y, champion_p)
    later_y, later_signal, later_rng = _window(n=600, seed=1)
    scores = _probability(later_signal, later_rng, 0.3)
    day = pd.Timestamp("2026-04-02")
    assert backtest_collapse(later_y, scores, record, RULES, day) is None
    for broken in (1 - later_y, later_rng.permutation(later_y)):  # won and lost swapped; shuffled
        said = backtest_collapse(broken, scores, record, RULES, day)
        assert said is not None and "the newest outcomes look broken" in said
        assert f"{record.roc_auc:.3f}" in said and "600 leads it scored as of 2026-04-02" in said
    # too few won leads to tell, or no champion record: nothing said
    few = np.zeros(600, dtype=int)
    few[:5] = 1
    assert backtest_collapse(few, scores, record, RULES, day) is None
    assert backtest_collapse(1 - later_y, scores, None, RULES, day) is None


def test_a_backtest_whose_leads_all_closed_won_names_a_feed_that_stopped_delivering_lost_deals():
    y, signal, rng = _window()
    record = _record(y, _probability(signal, rng, 0.3))
    scores = np.full(197, 0.4)  # the champion expected about 118 of these 197 to be lost
    day = pd.Timestamp("2026-04-02")
    said = backtest_collapse(np.ones(197, dtype=int), scores, record, RULES, day)
    assert said is not None and "every one of the 197 leads" in said and "was won" in said
    assert "expected about 118 lost" in said and "stopped delivering lost deals" in said
    only_lost = backtest_collapse(np.zeros(197, dtype=int), scores, record, RULES, day)
    assert only_lost is not None and "stopped delivering won deals" in only_lost
    # a few leads, or scores that expected (almost) all of them to win: nothing to say
    assert backtest_collapse(np.ones(12, dtype=int), np.full(12, 0.4), record, RULES, day) is None
    assert backtest_collapse(np.ones(197, dtype=int), np.full(197, 0.95), record, RULES, day) is None


def test_a_challenger_that_scores_as_the_champion_does_is_said_to_have_learnt_the_same():
    y, signal, rng = _window()
    champion_p = _probability(signal, rng, 0.3)
    record = _record(y, champion_p)
    same = decide_promotion(y, champion_p.copy(), {}, RULES, champion_p=champion_p, champion=record)
    assert same.promote and "both learnt the same deals with the same settings" in same.summary()
    other = decide_promotion(
        y, _probability(signal, rng, 0.3), {}, RULES, champion_p=champion_p, champion=record
    )
    assert "learnt the same deals" not in other.summary()


def test_forcing_keeps_the_checks_and_records_the_reason():
    y, signal, rng = _window()
    decision = decide_promotion(y, rng.random(len(y)), {}, RULES).forced("approved by sales leadership")
    assert decision.promote and decision.reasons[-1] == "forced: approved by sales leadership"
    assert "no evidence of signal" in decision.summary()


@pytest.mark.parametrize("seed", range(5))
def test_decisions_are_reproducible_for_a_seed(seed):
    y, signal, rng = _window(seed=seed)
    p, q = _probability(signal, rng, 0.5), _probability(signal, rng, 0.5)
    first = decide_promotion(y, p, {"logistic_regression": q}, RULES)
    again = decide_promotion(y, p, {"logistic_regression": q}, RULES)
    assert first == again


def test_a_champion_that_could_not_be_scored_on_the_test_rows_is_never_replaced_silently():
    import pandas as pd

    from models.promotion import decide_on_test_scores

    y, signal, rng = _window()
    scores = pd.DataFrame(
        {"won": y, "model": _probability(signal, rng, 0.3), "logistic_regression": rng.random(len(y))}
    )
    without_champion = decide_on_test_scores(scores, RULES, champion_version=None, champion=None)
    assert without_champion.promote and "first model" in without_champion.summary()
    not_comparable = decide_on_test_scores(scores, RULES, champion_version="4", champion=None)
    assert not_comparable.status == "refused"
    assert "version 4" in not_comparable.summary() and "--force" in not_comparable.summary()


def test_a_first_model_slightly_worse_inside_the_tolerance_is_promoted_and_the_reason_names_the_tolerance():
    y, signal, rng = _window(n=4000)
    baseline = _probability(signal, rng, 0.3)
    slightly_worse = 1 / (
        1 + np.exp(-(np.log(baseline / (1 - baseline)) + rng.normal(scale=0.12, size=len(y))))
    )
    decision = decide_promotion(y, slightly_worse, {"logistic_regression": baseline}, RULES)
    gain = decision.evidence[-1]
    assert gain.high < 0 < gain.high + RULES.auc_tolerance  # worse beyond the noise, inside the tolerance
    assert decision.promote and "not worse beyond the noise and the 0.005 tolerance" in decision.summary()
    no_tolerance = GateRules(bootstrap_rounds=300, auc_tolerance=0.0)
    refused = decide_promotion(y, slightly_worse, {"logistic_regression": baseline}, no_tolerance)
    assert not refused.promote and "worse beyond the noise and the 0.0 tolerance" in refused.summary()


def test_a_champion_is_compared_only_on_the_test_deals_it_did_not_learn_from():
    """A retrain whose evaluation quarter the champion was trained on (the README's own flow: train, then
    retrain as of an earlier quarter), or `train` on an older copy of the history: measured on deals it
    learned from, the champion looked better than it was, and a challenger as good as it was refused. The two
    are compared on the other test deals, and the verdict says how many were left out and why."""
    y, signal, rng = _window(n=3000)
    learned = np.arange(len(y)) < 1500
    honest = _probability(signal, rng, 0.4)
    champion_p = np.where(learned, np.clip(0.05 + 0.9 * y, 0, 1), honest)  # it memorised what it learned
    challenger_p = _probability(signal, rng, 0.4)
    start, end = pd.Timestamp("2024-10-06"), pd.Timestamp("2026-02-08")
    record = dataclasses.replace(_record(y[~learned], honest[~learned]), learned_start=start, learned_end=end)
    blind = decide_promotion(y, challenger_p, {}, RULES, champion_p=champion_p, champion=record)
    assert blind.status == "refused"  # the unfair comparison, as the gate made it before
    fair = decide_promotion(
        y, challenger_p, {}, RULES, champion_p=champion_p, champion=record, champion_learned=learned
    )
    assert fair.promote, fair.summary()
    said = " ".join(fair.summary().split())
    assert (
        "the champion (version 1) was trained and tuned on deals created 2024-10-06 to 2026-02-08, 1,500 of "
        "the 3,000 test deals" in said
    )
    assert "compared on the other 1,500" in said
    assert fair.evidence[-1].rows == 1500  # the ECE difference, on the fair rows
    assert fair.compared["champion_rows"] == 1500 and fair.compared["test_won"] == int(y.sum())
    assert fair.compared["model_auc_champion_rows"] - fair.compared["champion_auc"] == pytest.approx(
        fair.evidence[-2].value
    )
    worse = decide_promotion(
        y,
        _probability(signal, rng, 1.5),
        {},
        RULES,
        champion_p=champion_p,
        champion=record,
        champion_learned=learned,
    )
    assert worse.status == "refused" and "worse beyond the noise" in worse.summary()


def test_too_few_test_deals_the_champion_did_not_learn_from_keep_it_and_name_the_fix():
    y, signal, rng = _window(n=2000)
    learned = np.arange(len(y)) >= 30
    p = _probability(signal, rng, 0.4)
    record = dataclasses.replace(
        _record(y, p), learned_start=pd.Timestamp("2023-10-01"), learned_end=pd.Timestamp("2026-01-01")
    )
    decision = decide_promotion(y, p, {}, RULES, champion_p=p, champion=record, champion_learned=learned)
    said = " ".join(decision.summary().split())
    assert decision.status == "refused"
    assert "1,970 of the 2,000 test deals; the other 30 hold" in said
    assert "registry.min_test_won" in said and "so the champion stays" in said
    assert "created on or after 2026-01-01" in said and "--as-of" in said and "--force" in said


def test_the_rows_a_champion_learned_from_are_those_created_inside_its_window():
    record = ChampionRecord("3", 0.8, 0.78, 0.82, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-07-01"))
    times = pd.Series(
        ["2024-12-31T23:00", "2025-01-01", "2025-06-30T23:59", "2025-07-01", None], dtype="datetime64[ns]"
    )
    assert learned_by_champion(times, (record.learned_start, record.learned_end)).tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]
    undated = ChampionRecord("3", 0.8, 0.78, 0.82)
    assert not learned_by_champion(times, (undated.learned_start, undated.learned_end)).any()
    assert learned_window({"train_start": "2025-01-01T00:00:00", "test_start": "2025-07-01T00:00:00"}) == (
        pd.Timestamp("2025-01-01"),
        pd.Timestamp("2025-07-01"),
    )
    assert learned_window({"split_method": "grouped_random", "seed": 7}) == (None, None)
    assert learned_window({"train_start": "2025-01-01T00:00:00+02:00", "test_start": "2025-07-01"})[0] == (
        pd.Timestamp("2024-12-31T22:00")
    )
