"""What a training run produced: the scorer, its data and split, the evaluation and the gate's decision.

Its own module, so that the modules that read a result (card, registry, tracking) do not import the
training job back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models.compare import Evaluation
from models.promotion import GateDecision
from models.scorer import Scorer
from models.splits import Split
from pipelines.sources import TrainingData


@dataclass
class TrainResult:
    """`scorer` is the model that ships; `tested` the one `evaluation` measured on `split`'s test window (the
    same object unless the shipped one was trained again with the test window: model.refit_on_test_window)."""

    scorer: Scorer
    data: TrainingData
    split: Split
    evaluation: Evaluation
    tested: Scorer | None = None  # None: `scorer` was tested
    # The champion scored on the test window (None: none, or it reads another input), and whether it is the
    # live (registered) model or its tested one (pipelines.train.champion_to_compare).
    champion: Scorer | None = None
    champion_live: bool = False
    decision: GateDecision | None = None
    run_id: str | None = None
    version: str | None = None
    card_paths: tuple[Path, Path] | None = None
    warnings: list[str] = field(default_factory=list)
    gate_notes: list[str] = field(default_factory=list)  # said beside the gate's checks (an ICP changed)
    # Why the champion was not scored on the test window (--force past a lost tested model).
    champion_unscored: str = ""
    # Why the newest outcomes look broken, found outside the test window (a retrain's backtest): the gate
    # says "evidence looks broken" whatever the test window showed.
    evidence_broken: str = ""
    # The champion's version when the run started ("" for none; None when not recorded): another run that
    # promoted a version meanwhile was replaced without being compared (registry.champion_moved).
    champion_at_start: str | None = None

    @property
    def tested_scorer(self) -> Scorer:
        """The scorer the evaluation measured."""
        return self.tested if self.tested is not None else self.scorer

    @property
    def refitted(self) -> bool:
        """Whether the shipped scorer was trained again on the test window after it was measured."""
        return self.tested is not None and self.tested is not self.scorer

    def split_record(self) -> dict:
        """The split as logged with the run (its `split` tag): the tested windows, and for a refitted model
        `refit` and `learned_end`, the newest deal it learnt from (promotion.learned_window(live=True) reads
        it when the gate scores this version as it scores leads)."""
        record = self.split.summary()
        if self.refitted:
            record.update(
                {k: v for k, v in self.scorer.model.split_summary.items() if k in ("refit", "learned_end")}
            )
        return record

    def newest_deal_learnt(self) -> str:
        """The creation day of the newest deal the shipped model learnt from (YYYY-MM-DD; "" without dates):
        every row's newest when it was trained again with its test window, else the learning rows' newest."""
        times = pd.to_datetime(self.data.frame["snapshot_at"], errors="coerce")
        if not self.refitted:
            times = times.iloc[np.concatenate([self.split.train, self.split.valid])]
        newest = times.max() if len(times) else pd.NaT
        return "" if pd.isna(newest) else f"{pd.Timestamp(newest):%Y-%m-%d}"
