import numpy as np
import pandas as pd
import pytest

from models.baselines import PointsModel, fit_logistic_regression
from models.config import PointsConfig
from models.evaluate import roc_auc


def _blank(n):
    return pd.DataFrame(
        {
            "n_demo_request_90d": [0] * n,
            "n_pricing_page_90d": [0] * n,
            "n_case_study_90d": [0] * n,
            "n_blog_90d": [0] * n,
            "n_careers_page_90d": [0] * n,
            "seniority": pd.Series(["manager"] * n, dtype="str"),
            "email_domain_type": pd.Series(["business"] * n, dtype="str"),
            "unsubscribed": [False] * n,
            "inactive_60d": [False] * n,
        }
    )


def _one_rule_per_row():
    frame = _blank(11)
    frame.loc[1, "n_demo_request_90d"] = 5  # presence-based: five demos still +30
    frame.loc[2, "n_pricing_page_90d"] = 1
    frame.loc[3, "n_case_study_90d"] = 2
    frame.loc[4, "n_blog_90d"] = 1
    frame.loc[5, "seniority"] = "c_level"
    frame.loc[6, "n_careers_page_90d"] = 1
    frame.loc[7, "email_domain_type"] = "free"
    frame.loc[8, "unsubscribed"] = True
    frame.loc[9, "email_domain_type"] = "competitor"
    frame.loc[10, "inactive_60d"] = True
    return frame


def test_default_points_follow_common_practice():
    points = PointsModel().score(_one_rule_per_row())
    assert points.tolist() == [0, 30, 15, 10, 5, 20, -10, -5, -25, -50, -15]


def test_points_add_up_and_honour_custom_weights():
    frame = _blank(1)
    frame.loc[0, ["n_demo_request_90d", "n_pricing_page_90d"]] = [1, 3]
    frame.loc[0, "seniority"] = "c_level"
    assert PointsModel().score(frame).iloc[0] == 30 + 15 + 20
    custom = PointsModel({"demo_request": 50, "c_level": 0})
    assert custom.score(frame).iloc[0] == 50 + 15
    assert "c_level" not in custom.rule_points(frame).columns
    assert PointsModel(PointsConfig(pricing_page=1)).score(frame).iloc[0] == 30 + 1 + 20


def test_points_window_and_missing_columns():
    frame = _blank(2).rename(columns=lambda c: c.replace("_90d", "_30d"))
    frame.loc[0, "n_demo_request_30d"] = 1
    assert PointsModel(PointsConfig(window_days=30)).score(frame).tolist() == [30, 0]
    with pytest.raises(KeyError, match="demo_request.*n_demo_request_90d"):
        PointsModel().score(frame)


def test_points_missing_values_do_not_fire():
    frame = _blank(2).astype({"unsubscribed": "boolean", "n_blog_90d": float})
    frame.loc[0, "unsubscribed"] = pd.NA
    frame.loc[0, "n_blog_90d"] = np.nan
    frame.loc[0, "seniority"] = None
    assert PointsModel().score(frame).tolist() == [0, 0]


def test_points_probability_is_calibrated_and_keeps_the_ranking(leads, fresh_leads):
    model = PointsModel()
    with pytest.raises(RuntimeError, match="fit"):
        model.predict_proba(leads.frame)
    model.fit(leads.frame, leads.y)
    points = model.score(fresh_leads.frame).to_numpy()
    p = model.predict_proba(fresh_leads.frame)
    assert ((p > 0) & (p < 1)).all()
    assert roc_auc(fresh_leads.y, p) == pytest.approx(roc_auc(fresh_leads.y, points))
    assert abs(p.mean() - fresh_leads.y.mean()) < 0.02


def test_logistic_regression_baseline(leads, fresh_leads):
    model = fit_logistic_regression(leads.frame, leads.y, leads.features, leads.categorical, seed=0)
    p = model.predict_proba(fresh_leads.frame)
    assert p.shape == (len(fresh_leads.frame),) and ((p > 0) & (p < 1)).all()
    assert roc_auc(fresh_leads.y, p) > 0.70
    again = fit_logistic_regression(leads.frame, leads.y, leads.features, leads.categorical, seed=0)
    assert np.array_equal(again.predict_proba(fresh_leads.frame), p)


def test_logistic_regression_survives_unseen_and_missing_values(leads):
    model = fit_logistic_regression(leads.frame, leads.y, leads.features, leads.categorical, seed=0)
    rows = leads.frame.iloc[:3].copy()
    rows["industry"] = pd.Series(["aerospace", None, "software"], dtype="str", index=rows.index)
    rows.loc[rows.index[0], "employee_count"] = np.nan
    assert np.isfinite(model.predict_proba(rows)).all()
