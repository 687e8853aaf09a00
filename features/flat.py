"""Flat lead exports (one row per lead, columns as some CRM wrote them) made model-ready by an export spec.

An ExportSpec (the user's YAML, given with `--source-spec`) says which column is the id, which the label,
which columns describe who the lead is (fit: categorical or numeric), which what they did (intent: numeric),
which must never reach a model (leaky: filled in after the outcome was known) and which to drop for other
reasons. Column names in the spec are the export's own; `renames` gives the names the features get. The
label's values are won (positive_labels), lost (negative_labels) or still open (open_labels); a spec without
negative_labels reads every value that is not won (nor open) as lost, as specs did before the lists existed.
Pipelines read the YAML and call ExportSpec.model_validate on the dict; nothing here touches disk.
"""

from __future__ import annotations

import difflib
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.contracts import ContractError
from features.dates import DateFormatError, check_format, parse_timestamps
from features.season import SEASON_FEATURES, month_of_year

ColumnKind = Literal["categorical", "numeric"]


class ExportSpec(BaseModel):
    """How to read one flat lead export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    id_column: str = Field(min_length=1)
    label_column: str = Field(min_length=1)
    positive_labels: tuple[str | int | float | bool, ...] = Field(min_length=1)
    negative_labels: tuple[str | int | float | bool, ...] = ()  # lost; empty: every other value is lost
    open_labels: tuple[str | int | float | bool, ...] = ()  # still undecided: never trained on as lost
    delimiter: str = Field(default=",", min_length=1, max_length=1)  # of a CSV export
    encoding: str = "utf-8"  # of a CSV export, e.g. "cp1252"
    timestamp_column: str | None = None
    date_format: str | None = None  # how timestamp_column is written when not ISO 8601, e.g. "%d/%m/%Y %H:%M"
    fit_columns: dict[str, ColumnKind] = Field(default_factory=dict)
    intent_columns: tuple[str, ...] = ()
    leaky_columns: dict[str, str] = Field(default_factory=dict)  # column -> why it leaks
    drop_columns: dict[str, str] = Field(default_factory=dict)  # column -> why it is not a feature
    missing_values: tuple[str, ...] = ()  # placeholder values meaning "not given", e.g. "Select"
    renames: dict[str, str] = Field(default_factory=dict)  # export column -> feature name

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, fmt: str | None) -> str | None:
        return None if fmt is None else check_format(fmt)

    @model_validator(mode="after")
    def _consistent(self) -> ExportSpec:
        if not self.fit_columns and not self.intent_columns:
            raise ValueError(f"spec {self.name!r}: no fit or intent columns, nothing to model")
        lists = {"positive_labels": self.positive_labels, "negative_labels": self.negative_labels}
        lists["open_labels"] = self.open_labels
        listed: dict[str, str] = {}
        for role, values in lists.items():
            for value in values:
                text = label_text(value)
                if text in listed:
                    raise ValueError(f"spec {self.name!r}: label {value!r} is in {listed[text]} and {role}")
                listed[text] = role
        roles = {
            "id_column": [self.id_column],
            "label_column": [self.label_column],
            "timestamp_column": [self.timestamp_column] if self.timestamp_column else [],
            "fit_columns": list(self.fit_columns),
            "intent_columns": list(self.intent_columns),
            "leaky_columns": list(self.leaky_columns),
            "drop_columns": list(self.drop_columns),
        }
        seen: dict[str, str] = {}
        for role, columns in roles.items():
            for column in columns:
                if column in seen:
                    raise ValueError(f"spec {self.name!r}: column {column!r} is in {seen[column]} and {role}")
                seen[column] = role
        kept = [self.id_column, *roles["timestamp_column"], *self.fit_columns, *self.intent_columns]
        stray = sorted(set(self.renames) - set(kept))
        if stray:
            raise ValueError(f"spec {self.name!r}: renames name columns that are not kept: {stray}")
        outputs = [self.renames.get(c, c) for c in kept]
        repeated = sorted({c for c in outputs if outputs.count(c) > 1})
        if repeated:
            raise ValueError(f"spec {self.name!r}: renames give several columns the name {repeated}")
        reasonless = sorted(
            c for c, why in {**self.leaky_columns, **self.drop_columns}.items() if not why.strip()
        )
        if reasonless:
            raise ValueError(f"spec {self.name!r}: say why these columns are excluded: {reasonless}")
        return self

    def feature_name(self, column: str) -> str:
        return self.renames.get(column, column)

    def declared_columns(self) -> set[str]:
        """Every export column the spec gives a role."""
        named = {self.id_column, self.label_column, *self.fit_columns, *self.intent_columns}
        named |= set(self.leaky_columns) | set(self.drop_columns)
        return named | ({self.timestamp_column} if self.timestamp_column else set())


# The name before ExportSpec: artifacts pickled then refer to features.flat.SourceSpec and still load.
SourceSpec = ExportSpec


def flat_feature_groups(spec: ExportSpec) -> dict[str, list[str]]:
    """The model's input columns by kind, under their feature names."""
    return {
        "fit": [spec.feature_name(c) for c in spec.fit_columns] + list(_season_features(spec)),
        "intent": [spec.feature_name(c) for c in spec.intent_columns],
    }


