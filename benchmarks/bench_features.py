"""Feature pipeline benchmark: build_features throughput, and the flat X Education export + leak audit.

Run: .venv/bin/python -m benchmarks.bench_features [--leads 50000] [--activities 1500000] [--repeats 3]

(a) Random CRM tables of the contract's shape (numpy, seeded): leads with about 12 months of activity.
    Times build_features for one scoring snapshot per lead (as_of = end of history) and for one
    training-like snapshot per lead at a random time, and reports leads per second. When
    features.synthetic.generate_history is available, it also times the generator's realistic tables.
(b) Reads ../shared/data/x_education_leads/Leads.csv with pipelines/specs/x_education.yaml, builds the
    flat features and runs the leak audit on the model's features and on every column of the export.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from features.build import build_features, scoring_snapshots
from features.config import FeatureConfig, ICPConfig
from features.flat import ExportSpec, build_flat_features, without_placeholders
from features.leak_audit import leak_audit
from features.vocab import ACTIVITY_TYPES, LEAD_SOURCES

REPO = Path(__file__).resolve().parents[1]
X_EDUCATION_CSV = REPO.parent / "shared" / "data" / "x_education_leads" / "Leads.csv"
X_EDUCATION_SPEC = REPO / "pipelines" / "specs" / "x_education.yaml"

END = pd.Timestamp("2026-10-01")
TITLES = (
    "VP Sales", "vp of sales", "Head of Growth", "Chief Revenue Officer", "CEO & Founder",
    "Sr. Software Engineer", "student", "MBA Candidate", "Intern", "looking for work",
    "Marketing Ops Manager", "", "Account Executive", "Data Analyst", "Director of Sales", "mgr, finance",
)  # fmt: skip
ACTIVITY_SHARES = (0.1, 0.02, 0.05, 0.03, 0.2, 0.4, 0.12, 0.06, 0.02)
DAY = np.timedelta64(86_400, "s")


def random_tables(n_leads: int, n_activities: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Random tables of the contract's shape: leads created over 12 months, activity until END."""
    rng = np.random.default_rng(seed)
    n_accounts = max(1, n_leads // 5)
    start = END - pd.DateOffset(months=12)
    span_s = int((END - start).total_seconds())
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:07d}" for i in range(n_accounts)],
            "name": [f"Company {i}" for i in range(n_accounts)],
            "domain": [f"company{i}.com" for i in range(n_accounts)],
            "industry": rng.choice(["software", "fintech", "retail", "media", "government"], n_accounts),
            "employee_count": np.ceil(rng.lognormal(4.5, 1.5, n_accounts)).astype(int),
            "annual_revenue": np.round(rng.lognormal(16.5, 1.8, n_accounts), -3),
            "country": rng.choice(["US", "GB", "DE", "IN", "BR", "JP", "FR"], n_accounts),
            "tech_stack": [
                ";".join(rng.choice(["salesforce", "hubspot", "snowflake", "sap", "excel"], k, replace=False))
                for k in rng.integers(0, 4, n_accounts)
            ],
            "created_at": END - pd.to_timedelta(rng.integers(365, 40 * 365, n_accounts), unit="D"),
        }
    )
    account = rng.integers(0, n_accounts, n_leads)
    free = rng.random(n_leads) < 0.1
    domain = np.where(free, "gmail.com", accounts["domain"].to_numpy()[account])
    created = start + pd.to_timedelta(rng.integers(0, span_s, n_leads), unit="s")
    leads = pd.DataFrame(
        {
            "lead_id": [f"L{i:08d}" for i in range(n_leads)],
            "account_id": accounts["account_id"].to_numpy()[account],
            "email": [f"person{i % (n_leads - 50)}@{d}" for i, d in enumerate(domain)],  # a few repeats
            "job_title": rng.choice(np.array(TITLES, dtype=object), n_leads),
            "lead_source": rng.choice(np.array(LEAD_SOURCES, dtype=object), n_leads),
            "created_at": created,
        }
    )
    # Activity-heavy and quiet leads; each activity between 30 days before the lead and END.
    lead_of = rng.choice(n_leads, n_activities, p=_normalised(rng.gamma(0.7, 1.0, n_leads)))
    first = (created.to_numpy()[lead_of] - np.timedelta64(30, "D")).astype("datetime64[s]")
    room = (END.to_datetime64().astype("datetime64[s]") - first) / np.timedelta64(1, "s")
    occurred = first + (rng.random(n_activities) * room).astype("timedelta64[s]")
    activities = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy()[lead_of],
            "occurred_at": occurred,
            "activity_type": rng.choice(
                np.array(ACTIVITY_TYPES, dtype=object), n_activities, p=ACTIVITY_SHARES
            ),
        }
    )
    return {"accounts": accounts, "leads": leads, "activities": activities}


