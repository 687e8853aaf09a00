"""What the card needs: its settings, CardData (everything it shows, already computed) and
build_card_data with the helpers that compute it from a training result's pieces."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from features.flat import spelled
from features.icp import excluded_counts_frame
from models.compare import SEGMENT_COLUMNS, Evaluation, scoring_grades
from models.config import ModelConfig, known_maturity
from models.drift import drift_table, psi
from models.evaluate import (
    MISSING_GROUP,
    TOP_SHARES,
    evaluate,
    gains_table,
    roc_auc,
    rows_by_value,
)
from models.explain import concept_contributions, concept_of
from models.formatting import NBSP, counted, day_text, has_date, pct_text
from models.promotion import learned_by_champion, learned_window
from models.score_table import GRADES
from models.scorer import Scorer
from models.splits import Split
from models.train import TrainedModel

AnyScorer = Scorer  # the scorer contract (models/scorer.py), for CRM tables or a flat export

# Column of Evaluation.test_scores that ranks each contender (the points model ranks by its raw points).
RANKING_COLUMN = {
    "model": "model",
    "points_model": "points",
    "logistic_regression": "logistic_regression",
    "champion": "champion",
    "oracle": "oracle",
}
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
    call_a_within_days: int = 1  # the first page's advice: reach grade A leads within this many working days
    call_b_within_days: int = 5  # and grade B leads within this many

    def __post_init__(self) -> None:
        if not any(abs(self.top_share - share) < 1e-9 for share in TOP_SHARES):
            raise ValueError(f"top_share must be one of {TOP_SHARES} (the shares the evaluation measures)")


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
    guardrail: bool  # False for a flat export whose spec maps no ICP columns: nothing disqualified
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
    score_psi_window: float  # the model's scores, reference_scores' rows vs test window
    version_drift: pd.DataFrame | None  # previous version's training window vs this one's
    score_psi_version: float | None  # previous champion vs this model, same test leads
    grade_change_share: float | None  # share of test leads whose grade differs from the previous champion's
    score_samples: dict[str, np.ndarray]  # label -> scores, for the distribution chart
    change_log: list[str]
    limitations: list[tuple[str, str]]  # (title, text)
    oracle_auc: float | None
    settings: CardSettings = field(default_factory=CardSettings)
    # Today's open leads (the end of the training data), scored with this model at training; None when not
    # counted (a flat export, no open leads, or a card recorded before they were counted: open_note says why).
    open_grades: pd.DataFrame | None = None  # grade, leads, disqualified, qualified (A to D)
    open_reasons: pd.DataFrame | None = None  # reason (code), leads: disqualified open leads per reason
    open_as_of: pd.Timestamp | None = None
    open_note: str = ""
    chosen_model: str = ""  # the contender training chose, as a CONTENDER_NAMES key ("" when not recorded)
    # The exploration slice of past call lists (models.queue.exploration_outcomes), when call lists with
    # outcomes were given to `leadscore card --calls`; None otherwise (the card then has no such section).
    exploration: pd.DataFrame | None = None
    # The signals the data has, so the card's words follow them: a flat export (not CRM tables), whether it
    # has intent columns (else no intent band) and a demo-request signal (else no "asked for a demo").
    flat_export: bool = False
    # A flat export's outcome in its spec's words (label column, won / lost / open values, leaky columns left
    # out), so a reader sees what the model learnt to predict; "" for CRM tables and cards built before it.
    export_outcome: str = ""
    intent_signal: bool = True
    demo_signal: bool = True
    # Disqualified rows kept in training and test (icp.exclude_disqualified_in_training off); 0 when left out.
    kept_disqualified: int = 0
    # The model that ships was trained again on every usable deal after its test (model.refit_on_test_window):
    # how many it learnt from; 0 when the tested model ships.
    refit_deals: int = 0
    # Deals before the test window the tested model did not learn: their outcome came after the test window
    # began, or they were younger than maturity_days then (model.split.known_at_test_start); 0 when none.
    not_known: int = 0
    not_known_days: int = 0  # how old a deal had to be then to be known (model.maturity_days)
    # Or, when too few deals were known then to train on, how many such deals it learnt all the same.
    learnt_later: int = 0
    # How the tested model was tuned inside its learning window (training + validation): its selection folds
    # and their kind ("time_ordered" or "grouped"), and the newest out-of-fold rows its calibration and grade
    # cut-offs were set on; 0 / "" for a model recorded before these were.
    selection_folds: int = 0
    fold_kind: str = ""
    calibration_rows: int = 0
    # Versions registered before this one (the change log's "Earlier:" lines): with no previous champion
    # compared, the card must not call this the first version when they exist.
    earlier_versions: int = 0


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
    predicted = test_scores["model"].to_numpy(dtype=float)
    rows = []
    for column in segments.columns:  # loops over segment values, not over leads
        labels = segments[column].astype("str").fillna(MISSING_GROUP).to_numpy()
        for value, positions in rows_by_value(labels):
            enough = bool(len(positions) >= min_rows)
            row: dict[str, Any] = {
                "segment": column,
                "value": str(value),
                "n": len(positions),
                "n_won": int(y[positions].sum()),
                "win_rate": float(y[positions].mean()),
                "mean_predicted": float(predicted[positions].mean()),
                "enough": enough,
            }
            for name, score in contenders.items():
                row[f"auc_{name}"] = roc_auc(y[positions], score[positions]) if enough else float("nan")
            rows.append(row)
    columns = ["segment", "value", "n", "n_won", "win_rate", "mean_predicted", "enough"]
    return pd.DataFrame(rows, columns=[*columns, *(f"auc_{name}" for name in contenders)])


def largest_segments(segments: pd.DataFrame, max_values: int) -> pd.DataFrame:
    """`segment_comparison`'s rows with at most `max_values` values per segment column: the largest, in their
    order, and one row "other (K values)" pooling the rest (leads, wins, win rate and mean score; no AUC).
    `small_values` counts the values under the minimum rows each row stands for (the pooled row: all of its)."""
    parts = []
    for _, rows in segments.groupby("segment", sort=False):
        if len(rows) <= max_values:
            parts.append(rows)
            continue
        kept = rows.loc[rows["n"].nlargest(max_values, keep="first").index]
        rest = rows.drop(kept.index)
        n = int(rest["n"].sum())
        pooled = {
            "segment": rows["segment"].iloc[0],
            "value": f"other ({len(rest):,} values)",
            "n": n,
            "n_won": int(rest["n_won"].sum()),
            "win_rate": float(rest["n_won"].sum() / n) if n else float("nan"),
            "mean_predicted": float((rest["mean_predicted"] * rest["n"]).sum() / n) if n else float("nan"),
            "enough": False,
            "small_values": int((~rest["enough"].astype(bool)).sum()),
        }
        parts += [rows.loc[sorted(kept.index)], pd.DataFrame([pooled])]
    out = pd.concat(parts, ignore_index=True) if parts else segments
    out = out.reindex(columns=[*segments.columns, "small_values"])
    out["small_values"] = out["small_values"].fillna((~out["enough"].astype(bool)).astype(int)).astype(int)
    return out


def small_segments(segments: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The segment values too small to measure: the rows to name (a pooled "other" row is none, whatever its
    leads) and how many values there are in all, those pooled in "other" included."""
    if not len(segments):
        return segments, 0
    small = ~segments["enough"].astype(bool)
    if "small_values" not in segments.columns:  # a card recorded before the pooled row counted its values
        return segments[small], int(small.sum())
    counts = segments["small_values"].fillna(small.astype(int)).astype(int)
    named = small & counts.eq(1) & ~pooled_rows(segments)
    return segments[named], int(counts.sum())


