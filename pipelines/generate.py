"""Job: write a synthetic CRM history to a folder."""

from __future__ import annotations

from pathlib import Path

from features.synthetic import GeneratorConfig, SyntheticHistory, generate_history
from pipelines.io import write_frame, write_tables


def run_generate(cfg: GeneratorConfig, out: Path, fmt: str = "parquet") -> SyntheticHistory:
    """Generate the history for `cfg` and write the four tables plus `truth` (true probabilities) to `out`."""
    history = generate_history(cfg)
    write_tables(history.tables(), out, fmt)
    write_frame(history.truth, out / f"truth.{fmt}")
    return history
