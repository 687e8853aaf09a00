"""Small frames shaped like a scoring run's output, for the database writer's tests (no model needed).

Light imports only: a writer subprocess of the tests imports this. test_write_scores.py checks that the
shapes match models.scorer.SCORE_COLUMNS and features.contracts.QUARANTINE_COLUMNS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUARANTINE_COLUMNS = ("table", "row", "key", "column", "check", "value", "reason")


def fake_scores(n: int, as_of: str, model_version: str = "3", seed: int = 0) -> pd.DataFrame:
    """`n` scored leads with every score column, awkward text included (tabs, newlines, backslashes, "")."""
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    frame = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i:06d}" for i in range(n)], dtype="str"),
            "as_of": pd.Series(pd.Timestamp(as_of), index=range(n), dtype="datetime64[us]"),
            "score": score,
            "grade": pd.Series(np.where(score > 0.5, "A", "C"), dtype="str"),
            "rank_score": score - (score < 0.1),
            "fit_tier": pd.Series(rng.choice(["A", "B", "C"], n), dtype="str"),
            "intent_band": pd.Series(rng.choice(["low", "medium", "high"], n), dtype="str"),
            "disqualified": score < 0.1,
            "disqualify_reasons": pd.Series(np.where(score < 0.1, "student;free_email", ""), dtype="str"),
            "disqualify_detail": pd.Series(
                np.where(score < 0.1, "a student; a free e-mail", ""), dtype="str"
            ),
            "reasons": pd.Series([f"seed {seed}: visited pricing\t{i}\\n" for i in range(n)], dtype="str"),
            "reasons_positive": pd.Series("pricing page (+0.4)\nwebinar", index=range(n), dtype="str"),
            "reasons_negative": pd.Series("", index=range(n), dtype="str"),
            "fit_contribution": rng.normal(size=n),
            "intent_contribution": rng.normal(size=n),
            "model_name": pd.Series("leadscore", index=range(n), dtype="str"),
            "model_version": pd.Series(model_version, index=range(n), dtype="str"),
            "previous_score": np.nan,
            "score_change": np.nan,
            **{
                c: pd.Series("", index=range(n), dtype="str")
                for c in ("trend", "previous_grade", "grade_jump")
            },
        }
    )
    return frame.sort_values(["rank_score", "lead_id"], ascending=[False, True]).reset_index(drop=True)


def fake_quarantine(n: int, tag: str = "") -> pd.DataFrame:
    """`n` quarantined lead rows in the contract's quarantine shape."""
    frame = pd.DataFrame(
        {
            "table": "leads",
            "row": np.arange(n, dtype=np.int64),
            "key": [f"Q{i}" for i in range(n)],
            "column": "email",
            "check": "not_nullable",
            "value": "<missing>",
            "reason": f"the email is missing {tag}".strip(),
        }
    ).astype({c: "str" for c in QUARANTINE_COLUMNS if c != "row"})
    return frame[list(QUARANTINE_COLUMNS)]