def pooled_rows(segments: pd.DataFrame) -> pd.Series:
    """Which rows of `largest_segments` are a column's "other (K values)" row."""
    return segments["value"].astype("str").str.fullmatch(r"other \([\d,]+ values?\)") & ~segments["enough"]


HELD_BACK = "held back (outcome not known when the test began)"


def _windows(frame: pd.DataFrame, y: np.ndarray, split: Split) -> pd.DataFrame:
    times = pd.to_datetime(frame["snapshot_at"])
    rows = []
    windows = [("training", split.train), ("validation", split.valid)]
    if len(split.not_known):  # before the test window, not known when it began: learnt only by the refit
        windows.append((HELD_BACK, split.not_known))
    for name, idx in (*windows, ("test", split.test)):
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
    # A feature no concept claims (an export's column) is its own concept: named in words, not "visits_count".
    table["concept"] = table["concept"].map(feature_label)
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


CODE = r"[\d.,-]+"  # a value that is a number: a code, named with its column where the card shows it


def _facts(frame: pd.DataFrame) -> pd.Series:
    def words(column: str, suffix: str = "") -> pd.Series:
        if column not in frame.columns:
            return pd.Series("", index=frame.index, dtype="str")
        values = frame[column].astype("str").fillna("unknown").str.replace("_", " ")
        if not suffix:  # a number alone ("4": an export's Region code) says nothing: "region 4"
            values = values.where(~values.str.fullmatch(CODE), column.replace("_", " ") + " " + values)
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


