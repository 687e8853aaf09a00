"""The online/Spark input of the scoring artifact: one flat row per lead, turned into the CRM tables.

A row carries the lead, its account and its recent activities (a JSON list), all as strings or numbers,
so that the same artifact serves `mlflow models serve`, `spark_udf` and in-process calls.
"""

from __future__ import annotations

import json

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


class LeadInputError(ValueError):
    """A lead row that cannot be scored; the message names the row and the field."""


def _fail(row: int, field: str, message: str) -> LeadInputError:
    return LeadInputError(f"row {row}, field '{field}': {message}")


def _times(values: pd.Series, field: str) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed").dt.tz_localize(None)
    bad = values.notna() & (values.astype("str") != "") & parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(
            row,
            field,
            f"{values.iloc[row]!r} is not a date and time (use ISO 8601, e.g. 2026-09-30T10:00:00)",
        )
    return parsed


def _numbers(values: pd.Series, field: str) -> pd.Series:
    parsed = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & parsed.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise _fail(row, field, f"{values.iloc[row]!r} is not a number")
    return parsed.astype(float)


def check_lead_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with every known field present and typed; raises LeadInputError naming row and field."""
    if not isinstance(rows, pd.DataFrame):
        raise LeadInputError("expected a table of lead rows")
    unknown = [c for c in rows.columns if c not in LEAD_INPUT_COLUMNS]
    if unknown:
        raise LeadInputError(f"unknown field(s) {unknown}; known fields: {list(LEAD_INPUT_COLUMNS)}")
    rows = rows.reset_index(drop=True)
    out = {}
    for field, (required, kind) in LEAD_INPUT_COLUMNS.items():
        if field not in rows.columns:
            if required:
                raise LeadInputError(f"field '{field}' is required")
            values = pd.Series([None] * len(rows), dtype=object)
        else:
            values = rows[field].astype(object).where(rows[field].notna(), None)
        if required and values.isna().any():
            raise _fail(int(np.flatnonzero(values.isna().to_numpy())[0]), field, "is required")
        if kind == "time":
            out[field] = _times(values, field)
        elif kind == "num":
            out[field] = _numbers(values, field)
        else:
            out[field] = values.astype("str").where(values.notna(), None)
    return pd.DataFrame(out)


def _activities(rows: pd.DataFrame) -> pd.DataFrame:
    lead_ids, times, kinds = [], [], []
    for i, (lead_id, raw) in enumerate(zip(rows["lead_id"], rows["activities"], strict=True)):
        if raw is None or raw == "":
            continue
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as error:
            raise _fail(i, "activities", f"not valid JSON ({error.msg})") from error
        if not isinstance(items, list):
            raise _fail(i, "activities", "must be a JSON list of {activity_type, occurred_at}")
        for item in items:
            if not isinstance(item, dict) or "activity_type" not in item or "occurred_at" not in item:
                raise _fail(i, "activities", "each item needs activity_type and occurred_at")
            if item["activity_type"] not in ACTIVITY_TYPES:
                raise _fail(
                    i,
                    "activities",
                    f"unknown activity_type {item['activity_type']!r}; known: {list(ACTIVITY_TYPES)}",
                )
            lead_ids.append(lead_id)
            times.append(item["occurred_at"])
            kinds.append(item["activity_type"])
    occurred = _times(pd.Series(times, dtype=object), "activities.occurred_at")
    return pd.DataFrame(
        {
            "lead_id": pd.Series(lead_ids, dtype="str"),
            "occurred_at": occurred,
            "activity_type": pd.Series(kinds, dtype="str"),
        }
    )


def lead_rows_to_tables(
    rows: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """CRM tables for checked lead rows, and the snapshots (each row's as_of, else `as_of`)."""
    account_id = rows["account_id"].where(rows["account_id"].notna(), "ACCOUNT_OF_" + rows["lead_id"])
    accounts = pd.DataFrame(
        {
            "account_id": account_id.astype("str"),
            "name": account_id.astype("str"),
            "domain": rows["domain"],
            "industry": rows["industry"],
            "employee_count": rows["employee_count"],
            "annual_revenue": rows["annual_revenue"],
            "country": rows["country"],
            "tech_stack": rows["tech_stack"].fillna(""),
            "created_at": rows["account_created_at"],
        }
    ).drop_duplicates("account_id")
    snapshot_at = rows["as_of"].fillna(pd.Timestamp(as_of))
    leads = pd.DataFrame(
        {
            "lead_id": rows["lead_id"].astype("str"),
            "account_id": account_id.astype("str"),
            "email": rows["email"].astype("str"),
            "job_title": rows["job_title"],
            "lead_source": rows["lead_source"],
            "created_at": rows["lead_created_at"].fillna(snapshot_at),
        }
    )
    tables = {"accounts": accounts.reset_index(drop=True), "leads": leads, "activities": _activities(rows)}
    snapshots = pd.DataFrame({"lead_id": leads["lead_id"], "snapshot_at": snapshot_at})
    return tables, snapshots


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
