import pandas as pd
import pytest

from features.build import build_features
from features.config import FeatureConfig, ICPConfig
from features.titles import title_labels

TITLES = [
    # (title as typed, seniority, department)
    ("VP Sales", "vp", "sales"),
    ("vp of sales", "vp", "sales"),
    ("Vice President, Marketing", "vp", "marketing"),
    ("SVP Revenue", "vp", "sales"),
    ("Executive Vice President", "vp", "other"),
    ("Head of Growth", "director", "marketing"),
    ("Dir. Operations", "director", "operations"),
    ("director it", "director", "it"),
    ("Chief Revenue Officer", "c_level", "sales"),
    ("CEO & Founder", "c_level", "executive"),
    ("Co-founder and CTO", "c_level", "engineering"),
    ("President", "c_level", "executive"),
    ("Marketing Ops Manager", "manager", "marketing"),
    ("mgr, finance", "manager", "finance"),
    ("Team Lead Sales", "manager", "sales"),
    ("HR Operations Manager", "manager", "hr"),
    ("Sr. Software Engineer", "individual_contributor", "engineering"),
    ("Account Executive", "individual_contributor", "sales"),
    ("SDR", "individual_contributor", "sales"),
    ("Accountant", "individual_contributor", "finance"),
    ("Lead Generation Specialist", "individual_contributor", "marketing"),
    ("Product Owner", "individual_contributor", "other"),
    ("student", "student", "other"),
    ("PhD student", "student", "other"),
    ("MBA Candidate", "student", "other"),
    ("Intern", "intern", "other"),
    ("Marketing Intern", "intern", "marketing"),
    ("International Sales Manager", "manager", "sales"),
    ("Interim CEO", "c_level", "executive"),
    ("looking for work", "job_seeker", "other"),
    ("Open to work", "job_seeker", "other"),
    ("", "unknown", "other"),
    ("n/a", "unknown", "other"),
    ("  ", "unknown", "other"),
]


@pytest.mark.parametrize(("title", "seniority", "department"), TITLES)
def test_title_normalisation_table(title, seniority, department):
    assert title_labels([title]) == ([seniority], [department])


def test_missing_titles_are_unknown_and_case_does_not_matter():
    """As the features read them: a lead without a title is an unknown seniority in the other department."""
    n = 3
    at = pd.Timestamp("2024-06-01")
    tables = {
        "accounts": pd.DataFrame(
            {
                "account_id": ["A1"],
                "domain": ["acme.com"],
                "industry": ["software"],
                "employee_count": [50.0],
                "annual_revenue": [1e6],
                "country": ["US"],
                "tech_stack": [""],
                "created_at": [at],
            }
        ),
        "leads": pd.DataFrame(
            {
                "lead_id": ["L1", "L2", "L3"],
                "account_id": ["A1"] * n,
                "email": ["a@acme.com", "b@acme.com", "c@acme.com"],
                "job_title": pd.array(["VP Sales", None, "VP SALES"], dtype="str"),
                "lead_source": ["event"] * n,
                "created_at": [at] * n,
            }
        ),
        "activities": pd.DataFrame({"lead_id": [], "occurred_at": pd.to_datetime([]), "activity_type": []}),
    }
    snapshots = pd.DataFrame({"lead_id": ["L1", "L2", "L3"], "snapshot_at": [at] * n})
    features = build_features(tables, snapshots, FeatureConfig(), ICPConfig()).to_frame()
    assert features["seniority"].tolist() == ["vp", "unknown", "vp"]
    assert features["department"].tolist() == ["sales", "other", "sales"]
    assert features["seniority"].dtype == "str"
