"""Job: the whole flow on built-in synthetic CRM data (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.synthetic import GeneratorConfig
from pipelines.console import console, frame_table
from pipelines.generate import run_generate
from pipelines.io import read_tables
from pipelines.registry import CHALLENGER, CHAMPION, champion_version
from pipelines.score import grade_counts, run_score, top_leads
from pipelines.settings import load_config, tracking_uri
from pipelines.sources import CrmSource
from pipelines.summary import print_training_summary
from pipelines.tracking import load_scorer
from pipelines.train import run_train
from pipelines.validate import quarantine_summary, run_validate


def run_demo(out: Path, generator: GeneratorConfig) -> None:
    """Generate a history, validate it, train and register a model, score the open leads; each step prints."""
    data_dir = out / "data"
    console.rule("1. synthetic CRM history")
    history = run_generate(generator, data_dir)
    console.print(f"{data_dir}: " + ", ".join(f"{len(f):,} {n}" for n, f in history.tables().items()))

    console.rule("2. data contract")
    as_of = pd.Timestamp(generator.end)
    result = run_validate(read_tables(data_dir), as_of=as_of, quarantine_path=out / "quarantine.csv")
    console.print(frame_table(result.counts(), title="rows read, valid and quarantined"))
    if len(result.quarantine):
        console.print(frame_table(quarantine_summary(result).head(10), title="quarantine by check"))

    console.rule("3. train: features, ICP guardrail, LightGBM + calibration, baselines, MLflow")
    cfg = load_config()
    tables = read_tables(data_dir)
    trained = run_train(
        CrmSource(tables, location=str(data_dir)),
        cfg,
        truth=history.truth,
        trigger="leadscore demo",
        card_dir=out / "card",
    )
    print_training_summary(trained)

    alias = CHAMPION if champion_version(cfg.registry.model_name) is not None else CHALLENGER
    console.rule(f"4. score the open leads with the {alias}")
    if alias == CHALLENGER:
        console.print(
            "The gate has not promoted any version, so there is no champion; the demo scores with the "
            "challenger to show the output. A scheduled job would keep scoring with the champion.",
            style="yellow",
        )
    scorer = load_scorer(f"models:/{cfg.registry.model_name}@{alias}")
    scored = run_score(
        scorer,
        tables,
        as_of,
        out / "scores.parquet",
        cfg.scoring.chunk_size,
        missing_rise=cfg.scoring.missing_rise,
    )
    console.print(frame_table(scored.accounting, title="leads"))
    console.print(frame_table(grade_counts(scored.scores), title="grades"))
    console.print(frame_table(top_leads(scored.scores), title="top 10 open leads"))
    console.print(f"scores: {out / 'scores.parquet'}; MLflow: {tracking_uri()}")
    if trained.card_paths:
        console.print(
            f"model card for sales leadership: {trained.card_paths[0]} (Markdown: {trained.card_paths[1]})"
        )