def _season_features(spec: ExportSpec) -> tuple[str, ...]:
    """The month of the snapshot (features.season) for an export with a time column, unless the spec already
    gives one of its own columns that name."""
    if not spec.timestamp_column:
        return ()
    names = {spec.feature_name(c) for c in [*spec.fit_columns, *spec.intent_columns]}
    return tuple(c for c in SEASON_FEATURES if c not in names)


def season_at(features: pd.DataFrame, spec: ExportSpec, as_of: pd.Timestamp) -> pd.DataFrame:
    """Scoring's features with the month of `as_of` (the snapshot), not of each row's creation."""
    if "month_of_year" not in _season_features(spec):
        return features
    return features.assign(month_of_year=month_of_year(pd.Series([pd.Timestamp(as_of)]))[0])


def flat_categorical_features(spec: ExportSpec) -> list[str]:
    return [spec.feature_name(c) for c, kind in spec.fit_columns.items() if kind == "categorical"]


def undeclared_columns(frame: pd.DataFrame, spec: ExportSpec) -> list[str]:
    """Export columns the spec says nothing about (build_flat_features leaves them out)."""
    return [c for c in frame.columns if c not in spec.declared_columns()]


def build_flat_features(frame: pd.DataFrame, spec: ExportSpec) -> tuple[pd.DataFrame, pd.Series | None]:
    """Model-ready features (RangeIndex) and the 0/1 label (None when the export has no label column).

    Columns: the id, the timestamp and its month_of_year (features.season) when the spec has one, then fit and
    intent features under their feature names; scoring replaces the month by as_of's (season_at).
    Categoricals are str, numerics float; placeholder values are missing; leaky, dropped and undeclared
    columns are gone.
    """
    required = [spec.id_column, *spec.fit_columns, *spec.intent_columns]
    if spec.timestamp_column:
        required.append(spec.timestamp_column)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        hints = [f"{c!r}{did_you_mean(c, list(frame.columns))}" for c in missing]
        raise ContractError(
            f"spec {spec.name!r}: the export lacks the spec's columns {', '.join(hints)}; "
            "fix the names in the spec (leadscore spec check lists them all)"
        )
    frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {spec.feature_name(spec.id_column): frame[spec.id_column].astype("str")}
    if spec.timestamp_column:
        columns[spec.feature_name(spec.timestamp_column)] = flat_timestamps(
            frame[spec.timestamp_column], spec
        )
        if "month_of_year" in _season_features(spec):  # training's snapshot: the row's own time
            columns["month_of_year"] = pd.Series(
                month_of_year(columns[spec.feature_name(spec.timestamp_column)])
            )
    for column, kind in spec.fit_columns.items():
        values = without_placeholders(frame[column], spec.missing_values)
        columns[spec.feature_name(column)] = (
            as_categorical(values) if kind == "categorical" else as_numeric(values)
        )
    for column in spec.intent_columns:
        columns[spec.feature_name(column)] = as_numeric(
            without_placeholders(frame[column], spec.missing_values)
        )
    features = pd.DataFrame(columns)
    label = flat_label(frame, spec) if spec.label_column in frame.columns else None
    return features, label


