"""The scorer for a flat lead export (one row per lead, engagement already aggregated, an export spec).

It keeps the Scorer contract of models/scorer.py, so batch, online and the card treat it as they treat the
CRM-table scorer. Where the spec maps export columns to ICP attributes (`guardrail` is then the ICP,
features.flat.export_icp), fit tiers and disqualifications apply as for CRM leads: a disqualified lead is
graded D, ranked below every qualified one, and its reasons start with why. Without a mapping fit_tier is
empty and nobody is disqualified; without intent columns intent_band is empty. Its reasons name the export's
columns by their labels in the spec (else cleaned headers) and their values.
"""

from __future__ import annotations

import calendar
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.config import ICPConfig
from features.contracts import ContractError, export_ids
from features.export_contract import EXPORT_TABLE, check_export  # EXPORT_TABLE: an export among the tables
from features.flat import (
    ExportSpec,
    build_flat_features,
    flat_feature_groups,
    flat_guardrail,
    flat_timestamps,
    season_at,
    season_features,
    spelled,
)
from features.frames import Table
from features.icp import guarded_grades, guarded_ranks
from features.text import CONTROL, INVISIBLE, printable
from models.evaluate import assign_grades
from models.explain import concept_of, join_nonempty
from models.formatting import names_a_year, number_words
from models.lead_input import LeadInputError, is_utf8, shown
from models.scorer import (
    SCORE_COLUMNS,
    InputReader,
    Read,
    _with_disqualification,
    group_contribution,
    intent_band,
    iso_seconds,
)
from models.train import TrainedModel
from models.trend import NO_TREND


@dataclass(frozen=True)
class ExportInput:
    """The input of a FlatScorer: rows of a flat export, read with its spec."""

    spec: ExportSpec
    typed_by_signature: bool = True

    def describe(self) -> str:
        return f"a flat export (spec {self.spec.name!r})"

    def read(self, reader: InputReader[Read]) -> Read:
        return reader.flat_export(self.spec)


