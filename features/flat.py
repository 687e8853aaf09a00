"""Flat lead exports (one row per lead, columns as some CRM wrote them) made model-ready by an export spec.

An ExportSpec (the user's YAML, given with `--source-spec`) says which column is the id, which the label,
which columns describe who the lead is (fit: categorical or numeric), which what they did (intent: numeric),
which must never reach a model (leaky: filled in after the outcome was known) and which to drop for other
reasons. Column names in the spec are the export's own; `renames` gives the names the features get. The
label's values are won (positive_labels), lost (negative_labels) or still open (open_labels); a spec without
negative_labels reads every value that is not won (nor open) as lost, as specs did before the lists existed.
`labels` gives a column the readable name its reasons use (else a cleaned header, `clean_label`).

`icp_columns` maps export columns to the ICP attributes the guardrail reads (industry, employee count, revenue,
country, email, job title, lead source) and `icp` overrides ICP settings for this export (e.g. its served
countries): with them the CRM path's fit tiers and disqualification rules (features/icp.py) apply to the
export; a criterion whose attribute is not mapped weighs nothing and a rule whose attribute is missing never
fires. Without icp_columns the guardrail is off (fit_tier empty, nobody disqualified).
Pipelines read the YAML and call ExportSpec.model_validate on the dict; nothing here touches disk.
"""

from __future__ import annotations

import codecs
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.config import ICPConfig
from features.contracts import ContractError
from features.countries import alpha2_countries
from features.dates import DateFormatError, named_format, parse_timestamps

# The CRM path's email rule (competitor, free, business) and domain, reused.
from features.fit import _domain_types, guardrail_domain
from features.frames import Table, column_values
from features.icp import GUARDRAIL_COLUMNS, OPTIONAL_EMAIL_DOMAIN, REQUIRED_COLUMNS, icp_columns
from features.season import SEASON_FEATURES, month_of_year
from features.text import INVISIBLE, Text, composed_column, factorize_texts, level_key
from features.titles import title_labels
from features.vocab import WIN_RATE_PREFIX

ColumnKind = Literal["categorical", "numeric"]
IcpAttribute = Literal[
    "industry", "employee_count", "annual_revenue", "country", "email", "job_title", "lead_source"
]
# The ICP attributes read as numbers: a column mapped to one is checked as a number column.
NUMERIC_ICP_ATTRIBUTES = ("employee_count", "annual_revenue")
# The ICP criterion an attribute feeds; a criterion whose attribute is not mapped weighs nothing (tech is never
# in an export). Email feeds the competitor and free-email rules, lead source only extra rules.
CRITERION_OF: dict[str, str] = {
    "industry": "industry",
    "employee_count": "employee_range",
    "annual_revenue": "revenue_range",
    "country": "geography",
    "job_title": "persona",
}
# A header that asks a question ("What is your current occupation", "Do you want updates") loses the words
# before what it asks about ("occupation", "want updates").
QUESTION_STARTS = frozenset(["what", "which", "who", "whom", "whose", "how", "why", "when", "where"])
QUESTION_AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "have",
        "has",
        "can",
        "could",
        "would",
        "will",
        "should",
    ]
)
QUESTION_WORDS = (
    QUESTION_STARTS
    | QUESTION_AUXILIARIES
    | frozenset(
        [
            "you",
            "your",
            "yours",
            "we",
            "our",
            "us",
            "i",
            "my",
            "me",
            "the",
            "a",
            "an",
            "current",
            "currently",
            "please",
        ]
    )
)


