from models.promotion import promotion_decision

TOL = {"auc_tolerance": 0.005, "ece_tolerance": 0.01}


def test_first_model_must_beat_the_points_model():
    better = promotion_decision({"roc_auc": 0.8, "ece": 0.02}, None, {"roc_auc": 0.7, "ece": 0.1}, **TOL)
    worse = promotion_decision({"roc_auc": 0.65, "ece": 0.02}, None, {"roc_auc": 0.7, "ece": 0.1}, **TOL)
    assert better.promote and not worse.promote
    assert "does not beat" in worse.summary()


def test_challenger_within_tolerance_is_promoted_worse_is_refused():
    champion = {"roc_auc": 0.80, "ece": 0.02}
    assert promotion_decision({"roc_auc": 0.797, "ece": 0.025}, champion, None, **TOL).promote
    low_auc = promotion_decision({"roc_auc": 0.78, "ece": 0.02}, champion, None, **TOL)
    bad_calibration = promotion_decision({"roc_auc": 0.81, "ece": 0.05}, champion, None, **TOL)
    assert not low_auc.promote and "AUC 0.780 vs champion 0.800" in low_auc.summary()
    assert not bad_calibration.promote and "ECE 0.050" in bad_calibration.summary()


def test_data_gate_blocks_promotion():
    decision = promotion_decision(
        {"roc_auc": 0.9, "ece": 0.01}, {"roc_auc": 0.8, "ece": 0.02}, None, data_gate_met=False, **TOL
    )
    assert not decision.promote and "minimum-data gate" in decision.summary()