_DEMO = re.compile(r"\bdemos?\b")


def data_signals(scorer: AnyScorer) -> tuple[bool, bool, bool]:
    """(a flat export, it has intent columns, it has a demo-request signal): CRM tables have every signal;
    an export has what its spec's fit and intent columns (names, feature names, labels) say."""
    spec = getattr(scorer, "spec", None)
    if spec is None:
        return False, True, True
    columns = [*spec.fit_columns, *spec.intent_columns]
    names = [*columns, *(spec.feature_name(c) for c in columns), *spec.labels.values()]
    words = " ".join(names).casefold().replace("_", " ")
    return True, bool(spec.intent_columns), _DEMO.search(words) is not None


def export_outcome_words(scorer: AnyScorer) -> str:
    """A flat export's outcome as its spec defines it, in words: which label values are won, lost and open,
    and which columns were left out as written after the outcome; "" for CRM tables."""
    spec = getattr(scorer, "spec", None)
    if spec is None:
        return ""

    def values(listed: tuple) -> str:
        return " or ".join(repr(str(v)) for v in listed)

    lost = (
        f"as lost when it is {values(spec.negative_labels)}" if spec.negative_labels else "as lost otherwise"
    )
    text = f"A lead counts as won when its {spec.label_column!r} is {values(spec.positive_labels)} and {lost}"
    if spec.open_labels:
        text += f"; leads still {values(spec.open_labels)} are scored, never learnt from"
    text += "."
    if spec.leaky_columns:
        text += (
            " Left out as filled in once the outcome was known: "
            f"{', '.join(repr(c) for c in spec.leaky_columns)}, so the model sees what was known before."
        )
    return text + " "


def example_leads(scorer: AnyScorer, test: pd.DataFrame, p: np.ndarray, y: np.ndarray) -> list[ExampleLead]:
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
    scored = scorer.score_frame(rows, reasons=True).reset_index(drop=True)
    facts = _facts(spelled(rows, getattr(scorer, "level_spellings", {}))).reset_index(drop=True)
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
                facts=str(facts.iloc[i])
                or ("" if data_signals(scorer)[0] else "no company details in the data"),
                reasons_positive=[r for r in str(row["reasons_positive"]).split("; ") if r],
                reasons_negative=[r for r in str(row["reasons_negative"]).split("; ") if r],
            )
        )
    return out


# The score chart's reference: the rows the grade cut-offs were set on, each scored by a model that had not
# learnt it (TrainedModel.cutoff_scores); the validation window's own scores are the fallback of older models.
CUTOFF_SCORES = "grade cut-off rows (out of fold)"
VALIDATION_SCORES = "validation window"