@dataclass
class FlatScorer:
    """Everything needed to score rows of a flat export the way the model was trained (a Scorer)."""

    spec: ExportSpec
    model: TrainedModel
    intent_cutpoints: tuple[float, float] = (0.0, 0.5)
    positive_reasons: int = 3
    negative_reasons: int = 2
    model_name: str = "leadscore"
    model_version: str = ""
    model_store: str = ""
    # The ICP applied to the export (None: guardrail off) and the region of each country code. Class-level
    # defaults, so artifacts pickled before these fields existed load with the guardrail off.
    guardrail: ICPConfig | None = None
    regions: tuple[tuple[str, str], ...] = ()
    # Log-odds a column must move the score by to be a reason (scoring.min_reason_contribution); artifacts
    # pickled before this field existed keep the 0.02 they were scored with.
    min_reason_contribution: float = 0.02
    # Per categorical feature, the spelling reasons show for each folded level (features.flat.level_spellings);
    # empty for artifacts pickled before it, and for specs that do not fold levels.
    level_spellings: dict[str, dict[str, str]] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("level_spellings", {})
        self.__dict__.update(state)

    @property
    def input(self) -> ExportInput:
        return ExportInput(self.spec)

    @property
    def groups(self) -> dict[str, list[str]]:
        return flat_feature_groups(self.spec)

    @property
    def icp(self) -> ICPConfig | None:
        return self.guardrail

    def feature_frame(
        self, tables: Mapping[str, Table | pd.DataFrame], rows: Table | pd.DataFrame
    ) -> pd.DataFrame:
        """Model-ready features of raw export rows (placeholders to missing, leaky columns gone), with the
        guardrail's columns (fit_tier, disqualified, ...) when the spec maps ICP attributes; an export's rows
        carry their own facts, so `tables` adds nothing."""
        # Scoring needs no label: an open row's label is empty, which training would refuse.
        unlabelled = _frame(rows).drop(columns=[self.spec.label_column], errors="ignore")
        features = build_flat_features(unlabelled, self.spec)[0]
        if self.guardrail is None:
            return features
        guard = flat_guardrail(unlabelled, features, self.spec, self.guardrail, dict(self.regions))
        return features.assign(**guard)

    def scoring_features(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp
    ) -> pd.DataFrame:
        """Features of the raw rows of the export as of `as_of` (its season, its snapshot time)."""
        features = season_at(self.feature_frame(tables, tables[EXPORT_TABLE]), self.spec, as_of)
        return features.assign(snapshot_at=pd.Timestamp(as_of))

    def score_tables(
        self, tables: Mapping[str, Table | pd.DataFrame], as_of: pd.Timestamp, reasons: bool = True
    ) -> pd.DataFrame:
        """Scores for the raw rows of the export, as of `as_of`."""
        return self.score_frame(self.scoring_features(tables, as_of), reasons)

    def feed_gap_warnings(self, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp) -> list[str]:
        """None: an export is one file of leads, with no activity or deals feed of its own."""
        return []

    def score_request(
        self,
        rows: pd.DataFrame | list[dict[str, Any]],
        as_of: pd.Timestamp,
        reasons: bool,
        *,
        latest: pd.Timestamp,
        max_text_chars: int | None,
    ) -> dict[str, object]:
        """Export rows (typed by the artifact's signature) scored, as_of as ISO 8601 text, on a RangeIndex."""
        frame = rows if isinstance(rows, pd.DataFrame) else with_fields_left_out(rows, self.spec)
        frame = checked_request(frame, self.spec, as_of, max_text_chars)
        scores = self.score_tables({EXPORT_TABLE: frame}, as_of, reasons)
        scores = scores.assign(as_of=iso_seconds(scores["as_of"]))
        if not scores.index.equals(pd.RangeIndex(len(scores))):
            scores = scores.reset_index(drop=True)
        return dict(scores.items())

    def score_frame(
        self, frame: Table | pd.DataFrame, reasons: bool = True, as_of_text: bool = False
    ) -> pd.DataFrame:
        """Scores for feature rows (as feature_frame builds them, plus snapshot_at: the as-of of each row)."""
        frame = _frame(frame)
        contributions = self.model.contributions(frame)
        names = self.model.feature_names
        score = pd.Series(
            self.model.calibrator.predict(contributions.sum(axis=1).to_numpy()), index=frame.index
        )
        groups = self.groups
        values = contributions.to_numpy()
        fit = group_contribution(values, names, groups["fit"])
        intent = group_contribution(values, names, groups["intent"])
        spec = self.spec
        labels = {
            spec.feature_name(c): spec.reason_label(c) for c in [*spec.fit_columns, *spec.intent_columns]
        }
        months = season_features(spec)
        labels |= {name: concept_of(name) for name in months}  # "time of year", as CRM reasons say it
        words = flat_reasons(
            spelled(frame, self.level_spellings),
            contributions[names],
            self.positive_reasons,
            self.negative_reasons,
            labels,
            months,
            self.min_reason_contribution,
        )
        grade = assign_grades(score, self.model.grade_thresholds)
        guarded = self.guardrail is not None and "disqualified" in frame.columns
        disqualified = frame["disqualified"].to_numpy(dtype=bool) if guarded else np.zeros(len(frame), bool)
        detail = frame["disqualify_detail"].to_numpy(dtype=object) if guarded else ""
        out = pd.DataFrame(
            {
                "lead_id": frame[spec.feature_name(spec.id_column)].astype("str"),
                "as_of": iso_seconds(frame["snapshot_at"]) if as_of_text else frame["snapshot_at"],
                "score": score,
                "grade": guarded_grades(grade.to_numpy(dtype=object), disqualified),
                "rank_score": guarded_ranks(score.to_numpy(), disqualified),
                "fit_tier": frame["fit_tier"].to_numpy(dtype=object) if guarded else "",
                # No intent columns, no intent to band: missing rather than the same band for every lead.
                "intent_band": intent_band(intent, self.intent_cutpoints) if spec.intent_columns else pd.NA,
                "disqualified": disqualified,
                "disqualify_reasons": frame["disqualify_reasons"].to_numpy(dtype=object) if guarded else "",
                "disqualify_detail": detail,
                "reasons": _with_disqualification(
                    words["reasons"].to_numpy(dtype=object), np.asarray(detail, dtype=object), disqualified
                )
                if guarded
                else words["reasons"],
                **{column: words[column] for column in ("reasons_positive", "reasons_negative")},
                "fit_contribution": fit,
                "intent_contribution": intent,
                "model_name": self.model_name,
                "model_version": str(self.model_version),
                **NO_TREND,
            },
            index=frame.index,
        )
        if not reasons:
            out[["reasons", "reasons_positive", "reasons_negative"]] = ""
        return out[list(SCORE_COLUMNS)]


