"""The promotion gate: may a new model version go live? Pure: test-window predictions in, a decision out.

Every comparison is made on the same test rows with a paired bootstrap (the same resampled rows for every
contender in a round), so a verdict rests on the difference and its interval, not on two numbers that noise
alone could order either way:

- too few won or lost deals in the test window: refused, nothing is decided on noise;
- the new model's own AUC interval must lie above 0.5 (a model trained on shuffled outcomes has none);
- a first model (no champion) is compared with its strongest baseline (points model, logistic regression):
  by default it must not be worse beyond the noise; with first_model_rule "better" the lower bound of its AUC
  gain must be above 0 (strict: where a baseline is already near the best possible ranking, e.g. synthetic
  data, no model can pass it);
- with a champion: both are compared only on the test rows the champion did not learn from (created outside
  the window it was trained and tuned on; too few of those and the champion stays). The champion is
  re-scored on them first. If it now falls far below what it had on its own test window (its interval now
  ends below the one it was registered with), the new data or outcomes look broken and the gate refuses
  with its own status; otherwise the challenger replaces it unless it is worse beyond the noise: AUC (upper
  bound of the difference below -auc_tolerance) or calibration (lower bound of the ECE difference above
  ece_tolerance).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.dates import naive_utc
from features.frames import naive_times
from models.evaluate import (
    bootstrap_auc_interval,
    expected_calibration_error,
    paired_bootstrap,
    percentile_interval,
    roc_auc,
)

Status = Literal["promoted", "refused", "evidence_broken"]
BASELINES = ("points_model", "logistic_regression")
VERDICTS: dict[Status, str] = {
    "promoted": "promoted",
    "refused": "not promoted",
    "evidence_broken": "evidence looks broken",
}


@dataclass(frozen=True)
class GateRules:
    """The gate's settings (from the registry section of the configuration)."""

    auc_tolerance: float = 0.005
    ece_tolerance: float = 0.01
    min_test_won: int = 20
    min_test_lost: int = 20
    confidence: float = 0.95
    bootstrap_rounds: int = 1000
    broken_margin: float = 0.02
    seed: int = 0
    ece_bins: int = 10
    # A first model must be "not_worse" than its strongest baseline beyond the noise, or "better" (the lower
    # bound of its AUC gain above 0).
    first_model_rule: Literal["not_worse", "better"] = "not_worse"
    unit: str = "deals"  # what the test rows are, in the verdict's words: an export's are "leads"

    def enough_to_decide(self, won: int, lost: int) -> bool:
        """Whether a window holds the won and lost rows the gate needs to judge it (min_test_won, min_test_lost)."""
        return won >= self.min_test_won and lost >= self.min_test_lost


@dataclass(frozen=True)
class ChampionRecord:
    """What the champion measured on its own test window when it was registered, and the window of deals it
    was trained and tuned on (its split's train_start to test_start; None for a split without dates)."""

    version: str
    roc_auc: float
    roc_auc_low: float
    roc_auc_high: float
    learned_start: pd.Timestamp | None = None
    learned_end: pd.Timestamp | None = None


