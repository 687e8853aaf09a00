"""The model card for sales leadership: what the card needs (CardData), and the card itself as a
self-contained HTML page (styles inline, charts as embedded PNG) with a Markdown twin.

Pure: frames and fitted objects in, strings out. Every section says its point in plain words first, computed
from the numbers, and shows the numbers second. The Markdown twin has the same sections, sentences and tables;
it leaves the charts out and names each one (with its description) so that it stays one readable text file.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_curve

from features.icp import REASON_LABELS, excluded_counts_frame
from models.compare import SEGMENT_COLUMNS, Evaluation
from models.config import ModelConfig
from models.drift import drift_table, psi, psi_level
from models.evaluate import MISSING_GROUP, assign_grades, evaluate, gains_table, roc_auc
from models.explain import concept_contributions, concept_of
from models.flat_scorer import FlatScorer
from models.scorer import LeadScorer
from models.splits import Split

AnyScorer = LeadScorer | FlatScorer

SECTION_IDS = ("summary", "intended-use", "data", "performance", "drivers", "drift", "limitations")
NBSP = "\u00a0"
DASH = "\u2014"  # shown where a number cannot be measured; every table says why
# Column of Evaluation.test_scores that ranks each contender (the points model ranks by its raw points).
RANKING_COLUMN = {
    "model": "model",
    "points_model": "points",
    "logistic_regression": "logistic_regression",
    "champion": "champion",
    "oracle": "oracle",
}
CONTENDER_ORDER = ("model", "champion", "points_model", "logistic_regression", "oracle")
COLORS = {
    "model": "#1f5fa8",
    "points_model": "#e8833a",
    "champion": "#6b7a8f",
    "random": "#b8c0cc",
    "fit": "#5b8fd0",
    "intent": "#2e9e6f",
}
GRADE_COLORS = {"A": "#1f5fa8", "B": "#5b8fd0", "C": "#9dbde6", "D": "#d5dfec"}
SEGMENT_NAMES = {"industry": "Industry", "region": "Region", "lead_source": "Lead source"}


@dataclass(frozen=True)
class CardSettings:
    """Choices of the card that are not model configuration."""

    retrain_every_days: int = 91  # the next scheduled retrain is this long after training
    top_share: float = 0.20  # the headline: "working the top 20 % of leads ..."
    shap_sample_rows: int = 500  # test rows explained for the drivers section
    beeswarm_features: int = 12
    importance_concepts: int = 12
    drift_rows: int = 10
    seed: int = 0


@dataclass
class ExampleLead:
    """One test-window lead as a rep would see it, with what happened to it."""

    label: str  # e.g. "the highest-scored lead"
    lead_id: str
    score: float
    grade: str
    fit_tier: str
    intent_band: str
    won: bool
    facts: str  # industry, size, seniority, region, lead source in words
    reasons_positive: list[str]
    reasons_negative: list[str]


@dataclass
class CardData:
    """Everything the card shows, already computed; render_card turns it into HTML and Markdown."""

    model_name: str
    model_version: str  # "" when the model was not registered
    run_id: str
    trained_at: pd.Timestamp
    next_retrain: pd.Timestamp
    decision: str  # the promotion gate's summary, "" when there was no gate
    previous_version: str  # the previous champion's version ("" when none or unknown)
    has_previous: bool  # False for the first version
    split_method: str
    guardrail: bool  # False for a flat export: no ICP columns, nothing disqualified
    unit: str  # what a training row is, in words: "closed deals" (CRM history) or "leads" (flat export)
    windows: pd.DataFrame  # window, start, end, deals, won, win_rate
    n_deals: int  # closed deals used (after the guardrail and the maturity rule)
    base_rate: float  # over all usable closed deals
    excluded: pd.DataFrame  # reason, label, excluded (every code, then total)
    too_recent: int
    maturity_days: int
    minimum_data: dict[str, int]  # min_won, min_lost, train_won, train_lost, min_valid, valid_won, valid_lost
    row_counts: pd.DataFrame  # the data contract: table, read, valid, quarantined
    comparison: pd.DataFrame  # Evaluation.comparison plus pr_auc_low / pr_auc_high
    gains: pd.DataFrame
    points_gains: pd.DataFrame | None  # None without a points model (flat exports)
    champion_gains: pd.DataFrame | None
    reliability: pd.DataFrame
    by_grade: pd.DataFrame
    champion_by_grade: pd.DataFrame | None
    grade_shares: dict[str, float]  # designed share of leads per grade (validation window)
    by_tier: pd.DataFrame  # test window
    win_rate_by_tier_all: pd.DataFrame  # every closed deal, disqualified ones included
    segments: pd.DataFrame  # per segment value: n, wins, win rate, AUC of model / points / champion
    segment_min_rows: int
    test_scores: pd.DataFrame  # won, model, points, [champion], ... on the test rows
    importance: pd.DataFrame  # per concept: kind, n_features, gain_share, mean_abs_shap, shap_share
    shap_sample: pd.DataFrame  # long: feature (label), shap, value_rank (0..1, NaN for categories)
    shap_rows: int
    examples: list[ExampleLead]
    window_drift: pd.DataFrame  # drift_table(training window, test window) with a concept column
    score_psi_window: float  # the model's scores, validation window vs test window
    version_drift: pd.DataFrame | None  # previous version's training window vs this one's
    score_psi_version: float | None  # previous champion vs this model, same test leads
    grade_change_share: float | None  # share of test leads whose grade differs from the previous champion's
    score_samples: dict[str, np.ndarray]  # label -> scores, for the distribution chart
    change_log: list[str]
    limitations: list[tuple[str, str]]  # (title, text)
    oracle_auc: float | None
    settings: CardSettings = field(default_factory=CardSettings)


# ----------------------------------------------------------------------------------------------------------
# Numbers for the card
# ----------------------------------------------------------------------------------------------------------


def has_scores(scores: pd.DataFrame, column: str | None) -> bool:
    """Whether the test scores hold a complete column (a flat export's "points" column is all missing)."""
    return column is not None and column in scores.columns and bool(scores[column].notna().all())


def bootstrap_pr_auc_interval(
    y: np.ndarray, score: np.ndarray, *, rounds: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the PR AUC (average precision); NaN without rounds or wins."""
    y_arr, s_arr = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if rounds <= 0 or len(y_arr) == 0 or y_arr.sum() == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):  # a loop over bootstrap rounds, each one vectorised over the rows
        idx = rng.integers(0, len(y_arr), size=len(y_arr))
        if y_arr[idx].sum() > 0:
            values.append(average_precision_score(y_arr[idx], s_arr[idx]))
    if not values:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def with_pr_intervals(
    comparison: pd.DataFrame, test_scores: pd.DataFrame, rounds: int, seed: int
) -> pd.DataFrame:
    """The comparison with pr_auc_low / pr_auc_high per contender (NaN when its scores are not at hand)."""
    out = comparison.copy()
    lows, highs = [], []
    for name in out["model"]:  # a handful of contenders
        column = RANKING_COLUMN.get(name)
        if has_scores(test_scores, column) and "won" in test_scores.columns:
            low, high = bootstrap_pr_auc_interval(
                test_scores["won"].to_numpy(), test_scores[column].to_numpy(), rounds=rounds, seed=seed
            )
        else:
            low, high = float("nan"), float("nan")
        lows.append(low)
        highs.append(high)
    out["pr_auc_low"], out["pr_auc_high"] = lows, highs
    return out


def segment_comparison(test_scores: pd.DataFrame, segments: pd.DataFrame, min_rows: int) -> pd.DataFrame:
    """Per value of each segment column: leads, wins, win rate, mean predicted, and the ROC AUC of the model,
    the points model and (when scored) the champion on that segment's test leads. Segments under `min_rows`
    leads get counts only (enough = False)."""
    y = test_scores["won"].to_numpy(dtype=float)
    contenders = {
        name: test_scores[column].to_numpy(dtype=float)
        for name, column in (("model", "model"), ("points_model", "points"), ("champion", "champion"))
        if has_scores(test_scores, column)
    }
    rows = []
    for column in segments.columns:  # loops over segment values, not over leads
        labels = segments[column].astype("str").fillna(MISSING_GROUP).to_numpy()
        for value in np.unique(labels):
            mask = labels == value
            enough = bool(mask.sum() >= min_rows)
            row: dict[str, Any] = {
                "segment": column,
                "value": str(value),
                "n": int(mask.sum()),
                "n_won": int(y[mask].sum()),
                "win_rate": float(y[mask].mean()),
                "mean_predicted": float(test_scores["model"].to_numpy(dtype=float)[mask].mean()),
                "enough": enough,
            }
            for name, score in contenders.items():
                row[f"auc_{name}"] = roc_auc(y[mask], score[mask]) if enough else float("nan")
            rows.append(row)
    columns = ["segment", "value", "n", "n_won", "win_rate", "mean_predicted", "enough"]
    return pd.DataFrame(rows, columns=[*columns, *(f"auc_{name}" for name in contenders)])


def _windows(frame: pd.DataFrame, y: np.ndarray, split: Split) -> pd.DataFrame:
    times = pd.to_datetime(frame["snapshot_at"])
    rows = []
    for name, idx in (("training", split.train), ("validation", split.valid), ("test", split.test)):
        rows.append(
            {
                "window": name,
                "start": times.iloc[idx].min(),
                "end": times.iloc[idx].max(),
                "deals": len(idx),
                "won": int(y[idx].sum()),
                "win_rate": float(y[idx].mean()) if len(idx) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def importance_by_concept(scorer: AnyScorer, sample: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per business concept: the LightGBM gain and the mean |SHAP| (log-odds) on `sample`, each as a share;
    and the per-feature contributions of the sample."""
    model = scorer.model
    gain = model.feature_importance()
    gain["concept"] = gain["feature"].map(concept_of)
    contributions = model.contributions(sample)
    by_concept = concept_contributions(contributions, model.feature_names).abs().mean()
    intent = set(scorer.groups["intent"])
    kind = (
        gain.assign(intent=gain["feature"].isin(intent)).groupby("concept")["intent"].mean()
    )  # share of a concept's features that are intent features
    table = pd.DataFrame(
        {
            "concept": by_concept.index.astype("str"),
            "mean_abs_shap": by_concept.to_numpy(dtype=float),
        }
    )
    table["kind"] = np.where(table["concept"].map(kind).fillna(0) >= 0.5, "intent", "fit")
    table["n_features"] = table["concept"].map(gain.groupby("concept").size()).fillna(0).astype(int)
    gain_by_concept = gain.groupby("concept")["gain"].sum()
    total_gain = gain_by_concept.sum()
    table["gain_share"] = table["concept"].map(gain_by_concept).fillna(0) / (total_gain or 1.0)
    table["shap_share"] = table["mean_abs_shap"] / (table["mean_abs_shap"].sum() or 1.0)
    table = table.sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)
    return table[
        ["concept", "kind", "n_features", "gain_share", "mean_abs_shap", "shap_share"]
    ], contributions


def feature_label(feature: str) -> str:
    """'n_pricing_page_30d' -> 'pricing page, 30 days'; other names with spaces for underscores."""
    if feature.startswith("n_") and feature.endswith("d") and feature.rsplit("_", 1)[-1][:-1].isdigit():
        what, window = feature[2:].rsplit("_", 1)
        return f"{what.replace('_', ' ')}, {window[:-1]} days"
    return feature.replace("_", " ")


def shap_beeswarm_frame(
    sample: pd.DataFrame, contributions: pd.DataFrame, feature_names: Sequence[str], top: int
) -> pd.DataFrame:
    """Long frame for the SHAP summary: the `top` features by mean |SHAP|, each sample row's contribution and
    its feature value's rank within the sample (0 low .. 1 high; NaN for categories and missing values)."""
    names = list(feature_names)
    mean_abs = contributions[names].abs().mean().sort_values(ascending=False, kind="stable")
    chosen = mean_abs.index[:top].tolist()
    values = sample[chosen]
    numeric = [c for c in chosen if pd.api.types.is_numeric_dtype(values[c]) or values[c].dtype == bool]
    ranks = pd.DataFrame(np.nan, index=values.index, columns=chosen)
    if numeric:
        ranks[numeric] = values[numeric].astype(float).rank(pct=True)
    shap_long = contributions[chosen].melt(var_name="feature", value_name="shap")
    rank_long = ranks.melt(var_name="feature", value_name="value_rank")
    return pd.DataFrame(
        {
            "feature": shap_long["feature"].map(feature_label).astype("str"),
            "order": shap_long["feature"].map({f: i for i, f in enumerate(chosen)}).astype(int),
            "shap": shap_long["shap"].to_numpy(dtype=float),
            "value_rank": rank_long["value_rank"].to_numpy(dtype=float),
        }
    )


def _facts(frame: pd.DataFrame) -> pd.Series:
    def words(column: str, suffix: str = "") -> pd.Series:
        if column not in frame.columns:
            return pd.Series("", index=frame.index, dtype="str")
        values = frame[column].astype("str").fillna("unknown").str.replace("_", " ")
        return values + suffix

    wanted = (
        ("industry", "", ""),
        ("employee_band", "", " employees"),
        ("seniority", "", ""),
        ("region", "", ""),
        ("lead_source", "via ", ""),
    )
    parts = [prefix + words(column, suffix) for column, prefix, suffix in wanted if column in frame.columns]
    if not parts:
        return pd.Series("", index=frame.index, dtype="str")
    out = parts[0]
    for part in parts[1:]:
        out = out + " \u00b7 " + part
    return out


def example_leads(
    scorer: AnyScorer, test: pd.DataFrame, p: np.ndarray, y: np.ndarray, as_of: pd.Timestamp
) -> list[ExampleLead]:
    """The highest-scored, a middle and the lowest-scored test lead, scored with their reasons."""
    if len(test) == 0:
        return []
    order = np.argsort(-p, kind="stable")
    picks = {
        "The highest-scored lead": int(order[0]),
        "A lead from the middle of the list": int(order[len(order) // 2]),
        "The lowest-scored lead": int(order[-1]),
    }
    rows = test.iloc[list(picks.values())]
    if isinstance(scorer, FlatScorer):
        scored = scorer.score_frame(rows, as_of, reasons=True).reset_index(drop=True)
    else:
        scored = scorer.score_frame(rows, reasons=True).reset_index(drop=True)
    facts = _facts(rows).reset_index(drop=True)
    out = []
    for i, (label, position) in enumerate(picks.items()):  # three leads
        row = scored.iloc[i]
        out.append(
            ExampleLead(
                label=label,
                lead_id=str(row["lead_id"]),
                score=float(row["score"]),
                grade=str(row["grade"]),
                fit_tier=str(row["fit_tier"]),
                intent_band=str(row["intent_band"]),
                won=bool(y[position]),
                facts=str(facts.iloc[i]) or "no company details in the data",
                reasons_positive=[r for r in str(row["reasons_positive"]).split("; ") if r],
                reasons_negative=[r for r in str(row["reasons_negative"]).split("; ") if r],
            )
        )
    return out


def _window_rows(frame: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    if start is None or end is None:
        return frame.iloc[0:0]
    times = pd.to_datetime(frame["snapshot_at"])
    return frame[(times >= pd.Timestamp(start)) & (times < pd.Timestamp(end))]


def _with_concepts(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out.insert(1, "concept", out["feature"].map(concept_of).astype("str"))
    return out


def change_log(
    scorer: AnyScorer,
    previous: AnyScorer | None,
    windows: pd.DataFrame,
    comparison: pd.DataFrame,
    version: str,
    trained_at: pd.Timestamp,
    decision: str,
    history: Sequence[str],
    unit: str = "closed deals",
) -> list[str]:
    """What changed in this version, in words: data window, features, calibration, ICP, gate verdict."""
    train = windows.set_index("window").loc["training"]
    name = f"Version {version}" if version else "This model (not registered)"
    lines = [
        f"{name}, trained {_day(trained_at)} on {int(train['deals']):,} {unit}"
        + (f" created {_day(train['start'])} to {_day(train['end'])}." if _has_date(train["start"]) else ".")
    ]
    model = scorer.model
    if previous is None:
        lines.append("First version: there is no earlier model to compare with.")
    else:
        old = previous.model
        label = f"version {previous.model_version}" if previous.model_version else "the previous champion"
        added = sorted(set(model.feature_names) - set(old.feature_names))
        removed = sorted(set(old.feature_names) - set(model.feature_names))
        lines.append(
            f"Compared with {label}: "
            + (f"{len(added)} features added ({', '.join(map(feature_label, added[:6]))}); " if added else "")
            + (
                f"{len(removed)} features removed ({', '.join(map(feature_label, removed[:6]))}); "
                if removed
                else ""
            )
            + ("same features; " if not added and not removed else "")
            + f"{model.best_iteration} trees (was {old.best_iteration}); calibration {model.calibrator.method} "
            f"(was {old.calibrator.method})."
        )
        old_window = (old.split_summary.get("train_start"), old.split_summary.get("valid_start"))
        new_window = (model.split_summary.get("train_start"), model.split_summary.get("valid_start"))
        if all(old_window) and all(new_window):
            lines.append(
                f"Training window unchanged: {_day(new_window[0])} to {_day(new_window[1])}."
                if old_window == new_window
                else f"Training window moved: {_day(old_window[0])} to {_day(old_window[1])} before, "
                f"{_day(new_window[0])} to {_day(new_window[1])} now."
            )
        if isinstance(previous, LeadScorer) and isinstance(scorer, LeadScorer):
            lines.append(
                "ICP definition "
                + ("unchanged." if previous.icp == scorer.icp else "changed since that version.")
            )
        a_now, a_old = model.grade_thresholds.get("A"), old.grade_thresholds.get("A")
        if a_now is not None and a_old is not None:
            lines.append(
                f"Grade A starts at a score of {_pct(a_now)}"
                + (" as before." if _pct(a_now) == _pct(a_old) else f" (was {_pct(a_old)}).")
            )
        rows = comparison.set_index("model")
        if "champion" in rows.index:
            lines.append(
                f"On the same test leads: ROC AUC {rows.loc['model', 'roc_auc']:.3f} against "
                f"{rows.loc['champion', 'roc_auc']:.3f} for {label}."
            )
    if decision:
        lines.append(f"Promotion gate: {decision}.")
    lines.extend(history)
    return lines


def limitations(
    segments: pd.DataFrame,
    min_rows: int,
    window_drift: pd.DataFrame,
    reliability: pd.DataFrame,
    n_deals: int,
    next_retrain: pd.Timestamp,
    synthetic: bool,
    notes: Sequence[str],
    unit: str = "closed deals",
) -> list[tuple[str, str]]:
    """The limitations and risks section, each item computed from this version's numbers."""
    items = [
        (
            "Feedback loop",
            f"The model learns from {n_deals:,} {unit} whose outcome is known, i.e. leads reps chose to work. "
            "Leads nobody worked never get an outcome, so the model cannot know how they would have done. If "
            "reps only call A and B leads from now on, the next training data will say little about C and D "
            "leads. Keep a small share of outreach for lower grades so the model keeps learning.",
        )
    ]
    small = segments[~segments["enough"]] if len(segments) else segments
    if len(small):
        listed = ", ".join(
            f"{SEGMENT_NAMES.get(s, s).lower()} {v.replace('_', ' ')} ({n:,})"
            for s, v, n in small[["segment", "value", "n"]].head(12).itertuples(index=False)
        )
        more = f" and {len(small) - 12} more" if len(small) > 12 else ""
        items.append(
            (
                "Segments with little data",
                f"{len(small)} segments have fewer than {min_rows:,} leads in the test window, too few to "
                f"measure ranking quality: {listed}{more}. Treat scores there with more caution.",
            )
        )
    shifted = window_drift[window_drift["psi"] >= 0.1] if len(window_drift) else window_drift
    if len(shifted):
        names = ", ".join(
            f"{feature_label(f)} (PSI {v:.2f})"
            for f, v in shifted[["feature", "psi"]].head(5).itertuples(index=False)
        )
        drift_text = (
            f"{len(shifted)} inputs already moved between the training and the test window: {names}. "
            "Lead behaviour, campaigns and markets change; a model trained on last year's leads slowly "
            "loses touch."
        )
    else:
        drift_text = (
            "No input moved noticeably between the training and the test window (every PSI below 0.1), but "
            "lead behaviour, campaigns and markets change; a model trained on last year's leads slowly loses "
            "touch."
        )
    items.append(("Drift", drift_text + f" The next scheduled retrain is {_day(next_retrain)}."))
    off = reliability[(reliability["gap"].abs() >= 0.10) & (reliability["n"] >= 20)]
    if len(off):
        bands = ", ".join(
            f"{_pct(lo)}{NBSP}to{NBSP}{_pct(hi)} (won {_pct(rate)})"
            for lo, hi, rate in off[["p_low", "p_high", "observed_rate"]].itertuples(index=False)
        )
        items.append(
            (
                "Calibration",
                f"In some score bands the observed win rate is 10 points or more away from the score: {bands}. "
                "Use the scores to rank leads; read them as exact chances with care in those bands.",
            )
        )
    if synthetic:
        items.append(
            (
                "Synthetic data",
                "These numbers come from a synthetic CRM history (the demo), not from real customers.",
            )
        )
    items.extend(("Note", note) for note in notes)
    return items


def build_card_data(
    *,
    scorer: AnyScorer,
    evaluation: Evaluation,
    frame: pd.DataFrame,
    y: np.ndarray,
    split: Split,
    excluded: Mapping[str, int],
    too_recent: int,
    win_rate_by_tier_all: pd.DataFrame,
    row_counts: pd.DataFrame,
    model_cfg: ModelConfig,
    trained_at: pd.Timestamp,
    run_id: str = "",
    version: str = "",
    decision: str = "",
    previous: AnyScorer | None = None,
    previous_test_p: np.ndarray | None = None,
    history: Sequence[str] = (),
    notes: Sequence[str] = (),
    settings: CardSettings | None = None,
) -> CardData:
    """Compute everything the card shows from a training result's pieces.

    `frame` and `y` are the closed deals the model was trained and tested on (TrainingData.frame / .y) and
    `split` their windows; `evaluation` was measured on split.test in the same order. `previous` is the
    champion this version was compared with; its test-window probabilities come from
    evaluation.test_scores["champion"] or `previous_test_p`. `history` adds registry lines to the change log,
    `notes` adds items to the limitations.
    """
    settings = settings or CardSettings()
    y = np.asarray(y, dtype=int)
    trained_at = pd.Timestamp(trained_at)
    test = frame.iloc[split.test]
    scores = evaluation.test_scores.reset_index(drop=True).copy()
    if previous_test_p is not None:
        scores["champion"] = np.asarray(previous_test_p, dtype=float)
    prev_p = scores["champion"].to_numpy(dtype=float) if "champion" in scores.columns else None
    if previous is None:
        prev_p = None
        scores = scores.drop(columns=["champion"], errors="ignore")
    y_test = scores["won"].to_numpy(dtype=int)
    p_test = scores["model"].to_numpy(dtype=float)

    windows = _windows(frame, y, split)
    guardrail = "fit_tier" in frame.columns
    unit = "closed deals" if guardrail else "leads"
    segment_frame = test[[c for c in SEGMENT_COLUMNS if c in test.columns]].reset_index(drop=True)
    segments = segment_comparison(scores, segment_frame, model_cfg.segment_min_rows)

    sample = test.sample(min(len(test), settings.shap_sample_rows), random_state=settings.seed)
    importance, contributions = importance_by_concept(scorer, sample)
    beeswarm = shap_beeswarm_frame(
        sample, contributions, scorer.model.feature_names, settings.beeswarm_features
    )

    window_drift = _with_concepts(drift_table(frame.iloc[split.train], test, scorer.model.feature_names))
    p_valid = scorer.model.predict_proba(frame.iloc[split.valid])
    score_samples = {"validation window": p_valid, "test window": p_test}
    version_drift, score_psi_version, grade_change, champion_gains, champion_by_grade = (None,) * 5
    if previous is not None:
        old = previous.model.split_summary
        reference = _window_rows(frame, old.get("train_start"), old.get("valid_start"))
        if len(reference):
            common = [f for f in scorer.model.feature_names if f in set(previous.model.feature_names)]
            version_drift = _with_concepts(drift_table(reference, frame.iloc[split.train], common))
        if prev_p is not None:
            score_psi_version = psi(prev_p, p_test)
            old_grades = assign_grades(prev_p, previous.model.grade_thresholds)
            grade_change = float((old_grades.to_numpy() != scores["grade"].astype("str").to_numpy()).mean())
            champion_gains = gains_table(y_test, prev_p)
            champion_by_grade = _conversion_by_grade(y_test, old_grades)
            score_samples["previous champion, test window"] = prev_p

    next_retrain = trained_at + pd.Timedelta(days=settings.retrain_every_days)
    comparison = evaluation.comparison
    if prev_p is not None and "champion" not in set(comparison["model"]):
        # The champion was scored here rather than at training: measure it like the other contenders.
        champion_row = evaluate(
            y_test,
            prev_p,
            bootstrap_rounds=model_cfg.bootstrap_rounds,
            seed=model_cfg.seed,
            ece_bins=model_cfg.ece_bins,
        )
        comparison = pd.concat(
            [comparison, pd.DataFrame([{"model": "champion", **champion_row}])], ignore_index=True
        )
    comparison = with_pr_intervals(comparison, scores, model_cfg.bootstrap_rounds, model_cfg.seed)
    counts = scorer.model.training_counts
    minimum = {
        "min_won": model_cfg.min_won,
        "min_lost": model_cfg.min_lost,
        "train_won": int(counts.get("n_won", y[split.train].sum())),
        "train_lost": int(counts.get("n_lost", len(split.train) - y[split.train].sum())),
        "min_valid": model_cfg.min_valid_per_class,
        "valid_won": int(y[split.valid].sum()),
        "valid_lost": int(len(split.valid) - y[split.valid].sum()),
    }
    oracle = evaluation.extra.get("oracle_auc")
    return CardData(
        model_name=scorer.model_name,
        model_version=str(version or scorer.model_version or ""),
        run_id=run_id,
        trained_at=trained_at,
        next_retrain=next_retrain,
        decision=decision,
        previous_version=str(previous.model_version) if previous is not None else "",
        has_previous=previous is not None,
        split_method=split.method,
        guardrail=guardrail,
        unit=unit,
        windows=windows,
        n_deals=len(frame),
        base_rate=float(y.mean()) if len(y) else float("nan"),
        excluded=excluded_counts_frame(dict(excluded)),
        too_recent=int(too_recent),
        maturity_days=model_cfg.maturity_days,
        minimum_data=minimum,
        row_counts=row_counts,
        comparison=comparison,
        gains=evaluation.gains,
        points_gains=evaluation.points_gains if len(evaluation.points_gains) else None,
        champion_gains=champion_gains,
        reliability=evaluation.reliability,
        by_grade=evaluation.by_grade,
        champion_by_grade=champion_by_grade,
        grade_shares={**model_cfg.grades.shares(), "D": 1 - sum(model_cfg.grades.shares().values())},
        by_tier=evaluation.by_tier,
        win_rate_by_tier_all=win_rate_by_tier_all,
        segments=segments,
        segment_min_rows=model_cfg.segment_min_rows,
        test_scores=scores,
        importance=importance,
        shap_sample=beeswarm,
        shap_rows=len(sample),
        examples=example_leads(scorer, test, p_test, y_test, trained_at),
        window_drift=window_drift,
        score_psi_window=psi(p_valid, p_test) if len(p_valid) and len(p_test) else float("nan"),
        version_drift=version_drift,
        score_psi_version=score_psi_version,
        grade_change_share=grade_change,
        score_samples=score_samples,
        change_log=change_log(
            scorer, previous, windows, comparison, str(version or ""), trained_at, decision, history, unit
        ),
        limitations=limitations(
            segments,
            model_cfg.segment_min_rows,
            window_drift,
            evaluation.reliability,
            len(frame),
            next_retrain,
            synthetic=oracle is not None,
            notes=notes,
            unit=unit,
        ),
        oracle_auc=float(oracle) if oracle is not None else None,
        settings=settings,
    )


def _conversion_by_grade(y: np.ndarray, grades: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"group": grades.astype("str").to_numpy(), "won": y})
    table = frame.groupby("group").agg(leads=("won", "size"), won=("won", "sum")).reset_index()
    table["win_rate"] = table["won"] / table["leads"]
    table["share_of_leads"] = table["leads"] / len(frame)
    return table


# ----------------------------------------------------------------------------------------------------------
# Words and numbers
# ----------------------------------------------------------------------------------------------------------


def _finite(x: Any) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _pct(x: Any, digits: int = 0) -> str:
    return f"{float(x) * 100:.{digits}f}{NBSP}%" if _finite(x) else DASH


def _num(x: Any, digits: int = 3) -> str:
    return f"{float(x):.{digits}f}" if _finite(x) else DASH


def _times(x: Any) -> str:
    return f"{float(x):.1f}\u00d7" if _finite(x) else DASH


def _int(x: Any) -> str:
    return f"{int(round(float(x))):,}" if _finite(x) else DASH


def _day(x: Any) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return DASH
    stamp = pd.Timestamp(x)
    return DASH if pd.isna(stamp) else f"{stamp.day} {stamp:%b %Y}"


def _has_date(x: Any) -> bool:
    return x is not None and not pd.isna(x)


def _interval(value: Any, low: Any, high: Any) -> str:
    if _finite(low) and _finite(high):
        return f"{_num(value)} ({_num(low)}\u2013{_num(high)})"
    return _num(value)


def _top_key(share: float) -> str:
    return f"top{round(share * 100)}"


def _version_name(data: CardData) -> str:
    return f"v{data.model_version}" if data.model_version else "(not registered)"


def contender_label(name: str, data: CardData) -> str:
    labels = {
        "model": f"This model (v{data.model_version})" if data.model_version else "This model",
        "points_model": "Points model",
        "logistic_regression": "Logistic regression",
        "champion": f"Previous champion (v{data.previous_version})"
        if data.previous_version
        else "Previous champion",
        "oracle": "Oracle (true chances)",
    }
    return labels.get(name, name.replace("_", " "))


def _capture_phrase(mine: float, theirs: float, who: str) -> str:
    diff = mine - theirs
    if abs(diff) < 0.02:
        return f"about as many as {who}"
    points = f"{abs(diff) * 100:.0f}{NBSP}percentage points"
    return f"{points} {'more' if diff > 0 else 'fewer'} than {who}"


def _auc_phrase(row: Mapping[str, float], other: float, who: str) -> str:
    auc = float(row["roc_auc"])
    low, high = float(row.get("roc_auc_low", np.nan)), float(row.get("roc_auc_high", np.nan))
    if _finite(low) and low > other:
        return f"clearly better than {who} ({_num(other)}: below this model's whole interval)"
    if _finite(high) and high < other:
        return f"clearly worse than {who} ({_num(other)})"
    if abs(auc - other) < 0.005:
        return f"level with {who} ({_num(other)})"
    side = "ahead of" if auc > other else "behind"
    return f"a little {side} {who} ({_num(other)}), within the margin of error"


def baseline_of(rows: pd.DataFrame) -> tuple[str, str] | None:
    """The baseline the summary compares with: the points model, or logistic regression without one (flat
    exports); (name, words) or None."""
    for name, words in (("points_model", "the points model"), ("logistic_regression", "logistic regression")):
        if name in rows.index:
            return name, words
    return None


def summary_sentences(data: CardData) -> list[str]:
    """The 30-second summary: what working the top leads buys, against the points model and the champion."""
    rows = data.comparison.set_index("model")
    baseline = baseline_of(rows)
    model = rows.loc["model"]
    share, key = data.settings.top_share, _top_key(data.settings.top_share)
    capture, lift = model[f"capture_{key}"], model[f"lift_{key}"]
    out = [
        f"Working the top {_pct(share)} of leads ranked by this model reaches {_pct(capture)} of the deals "
        f"won, {_times(lift)} the average."
    ]
    if baseline is not None:
        name, words = baseline
        points = rows.loc[name]
        out.append(
            f"{words[0].upper()}{words[1:]}'s top {_pct(share)} reaches {_pct(points[f'capture_{key}'])} of the "
            f"won deals ({_times(points[f'lift_{key}'])}): this model finds "
            f"{_capture_phrase(capture, points[f'capture_{key}'], words)} for the same effort."
        )
    if "champion" in rows.index:
        champion = rows.loc["champion"]
        out.append(
            f"The {contender_label('champion', data).lower()} reaches {_pct(champion[f'capture_{key}'])} on the "
            f"same leads: this version finds "
            f"{_capture_phrase(capture, champion[f'capture_{key}'], 'the previous champion')}."
        )
    elif data.has_previous:
        out.append(
            f"The {contender_label('champion', data).lower()} was not scored on these test leads, so it "
            "cannot be compared here."
        )
    else:
        out.append("This is the first version: there is no previous champion to compare with.")
    grades = data.by_grade.set_index("group")
    if {"A", "D"} <= set(grades.index):
        out.append(
            f"Grade A leads ({_pct(grades.loc['A', 'share_of_leads'])} of leads) won "
            f"{_pct(grades.loc['A', 'win_rate'])} of the time, grade D leads "
            f"({_pct(grades.loc['D', 'share_of_leads'])} of leads) {_pct(grades.loc['D', 'win_rate'])}; "
            f"on average {_pct(model['base_rate'])} of these leads won."
        )
    auc_words = "Ranking quality over all leads (ROC AUC; 0.5 is a coin toss, 1 is perfect) is " + _num(
        model["roc_auc"]
    )
    if baseline is not None:
        auc_words += ", " + _auc_phrase(model, rows.loc[baseline[0], "roc_auc"], baseline[1])
    if "champion" in rows.index:
        auc_words += "; against the previous champion: " + _auc_phrase(
            model, rows.loc["champion", "roc_auc"], "it"
        )
    out.append(auc_words + ".")
    out.append(
        f"A score is a probability: leads in the test window were given {_pct(model['mean_predicted'])} on "
        f"average and {_pct(model['base_rate'])} won; per score band the typical gap is "
        f"{model['ece'] * 100:.0f} percentage points."
    )
    if data.decision:
        out.append(gate_sentence(data))
    return out


def gate_sentence(data: CardData) -> str:
    """The promotion gate's verdict in one sentence (its checks are in the change log)."""
    name = f"Version {data.model_version}" if data.model_version else "This model"
    forced = [part for part in data.decision.split("; ") if part.startswith("forced: ")]
    if forced:
        return f"{name} was made the champion by override ({forced[0].removeprefix('forced: ')}); see the change log."
    if data.decision.startswith("promoted"):
        return f"{name} passed the promotion gate and became the champion; the gate's checks are in the change log."
    return f"{name} did not pass the promotion gate and is not the champion; the gate's checks are in the change log."


def summary_tiles(data: CardData) -> list[tuple[str, str]]:
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    key = _top_key(data.settings.top_share)
    grades = data.by_grade.set_index("group")
    baseline = baseline_of(rows)
    points = rows.loc[baseline[0]] if baseline is not None else None
    short = {"points_model": "points model", "logistic_regression": "logistic regression"}
    who = short[baseline[0]] if baseline is not None else ""
    tiles = [
        (
            _pct(model[f"capture_{key}"]),
            f"of won deals in the top {_pct(data.settings.top_share)} of leads"
            + (f" ({who} {_pct(points[f'capture_{key}'])})" if points is not None else ""),
        ),
        (_times(model[f"lift_{key}"]), "the average win rate in those leads"),
    ]
    if "A" in grades.index:
        tiles.append(
            (
                _pct(grades.loc["A", "win_rate"]),
                f"win rate of grade A leads ({_pct(model['base_rate'])} overall)",
            )
        )
    tiles.append(
        (
            _num(model["roc_auc"], 2),
            "ranking quality, ROC AUC"
            + (f" ({who} {_num(points['roc_auc'], 2)})" if points is not None else ""),
        )
    )
    return tiles


# ----------------------------------------------------------------------------------------------------------
# Charts (matplotlib Figure objects: no pyplot, no GUI backend, no global state)
# ----------------------------------------------------------------------------------------------------------


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, ncols)
    for ax in np.atleast_1d(axes):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.25, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    # Fast zlib level: a few percent larger files, a fifth less rendering time.
    fig.savefig(buffer, format="png", dpi=100, facecolor="white", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _curve(gains: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = gains["cumulative_leads"].iloc[-1]
    x = np.r_[0.0, gains["cumulative_leads"].to_numpy(dtype=float) / n]
    y = np.r_[0.0, gains["cumulative_capture"].to_numpy(dtype=float)]
    return x, y


def chart_gains(data: CardData) -> bytes:
    fig, (left, right) = _figure(11, 4.2, 2)
    share = data.settings.top_share
    for name, gains in (
        ("points_model", data.points_gains),
        ("champion", data.champion_gains),
        ("model", data.gains),
    ):
        if gains is None:
            continue
        x, y = _curve(gains)
        left.plot(
            x,
            y,
            color=COLORS[name],
            linewidth=2.4 if name == "model" else 1.8,
            label=contender_label(name, data),
            marker="o",
            markersize=3,
        )
    left.plot([0, 1], [0, 1], color=COLORS["random"], linestyle="--", label="Random order")
    x, y = _curve(data.gains)
    at = float(np.interp(share, x, y))
    left.scatter([share], [at], color=COLORS["model"], s=60, zorder=5)
    left.annotate(
        f"top {share:.0%} of leads:\n{at:.0%} of won deals",
        (share, at),
        xytext=(share + 0.1, max(at - 0.22, 0.04)),
        arrowprops={"arrowstyle": "-", "color": "#555"},
        fontsize=10,
    )
    left.set_xlabel("share of leads worked, best-scored first")
    left.set_ylabel("share of all won deals reached")
    left.set_title("Gains: won deals reached by working the top leads", loc="left", fontsize=11)
    _percent_axis(left.xaxis)
    _percent_axis(left.yaxis)
    left.set_xlim(0, 1)
    left.set_ylim(0, 1.02)
    left.legend(frameon=False, fontsize=8.5, loc="upper left")

    deciles = data.gains["decile"].to_numpy()
    width = 0.4
    if data.points_gains is None:
        right.bar(deciles, data.gains["win_rate"], 0.6, color=COLORS["model"], label="This model")
    else:
        right.bar(
            deciles - width / 2, data.gains["win_rate"], width, color=COLORS["model"], label="This model"
        )
        right.bar(
            deciles + width / 2,
            data.points_gains["win_rate"],
            width,
            color=COLORS["points_model"],
            label="Points model",
        )
    base = data.comparison.set_index("model").loc["model", "base_rate"]
    right.axhline(base, color="#333", linestyle=":", linewidth=1.2, label=f"average {base:.0%}")
    right.set_xticks(deciles)
    right.set_xlabel("decile of leads (1 = best-scored 10 %)")
    right.set_ylabel("win rate")
    right.set_title("Win rate per decile", loc="left", fontsize=11)
    _percent_axis(right.yaxis)
    right.legend(frameon=False, fontsize=8.5)
    return _png(fig)


def chart_roc_pr(data: CardData) -> bytes:
    fig, (left, right) = _figure(11, 4.0, 2)
    y = data.test_scores["won"].to_numpy(dtype=int)
    rows = data.comparison.set_index("model")
    for name in ("points_model", "champion", "model"):
        column = RANKING_COLUMN[name]
        if not has_scores(data.test_scores, column) or name not in rows.index:
            continue
        score = data.test_scores[column].to_numpy(dtype=float)
        fpr, tpr, _ = roc_curve(y, score)
        precision, recall, _ = precision_recall_curve(y, score)
        style = {"color": COLORS[name], "linewidth": 2.4 if name == "model" else 1.6}
        left.plot(fpr, tpr, label=f"{contender_label(name, data)}: {rows.loc[name, 'roc_auc']:.3f}", **style)
        right.plot(
            recall, precision, label=f"{contender_label(name, data)}: {rows.loc[name, 'pr_auc']:.3f}", **style
        )
    left.plot([0, 1], [0, 1], color=COLORS["random"], linestyle="--")
    right.axhline(y.mean(), color=COLORS["random"], linestyle="--", label=f"random: {y.mean():.3f}")
    left.set_xlabel("share of lost deals flagged")
    left.set_ylabel("share of won deals flagged")
    left.set_title("ROC curve (area = ROC AUC)", loc="left", fontsize=11)
    right.set_xlabel("share of won deals found (recall)")
    right.set_ylabel("share of flagged leads that won (precision)")
    right.set_title("Precision-recall curve (area = PR AUC)", loc="left", fontsize=11)
    for ax in (left, right):
        ax.legend(frameon=False, fontsize=8.5, loc="lower right" if ax is left else "upper right")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    return _png(fig)


def chart_calibration(data: CardData) -> bytes:
    fig, (left, right) = _figure(11, 4.0, 2)
    table = data.reliability
    left.plot([0, 1], [0, 1], color=COLORS["random"], linestyle="--", label="perfect calibration")
    sizes = 30 + 300 * table["n"] / max(table["n"].max(), 1)
    left.plot(table["mean_predicted"], table["observed_rate"], color=COLORS["model"], linewidth=1.5)
    left.scatter(
        table["mean_predicted"],
        table["observed_rate"],
        s=sizes,
        color=COLORS["model"],
        alpha=0.8,
        label="this model (dot size = leads)",
    )
    model = data.comparison.set_index("model").loc["model"]
    left.set_title(
        f"Reliability: Brier {model['brier']:.3f}, ECE {model['ece']:.3f}", loc="left", fontsize=11
    )
    left.set_xlabel("score given (mean per band)")
    left.set_ylabel("share that actually won")
    _percent_axis(left.xaxis)
    _percent_axis(left.yaxis)
    left.set_xlim(0, 1)
    left.set_ylim(0, 1)
    left.legend(frameon=False, fontsize=8.5, loc="upper left")

    labels = [f"{lo:.0%}\u2013{hi:.0%}" for lo, hi in zip(table["p_low"], table["p_high"], strict=True)]
    won = (table["n"] * table["observed_rate"]).round().to_numpy()
    lost = table["n"].to_numpy() - won
    x = np.arange(len(table))
    right.bar(x, won, color=COLORS["intent"], label="won")
    right.bar(x, lost, bottom=won, color="#d9dee6", label="lost")
    right.set_xticks(x, labels, rotation=45, ha="right", fontsize=8.5)
    right.set_xlabel("score band")
    right.set_ylabel("test leads")
    right.set_title("Test leads per score band", loc="left", fontsize=11)
    right.legend(frameon=False, fontsize=8.5)
    return _png(fig)


def chart_grades(data: CardData) -> bytes:
    with_tiers = len(data.win_rate_by_tier_all) > 0
    fig, axes = _figure(11, 3.8, 2) if with_tiers else _figure(5.5, 3.8)
    left, right = (axes[0], axes[1]) if with_tiers else (axes, None)
    grades = data.by_grade.set_index("group").reindex(["A", "B", "C", "D"]).dropna(subset=["leads"])
    bars = left.bar(
        grades.index, grades["win_rate"], color=[GRADE_COLORS[g] for g in grades.index], edgecolor="#1f5fa8"
    )
    for bar, (_, row) in zip(bars, grades.iterrows(), strict=True):
        left.text(
            bar.get_x() + bar.get_width() / 2,
            bar.get_height() + 0.01,
            f"{row['win_rate']:.0%} won\n{row['share_of_leads']:.0%} of leads",
            ha="center",
            va="bottom",
            fontsize=9,
        )
    base = data.comparison.set_index("model").loc["model", "base_rate"]
    left.axhline(base, color="#333", linestyle=":", linewidth=1.2)
    left.set_ylim(0, min(1.0, grades["win_rate"].max() * 1.35 + 0.05))
    left.set_title("Win rate by grade (test window)", loc="left", fontsize=11)
    left.set_ylabel("win rate")
    _percent_axis(left.yaxis)
    if right is None:
        return _png(fig)

    tiers = data.by_tier.set_index("group") if len(data.by_tier) else pd.DataFrame()
    all_closed = data.win_rate_by_tier_all.set_index("fit_tier")
    labels = list(all_closed.index)
    x = np.arange(len(labels))
    if len(tiers):
        right.bar(
            x - 0.2,
            tiers.reindex(labels)["win_rate"].fillna(0),
            0.4,
            color=COLORS["model"],
            label="test window (qualified leads)",
        )
    right.bar(
        x + 0.2,
        all_closed["win_rate"].fillna(0),
        0.4,
        color=COLORS["fit"],
        alpha=0.55,
        label="all closed deals (incl. disqualified)",
    )
    right.set_xticks(x, [f"tier {t}" for t in labels])
    right.set_title("Win rate by ICP fit tier", loc="left", fontsize=11)
    right.set_ylabel("win rate")
    _percent_axis(right.yaxis)
    right.legend(frameon=False, fontsize=8.5)
    return _png(fig)


def chart_importance(data: CardData) -> bytes:
    table = data.importance.head(data.settings.importance_concepts).iloc[::-1]
    fig, ax = _figure(6.4, 0.36 * len(table) + 1.3)
    colors = [COLORS[k] for k in table["kind"]]
    ax.barh(table["concept"], table["shap_share"], color=colors)
    for i, value in enumerate(table["shap_share"]):
        ax.text(value + 0.004, i, f"{value:.0%}", va="center", fontsize=9)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(color=COLORS["intent"], label="what the lead did (intent)"),
            Patch(color=COLORS["fit"], label="who the lead is (fit)"),
        ],
        frameon=False,
        fontsize=8.5,
        loc="lower right",
    )
    ax.set_xlabel("share of the score's movement (mean |SHAP|)")
    ax.set_title("What moves a score", loc="left", fontsize=11)
    _percent_axis(ax.xaxis)
    ax.grid(axis="y", visible=False)
    return _png(fig)


def chart_beeswarm(data: CardData) -> bytes:
    frame = data.shap_sample
    labels = frame.drop_duplicates("order").sort_values("order")["feature"].tolist()
    fig, ax = _figure(6.4, 0.36 * len(labels) + 1.5)
    rng = np.random.default_rng(data.settings.seed)
    y = (len(labels) - 1 - frame["order"].to_numpy()) + rng.uniform(-0.32, 0.32, len(frame))
    ranks = frame["value_rank"].to_numpy()
    known = ~np.isnan(ranks)
    ax.scatter(
        frame["shap"].to_numpy()[~known],
        y[~known],
        s=7,
        color="#9aa3ad",
        alpha=0.6,
        label="category / missing",
        linewidths=0,
    )
    points = ax.scatter(
        frame["shap"].to_numpy()[known],
        y[known],
        s=7,
        c=ranks[known],
        cmap="coolwarm",
        vmin=0,
        vmax=1,
        alpha=0.8,
        linewidths=0,
    )
    colorbar = fig.colorbar(points, ax=ax, pad=0.01, fraction=0.04)
    colorbar.set_ticks([0, 1], labels=["low", "high"])
    colorbar.set_label("feature value", fontsize=9)
    ax.axvline(0, color="#333", linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels[::-1], fontsize=9)
    ax.set_xlabel("effect on the score (log-odds; right = more likely to win)")
    ax.set_title(f"SHAP summary: {data.shap_rows:,} test leads", loc="left", fontsize=11)
    ax.grid(axis="y", visible=False)
    return _png(fig)


def chart_drift(data: CardData) -> bytes:
    fig, (left, right) = _figure(11, 4.0, 2)
    # Since the previous version when something moved; else the drift inside this version's own history.
    moved = data.version_drift
    versus = moved is not None and len(moved) > 0 and moved["psi"].max() >= 0.01
    source = moved if versus and moved is not None else data.window_drift
    table = source.head(data.settings.drift_rows).iloc[::-1]
    colors = np.where(
        table["psi"] >= 0.25, "#b5533c", np.where(table["psi"] >= 0.1, "#e8a33a", COLORS["fit"])
    )
    left.barh(table["feature"].map(feature_label), table["psi"], color=colors)
    for value, style in ((0.1, ":"), (0.25, "--")):
        left.axvline(value, color="#555", linestyle=style, linewidth=1)
    left.set_xlim(0, max(0.3, float(table["psi"].max()) * 1.15) if len(table) else 0.3)
    left.set_xlabel("PSI (0.1 moderate, 0.25 major shift)")
    left.set_title(
        "Inputs that moved most: "
        + ("previous vs this training window" if versus else "training vs test window"),
        loc="left",
        fontsize=11,
    )
    left.tick_params(axis="y", labelsize=8.5)
    left.grid(axis="y", visible=False)

    bins = np.linspace(0, 1, 21)
    styles = {
        "validation window": {"color": COLORS["random"], "linewidth": 2.0},
        "test window": {"color": COLORS["model"], "linewidth": 2.4},
        "previous champion, test window": {"color": COLORS["champion"], "linewidth": 1.8, "linestyle": "--"},
    }
    for label, values in data.score_samples.items():
        if len(values) == 0:
            continue
        weights = np.full(len(values), 1.0 / len(values))
        name = label.replace("validation window", "tuning window")
        right.hist(values, bins=bins, weights=weights, histtype="step", label=name, **styles.get(label, {}))
    right.set_xlabel("score")
    right.set_ylabel("share of leads")
    right.set_title("Score distribution", loc="left", fontsize=11)
    _percent_axis(right.xaxis)
    _percent_axis(right.yaxis)
    right.legend(frameon=False, fontsize=8.5)
    return _png(fig)


# ----------------------------------------------------------------------------------------------------------
# The document: sections of blocks, rendered to HTML and to Markdown alike
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Tiles:
    items: list[tuple[str, str]]


@dataclass
class Heading:
    text: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    note: str = ""
    numeric: list[bool] = field(default_factory=list)


@dataclass
class Chart:
    name: str
    png: bytes
    alt: str
    half: bool = False  # a one-panel chart alone in its row: half the page width


@dataclass
class ChartRow:
    charts: list[Chart]


@dataclass
class Example:
    lead: ExampleLead


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Any]


def _table(frame: pd.DataFrame, caption: str, note: str = "", text_columns: int = 1) -> Table:
    columns = [str(c) for c in frame.columns]
    rows = [[str(v) for v in row] for row in frame.itertuples(index=False)]
    numeric = [i >= text_columns for i in range(len(columns))]
    return Table(columns, rows, caption, note, numeric)


def section_summary(data: CardData) -> Section:
    return Section(
        "summary",
        "1. Summary",
        [Tiles(summary_tiles(data)), Bullets(summary_sentences(data))],
    )


def section_intended_use(data: CardData) -> Section:
    shares = data.grade_shares
    return Section(
        "intended-use",
        "2. Intended use and out of scope",
        [
            Para(
                "The model ranks open leads by their chance of turning into a won deal, so reps call the "
                "most promising ones first. Each lead gets a score (its estimated chance of winning), a "
                f"grade (A = the top {_pct(shares['A'])}, B the next {_pct(shares['B'])}, C the next "
                f"{_pct(shares['C'])}, D the rest) and the reasons behind it, in plain words."
            ),
            Heading("Use it to"),
            Bullets(
                [
                    "decide the order in which leads are worked and how fast they are followed up;",
                    "route A and B leads to senior reps and C and D leads to nurture campaigns;",
                    "see at a glance why a lead scores high or low (the reasons shown with each score).",
                ]
            ),
            Heading("Do not use it to"),
            Bullets(
                [
                    "ignore inbound leads: a lead who asked for a demo still gets a reply, whatever its grade;",
                    "explain why deals are won: the model finds patterns that go with winning, it does not "
                    "show cause and effect (visiting the pricing page does not make a lead buy);",
                    "judge reps, set quotas or compensation, or decide anything about individual people;",
                    *(
                        [
                            "rank leads the ICP guardrail disqualified (competitors, students, free email and "
                            "the other reasons below): they are always graded D and listed last, whatever "
                            "their score.",
                        ]
                        if data.guardrail
                        else []
                    ),
                ]
            ),
        ],
    )


def section_data(data: CardData) -> Section:
    windows = data.windows.set_index("window")
    minimum = data.minimum_data
    passed = (
        minimum["train_won"] >= minimum["min_won"]
        and minimum["train_lost"] >= minimum["min_lost"]
        and minimum["valid_won"] >= minimum["min_valid"]
        and minimum["valid_lost"] >= minimum["min_valid"]
    )
    excluded_total = int(data.excluded.set_index("reason").loc["total", "excluded"])
    dated = _has_date(data.windows["start"].iloc[0])
    if data.split_method == "out_of_time":
        how = (
            "Rows are split by date: the model learns from the oldest, is tuned on the next ones and is tested "
            "on the most recent, which it never saw, just as it will meet next month's leads."
        )
    else:
        how = (
            "The data has no usable dates, so whole accounts (or leads) were drawn at random into the "
            "training, tuning and test sets; none is on two sides."
        )
    target = (
        "A lead counts as won when its deal closed as won and as lost when its deal closed as lost; open "
        "deals are not used. Each lead is described as it was on the day its deal was created, so the model "
        "never sees what happened later. "
        if data.guardrail
        else "A lead counts as won when the export marks it as converted. The export's columns that only fill "
        "in after a lead converts were left out, so the model sees what was known before. "
    )
    unit = data.unit

    def window_words(name: str) -> str:
        row = windows.loc[name]
        when = f" created {_day(row['start'])} to {_day(row['end'])}" if dated else ""
        return f"{_int(row['deals'])} {unit}{when}"

    bullets = [
        f"{data.n_deals:,} {unit} used, {_pct(data.base_rate)} of them won (the base rate).",
        f"Training: {window_words('training')}; tuning (early stopping, calibration, grade cut-offs): "
        f"{window_words('validation')}; test: {window_words('test')}, {_pct(windows.loc['test', 'win_rate'])} "
        "won.",
    ]
    if data.guardrail:
        bullets += [
            f"{excluded_total:,} closed deals were left out by the ICP guardrail (table below): disqualified "
            "leads do not teach the model.",
            f"{data.too_recent:,} closed deals created in the last {data.maturity_days} days of the history were "
            "left out as too recent: only the quick ones have closed yet, which would skew the win rate.",
        ]
    else:
        bullets.append("The ICP guardrail does not apply to a flat export: no lead was left out by it.")
    bullets.append(
        f"Minimum-data check {'passed' if passed else 'NOT passed'}: the training window has "
        f"{minimum['train_won']:,} won and {minimum['train_lost']:,} lost (at least {minimum['min_won']:,} "
        f"and {minimum['min_lost']:,} required); the tuning window {minimum['valid_won']:,} won and "
        f"{minimum['valid_lost']:,} lost (at least {minimum['min_valid']:,} each)."
    )
    columns: dict[str, Any] = {
        "window": data.windows["window"].replace({"validation": "tuning (validation)"}),
    }
    if dated:
        columns["created from"] = data.windows["start"].map(_day)
        columns["to"] = data.windows["end"].map(_day)
    columns.update(
        {
            unit: data.windows["deals"].map(_int),
            "won": data.windows["won"].map(_int),
            "win rate": data.windows["win_rate"].map(_pct),
        }
    )
    blocks: list[Any] = [
        Para(target + how),
        Bullets(bullets),
        _table(pd.DataFrame(columns), "Training, tuning and test windows", text_columns=3 if dated else 1),
    ]
    if data.guardrail:
        excluded = data.excluded
        excluded_table = pd.DataFrame(
            {
                "reason": [
                    REASON_LABELS.get(r, "any reason (a deal can have several)") for r in excluded["reason"]
                ],
                "code": excluded["reason"],
                "closed deals excluded": excluded["excluded"].map(_int),
            }
        )
        blocks.append(
            _table(excluded_table, "Closed deals excluded by the ICP guardrail, per reason", text_columns=2)
        )
    counts = data.row_counts
    if len(counts):
        contract = pd.DataFrame(
            {
                "table": counts["table"],
                "rows read": counts["read"].map(_int),
                "valid": counts["valid"].map(_int),
                "quarantined (bad data)": counts["quarantined"].map(_int),
            }
        )
        blocks.append(_table(contract, "Data contract: rows read, valid and quarantined"))
    return Section("data", "3. Target, windows and data", blocks)


def _comparison_table(data: CardData) -> Table:
    key = _top_key(data.settings.top_share)
    rows = []
    order = {name: i for i, name in enumerate(CONTENDER_ORDER)}
    records = sorted(data.comparison.to_dict("records"), key=lambda r: order.get(r["model"], len(order)))
    for row in records:
        rows.append(
            [
                contender_label(row["model"], data),
                _interval(row["roc_auc"], row.get("roc_auc_low"), row.get("roc_auc_high")),
                _interval(row["pr_auc"], row.get("pr_auc_low"), row.get("pr_auc_high")),
                _num(row["brier"]),
                _num(row["ece"]),
                _pct(row["capture_top10"]),
                _pct(row[f"capture_{key}"]),
                _pct(row["capture_top30"]),
                _times(row[f"lift_{key}"]),
            ]
        )
    columns = [
        "contender",
        "ROC AUC (95 % interval)",
        "PR AUC (95 % interval)",
        "Brier",
        "ECE",
        "wins in top 10 %",
        f"wins in top {_pct(data.settings.top_share)}",
        "wins in top 30 %",
        f"lift at {_pct(data.settings.top_share)}",
    ]
    return Table(
        columns,
        rows,
        "Every contender on the same test leads",
        "ROC AUC: chance that a won lead is ranked above a lost one. PR AUC: precision averaged over all "
        "cut-offs (random order gets the base rate). Brier and ECE: how far scores are from outcomes "
        "(lower is better). Wins in top x %: share of all won deals among the x % best-scored leads. "
        "Intervals: bootstrap over the test leads.",
        [False] + [True] * 8,
    )


def _decile_table(data: CardData) -> Table:
    gains, points = data.gains, data.points_gains
    frame = pd.DataFrame(
        {
            "decile": gains["decile"].map(str),
            "leads": gains["leads"].map(_int),
            "won": gains["won"].map(_int),
            "win rate": gains["win_rate"].map(_pct),
            "share of wins so far": gains["cumulative_capture"].map(_pct),
            "lift": gains["lift"].map(_times),
        }
    )
    if points is not None:
        frame["points model: win rate"] = points["win_rate"].map(_pct)
        frame["points model: wins so far"] = points["cumulative_capture"].map(_pct)
    if data.champion_gains is not None:
        frame["previous champion: wins so far"] = data.champion_gains["cumulative_capture"].map(_pct)
    return _table(
        frame,
        "Decile table: test leads ranked by score, cut into ten equal slices (1 = best)",
        "Points-model slices share out tied scores in proportion." if points is not None else "",
    )


def _grade_table(data: CardData) -> Table:
    grades = data.by_grade.set_index("group")
    frame = pd.DataFrame(
        {
            "grade": grades.index,
            "designed share": [_pct(data.grade_shares.get(g)) for g in grades.index],
            "share of test leads": grades["share_of_leads"].map(_pct),
            "leads": grades["leads"].map(_int),
            "won": grades["won"].map(_int),
            "win rate": grades["win_rate"].map(_pct),
            "share of all wins": grades["share_of_wins"].map(_pct),
        }
    )
    if data.champion_by_grade is not None:
        old = data.champion_by_grade.set_index("group").reindex(grades.index)
        frame["previous champion: win rate"] = old["win_rate"].map(_pct).to_numpy()
        frame["previous champion: share"] = old["share_of_leads"].map(_pct).to_numpy()
    return _table(
        frame,
        "Conversion by grade (test window)",
        "Designed share: grade cut-offs were frozen so that each grade holds this share of the tuning window.",
    )


def _tier_table(data: CardData) -> Table:
    all_closed = data.win_rate_by_tier_all.set_index("fit_tier")
    tiers = data.by_tier.set_index("group").reindex(all_closed.index) if len(data.by_tier) else None
    frame = pd.DataFrame({"ICP fit tier": all_closed.index})
    if tiers is not None:
        frame["test leads"] = tiers["leads"].map(_int).to_numpy()
        frame["test win rate"] = tiers["win_rate"].map(_pct).to_numpy()
    frame["all closed deals"] = all_closed["closed_deals"].map(_int).to_numpy()
    frame["win rate, all closed deals"] = all_closed["win_rate"].map(_pct).to_numpy()
    return _table(
        frame,
        "Win rate by ICP fit tier",
        "All closed deals include the ones the guardrail disqualified; the test window holds qualified "
        "leads only.",
    )


def _segment_table(data: CardData) -> Table:
    seg = data.segments
    has_champion = "auc_champion" in seg.columns
    frame = pd.DataFrame(
        {
            "segment": seg["segment"].map(lambda s: SEGMENT_NAMES.get(s, s)),
            "value": seg["value"].str.replace("_", " "),
            "test leads": seg["n"].map(_int),
            "won": seg["n_won"].map(_int),
            "win rate": seg["win_rate"].map(_pct),
            "mean score": seg["mean_predicted"].map(_pct),
            "ROC AUC: this model": seg["auc_model"].map(_num),
        }
    )
    if "auc_points_model" in seg.columns:
        frame["ROC AUC: points model"] = seg["auc_points_model"].map(_num)
    if has_champion:
        frame["ROC AUC: previous champion"] = seg["auc_champion"].map(_num)
    return _table(
        frame,
        "Per segment (test window): is the model as good everywhere?",
        f"{DASH} : fewer than {data.segment_min_rows:,} test leads, too few to measure ranking quality. "
        "Mean score against win rate shows whether a segment is over- or under-scored.",
        text_columns=2,
    )


def performance_sentences(data: CardData) -> list[str]:
    rows = data.comparison.set_index("model")
    model = rows.loc["model"]
    out = [
        f"All numbers below are measured on the {int(model['n']):,} "
        + ("most recent " if data.split_method == "out_of_time" else "held-out ")
        + f"{data.unit} (the test window), which the model never saw while learning.",
    ]
    first_decile = data.gains.iloc[0]
    last_decile = data.gains.iloc[-1]
    out.append(
        f"The best-scored tenth of leads won {_pct(first_decile['win_rate'])} of the time, the worst-scored "
        f"tenth {_pct(last_decile['win_rate'])}; the average was {_pct(model['base_rate'])}."
    )
    worst = data.reliability.loc[data.reliability["gap"].abs().idxmax()] if len(data.reliability) else None
    calibration = (
        f"Scores are calibrated to within {model['ece'] * 100:.0f} percentage points on average (ECE "
        f"{_num(model['ece'])}, Brier {_num(model['brier'])})"
    )
    if worst is not None:
        side = "above" if worst["gap"] > 0 else "below"
        calibration += (
            f"; the largest gap is for scores of {_pct(worst['p_low'])} to {_pct(worst['p_high'])}, where the "
            f"win rate was {abs(worst['gap']) * 100:.0f} percentage points {side} the score"
        )
    out.append(calibration + ".")
    segments = data.segments
    measured = segments[segments["enough"] & segments["auc_model"].notna()] if len(segments) else segments
    if len(measured):
        lowest = measured.loc[measured["auc_model"].idxmin()]
        highest = measured.loc[measured["auc_model"].idxmax()]
        out.append(
            f"Across the {len(measured)} segments large enough to measure, ROC AUC runs from "
            f"{_num(lowest['auc_model'])} ({SEGMENT_NAMES.get(lowest['segment'], lowest['segment']).lower()} "
            f"{lowest['value'].replace('_', ' ')}) to {_num(highest['auc_model'])} "
            f"({SEGMENT_NAMES.get(highest['segment'], highest['segment']).lower()} "
            f"{highest['value'].replace('_', ' ')})."
        )
    if data.oracle_auc is not None:
        out.append(
            f"On this synthetic history the true probabilities themselves reach a ROC AUC of "
            f"{_num(data.oracle_auc)}: no model can rank better than that."
        )
    return out


def section_performance(data: CardData) -> Section:
    champion = data.champion_gains is not None
    rivals = (
        "this model, the points model and the previous champion"
        if champion
        else "this model and the points model"
    )
    return Section(
        "performance",
        "4. Performance on the "
        + ("out-of-time test window" if data.split_method == "out_of_time" else "held-out test set"),
        [
            Bullets(performance_sentences(data)),
            _comparison_table(data),
            ChartRow(
                [
                    Chart(
                        "gains",
                        chart_gains(data),
                        "Gains chart: share of won deals reached against share of leads worked, for "
                        f"{rivals}; and the win rate per decile.",
                    )
                ]
            ),
            _decile_table(data),
            ChartRow(
                [
                    Chart(
                        "roc_pr",
                        chart_roc_pr(data),
                        f"ROC and precision-recall curves of {rivals} on the test leads.",
                    )
                ]
            ),
            ChartRow(
                [
                    Chart(
                        "calibration",
                        chart_calibration(data),
                        "Reliability chart: the score given against the share of leads that actually won, "
                        "per score band; and how many test leads fall in each band.",
                    )
                ]
            ),
            ChartRow(
                [
                    Chart(
                        "grades",
                        chart_grades(data),
                        "Win rate and share of leads per grade A to D"
                        + (", and win rate per ICP fit tier." if len(data.win_rate_by_tier_all) else "."),
                        half=not len(data.win_rate_by_tier_all),
                    )
                ]
            ),
            _grade_table(data),
            *([_tier_table(data)] if len(data.win_rate_by_tier_all) else []),
            *([_segment_table(data)] if len(data.segments) else []),
        ],
    )


def drivers_sentences(data: CardData) -> list[str]:
    top = data.importance.head(3)
    intent_share = float(data.importance.loc[data.importance["kind"] == "intent", "shap_share"].sum())
    names = [str(c) for c in top["concept"]]
    return [
        f"What moves a score most: {', '.join(names[:-1])} and {names[-1]}; together "
        f"{_pct(top['shap_share'].sum())} of the movement in scores."
        if len(names) > 1
        else f"What moves a score most: {names[0] if names else DASH}.",
        f"{_pct(intent_share)} of a score's movement comes from what the lead did (visits, demo requests, "
        f"email engagement, recency) and {_pct(1 - intent_share)} from who the lead is (industry, size, role, "
        "region, source).",
        "Related features are summed into one business concept (for example the pricing-page visits over 7, "
        "30 and 90 days), the same concepts the reasons next to each score speak of.",
    ]


def section_drivers(data: CardData) -> Section:
    imp = data.importance
    frame = pd.DataFrame(
        {
            "concept": imp["concept"],
            "kind": np.where(imp["kind"] == "intent", "what they did", "who they are"),
            "features": imp["n_features"].map(_int),
            "share of score movement (SHAP)": imp["shap_share"].map(lambda v: _pct(v, 1)),
            "mean |SHAP| (log-odds)": imp["mean_abs_shap"].map(_num),
            "share of tree gain": imp["gain_share"].map(lambda v: _pct(v, 1)),
        }
    )
    return Section(
        "drivers",
        "5. Drivers: what the score is made of",
        [
            Bullets(drivers_sentences(data)),
            ChartRow(
                [
                    Chart(
                        "importance",
                        chart_importance(data),
                        "Bar chart: share of the score's movement per business concept, intent and fit "
                        "coloured apart.",
                    ),
                    Chart(
                        "shap_summary",
                        chart_beeswarm(data),
                        "SHAP summary: for the most influential features, each dot is one test lead, placed "
                        "by how much the feature raised or lowered its score and coloured by the feature's "
                        "value.",
                    ),
                ]
            ),
            _table(
                frame,
                f"Importance by business concept ({data.shap_rows:,} test leads explained)",
                "SHAP: how far each concept moves a lead's score, on average, in log-odds. Tree gain: how much "
                "the model's trees rely on the concept while learning.",
                text_columns=2,
            ),
            Heading("Three example leads from the test window, as a rep sees them"),
            *[Example(lead) for lead in data.examples],
        ],
    )


def drift_sentences(data: CardData) -> list[str]:
    out = []
    if data.has_previous:
        who = f"version {data.previous_version}" if data.previous_version else "the previous champion"
        if data.score_psi_version is not None:
            out.append(
                f"Against {who} on the same test leads: score distribution PSI {data.score_psi_version:.3f} "
                f"({psi_level(data.score_psi_version)}); "
                f"{_pct(data.grade_change_share)} of the leads would get a different grade."
            )
        if data.version_drift is not None and len(data.version_drift):
            moved = data.version_drift[data.version_drift["psi"] >= 0.1]
            out.append(
                f"Training data against {who}'s training window: "
                + (
                    f"{len(moved)} of {len(data.version_drift)} inputs shifted (PSI at least 0.1), the most "
                    f"{feature_label(moved.iloc[0]['feature'])} (PSI {moved.iloc[0]['psi']:.2f})."
                    if len(moved)
                    else f"no input shifted noticeably (every PSI below 0.1 across "
                    f"{len(data.version_drift)} inputs)."
                )
            )
    else:
        out.append("First version: there is no previous version to compare with.")
    drift = data.window_drift
    moved = drift[drift["psi"] >= 0.1]
    out.append(
        "Within this version's history, from the training to the test window: "
        + (
            f"{len(moved)} of {len(drift)} inputs shifted (PSI at least 0.1), the most "
            f"{feature_label(moved.iloc[0]['feature'])} (PSI {moved.iloc[0]['psi']:.2f}); "
            if len(moved)
            else f"no input shifted noticeably (every PSI below 0.1 across {len(drift)} inputs); "
        )
        + f"the score distribution moved by PSI {_num(data.score_psi_window)} ({psi_level(data.score_psi_window)}) "
        "from the tuning to the test window."
    )
    out.append(
        f"Next scheduled retrain: {_day(data.next_retrain)} ({data.settings.retrain_every_days} days after "
        "training)."
    )
    return out


def _drift_frame(table: pd.DataFrame, rows: int, reference: str, current: str) -> pd.DataFrame:
    top = table.head(rows)
    return pd.DataFrame(
        {
            "input": top["feature"].map(feature_label),
            "concept": top["concept"],
            "PSI": top["psi"].map(_num),
            "shift": top["level"],
            reference: top["reference_summary"],
            current: top["current_summary"],
        }
    )


def section_drift(data: CardData) -> Section:
    blocks: list[Any] = [Bullets(drift_sentences(data))]
    blocks.append(
        ChartRow(
            [
                Chart(
                    "drift",
                    chart_drift(data),
                    "Population stability index of the inputs that moved most, and the distribution of the "
                    "scores in the tuning and the test window"
                    + (
                        " and of the previous champion on the test leads."
                        if data.score_psi_version is not None
                        else "."
                    ),
                )
            ]
        )
    )
    if data.version_drift is not None and len(data.version_drift):
        blocks.append(
            _table(
                _drift_frame(data.version_drift, data.settings.drift_rows, "before", "now"),
                "Largest shifts since the previous version (its training window against this one's)",
                "PSI below 0.1: stable; 0.1 to 0.25: moderate shift; above 0.25: major shift.",
                text_columns=2,
            )
        )
    blocks.append(
        _table(
            _drift_frame(data.window_drift, data.settings.drift_rows, "training window", "test window"),
            "Largest shifts from the training window to the test window",
            "PSI below 0.1: stable; 0.1 to 0.25: moderate shift; above 0.25: major shift.",
            text_columns=2,
        )
    )
    blocks.append(Heading("Change log"))
    blocks.append(Bullets(data.change_log))
    return Section("drift", "6. Drift and change", blocks)


def section_limitations(data: CardData) -> Section:
    return Section(
        "limitations",
        "7. Limitations and risks",
        [Bullets([f"**{title}.** {text}" for title, text in data.limitations])],
    )


def card_sections(data: CardData) -> list[Section]:
    """The seven sections in order (ids in SECTION_IDS)."""
    return [
        section_summary(data),
        section_intended_use(data),
        section_data(data),
        section_performance(data),
        section_drivers(data),
        section_drift(data),
        section_limitations(data),
    ]


# ----------------------------------------------------------------------------------------------------------
# HTML and Markdown
# ----------------------------------------------------------------------------------------------------------

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #f3f5f8; color: #1d2330; font: 15px/1.55 "Segoe UI", "Helvetica Neue", Arial,
  "DejaVu Sans", sans-serif; }
header { background: #14365d; color: #fff; padding: 28px 0 22px; }
header .inner, main { max-width: 1140px; margin: 0 auto; padding: 0 32px; }
header h1 { margin: 0 0 4px; font-size: 27px; font-weight: 650; letter-spacing: .2px; }
header .meta { color: #c9d6e6; font-size: 13.5px; }
header .badge { display: inline-block; background: #2e9e6f; color: #fff; border-radius: 12px; padding: 1px 10px;
  font-size: 12.5px; font-weight: 600; margin-left: 8px; vertical-align: 3px; }
header .badge.refused { background: #b5533c; }
nav { max-width: 1140px; margin: 14px auto 0; padding: 0 32px; font-size: 13.5px; }
nav a { color: #1f5fa8; text-decoration: none; margin-right: 16px; }
section { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px rgba(20, 40, 70, .10);
  margin: 18px 0; padding: 22px 30px 26px; }
h2 { margin: 0 0 14px; font-size: 21px; color: #14365d; }
h3 { margin: 22px 0 8px; font-size: 16px; color: #14365d; }
p { margin: 8px 0; }
ul { margin: 8px 0; padding-left: 22px; }
li { margin: 4px 0; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin: 4px 0 16px; }
.tile { background: #eef3fa; border-radius: 8px; padding: 14px 16px; }
.tile .big { font-size: 32px; font-weight: 700; color: #14365d; line-height: 1.15; }
.tile .small { font-size: 13px; color: #4a5567; }
.table-wrap { overflow-x: auto; margin: 14px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; color: #14365d; padding-bottom: 6px; }
th { background: #f0f3f7; font-weight: 600; color: #344054; text-align: left; }
th, td { padding: 5px 9px; border-bottom: 1px solid #e4e8ee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td:first-child { white-space: nowrap; }
tr:nth-child(even) td { background: #fafbfc; }
.note { font-size: 12.5px; color: #5b6575; margin: 4px 0 0; }
.charts { display: flex; gap: 14px; align-items: flex-start; margin: 14px 0; }
.charts figure { margin: 0; flex: 1 1 0; min-width: 0; }
.charts figure.half { flex: 0 0 calc(50% - 7px); }
.charts img { width: 100%; height: auto; border: 1px solid #e4e8ee; border-radius: 6px; }
figcaption { font-size: 12.5px; color: #5b6575; margin-top: 4px; }
.examples { display: grid; grid-template-columns: repeat(3, 1fr); gap: 14px; }
.example { border: 1px solid #e4e8ee; border-top: 4px solid #1f5fa8; border-radius: 8px; padding: 12px 14px;
  font-size: 13.5px; }
.example h4 { margin: 0 0 2px; font-size: 14px; color: #14365d; }
.example .score { font-size: 24px; font-weight: 700; color: #14365d; }
.example .facts { color: #5b6575; font-size: 12.5px; margin: 2px 0 6px; }
.example .outcome-won { color: #2e7d4f; font-weight: 600; }
.example .outcome-lost { color: #9a3b2b; font-weight: 600; }
.example ul { padding-left: 18px; }
.plus { color: #2e7d4f; } .minus { color: #9a3b2b; }
footer { color: #7a8494; font-size: 12px; text-align: center; padding: 10px 0 30px; }
@media print { body { background: #fff; } section { box-shadow: none; page-break-inside: avoid; } }
"""


def _inline(text: str) -> str:
    """Escape for HTML; **bold** becomes <strong>."""
    escaped = html.escape(text)
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)

    def cls(i: int) -> str:
        return ' class="num"' if numeric[i] else ""

    head = "".join(f"<th{cls(i)}>{html.escape(c)}</th>" for i, c in enumerate(table.columns))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{html.escape(v)}</td>" for i, v in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (
        f'<div class="table-wrap"><table><caption>{html.escape(table.caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}</div>"
    )


def _html_chart(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    half = ' class="half"' if chart.half else ""
    return (
        f'<figure{half}><img id="chart-{chart.name}" src="data:image/png;base64,{data}" '
        f'alt="{html.escape(chart.alt)}">'
        f"<figcaption>{html.escape(chart.alt)}</figcaption></figure>"
    )


def _html_example(lead: ExampleLead) -> str:
    outcome = (
        '<span class="outcome-won">went on to win</span>'
        if lead.won
        else '<span class="outcome-lost">was lost</span>'
    )
    plus = "".join(f'<li><span class="plus">+</span> {html.escape(r)}</li>' for r in lead.reasons_positive)
    minus = "".join(
        f'<li><span class="minus">\u2212</span> {html.escape(r)}</li>' for r in lead.reasons_negative
    )
    return (
        f'<div class="example"><h4>{html.escape(lead.label)}</h4>'
        f'<div><span class="score">{_pct(lead.score)}</span> grade {html.escape(lead.grade)}, fit tier '
        f"{html.escape(lead.fit_tier)}, {html.escape(lead.intent_band)} intent</div>"
        f'<div class="facts">{html.escape(lead.lead_id)} \u00b7 {html.escape(lead.facts)}</div>'
        f"<ul>{plus}{minus}</ul><div>This deal {outcome}.</div></div>"
    )


def _html_blocks(blocks: Sequence[Any]) -> str:
    out: list[str] = []
    examples: list[str] = []
    for block in blocks:  # a few dozen blocks
        if isinstance(block, Example):
            examples.append(_html_example(block.lead))
            continue
        if examples:
            out.append(f'<div class="examples">{"".join(examples)}</div>')
            examples = []
        out.append(_HTML_BLOCK[type(block)](block))
    if examples:
        out.append(f'<div class="examples">{"".join(examples)}</div>')
    return "\n".join(out)


_HTML_BLOCK: dict[type, Callable[[Any], str]] = {
    Para: lambda b: f"<p>{_inline(b.text)}</p>",
    Bullets: lambda b: "<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>",
    Heading: lambda b: f"<h3>{html.escape(b.text)}</h3>",
    Tiles: lambda b: (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><div class="big">{html.escape(big)}</div><div class="small">{html.escape(small)}'
            "</div></div>"
            for big, small in b.items
        )
        + "</div>"
    ),
    Table: _html_table,
    ChartRow: lambda b: '<div class="charts">' + "".join(_html_chart(c) for c in b.charts) + "</div>",
}


def _title(data: CardData) -> str:
    return f"Model card: {data.model_name} {_version_name(data)}"


def _meta(data: CardData) -> str:
    run = f" \u00b7 MLflow run {data.run_id}" if data.run_id else ""
    return (
        f"Lead scoring model \u00b7 trained {_day(data.trained_at)} \u00b7 next retrain "
        f"{_day(data.next_retrain)}{run}"
    )


def _badge(data: CardData) -> tuple[str, str]:
    if not data.decision:
        return "", ""
    promoted = data.decision.startswith("promoted")
    return ("promoted to champion" if promoted else "not promoted"), ("" if promoted else " refused")


def to_html(data: CardData, sections: Sequence[Section]) -> str:
    badge, badge_class = _badge(data)
    badge_html = f'<span class="badge{badge_class}">{html.escape(badge)}</span>' if badge else ""
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(
        f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>\n{_html_blocks(s.blocks)}\n</section>'
        for s in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(_title(data))}</title><style>{CSS}</style></head><body>\n"
        f'<header><div class="inner"><h1>{html.escape(_title(data))}{badge_html}</h1>'
        f'<div class="meta">{html.escape(_meta(data))}</div></div></header>\n'
        f"<nav>{nav}</nav>\n<main>\n{body}\n</main>\n"
        "<footer>Generated by leadscore. Numbers come from the training run named above; the Markdown twin "
        "of this page holds the same sections and tables.</footer>\n</body></html>\n"
    )


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    numeric = table.numeric or [False] * len(table.columns)
    lines = [
        f"**{table.caption}**",
        "",
        "| " + " | ".join(_md_cell(c) for c in table.columns) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
        *("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows),
    ]
    if table.note:
        lines += ["", f"_{table.note}_"]
    return "\n".join(lines)


def _md_example(lead: ExampleLead) -> str:
    outcome = "went on to win" if lead.won else "was lost"
    lines = [
        f"**{lead.label}**: {_pct(lead.score)}, grade {lead.grade}, fit tier {lead.fit_tier}, "
        f"{lead.intent_band} intent ({lead.lead_id} \u00b7 {lead.facts}). This deal {outcome}.",
        "",
        *(f"- + {r}" for r in lead.reasons_positive),
        *(f"- \u2212 {r}" for r in lead.reasons_negative),
    ]
    return "\n".join(lines)


_MD_BLOCK: dict[type, Callable[[Any], str]] = {
    Para: lambda b: b.text,
    Bullets: lambda b: "\n".join(f"- {i}" for i in b.items),
    Heading: lambda b: f"### {b.text}",
    Tiles: lambda b: (
        "| "
        + " | ".join(f"**{big}**" for big, _ in b.items)
        + " |\n|"
        + "---|" * len(b.items)
        + "\n| "
        + " | ".join(_md_cell(small) for _, small in b.items)
        + " |"
    ),
    Table: _md_table,
    ChartRow: lambda b: "\n\n".join(f"> Chart ({c.name}, in the HTML card): {c.alt}" for c in b.charts),
    Example: lambda b: _md_example(b.lead),
}


def to_markdown(data: CardData, sections: Sequence[Section]) -> str:
    lines = [f"# {_title(data)}", "", _meta(data) + ".", ""]
    if data.decision:
        lines += [f"Status: {_badge(data)[0]}.", ""]
    for section in sections:
        lines += [f'<a id="{section.id}"></a>', "", f"## {section.title}", ""]
        for block in section.blocks:
            lines += [_MD_BLOCK[type(block)](block), ""]
    lines.append(
        "_The charts are in the HTML card; this Markdown twin has the same sections, sentences and tables._"
    )
    return "\n".join(lines).replace(NBSP, " ") + "\n"


def render_card(data: CardData) -> tuple[str, str]:
    """The card as (self-contained HTML, Markdown twin). Sections carry the ids in SECTION_IDS."""
    import matplotlib

    with matplotlib.rc_context({"font.size": 10, "axes.titleweight": "bold", "font.family": "DejaVu Sans"}):
        sections = card_sections(data)
    return to_html(data, sections), to_markdown(data, sections)