# Columns leadscore adds beside an export's features (the guardrail's; a training row's keys, snapshot and
# outcome) or reads in a training row (a CRM deal's id and close: `train` and `evaluate` take a `closed_at`
# column as when each outcome became known): a fit or intent column of one of these names would be overwritten
# or misread, in training only for some.
ADDED_COLUMNS = (
    *GUARDRAIL_COLUMNS,
    "lead_id",
    "account_id",
    "snapshot_at",
    "outcome",
    "deal_id",
    "closed_at",
)
# Characters LightGBM refuses in a feature's name ("special JSON characters").
MODEL_NAME_CHARS = '[ ] { } : , "'
MODEL_NAME_REFUSED = re.compile(r'[\[\]{}:,"]')
# The ones leadscore fills from the export's id and time themselves (the same values): the id and time columns
# may bear these names, not the others.
KEY_COLUMNS = ("lead_id", "account_id", "snapshot_at", "deal_id")


def numbered_rows(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """`frame` with `column` first, holding each row's number as text (1 = the first row under the header)."""
    return pd.concat(
        [
            pd.DataFrame(
                {column: [str(i) for i in range(1, len(frame) + 1)]}, index=frame.index, dtype=object
            ),
            frame,
        ],
        axis=1,
    )


class ExportSpec(BaseModel):
    """How to read one flat lead export."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    id_column: str = Field(min_length=1)
    # The export has no id: leadscore numbers its rows into id_column as it reads it (1 = the first row under
    # the header), so a score names its lead by the row it came from.
    id_from_row: bool = False
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
    # A categorical level is one however its case, accents, blanks or trailing punctuation are typed ("Google",
    # "google ", "GOOGLE" are "google"); false keeps each spelling a level of its own, as models trained
    # before this setting read them (a spec unpickled without it).
    fold_levels: bool = True
    renames: dict[str, str] = Field(default_factory=dict)  # export column -> feature name
    labels: dict[str, str] = Field(default_factory=dict)  # fit or intent column -> readable name in reasons
    icp_columns: dict[IcpAttribute, str] = Field(default_factory=dict)  # ICP attribute -> export column
    icp: dict[str, Any] = Field(default_factory=dict)  # ICP settings for this export, over the config's

    @field_validator("date_format")
    @classmethod
    def _date_format(cls, fmt: str | None) -> str | None:
        return None if fmt is None else named_format(fmt)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, encoding: str) -> str:
        """An encoding Python knows (an unknown one failed deep in the CSV reader with a traceback)."""
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(
                f"unknown encoding {encoding!r}; use one Python knows, e.g. utf-8, cp1252 or latin-1"
            ) from None
        return encoding

    @model_validator(mode="after")
    def _consistent(self) -> ExportSpec:
        if not self.fit_columns and not self.intent_columns:
            raise ValueError(f"spec {self.name!r}: no fit or intent columns, nothing to model")
        lists = {"positive_labels": self.positive_labels, "negative_labels": self.negative_labels}
        lists["open_labels"] = self.open_labels
        listed: dict[str, str] = {}
        for role, values in lists.items():
            for value in values:
                text = label_key(value, self.fold_levels)  # "Won" and "won" are one value when folded
                if listed.get(text, role) != role:
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
        self._check_added_columns()
        self._check_model_names()
        reasonless = sorted(
            c for c, why in {**self.leaky_columns, **self.drop_columns}.items() if not why.strip()
        )
        if reasonless:
            raise ValueError(f"spec {self.name!r}: say why these columns are excluded: {reasonless}")
        self._check_labels_and_icp(kept)
        return self

    def _check_added_columns(self) -> None:
        """ValueError unless no kept column takes the name of one leadscore adds or reads (ADDED_COLUMNS; the id
        and time columns may be named as the keys leadscore fills from them): a time column `closed_at` was
        read as each row's close by `evaluate` and `train`, which left out of a fold every row created in the
        maturity window before it, without a word."""
        features = [*self.fit_columns, *self.intent_columns]
        keys = [self.id_column, *([self.timestamp_column] if self.timestamp_column else [])]
        taken = [c for c in features if self.feature_name(c) in ADDED_COLUMNS]
        taken += [c for c in keys if self.feature_name(c) in set(ADDED_COLUMNS) - set(KEY_COLUMNS)]
        if taken:
            column, name = taken[0], self.feature_name(taken[0])
            what = "the feature" if column in features else "the id or time column"
            raise ValueError(
                f"spec {self.name!r}: column {column!r} would be {what} {name!r}, a column leadscore adds "
                "or reads itself (the ICP guardrail's, or a training row's), which would replace or misread "
                f"its values silently; give it another name in renames, e.g. {column!r}: "
                f"{name + '_in_export'!r}"
            )
        # The model appends win rates by category under such names: LightGBM stopped on two columns of one name
        # (a traceback from train and evaluate).
        named_as_rates = [c for c in features if self.feature_name(c).startswith(WIN_RATE_PREFIX)]
        if named_as_rates:
            column = named_as_rates[0]
            raise ValueError(
                f"spec {self.name!r}: column {column!r} would be the feature {self.feature_name(column)!r}; names "
                f"beginning {WIN_RATE_PREFIX!r} are the model's own win-rate columns; give it another name in "
                f"renames, e.g. {column!r}: {self.feature_name(column).replace(WIN_RATE_PREFIX, 'win_rate_', 1)!r}"
            )

    def _check_model_names(self) -> None:
        """ValueError unless LightGBM can take every feature name: none holds a character it refuses
        (MODEL_NAME_REFUSED: "Visits [count]", "Revenue, USD") and no two are one after it writes blanks as "_"
        ("a b" and "a_b"; "month of year" and the month leadscore adds). Train and evaluate stopped with
        LightGBM's traceback (exit 1)."""
        columns = [*self.fit_columns, *self.intent_columns]
        names = [self.feature_name(c) for c in columns]
        for column, name in zip(columns, names, strict=True):
            found = MODEL_NAME_REFUSED.findall(name)
            if found:
                plain = " ".join(MODEL_NAME_REFUSED.sub(" ", name).split()) or "feature"
                raise ValueError(
                    f"spec {self.name!r}: the feature name {name!r} holds {found[0]!r}, which the model "
                    f"(LightGBM) cannot take in a feature's name ({MODEL_NAME_CHARS}); give it another name in "
                    f"renames, e.g. {column!r}: {plain!r}"
                )
        seen: dict[str, str] = {}
        for name in [*names, *season_features(self)]:
            blanks = re.sub(r"\s", "_", name)
            if blanks in seen:
                raise ValueError(
                    f"spec {self.name!r}: the feature names {seen[blanks]!r} and {name!r} are one name to the "
                    f"model (LightGBM writes blanks as '_': {blanks!r}); give one another name in renames"
                )
            seen[blanks] = name

    def _check_labels_and_icp(self, kept: list[str]) -> None:
        unlabelled = sorted(set(self.labels) - set(self.fit_columns) - set(self.intent_columns))
        if unlabelled:
            raise ValueError(
                f"spec {self.name!r}: labels name columns that are not fit or intent: {unlabelled}"
            )
        blank = sorted(c for c, text in self.labels.items() if not text.strip())
        if blank:
            raise ValueError(f"spec {self.name!r}: labels give these columns no text: {blank}")
        barred = {self.label_column: "label_column", **dict.fromkeys(self.leaky_columns, "leaky_columns")}
        for attribute, column in self.icp_columns.items():
            if column in barred:
                raise ValueError(
                    f"spec {self.name!r}: icp_columns maps {attribute} to {column!r}, which is in "
                    f"{barred[column]}: the guardrail may not read the outcome"
                )
        if self.icp and not self.icp_columns:
            raise ValueError(
                f"spec {self.name!r}: icp settings without icp_columns; map the columns they read"
            )
        unknown = sorted(set(self.icp) - set(ICPConfig.model_fields))
        if unknown:
            raise ValueError(
                f"spec {self.name!r}: icp names unknown settings {unknown}; see pipelines/defaults/icp.yaml"
            )
        try:
            ICPConfig.model_validate(self.icp)
        except ValidationError as error:
            raise ValueError(f"spec {self.name!r}: icp: {_first_error(error)}") from None

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A spec pickled in an artifact before a field existed loads with that field's default, except
        fold_levels, which a model trained before it did not do: it scores as it was trained."""
        values = state.get("__dict__", {})
        values.setdefault("fold_levels", False)
        for name, info in type(self).model_fields.items():
            if name not in values and not info.is_required():
                values[name] = info.get_default(call_default_factory=True)
        super().__setstate__(state)

    def feature_name(self, column: str) -> str:
        return self.renames.get(column, column)

    def declared_columns(self) -> set[str]:
        """Every export column the spec gives a role."""
        named = {self.id_column, self.label_column, *self.fit_columns, *self.intent_columns}
        named |= set(self.leaky_columns) | set(self.drop_columns) | set(self.icp_columns.values())
        return named | ({self.timestamp_column} if self.timestamp_column else set())

    def input_columns(self) -> list[str]:
        """The export columns scoring reads: the id, the time, fit, intent and ICP columns (once each)."""
        columns = [self.id_column, *([self.timestamp_column] if self.timestamp_column else [])]
        columns += [*self.fit_columns, *self.intent_columns, *self.icp_columns.values()]
        return list(dict.fromkeys(columns))

    def reason_label(self, column: str) -> str:
        """The name a column's reasons use: its label in the spec, else its cleaned header."""
        return self.labels.get(column) or clean_label(column)


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def clean_label(header: str) -> str:
    """A header as a reason reads it: lower case, words only, a question's leading words removed
    ("What is your current occupation" -> "occupation", "TotalVisits" -> "total visits")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(header))
    words = re.findall(r"[^\W_]+", spaced.casefold())
    asks = bool(words) and (
        words[0] in QUESTION_STARTS
        or (words[0] in QUESTION_AUXILIARIES and len(words) > 1 and words[1] in {"you", "your", "we", "i"})
    )
    start = 0
    while asks and start < len(words) - 1 and words[start] in QUESTION_WORDS:
        start += 1
    return " ".join(words[start:]) or str(header)


# The name before ExportSpec: artifacts pickled then refer to features.flat.SourceSpec and still load.
SourceSpec = ExportSpec


# ----------------------------------------------------------------------------------------------------------
# The ICP guardrail on an export
# ----------------------------------------------------------------------------------------------------------


def export_icp(spec: ExportSpec, base: ICPConfig) -> ICPConfig | None:
    """The ICP the guardrail applies to this export: `base` (the config's) with the spec's icp settings over
    it; criteria whose attribute the spec does not map weigh nothing, the geography rule needs a country.
    None when the spec maps no ICP attribute (the guardrail is off). A spec whose settings make no valid ICP
    raises ContractError."""
    if not spec.icp_columns:
        return None
    merged = {**base.model_dump(), **spec.icp}
    if set(CRITERION_OF) & set(spec.icp_columns):  # else no fit tier is given (flat_guardrail), weights stay
        weights = dict(merged["criterion_weights"])
        for attribute, criterion in CRITERION_OF.items():
            if attribute not in spec.icp_columns:
                weights[criterion] = 0.0
        merged["criterion_weights"] = {**weights, "tech": 0.0}
    if "country" not in spec.icp_columns:
        merged["disqualify_outside_geography"] = False
    readable = set(_attribute_names()) | set(
        flat_feature_groups(spec)["fit"] + flat_feature_groups(spec)["intent"]
    )
    merged["extra_rules"] = [r for r in merged["extra_rules"] if r["feature"] in readable]
    try:
        return ICPConfig.model_validate(merged)
    except ValidationError as error:
        raise ContractError(
            f"spec {spec.name!r}: its icp settings over the configuration's ICP are not valid "
            f"({_first_error(error)}); fix the icp section of the spec"
        ) from None


def _attribute_names() -> tuple[str, ...]:
    return (*REQUIRED_COLUMNS, OPTIONAL_EMAIL_DOMAIN, "department", "lead_source")


def has_fit_criteria(spec: ExportSpec, icp: ICPConfig) -> bool:
    """Whether the export can have a fit tier: a mapped attribute feeds a criterion, or an extra rule is one."""
    return bool(set(CRITERION_OF) & set(spec.icp_columns)) or any(
        r.action == "criterion" for r in icp.extra_rules
    )


def flat_guardrail(
    rows: pd.DataFrame, features: pd.DataFrame, spec: ExportSpec, icp: ICPConfig, regions: dict[str, str]
) -> dict[str, np.ndarray]:
    """features/icp.py's fit tier and disqualification for raw export rows (and their features, which extra
    rules may read), positionally; fit_tier is "" when no mapped attribute feeds a criterion."""
    attributes = icp_attributes(rows, spec, icp, regions)
    readable = {name: column_values(features[name]) for name in features.columns}
    columns = icp_columns(Table({**readable, **attributes}, len(rows)), icp)
    if not has_fit_criteria(spec, icp):
        columns["fit_tier"] = np.full(len(rows), "", dtype=object)
    return columns


def icp_attributes(
    rows: pd.DataFrame, spec: ExportSpec, icp: ICPConfig, regions: dict[str, str]
) -> dict[str, np.ndarray]:
    """The columns the guardrail reads (features/icp.py REQUIRED_COLUMNS and the email domain), from the
    export's mapped columns; an attribute that is not mapped, or a value that is not given, is missing (it
    meets no criterion and fires no rule). Countries become alpha-2 codes, titles seniorities."""
    rows = rows.reset_index(drop=True)
    n = len(rows)
    mapped: dict[str, str] = {str(a): c for a, c in spec.icp_columns.items()}

    def given(attribute: str) -> pd.Series:
        column = mapped.get(attribute)
        if column is None:
            return pd.Series([None] * n, dtype=object)
        if column not in rows.columns:
            raise ContractError(
                f"spec {spec.name!r}: icp_columns maps {attribute} to {column!r}, which the export lacks"
                f"{did_you_mean(column, [str(c) for c in rows.columns])}; fix the name in the spec"
            )
        return export_text(rows, column, spec)

    def text(attribute: str, lower: bool = True) -> np.ndarray:
        values = given(attribute)
        return column_values((values.str.lower() if lower else values).astype("str"))

    country = column_values(alpha2_countries(given("country"))[0])
    upper_regions = {code.upper(): region for code, region in regions.items()}
    title = text("job_title", lower=False)
    codes, distinct = factorize_texts(title)
    seniority, department = title_labels(distinct)  # code -1 (no title) picks the None at the end: no persona
    email = text("email")
    email_codes, emails = factorize_texts(email)
    no_company = Text(np.full(n, -1, dtype=np.intp), [])
    return {
        "industry": text("industry"),
        "employee_count": as_numeric(given("employee_count")).to_numpy(),
        "annual_revenue": as_numeric(given("annual_revenue")).to_numpy(),
        "country": country,
        "region": np.array(
            [upper_regions.get(c, "other") if c is not None else None for c in country], dtype=object
        ),
        "tech_overlap_count": np.zeros(n, dtype=np.int64),
        "seniority": np.array([*seniority, None], dtype=object)[codes],
        "department": np.array([*department, None], dtype=object)[codes],
        "email_domain_type": _domain_types(Text(email_codes, emails), no_company, icp),
        OPTIONAL_EMAIL_DOMAIN: np.array([*(guardrail_domain(e, icp) for e in emails), None], dtype=object)[
            email_codes
        ],
        "lead_source": text("lead_source"),
        "is_duplicate": np.zeros(n, dtype=bool),
        "unsubscribed": np.zeros(n, dtype=bool),
    }


def flat_feature_groups(spec: ExportSpec, exclude: Sequence[str] = ()) -> dict[str, list[str]]:
    """The model's input columns by kind, under their feature names, without `exclude`
    (features.exclude_features: the one way to leave out the month, which the export has no column for)."""
    excluded = set(exclude)
    fit = [spec.feature_name(c) for c in spec.fit_columns] + list(season_features(spec))
    return {
        "fit": [c for c in fit if c not in excluded],
        "intent": [c for c in (spec.feature_name(c) for c in spec.intent_columns) if c not in excluded],
    }


def season_features(spec: ExportSpec) -> tuple[str, ...]:
    """The month of the snapshot (features.season) for an export with a time column, unless the spec already
    gives one of its own columns that name."""
    if not spec.timestamp_column:
        return ()
    names = {spec.feature_name(c) for c in [*spec.fit_columns, *spec.intent_columns]}
    return tuple(c for c in SEASON_FEATURES if c not in names)


def season_at(features: pd.DataFrame, spec: ExportSpec, as_of: pd.Timestamp) -> pd.DataFrame:
    """Scoring's features with the month of `as_of` (the snapshot), not of each row's creation."""
    if "month_of_year" not in season_features(spec):
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
    # Read on the rows as given: flat_label names a row by its index (training hands them over in id order,
    # indexed by their position in the export; numbered after the reset, a blank label in row 3 was "row 223").
    label = flat_label(frame, spec) if spec.label_column in frame.columns else None
    frame = frame.reset_index(drop=True)
    columns: dict[str, pd.Series] = {spec.feature_name(spec.id_column): frame[spec.id_column].astype("str")}
    if spec.timestamp_column:
        columns[spec.feature_name(spec.timestamp_column)] = flat_timestamps(
            frame[spec.timestamp_column], spec
        )
        if "month_of_year" in season_features(spec):  # training's snapshot: the row's own time
            columns["month_of_year"] = pd.Series(
                month_of_year(columns[spec.feature_name(spec.timestamp_column)])
            )
    fold = getattr(spec, "fold_levels", False)
    for column, kind in spec.fit_columns.items():
        values = without_placeholders(frame[column], spec.missing_values)
        columns[spec.feature_name(column)] = (
            as_categorical(values, fold) if kind == "categorical" else as_numeric(values)
        )
    for column in spec.intent_columns:
        columns[spec.feature_name(column)] = as_numeric(
            without_placeholders(frame[column], spec.missing_values)
        )
    features = pd.DataFrame(columns)
    return features, None if label is None else label.reset_index(drop=True)


def flat_timestamps(values: pd.Series, spec: ExportSpec) -> pd.Series:
    """The timestamp column through the one date parser (ISO 8601, else the spec's date_format, or epoch
    numbers in its unit); the spec's missing_values and values that are no date at all are missing. A format
    nobody named raises ContractError (exit 3)."""
    try:
        return parse_timestamps(without_placeholders(values, spec.missing_values), spec.date_format)[0]
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
    missing = (outcome == "missing").to_numpy()
    if missing.any():
        first = frame.index[int(np.argmax(missing))]
        raise ContractError(
            f"spec {spec.name!r}: {int(missing.sum())} rows have no {spec.label_column!r} (first at row {first}); "
            "fill it in or leave those rows out of the export"
        )
    label = (outcome == "won").astype("int64").rename(spec.label_column)
    if (outcome == "open").any():
        return label.astype("Int64").mask(outcome == "open")
    return label


def label_outcomes(frame: pd.DataFrame, spec: ExportSpec) -> pd.Series:
    """Each row's label as "won", "lost", "open", "missing" or "unknown" (not in a spec's explicit lists).

    With the spec's fold_levels (the default) a value matches its list however its case, accents, blanks or end
    punctuation are typed, as a categorical level does ("won", "WON" and "Won." are a spec's "Won"): "won" had
    counted as lost, without a word, in a spec that names no lost values. Without folding (a model trained
    before it), a value that matches a list only so is "unknown" (refused, naming it), never lost.
    """
    raw = frame[spec.label_column].reset_index(drop=True)
    fold = getattr(spec, "fold_levels", False)
    lists = (
        spec.positive_labels,
        getattr(spec, "open_labels", ()),
        getattr(spec, "negative_labels", ()),
    )
    text = _label_keys(raw, fold)
    won, is_open, named_lost = (text.isin(spec_label_keys(values, fold)) for values in lists)
    lost = named_lost if lists[2] else ~(won | is_open)
    outcome = pd.Series("unknown", index=raw.index, dtype="str", name=spec.label_column)
    outcome[lost.to_numpy()] = "lost"
    outcome[is_open.to_numpy()] = "open"
    outcome[won.to_numpy()] = "won"
    if not fold:
        spelt_otherwise = ~(won | is_open | named_lost) & _label_keys(raw, True).isin(
            spec_label_keys([value for values in lists for value in values], True)
        )
        outcome[spelt_otherwise.to_numpy()] = "unknown"
    outcome[raw.isna().to_numpy()] = "missing"
    return outcome


def _label_keys(values: pd.Series, fold: bool) -> pd.Series:
    """label_key of each value, computed once per distinct value (an export repeats a few labels)."""
    keys = {value: label_key(value, fold) for value in values.dropna().unique()}
    return values.map(keys)


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


def misspelt_names(given: Iterable[object], known: Sequence[str]) -> dict[str, str]:
    """The given names that are none of `known` but spell one of them in another case, blanks or
    punctuation ("lead source" for "Lead Source"), each with the name it spells."""
    keyed = {_name_key(name): name for name in known}
    exact = set(known)
    return {
        str(name): keyed[_name_key(name)] for name in given if name not in exact and _name_key(name) in keyed
    }


def _name_key(name: object) -> str:
    return "".join(ch for ch in str(name).casefold() if ch.isalnum())


def without_placeholders(values: pd.Series, placeholders: tuple[str, ...]) -> pd.Series:
    """Values with the placeholders set missing, compared without surrounding blanks and case: an export that
    types the spec's "Select" as "SELECT" or its "N/A" as "n/a" means the same (they were levels the model
    never saw)."""
    if not placeholders:
        return values
    folded = {placeholder.strip().casefold() for placeholder in placeholders}
    is_placeholder = values.astype("str").str.strip().str.casefold().isin(folded)
    return values.mask(is_placeholder)


WHOLE_NUMBER_WITH_POINT = re.compile(r"^([+-]?\d+)\.0*$")


def export_text(rows: pd.DataFrame, column: str, spec: ExportSpec) -> pd.Series:
    """An export column's text as written (the spec's missing_values missing; as_categorical, not folded)."""
    return as_categorical(without_placeholders(rows[column], spec.missing_values))


def as_categorical(values: pd.Series, fold: bool = False) -> pd.Series:
    """Text in one form however it was typed (features.text.composed: "Sante" with a combining accent is
    "Santé", fullwidth "ｓｏｆｔｗａｒｅ" is software, as on CRM tables), without characters that show as nothing
    (a zero-width space made "Software" a level the model never saw) and surrounding blanks; empty text and
    missing values stay missing. A whole number is its
    digits: 5.0 (a column of floats, as pandas reads numbers with a gap among them, or a float Parquet column)
    and "5.0" are the level "5", as 5 in a column without gaps (they were two levels: a file of the same
    leads scored another way). `fold`: each level as level_key spells it ("GOOGLE" and "Google." are
    "google"), once per distinct text."""
    text = composed_column(values.astype("str")).str.replace(INVISIBLE.pattern, "", regex=True).str.strip()
    text = text.str.replace(WHOLE_NUMBER_WITH_POINT.pattern, r"\1", regex=True)
    text = text.mask(text == "").astype("str")
    if fold:
        keys = {level: level_key(level) for level in text.dropna().unique()}
        text = text.map(keys).astype("str")
    return text


def level_spellings(rows: pd.DataFrame, spec: ExportSpec) -> dict[str, dict[str, str]]:
    """Per categorical feature of a spec that folds levels (fold_levels), each folded level's most common
    spelling in the export's `rows`, the first met on a tie: what reasons show ("Olark Chat", "Santé"), where
    the model reads the level as level_key spells it ("olark chat", "sante")."""
    if not getattr(spec, "fold_levels", False):
        return {}
    spellings = {}
    for column, kind in spec.fit_columns.items():
        if kind != "categorical" or column not in rows.columns:
            continue
        text = export_text(rows, column, spec).dropna()
        keys = text.map({level: level_key(level) for level in text.unique()})
        counts = pd.DataFrame({"key": keys, "text": text}).groupby(["key", "text"], sort=False).size()
        firsts = counts.reset_index(name="n").sort_values("n", ascending=False, kind="stable")
        spellings[spec.feature_name(column)] = dict(firsts.drop_duplicates("key")[["key", "text"]].to_numpy())
    return spellings


def spelled(frame: pd.DataFrame, spellings: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """The frame with each folded level of the categorical features in `spellings` as the export spelled it
    most often (what reasons and the model card show; the model reads the folded level)."""
    shown = {
        name: frame[name].map(dict(table)).fillna(frame[name])
        for name, table in spellings.items()
        if name in frame.columns and table
    }
    return frame.assign(**shown) if shown else frame


def as_numeric(values: pd.Series) -> pd.Series:
    """The values as float64; what is no number is missing. A column of times, durations, periods or complex
    numbers is no number (pandas reads a time as its nanoseconds since 1970, a missing one as -9.2e18, and a
    complex number as its real part), and an integer beyond a float's range is infinite, not an OverflowError."""
    if not_numbers_dtype(values):
        return pd.Series(np.nan, index=values.index, dtype="float64")
    try:
        return pd.to_numeric(values, errors="coerce").astype("float64")
    except OverflowError:  # a Python int such as 10**400 (JSON has no limit on a number's digits)
        return pd.to_numeric(values.map(_huge_int_as_inf), errors="coerce").astype("float64")


