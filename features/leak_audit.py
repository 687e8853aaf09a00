"""Leak audit: which feature columns give the label away on their own, or look past the snapshot.

A feature that alone separates won from lost almost perfectly, that is filled in for one class only,
or that was recorded after the snapshot, is most likely written down after the outcome was known.
The audit flags and explains; it never drops a column (that is the user's call, via
FeatureConfig.exclude_features or a source spec's leaky_columns).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from features.flat import ExportSpec

AUDIT_COLUMNS = (
    "feature",
    "kind",
    "auc",
    "n_distinct",
    "share_populated_positive",
    "share_populated_negative",
    "share_after_snapshot",
    "high_auc",
    "one_class_only",
    "postdates_snapshot",
    "flagged",
    "explanation",
)
_SMOOTHING = 1.0  # pseudo-rows of the overall rate added to each category's rate
_FILL_GAP_NOTE = 0.25  # a gap in fill rate between the classes this large is worth a word
# Filled rows the other class would hold by chance, for a column filled in for one class only to count as a leak.
_ONE_CLASS_MIN_EXPECTED = 5
# Won and lost rows each, for a column's AUC alone to count as a leak: with 1 won and 1 lost row any column tells
# them apart (AUC 1.000), and the export was refused as leaking (exit 3) where it has too few rows to train (4).
# With 10 of each, a column of noise orders them perfectly once in 92,378.
_AUC_MIN_PER_CLASS = 10


def leak_audit(
    features: pd.DataFrame,
    label: pd.Series,
    snapshot_at: pd.Series | pd.Timestamp | None = None,
    event_times: Mapping[str, pd.Series] | pd.DataFrame | None = None,
    auc_threshold: float = 0.9,
    n_folds: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per feature column (AUDIT_COLUMNS), flagged rows first, then by AUC.

    auc: single-feature ROC AUC. Numeric (and boolean, datetime) columns: the values with missing set
    below the minimum, read in whichever direction separates better (max(auc, 1 - auc)). Other columns:
    each row's category is replaced by its category's conversion rate computed on the other folds
    (out-of-fold, so an id column, whose categories are all unseen, scores 0.5, not 1).
    share_after_snapshot: for columns in `event_times` (when each value was recorded) and for datetime
    columns themselves, the share of rows whose time is at or after `snapshot_at`.
    """
    y = _binary(label, len(features))
    positive, negative = y == 1, y == 0
    two_classes = bool(positive.any() and negative.any())
    rows = []
    for name in features.columns:
        column = features[name].reset_index(drop=True)
        kind = "numeric" if _is_numeric(column) else "categorical"
        populated = column.notna().to_numpy()
        auc = np.nan
        if two_classes:
            auc = _numeric_auc(column, y) if kind == "numeric" else _categorical_auc(column, y, n_folds, seed)
        after = _share_after(name, column, snapshot_at, event_times)
        rows.append(
            {
                "feature": name,
                "kind": kind,
                "auc": auc,
                "n_distinct": int(column.nunique(dropna=True)),
                "share_populated_positive": populated[positive].mean() if positive.any() else np.nan,
                "share_populated_negative": populated[negative].mean() if negative.any() else np.nan,
                "share_after_snapshot": after,
            }
        )
    audit = pd.DataFrame(rows, columns=AUDIT_COLUMNS[:7])
    audit["high_auc"] = audit["auc"].fillna(0) >= auc_threshold
    pos_share, neg_share = audit["share_populated_positive"], audit["share_populated_negative"]
    audit["one_class_only"] = two_classes & ((pos_share > 0) != (neg_share > 0))
    audit["postdates_snapshot"] = audit["share_after_snapshot"].fillna(0) > 0
    audit["flagged"] = audit["high_auc"] | audit["one_class_only"] | audit["postdates_snapshot"]
    audit["explanation"] = [_explain(row, auc_threshold, two_classes) for row in audit.itertuples()]
    audit = audit.sort_values(["flagged", "auc"], ascending=[False, False], na_position="last", kind="stable")
    return audit.reset_index(drop=True)[list(AUDIT_COLUMNS)]


def flagged_features(audit: pd.DataFrame) -> list[str]:
    return audit.loc[audit["flagged"], "feature"].tolist()


