"""Job: the whole flow on built-in synthetic CRM data (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.synthetic import GeneratorConfig
from pipelines.console import console, frame_table
from pipelines.generate import run_generate
from pipelines.io import read_tables
from pipelines.validate import quarantine_summary, run_validate


def run_demo(out: Path, generator: GeneratorConfig) -> None:
    """Generate a history, validate it, and report; each step prints what it did."""
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