def reference_scores(model: TrainedModel, valid: pd.DataFrame) -> tuple[np.ndarray, str]:
    """The scores the test window's are compared with, and their label. The final model learnt the validation
    window, so its scores there are in-sample: narrower than on new leads, they showed a score shift between
    validation and test that was the model's fit, not drift."""
    cutoff = np.asarray(model.cutoff_scores, dtype=float)  # empty for a model pickled before it kept them
    if len(cutoff):
        return cutoff, CUTOFF_SCORES
    return np.asarray(model.predict_proba(valid), dtype=float), VALIDATION_SCORES


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
    previous_learned: int = 0,
    gate_compared: bool = True,
) -> list[str]:
    """What changed in this version, in words: data window, features, calibration, ICP, gate verdict.
    `previous_learned`: how many of the test rows the previous version was trained and tuned on;
    `gate_compared`: whether the promotion gate compared the two (else the card scored the previous one)."""
    train = windows.set_index("window").loc["training"]
    name = f"Version {version}" if version else "This model (not registered)"
    lines = [
        f"{name}, trained {day_text(trained_at)} on {int(train['deals']):,} {unit}"
        + (
            f" created {day_text(train['start'])} to {day_text(train['end'])}."
            if has_date(train["start"])
            else "."
        )
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
            + (f"{counted(len(added), 'feature')} added ({_first_names(added)}); " if added else "")
            + (f"{counted(len(removed), 'feature')} removed ({_first_names(removed)}); " if removed else "")
            + ("same features; " if not added and not removed else "")
            + f"{model.best_iteration} trees (was {old.best_iteration}); calibration {model.calibrator.method} "
            f"(was {old.calibrator.method})."
        )
        old_window = (old.split_summary.get("train_start"), old.split_summary.get("valid_start"))
        new_window = (model.split_summary.get("train_start"), model.split_summary.get("valid_start"))
        if all(old_window) and all(new_window):
            lines.append(
                f"Training window unchanged: {day_text(new_window[0])} to {day_text(new_window[1])}."
                if old_window == new_window
                else f"Training window moved: {day_text(old_window[0])} to {day_text(old_window[1])} before, "
                f"{day_text(new_window[0])} to {day_text(new_window[1])} now."
            )
        if previous.icp is not None and scorer.icp is not None:  # both apply an ICP guardrail
            lines.append(
                "ICP definition "
                + ("unchanged." if previous.icp == scorer.icp else "changed since that version.")
            )
        a_now, a_old = model.grade_thresholds.get("A"), old.grade_thresholds.get("A")
        if a_now is not None and a_old is not None:
            lines.append(
                f"Grade A starts at a score of {pct_text(a_now)}"
                + (" as before." if pct_text(a_now) == pct_text(a_old) else f" (was {pct_text(a_old)}).")
            )
        rows = comparison.set_index("model")
        if "champion" in rows.index:
            lines.append(
                f"On the same test leads: ROC AUC {rows.loc['model', 'roc_auc']:.3f} against "
                f"{rows.loc['champion', 'roc_auc']:.3f} for {label}"
                + (
                    f" ({label} was trained and tuned on {previous_learned:,} of them, which flatters it"
                    + (
                        ")."
                        if not gate_compared
                        else "; the promotion gate compared the two on the others only)."
                        if previous_learned < int(rows.loc["model", "n"])
                        else "; with no other deals, the promotion gate could not compare the two)."
                    )
                    if previous_learned
                    else "."
                )
            )
    lines.extend(selection_lines(getattr(model, "selection", None) or {}))
    if decision:
        lines.append(f"Promotion gate: {decision}.")
    lines.extend(history)
    return lines


CONTENDER_NAMES = {
    "lightgbm": "LightGBM",
    "linear_lightgbm": "LightGBM boosted from a logistic regression",
    "blend": "a blend of LightGBM and a logistic regression",
}


def _first_names(features: Sequence[str], shown: int = 6) -> str:
    """The first `shown` features in words, and how many more there are: a list never looks complete when
    it is not."""
    more = f" and {len(features) - shown} more" if len(features) > shown else ""
    return ", ".join(map(feature_label, features[:shown])) + more


def oof_interval_text(selection: Mapping[str, Any]) -> str:
    """The out-of-fold AUC's interval ("0.71 to 0.77"), or that none was drawn (model.bootstrap_rounds 0:
    the record's ends are the AUC itself, no interval)."""
    if selection.get("bootstrap_rounds") == 0:
        return "no interval: model.bootstrap_rounds was 0"
    if math.isnan(float(selection["oof_auc_low"])):  # every resample of some held-out block of one outcome
        return "no interval: the folds' held-out blocks were too small to resample"
    return f"{selection['oof_auc_low']:.3f} to {selection['oof_auc_high']:.3f}"