def training_like_snapshots(leads: pd.DataFrame, seed: int = 1) -> pd.DataFrame:
    """One snapshot per lead at a random time between its creation and END (like deal creation times)."""
    rng = np.random.default_rng(seed)
    created = pd.to_datetime(leads["created_at"])
    room = (END - created).dt.total_seconds().to_numpy()
    offset = pd.to_timedelta(rng.random(len(leads)) * room, unit="s")
    return pd.DataFrame({"lead_id": leads["lead_id"].to_numpy(), "snapshot_at": created + offset})


def time_build(tables, snapshots, repeats: int) -> tuple[float, pd.DataFrame]:
    config, icp = FeatureConfig(), ICPConfig()
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        features = build_features(tables, snapshots, config, icp).to_frame()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), features


def throughput_table(n_leads: int, n_activities: int, repeats: int) -> list[str]:
    began = time.perf_counter()
    tables = random_tables(n_leads, n_activities)
    made = time.perf_counter() - began
    rows = [
        "| tables | snapshots | activities | built columns | median build s | leads/s |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    cases = [
        ("random numpy", "scoring (as_of = end)", tables, scoring_snapshots(tables["leads"], END)),
        (
            "random numpy",
            "training-like (random time per lead)",
            tables,
            training_like_snapshots(tables["leads"]),
        ),
    ]
    history = _generator_tables(n_leads)
    if history is not None:
        cases.append(("features.synthetic", "scoring (as_of = end)", history[0], history[1]))
    for source, kind, case_tables, snapshots in cases:
        seconds, features = time_build(case_tables, snapshots, repeats)
        rows.append(
            f"| {source} | {kind}: {len(snapshots):,} | {len(case_tables['activities']):,} | "
            f"{features.shape[1]} | {seconds:.2f} | {len(snapshots) / seconds:,.0f} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append("")
    rows.append(
        f"Random tables generated in {made:.1f} s; peak resident memory of the process {peak_mb:,.0f} MB."
    )
    return rows


def _generator_tables(n_leads: int):
    try:
        from features.synthetic import GeneratorConfig, generate_history
    except ImportError:
        return None
    history = generate_history(GeneratorConfig(accounts=max(1, n_leads // 3), months=12))
    tables = history.tables()
    end = pd.to_datetime(tables["activities"]["occurred_at"]).max() + pd.Timedelta(seconds=1)
    return tables, scoring_snapshots(tables["leads"], end)


def x_education_tables(csv: Path, spec_path: Path) -> list[str]:
    if not csv.exists():
        return [f"X Education export not found at {csv}: skipped."]
    spec = ExportSpec.model_validate(yaml.safe_load(spec_path.read_text()))
    frame = pd.read_csv(csv)
    began = time.perf_counter()
    features, label = build_flat_features(frame, spec)
    model_inputs = features.drop(columns=[spec.feature_name(spec.id_column)])
    audit = leak_audit(model_inputs, label)
    seconds = time.perf_counter() - began

    every_column = frame.drop(columns=[spec.label_column]).apply(
        lambda column: without_placeholders(column, spec.missing_values)
    )
    full = leak_audit(every_column, label)
    role = {spec.id_column: "id", **{c: "drop" for c in spec.drop_columns}}
    role |= {c: "leaky" for c in spec.leaky_columns} | {c: "fit" for c in spec.fit_columns}
    role |= {c: "intent" for c in spec.intent_columns}

    lines = [
        f"X Education: {len(frame):,} rows, {frame.shape[1]} columns, positive rate {label.mean():.3f}; "
        f"{model_inputs.shape[1]} model features after the spec; flat build + audit {seconds:.2f} s.",
        "",
        "Flagged among the model's features (threshold AUC 0.90): "
        + (", ".join(audit.loc[audit["flagged"], "feature"]) or "none"),
        "Flagged among all columns of the export: "
        + (", ".join(full.loc[full["flagged"], "feature"]) or "none"),
        "",
        "| column | role in spec | kind | AUC | filled (converted) | filled (not) | flagged |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for row in full.head(15).itertuples():
        lines.append(
            f"| {row.feature} | {role.get(row.feature, 'undeclared')} | {row.kind} | {row.auc:.3f} | "
            f"{row.share_populated_positive:.0%} | {row.share_populated_negative:.0%} | "
            f"{'**yes**' if row.flagged else 'no'} |"
        )
    flagged = full.loc[full["flagged"]]
    if len(flagged):
        lines.append("")
        lines += [f"- {row.feature}: {row.explanation}" for row in flagged.itertuples()]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--activities", type=int, default=1_500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("## build_features throughput\n")
    print("\n".join(throughput_table(args.leads, args.activities, args.repeats)))
    print("\n## X Education flat export and leak audit\n")
    print("\n".join(x_education_tables(X_EDUCATION_CSV, X_EDUCATION_SPEC)))


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


if __name__ == "__main__":
    main()
