"""The model card, built from a real small training run: every section, real numbers, no placeholders, the
Markdown twin, the files, and the MLflow round trip (card logged at training, rebuilt from the registry)."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import pickle
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.card import (
    APPENDIX_IDS,
    BODY_IDS,
    DASH,
    JARGON,
    NBSP,
    SECTION_IDS,
    CardSettings,
    body_text,
    build_card_data,
    contender_label,
    drift_sentences,
    jargon_in,
    render_card,
    summary_sentences,
)
from models.card.record import CardRecordError, card_from_record, card_record
from models.explain import concept_of
from pipelines import exit_codes
from pipelines.card import (
    HTML_NAME,
    MARKDOWN_NAME,
    card_after_training,
    card_data_for,
    history_end,
    log_card_to_run,
    open_lead_scores,
    write_card_files,
)
from pipelines.card_rebuild import card_from_registry, card_of_version
from pipelines.settings import load_config
from pipelines.train_result import TrainResult
from tests.conftest import FAST_OVERRIDES, built_once

TRAINED_AT = pd.Timestamp("2026-06-15 09:30")
_SHARED: dict[str, object] = {}


def shared_card(history, cfg, trained, run_folder: Path) -> dict[str, object]:
    """The session's training run on `history` (`trained_small`, tests/conftest.py), its card data and the card
    write_card_files wrote from it, shared by the card tests here and in test_card_browser.py (building the
    data and rendering are the slow part; write_card, both in one, is tested below through card_of_version's
    rebuild).

    Built once per run, as `trained_small` is: the first pytest-xdist worker to need it writes the card into
    the run's folder and pickles its data beside it; the others read both."""
    if not _SHARED:
        tables = history.tables()
        folder, saved = run_folder / "shared-card", run_folder / "shared-card-data.pkl"
        with built_once(saved) as to_build:
            if to_build:
                data = card_data_for(trained, cfg, tables=tables, trained_at=TRAINED_AT)
                shutil.rmtree(folder, ignore_errors=True)  # a worker that died while writing it
                write_card_files(data, folder)
                building = saved.with_suffix(".building")
                building.write_bytes(pickle.dumps(data))
                building.replace(saved)
            else:
                data = pickle.loads(saved.read_bytes())
        html_path, md_path = folder / HTML_NAME, folder / MARKDOWN_NAME
        _SHARED.update(
            result=trained,
            data=data,
            html_path=html_path,
            md_path=md_path,
            html=html_path.read_text(encoding="utf-8"),
            md=md_path.read_text(encoding="utf-8"),
            cfg=cfg,
            tables=tables,
        )
    return _SHARED


@pytest.fixture()
def card(small_history, fast_config, trained_small, run_folder):
    return shared_card(small_history, fast_config, trained_small, run_folder)


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
    for title in (
        "For sales leadership",
        "Intended use",
        "What moves a score",
        "Limitations and risks",
        "Appendix A. Target, windows and data",
        "Appendix B. Performance",
        "Appendix C. Drivers in detail",
        "Appendix D. Drift",
    ):
        assert title in card["html"] and title in card["md"]
    appendix = card["html"].index("Appendix: the numbers behind the first page")
    assert all(card["html"].index(f'<section id="{i}"') < appendix for i in BODY_IDS)
    assert all(card["html"].index(f'<section id="{i}"') > appendix for i in APPENDIX_IDS)


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
    counts = result.tested_scorer.model.training_counts  # the tested model's learning window (the card's)
    learnt = f"the learning window (training and validation) has {counts['n_won']:,} won and {counts['n_lost']:,} lost"
    assert learnt in text
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


def test_the_score_chart_compares_the_test_window_with_scores_of_leads_the_model_had_not_learnt(card):
    """The chart and the drift sentence compared the test window with the validation window's scores, which
    the final model had learnt: in-sample, the score shift they showed was the model's fit."""
    data = card["data"]
    reference = data.score_samples["grade cut-off rows (out of fold)"]
    assert len(reference) == data.calibration_rows > 0 and "validation window" not in data.score_samples
    said = visible_text(card["html"])
    assert "to the test window." in said and "from the validation to the test window" not in said
    assert (
        f"from the newest {data.calibration_rows:,} closed deals of the learning window, scored out of"
        in said
    )


