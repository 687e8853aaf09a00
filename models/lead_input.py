"""The online/Spark input of the scoring artifact: one flat row per lead, turned into the CRM tables.

A row carries the lead, its account and its recent activities (a JSON list), all as strings or numbers,
so that the same artifact serves `mlflow models serve`, `spark_udf` and in-process calls.

Checking and conversion work on plain Python values column by column, and the tables are named numpy
arrays, not frames: an online request is one row, and pandas' per-call overhead would cost more than the
scoring itself.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from features.vocab import ACTIVITY_TYPES

# column -> (required, kind) ; kind: "str", "num", "time"
LEAD_INPUT_COLUMNS: dict[str, tuple[bool, str]] = {
    "lead_id": (True, "str"),
    "email": (True, "str"),
    "job_title": (False, "str"),
    "lead_source": (False, "str"),
    "lead_created_at": (False, "time"),
    "account_id": (False, "str"),
    "domain": (False, "str"),
    "industry": (False, "str"),
    "employee_count": (False, "num"),
    "annual_revenue": (False, "num"),
    "country": (False, "str"),
    "tech_stack": (False, "str"),
    "account_created_at": (False, "time"),
    "activities": (
        False,
        "str",
    ),  # JSON: [{"activity_type": "pricing_page", "occurred_at": "2026-09-30T10:00:00"}]
    "as_of": (False, "time"),  # the snapshot; defaults to the scoring call's as_of
}
_NAT = np.iinfo(np.int64).min
_KNOWN_ACTIVITIES = frozenset(ACTIVITY_TYPES)

# Checked lead rows: one array per field of LEAD_INPUT_COLUMNS (object arrays of str or None for text,
# float for numbers, datetime64[ns] for times).
CheckedRows = dict[str, np.ndarray]
# A table as named arrays of the same kinds (a features.frames.Table).
Arrays = dict[str, np.ndarray]


class LeadInputError(ValueError):
    """A lead row that cannot be scored; the message names the row and the field."""


def _fail(row: int, field: str, message: str) -> LeadInputError:
    return LeadInputError(f"row {row}, field '{field}': {message}")


def _is_missing(value: Any) -> bool:
    return (
        value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    )


def parse_time(value: Any) -> int:
    """Nanoseconds since the epoch of a date and time (time zones converted to UTC); the int64 minimum for
    a missing value. Raises ValueError for anything that is not a date and time."""
    if _is_missing(value) or value == "":
        return _NAT
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(str(error)) from error
    if stamp is pd.NaT:
        return _NAT
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.value)


def _not_a_time(value: Any) -> str:
    return f"{value!r} is not a date and time (use ISO 8601, e.g. 2026-09-30T10:00:00)"


def _times(values: list[Any], field: str) -> np.ndarray:
    out = np.empty(len(values), dtype=np.int64)
    for row, value in enumerate(values):
        try:
            out[row] = parse_time(value)
        except ValueError:
            raise _fail(row, field, _not_a_time(value)) from None
    return out.view("datetime64[ns]")


def _numbers(values: list[Any], field: str) -> np.ndarray:
    out = np.empty(len(values), dtype=float)
    for row, value in enumerate(values):
        if _is_missing(value):
            out[row] = np.nan
            continue
        try:
            out[row] = float(value)
        except (ValueError, TypeError):
            raise _fail(row, field, f"{value!r} is not a number") from None
    return out


def _texts(values: list[Any], field: str) -> np.ndarray:
    texts = [None if _is_missing(v) else str(v) for v in values]
    for row, text in enumerate(texts):
        if text is not None and not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # JSON can carry a lone surrogate ("\ud800"), which is no text
                raise _fail(row, field, f"{text!r} is not valid Unicode text") from None
    return np.array(texts, dtype=object)


def check_lead_rows(rows: pd.DataFrame) -> CheckedRows:
    """Every known field present and typed; raises LeadInputError naming the row and the field."""
    if not isinstance(rows, pd.DataFrame):
        raise LeadInputError("expected a table of lead rows")
    unknown = [c for c in rows.columns if c not in LEAD_INPUT_COLUMNS]
    if unknown:
        raise LeadInputError(f"unknown field(s) {unknown}; known fields: {list(LEAD_INPUT_COLUMNS)}")
    n_rows = len(rows)
    # One conversion of the whole table to Python values (a column read at a time costs more on one row).
    given = dict(zip(rows.columns, rows.to_numpy(dtype=object).T.tolist(), strict=True))
    out: CheckedRows = {}
    for field, (required, kind) in LEAD_INPUT_COLUMNS.items():
        if field not in given:
            if required:
                raise LeadInputError(f"field '{field}' is required")
            values: list[Any] = [None] * n_rows
        else:
            values = given[field]
        if required:
            for row, value in enumerate(values):
                if _is_missing(value):
                    raise _fail(row, field, "is required")
        if kind == "time":
            out[field] = _times(values, field)
        elif kind == "num":
            out[field] = _numbers(values, field)
        else:
            out[field] = _texts(values, field)
    return out


def _activity_items(row: int, raw: str | None) -> list[tuple[int, str]]:
    """(occurred_at in ns, activity_type) of one row's activities JSON."""
    if raw is None or raw == "":
        return []
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as error:
        raise _fail(row, "activities", f"not valid JSON ({error.msg})") from error
    if not isinstance(items, list):
        raise _fail(row, "activities", "must be a JSON list of {activity_type, occurred_at}")
    out = []
    for k, item in enumerate(items):
        if not isinstance(item, dict) or "activity_type" not in item or "occurred_at" not in item:
            raise _fail(row, "activities", "each item needs activity_type and occurred_at")
        if item["activity_type"] not in _KNOWN_ACTIVITIES:
            raise _fail(
                row,
                "activities",
                f"unknown activity_type {item['activity_type']!r}; known: {list(ACTIVITY_TYPES)}",
            )
        try:
            occurred = parse_time(item["occurred_at"])
        except ValueError:
            raise _fail(row, f"activities[{k}].occurred_at", _not_a_time(item["occurred_at"])) from None
        out.append((occurred, item["activity_type"]))
    return out


