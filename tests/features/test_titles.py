import pandas as pd
import pytest

from features.titles import normalise_titles

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
    result = normalise_titles(pd.Series([title]))
    assert (result.loc[0, "seniority"], result.loc[0, "department"]) == (seniority, department)


def test_missing_titles_are_unknown_and_index_is_kept():
    titles = pd.Series(["VP Sales", None, "VP SALES"], index=[10, 20, 30])
    result = normalise_titles(titles)
    assert list(result.index) == [10, 20, 30]
    assert result["seniority"].tolist() == ["vp", "unknown", "vp"]
    assert result["department"].tolist() == ["sales", "other", "sales"]
    assert result["seniority"].dtype == "str"