def not_numbers_dtype(values: pd.Series) -> bool:
    """Whether a column's dtype holds times, durations, periods or complex numbers: numbers to pandas only."""
    dtype = values.dtype
    return (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
        or pd.api.types.is_complex_dtype(dtype)
    )


def _huge_int_as_inf(value: Any) -> Any:
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return np.inf if value > 0 else -np.inf
    return value


def label_text(value: object) -> str:
    """Labels compare as text, so 1, 1.0, "1" and True all read "1"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# YAML reads an unquoted Yes/No/On/Off as a boolean (so a spec's `positive_labels: [Yes]` holds True), and
# pandas reads a TRUE/FALSE column as booleans (so a spec's "TRUE" must meet True).
YAML_TRUE_WORDS = frozenset(["yes", "Yes", "YES", "on", "On", "ON"])
YAML_FALSE_WORDS = frozenset(["no", "No", "NO", "off", "Off", "OFF"])
DECIMAL = re.compile(r"[+-]?\d+(\.\d*)?")


def label_key(value: object, fold: bool = False) -> str:
    """How an export's label value is compared with the spec's lists: its text (label_text, so True is "1"),
    "true"/"false" in any case as "1"/"0", and a whole number written as text ("1.0", a CSV column that also
    holds words) as that number ("1"); `fold` (a spec's fold_levels): any other text as level_key spells a
    categorical level ("WON" and "Won." are "won")."""
    text = label_text(value)
    if text.casefold() in ("true", "false"):
        return "1" if text.casefold() == "true" else "0"
    if DECIMAL.fullmatch(text) and float(text).is_integer():
        return str(int(float(text)))
    return level_key(text) if fold else text


def spec_label_keys(values: Sequence[object], fold: bool = False) -> set[str]:
    """The label_keys a spec's list matches: a boolean there (YAML's reading of an unquoted Yes or On) also
    matches the words YAML reads as it, so [Yes] meets an export's "Yes"; a 1 or "1" does not meet "yes"."""
    keys = set()
    for value in values:
        keys.add(label_key(value, fold))
        if isinstance(value, bool):
            keys |= {label_key(word, fold) for word in (YAML_TRUE_WORDS if value else YAML_FALSE_WORDS)}
    return keys