def test_a_previous_champion_is_compared_on_the_same_leads(card):
    """The same model as its own previous champion: zero drift, no grade changes, same capture."""
    result, cfg = card["result"], card["cfg"]
    previous = copy.copy(result.tested_scorer)  # a champion as training loads it: its tested model
    previous.model_version = "1"
    evaluation = copy.copy(result.evaluation)
    champion_row = evaluation.comparison[evaluation.comparison["model"] == "model"].assign(model="champion")
    evaluation.comparison = pd.concat([evaluation.comparison, champion_row], ignore_index=True)
    evaluation.test_scores = evaluation.test_scores.assign(champion=evaluation.test_scores["model"])
    data = build_card_data(
        # The tested model as the one that ships too: the model trained again with the test window learnt
        # deals its tested model did not (known_at_test_start), and its drift check may keep other features.
        scorer=result.tested_scorer,
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


def test_card_record_keeps_every_field_exactly_and_renders_the_same_card(card):
    data = card["data"]
    files = card_record(data)
    assert all(isinstance(content, bytes) for content in files.values())
    again = card_from_record(files)
    for item in dataclasses.fields(data):
        before, after = getattr(data, item.name), getattr(again, item.name)
        if isinstance(before, pd.DataFrame):
            pd.testing.assert_frame_equal(after, before, check_exact=True)
        elif item.name == "score_samples":
            assert list(after) == list(before)
            for label, values in before.items():
                assert after[label].dtype == values.dtype and np.array_equal(after[label], values)
        else:
            assert after == before or (before != before and after != after), item.name  # NaN == NaN
    assert render_card(again) == (card["html"], card["md"])  # the card rendered from `data`, as written


def test_a_card_record_of_another_format_is_refused_by_name(card):
    files = card_record(card["data"])
    meta = json.loads(files["card.json"])
    meta["format"] = 99
    with pytest.raises(CardRecordError, match="format 99"):
        card_from_record({**files, "card.json": json.dumps(meta).encode()})
    with pytest.raises(CardRecordError, match="card.json"):
        card_from_record({k: v for k, v in files.items() if k != "card.json"})


def _registered(small_history, fast_config, trained_small):
    """The shared training run logged and registered as version 1 (a copy: the shared one stays untouched)."""
    from pipelines.tracking import log_training_run

    tables = small_history.tables()
    result = dataclasses.replace(trained_small, scorer=copy.copy(trained_small.scorer))
    log_training_run(
        result, fast_config, tables, location="test", config_path=None, force_reason=None, trigger="test"
    )
    assert result.version == "1" and result.decision.promote
    return result, tables


@dataclasses.dataclass(frozen=True)
class CardAtTraining:
    uri: str  # MLFLOW_TRACKING_URI of the store holding version 1; read only
    result: TrainResult  # the shared run as registered there (version 1, its run and decision)
    paths: tuple[Path, Path]  # the card card_after_training wrote and logged, with its data, to that run


@pytest.fixture(scope="module")
def card_at_training(small_history, trained_small, empty_mlflow_db, tmp_path_factory) -> CardAtTraining:
    """The shared run registered as version 1 in a private store, and its card written and logged (with the
    data it was rendered from) as training does at its end: shared by the tests that only read them."""
    from pipelines.settings import load_config
    from tests.conftest import FAST_OVERRIDES, new_store

    folder = tmp_path_factory.mktemp("card-at-training")
    uri = new_store(empty_mlflow_db, folder / "mlflow")
    cfg = load_config(overrides=FAST_OVERRIDES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        result, tables = _registered(small_history, cfg, trained_small)
        paths = card_after_training(result, cfg, tables, previous=None, out_dir=folder / "at_training")
    assert paths is not None
    return CardAtTraining(uri, result, paths)


@pytest.mark.slow
def test_leadscore_card_renders_the_card_logged_at_training_without_scoring_again(
    card_at_training, tmp_path, monkeypatch
):
    from typer.testing import CliRunner

    from mlflow import MlflowClient
    from pipelines import card_rebuild
    from pipelines.cli import app

    monkeypatch.setenv("MLFLOW_TRACKING_URI", card_at_training.uri)
    result, trained = card_at_training.result, card_at_training.paths
    client = MlflowClient()
    assert {Path(a.path).name for a in client.list_artifacts(result.run_id, "card")} == {
        HTML_NAME,
        MARKDOWN_NAME,
        "data",
    }
    assert "card.json" in {Path(a.path).name for a in client.list_artifacts(result.run_id, "card/data")}

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the card was rebuilt from the tables instead of the logged data")

    monkeypatch.setattr(card_rebuild, "card_from_registry", no_rebuild)
    out = tmp_path / "again"
    run = CliRunner().invoke(
        app, ["card", "--model", "models:/leadscore@champion", "--out", str(out), "--no-log"]
    )
    assert run.exit_code == 0, run.output
    for path in trained:
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.slow
def test_a_version_logged_without_card_data_is_rebuilt_from_the_tables(
    small_history, fast_config, trained_small, card_at_training, mlflow_store, tmp_path
):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result, tables = _registered(small_history, fast_config, trained_small)
    # The card of the same version 1 written at training (card_at_training's store, the same run registered
    # the same way), logged as training logged it before the card's data was recorded.
    trained = card_at_training.paths
    log_card_to_run(result.run_id, trained)

    run = CliRunner().invoke(
        app, ["card", "--model", "models:/leadscore@champion", "--out", str(tmp_path / "x")]
    )
    assert run.exit_code == exit_codes.BAD_INPUT and "--input" in run.output and "Traceback" not in run.output

    rebuilt = card_of_version(
        "models:/leadscore@champion", tmp_path / "from_registry", lambda: tables, log=False
    )
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
    # Re-measured with the tested model the run logged, not the registered one that learnt the test window.
    assert "Re-evaluated on the given tables" not in text and "kept from the model until it had" in text


def test_a_version_whose_icp_disqualified_most_wins_still_gets_its_card_rebuilt(
    small_history, fast_config, trained_small, mlflow_store, tmp_path, monkeypatch
):
    """Training stops since icp.max_won_disqualified_share; versions logged before it never passed the check
    and their cards are rebuilt all the same."""
    import pipelines.card_rebuild as card_rebuild

    _registered(small_history, fast_config, trained_small)
    elsewhere = fast_config.model_copy(
        update={"icp": fast_config.icp.model_copy(update={"served_regions": ("middle_east_africa",)})}
    )
    monkeypatch.setattr(card_rebuild, "_logged_config", lambda run_id: (elsewhere, []))
    paths = card_of_version("models:/leadscore@champion", tmp_path, small_history.tables, log=False)
    assert "leadscore v1" in visible_text(paths[0].read_text())


def test_a_previous_version_that_does_not_exist_is_named_by_its_option(
    small_history, fast_config, trained_small, mlflow_store, tmp_path
):
    from typer.testing import CliRunner

    from pipelines.cli import app

    _registered(small_history, fast_config, trained_small)
    run = CliRunner().invoke(
        app,
        [
            "card",
            "--model",
            "models:/leadscore/1",
            "--previous",
            "models:/leadscore/9",
            "--out",
            str(tmp_path),
        ],
    )
    assert run.exit_code == exit_codes.BAD_INPUT and "Traceback" not in run.output
    said = " ".join(run.output.split())
    assert "models:/leadscore/9" in said and "no version '9'" in said
    assert "Use --previous models:/leadscore" in said and "--model" not in said.split("Use ")[1]


def test_card_from_registry_refuses_a_run_uri(tmp_path, small_history, mlflow_store):
    from pipelines.io import InputError

    with pytest.raises(InputError, match="registered model"):
        card_from_registry("runs:/abc/model", small_history.tables(), tmp_path)


@pytest.mark.slow  # trains on a flat export
def test_a_flat_export_gets_a_card_without_points_model_or_guardrail(fast_config):
    from pipelines.settings import load_source_spec
    from pipelines.sources import ExportSource
    from pipelines.train import run_train
    from tests.pipelines.test_flat_export import _export

    spec = load_source_spec("x_education").model_copy(
        update={"icp_columns": {}, "icp": {}, "open_labels": ("Open",)}  # guardrail off
    )
    export = _export(900).astype({"Converted": "object"})
    export.loc[export.index[-40:], "Converted"] = "Open"  # scored for the first page, not trained on
    result = run_train(ExportSource(export, spec), fast_config, register=False)
    data = card_data_for(result, fast_config, trained_at=TRAINED_AT)
    page, markdown = render_card(data)
    assert re.findall(r'<section id="([^"]+)"', page) == list(SECTION_IDS)
    text = visible_text(page)
    for pattern in (r"\bnan\b", r"\bNone\b", r"\bNaT\b", r"Points model"):
        assert not re.search(pattern, text), pattern
    assert "Logistic regression's top 20 % reaches" in text
    assert "The ICP guardrail is off for this export" in text
    # The model reads folded levels ("direct traffic"); the card shows them as the export spelled them.
    assert re.search(r"\b(Google|Direct Traffic|Olark Chat|Organic Search)\b", text)
    assert not re.search(r"\b(google|direct traffic|olark chat|organic search)\b", text)
    assert len(data.examples) == 3 and all(e.reasons_positive or e.reasons_negative for e in data.examples)
    assert "held-out test set" in plain(markdown)
    assert data.open_grades is not None and int(data.open_grades["leads"].sum()) == 40, data.open_note
    assert jargon_in(body_text(data)) == [], jargon_in(body_text(data))
    assert render_card(card_from_record(card_record(data))) == (
        page,
        markdown,
    )  # no points model: None frames


def test_a_headline_share_the_evaluation_does_not_measure_is_refused_by_name():
    assert CardSettings(top_share=0.30).top_share == 0.30
    with pytest.raises(ValueError, match="top_share must be one of"):
        CardSettings(top_share=0.25)


# ----------------------------------------------------------------------------------------------------------
# The first page, for sales leadership, and the body without metric names
# ----------------------------------------------------------------------------------------------------------


def test_jargon_in_finds_each_metric_name_as_a_whole_word():
    assert jargon_in("ROC AUC 0.79, ECE and Brier; mean |SHAP| in log-odds; PSI 0.1") == [
        "AUC",
        "ECE",
        "Brier",
        "SHAP",
        "log-odds",
        "PSI",
    ]
    assert jargon_in("recent deals, a psychic, Ecuador, shape") == []  # inside other words: not a metric


def test_the_body_names_no_metric_and_the_appendix_keeps_them(card):
    data = card["data"]
    body = body_text(data)
    assert "For sales leadership" in body and "Limitations and risks" in body
    assert "Appendix" not in body
    assert jargon_in(body) == [], jargon_in(body)
    md = plain(card["md"])
    appendix = md[md.index("Appendix: the numbers behind the first page") :]
    for word in JARGON:
        assert re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", appendix), word


def test_every_chart_carries_one_plain_sentence(card):
    says = re.findall(r'<figcaption><span class="says">([^<]+)</span>', card["html"])
    assert len(says) == len(re.findall(r"<figure", card["html"])) >= 6
    for sentence in says:
        assert sentence.endswith(".") and len(sentence) > 20
        assert sentence.count(". ") == 0, sentence  # one sentence
    for name in ("gains", "grades", "importance"):  # the body's charts
        line = next(x for x in card["md"].splitlines() if x.startswith(f"> Chart ({name},"))
        assert jargon_in(line) == [], line


def test_open_leads_per_grade_are_the_open_leads_scored_at_the_end_of_the_history(card):
    from pipelines.score import run_score

    data, result, tables = card["data"], card["result"], card["tables"]
    assert data.open_as_of == pd.Timestamp(tables["activities"]["occurred_at"].max()).ceil("D")
    scored = run_score(result.scorer, tables, data.open_as_of, None, reasons=False).scores
    grades = data.open_grades.set_index("grade")
    assert list(grades.index) == ["A", "B", "C", "D"]
    expected = scored["grade"].value_counts().reindex(list("ABCD"), fill_value=0)
    assert grades["leads"].tolist() == expected.tolist() and grades["leads"].sum() == len(scored) > 0
    assert grades["disqualified"].sum() == scored["disqualified"].sum() > 0
    assert grades.loc[["A", "B", "C"], "disqualified"].sum() == 0  # disqualified leads are always D
    reasons = scored.loc[scored["disqualified"], "disqualify_reasons"].str.split(";").explode()
    assert data.open_reasons.set_index("reason")["leads"].to_dict() == reasons.value_counts().to_dict()

    first = " ".join(
        visible_text(re.search(r'<section id="summary">.*?</section>', card["html"], re.S).group(0)).split()
    )
    total, disqualified = int(grades["leads"].sum()), int(grades["disqualified"].sum())
    assert f"{total:,} leads were open" in first
    assert f"{grades.loc['A', 'leads']:,} are grade A" in first
    assert f"Why D is large. {disqualified:,} of the open leads" in first
    top_reason = data.open_reasons.iloc[0]
    assert f"({top_reason['leads']:,})" in first
    assert f"the {grades.loc['A', 'leads']:,} grade A leads open today" in first
    assert "reach them within 1 working day" in first


def test_the_first_page_says_how_good_it_is_in_wins_against_the_points_model(card):
    data = card["data"]
    rows = data.comparison.set_index("model")
    model, points = rows.loc["model"], rows.loc["points_model"]
    n = int(model["n"])
    wins = model["base_rate"] * n
    mine, theirs = round(model["capture_top20"] * wins), round(points["capture_top20"] * wins)
    first = plain(card["md"]).split("## 2.")[0]
    assert (
        f"the best-scored {round(0.2 * n):,} by this model hold {mine:,} of the {round(wins):,} wins" in first
    )
    assert f"by the points model hold {theirs:,}" in first
    plural = "" if abs(mine - theirs) == 1 else "s"
    verdict = (
        f"{mine - theirs:,} more won deal{plural}"
        if mine > theirs
        else f"{theirs - mine:,} fewer won deal{plural}"
        if mine < theirs
        else "as many won deals"
    )
    assert f"{verdict} for the same number of calls" in first


def _with_rival(data, name, *, auc, capture):
    comparison = data.comparison.copy()
    at = comparison["model"] == name
    comparison.loc[at, "roc_auc"] = auc
    comparison.loc[at, "capture_top20"] = capture
    return dataclasses.replace(data, comparison=comparison)


def test_why_this_model_calls_a_tie_a_tie_and_a_win_a_win(card):
    from models.card.first_page import why_this_model_sentences

    data = dataclasses.replace(card["data"], decision="promoted: first model: ... not worse beyond the noise")
    model = data.comparison.set_index("model").loc["model"]
    tie = plain(
        " ".join(
            why_this_model_sentences(
                _with_rival(data, "logistic_regression", auc=model["roc_auc"], capture=model["capture_top20"])
            )
        )
    )
    assert "it is a tie" in tie and "Why it ships anyway" in tie and "not to rank worse" in tie
    assert "does better" not in tie
    beaten = _with_rival(data, "logistic_regression", auc=model["roc_auc_low"] - 0.05, capture=0.01)
    beaten = _with_rival(beaten, "points_model", auc=model["roc_auc_low"] - 0.05, capture=0.01)
    win = plain(" ".join(why_this_model_sentences(beaten)))
    assert "tie" not in win and "anyway" not in win and "Why it ships: it does better" in win
    refused = plain(" ".join(why_this_model_sentences(dataclasses.replace(data, decision="not promoted: x"))))
    assert "did not pass the promotion gate" in refused and "ships" not in refused


def test_an_old_card_record_without_open_leads_still_loads_and_says_so(card):
    files = card_record(card["data"])
    meta = json.loads(files["card.json"])
    for name in ("open_grades", "open_reasons", "open_as_of", "open_note", "chosen_model"):
        meta["fields"].pop(name)
    meta["fields"]["settings"].pop("call_a_within_days")
    old = card_from_record({**files, "card.json": json.dumps(meta).encode()})
    assert old.open_grades is None and old.open_as_of is None and old.settings.call_a_within_days == 1
    page, _ = render_card(old)
    assert "open leads were not counted: this card was recorded before open leads were counted" in (
        visible_text(page)
    )


# ----------------------------------------------------------------------------------------------------------
# The exploration slice of past call lists (leadscore card --calls)
# ----------------------------------------------------------------------------------------------------------


def _past_calls(card, explored: int = 60, ranked: int = 200) -> pd.DataFrame:
    """A past call list over leads whose deals have closed since: the lowest-scored test leads explored, the
    best-scored ranked, as `leadscore queue` flags them."""
    scores = card["result"].evaluation.test_scores
    frame = card["result"].data.frame.iloc[card["result"].split.test].reset_index(drop=True)
    order = np.argsort(-scores["model"].to_numpy(), kind="stable")
    picks = np.concatenate([order[:ranked], order[-explored:]])
    return pd.DataFrame(
        {
            "lead_id": frame["lead_id"].to_numpy()[picks],
            "score": scores["model"].to_numpy()[picks],
            "exploration": np.r_[np.zeros(ranked, bool), np.ones(explored, bool)],
        }
    )


def test_the_exploration_slice_is_measured_on_the_calls_outcomes_and_shown_only_when_given(card):
    from pipelines.card import exploration_from_calls

    calls = _past_calls(card)
    table = exploration_from_calls(calls, card["tables"]).set_index("calls")
    deals = card["tables"]["deals"]
    closed = deals[deals["outcome"].isin(["won", "lost"])]
    won_leads = set(closed.loc[closed["outcome"] == "won", "lead_id"].astype(str))
    explored = calls[calls["exploration"]]
    assert table.loc["exploration", "with_outcome"] == len(explored)
    assert table.loc["exploration", "won"] == explored["lead_id"].isin(won_leads).sum()
    assert table.loc["exploration", "expected_win_rate"] == pytest.approx(explored["score"].mean())

    assert "exploration" not in re.findall(r'<section id="([^"]+)"', card["html"])  # not given: not shown
    data = dataclasses.replace(card["data"], exploration=table.reset_index())
    page, markdown = render_card(data)
    ids = re.findall(r'<section id="([^"]+)"', page)
    assert ids == [*BODY_IDS, "exploration", *APPENDIX_IDS]
    body = body_text(data)
    rate = table.loc["exploration", "won"] / len(explored)
    assert (
        f"{len(explored):,} have an outcome: {table.loc['exploration', 'won']:,} won ({pct(rate)})"
        in plain(body)
    )
    assert "cost about" in body or "cost no wins" in body
    assert jargon_in(body) == []
    again = card_from_record(card_record(data))
    pd.testing.assert_frame_equal(again.exploration, data.exploration, check_exact=True)
    assert render_card(again) == (page, markdown)


def test_calls_need_the_crm_tables_and_a_call_list(tmp_path):
    from typer.testing import CliRunner

    from pipelines.card import read_call_lists
    from pipelines.cli import app
    from pipelines.io import InputError

    calls = tmp_path / "calls.csv"
    pd.DataFrame({"lead_id": ["L1"], "score": [0.2], "exploration": [True]}).to_csv(calls, index=False)
    run = CliRunner().invoke(app, ["card", "--calls", str(calls), "--out", str(tmp_path / "x")])
    assert run.exit_code == exit_codes.USAGE and "--input" in run.output and "Traceback" not in run.output
    wrong = tmp_path / "scores.csv"
    pd.DataFrame({"lead_id": ["L1"], "score": [0.2]}).to_csv(wrong, index=False)
    with pytest.raises(
        InputError, match=r"scores.csv: not a call list from leadscore queue \(no exploration\)"
    ):
        read_call_lists([calls, wrong])
    assert len(read_call_lists([calls, calls])) == 2


def test_open_leads_of_a_card_without_validated_tables_are_counted_at_the_history_end_not_at_a_typo(
    small_history, fast_config, trained_small
):
    """A card made from tables its training did not keep validated (a rebuilt card, a Spark training) finds
    the history's end with training's rules: an activity dated 2099 (a typo) is not the end of the history."""
    from pipelines.validate import run_validate

    tables = small_history.tables()
    typo = tables["activities"].iloc[[0]].copy()
    typo["occurred_at"] = pd.Timestamp("2099-03-01")
    with_typo = {**tables, "activities": pd.concat([tables["activities"], typo], ignore_index=True)}
    data = dataclasses.replace(trained_small.data, valid_tables=None)
    _, as_of, _ = open_lead_scores(dataclasses.replace(trained_small, data=data), with_typo, fast_config)
    assert as_of == history_end(run_validate(tables).valid) < pd.Timestamp("2030-01-01")


def test_the_card_says_the_model_that_scores_learnt_the_test_window_after_its_test(card):
    """model.refit_on_test_window: the figures are the tested model's, and the card says so where it names
    the test deals; it never claims the model that scores never saw them."""
    result, md = card["result"], plain(card["md"])
    assert result.refitted and card["data"].refit_deals == len(result.data.y)
    n = len(result.split.test)
    assert (
        f"On the {n:,} most recent closed deals, kept from the model until it had been tested on them" in md
    )
    assert "which the model never saw while learning" not in md
    assert (
        f"Once tested, the model that scores was trained again the same way on all {len(result.data.y):,} "
        "closed deals, the test window included"
    ) in md


def test_a_refitted_model_split_at_random_is_said_to_learn_every_deal_not_the_newest(card):
    data = dataclasses.replace(card["data"], split_method="grouped_random")
    md = plain(render_card(data)[1])
    assert "the test set included, so that it learns from every one of them" in md
    assert "also learns from the newest ones" not in md


def test_the_curves_of_a_test_window_of_one_outcome_draw_without_a_console_warning(card):
    """sklearn's UndefinedMetricWarning ("No positive samples in y_true") reached the console of `train` and
    `card` when every test deal was lost (a feed that stopped delivering won deals)."""
    import dataclasses
    import warnings

    from models.card.charts import chart_roc_pr

    data = card["data"]
    lost = dataclasses.replace(data, test_scores=data.test_scores.assign(won=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert chart_roc_pr(lost)[:4] == b"\x89PNG"


def test_the_card_says_where_the_model_was_tuned_not_a_tuning_window_it_no_longer_has(card):
    """The kind of model, its trees, calibration and grade cut-offs are chosen on time-ordered folds of the
    whole learning window (training + validation), the cut-offs on the out-of-fold scores of its newest rows;
    the card said the validation window alone was for "early stopping, calibration, grade cut-offs"."""
    data, md = card["data"], card["md"]
    assert data.selection_folds >= 2 and data.fold_kind == "time_ordered" and data.calibration_rows > 0
    said = " ".join(md.split())
    assert "tuning (early stopping, calibration, grade cut-offs)" not in said
    assert f"were chosen on {data.selection_folds} time-ordered folds of them" in said
    newest = f"the newest {data.calibration_rows:,} {data.unit} of the learning window, scored out of fold"
    assert f"calibration and grade cut-offs set on {newest}" in said
    assert f"Designed share: grade cut-offs were set so that each grade holds this share of {newest}" in said


def test_a_card_never_calls_a_version_the_first_when_earlier_ones_are_registered(card):
    """A CRM model trained after an export's champion (another input: not compared) read "This is the first
    version: there is no previous champion to compare with" beside a change log listing versions 1 to 3."""
    import dataclasses

    from models.card.words import summary_sentences

    data = card["data"]
    assert not data.has_previous and "This is the first version" in " ".join(summary_sentences(data))
    later = dataclasses.replace(data, earlier_versions=3)
    said = " ".join(summary_sentences(later))
    assert "This is the first version" not in said
    assert "No previous champion was compared with this version on these leads" in said


def test_the_card_says_how_many_deals_the_tested_model_learnt_whose_outcome_came_later(card):
    result, md = card["result"], plain(card["md"])
    learnt_later = result.split.extra["n_learnt_later"]  # model.split.known_at_test_start off (default)
    assert learnt_later > 0 and len(result.split.not_known) == 0
    assert (
        f"The tested model also learnt {learnt_later:,} earlier closed deals that a model trained on the day "
        "its test window began could not have learnt" in md
    )
    assert "measures without them" in md


def test_the_card_says_which_deals_the_tested_model_could_not_have_known(card, tmp_path):
    from pipelines.train import make_split

    result, cfg = card["result"], card["cfg"]
    honest_cfg = load_config(overrides=[*FAST_OVERRIDES, "model.split.known_at_test_start=true"])
    split = make_split(result.data.frame, honest_cfg)
    assert len(split.not_known) > 0  # the session's history holds deals closed after its test window began
    np.testing.assert_array_equal(split.test, result.split.test)
    honest = dataclasses.replace(result, split=split)
    data = card_data_for(honest, cfg, trained_at=TRAINED_AT)
    write_card_files(data, tmp_path)
    md = plain((tmp_path / MARKDOWN_NAME).read_text(encoding="utf-8"))
    start = split.test_start
    assert (
        f"The tested model learnt only the closed deals it could have known on {start.day} {start:%b %Y}"
        in md
    )
    assert f"{len(split.not_known):,} earlier closed deals, whose outcome came later, were kept from it" in md
    assert data.refit_deals == len(result.data.y)  # the model that ships learnt them all
    held_back = re.search(r"\| held back \(outcome not known when the test began\) \|[^\n]*", md)
    assert held_back is not None and f"| {len(split.not_known):,} |" in held_back.group(0)
    assert "| validation | — |" not in md  # an empty window is no row of dashes
