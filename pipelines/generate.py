"""Job: write a synthetic CRM history to a folder."""

from __future__ import annotations

from pathlib import Path

from features.synthetic import GeneratorConfig, SyntheticHistory, generate_history
from pipelines.locations import write_tables_output


def run_generate(cfg: GeneratorConfig, out: str | Path, fmt: str = "parquet") -> SyntheticHistory:
    """Generate the history for `cfg`; write the four tables plus `truth` (true probabilities) to a folder or URL."""
    history = generate_history(cfg)
    write_tables_output(out, {**history.tables(), "truth": history.truth}, fmt)
    return history