def checked_request(
    frame: pd.DataFrame, spec: ExportSpec, as_of: pd.Timestamp, max_text_chars: int | None
) -> pd.DataFrame:
    """An online request's export rows, refused (LeadInputError naming the row, the field and the rule) where
    batch scoring would not score them: what the export's contract quarantines (no id, a repeated id, inf or
    a number that is none, a time that is no date), a lead created after as_of, a value that is no single
    text or number, a text longer than serving.max_text_chars, and rows without a column the spec reads, as
    batch refuses such a file: MLflow drops a column whose name the signature does not know ("lead source"
    for "Lead Source") before the rows get here, and every lead was scored without it. A JSON record's field
    left out is null (with_fields_left_out; leadscore serve adds them). The label is not an input of the
    signature: MLflow drops it before the rows get here."""
    frame = frame.reset_index(drop=True)
    absent = [c for c in spec.input_columns() if c not in frame.columns]
    if getattr(spec, "id_from_row", False) and spec.id_column in absent:
        raise LeadInputError(
            f"field {spec.id_column!r}: the rows have no column {spec.id_column!r}, the row number that names "
            "each lead of an export without an id (its spec numbers the rows: id_from_row); add it, 1 = the "
            "file's first row under the header, as leadscore score numbers them (for a whole file read with "
            f"pd.read_csv: frame.insert(0, {spec.id_column!r}, range(1, len(frame) + 1))) (rule: row number)"
        )
    if absent:
        raise LeadInputError(
            f"field {absent[0]!r}: the rows have no column {absent[0]!r}, which the model reads (a column of "
            "another case, spacing or spelling is dropped by MLflow before the model sees it, and each lead "
            "would be scored without it; batch scoring refuses such an export); name the column as the export "
            "does, empty for leads without a value (rule: known fields only)"
        )
    # An id 660737.0 or "660737.0" (a float column, as JSON, Parquet or a CSV gives it) is 660737, as batch reads it.
    if spec.id_column in frame.columns:
        frame = frame.assign(**{spec.id_column: export_ids(frame[spec.id_column])})
    for column in frame.columns:
        for row, value in enumerate(frame[column].tolist()):
            if isinstance(value, list | dict | tuple):
                raise LeadInputError(
                    f"row {row}, field {column!r}: must be one value, not a list (rule: scalar)"
                )
            if isinstance(value, bytes | bytearray) and not is_utf8(value):  # pandas reads bytes as UTF-8
                raise LeadInputError(
                    f"row {row}, field {column!r}: bytes that are not UTF-8 text; send text (rule: text)"
                )
            if max_text_chars is not None and isinstance(value, str) and len(value) > max_text_chars:
                raise LeadInputError(
                    f"row {row}, field {column!r}: is {len(value):,} characters long, more than the "
                    f"{max_text_chars:,} accepted (rule: serving.max_text_chars)"
                )
    if getattr(spec, "id_from_row", False) and spec.id_column in frame.columns:
        frame = frame.assign(**{spec.id_column: row_numbers(frame[spec.id_column], spec.id_column)})
    _, quarantine = check_export(frame, spec)
    if len(quarantine):
        first = quarantine.iloc[0]
        raise LeadInputError(
            f"row {first['row']}, field {first['column']!r}: {first['reason']} (rule: {first['check']})"
        )
    if spec.timestamp_column:
        try:
            times = flat_timestamps(frame[spec.timestamp_column], spec)
        except ContractError as error:
            raise LeadInputError(f"field {spec.timestamp_column!r}: {error} (rule: date_format)") from None
        later = np.flatnonzero((times > as_of).to_numpy())
        if len(later):
            raise LeadInputError(
                f"row {later[0]}, field {spec.timestamp_column!r}: the lead was created after as_of "
                f"({pd.Timestamp(as_of).isoformat()}): it cannot be scored as of then (rule: created by as_of)"
            )
    return frame


