"""The model card, built from a real small training run: every section, real numbers, no placeholders, the
Markdown twin, the files, and the MLflow round trip (card logged at training, rebuilt from the registry)."""

from __future__ import annotations

import atexit
import base64
import copy
import dataclasses
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from models.card import (
    DASH,
    NBSP,
    SECTION_IDS,
    CardSettings,
    build_card_data,
    contender_label,
    drift_sentences,
    render_card,
    summary_sentences,
)
from models.explain import concept_of
from pipelines.card import (
    HTML_NAME,
    MARKDOWN_NAME,
    card_after_training,
    card_data_for,
    write_card,
)
from pipelines.card_rebuild import card_from_registry

TRAINED_AT = pd.Timestamp("2026-06-15 09:30")
_SHARED: dict[str, object] = {}


def shared_card(result, history, cfg) -> dict[str, object]:
    """The session's training run (`trained_small`: small_history, fast config, truth) and its card written by
    write_card, shared by the card tests here and in test_card_browser.py (training and rendering are the slow
    parts)."""
    if not _SHARED:
        tables = history.tables()
        data = card_data_for(result, cfg, tables=tables, trained_at=TRAINED_AT)
        scratch = Path(tempfile.mkdtemp(prefix="leadscore-card-"))
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        folder = scratch / "card"
        html_path, md_path = write_card(result, folder, tables=tables, cfg=cfg, trained_at=TRAINED_AT)
        _SHARED.update(
            result=result,
            data=data,
            html_path=html_path,
            md_path=md_path,
            html=html_path.read_text(encoding="utf-8"),
            md=md_path.read_text(encoding="utf-8"),
            cfg=cfg,
        )
    return _SHARED


@pytest.fixture()
def card(trained_small, small_history, fast_config):
    return shared_card(trained_small, small_history, fast_config)


