"""Draft a source spec from a flat export: the id, the label with its won / lost / open values, the time
column, and a role for every other column, each with its reason; what cannot be decided stays a question.

Pure: an export frame and DraftRules (pipelines/defaults/spec_draft.yaml) in, a Draft out; `render_spec`
writes the Draft as commented YAML text. pipelines/spec.py reads the export and writes the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from features.config import ICPConfig
from features.contracts import ContractError
from features.draft_dates import DateColumn, add_timestamp, date_columns, looks_like_dates, written_in_digits
from features.draft_ids import ROW_ID_NAMES, guess_id, id_repeats, is_id_name
from features.draft_labels import add_labels, guess_label, label_class, open_read_as_lost
from features.draft_rules import (
    Draft,
    DraftError,
    DraftRules,
    find_placeholders,
    has_word,
    name_words,
    plain_value,
    without_placeholders,
)
from features.flat import (
    ADDED_COLUMNS,
    NUMERIC_ICP_ATTRIBUTES,
    ExportSpec,
    clean_label,
    did_you_mean,
    export_icp,
    flat_guardrail,
    icp_attributes,
    numbered_rows,
)
from features.leak_audit import leak_audit


def draft_spec(
    frame: pd.DataFrame,
    rules: DraftRules,
    name: str,
    label: str | None = None,
    source: str = "the export",
    market: Market | None = None,
    written: pd.DataFrame | None = None,
) -> Draft:
    """Propose a spec for `frame` (the export as read); raises DraftError when no id or label can be found.
    With `market` (the configuration's ICP and regions), a mapped country column whose won leads the served
    geography would mostly disqualify gets served_countries proposed in the spec's icp: section. `written`
    holds columns as the file writes them (text), for those read as decimals: dots between thousands
    ("1.200" read as 1.2) drop the column with a QUESTION."""
    if frame.empty:
        raise DraftError(f"{source} has no rows: nothing to draft from")
    frame = frame.reset_index(drop=True)
    draft = Draft(spec={"name": name, "description": f"Drafted from {source}; review every line."})
    label_column = label if label is not None else guess_label(frame, rules)
    if label_column not in frame.columns:
        hint = did_you_mean(label_column, [str(c) for c in frame.columns])
        raise DraftError(
            f"{source} has no column {label_column!r}{hint}; pass --label with one of its columns"
        )
    id_column = guess_id(frame, rules, exclude=label_column)
    draft.spec |= {"id_column": id_column, "label_column": label_column}
    if id_column is None:  # no record id: the rows are numbered, as the spec then says
        id_column = next(c for c in ROW_ID_NAMES if c not in set(map(str, frame.columns)))
        frame = numbered_rows(frame, id_column)
        draft.spec |= {"id_column": id_column, "id_from_row": True}
        draft.notes["id_column"] = (
            f"QUESTION: no column of {source} is filled in and unique in every row, so leadscore numbers the "
            "rows (1 = the first row under the header) and a score names its lead by that number; add the "
            "record id to the export and name it here to join scores back to the CRM"
        )
    else:
        repeats = int(round(id_repeats(frame[id_column]) * len(frame)))
        repeated = f"{repeats:,} row{'s' * (repeats != 1)} with no id or an earlier row's id"
        if repeats:
            draft.questions.append(
                f"id column {id_column!r}: {repeated}, quarantined (the first row of an id is kept): are they "
                "duplicates of one lead?"
            )
        draft.notes["id_column"] = (f"unique in all {len(frame):,} rows" if not repeats else repeated) + (
            ", id-like name"
            if is_id_name(id_column, rules)
            else ": QUESTION: its name is not id-like, is it the record id?"
        )
    draft.notes["label_column"] = (
        "given with --label"
        if label
        else "guessed from its name and values"
        if name_words(label_column) in {name_words(n) for n in rules.label_names}
        else "QUESTION: no column has an outcome's name; the last one reads as won and lost by its values: is "
        "it the outcome? (else draft again with --label COLUMN)"
    )
    outcome = add_labels(draft, frame[label_column], rules)
    still_open = open_read_as_lost(frame, outcome, rules)
    if still_open:
        column, rows = still_open
        why = (
            f"label {label_column!r} calls {rows:,} rows lost that {column!r} says are not closed: open deals "
            "would be trained on as lost"
        )
        if label is None:
            raise DraftError(
                f"{why}; pass --label with a column that tells open from lost (a Stage), or leave the open rows "
                "out of the export"
            )
        draft.questions.append(f"{why}: leave them out of the export, or label them open")

    placeholders = find_placeholders(frame.drop(columns=[id_column, label_column]), rules)
    rest_given = frame.drop(columns=[id_column, label_column]).apply(
        lambda c: without_placeholders(c, placeholders)
    )
    dates = date_columns(rest_given, rules)
    add_timestamp(draft, dates, rules)
    timestamp = draft.spec["timestamp_column"]
    draft.spec["missing_values"] = placeholders
    if placeholders:
        draft.notes["missing_values"] = "values that mean 'not given' (found in the export)"

    rest = [c for c in frame.columns if c not in (id_column, label_column, timestamp)]
    audit = _audit(frame, rest, outcome, dates, timestamp, placeholders, rules, draft)
    fit: dict[str, str] = {}
    intent: list[str] = []
    leaky: dict[str, str] = {}
    drop: dict[str, str] = {}
    written = written if written is not None else pd.DataFrame(index=frame.index)
    dotted = {str(c) for c in written.columns if dotted_thousands(written[c])}
    for column in rest:
        values = without_placeholders(frame[column], placeholders)
        role, kind, why = column_role(column, values, dates, audit.get(column), rules)
        if role in ("fit", "intent") and str(column) in dotted:
            sample = next(v for v in written[column] if isinstance(v, str) and "." in v)
            role, kind, why = "drop", "", DOTTED_WHY.format(sample=sample, read=float(sample))
        if role == "fit":
            fit[column] = kind
        elif role == "intent":
            intent.append(column)
        elif role == "leaky":
            leaky[column] = why
        else:
            drop[column] = why
        if role in ("fit", "intent"):
            draft.column_notes[column] = why
    draft.spec |= {"fit_columns": fit, "intent_columns": intent, "leaky_columns": leaky, "drop_columns": drop}
    # A column's question is asked with the others (on the console too), not only beside the column.
    for column, why in [*drop.items(), *((c, draft.column_notes[c]) for c in [*fit, *intent])]:
        if "QUESTION: " in why:
            draft.questions.append(f"column {column!r}: {why.split('QUESTION: ', 1)[1]}")
    keys = [id_column, *([timestamp] if timestamp else [])]
    draft.spec["renames"] = feature_names([*keys, *fit, *intent], keys=len(keys))
    draft.spec["labels"] = {str(c): clean_label(c) for c in [*fit, *intent]}
    unread = {c for c, why in drop.items() if why.startswith(NUMBERS_QUESTION)}
    draft.spec["icp_columns"] = icp_columns_by_name(frame, rules, exclude={label_column, *leaky, *unread})
    if not draft.spec["icp_columns"]:
        draft.questions.append(
            "no column reads as an ICP attribute (industry, employees, revenue, country, email, job title, "
            "source): the ICP guardrail is off; map columns in icp_columns to switch it on"
        )
    if market is not None and draft.spec["icp_columns"]:
        _propose_market(draft, frame, outcome, market, rules.served_country_min_won_share)
    if not fit and not intent:
        draft.questions.append("no column could be a fit or intent feature: give at least one a role")
    return draft


@dataclass(frozen=True)
class Market:
    """What the drafter needs of the configuration to check the served geography against the won leads."""

    icp: ICPConfig
    region_by_country: dict[str, str]


# The hard rules the drafter can loosen for an export, and how (the others are the data's, not the market's).
LOOSENED = ("outside_geography", "free_email", "wrong_persona")


def market_proposal(
    reasons: pd.Series, countries: pd.Series, icp: ICPConfig, min_share: float
) -> dict[str, Any]:
    """icp: settings that keep the disqualified share of the won rows at or under
    icp.max_won_disqualified_share, given each won row's disqualify_reasons (";"-joined codes) and country
    (alpha-2 or None): the rule disqualifying most of them is loosened first, until the share is under the
    limit. The geography serves the unserved countries holding `min_share` of the won rows each, a free email
    stops disqualifying, no persona is excluded. {} when nothing needs loosening."""
    codes = (
        reasons.reset_index(drop=True).fillna("").astype("str").str.split(";").map(lambda c: set(c) - {""})
    )
    countries = countries.reset_index(drop=True)
    limit = icp.max_won_disqualified_share * len(codes)
    proposal: dict[str, Any] = {}
    while int(codes.map(bool).sum()) > limit:
        counts = pd.Series([c for row in codes for c in row if c in LOOSENED], dtype="str").value_counts()
        if counts.empty:
            break
        top = str(counts.index[0])
        cleared = pd.Series(True, index=codes.index)
        if top == "outside_geography":
            unserved = countries[codes.map(lambda c: "outside_geography" in c)].dropna().value_counts()
            added = [str(code) for code, n in unserved.items() if n >= min_share * len(codes)]
            if not added:
                break  # no country holds enough of the won leads to be called the market
            proposal["served_countries"] = [*proposal.get("served_countries", icp.served_countries), *added]
            cleared = countries.isin(added)
        elif top == "free_email":
            proposal["disqualify_free_email"] = False
        else:
            proposal["excluded_personas"] = []
        codes = codes.where(~cleared, codes.map(lambda c, top=top: c - {top}))
    return proposal


def _propose_market(
    draft: Draft, frame: pd.DataFrame, outcome: pd.Series, market: Market, min_share: float
) -> None:
    """Run the guardrail the drafted spec would apply on its won rows; where it disqualifies most of them,
    propose the icp: settings of market_proposal, with a QUESTION."""
    try:
        spec = ExportSpec.model_validate(draft.spec)
        icp = export_icp(spec, market.icp.model_copy(update={"extra_rules": ()}))
    except (ValidationError, ContractError):
        return  # not a valid spec yet: its questions come first
    if icp is None:
        return
    won = frame.loc[(outcome == "won").to_numpy()].reset_index(drop=True)
    guard = flat_guardrail(won, pd.DataFrame(index=won.index), spec, icp, market.region_by_country)
    countries = pd.Series(icp_attributes(won, spec, icp, market.region_by_country)["country"], dtype=object)
    proposal = market_proposal(pd.Series(guard["disqualify_reasons"]), countries, icp, min_share)
    if not proposal:
        return
    draft.spec["icp"] = proposal
    share = f"{icp.max_won_disqualified_share:.0%}"
    draft.notes["icp"] = (
        f"the configuration's ICP would disqualify more than {share} of the {len(won):,} won leads (training "
        "stops); these settings, found from the won leads, keep them in. QUESTION: do they describe the market?"
    )
    draft.questions.append(
        f"icp settings {proposal} proposed because the configuration's ICP would disqualify more than {share} "
        "of the won leads: check the icp: section"
    )


def _audit(
    frame: pd.DataFrame,
    columns: list,
    outcome: pd.Series,
    dates: dict[str, DateColumn],
    timestamp: str | None,
    placeholders: list[str],
    rules: DraftRules,
    draft: Draft,
) -> dict[str, Any]:
    """The leak audit of every candidate column on the won and lost rows: column -> its audit row."""
    closed = outcome.isin(["won", "lost"]).to_numpy()
    y = (outcome[closed] == "won").astype("int64").reset_index(drop=True)
    if y.nunique() < 2 or min(int(y.sum()), int((1 - y).sum())) < 5:
        draft.header.append("The leak audit was not run: it needs at least 5 won and 5 lost rows.")
        return {}
    features = pd.DataFrame(
        {
            str(c): (dates[str(c)].times if str(c) in dates else without_placeholders(frame[c], placeholders))
            for c in columns
        }
    )
    features = features.loc[closed].reset_index(drop=True)
    snapshot = dates[timestamp].times[closed].reset_index(drop=True) if timestamp else None
    audit = leak_audit(features, y, snapshot_at=snapshot, auc_threshold=rules.audit_auc)
    draft.header.append(
        f"Leak audit on the {int(closed.sum()):,} won and lost rows (AUC threshold {rules.audit_auc}):"
        f" {int(audit['flagged'].sum())} columns flagged."
    )
    rows = {row["feature"]: row for row in audit.to_dict("records")}
    for row in rows.values():
        row["auc_filled"] = filled_auc(features[row["feature"]], y, row, rules)
    return rows


def filled_auc(values: pd.Series, y: pd.Series, audit: dict[str, Any], rules: DraftRules) -> float:
    """The leak audit's AUC on the rows where the column is filled in, for a column filled in far more
    often for one class (rules.fill_gap); NaN for any other column, or too few rows of a class to judge."""
    if abs(audit["share_populated_positive"] - audit["share_populated_negative"]) < rules.fill_gap:
        return np.nan
    filled = values.notna().to_numpy()
    won = int(y[filled].sum())
    if min(won, int(filled.sum()) - won) < 5:
        return np.nan
    name = str(audit["feature"])
    alone = leak_audit(pd.DataFrame({name: values[filled]}).reset_index(drop=True), y[filled])
    return float(alone["auc"].iloc[0])


def column_role(
    column: object,
    values: pd.Series,
    dates: dict[str, DateColumn],
    audit: dict[str, Any] | None,
    rules: DraftRules,
) -> tuple[str, str, str]:
    """(role, kind, reason) of one column: role fit / intent / leaky / drop, kind categorical / numeric."""
    filled = int(values.notna().sum())
    distinct = int(values.nunique(dropna=True))
    if filled == 0:
        return "drop", "", "Never filled in: no information."
    if distinct == 1:
        return (
            "drop",
            "",
            f"Constant {plain_value(values.dropna().iloc[0])!r} in every filled row: no information.",
        )
    if audit is not None and audit["flagged"]:
        return "leaky", "", f"Leak audit: {audit['explanation']}"
    if audit is not None and audit.get("auc_filled", np.nan) >= rules.follow_up_auc:
        pos, neg = audit["share_populated_positive"], audit["share_populated_negative"]
        return (
            "leaky",
            "",
            (
                f"Leak audit: filled in for {pos:.0%} of won and {neg:.0%} of lost rows, and where filled in "
                f"its values alone separate won from lost (AUC {audit['auc_filled']:.2f}, threshold "
                f"{rules.follow_up_auc}): the mark of a field sales fill in during follow-up; move it to "
                "fit_columns only if the lead gives it before any contact."
            ),
        )
    outcome_values = outcome_words(column, values, rules)
    if outcome_values:
        return (
            "leaky",
            "",
            (
                f"An outcome column beside the label: its name is one the label could have and its values say "
                f"how leads ended ({', '.join(map(repr, outcome_values))}); sales set them during follow-up."
            ),
        )
    whole = name_words(column)
    leak_word = has_word(column, rules.leaky_words) or next(
        (w for w in rules.leaky_names if name_words(w) == whole), None
    )
    if leak_word:
        return (
            "leaky",
            "",
            (
                f"Its name ({leak_word!r}) says it is written by sales or the CRM after the lead came in; "
                "move it to fit_columns only if it is known when the lead arrives."
            ),
        )
    if str(column) in dates:
        return "drop", "", "A date other than the creation date: not a feature as it is."
    if name_words(column) in {name_words(w) for w in rules.contact_words}:
        return (
            "drop",
            "",
            "A contact detail or record-keeping field: not a property that predicts conversion.",
        )
    time_word = has_word(column, rules.time_words)
    if time_word and written_in_digits(values):
        given = values.dropna()
        odd = given[~looks_like_dates(given.astype("str"))]
        sample = plain_value((odd if len(odd) else given).iloc[0])
        return (
            "drop",
            "",
            f"QUESTION: its name ({time_word!r}) says when the lead was created, but its values do not read as "
            f"dates (e.g. {sample!r}; a spreadsheet's day numbers, or text in some rows?): export it as dates "
            "(2024-12-31), then make it the timestamp_column, with its date_format unless ISO 8601",
        )
    numeric = numeric_values(values, rules)
    unread = values.notna() if numeric is None else numeric.isna() & values.notna()
    if unread.any() and written_numbers(values, rules) is not None:
        # Plain numbers with some written with separators ("850" and "1,200") are such a column too: read as
        # a category, or as numbers whose thousands are all quarantined (the largest companies never scored).
        text = values[unread].astype("str")
        sample = next(iter(text[text.str.contains(WRITTEN_SIGNS, regex=True)]), text.iloc[0])
        return (
            "drop",
            "",
            f"{NUMBERS_QUESTION} with separators or signs ({sample!r}), which a spec never reads as "
            "numbers (1,234 is 1234 or 1.234 depending on who wrote it); export them as plain numbers (1234.5), "
            "then give the column a role",
        )
    if numeric is not None and _row_number(numeric, filled, len(values)):
        return "drop", "", "A row number: whole numbers, unique and in order in every row."
    if is_id_name(column, rules) and distinct >= rules.free_text_share * filled:
        return "drop", "", "A second identifier (id-like name, a distinct value in almost every row)."
    if numeric is None and distinct >= rules.free_text_share * filled and filled >= 20:
        return "drop", "", f"Free text: {distinct:,} distinct values in {filled:,} filled rows."
    evidence = _evidence(audit, rules)
    intent_word = has_word(column, rules.intent_words)
    if numeric is not None and intent_word:
        return "intent", "numeric", f"intent: counts what the lead did ({intent_word!r}){evidence}"
    kind = "numeric" if numeric is not None else "categorical"
    what = f"{distinct:,} values" if kind == "categorical" else "a number"
    return "fit", kind, f"fit, {what}, filled in {filled / len(values):.0%}{evidence}"


def outcome_words(column: object, values: pd.Series, rules: DraftRules) -> list[str]:
    """The values of a column named as an outcome (rules.label_names: Lead Status beside Lifecycle Stage) that
    read as won or lost ("Unqualified"), at most three; [] for any other column."""
    if name_words(column) not in {name_words(n) for n in rules.label_names}:
        return []
    told = [v for v in values.dropna().unique() if label_class(v, rules) in ("won", "lost")]
    return [str(plain_value(v)) for v in told[:3]]


def _evidence(audit: dict[str, Any] | None, rules: DraftRules) -> str:
    if audit is None or pd.isna(audit["auc"]):
        return ""
    text = f"; audit AUC {audit['auc']:.2f}"
    pos, neg = audit["share_populated_positive"], audit["share_populated_negative"]
    if abs(pos - neg) >= rules.fill_gap:
        text += (
            f". QUESTION: filled in for {pos:.0%} of won and {neg:.0%} of lost rows: if sales fill it in "
            "during follow-up, move it to leaky_columns"
        )
    return text


def _row_number(numbers: pd.Series, filled: int, rows: int) -> bool:
    if filled < rows or not numbers.is_unique:
        return False
    whole = bool((numbers % 1 == 0).all())
    return whole and (numbers.is_monotonic_increasing or numbers.is_monotonic_decreasing)


def numeric_values(values: pd.Series, rules: DraftRules) -> pd.Series | None:
    """The column as numbers when (almost) all filled values are numbers, else None. Yes/No stays text."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(values, errors="coerce")
    filled = values.notna().sum()
    return numbers if filled and numbers.notna().sum() >= rules.numeric_share * filled else None


# Thousands separators, currency and percent signs: a number written for people.
WRITTEN_SIGNS = r"[,$€£¥%\s']"
NUMBERS_QUESTION = "QUESTION: numbers written"  # how a column of numbers no spec reads is dropped
DOTTED_WHY = (
    NUMBERS_QUESTION + " with dots between thousands ({sample!r} is read {read:g}), as German or Dutch "
    "spreadsheets write 1200, or with three decimals: export them as plain numbers (1200), then give the column a role"
)


def dotted_thousands(text: pd.Series) -> bool:
    """Whether a column's numbers, as written, may carry dots between thousands ("1.200", "12.500.000" is text
    anyway): some values are dotted and every dotted value is 1-3 digits (not 0) and groups of three."""
    values = text.dropna().astype("str").str.strip()
    dotted = values[values.str.contains(".", regex=False)]
    return bool(len(dotted)) and bool(dotted.str.fullmatch(r"[+-]?[1-9]\d{0,2}(\.\d{3})+").all())


def written_numbers(values: pd.Series, rules: DraftRules) -> pd.Series | None:
    """The column as numbers when (almost) all filled values are numbers once thousands separators, currency
    and percent signs are taken out ("$1,200", "12%", "1.234,5") and some hold them, else None."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    text = values.dropna().astype("str").str.strip()
    marked = text.str.contains(r"\d", regex=True) & text.str.contains(WRITTEN_SIGNS, regex=True)
    if not marked.any():
        return None
    bare = text.str.replace(r"[,.$€£¥%\s']", "", regex=True)
    numbers = pd.to_numeric(bare, errors="coerce")
    return numbers if numbers.notna().sum() >= rules.numeric_share * len(text) else None


def icp_columns_by_name(frame: pd.DataFrame, rules: DraftRules, exclude: set[str]) -> dict[str, str]:
    """ICP attribute -> the export column whose whole name is one of rules.icp_names (the first name listed
    that a column has), never a label or leaky column and never one column for two attributes; employee count
    and revenue only from a column of numbers (a range "51-200" or "$1,200" would be quarantined as no number)."""
    by_name = {name_words(c): str(c) for c in frame.columns if c not in exclude}
    mapped: dict[str, str] = {}
    for attribute, names in rules.icp_names.items():
        column = next((by_name[n] for n in map(name_words, names) if n in by_name), None)
        if column is None or column in mapped.values():
            continue
        if attribute in NUMERIC_ICP_ATTRIBUTES and numeric_values(frame[column].dropna(), rules) is None:
            continue
        mapped[attribute] = column
    return mapped


def feature_names(columns: list, keys: int = 0) -> dict[str, str]:
    """snake_case feature names for the kept columns (only where they differ), unique; after the first `keys`
    columns (the id and the time), none is a column leadscore adds itself (ADDED_COLUMNS)."""
    renames: dict[str, str] = {}
    used: set[str] = set()
    for position, column in enumerate(columns):
        base = name_words(column).replace(" ", "_") or "column"
        taken = used if position < keys else used | set(ADDED_COLUMNS)
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate)
        if candidate != column:
            renames[str(column)] = candidate
    return renames


def render_spec(draft: Draft) -> str:
    """The draft as YAML text with its comments (valid for yaml.safe_load + ExportSpec.model_validate)."""
    lines = [f"# {line}" for line in draft.header]
    if draft.questions:
        lines += [
            "#",
            "# QUESTIONS the draft could not decide (answer them, then run `leadscore spec check`):",
        ]
        lines += [f"#  - {q}" for q in draft.questions]
    lines.append("")
    spec = draft.spec
    for key in (
        "name",
        "description",
        "delimiter",
        "encoding",
        "id_column",
        "id_from_row",
        "label_column",
        "positive_labels",
        "negative_labels",
        "open_labels",
        "timestamp_column",
        "date_format",
        "missing_values",
    ):
        if key in spec:
            lines.append(_line(f"{key}: {_scalar(spec[key])}", draft.notes.get(key)))
    lines.append("")
    lines.append("fit_columns:" + ("" if spec["fit_columns"] else " {}"))
    for column, kind in spec["fit_columns"].items():
        lines.append(_line(f"  {_scalar(column)}: {kind}", draft.column_notes.get(column)))
    lines.append("intent_columns:" + ("" if spec["intent_columns"] else " []"))
    for column in spec["intent_columns"]:
        lines.append(_line(f"  - {_scalar(column)}", draft.column_notes.get(column)))
    for key in ("leaky_columns", "drop_columns", "renames"):
        lines.append(f"{key}:" + ("" if spec[key] else " {}"))
        lines += [f"  {_scalar(column)}: {_scalar(value)}" for column, value in spec[key].items()]
    lines.append("# Readable names the reasons use (lower case, question words removed): edit freely.")
    lines.append("labels:" + ("" if spec.get("labels") else " {}"))
    lines += [f"  {_scalar(column)}: {_scalar(value)}" for column, value in spec.get("labels", {}).items()]
    lines.append(
        "# The ICP guardrail (fit tiers, disqualification) reads these columns, found by their names; a rule "
        "whose column is not mapped is off. Add icp: settings (e.g. served_countries) for this export only."
    )
    lines.append("icp_columns:" + ("" if spec.get("icp_columns") else " {}"))
    lines += [
        f"  {attribute}: {_scalar(column)}" for attribute, column in spec.get("icp_columns", {}).items()
    ]
    if spec.get("icp"):
        lines.append(_line("icp:", draft.notes.get("icp")))
        lines += [f"  {key}: {_scalar(value)}" for key, value in spec["icp"].items()]
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    """A YAML flow scalar or list: JSON's double-quoted strings are valid YAML."""
    return json.dumps(value, ensure_ascii=False)


def _line(text: str, note: str | None) -> str:
    return f"{text}  # {' '.join(note.split())}" if note else text
