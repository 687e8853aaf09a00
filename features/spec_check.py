"""Does a source spec fit an export? Missing columns (with a did-you-mean), undeclared columns, label values.

Pure: a frame and a ExportSpec in, a SpecReport out. `pipelines/spec.py` reads the files and prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.dates import DateFormatError, blank, parse_timestamps
from features.export_contract import check_export, given_times
from features.flat import ExportSpec, did_you_mean, label_outcomes


@dataclass
class SpecReport:
    """What `spec check` found; `problems` are sentences that make the check fail, `warnings` do not."""

    rows: int
    missing: dict[str, str] = field(default_factory=dict)  # spec column -> its role
    hints: dict[str, str] = field(default_factory=dict)  # spec column -> " (did you mean 'X'?)" or ""
    undeclared: list[str] = field(default_factory=list)
    unexpected_labels: dict[str, int] = field(default_factory=dict)  # label value -> rows
    outcomes: dict[str, int] = field(default_factory=dict)  # won / lost / open / missing -> rows
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def spec_roles(spec: ExportSpec) -> dict[str, str]:
    """Every column the spec names, with its role."""
    roles = {spec.id_column: "id_column", spec.label_column: "label_column"}
    if spec.timestamp_column:
        roles[spec.timestamp_column] = "timestamp_column"
    roles |= {c: "fit_columns" for c in spec.fit_columns}
    roles |= {c: "intent_columns" for c in spec.intent_columns}
    roles |= {c: "leaky_columns" for c in spec.leaky_columns}
    roles |= {c: "drop_columns" for c in spec.drop_columns}
    return {f"{c}": f"icp_columns.{a}" for a, c in spec.icp_columns.items() if c not in roles} | roles


def check_spec(
    frame: pd.DataFrame,
    spec: ExportSpec,
    *,
    need_time: bool = True,
    max_quarantine_share: float | None = None,
) -> SpecReport:
    """Compare the export's columns and label values with the spec. With `need_time` (training splits out of
    time, model.split.method), rows without a time are counted: a problem when training would quarantine
    more than `max_quarantine_share` of its rows (model.max_quarantine_share) and stop, else a warning."""
    columns = [str(c) for c in frame.columns]
    report = SpecReport(rows=len(frame))
    if not len(frame):
        report.problems.append("the export has a header but no rows")
    for column, role in spec_roles(spec).items():
        if column not in frame.columns:
            report.missing[column] = role
            report.hints[column] = did_you_mean(column, columns)
    if report.missing:
        named = ", ".join(f"{c!r} ({role}){report.hints[c]}" for c, role in report.missing.items())
        report.problems.append(f"the spec names columns the export does not have: {named}")
    report.undeclared = [c for c in columns if c not in spec.declared_columns()]
    if report.undeclared:
        report.problems.append(
            f"{len(report.undeclared)} export columns have no role in the spec and would be left out silently: "
            f"{', '.join(repr(c) for c in report.undeclared)}; give each one a role (fit_columns, "
            "intent_columns, or leaky_columns / drop_columns with the reason)"
        )
    if spec.label_column in frame.columns and len(frame):
        _check_labels(frame, spec, report)
    if not spec.icp_columns:
        report.warnings.append(
            "the spec has no icp_columns, so the ICP guardrail is off for this export: fit_tier stays empty and "
            "no competitor, student, free-email or out-of-market lead is disqualified; map the columns that "
            "hold industry, employee_count, annual_revenue, country, email, job_title or lead_source"
        )
    if spec.timestamp_column and spec.timestamp_column in frame.columns:
        try:
            parse_timestamps(frame[spec.timestamp_column], spec.date_format)
        except DateFormatError as error:
            report.problems.append(
                error.describe(f"timestamp column {spec.timestamp_column!r}", "date_format in the spec")
            )
    quarantine = None
    if spec.id_column in frame.columns and len(frame):
        quarantine = _check_rows(frame, spec, report)
    timed = need_time and spec.timestamp_column in frame.columns and len(frame)
    if not (timed and _check_times_given(frame, spec, report, quarantine, max_quarantine_share)):
        _check_quarantine_share(frame, spec, report, quarantine, max_quarantine_share)
    return report


STOPS_TRAINING = "training would stop with exit code 5"


def _closed_rows(frame: pd.DataFrame, spec: ExportSpec) -> np.ndarray:
    """The won and lost rows (every row without a label column): the rows training reads."""
    if spec.label_column not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    return (label_outcomes(frame, spec) != "open").to_numpy()


def _check_quarantine_share(
    frame: pd.DataFrame,
    spec: ExportSpec,
    report: SpecReport,
    quarantine: pd.DataFrame | None,
    limit: float | None,
) -> None:
    """A problem when the contract quarantines more than `limit` (model.max_quarantine_share) of the won and
    lost rows, which training reads, so that it would stop (exit 5, pipelines.train.check_quarantine_share):
    every time of a column whose format the spec does not name ('1734388320000' under no date_format) is one
    such rule. Said once: a column the spec calls numeric that is text is a problem of its own already."""
    if limit is None or quarantine is None or not len(quarantine) or report.problems:
        return
    closed = _closed_rows(frame, spec)
    broken = np.zeros(len(frame), dtype=bool)
    broken[quarantine["row"].to_numpy(dtype="int64")] = True
    if not closed.any() or (share := float((broken & closed).sum() / closed.sum())) <= limit:
        return
    found = quarantine[closed[quarantine["row"].to_numpy(dtype="int64")]]
    column, check = found.groupby(["column", "check"], sort=False)["row"].nunique().idxmax()
    report.problems.append(
        f"{int((broken & closed).sum()):,} of {int(closed.sum()):,} won and lost rows would be quarantined, "
        f"{share:.1%} of them, above model.max_quarantine_share ({limit:.1%}): {STOPS_TRAINING}; most break "
        f"rule {check} on column {column!r} (the warning above says how to fix it)"
    )


def _check_times_given(
    frame: pd.DataFrame,
    spec: ExportSpec,
    report: SpecReport,
    quarantine: pd.DataFrame | None,
    limit: float | None,
) -> bool:
    """Won and lost rows without a time: the out-of-time split cannot place them, so training quarantines
    them (rule not_null, pipelines.sources); over `limit` with the rows other rules quarantine, training stops
    (exit 5), so that is a problem here, else a warning. False when every such row has its time."""
    column = str(spec.timestamp_column)
    closed = _closed_rows(frame, spec)
    untimed = blank(given_times(frame, spec)) & closed
    if not untimed.any() or not closed.any():
        return False
    sentence = (
        f"{int(untimed.sum()):,} of {int(closed.sum()):,} won and lost rows have no time in timestamp_column "
        f"{column!r}: the out-of-time split cannot place them, so training quarantines them (rule not_null); "
        "fill the dates in the export, or remove timestamp_column from the spec (or --set "
        "model.split.method=grouped_random) for a random split"
    )
    broken = untimed.copy()
    if quarantine is not None and len(quarantine):
        broken[quarantine["row"].to_numpy(dtype="int64")] = True
    share = float((broken & closed).sum() / closed.sum())
    if limit is not None and share > limit:
        report.problems.append(
            f"{sentence}; with the rows other rules quarantine that is {share:.1%} of them, above "
            f"model.max_quarantine_share ({limit:.1%}): {STOPS_TRAINING}"
        )
    else:
        report.warnings.append(sentence)
    return True


def _check_rows(frame: pd.DataFrame, spec: ExportSpec, report: SpecReport) -> pd.DataFrame:
    """The rows the export's contract would quarantine, per column and rule: a problem when a column breaks
    its rule in most rows (a text column the spec calls numeric: every row would be quarantined and training
    stop), else a warning with the counts. Returns that quarantine (row: the position in `frame`)."""
    _, quarantine = check_export(frame, spec)
    for (column, check), found in quarantine.groupby(["column", "check"], sort=False):
        rows = int(found["row"].nunique())
        sentence = (
            f"{rows:,} of {len(frame):,} rows break rule {check} on column {column!r} and would be "
            f"quarantined, e.g. {found['reason'].iloc[0]}"
        )
        if check == "is_number" and rows > len(frame) / 2:
            separators = "separators" in found["reason"].iloc[0]
            report.problems.append(
                sentence
                if separators
                else f"{sentence}; if the column is text, make it categorical in fit_columns"
            )
        else:
            report.warnings.append(sentence)
    return quarantine


def _check_labels(frame: pd.DataFrame, spec: ExportSpec, report: SpecReport) -> None:
    outcome = label_outcomes(frame, spec)
    report.outcomes = {k: int(n) for k, n in outcome.value_counts().items() if k != "unknown"}
    unknown = (outcome == "unknown").to_numpy()
    if unknown.any():
        values = frame[spec.label_column][unknown].astype("str").str.strip()
        report.unexpected_labels = {str(k): int(n) for k, n in values.value_counts().items()}
        shown = ", ".join(f"{k!r} ({n} rows)" for k, n in report.unexpected_labels.items())
        report.problems.append(
            f"label column {spec.label_column!r} holds values in none of positive_labels, negative_labels "
            f"and open_labels: {shown}; add each one to the list it belongs to"
        )
    if report.outcomes.get("missing"):
        report.problems.append(
            f"{report.outcomes['missing']} rows have no value in the label column {spec.label_column!r}"
        )
    if not spec.negative_labels:
        lost = frame[spec.label_column][(outcome == "lost").to_numpy()].astype("str").str.strip()
        shown = ", ".join(repr(v) for v in lost.value_counts().index[:6])
        report.warnings.append(
            f"the spec has no negative_labels, so every label value that is not won counts as lost ({shown}); "
            "list the lost values in negative_labels and the undecided ones in open_labels, so open leads "
            "are not trained on as losses"
        )
    if not report.outcomes.get("won") or not report.outcomes.get("lost"):
        report.warnings.append(
            f"the label has {report.outcomes.get('won', 0)} won and {report.outcomes.get('lost', 0)} lost rows: "
            "training needs both"
        )
