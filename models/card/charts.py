"""The card's charts as PNG bytes (matplotlib Figure objects: no pyplot, no GUI backend, no global state)."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import precision_recall_curve, roc_curve

from models.card.data import (
    CUTOFF_SCORES,
    RANKING_COLUMN,
    VALIDATION_SCORES,
    CardData,
    feature_label,
    has_scores,
)
from models.card.words import contender_label

COLORS = {
    "model": "#1f5fa8",
    "points_model": "#e8833a",
    "champion": "#6b7a8f",
    "random": "#b8c0cc",
    "fit": "#5b8fd0",
    "intent": "#2e9e6f",
}
DPI = 100  # the charts' resolution: laid out and drawn at it
GRADE_COLORS = {"A": "#1f5fa8", "B": "#5b8fd0", "C": "#9dbde6", "D": "#d5dfec"}


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # one renderer for the layout and the drawing (text sizes measured once)
    axes = fig.subplots(1, ncols)
    for ax in np.atleast_1d(axes):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.25, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def _png(fig: Any) -> bytes:
    # savefig under a layout engine draws the figure twice, a dry pass to lay it out and the real one: lay it
    # out here instead, with the renderer the canvas then draws with (the same layout, the same pixels), and
    # draw it once.
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine("none")
    fig.patch.set_facecolor("white")
    buffer = io.BytesIO()
    # Fast zlib level: a few percent larger files, a fifth less rendering time.
    fig.canvas.print_png(buffer, pil_kwargs={"compress_level": 1})
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
        with warnings.catch_warnings():  # a test window of one outcome: the card says so; no console noise
            warnings.simplefilter("ignore", UndefinedMetricWarning)  # roc_curve
            warnings.filterwarnings(
                "ignore", "No positive class found", UserWarning
            )  # precision_recall_curve
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
            label="test window" + ("" if data.kept_disqualified else " (qualified leads)"),
        )
    right.bar(
        x + 0.2,
        all_closed["win_rate"].fillna(0),
        0.4,
        color=COLORS["fit"],
        alpha=0.55,
        label=f"all {data.unit} (incl. disqualified)",
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
    ax.set_xlabel("share of the score's movement")
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
        VALIDATION_SCORES: {"color": COLORS["random"], "linewidth": 2.0},
        CUTOFF_SCORES: {"color": COLORS["random"], "linewidth": 2.0},
        "test window": {"color": COLORS["model"], "linewidth": 2.4},
        "previous champion, test window": {"color": COLORS["champion"], "linewidth": 1.8, "linestyle": "--"},
    }
    for label, values in data.score_samples.items():
        if len(values) == 0:
            continue
        weights = np.full(len(values), 1.0 / len(values))
        right.hist(values, bins=bins, weights=weights, histtype="step", label=label, **styles.get(label, {}))
    right.set_xlabel("score")
    right.set_ylabel("share of leads")
    right.set_title("Score distribution", loc="left", fontsize=11)
    _percent_axis(right.xaxis)
    _percent_axis(right.yaxis)
    right.legend(frameon=False, fontsize=8.5)
    return _png(fig)