def selection_lines(selection: Mapping[str, Any]) -> list[str]:
    """How training chose the model and which features the drift check left out, in words (none for a
    model trained before training recorded its choice)."""
    if not selection.get("contenders"):
        return []
    chosen = selection["chosen"]
    record = selection["contenders"][chosen]
    weight = f", tree weight {record['tree_weight']:.2f}" if "tree_weight" in record else ""
    folds = "time-ordered" if selection["folds"] == "time_ordered" else "grouped"
    losses = "; ".join(
        f"{CONTENDER_NAMES.get(name, name)} {c['log_loss']:.4f}"
        for name, c in selection["contenders"].items()
    )
    lines = [
        f"Model chosen: {CONTENDER_NAMES.get(chosen, chosen)} ({record['trees']} trees{weight}), the lowest "
        f"out-of-fold log loss on {selection['n_folds']} {folds} folds inside the training window ({losses}); "
        f"out-of-fold ROC AUC {selection['oof_auc']:.3f} ({oof_interval_text(selection)})."
    ]
    drift = selection.get("drift", {})
    seasons = drift.get("not_recurring", [])
    dropped = [name for name in drift.get("dropped", []) if name not in seasons]
    if dropped:
        lines.append(
            f"Left out as time-identifying (alone, each tells the most recent deals from older ones with AUC "
            f">= {drift['threshold']}): {', '.join(map(feature_label, dropped))}."
        )
    if drift.get("linear_only"):
        lines.append(
            "Time-identifying numbers read by the linear part only (it extrapolates them; trees cannot): "
            + ", ".join(map(feature_label, drift["linear_only"]))
            + "."
        )
    if drift.get("contenders"):
        lines.append(
            "So only the trees boosted from the linear part competed: they read those numbers in full, where "
            "plain trees cannot read them and a blend could weigh them down to nothing."
        )
    reading = selection.get("calibration_reading")
    if reading:
        lines.append(
            "Calibrated on scores that read "
            + ", ".join(map(feature_label, reading["features"]))
            + " as the final model does, not as each selection fold did before they moved (the newest "
            f"held-out deals' log-odds moved by {reading['mean_shift']:+.2f} on average)."
        )
    if seasons:
        lines.append(
            "Left out, though model.drift.keep lists it: "
            + ", ".join(map(feature_label, seasons))
            + ". The training deals do not cover the year, so the months seen name their period and the "
            "months to be scored were never seen (a history too short for them to recur)."
        )
    if drift.get("recurring"):
        lines.append(
            "Time-identifying but kept, since most of the newest deals hold levels that the deals of the "
            "period before hold too (what a lasting level says carries on into the next period): "
            + ", ".join(
                f"{feature_label(name)} ({share:.0%} of them)" for name, share in drift["recurring"].items()
            )
            + "."
        )
    if drift.get("kept"):
        lines.append(
            "Time-identifying but kept (model.drift.keep): "
            + ", ".join(map(feature_label, drift["kept"]))
            + "."
        )
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
    small, n_small = small_segments(segments)
    if n_small:
        listed = ", ".join(
            f"{SEGMENT_NAMES.get(s, s).lower()} {'not given' if v == MISSING_GROUP else v.replace('_', ' ')} ({n:,})"
            for s, v, n in small[["segment", "value", "n"]].head(12).itertuples(index=False)
        )
        shown = min(len(small), 12)
        more = f" and {n_small - shown:,} more" if n_small > shown else ""
        items.append(
            (
                "Segments with little data",
                f"{counted(n_small, 'segment')} {'has' if n_small == 1 else 'have'} fewer than "
                f"{min_rows:,} leads in the test window, too few to "
                f"measure ranking quality: {listed}{more}. Treat scores there with more caution.",
            )
        )
    shifted = window_drift[window_drift["psi"] >= 0.1] if len(window_drift) else window_drift
    if len(shifted):
        names = ", ".join(feature_label(f) for f in shifted["feature"].head(5))
        drift_text = (
            f"{counted(len(shifted), 'input')} already moved between the training and the test window: {names} (how "
            "far each moved is in the appendix). "
            "Lead behaviour, campaigns and markets change; a model trained on last year's leads slowly "
            "loses touch."
        )
    else:
        drift_text = (
            "No input moved noticeably between the training and the test window (the appendix measures each), but "
            "lead behaviour, campaigns and markets change; a model trained on last year's leads slowly loses "
            "touch."
        )
    items.append(("Drift", drift_text + f" The next scheduled retrain is {day_text(next_retrain)}."))
    off = reliability[(reliability["gap"].abs() >= 0.10) & (reliability["n"] >= 20)]
    if len(off):
        bands = ", ".join(
            f"{pct_text(lo)}{NBSP}to{NBSP}{pct_text(hi)} (won {pct_text(rate)})"
            for lo, hi, rate in off[["p_low", "p_high", "observed_rate"]].itertuples(index=False)
        )
        items.append(
            (
                "Calibration",
                f"In some score bands the observed win rate is 10 points or more away from the score: {bands}. "
                "Use the scores to rank leads; read them as exact chances with care in those bands.",
            )
        )
    level = level_gap(reliability)
    if level is not None:
        items.append(level)
    if synthetic:
        items.append(
            (
                "Synthetic data",
                "These numbers come from a synthetic CRM history (the demo), not from real customers.",
            )
        )
    items.extend(("Note", note) for note in notes)
    return items