class _Text(HTMLParser):
    """The visible text of a page (no style, no attribute values)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = False

    def handle_starttag(self, tag, attrs):
        self._skip = tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts).replace(NBSP, " ")


def plain(text: str) -> str:
    return text.replace(NBSP, " ")


def pct(x: float) -> str:
    return f"{x * 100:.0f} %"


def test_every_section_is_there_in_order_in_both_twins(card):
    ids = re.findall(r'<section id="([^"]+)"', card["html"])
    assert ids == list(SECTION_IDS)
    anchors = re.findall(r'<a id="([^"]+)"></a>', card["md"])
    assert anchors == list(SECTION_IDS)
    for title in ("Summary", "Intended use", "Target, windows and data", "Performance", "Drivers", "Drift"):
        assert title in card["html"] and title in card["md"]
    assert "Limitations and risks" in card["md"]


@pytest.mark.parametrize("twin", ["html", "md"])
def test_no_placeholders_or_missing_values_in_the_text(card, twin):
    text = visible_text(card["html"]) if twin == "html" else plain(card["md"])
    for pattern in (
        r"\bnan\b",
        r"\bNaN\b",
        r"\bNone\b",
        r"\binf\b",
        r"TODO",
        r"(?i)placeholder",
        r"(?i)lorem",
        r"\bNaT\b",
        r"\{[a-z_]+\}",
        r"(?i)\bundefined\b",
    ):
        assert not re.search(pattern, text), f"{pattern!r} in the {twin} card"


def test_headline_numbers_are_the_evaluation_numbers(card):
    result, text, md = card["result"], visible_text(card["html"]), plain(card["md"])
    rows = result.evaluation.comparison.set_index("model")
    model, points = rows.loc["model"], rows.loc["points_model"]
    headline = (
        f"Working the top 20 % of leads ranked by this model reaches {pct(model['capture_top20'])} of the deals "
        f"won, {model['lift_top20']:.1f}× the average."
    )
    assert headline in text and headline in md
    assert f"The points model's top 20 % reaches {pct(points['capture_top20'])}" in text
    assert f"{model['roc_auc']:.3f} ({model['roc_auc_low']:.3f}–{model['roc_auc_high']:.3f})" in text
    assert f"{points['roc_auc']:.3f} ({points['roc_auc_low']:.3f}–{points['roc_auc_high']:.3f})" in md
    grade_a = result.evaluation.by_grade.set_index("group").loc["A"]
    assert f"Grade A leads ({pct(grade_a['share_of_leads'])} of leads) won {pct(grade_a['win_rate'])}" in text
    assert f"{len(result.split.test):,} most recent closed deals" in text
    assert f"{result.data.excluded['total']:,} closed deals were left out by the ICP guardrail" in text
    assert f"{result.data.too_recent:,} closed deals created in the last" in md
    counts = result.scorer.model.training_counts
    assert f"the training window has {counts['n_won']:,} won and {counts['n_lost']:,} lost" in text
    assert "Minimum-data check passed" in text
    assert "first version" in text.lower()
    assert f"{result.evaluation.extra['oracle_auc']:.3f}" in text  # synthetic history: the oracle is shown


def test_excluded_reasons_and_windows_are_tabled(card):
    result, md = card["result"], plain(card["md"])
    for reason, n in result.data.excluded.items():
        if reason != "total":
            assert re.search(rf"\| {reason} \| {n:,} \|", md), reason
    summary = result.split.summary()
    test_start = pd.Timestamp(summary["test_start"])
    assert f"{test_start.day} {test_start:%b %Y}" in md
    assert f"| test | {test_start.day} {test_start:%b %Y} |" in md


def test_charts_are_embedded_pngs_with_alt_text_and_nothing_is_fetched(card):
    page = card["html"]
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) >= 6
    for tag in images:
        alt = re.search(r'alt="([^"]+)"', tag)
        assert alt and len(alt.group(1)) > 20
        payload = re.search(r'src="data:image/png;base64,([^"]+)"', tag).group(1)
        assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page and "<link" not in page
    assert "Chart (gains, in the HTML card)" in card["md"]  # the Markdown twin names the charts it leaves out


def test_three_example_leads_with_reasons_and_their_real_outcome(card):
    data, result = card["data"], card["result"]
    assert [e.label for e in data.examples] == [
        "The highest-scored lead",
        "A lead from the middle of the list",
        "The lowest-scored lead",
    ]
    scores = [e.score for e in data.examples]
    assert scores == sorted(scores, reverse=True)
    test = result.evaluation.test_scores.set_index("lead_id")
    for example in data.examples:
        assert example.reasons_positive or example.reasons_negative
        assert bool(test.loc[example.lead_id, "won"]) == example.won
        assert example.score == pytest.approx(test.loc[example.lead_id, "model"])
        assert example.lead_id in card["html"]
    assert data.examples[0].score == pytest.approx(test["model"].max())


def test_importance_sums_the_features_of_a_concept(card):
    data, result = card["data"], card["result"]
    gain = result.scorer.model.feature_importance()
    per_concept = gain.groupby(gain["feature"].map(concept_of))["gain"].sum()
    table = data.importance.set_index("concept")
    assert table["gain_share"].sum() == pytest.approx(1.0)
    assert table["shap_share"].sum() == pytest.approx(1.0)
    assert table.loc["pricing page", "gain_share"] == pytest.approx(
        per_concept["pricing page"] / gain["gain"].sum()
    )
    assert table.loc["pricing page", "n_features"] == 3  # 7, 30 and 90 days
    assert data.importance["mean_abs_shap"].is_monotonic_decreasing


def test_segments_compare_model_and_points_and_small_ones_are_named_as_a_limitation(card):
    data = card["data"]
    seg = data.segments
    assert set(seg["segment"]) == {"industry", "region", "lead_source"}
    assert seg.groupby("segment")["n"].sum().eq(len(card["result"].split.test)).all()
    measured = seg[seg["enough"]]
    assert measured["auc_model"].notna().all() and measured["auc_points_model"].notna().all()
    assert seg.loc[~seg["enough"], "auc_model"].isna().all()
    limitation = dict(data.limitations)["Segments with little data"]
    small = seg[~seg["enough"]].head(12)
    for value, n in small[["value", "n"]].itertuples(index=False):
        assert f"{value.replace('_', ' ')} ({n:,})" in limitation
    assert f"{DASH} : fewer than {data.segment_min_rows:,} test leads" in card["html"]


def test_drift_and_schedule_for_a_first_version(card):
    data = card["data"]
    assert data.version_drift is None and data.score_psi_version is None
    assert data.next_retrain == TRAINED_AT + pd.Timedelta(days=91)
    assert "Next scheduled retrain: 14 Sep 2026" in visible_text(card["html"])
    assert data.window_drift["psi"].ge(0).all() and len(data.window_drift) == len(
        card["result"].scorer.model.feature_names
    )
    assert data.change_log[1] == "First version: there is no earlier model to compare with."


def test_a_previous_champion_is_compared_on_the_same_leads(card):
    """The same model as its own previous champion: zero drift, no grade changes, same capture."""
    result, cfg = card["result"], card["cfg"]
    previous = copy.copy(result.scorer)
    previous.model_version = "1"
    evaluation = copy.copy(result.evaluation)
    champion_row = evaluation.comparison[evaluation.comparison["model"] == "model"].assign(model="champion")
    evaluation.comparison = pd.concat([evaluation.comparison, champion_row], ignore_index=True)
    evaluation.test_scores = evaluation.test_scores.assign(champion=evaluation.test_scores["model"])
    data = build_card_data(
        scorer=result.scorer,
        evaluation=evaluation,
        frame=result.data.frame,
        y=result.data.y,
        split=result.split,
        excluded=result.data.excluded,
        too_recent=result.data.too_recent,
        win_rate_by_tier_all=result.data.win_rate_by_tier,
        row_counts=result.data.counts,
        model_cfg=cfg.model,
        trained_at=TRAINED_AT,
        version="2",
        previous=previous,
    )
    assert data.score_psi_version == pytest.approx(0.0, abs=1e-12)
    assert data.grade_change_share == 0.0
    assert data.version_drift["psi"].max() == pytest.approx(0.0, abs=1e-12)
    pd.testing.assert_frame_equal(data.champion_gains, evaluation.gains)
    summary = plain(" ".join(summary_sentences(data)))
    assert "The previous champion (v1) reaches" in summary
    assert "about as many as the previous champion" in summary and "first version" not in summary
    assert contender_label("champion", data) == "Previous champion (v1)"
    assert "0 % of the leads would get a different grade" in plain(" ".join(drift_sentences(data)))
    assert "same features" in " ".join(data.change_log) and "ICP definition unchanged." in data.change_log


def test_write_card_writes_both_files_atomically(card):
    html_path, md_path = card["html_path"], card["md_path"]
    assert html_path.name == HTML_NAME and md_path.name == MARKDOWN_NAME
    assert card["html"].startswith("<!DOCTYPE html>")
    assert card["md"].startswith("# Model card: leadscore")
    assert sorted(p.name for p in html_path.parent.iterdir()) == sorted([HTML_NAME, MARKDOWN_NAME])
    assert html_path.stat().st_mode & 0o044  # readable by others: a report to share


@pytest.mark.slow
def test_card_is_logged_at_training_and_rebuilt_from_the_registry(
    trained_small, small_history, fast_config, mlflow_store, tmp_path
):
    from mlflow import MlflowClient
    from pipelines.tracking import log_training_run

    tables = small_history.tables()
    shared = shared_card(trained_small, small_history, fast_config)["result"]
    result = dataclasses.replace(
        shared, scorer=copy.copy(shared.scorer)
    )  # registered; the shared one untouched
    log_training_run(
        result, fast_config, tables, source="test", config_path=None, force_reason=None, trigger="test"
    )
    assert result.version == "1" and result.decision.promote
    trained = card_after_training(
        result, fast_config, tables, previous=None, out_dir=tmp_path / "at_training"
    )
    logged = {Path(a.path).name for a in MlflowClient().list_artifacts(result.run_id, "card")}
    assert logged == {HTML_NAME, MARKDOWN_NAME}

    rebuilt = card_from_registry("models:/leadscore@champion", tables, tmp_path / "from_registry", log=False)
    first, again = trained[0].read_text(), rebuilt[0].read_text()
    summary = re.compile(r'<section id="summary">.*?</section>', re.S)
    assert summary.search(first).group(0) == summary.search(again).group(0)
    sentences = re.compile(r'<section id="performance">.*?<div class="table-wrap">', re.S)
    assert sentences.search(first).group(0) == sentences.search(again).group(0)
    model_row = re.compile(r"<tr><td>This model \(v1\)</td>.*?</tr>")
    assert model_row.search(first).group(0) == model_row.search(again).group(0)
    text = visible_text(again)
    assert "leadscore v1" in text and "Version 1 passed the promotion gate and became the champion" in text
    assert "Promotion gate: promoted: signal: AUC" in text and "first model: AUC gain over" in text
    assert f"MLflow run {result.run_id}" in text
    assert "not the ones this version was trained on" not in text


def test_card_from_registry_refuses_a_run_uri(tmp_path, small_history, mlflow_store):
    from pipelines.io import InputError

    with pytest.raises(InputError, match="registered model"):
        card_from_registry("runs:/abc/model", small_history.tables(), tmp_path)


def test_a_flat_export_gets_a_card_without_points_model_or_guardrail(fast_config):
    from pipelines.settings import load_source_spec
    from pipelines.train import run_train_flat
    from tests.pipelines.test_flat_export import _export

    result = run_train_flat(_export(900), load_source_spec("x_education"), fast_config, register=False)
    data = card_data_for(result, fast_config, trained_at=TRAINED_AT)
    page, markdown = render_card(data)
    assert re.findall(r'<section id="([^"]+)"', page) == list(SECTION_IDS)
    text = visible_text(page)
    for pattern in (r"\bnan\b", r"\bNone\b", r"\bNaT\b", r"Points model"):
        assert not re.search(pattern, text), pattern
    assert "Logistic regression's top 20 % reaches" in text
    assert "The ICP guardrail does not apply to a flat export" in text
    assert len(data.examples) == 3 and all(e.reasons_positive or e.reasons_negative for e in data.examples)
    assert "held-out test set" in plain(markdown)


def test_a_headline_share_the_evaluation_does_not_measure_is_refused_by_name():
    assert CardSettings(top_share=0.30).top_share == 0.30
    with pytest.raises(ValueError, match="top_share must be one of"):
        CardSettings(top_share=0.25)