def with_fields_left_out(records: list[dict[str, Any]], spec: ExportSpec) -> pd.DataFrame:
    """JSON records as a frame, a column the spec reads that every record leaves out as null (JSON callers
    leave out a field they have no value for)."""
    frame = pd.DataFrame.from_records(records)
    absent = [c for c in spec.input_columns() if c not in frame.columns]
    return frame.assign(**dict.fromkeys(absent, None)) if absent else frame


ROW_NUMBER = re.compile(r"^\+?0*([1-9]\d*)(\.0*)?$")


def row_numbers(ids: pd.Series, column: str) -> pd.Series:
    """The ids of an export whose spec numbers its rows (id_from_row) as batch numbers them: 7, 7.0, "7.0" and
    " 7" are the row "7" (they came back as "7.0", a lead id batch never gives). A value that is no row
    number (0, -1, 7.5, "x1", true) raises LeadInputError; a missing one stays missing (not_null says so)."""
    out: list[str | None] = []
    for row, value in enumerate(ids.tolist()):
        if (
            value is None
            or value is pd.NA
            or value is pd.NaT
            or (isinstance(value, float) and np.isnan(value))
        ):
            out.append(None)
            continue
        if isinstance(value, str | numbers.Number) and not isinstance(value, bool | np.bool_):
            text = str(value).strip()
            found = ROW_NUMBER.match(text)
            if found or text == "":
                out.append(found.group(1) if found else None)
                continue
        raise LeadInputError(
            f"row {row}, field {column!r}: {shown(value)} is not a row number (the spec numbers the export's "
            f"rows into {column!r}, 1 = the first row under the header): send the lead's row number "
            "(rule: row number)"
        )
    return pd.Series(out, index=ids.index, dtype=object)


def _frame(rows: Table | pd.DataFrame) -> pd.DataFrame:
    return rows if isinstance(rows, pd.DataFrame) else rows.to_frame()


def _value_words(frame: pd.DataFrame, column: str, label: str, month: bool = False) -> np.ndarray:
    values = frame[column]
    if month:  # the snapshot's month (1-12): "time of year: August", not "month_of_year: 8"
        text = values.map(lambda m: calendar.month_name[int(m)], na_action="ignore")
    elif pd.api.types.is_numeric_dtype(values):
        year = names_a_year(column) or names_a_year(label)
        text = values.map(lambda v: number_words(v, year), na_action="ignore")
    else:
        text = values.astype("str")
    words = label + ": " + text.where(values.notna(), "not given")
    # A reason reaches files, CRMs and the online answer: text from the data as printable text only.
    unshown = (words.str.contains(CONTROL) | words.str.contains(INVISIBLE)).to_numpy(dtype=bool)
    if unshown.any():
        words = words.where(~unshown, words[unshown].map(printable))
    # in_reason for every row at once: a level's ";" would read as the start of another reason
    return words.str.replace(";", ",", regex=False).to_numpy(dtype=object)


def flat_reasons(
    frame: pd.DataFrame,
    contributions: pd.DataFrame,
    positive: int,
    negative: int,
    labels: dict[str, str],
    months: Sequence[str] = (),
    min_contribution: float = 0.02,
) -> pd.DataFrame:
    """Top positive and negative columns per row, as 'Export column: value' sentences (`months`: the season
    features, said as a month's name), each moving the log-odds by `min_contribution` at least."""
    values = contributions.to_numpy(dtype=float)
    sentences = np.column_stack(
        [_value_words(frame, c, labels.get(c, c), c in months) for c in contributions.columns]
    )
    order = np.argsort(-values, axis=1, kind="stable")
    rows = np.arange(len(values))[:, None]
    ranked, text = values[rows, order], sentences[rows, order]
    pos = [
        np.where(ranked[:, k] >= min_contribution, text[:, k], "")
        for k in range(min(positive, values.shape[1]))
    ]
    neg = [
        np.where(ranked[:, -1 - k] <= -min_contribution, text[:, -1 - k], "")
        for k in range(min(negative, values.shape[1]))
    ]
    n = len(frame)
    signed = [np.where(p == "", "", "+ " + p.astype(object)) for p in pos] + [
        np.where(p == "", "", "- " + p.astype(object)) for p in neg
    ]
    return pd.DataFrame(
        {
            "reasons": join_nonempty(signed, "; ", n),
            "reasons_positive": join_nonempty(pos, "; ", n),
            "reasons_negative": join_nonempty(neg, "; ", n),
        },
        index=frame.index,
    )