def level_gap(reliability: pd.DataFrame, min_gap: float = 0.03) -> tuple[str, str] | None:
    """A limitation item when the test window's mean score and its won share differ by `min_gap` or more: the
    level follows the win rate one retrain late (learnt from the newest deals whose outcome is known)."""
    n = reliability["n"].to_numpy(dtype=float) if len(reliability) else np.zeros(0)
    if n.sum() == 0:
        return None
    mean_score = float(n @ reliability["mean_predicted"].to_numpy(dtype=float) / n.sum())
    won_share = float(n @ reliability["observed_rate"].to_numpy(dtype=float) / n.sum())
    if abs(won_share - mean_score) < min_gap:
        return None
    direction = "below" if mean_score < won_share else "above"
    # the gap between the two whole percentages shown, so that 12 % and 8 % are 4 points apart, not 3
    shown = abs(int(f"{mean_score * 100:.0f}") - int(f"{won_share * 100:.0f}"))
    return (
        "Level",
        f"In the test window the scores averaged {pct_text(mean_score)} while {pct_text(won_share)} of those deals "
        f"were won: the scores sit {direction} the newest win rate by {shown} "
        "points. Their level is learnt from the newest deals whose outcome is known, so when the win rate moves "
        "the scores follow one retrain late. The ranking is not affected; a forecast that adds up scores "
        "should correct for this gap.",
    )


@dataclass
class AgainstPrevious:
    """How this version compares with the champion it replaces, on the test window (None without one)."""

    drift: pd.DataFrame | None = None  # features, the previous training window against this one's
    score_psi: float | None = None
    grade_change: float | None = None  # share of test leads whose grade changed
    gains: pd.DataFrame | None = None
    by_grade: pd.DataFrame | None = None


def _against_previous(
    scorer: AnyScorer,
    previous: AnyScorer | None,
    prev_p: np.ndarray | None,
    frame: pd.DataFrame,
    shown: pd.DataFrame,
    split: Split,
    scores: pd.DataFrame,
) -> AgainstPrevious:
    """The previous champion's training window against this one's (in `shown`: `frame` with levels as the
    export spelled them), and its test-window scores against these."""
    against = AgainstPrevious()
    if previous is None:
        return against
    old = previous.model.split_summary
    reference = _window_rows(shown, old.get("train_start"), old.get("valid_start"))
    if len(reference):
        common = [f for f in scorer.model.feature_names if f in set(previous.model.feature_names)]
        # Both training windows by their dates: the tested model's own training rows leave out the deals
        # not known on its test window's first day (known_at_test_start), which the previous window holds.
        current = _window_rows(shown, split.train_start, split.valid_start)
        current = current if len(current) else shown.iloc[split.train]
        against.drift = _with_concepts(drift_table(reference, current, common))
    if prev_p is not None:
        y_test = scores["won"].to_numpy(dtype=int)
        old_grades = scoring_grades(prev_p, previous.model.grade_thresholds, frame.iloc[split.test])
        against.score_psi = psi(prev_p, scores["model"].to_numpy(dtype=float))
        against.grade_change = float(
            (old_grades.to_numpy() != scores["grade"].astype("str").to_numpy()).mean()
        )
        against.gains = gains_table(y_test, prev_p)
        against.by_grade = _conversion_by_grade(y_test, old_grades)
    return against


def _with_champion_row(
    comparison: pd.DataFrame, y_test: np.ndarray, prev_p: np.ndarray, model_cfg: ModelConfig
) -> pd.DataFrame:
    """The comparison with the champion measured like the other contenders (it was scored here, not at
    training)."""
    row = evaluate(
        y_test,
        prev_p,
        bootstrap_rounds=model_cfg.bootstrap_rounds,
        seed=model_cfg.seed,
        ece_bins=model_cfg.ece_bins,
    )
    return pd.concat([comparison, pd.DataFrame([{"model": "champion", **row}])], ignore_index=True)


