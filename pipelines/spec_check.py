"""`leadscore spec check`: an export compared with its spec, and the windows training would make of it (the
check reads training's split, so it lives above pipelines.train, not in pipelines.spec beneath it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.contracts import ContractError
from features.flat import ExportSpec
from features.spec_check import SpecReport, check_spec
from models.minimum_data import InsufficientDataError, check_minimum_data
from pipelines.registry import gate_rules
from pipelines.settings import PipelineConfig, load_config, load_source_spec
from pipelines.sources import ExportSource
from pipelines.spec import read_spec_export, too_recent_warning
from pipelines.train import make_split


def run_spec_check(
    input_path: Path, spec_path: str, cfg: PipelineConfig | None = None
) -> tuple[ExportSpec, SpecReport]:
    """Compare an export with a spec (file or shipped name), with training's split and quarantine limit of
    `cfg` (the shipped config when None)."""
    spec = load_source_spec(spec_path)
    cfg = cfg or load_config()
    model = cfg.model
    rows = read_spec_export(input_path, spec).reset_index(drop=True)
    report = check_spec(
        rows,
        spec,
        need_time=model.split.method == "out_of_time",
        max_quarantine_share=model.max_quarantine_share,
    )
    if report.ok:
        report.warnings += too_recent_warning(rows, spec, model)
        report.warnings += small_test_window_warning(rows, spec, cfg)
    return spec, report


def small_test_window_warning(rows: pd.DataFrame, spec: ExportSpec, cfg: PipelineConfig) -> list[str]:
    """The test window training's split would hold, as a warning when it has fewer won or lost rows than the
    gate needs to promote a model (registry.min_test_won, min_test_lost): `spec check` said ok for a
    model.split.test_fraction that left 2 rows to test, and train then registered a model it could not judge
    (or read their chance AUC 1.000 as a leak). When the learning window is below training's own minimum
    (model.min_won, min_lost), that is the warning instead: train stops there (exit 4), and no test fraction
    mends it. None when training would stop for another reason first."""
    source = ExportSource(rows, spec)
    try:
        data = source.training_data(cfg, None)
        split = make_split(data.frame, source.training_config(cfg))
    except (ContractError, ValueError):  # train says these itself, with its own sentence
        return []
    y = data.y
    learning = y[np.concatenate([split.train, split.valid])]
    try:
        check_minimum_data(learning, cfg.model.min_won, cfg.model.min_lost, window="learning")
    except InsufficientDataError as error:
        return [f"train would stop before training (exit 4): {error}"]
    won, lost = int(y[split.test].sum()), int(len(split.test) - y[split.test].sum())
    if gate_rules(cfg).enough_to_decide(won, lost):
        return []
    need_won, need_lost = cfg.registry.min_test_won, cfg.registry.min_test_lost
    fraction = cfg.model.split.test_fraction
    enough = max(need_won / max(int(y.sum()), 1), need_lost / max(int(len(y) - y.sum()), 1))
    fix = (
        f"raise model.split.test_fraction to about {min(enough * 1.1, 0.99):.2f}"
        if enough * 1.1 + cfg.model.split.valid_fraction < 0.9
        else "use a longer export, or lower registry.min_test_won and min_test_lost"
    )
    return [
        f"the test window would hold {len(split.test):,} labelled rows ({won:,} won, {lost:,} lost; "
        f"model.split.test_fraction={fraction:g}): the gate needs at least {need_won:,} won and {need_lost:,} "
        "lost (registry.min_test_won, registry.min_test_lost) to promote a model, so train would register one "
        f"it cannot judge (exit 6); {fix}"
    ]