def _numeric_auc(column: pd.Series, y: np.ndarray) -> float:
    values = _as_float(column)
    finite = np.isfinite(values)
    if not finite.any():
        return 0.5
    filled = np.where(finite, values, np.nanmin(values[finite]) - 1.0)
    auc = roc_auc_score(y, filled)
    return float(max(auc, 1.0 - auc))


def _categorical_auc(column: pd.Series, y: np.ndarray, n_folds: int, seed: int) -> float:
    """AUC of out-of-fold category conversion rates (missing is a category of its own)."""
    codes, _ = pd.factorize(column, use_na_sentinel=False)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    folds = min(n_folds, int(np.bincount(y).min()))
    if folds < 2:
        return np.nan
    encoded = np.empty(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held_out in splitter.split(np.zeros(len(y)), y):
        prior = y[train].mean()
        seen = np.bincount(codes[train], minlength=n_codes)
        won = np.bincount(codes[train], weights=y[train], minlength=n_codes)
        rate = (won + _SMOOTHING * prior) / (seen + _SMOOTHING)
        encoded[held_out] = rate[codes[held_out]]
    return float(roc_auc_score(y, encoded))


def _share_after(
    name: str,
    column: pd.Series,
    snapshot_at: pd.Series | pd.Timestamp | None,
    event_times: Mapping[str, pd.Series] | pd.DataFrame | None,
) -> float:
    if snapshot_at is None:
        return np.nan
    if event_times is not None and name in event_times:
        times = pd.to_datetime(pd.Series(np.asarray(event_times[name])))
    elif pd.api.types.is_datetime64_any_dtype(column):
        times = column
    else:
        return np.nan
    snapshot = snapshot_at.reset_index(drop=True) if isinstance(snapshot_at, pd.Series) else snapshot_at
    known = times.notna().to_numpy()
    if not known.any():
        return np.nan
    after = (times >= snapshot).to_numpy(dtype=bool)
    return float(after[known].mean())


def _explain(row, threshold: float, two_classes: bool) -> str:
    reasons = []
    if row.high_auc:
        how = "its values" if row.kind == "numeric" else "its out-of-fold category conversion rates"
        reasons.append(
            f"on its own it separates converted from not converted with AUC {row.auc:.2f} (threshold "
            f"{threshold:.2f}, using {how}): check that it is known before the outcome"
        )
    if row.one_class_only:
        cls, share = (
            ("converted", row.share_populated_positive)
            if row.share_populated_positive > 0
            else ("not converted", row.share_populated_negative)
        )
        reasons.append(
            f"it is filled in only for {cls} rows ({share:.0%} of them): its presence gives the label away"
        )
    if row.postdates_snapshot:
        share = row.share_after_snapshot
        reasons.append(
            f"it was recorded at or after the snapshot in {share:.0%} of rows: it looks into the future"
        )
    if reasons:
        return "Possible leak: " + "; ".join(reasons) + "."
    if not two_classes:
        return "Not judged: the label has only one class, so no AUC can be computed."
    pos, neg = row.share_populated_positive, row.share_populated_negative
    if pos == 0 and neg == 0:
        return "Never filled in: carries no information."
    text = f"No sign of leakage: AUC {row.auc:.2f}, filled in for {pos:.0%} of converted"
    text += f" and {neg:.0%} of not converted rows."
    if abs(pos - neg) >= _FILL_GAP_NOTE:
        text += (
            " Note the gap in how often it is filled in: if it is filled in during follow-up, that gap leaks."
        )
    return text


def _binary(label: pd.Series, n_rows: int) -> np.ndarray:
    values = pd.Series(label).reset_index(drop=True)
    if len(values) != n_rows:
        raise ValueError(f"label has {len(values)} rows, features {n_rows}")
    if values.isna().any():
        raise ValueError("label has missing values")
    y = values.astype("int64").to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise ValueError("label must be 0/1 or boolean")
    return y


def _is_numeric(column: pd.Series) -> bool:
    return (
        pd.api.types.is_bool_dtype(column)
        or pd.api.types.is_numeric_dtype(column)
        or pd.api.types.is_datetime64_any_dtype(column)
    )


def _as_float(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column):
        ns = column.to_numpy(dtype="datetime64[ns]").view(np.int64).astype(float)
        return np.where(column.isna().to_numpy(), np.nan, ns)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def one_class_fills(audit: pd.DataFrame, n_won: int, n_lost: int) -> pd.DataFrame:
    """The audit rows of columns filled in for one class only, on enough rows that chance cannot explain it:
    had filling nothing to do with the outcome, the other class would hold `_ONE_CLASS_MIN_EXPECTED` or more
    of its filled rows (a rare field filled on three won rows proves nothing; on 700, it does)."""
    pos, neg = audit["share_populated_positive"].fillna(0), audit["share_populated_negative"].fillna(0)
    filled = pos * n_won + neg * n_lost
    expected_other = np.where(pos > 0, filled * n_lost, filled * n_won) / max(n_won + n_lost, 1)
    return audit.loc[audit["one_class_only"] & (expected_other >= _ONE_CLASS_MIN_EXPECTED)]


def disguised_labels(features: pd.DataFrame, y: np.ndarray, spec: ExportSpec, threshold: float) -> str | None:
    """Why training must not go on when a fit or intent column alone tells won from lost with a leak audit
    AUC of `threshold` or more (the outcome in disguise: a status, a date filled in once the lead converted),
    or is filled in for one class only (a left join of the closed deals onto the leads fills every deal
    column for won leads alone), naming the columns and the fix; None when no column does. The model would
    score 1.0 on its test window and be promoted with exit 0, and score open leads, which lack the column's
    telling values, at random."""
    export_name = {spec.feature_name(c): c for c in [*spec.fit_columns, *spec.intent_columns]}
    columns = [c for c in features.columns if c in export_name]
    if not columns or len(np.unique(y)) < 2:
        return None
    audit = leak_audit(features[columns].reset_index(drop=True), pd.Series(y), auc_threshold=threshold)
    enough = min(int((y == 1).sum()), int((y == 0).sum())) >= _AUC_MIN_PER_CLASS
    high = (audit["auc"].fillna(0) >= threshold) & enough
    one_class = audit["feature"].isin(
        one_class_fills(audit, int((y == 1).sum()), int((y == 0).sum()))["feature"]
    )
    leaks = audit.loc[high | one_class]
    if leaks.empty:
        return None
    named = ", ".join(
        f"{export_name[r.feature]!r} ({_leak_evidence(r, threshold)})" for r in leaks.itertuples()
    )
    return (
        f"spec {spec.name!r}: {named} alone tell{'s' * (len(leaks) == 1)} won from lost on the {len(y):,} won "
        "and lost rows: most likely filled in after the outcome was known (a leak); move "
        f"{'it' if len(leaks) == 1 else 'them'} to leaky_columns with why (if it is "
        "known before the outcome, --set model.leak_auc=null switches this check off)"
    )


def _leak_evidence(row, threshold: float) -> str:
    """The audit's evidence for one column, in a few words."""
    if row.auc >= threshold:
        return f"AUC {row.auc:.3f}"
    if row.share_populated_positive > 0:
        return f"filled in for {row.share_populated_positive:.0%} of won rows and no lost row"
    return f"filled in for {row.share_populated_negative:.0%} of lost rows and no won row"


def labels_together(
    features: pd.DataFrame,
    y: np.ndarray,
    spec: ExportSpec,
    test_auc: float,
    threshold: float,
    model: str = "the model",
) -> str | None:
    """Why a model trained on an export must not ship when it tells won from lost on its test rows with an
    AUC of `threshold` or more although no column alone does (disguised_labels): its columns together give the
    outcome away (a checkout page seen, a delivery detail checked, a sign-in: the buyers' path through the
    order itself). Names `model` and the fit and intent columns that tell most alone; None below the threshold."""
    if not test_auc >= threshold:
        return None
    export_name = {spec.feature_name(c): c for c in [*spec.fit_columns, *spec.intent_columns]}
    columns = [c for c in features.columns if c in export_name]
    audit = leak_audit(features[columns].reset_index(drop=True), pd.Series(y)) if columns else pd.DataFrame()
    named = ", ".join(f"{export_name[r.feature]!r} (AUC {r.auc:.3f})" for r in audit.head(3).itertuples())
    return (
        f"spec {spec.name!r}: {model} tells won from lost with AUC {test_auc:.3f} on its test rows: its "
        f"columns together give the outcome away, most likely filled in once it was known (a leak)"
        + (f"; those that tell most alone are {named}" if named else "")
        + ": move the ones written after the outcome to leaky_columns with why (if they are all known before "
        "the outcome, --set model.leak_auc=null switches this check off)"
    )