def learned_window(
    split_summary: Mapping[str, Any], live: bool = False
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The window of deals a model was trained and tuned on, [start, end) as the splits hold times (UTC
    without a zone): its tested model's, train_start to test_start; with `live`, the registered model's,
    which was trained again with its test window (splits.refit_split), to just after `learned_end`.
    (None, None) for a split without dates."""
    start, end = split_summary.get("train_start"), split_summary.get("test_start")
    newest = split_summary.get("learned_end") if live else None
    if not start or not end:
        return None, None
    try:
        if newest:  # inclusive: the newest deal it learnt from is inside the window
            return naive_utc(start), naive_utc(newest) + pd.Timedelta(1, "ns")
        return naive_utc(start), naive_utc(end)
    except (TypeError, ValueError):
        return None, None


def learned_by_champion(
    snapshot_at: pd.Series | np.ndarray, window: tuple[pd.Timestamp | None, pd.Timestamp | None]
) -> np.ndarray:
    """Which rows were created inside `window`, the deals the champion was trained and tuned on
    (learned_window): measured on them, it looks better than it is (a retrain whose evaluation quarter it
    learned from; `train` on an older copy of the history than the champion's). All False for a window without dates;
    a row without a time counts as outside."""
    times = naive_times(snapshot_at)  # NaT compares as outside
    start, end = window
    if start is None or end is None:
        return np.zeros(len(times), dtype=bool)
    return (times >= pd.Timestamp(start).to_datetime64()) & (times < pd.Timestamp(end).to_datetime64())


@dataclass(frozen=True)
class Evidence:
    """One compared quantity on the test rows: its value or difference and the bootstrap interval."""

    what: str  # e.g. "AUC gain over logistic regression"
    value: float
    low: float
    high: float
    rows: int
    unit: str = "deals"

    def words(self, signed: bool = True) -> str:
        fmt = "+.3f" if signed else ".3f"
        return (
            f"{self.what} {self.value:{fmt}} (interval {self.low:{fmt}} to {self.high:{fmt}}, "
            f"{self.rows:,} {self.unit})"
        )

    def as_dict(self) -> dict[str, float | str | int]:
        return {
            "what": self.what,
            "value": round(self.value, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
            "rows": self.rows,
        }


@dataclass(frozen=True)
class GateDecision:
    """The verdict, every check in words, the compared metrics and the evidence (for tags, history, card)."""

    status: Status
    reasons: tuple[str, ...]
    compared: dict[str, float] = field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    # A first model (no champion) that ranked its test window no better than chance: nothing learnable was
    # shown and nothing scores, which `train` says as "no learnable signal" (exit 4), not as a refusal (6).
    first_without_signal: bool = False

    @property
    def promote(self) -> bool:
        return self.status == "promoted"

    @property
    def verdict(self) -> str:
        """The verdict in words: promoted, not promoted, evidence looks broken."""
        return VERDICTS[self.status]

    def summary(self) -> str:
        return f"{self.verdict}: " + "; ".join(self.reasons)

    def forced(self, reason: str) -> GateDecision:
        """The same decision overridden by a person (`--force`), with their reason on record."""
        return GateDecision("promoted", (*self.reasons, f"forced: {reason}"), self.compared, self.evidence)


def _label(name: str) -> str:
    return name.replace("_", " ")


def decide_promotion(
    y: np.ndarray,
    model_p: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    rules: GateRules,
    *,
    champion_p: np.ndarray | None = None,
    champion: ChampionRecord | None = None,
    champion_learned: np.ndarray | None = None,
) -> GateDecision:
    """The gate's verdict for a new version from its predictions on the test window.

    `baselines` maps a baseline's name to its scores on the same rows (the points model, logistic regression);
    `champion_p` are the current champion's predictions on those rows and `champion` its registered record.
    A champion that exists but could not be scored on these rows must not reach here as `None`: the caller
    refuses instead, so the champion never changes silently. `champion_learned` marks the rows the champion
    was trained or tuned on (learned_by_champion): the two are compared on the others only.
    """
    y = np.asarray(y, dtype=int)
    n_won, n_lost = int(y.sum()), int(len(y) - y.sum())
    compared: dict[str, float] = {"test_won": n_won, "test_lost": n_lost}
    if not rules.enough_to_decide(n_won, n_lost):
        fix = "use a longer history or a larger model.split.test_fraction"
        if not n_won or not n_lost:  # a window of one outcome is more likely a feed than a small sample
            missing = "won" if not n_won else "lost"
            fix = (
                f"no {missing} deal among the newest deals is more likely an outcome feed that stopped "
                f"delivering {missing} deals than chance: check the deals table's newest outcomes, then {fix}"
            )
        return GateDecision(
            "refused",
            (
                f"the test window has {n_won} won and {n_lost} lost {rules.unit}; the gate needs at least "
                f"{rules.min_test_won} won and {rules.min_test_lost} lost to decide (registry.min_test_won, "
                f"registry.min_test_lost): {fix}",
            ),
            compared,
        )
    contenders = {"model": np.asarray(model_p, dtype=float)}
    contenders.update({name: np.asarray(p, dtype=float) for name, p in baselines.items()})
    # Against a champion the baselines' intervals are never read (only their point AUCs, for the record).
    bootstrapped = contenders if champion_p is None else {"model": contenders["model"]}
    samples = paired_bootstrap(
        y, bootstrapped, rounds=rules.bootstrap_rounds, seed=rules.seed, ece_bins=rules.ece_bins
    )
    auc = samples["roc_auc"]
    point = {name: roc_auc(y, p) for name, p in contenders.items()}
    compared.update({f"{name}_auc": value for name, value in point.items()})

    def interval(values: np.ndarray) -> tuple[float, float]:
        return percentile_interval(values, rules.confidence)

    own = Evidence("AUC", point["model"], *interval(auc["model"]), len(y), rules.unit)
    if champion_p is not None:
        return _against_champion(
            y,
            contenders["model"],
            np.asarray(champion_p, dtype=float),
            champion,
            champion_learned,
            own,
            rules,
            compared,
        )
    if not own.low > 0.5:
        return GateDecision("refused", (_no_signal(own),), compared, (own,), first_without_signal=True)
    reasons = [f"signal: {own.words(signed=False)} is above 0.5"]
    if not baselines:
        reasons.append("no champion and no baseline to compare with")
        return GateDecision("refused", tuple(reasons), compared, (own,))
    strongest = max(baselines, key=lambda name: point[name])
    gain = Evidence(
        f"AUC gain over {_label(strongest)}",
        point["model"] - point[strongest],
        *interval(auc["model"] - auc[strongest]),
        len(y),
        rules.unit,
    )
    if rules.first_model_rule == "better":
        ok, verdict = gain.low > 0, "is above 0" if gain.low > 0 else "does not show that it is better"
    else:
        ok = gain.high >= -rules.auc_tolerance
        beyond = f"beyond the noise and the {rules.auc_tolerance} tolerance"
        verdict = f"not worse {beyond}" if ok else f"worse {beyond}"
    reasons.append(f"first model: {gain.words()} ({_label(strongest)} is its strongest baseline): {verdict}")
    return GateDecision("promoted" if ok else "refused", tuple(reasons), compared, (own, gain))


def _no_signal(own: Evidence) -> str:
    return (
        f"no evidence of signal: {own.words(signed=False)} includes 0.5 (a model that ranks at random); "
        "check that the outcomes are joined to the right leads"
    )


def _against_champion(
    y: np.ndarray,
    model_p: np.ndarray,
    champion_p: np.ndarray,
    champion: ChampionRecord | None,
    learned: np.ndarray | None,
    own: Evidence,
    rules: GateRules,
    compared: dict[str, float],
) -> GateDecision:
    """The challenger against the champion, on the test rows the champion did not learn from: first whether
    the champion collapsed there (the data are the suspect), then the challenger's own signal, then whether
    it is worse than the champion beyond the noise in ranking or calibration."""
    reasons: list[str] = []
    if learned is not None and learned.any():
        said, enough = _fair_rows_words(y, ~learned, champion, rules)
        if not enough:
            return GateDecision("refused", (said,), compared, (own,))
        reasons.append(said)
        y, model_p, champion_p = y[~learned], model_p[~learned], champion_p[~learned]
        compared.update(champion_rows=len(y), model_auc_champion_rows=roc_auc(y, model_p))
    samples = paired_bootstrap(
        y,
        {"model": model_p, "champion": champion_p},
        rounds=rules.bootstrap_rounds,
        seed=rules.seed,
        ece_bins=rules.ece_bins,
    )
    auc, ece = samples["roc_auc"], samples["ece"]
    rows = len(y)
    champion_auc = roc_auc(y, champion_p)
    compared["champion_auc"] = champion_auc

    def interval(values: np.ndarray) -> tuple[float, float]:
        return percentile_interval(values, rules.confidence)

    now = Evidence("champion AUC on this window", champion_auc, *interval(auc["champion"]), rows, rules.unit)
    evidence = [own, now]
    # First: if the champion collapsed on these rows, the data is the suspect, whatever the challenger did.
    if champion is not None and collapsed(now, champion, rules):
        reasons.append(
            f"{collapse_words(champion, now, 'this one')}: the new data or outcomes look broken (shuffled or "
            "remapped outcomes, a broken join, a changed definition of won); check the deals table before "
            "retraining"
        )
        return GateDecision("evidence_broken", tuple(reasons), compared, tuple(evidence))
    if not own.low > 0.5:
        return GateDecision("refused", (*reasons, _no_signal(own)), compared, tuple(evidence))
    reasons.insert(0, f"signal: {own.words(signed=False)} is above 0.5")
    auc_diff = Evidence(
        "AUC difference with the champion",
        roc_auc(y, model_p) - champion_auc,
        *interval(auc["model"] - auc["champion"]),
        rows,
        rules.unit,
    )
    ece_diff = Evidence(
        "ECE difference with the champion",
        expected_calibration_error(y, model_p, rules.ece_bins)
        - expected_calibration_error(y, champion_p, rules.ece_bins),
        *interval(ece["model"] - ece["champion"]),
        rows,
        rules.unit,
    )
    evidence += [auc_diff, ece_diff]
    auc_ok = auc_diff.high >= -rules.auc_tolerance
    ece_ok = ece_diff.low <= rules.ece_tolerance
    beyond = "beyond the noise and the"
    reasons.append(
        f"{auc_diff.words()}: "
        + (
            f"not worse {beyond} {rules.auc_tolerance} tolerance"
            if auc_ok
            else f"worse {beyond} {rules.auc_tolerance} tolerance"
        )
    )
    reasons.append(
        f"{ece_diff.words()}: "
        + (
            f"calibration not worse {beyond} {rules.ece_tolerance} tolerance"
            if ece_ok
            else f"calibration worse {beyond} {rules.ece_tolerance} tolerance"
        )
    )
    if np.allclose(model_p, champion_p, rtol=0, atol=1e-9):
        reasons.append(
            f"the challenger scores every one of these {rows:,} {rules.unit} as the champion does: both learnt "
            f"the same {rules.unit} with the same settings, so there is no difference to find (a retrain whose "
            "history only grew, against a champion that learnt everything before this test window); it passes as "
            "not worse"
        )
    status: Status = "promoted" if auc_ok and ece_ok else "refused"
    return GateDecision(status, tuple(reasons), compared, tuple(evidence))


def collapsed(now: Evidence, champion: ChampionRecord, rules: GateRules) -> bool:
    """Whether the champion's AUC interval `now` ends more than registry.broken_margin below the interval it
    was registered with."""
    return now.high < champion.roc_auc_low - rules.broken_margin


def collapse_words(champion: ChampionRecord, now: Evidence, where: str) -> str:
    """The champion's AUC when registered against its AUC `now` on `where`, in words."""
    return (
        f"the champion (version {champion.version}) had AUC {champion.roc_auc:.3f} (interval "
        f"{champion.roc_auc_low:.3f} to {champion.roc_auc_high:.3f}) on its own test window but "
        f"{now.value:.3f} ({now.low:.3f} to {now.high:.3f}) on {where}"
    )


def backtest_collapse(
    y: np.ndarray,
    scores: np.ndarray,
    champion: ChampionRecord | None,
    rules: GateRules,
    scored_at: pd.Timestamp,
) -> str | None:
    """Why the newest outcomes look broken, or None: the champion's scores of the leads open on `scored_at`
    (a retrain's backtest) against how their deals closed since, whose AUC interval ends more than
    registry.broken_margin below the one the champion was registered with. A retrain's evaluation quarter
    is older than these deals, so a feed that broke since the last retrain (outcomes swapped or shuffled)
    shows here first. So does a feed that stopped delivering one outcome: every lead closed won (or lost)
    where the champion's own scores expected registry.min_test_lost lost (min_test_won won) or more. None with
    fewer than registry.min_test_won won or min_test_lost lost leads otherwise."""
    y = np.asarray(y, dtype=int)
    scores = np.asarray(scores, dtype=float)
    won = int(y.sum())
    if champion is None:
        return None
    one_outcome = one_outcome_words(y, scores, champion, rules, scored_at)
    if one_outcome or not rules.enough_to_decide(won, len(y) - won):
        return one_outcome
    interval = bootstrap_auc_interval(
        y, scores, rounds=rules.bootstrap_rounds, seed=rules.seed, level=rules.confidence
    )
    now = Evidence("champion AUC on its backtest", roc_auc(y, scores), *interval, len(y))
    if not collapsed(now, champion, rules):
        return None
    leads = (
        f"the {len(y)} leads it scored as of {pd.Timestamp(scored_at):%Y-%m-%d} whose deals closed since "
        "(ICP-qualified ones, as on its own test window)"
    )
    return (
        f"{collapse_words(champion, now, leads)} (its backtest): the newest outcomes look broken (shuffled or "
        "swapped outcomes, a broken join, a changed definition of won); check the deals closed since then "
        'before retraining, or pass `--force "reason"` if the market itself turned'
    )


def one_outcome_words(
    y: np.ndarray, scores: np.ndarray, champion: ChampionRecord, rules: GateRules, scored_at: pd.Timestamp
) -> str | None:
    """Why a backtest whose leads all closed with one outcome looks broken, when the champion's scores expected
    at least the gate's minimum of the other (registry.min_test_lost or min_test_won); else None."""
    if not len(y) or 0 < y.sum() < len(y):
        return None
    present, missing = ("won", "lost") if y.all() else ("lost", "won")
    expected = float(np.sum(1 - scores) if y.all() else np.sum(scores))
    if expected < (rules.min_test_lost if missing == "lost" else rules.min_test_won):
        return None
    return (
        f"every one of the {len(y):,} leads the champion (version {champion.version}) scored as of "
        f"{pd.Timestamp(scored_at):%Y-%m-%d} whose deals closed since was {present}, where its scores expected "
        f"about {expected:.0f} {missing} (its backtest): the outcome feed looks broken (it stopped delivering "
        f"{missing} deals, or the definition of won changed); check the deals closed since then before "
        'retraining, or pass `--force "reason"`'
    )


def _fair_rows_words(
    y: np.ndarray, fair: np.ndarray, champion: ChampionRecord | None, rules: GateRules
) -> tuple[str, bool]:
    """What the comparison leaves out because the champion learned from it, and whether the rest holds enough
    won and lost deals for the gate to decide."""
    who = f"the champion (version {champion.version})" if champion is not None else "the champion"
    start, end = (champion.learned_start, champion.learned_end) if champion is not None else (None, None)
    window = f" created {start:%Y-%m-%d} to {end:%Y-%m-%d}" if start is not None and end is not None else ""
    after = f"{end:%Y-%m-%d}" if end is not None else ""
    n_learned, n_fair = int((~fair).sum()), int(fair.sum())
    won, lost = int(y[fair].sum()), int(n_fair - y[fair].sum())
    learned = f"{who} was trained and tuned on deals{window}, {n_learned:,} of the {len(y):,} test deals"
    if rules.enough_to_decide(won, lost):
        return (
            f"{learned}: measured on them it would look better than it is, so the two are compared on the "
            f"other {n_fair:,} ({won} won, {lost} lost)",
            True,
        )
    return (
        f"{learned}; the other {n_fair:,} hold {won} won and {lost} lost, fewer than the {rules.min_test_won} "
        f"won and {rules.min_test_lost} lost the gate needs to compare the two fairly (registry.min_test_won, "
        "registry.min_test_lost), so the champion stays: compare them once the test window holds enough deals "
        f"created on or after {after or 'the end of its window'} (`leadscore retrain`: an --as-of whose "
        'evaluation quarter starts then or later), or say why with --force "reason"',
        False,
    )


def decide_on_test_scores(
    test_scores: pd.DataFrame,
    rules: GateRules,
    *,
    champion_version: str | None,
    champion: ChampionRecord | None,
    unscored: str | None = None,
) -> GateDecision:
    """decide_promotion on the evaluation's test-score table (columns won, model, the baselines and, when the
    champion could be scored on these rows, champion). A champion that exists but could not be scored here is
    a refusal: it never changes silently. `unscored` says why it was not (default: another source or spec)."""
    if champion_version is not None and "champion" not in test_scores.columns:
        return GateDecision(
            "refused",
            (
                f"the champion (version {champion_version}) could not be scored on this test window "
                f"({unscored or 'it was trained on another source or spec'}), so the two cannot be compared; "
                'if this model should replace it, say why with --force "reason"',
            ),
        )
    if champion_version is not None and champion is None:
        return GateDecision(
            "refused",
            (
                f"the champion (version {champion_version}) has no record of the AUC and interval it had on its "
                "own test window (metrics roc_auc, roc_auc_low and roc_auc_high of its MLflow run), so the gate "
                "cannot check whether the new data look broken; if this model should replace it, say why with "
                '--force "reason"',
            ),
        )
    baselines = {name: test_scores[name].to_numpy(dtype=float) for name in BASELINES if name in test_scores}
    return decide_promotion(
        test_scores["won"].to_numpy(dtype=int),
        test_scores["model"].to_numpy(dtype=float),
        baselines,
        rules,
        champion_p=None if champion_version is None else test_scores["champion"].to_numpy(dtype=float),
        champion=champion,
        champion_learned=learned_by_champion(
            test_scores["snapshot_at"], (champion.learned_start, champion.learned_end)
        )
        if champion is not None and "snapshot_at" in test_scores.columns
        else None,
    )
