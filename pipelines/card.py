"""Job: the model card. Written at the end of every training run as model_card.html (self-contained, charts
embedded) and model_card.md, both logged to the model's MLflow run under card/, with the data they were
rendered from under card/data/ (models/card/record.py), from which `leadscore card --model URI --out DIR`
renders the same card again (pipelines/card_rebuild.py).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.io import InputError, write_texts_together

if TYPE_CHECKING:
    from models.card import AnyScorer, CardData, CardSettings
    from pipelines.settings import PipelineConfig
    from pipelines.train_result import TrainResult

HTML_NAME, MARKDOWN_NAME = "model_card.html", "model_card.md"
CARD_ARTIFACT_DIR = "card"
CARD_DATA_DIR = "card/data"  # the CardData the logged card was rendered from
EVALUATION_DIR = "evaluation"


def previous_test_probabilities(
    result: TrainResult, previous: AnyScorer | None, tables: dict[str, pd.DataFrame] | None
) -> np.ndarray | None:
    """The previous champion's probabilities on this run's test leads: from the evaluation when it scored
    them, else rebuilt from the tables with the champion's own features (as training does)."""
    if previous is None:
        return None
    scores = result.evaluation.test_scores
    if "champion" in scores.columns:
        return scores["champion"].to_numpy(dtype=float)
    built_from = result.data.valid_tables if result.data.valid_tables is not None else tables
    if not built_from or previous.input != result.scorer.input:
        return None  # a champion that reads another input, or tables kept in Spark, cannot score these rows
    test = result.data.frame.iloc[result.split.test]
    frame = previous.feature_frame(built_from, test[["deal_id", "lead_id", "snapshot_at"]])
    return previous.model.predict_proba(frame)


def card_data_for(
    result: TrainResult,
    cfg: PipelineConfig,
    *,
    previous: AnyScorer | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    trained_at: pd.Timestamp | None = None,
    history: list[str] | None = None,
    notes: list[str] | None = None,
    settings: CardSettings | None = None,
) -> CardData:
    """CardData of a training result (pure apart from reading the tables it is given); with CRM tables,
    today's open leads are scored with the new model for the first page's grade counts."""
    from models.card import build_card_data

    decision = result.decision.summary() if result.decision is not None else ""
    maturity = result.data.export_maturity
    open_scores, open_as_of, open_note = open_lead_scores(result, tables, cfg)
    return build_card_data(
        scorer=result.scorer,
        evaluation=result.evaluation,
        frame=result.data.frame,
        y=result.data.y,
        split=result.split,
        excluded=result.data.excluded,
        too_recent=result.data.too_recent,
        win_rate_by_tier_all=result.data.win_rate_by_tier,
        row_counts=result.data.counts,
        model_cfg=cfg.model,
        trained_at=trained_at if trained_at is not None else _now(),
        run_id=result.run_id or "",
        version=result.version or "",
        decision=decision,
        previous=previous,
        previous_test_p=previous_test_probabilities(result, previous, tables),
        history=history or [],
        notes=notes or [],
        settings=settings,
        open_scores=open_scores,
        open_as_of=open_as_of,
        open_note=open_note,
        tested=result.tested_scorer,
        maturity_days=None if maturity is None else maturity.days,
    )


CALL_COLUMNS = ("lead_id", "score", "exploration")