def flat_timestamps(values: pd.Series, spec: ExportSpec) -> pd.Series:
    """The timestamp column through the one date parser (ISO 8601, else the spec's date_format); values that
    are no date at all are missing, as before. A format nobody named raises ContractError (exit 3)."""
    try:
        return parse_timestamps(values, spec.date_format)[0]
    except DateFormatError as error:
        where = f"spec {spec.name!r}, column {spec.timestamp_column!r}"
        raise ContractError(error.describe(where, "date_format in the source spec")) from error


def flat_label(frame: pd.DataFrame, spec: ExportSpec) -> pd.Series:
    """1 where the label column holds a won value, 0 where lost (compared as text); open rows are <NA>.

    Int64 when some rows are open (train on `closed_rows` only), else int64. A value in none of the lists of
    a spec that names its lost values, or a missing label, raises ContractError: never relabelled silently.
    """
    outcome = label_outcomes(frame, spec)
    unknown = outcome == "unknown"
    if unknown.any():
        raise ContractError(unexpected_labels_sentence(spec, frame[spec.label_column][unknown.to_numpy()]))
    if (outcome == "missing").any():
        raise ContractError(
            f"spec {spec.name!r}: {int((outcome == 'missing').sum())} rows have no {spec.label_column!r}; "
            "fill it in or leave those rows out of the export"
        )
    label = (outcome == "won").astype("int64").rename(spec.label_column)
    if (outcome == "open").any():
        return label.astype("Int64").mask(outcome == "open")
    return label


def label_outcomes(frame: pd.DataFrame, spec: ExportSpec) -> pd.Series:
    """Each row's label as "won", "lost", "open", "missing" or "unknown" (not in a spec's explicit lists)."""
    raw = frame[spec.label_column].reset_index(drop=True)
    text = raw.map(label_text)
    won = text.isin({label_text(v) for v in spec.positive_labels})
    is_open = text.isin({label_text(v) for v in getattr(spec, "open_labels", ())})
    negatives = getattr(spec, "negative_labels", ())
    lost = text.isin({label_text(v) for v in negatives}) if negatives else ~(won | is_open)
    outcome = pd.Series("unknown", index=raw.index, dtype="str", name=spec.label_column)
    outcome[lost.to_numpy()] = "lost"
    outcome[is_open.to_numpy()] = "open"
    outcome[won.to_numpy()] = "won"
    outcome[raw.isna().to_numpy()] = "missing"
    return outcome


def closed_rows(frame: pd.DataFrame, spec: ExportSpec) -> tuple[pd.DataFrame, int]:
    """The rows whose label is won or lost (the only ones to train on), and how many open rows were left."""
    outcome = label_outcomes(frame, spec).to_numpy()
    is_open = outcome == "open"
    return frame.loc[~is_open], int(is_open.sum())


def unexpected_labels_sentence(spec: ExportSpec, values: pd.Series) -> str:
    counts = values.map(label_text).value_counts()
    shown = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.head(5).items())
    return (
        f"spec {spec.name!r}: label column {spec.label_column!r} holds values that are not in "
        f"positive_labels, negative_labels or open_labels: {shown}; add each one to the list it belongs to"
    )


def did_you_mean(name: str, candidates: list[str]) -> str:
    """' (did you mean 'X'?)' for the closest candidate, compared without case, blanks and punctuation."""
    keyed = {_name_key(c): c for c in candidates}
    close = difflib.get_close_matches(_name_key(name), list(keyed), n=1, cutoff=0.75)
    return f" (did you mean {keyed[close[0]]!r}?)" if close else ""


def _name_key(name: object) -> str:
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def without_placeholders(values: pd.Series, placeholders: tuple[str, ...]) -> pd.Series:
    """Values with the placeholders (compared after stripping blanks) set missing."""
    if not placeholders:
        return values
    is_placeholder = values.astype("str").str.strip().isin(placeholders)
    return values.mask(is_placeholder)


def as_categorical(values: pd.Series) -> pd.Series:
    """Text with surrounding blanks removed; empty text and missing values stay missing."""
    text = values.astype("str").str.strip()
    return text.mask(text == "").astype("str")


def as_numeric(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("float64")


def label_text(value: object) -> str:
    """Labels compare as text, so 1, 1.0, "1" and True all read "1"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