def _activities(rows: CheckedRows) -> Arrays:
    lead_ids, times, kinds = [], [], []
    for row, (lead_id, raw) in enumerate(zip(rows["lead_id"], rows["activities"], strict=True)):
        for occurred, kind in _activity_items(row, raw):
            lead_ids.append(lead_id)
            times.append(occurred)
            kinds.append(kind)
    return {
        "lead_id": np.array(lead_ids, dtype=object),
        "occurred_at": np.array(times, dtype=np.int64).view("datetime64[ns]"),
        "activity_type": np.array(kinds, dtype=object),
    }


def _first_of_each(keys: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct key, in order."""
    _, first = np.unique(keys, return_index=True)
    return np.sort(first)


def lead_rows_to_tables(rows: CheckedRows, as_of: pd.Timestamp) -> tuple[dict[str, Arrays], Arrays]:
    """CRM tables for checked lead rows, and the snapshots (each row's as_of, else `as_of`).

    Tables and snapshots are named arrays (text as object arrays of str or None, times datetime64[ns],
    numbers float): one online lead must not pay for building frames.
    """
    lead_id = rows["lead_id"]
    account_id = np.array(
        [
            a if a is not None else f"ACCOUNT_OF_{lead}"
            for a, lead in zip(rows["account_id"], lead_id, strict=True)
        ],
        dtype=object,
    )
    first = _first_of_each(account_id)
    tech_stack = np.array([t if t is not None else "" for t in rows["tech_stack"]], dtype=object)
    accounts = {
        "account_id": account_id[first],
        "name": account_id[first],
        "domain": rows["domain"][first],
        "industry": rows["industry"][first],
        "employee_count": rows["employee_count"][first],
        "annual_revenue": rows["annual_revenue"][first],
        "country": rows["country"][first],
        "tech_stack": tech_stack[first],
        "created_at": rows["account_created_at"][first],
    }
    default_snapshot = np.int64(parse_time(as_of)).view("datetime64[ns]")
    snapshot_at = np.where(np.isnat(rows["as_of"]), default_snapshot, rows["as_of"])
    created_at = np.where(np.isnat(rows["lead_created_at"]), snapshot_at, rows["lead_created_at"])
    leads = {
        "lead_id": lead_id,
        "account_id": account_id,
        "email": rows["email"],
        "job_title": rows["job_title"],
        "lead_source": rows["lead_source"],
        "created_at": created_at,
    }
    tables = {"accounts": accounts, "leads": leads, "activities": _activities(rows)}
    return tables, {"lead_id": lead_id, "snapshot_at": snapshot_at}


def tables_to_lead_rows(tables: dict[str, pd.DataFrame], lead_ids: list[str] | None = None) -> pd.DataFrame:
    """The flat lead rows for leads of the CRM tables (for online requests and Spark), the inverse of the above."""
    leads = tables["leads"]
    if lead_ids is not None:
        leads = leads[leads["lead_id"].isin(lead_ids)]
    accounts = tables["accounts"].rename(columns={"created_at": "account_created_at"}).drop(columns=["name"])
    rows = leads.rename(columns={"created_at": "lead_created_at"}).merge(
        accounts, on="account_id", how="left"
    )
    acts = tables["activities"]
    acts = acts[acts["lead_id"].isin(rows["lead_id"])]
    stamped = acts.assign(occurred_at=acts["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    as_json = stamped.groupby("lead_id")[["activity_type", "occurred_at"]].apply(
        lambda g: json.dumps(g.to_dict("records"))
    )
    rows["activities"] = rows["lead_id"].map(as_json).fillna("[]")
    for column in ("lead_created_at", "account_created_at"):
        rows[column] = pd.to_datetime(rows[column]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    for column in ("employee_count", "annual_revenue"):  # floats: a missing value must not break the schema
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(float)
    return rows[[c for c in LEAD_INPUT_COLUMNS if c in rows.columns]].reset_index(drop=True)
