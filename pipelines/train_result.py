"""What a training run produced: the scorer, its data and split, the evaluation and the gate's decision.

Its own module, so that the modules that read a result (card, registry, tracking) do not import the
training job back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.compare import Evaluation
from models.promotion import GateDecision
from models.scorer import Scorer
from models.splits import Split
from pipelines.sources import TrainingData


@dataclass
class TrainResult:
    scorer: Scorer
    data: TrainingData
    split: Split
    evaluation: Evaluation
    decision: GateDecision | None = None
    run_id: str | None = None
    version: str | None = None
    card_paths: tuple[Path, Path] | None = None
    warnings: list[str] = field(default_factory=list)
    gate_notes: list[str] = field(default_factory=list)  # said beside the gate's checks (an ICP changed)