def exploration_from_calls(calls: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The exploration slice of past call lists (`leadscore queue` output) with the outcomes the CRM's deals
    now hold: a lead counts as won when one of its deals closed as won, lost when they all closed as lost."""
    from features.contracts import as_words
    from features.vocab import OUTCOMES
    from models.queue import exploration_outcomes

    deals = tables.get("deals")
    if deals is None or not len(deals):
        raise InputError(
            "the exploration slice needs the CRM's deals table for the calls' outcomes (--input)"
        )
    outcome = as_words(deals["outcome"].astype("str"), OUTCOMES)  # " Won" is won, as validation reads it
    closed = outcome.isin(["won", "lost"])
    won = (outcome[closed] == "won").groupby(deals.loc[closed, "lead_id"].astype("str")).max().astype(int)
    calls = calls.assign(lead_id=calls["lead_id"].astype("str"))
    return exploration_outcomes(calls, won)


def read_call_lists(paths: list[Path]) -> pd.DataFrame:
    """Past call lists, one after the other (InputError naming a file that is not one)."""
    from pipelines.io import from_spreadsheets, read_frame

    frames = []
    for path in paths:
        frame = read_frame(path, ids=("lead_id",))
        missing = [c for c in CALL_COLUMNS if c not in frame.columns]
        if missing:
            raise InputError(
                f"{path}: not a call list from leadscore queue (no {', '.join(missing)}); give the file "
                "`leadscore queue` wrote"
            )
        frames.append(frame[list(CALL_COLUMNS)].assign(lead_id=from_spreadsheets(frame["lead_id"])))
    return pd.concat(frames, ignore_index=True)


OPEN_TIME_COLUMNS = (("leads", "created_at"), ("activities", "occurred_at"), ("deals", "created_at"))


def history_end(tables: dict[str, pd.DataFrame]) -> pd.Timestamp | None:
    """The end of the history: the midnight after its latest lead, activity or deal (None without dates)."""
    latest = []
    for table, column in (*OPEN_TIME_COLUMNS, ("deals", "closed_at")):
        if table in tables and column in tables[table].columns and len(tables[table]):
            latest.append(pd.to_datetime(tables[table][column]).max())
    latest = [t for t in latest if pd.notna(t)]
    return pd.Timestamp(max(latest)).ceil("D") if latest else None


def open_lead_scores(
    result: TrainResult, tables: dict[str, pd.DataFrame] | None, cfg: PipelineConfig
) -> tuple[pd.DataFrame | None, pd.Timestamp | None, str]:
    """Today's open leads scored with the new model, reasons off, as `leadscore score` would score them:
    (scores, as_of, "") or (None, None, why there are none). CRM tables are scored as of the end of their
    history; a flat export as of its own time (its latest timestamp, else now)."""
    from pipelines.sources import run_time
    from pipelines.validate import run_validate

    source, scorer = result.data.source, result.scorer
    as_of = source.default_as_of()
    where = "the history" if as_of is None else "the export"
    if as_of is None:  # CRM tables: the end of the history, read from the tables at hand
        if not tables or "leads" not in tables:
            return (
                None,
                None,
                "the CRM tables were not at hand when this card was made, so open leads were not counted",
            )
        valid = result.data.valid_tables  # validated for training already; else the same rules as training's
        if valid is None:  # (as of the run's time: a date in 2099 is a typo, not the end of the history)
            valid = run_validate(tables, as_of=run_time(), date_formats=cfg.input).valid
        as_of = history_end(valid)
    if as_of is None:
        return None, None, "the history has no dates, so it has no end to count open leads at"
    rows = source.scoring_rows(as_of, cfg.input)
    if len(rows.to_score) == 0:
        return None, None, f"{where} has no open leads at its end"
    scores = source.score(scorer, rows, as_of, cfg.scoring.chunk_size, reasons=False)
    return scores, as_of, ""


def write_card_files(data: CardData, out_dir: Path) -> tuple[Path, Path]:
    """Render the card and write model_card.html and model_card.md atomically into `out_dir`."""
    from models.card import render_card

    page, markdown = render_card(data)
    html_path, md_path = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    write_texts_together({html_path: page, md_path: markdown})  # twins: never one run's page beside another's
    return html_path, md_path


def write_card(
    result: TrainResult,
    out_dir: Path,
    previous: AnyScorer | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
    *,
    cfg: PipelineConfig,
    trained_at: pd.Timestamp | None = None,
    history: list[str] | None = None,
    notes: list[str] | None = None,
) -> tuple[Path, Path]:
    """The card of a training result, written to `out_dir`; returns (html_path, md_path)."""
    data = card_data_for(
        result, cfg, previous=previous, tables=tables, trained_at=trained_at, history=history, notes=notes
    )
    return write_card_files(data, out_dir)


def log_card_to_run(run_id: str, paths: tuple[Path, ...] | list[Path], data: CardData | None = None) -> None:
    """Attach the card files to an existing MLflow run, under card/, and with `data` the record they were
    rendered from, under card/data/."""
    from models.card.record import card_record
    from pipelines.registry import attach_to_run

    attach_to_run(run_id, paths, CARD_ARTIFACT_DIR)
    if data is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, content in card_record(data).items():
            path = Path(tmp) / name
            path.write_bytes(content)
            files.append(path)
        attach_to_run(run_id, files, CARD_DATA_DIR)


def card_after_training(
    result: TrainResult,
    cfg: PipelineConfig,
    tables: dict[str, pd.DataFrame],
    previous: AnyScorer | None,
    out_dir: Path | None = None,
    *,
    notes: list[str] | None = None,
) -> tuple[Path, Path] | None:
    """The end of a training run: write the card (to `out_dir`, or a temporary folder) and log it to the run;
    `notes` (e.g. a retrain's findings) are added to its limitations.

    Returns the paths when `out_dir` is given; with a temporary folder the card lives only in MLflow.
    """
    history = registry_history(cfg.registry.model_name, before=result.version) if result.version else []
    data = card_data_for(result, cfg, previous=previous, tables=tables, history=history, notes=notes)
    if out_dir is not None:
        paths = write_card_files(data, out_dir)
        if result.run_id:
            log_card_to_run(result.run_id, paths, data)
        return paths
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_card_files(data, Path(tmp))
        if result.run_id:
            log_card_to_run(result.run_id, paths, data)
    return None


# ----------------------------------------------------------------------------------------------------------
# Earlier versions in the registry, for the card's change log
# ----------------------------------------------------------------------------------------------------------


def registry_history(model_name: str, before: str | None = None, limit: int = 5) -> list[str]:
    """One line per earlier registered version (newest first): date and the gate's verdict."""
    from pipelines.registry import decision_from_tags, model_versions

    earlier = [v for v in model_versions(model_name) if before is None or int(v.version) < int(before)]
    lines = []
    for v in earlier[:limit]:
        day = pd.Timestamp(int(v.creation_timestamp), unit="ms").strftime("%Y-%m-%d")
        decision = decision_from_tags(v.tags or {})
        verdict = decision.summary() if decision else "no gate decision recorded"
        lines.append(f"Earlier: version {v.version} registered {day}, {verdict}.")
    return lines


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)).floor("s")
