"""CardData as files and back, so that a card can be rendered again later exactly as it was at training
(`leadscore card` renders from the record logged to the run, without scoring anything again).

Pure: bytes in memory, no disk. Every frame is one Parquet file (dtypes, index and floats kept exactly);
everything else is one JSON file (Python writes floats exactly; timestamps as ISO text, the example leads,
the limitations, the settings and the score samples in their own shapes).
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.card.data import CardData, CardSettings, ExampleLead

META_NAME = "card.json"
RECORD_FORMAT = 1  # raised when the layout changes; a record of another format is not read


class CardRecordError(ValueError):
    """The files are not a card record this code can read."""


def card_record(data: CardData) -> dict[str, bytes]:
    """The files of a card record: file name -> content."""
    files: dict[str, bytes] = {}
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(data):
        value = getattr(data, item.name)
        if isinstance(value, pd.DataFrame):
            name = f"{item.name}.parquet"
            files[name] = value.to_parquet()
            fields[item.name] = {"frame": name}
        elif item.name in _ENCODE:
            fields[item.name] = _ENCODE[item.name](value)
        else:
            fields[item.name] = value
    meta = {"format": RECORD_FORMAT, "fields": fields}
    files[META_NAME] = json.dumps(meta, indent=1, default=_plain).encode("utf-8")
    return files


def card_from_record(files: Mapping[str, bytes]) -> CardData:
    """CardData from the files `card_record` wrote (CardRecordError when they are not such a record)."""
    if META_NAME not in files:
        raise CardRecordError(f"a card record has a {META_NAME}; found {sorted(files)}")
    meta = json.loads(files[META_NAME].decode("utf-8"))
    if meta.get("format") != RECORD_FORMAT:
        raise CardRecordError(f"card record format {meta.get('format')!r}, this code reads {RECORD_FORMAT}")
    values: dict[str, Any] = {}
    for item in dataclasses.fields(CardData):
        if item.name not in meta["fields"]:
            raise CardRecordError(f"the card record has no {item.name!r}")
        value = meta["fields"][item.name]
        if isinstance(value, dict) and set(value) == {"frame"}:
            values[item.name] = pd.read_parquet(io.BytesIO(files[value["frame"]]))
        elif item.name in _DECODE:
            values[item.name] = _DECODE[item.name](value)
        else:
            values[item.name] = value
    return CardData(**values)


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars a card's numbers may be."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not part of a card record")


def _timestamp(value: Any) -> str | None:
    return None if value is None else pd.Timestamp(value).isoformat()


_ENCODE: dict[str, Any] = {
    "trained_at": _timestamp,
    "next_retrain": _timestamp,
    "score_samples": lambda samples: {
        label: {"dtype": str(np.asarray(p).dtype), "values": np.asarray(p).tolist()}
        for label, p in samples.items()
    },
    "examples": lambda examples: [dataclasses.asdict(example) for example in examples],
    "limitations": lambda items: [list(item) for item in items],
    "settings": dataclasses.asdict,
}
_DECODE: dict[str, Any] = {
    "trained_at": lambda text: None if text is None else pd.Timestamp(text),
    "next_retrain": lambda text: None if text is None else pd.Timestamp(text),
    "score_samples": lambda samples: {
        label: np.asarray(sample["values"], dtype=sample["dtype"]) for label, sample in samples.items()
    },
    "examples": lambda examples: [ExampleLead(**example) for example in examples],
    "limitations": lambda items: [tuple(item) for item in items],
    "settings": lambda settings: CardSettings(**settings),
}