def minimum_data_counts(model: Any, model_cfg: ModelConfig, y: np.ndarray, split: Split) -> dict[str, int]:
    """The minimum-data settings and the counts they were checked on: the learning rows, and the calibration
    rows (models trained before those counts were kept: the training and validation windows)."""
    counts = model.training_counts
    calibration = model.selection.get("calibration_counts", {})
    return {
        "min_won": model_cfg.min_won,
        "min_lost": model_cfg.min_lost,
        "train_won": int(counts.get("n_won", y[split.train].sum())),
        "train_lost": int(counts.get("n_lost", len(split.train) - y[split.train].sum())),
        "min_valid": model_cfg.min_valid_per_class,
        "valid_won": int(calibration.get("n_won", y[split.valid].sum())),
        "valid_lost": int(calibration.get("n_lost", len(split.valid) - y[split.valid].sum())),
    }


def learned_by_previous(previous: AnyScorer | None, scores: pd.DataFrame) -> int:
    """Test-window deals the previous champion had learnt from. live=True: a model's own summary holds
    learned_end only when it learnt its test window too (the live champion the gate scored); the tested
    window alone left those deals uncounted."""
    if previous is None or "snapshot_at" not in scores.columns:
        return 0
    learned = learned_window(previous.model.split_summary, live=True)
    return int(learned_by_champion(scores["snapshot_at"], learned).sum())


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
    open_scores: pd.DataFrame | None = None,
    open_as_of: pd.Timestamp | None = None,
    open_note: str = "",
    tested: AnyScorer | None = None,
    maturity_days: int | None = None,
) -> CardData:
    """Compute everything the card shows from a training result's pieces.

    `frame` and `y` are the closed deals the model was trained and tested on (TrainingData.frame / .y) and
    `split` their windows; `evaluation` was measured on split.test in the same order. `previous` is the
    champion this version was compared with; its test-window probabilities come from
    evaluation.test_scores["champion"] or `previous_test_p`. `history` adds registry lines to the change log,
    `notes` adds items to the limitations. `open_scores` are today's open leads scored with this model (grade,
    disqualified, disqualify_reasons), as of `open_as_of`; without them `open_note` says why. `tested` is the
    model the evaluation measured when `scorer`, the one that ships, was trained again on the test window
    (its drivers are the shipped model's; scores and examples of the windows the tested model's).
    `maturity_days`: the age `too_recent` rows were younger than (an export's outcome maturity; None:
    model_cfg.maturity_days).
    """
    settings = settings or CardSettings()
    refitted = bool(scorer.model.split_summary.get("refit"))
    tested = tested if tested is not None else scorer
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
    flat_export, intent_signal, demo_signal = data_signals(scorer)
    guardrail = "disqualified" in frame.columns
    unit = "leads" if flat_export else "closed deals"
    shown = spelled(frame, getattr(scorer, "level_spellings", {}))  # levels as the export spelled them
    segment_frame = shown.iloc[split.test][[c for c in SEGMENT_COLUMNS if c in test.columns]].reset_index(
        drop=True
    )
    segments = largest_segments(
        segment_comparison(scores, segment_frame, model_cfg.segment_min_rows), model_cfg.segment_max_values
    )

    sample = test.sample(min(len(test), settings.shap_sample_rows), random_state=settings.seed)
    importance, contributions = importance_by_concept(scorer, sample)
    beeswarm = shap_beeswarm_frame(
        sample, contributions, scorer.model.feature_names, settings.beeswarm_features
    )

    window_drift = _with_concepts(
        drift_table(shown.iloc[split.train], shown.iloc[split.test], scorer.model.feature_names)
    )
    p_valid, reference = reference_scores(tested.model, frame.iloc[split.valid])
    score_samples = {reference: p_valid, "test window": p_test}
    against = _against_previous(scorer, previous, prev_p, frame, shown, split, scores)
    if prev_p is not None:
        score_samples["previous champion, test window"] = prev_p

    next_retrain = trained_at + pd.Timedelta(days=settings.retrain_every_days)
    gate_compared = "champion" in set(evaluation.comparison["model"])  # else scored here: no gate saw it
    comparison = evaluation.comparison
    if prev_p is not None and not gate_compared:
        comparison = _with_champion_row(comparison, y_test, prev_p, model_cfg)
    comparison = with_pr_intervals(comparison, scores, model_cfg.bootstrap_rounds, model_cfg.seed)
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
        flat_export=flat_export,
        export_outcome=export_outcome_words(scorer),
        intent_signal=intent_signal,
        demo_signal=demo_signal,
        windows=windows,
        n_deals=len(frame),
        base_rate=float(y.mean()) if len(y) else float("nan"),
        excluded=excluded_counts_frame(dict(excluded)),
        too_recent=int(too_recent),
        maturity_days=model_cfg.maturity_days if maturity_days is None else maturity_days,
        minimum_data=minimum_data_counts(tested.model, model_cfg, y, split),
        row_counts=row_counts,
        comparison=comparison,
        gains=evaluation.gains,
        points_gains=evaluation.points_gains if len(evaluation.points_gains) else None,
        champion_gains=against.gains,
        reliability=evaluation.reliability,
        by_grade=evaluation.by_grade,
        champion_by_grade=against.by_grade,
        grade_shares={**model_cfg.grades.shares(), "D": 1 - sum(model_cfg.grades.shares().values())},
        by_tier=evaluation.by_tier,
        win_rate_by_tier_all=win_rate_by_tier_all,
        segments=segments,
        segment_min_rows=model_cfg.segment_min_rows,
        test_scores=scores,
        importance=importance,
        shap_sample=beeswarm,
        shap_rows=len(sample),
        examples=example_leads(tested, test, p_test, y_test),
        window_drift=window_drift,
        score_psi_window=psi(p_valid, p_test) if len(p_valid) and len(p_test) else float("nan"),
        version_drift=against.drift,
        score_psi_version=against.score_psi,
        grade_change_share=against.grade_change,
        score_samples=score_samples,
        change_log=change_log(
            scorer,
            previous,
            windows,
            comparison,
            str(version or ""),
            trained_at,
            decision,
            history,
            unit,
            previous_learned=learned_by_previous(previous, scores),
            gate_compared=gate_compared,
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
        open_grades=open_grade_counts(open_scores) if open_scores is not None else None,
        open_reasons=open_disqualify_reasons(open_scores) if open_scores is not None else None,
        open_as_of=pd.Timestamp(open_as_of) if open_scores is not None and open_as_of is not None else None,
        open_note=open_note,
        chosen_model=str((getattr(scorer.model, "selection", None) or {}).get("chosen", "")),
        kept_disqualified=int(frame["disqualified"].fillna(False).astype(bool).sum()) if guardrail else 0,
        refit_deals=len(split.train) + len(split.valid) + len(split.not_known) + len(split.test)
        if refitted
        else 0,
        not_known=len(split.not_known),
        not_known_days=known_maturity(model_cfg),
        learnt_later=int(split.extra.get("n_learnt_later", 0)),
        **tuning_record(tested.model),
        earlier_versions=len(history),
    )


