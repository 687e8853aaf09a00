import numpy as np
import pandas as pd
import pytest

from features.leak_audit import AUDIT_COLUMNS, flagged_features, leak_audit

N = 400


def _frame() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(11)
    label = pd.Series((rng.random(N) < 0.35).astype(int))
    won = label.to_numpy() == 1
    honest = rng.normal(size=N) + 0.6 * won  # a real but modest signal
    features = pd.DataFrame(
        {
            "honest_score": honest,
            "honest_segment": rng.choice(["a", "b", "c"], size=N),
            # Planted leak: the sales team's status note, written after the outcome (a little noise).
            "status_note": np.where(won ^ (rng.random(N) < 0.03), "closed won", "no answer"),
            "lead_ref": [f"ref-{i}" for i in range(N)],  # an id: every category unique
            "contract_amount": np.where(won, rng.uniform(1e3, 5e4, N), np.nan),  # only filled for won
            "empty": np.full(N, np.nan),
        }
    )
    return features, label


def _by_feature(audit: pd.DataFrame) -> pd.DataFrame:
    return audit.set_index("feature")


def test_flags_a_planted_leak_and_not_honest_columns():
    features, label = _frame()
    audit = leak_audit(features, label)
    assert list(audit.columns) == list(AUDIT_COLUMNS)
    assert sorted(audit["feature"]) == sorted(features.columns)  # flags, never drops
    rows = _by_feature(audit)
    assert rows.loc["status_note", "high_auc"] and rows.loc["status_note", "auc"] > 0.95
    assert "Possible leak" in rows.loc["status_note", "explanation"]
    for honest in ("honest_score", "honest_segment", "lead_ref", "empty"):
        assert not rows.loc[honest, "flagged"], honest
        assert not rows.loc[honest, "explanation"].startswith("Possible leak")
    assert 0.6 < rows.loc["honest_score", "auc"] < 0.8
    assert rows.loc["lead_ref", "auc"] == pytest.approx(0.5, abs=0.05)  # out-of-fold: unseen ids score 0.5
    assert rows.loc["lead_ref", "kind"] == "categorical" and rows.loc["honest_score", "kind"] == "numeric"
    assert audit["flagged"].iloc[0] and not audit["flagged"].iloc[-1]  # flagged rows come first


def test_flags_a_column_filled_in_for_one_class_only():
    features, label = _frame()
    rows = _by_feature(leak_audit(features, label))
    amount = rows.loc["contract_amount"]
    assert amount["one_class_only"] and amount["flagged"]
    assert amount["share_populated_positive"] == 1.0 and amount["share_populated_negative"] == 0.0
    assert "only for converted rows" in amount["explanation"]
    assert rows.loc["empty", "explanation"].startswith("Never filled in")


def test_flags_values_recorded_after_the_snapshot():
    features, label = _frame()
    snapshot_at = pd.Series(pd.Timestamp("2024-06-01"), index=range(N))
    recorded = pd.Series(pd.Timestamp("2024-05-01"), index=range(N))
    recorded.iloc[:40] = pd.Timestamp("2024-07-01")
    features["closed_at"] = pd.Series(pd.NaT, index=range(N), dtype="datetime64[ns]")
    features.loc[:9, "closed_at"] = pd.Timestamp("2024-06-15")
    rows = _by_feature(
        leak_audit(features, label, snapshot_at=snapshot_at, event_times={"honest_segment": recorded})
    )
    assert rows.loc["honest_segment", "postdates_snapshot"]
    assert rows.loc["honest_segment", "share_after_snapshot"] == pytest.approx(0.1)
    assert "after the snapshot in 10% of rows" in rows.loc["honest_segment", "explanation"]
    assert rows.loc["closed_at", "postdates_snapshot"]  # a datetime feature is its own event time
    assert not rows.loc["honest_score", "postdates_snapshot"]
    assert np.isnan(rows.loc["honest_score", "share_after_snapshot"])


def test_threshold_decides_high_auc():
    features, label = _frame()
    rows = _by_feature(leak_audit(features[["honest_score"]], label, auc_threshold=0.6))
    assert rows.loc["honest_score", "high_auc"]


def test_one_class_label_is_not_judged():
    features, _ = _frame()
    audit = leak_audit(features[["honest_score"]], pd.Series(np.ones(N, dtype=int)))
    assert np.isnan(audit.loc[0, "auc"]) and not audit.loc[0, "flagged"]
    assert "only one class" in audit.loc[0, "explanation"]


def test_flagged_features_lists_them():
    features, label = _frame()
    assert set(flagged_features(leak_audit(features, label))) == {"status_note", "contract_amount"}


def test_boolean_labels_and_bad_labels():
    features, label = _frame()
    audit = leak_audit(features[["honest_score"]], label.astype(bool))
    assert audit.loc[0, "auc"] > 0.6
    with pytest.raises(ValueError, match="missing"):
        leak_audit(features[["honest_score"]], label.astype(float).where(label.index > 0))
    with pytest.raises(ValueError, match="rows"):
        leak_audit(features[["honest_score"]], label.iloc[:10])
