"""Job: score every open lead as of a date with a registered model, in chunks, and account for every row.

A run's outputs are published together or not at all (see `publish_run`): the scores, the quarantine CSV
beside them and a manifest JSON that names both files' sha256, written last. When no lead can be scored,
nothing is published, the previous run's files stay as they were, and `NothingToScore` says why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.dates import DateFormats, naive_utc
from features.export_contract import EXPORT_TABLE
from features.flat import ExportSpec
from features.frames import Table, as_table
from models.coverage import QUALIFYING, feature_coverage_warnings
from models.score_table import (
    CREATED_LATER,
    DEAL_CLOSED,
    LeadCounts,
    empty_scores,
    rank,
    validated,
    with_score_dtypes,
)
from models.scorer import Scorer
from models.trend import TrendReport
from pipelines.io import (
    InputError,
    file_digest,
    for_spreadsheets,
    format_of,
    path_digest,
    publish_together,
    quarantine_for_csv,
    remove_stale_staged,
    staged_path,
    to_csv,
    unquoted,
    write_quarantine,
    writing,
)
from pipelines.sources import Source, as_source, check_scorer_reads, tables_of_leads
from pipelines.sources import open_leads as open_leads  # a CRM-table helper, found here before
from pipelines.validate import FOLLOWING_CHECKS, own_quarantine_shares, quarantined_lead_share, rule_counts


@dataclass
class ScoreResult:
    scores: pd.DataFrame
    quarantine: pd.DataFrame
    leads: LeadCounts  # leads read, scored, quarantined, not scored (deal closed, not created yet)
    grades: pd.DataFrame | None = None  # score and grade of every lead, when `scores` holds only the top rows
    rows_read: dict[str, int] = field(default_factory=dict)  # rows read per table
    trend: TrendReport | None = None  # the trend against the last run (pipelines/score_job.py), when asked
    warnings: list[str] = field(default_factory=list)  # features missing now although training had them

    @property
    def accounting(self) -> pd.DataFrame:
        """The lead counts as a status / leads table (the console's)."""
        return self.leads.frame()

    def grade_summary(self) -> pd.DataFrame:
        return grade_counts(self.grades if self.grades is not None else self.scores)

    @property
    def quarantined_share(self) -> float:
        later = self.leads.not_scored.get(CREATED_LATER, 0)
        return quarantined_lead_share(self.leads.quarantined, self.leads.read, later)

    def table_shares(self) -> dict[str, float]:
        """Per table, the share of rows quarantined for a rule of their own (see own_quarantine_shares)."""
        return own_quarantine_shares(self.quarantine, self.rows_read)

    def count(self, status: str) -> int:
        return self.leads.count(status)

    def rule_counts(self) -> pd.DataFrame:
        """The quarantine's rows per table, column and check, with the first one (validate.rule_counts)."""
        return rule_counts(self.quarantine)

    def main_causes(self) -> str:
        """The quarantine's most frequent root causes, in words (main_causes)."""
        return main_causes(self.quarantine)


class NothingToScore(InputError):
    """No lead could be scored; nothing was published and the previous output stays as it was."""

    def __init__(self, message: str, result: ScoreResult):
        super().__init__(message)
        self.result = result


def run_score(
    scorer: Scorer,
    source: Source | dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    output: Path | None,
    chunk_size: int = 50_000,
    reasons: bool = True,
    engine: str = "pandas",
    model_uri: str | None = None,
    date_formats: DateFormats | None = None,
    missing_rise: float = 0.5,
) -> ScoreResult:
    """Validate as of `as_of`, score the open leads, write scores and quarantine atomically.

    `source`: what the scorer reads (CRM tables, as a dict of frames or a CrmSource; or an ExportSource).
    engine "pandas" scores in this process, chunk by chunk; "spark" sends the same CRM leads through the same
    artifact as a Spark UDF (needs `model_uri` and the `spark` extra). `missing_rise`: see
    scoring.missing_rise.
    """
    source = as_source(source)
    as_of = naive_utc(
        as_of
    )  # as the CLI gives it: one with an offset (in process) met naive times and failed
    check_scorer_reads(scorer, source, model_uri or "the model")
    if engine not in ("pandas", "spark"):
        raise ValueError(f"unknown engine {engine!r}; use pandas or spark")
    rows = source.scoring_rows(as_of, date_formats)
    validation, to_score, closed = rows.validation, rows.to_score, rows.closed
    if len(to_score) == 0:  # nothing to score: the model is not called (check_scoreable says why)
        scored = empty_scores()
    else:
        scored = source.score(scorer, rows, as_of, chunk_size, reasons, engine, model_uri)
    scores = validated(with_score_dtypes(rank(scored)))
    quarantine = validation.quarantine
    leads = LeadCounts(
        read=validation.read["leads"],
        scored=len(scores),
        quarantined=lead_quarantine_rows(quarantine),
        not_scored={DEAL_CLOSED: len(closed), CREATED_LATER: validation.not_created.get("leads", 0)},
    )
    result = ScoreResult(scores, quarantine, leads, rows_read=dict(validation.read))
    if len(to_score):
        result.warnings = [
            *scorer.feed_gap_warnings(validation.valid, as_of),
            *lead_feature_warnings(scorer, validation.valid, to_score, as_of, missing_rise),
        ]
    if output is not None:
        check_scoreable(result, output)
        fingerprint = tables_fingerprint(source.tables)
        identity = run_identity(scorer)
        manifest = run_manifest(result, as_of, scorer.model_name, scorer.model_version, fingerprint, identity)
        write_scores_file(scores, quarantine, output, manifest)
    return result


# How many leads the feature coverage check builds features for (evenly spread): it costs a second feature
# build, so a big run checks a sample; a feature missing in all of them is missing in (almost) all leads.
COVERAGE_SAMPLE = 2_000


@dataclass
class SampleTables:
    """The input tables of some of the leads to score (an InputReader: one way per input)."""

    tables: dict[str, pd.DataFrame]
    leads: pd.DataFrame

    def crm_tables(self) -> dict[str, pd.DataFrame]:
        return tables_of_leads(self.tables, self.leads)

    def flat_export(self, spec: ExportSpec) -> dict[str, pd.DataFrame]:
        return {EXPORT_TABLE: self.leads}


def lead_feature_warnings(
    scorer: Scorer,
    tables: dict[str, pd.DataFrame],
    to_score: pd.DataFrame,
    as_of: pd.Timestamp,
    missing_rise: float,
) -> list[str]:
    """Features the leads to score (or an even sample of them) miss far more than training did, or hold
    outside its range (models.coverage.feature_coverage_warnings); a run says them after what the CRM's feeds
    stopped delivering (Scorer.feed_gap_warnings)."""
    if not scorer.model.feature_missing:  # a model trained before training's coverage was kept
        return []
    step = coverage_step(len(to_score))
    checked = "leads scored" if step == 1 else "leads checked (a sample of those scored)"
    features = coverage_features(scorer, tables, to_score.iloc[::step], as_of)
    return feature_coverage_warnings(scorer.model, features, checked, missing_rise)


def coverage_step(leads: int) -> int:
    """Every how many leads the feature coverage check takes one, for at most COVERAGE_SAMPLE of `leads`."""
    return max(1, -(-leads // COVERAGE_SAMPLE))


def coverage_features(
    scorer: Scorer, tables: dict[str, pd.DataFrame], sample: pd.DataFrame, as_of: pd.Timestamp
) -> Table:
    """The features the coverage check judges (those training kept the coverage of), of the leads `sample`, and
    whether the ICP guardrail disqualified each (models.coverage.QUALIFYING: training never learnt those)."""
    features = as_table(scorer.scoring_features(scorer.input.read(SampleTables(tables, sample)), as_of))
    judged = [name for name in [*scorer.model.feature_missing, QUALIFYING] if name in features]
    return Table({name: features[name] for name in judged}, features.n_rows)


def lead_quarantine_rows(quarantine: pd.DataFrame) -> int:
    """How many lead rows a quarantine holds (a row failing several checks counts once): rows of the leads
    table, or of a flat export, whose rows are leads."""
    return int(quarantine.loc[quarantine["table"].isin(["leads", EXPORT_TABLE]), "row"].nunique())


def tables_fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """A short hash of the input tables' content (as the training run logs it)."""
    from pipelines.tracking import data_fingerprint

    return data_fingerprint(tables)


def files_fingerprint(paths: dict[str, Path]) -> str:
    """A short hash of input files' names and bytes."""
    import hashlib

    digest = hashlib.sha256()
    for name in sorted(paths):
        digest.update(f"{name}={paths[name].name}:{file_digest(paths[name])};".encode())
    return digest.hexdigest()[:16]


def run_manifest(
    result: ScoreResult,
    as_of: pd.Timestamp,
    model_name: str,
    model_version: str,
    input_fingerprint: str,
    identity: dict[str, str] | None = None,
) -> dict:
    """What a run was: counts, as-of, model (and its `identity`, run_identity), input fingerprint, time;
    `publish_run` adds the files."""
    not_scored = {reason: int(leads) for reason, leads in result.leads.not_scored.items()}
    return {
        "as_of": pd.Timestamp(as_of).isoformat(),
        "model_name": str(model_name),
        "model_version": str(model_version),
        **(identity or {}),
        "input_fingerprint": input_fingerprint,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "leads": {
            "read": result.count("read"),
            "scored": result.count("scored"),
            "quarantined": result.count("quarantined"),
            "not_scored": not_scored,
        },
        "quarantine_rows": len(result.quarantine),
    }


def run_identity(scorer: Scorer) -> dict[str, str]:
    """Which model a run is of beyond its name, for the manifest: the store it was loaded from and what it reads
    (two tracking stores can each hold a model named leadscore, for two exports); a trend compares only runs of
    the same (pipelines.score_job.latest_run_beside)."""
    return {"model_store": str(scorer.model_store), "model_input": scorer.input.describe()}


def write_scores_file(
    scores: pd.DataFrame, quarantine: pd.DataFrame, output: Path, manifest: dict
) -> list[Path]:
    """Stage the scores (Parquet or CSV by suffix), then publish them with the quarantine and the manifest."""
    format_of(output)  # an unknown suffix is refused before anything is written
    remove_stale_staged(output)
    staged = staged_path(output)
    try:
        with writing(output):
            if format_of(output) == "parquet":
                scores.to_parquet(staged, index=False)
            else:
                to_csv(scores_for_csv(scores), staged)
        return publish_run(staged, quarantine, output, manifest)
    finally:
        staged.unlink(missing_ok=True)


SCORE_IDS = ("lead_id",)  # the columns of a scores CSV written as they are: the ids programs join on


def scores_for_csv(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores as a CSV holds them: people open it in a spreadsheet, so text a spreadsheet would run as a formula
    (every reason starts with + or -; a level from the data may start with =) gets an apostrophe
    (pipelines.io.for_spreadsheets). The lead ids stay as written: schedulers and CRMs join on them."""
    return for_spreadsheets(scores, as_written=SCORE_IDS)


def scores_from_csv(scores: pd.DataFrame) -> pd.DataFrame:
    """Scores read from a CSV `scores_for_csv` wrote: the text as it was, without the apostrophes."""
    return unquoted(scores, as_written=SCORE_IDS)


def publish_run(staged_scores: Path, quarantine: pd.DataFrame, output: Path, manifest: dict) -> list[Path]:
    """Publish a run: the staged scores file, the quarantine and the manifest, together or not at all.

    Everything is written to temporary files beside `output` first. Then the quarantine, the scores and the
    manifest are renamed into place in that order; a failed rename puts back what was already renamed. The
    manifest, last, names the sha256 of both files: a run killed between two renames leaves files that no
    longer match the manifest beside them, which `verify_published` reports.
    """
    q_path, m_path = quarantine_path_for(output), manifest_path_for(output)
    for path in (q_path, m_path):
        remove_stale_staged(path)
    q_staged, m_staged = staged_path(q_path), staged_path(m_path)
    try:
        with writing(q_path):
            to_csv(quarantine_for_csv(quarantine), q_staged)
        files = {
            "scores": {"file": output.name, "sha256": file_digest(staged_scores)},
            "quarantine": {"file": q_path.name, "sha256": file_digest(q_staged)},
        }
        with writing(m_path):
            m_staged.write_text(json.dumps({**manifest, "files": files}, indent=2) + "\n")
        publish_together([(q_staged, q_path), (staged_scores, output), (m_staged, m_path)])
    finally:
        for path in (q_staged, m_staged):
            path.unlink(missing_ok=True)
    return [output, q_path, m_path]


def verify_published(output: Path | str) -> list[str]:
    """What is wrong with a published run (empty when the scores and quarantine match their manifest)."""
    output = Path(output)  # the README's `verify_published(path)`: a path as text too
    m_path = manifest_path_for(output)
    if not m_path.exists():
        return [f"{m_path}: no manifest; the files beside it are not a complete published run"]
    files = json.loads(m_path.read_text())["files"]
    problems = []
    for role, entry in files.items():
        path = output.with_name(entry["file"])
        if not path.exists():
            problems.append(f"{path}: missing ({role} of the run in {m_path.name})")
        elif path_digest(path) != entry["sha256"]:  # a file, or a Spark run's folder of parts
            problems.append(f"{path}: not the {role} of the run in {m_path.name} (sha256 differs)")
    return problems


def quarantine_path_for(output: Path) -> Path:
    """scores.parquet -> scores.quarantine.csv (CSV, so that anyone can open it)."""
    return output.with_name(f"{output.stem}.quarantine.csv")


def manifest_path_for(output: Path) -> Path:
    """scores.parquet -> scores.manifest.json."""
    return output.with_name(f"{output.stem}.manifest.json")


def failed_quarantine_path_for(output: Path) -> Path:
    """scores.parquet -> scores.failed-run.quarantine.csv: the quarantine of a run that published nothing."""
    return output.with_name(f"{output.stem}.failed-run.quarantine.csv")


def check_scoreable(result: ScoreResult, output: Path | None, leads: str = "the leads table") -> None:
    """Raise NothingToScore (after writing its quarantine beside `output`) when no lead was scored."""
    why = nothing_to_score_reason(result, leads)
    if why is None:
        return
    kept = (
        f"the previous {output} is kept" if output is not None and output.exists() else "nothing was written"
    )
    where = ""
    if output is not None and len(result.quarantine):
        failed = write_quarantine(result.quarantine, failed_quarantine_path_for(output))
        where = f"; this run's quarantined rows are in {failed}"
    raise NothingToScore(f"nothing to score: {why}; {kept}{where}", result)


def nothing_to_score_reason(result: ScoreResult, leads: str = "the leads table") -> str | None:
    """Why no lead was scored, in one sentence; None when some were."""
    if result.count("scored") > 0:
        return None
    read, quarantined = result.count("read"), result.count("quarantined")
    if read == 0:
        return f"{leads} has no rows (a header at most); export the leads again"
    if quarantined == read:
        return f"all {read:,} leads were quarantined: {result.main_causes()}"
    not_scored = result.leads.not_scored_text()
    causes = f" ({result.main_causes()})" if quarantined else ""
    later = " (is --as-of before the data?)" if result.leads.not_scored.get(CREATED_LATER) else ""
    if result.leads.not_scored.get(DEAL_CLOSED, 0) == read - quarantined:
        # The labelled history itself (the training file), scored as it is: every lead already won or lost.
        later = (
            " (every lead already has its outcome: score the leads still open, in an export with its label "
            "column empty or left out)"
        )
    return (
        f"of {read:,} leads, {quarantined:,} were quarantined{causes} and the others are not scored "
        f"({not_scored}){later}"
    )


def main_causes(quarantine: pd.DataFrame, top: int = 2) -> str:
    """The most frequent root causes of a quarantine (cascades left out), with an example value and a hint."""
    roots = quarantine[~quarantine["check"].isin(FOLLOWING_CHECKS)]
    counted = (
        roots.drop_duplicates(["table", "row", "column", "check"])
        .groupby(["table", "column", "check"], sort=False)
        .agg(rows=("row", "size"), value=("value", "first"), reason=("reason", "first"))
        .reset_index()
    )
    return causes_sentence(counted, top)


def causes_sentence(counted: pd.DataFrame, top: int = 2) -> str:
    """main_causes' sentence from its counts: a row per table, column and check (in the order they first
    appear in the quarantine) with its distinct rows and first value and reason (also counted in Spark); rows
    that only followed another quarantined row are no cause."""
    counted = counted.loc[~counted["check"].isin(FOLLOWING_CHECKS)]
    if counted.empty:
        return "see the quarantine file"
    lead_side = counted["table"].isin(["accounts", "leads"])  # what keeps leads from a score
    counted = (
        counted.assign(lead_side=lead_side)
        .sort_values(["lead_side", "rows"], ascending=False, kind="stable")
        .head(top)
    )
    hints = {
        "not after as_of": " (is --as-of before the data?)",
        "parse(number)": " (numbers must be plain, e.g. 1200.5, without thousands separators)",
    }
    return "; ".join(
        f"{r.table}.{r.column} failed {r.check} in {r.rows:,} rows, e.g. {r.value!r}: {r.reason.rstrip('.')}"
        f"{hints.get(r.check, '')}"
        for r in counted.itertuples(index=False)
    )


def top_leads(scores: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The best `n` leads with their grade, trend (when the run has one) and reasons, for the console."""
    top = scores.head(n)
    out = pd.DataFrame(
        {
            "lead": top["lead_id"],
            "score": top["score"].round(3),
            "grade": top["grade"],
            "tier": top["fit_tier"],
            "intent": top["intent_band"],
            "reasons": top["reasons"],
        }
    )
    trend = top["trend"].astype("str").fillna("") if "trend" in top.columns else pd.Series(dtype="str")
    if trend.ne("").any():  # e.g. "rising C→A"
        out.insert(3, "trend", (trend + " " + top["grade_jump"].astype("str").fillna("")).str.strip())
    return out


def grade_counts(scores: pd.DataFrame) -> pd.DataFrame:
    counts = scores["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
    return pd.DataFrame(
        {
            "grade": counts.index,
            "leads": counts.to_numpy(),
            "mean_score": [
                float(scores.loc[scores["grade"] == g, "score"].mean()) if c else np.nan
                for g, c in counts.items()
            ],
        }
    )