def tuning_record(model: Any) -> dict[str, Any]:
    """The selection folds, their kind and the calibration rows of a trained model (CardData's fields)."""
    selection = getattr(model, "selection", None) or {}
    calibration = (getattr(model, "calibration_report", None) or {}).get("valid") or {}
    return {
        "selection_folds": int(selection.get("n_folds") or 0),
        "fold_kind": str(selection.get("folds") or ""),
        "calibration_rows": int(calibration.get("n") or 0),
    }


def open_grade_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """Open leads per grade A to D: all of them, the disqualified (always D) and the qualified."""
    grade = scores["grade"].astype("str").to_numpy()
    disqualified = scores["disqualified"].astype(bool).to_numpy()
    rows = [
        {
            "grade": g,
            "leads": int((grade == g).sum()),
            "disqualified": int(((grade == g) & disqualified).sum()),
            "qualified": int(((grade == g) & ~disqualified).sum()),
        }
        for g in GRADES
    ]
    return pd.DataFrame(rows, columns=["grade", "leads", "disqualified", "qualified"])


def open_disqualify_reasons(scores: pd.DataFrame) -> pd.DataFrame:
    """Disqualified open leads per ICP reason code (a lead can have several), most first."""
    disqualified = scores["disqualified"].astype(bool).to_numpy()
    codes = scores.loc[disqualified, "disqualify_reasons"].astype("str").str.split(";").explode().str.strip()
    counts = codes[codes.ne("") & codes.ne("nan")].value_counts()
    table = pd.DataFrame({"reason": counts.index.astype("str"), "leads": counts.to_numpy(dtype="int64")})
    return table.sort_values(["leads", "reason"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def _conversion_by_grade(y: np.ndarray, grades: pd.Series) -> pd.DataFrame:
    frame = pd.DataFrame({"group": grades.astype("str").to_numpy(), "won": y})
    table = frame.groupby("group").agg(leads=("won", "size"), won=("won", "sum")).reset_index()
    table["win_rate"] = table["won"] / table["leads"]
    table["share_of_leads"] = table["leads"] / len(frame)
    return table
