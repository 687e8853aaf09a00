"""Draft a source spec from a flat export: the id, the label with its won / lost / open values, the time
column, and a role for every other column, each with its reason; what cannot be decided stays a question.

Pure: an export frame and DraftRules (pipelines/defaults/spec_draft.yaml) in, a Draft out; `render_spec`
writes the Draft as commented YAML text. pipelines/spec.py reads the export and writes the file.

Here the draft is put together (draft_spec), with its renames, readable labels, ICP columns and a proposal for
the served market (market_proposal); the id is decided in features/draft_ids.py, the label in draft_labels.py,
the creation time in draft_dates.py, every other column's role in draft_roles.py, all by the rules and word
reading of draft_rules.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pydantic import ValidationError

from features.config import ICPConfig
from features.contracts import ContractError
from features.draft_dates import add_timestamp, date_columns
from features.draft_ids import ROW_ID_NAMES, guess_id, id_repeats, is_id_name
from features.draft_labels import (
    add_labels,
    guess_label,
    newest_leads_unresolved,
    no_lost_leads,
    old_leads_still_open,
    open_read_as_lost,
)
from features.draft_roles import (
    DOTTED_WHY,
    NUMBERS_QUESTION,
    audit_columns,
    column_role,
    dotted_thousands,
    leading_zeros,
    named_after_label,
    numeric_values,
    one_column_decides,
)
from features.draft_rules import (  # pipelines/spec.py and tests import the first three and name_words from here
    Draft,
    DraftError,
    DraftRules,
    find_placeholders,
    name_words,
    without_drafted_placeholders,
)
from features.flat import (
    ADDED_COLUMNS,
    KEY_COLUMNS,
    NUMERIC_ICP_ATTRIBUTES,
    ExportSpec,
    as_categorical,
    clean_label,
    did_you_mean,
    export_icp,
    flat_guardrail,
    icp_attributes,
    numbered_rows,
)
from features.text import level_key


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
        twice = repeated_rows(frame)
        if twice:
            draft.questions.append(twice)
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
    no_lost = no_lost_leads(frame, outcome, label_column, rules)
    if no_lost and label is None:
        raise DraftError(no_lost)
    if no_lost:
        draft.questions.append(no_lost)
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
        lambda c: without_drafted_placeholders(c, placeholders)
    )
    dates = date_columns(rest_given, rules)
    add_timestamp(draft, dates, rules, outcome)
    timestamp = draft.spec["timestamp_column"]
    if timestamp and not draft.spec["open_labels"]:
        unresolved = newest_leads_unresolved(outcome, dates[timestamp].times, rules)
        if unresolved:
            draft.questions.append(unresolved)
            draft.notes["negative_labels"] += f"; QUESTION: {unresolved.split(': ', 1)[0]}: open leads?"
    if timestamp and draft.spec["open_labels"]:
        stale = old_leads_still_open(frame[label_column], outcome, dates[timestamp].times, rules)
        if stale:
            draft.questions.append(stale)
            draft.notes["open_labels"] += "; QUESTION: many old leads are open: lost leads never closed?"
    draft.spec["missing_values"] = placeholders
    if placeholders:
        draft.notes["missing_values"] = "values that mean 'not given' (found in the export)"

    rest = [c for c in frame.columns if c not in (id_column, label_column, timestamp)]
    audit = audit_columns(frame, rest, outcome, dates, timestamp, placeholders, rules, draft)
    fit: dict[str, str] = {}
    intent: list[str] = []
    leaky: dict[str, str] = {}
    drop: dict[str, str] = {}
    written = written if written is not None else pd.DataFrame(index=frame.index)
    dotted = {str(c) for c in written.columns if dotted_thousands(written[c])}
    for column in rest:
        values = without_drafted_placeholders(frame[column], placeholders)
        role, kind, why = column_role(column, values, dates, audit.get(column), rules)
        after_label = named_after_label(column, label_column)
        if role in ("fit", "intent") and after_label:
            role, kind, why = "leaky", "", after_label
        zero_led = leading_zeros(written[column]) if str(column) in written.columns else None
        if role == "fit" and kind == "numeric" and zero_led:
            kind, why = (
                "categorical",
                (
                    f"fit, codes written with leading zeros ({zero_led!r}, a zip code or an account number): read "
                    "as categories, not quantities"
                ),
            )
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
    draft.spec["fold_levels"] = True
    categorical = [c for c, kind in fit.items() if kind == "categorical"]
    draft.notes["fold_levels"] = folded_levels_note(
        frame[categorical].apply(lambda c: without_drafted_placeholders(c, placeholders))
    )
    lone = one_column_decides({c: audit[c]["auc"] for c in [*fit, *intent] if c in audit}, rules)
    if lone:
        draft.column_notes[lone[0]] += f". QUESTION: {lone[1]}"
    # A column's question is asked with the others (on the console too), not only beside the column.
    for column, why in [*drop.items(), *((c, draft.column_notes[c]) for c in [*fit, *intent])]:
        if "QUESTION: " in why:
            draft.questions.append(f"column {column!r}: {why.split('QUESTION: ', 1)[1]}")
    keys = [id_column, *([timestamp] if timestamp else [])]
    draft.spec["renames"] = feature_names([*keys, *fit, *intent], keys=len(keys))
    draft.spec["labels"] = {str(c): clean_label(c) for c in [*fit, *intent]}
    unread = {c for c, why in drop.items() if why.startswith(NUMBERS_QUESTION)}
    draft.spec["icp_columns"] = icp_columns_by_name(frame, rules, exclude={label_column, *leaky, *unread})
    draft.questions += icp_names_not_numbers(frame, rules, draft.spec["icp_columns"], categorical)
    scaled = revenue_in_larger_units(frame, draft.spec["icp_columns"], rules)
    if scaled:
        del draft.spec["icp_columns"]["annual_revenue"]
        draft.questions.append(scaled)
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


def folded_levels_note(categorical: pd.DataFrame) -> str:
    """What fold_levels does to this export: the first level of a categorical column typed in several
    spellings, with the rows of each ("'Google' (2,868 rows) and 'google' (5 rows) in 'Lead Source'")."""
    for column in categorical.columns:
        counts = as_categorical(categorical[column]).value_counts()
        spellings: dict[str, list[str]] = {}
        for level in counts.index:
            spellings.setdefault(level_key(str(level)), []).append(str(level))
        several = next((typed for typed in spellings.values() if len(typed) > 1), None)
        if several:
            shown = " and ".join(f"{typed!r} ({int(counts[typed]):,} rows)" for typed in several[:3])
            return (
                f"a level is one however its case, accents, blanks or end punctuation are typed: {shown} in "
                f"{column!r} are one level"
            )
    return "a level is one however its case, accents, blanks or end punctuation are typed"


@dataclass(frozen=True)
class Market:
    """What the drafter needs of the configuration to check the served geography against the won leads."""

    icp: ICPConfig
    region_by_country: dict[str, str]


# The hard rules the drafter can loosen for an export, and how (the others are the data's, not the market's).
LOOSENED = ("outside_geography", "free_email", "wrong_persona")


def repeated_rows(frame: pd.DataFrame) -> str | None:
    """The sentence for rows that repeat an earlier row in every column, in an export without an id; None
    when there are none. Numbered, each stays a lead of its own: no id says whether it is one visit exported
    twice or two visits alike (the bounce sessions of a web export)."""
    again = frame.duplicated(keep="first").to_numpy()
    if not again.any():
        return None
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    first = int(again.argmax())
    earlier = int((hashes == hashes[first]).argmax())
    count = int(again.sum())
    return (
        f"{count:,} row{'s' * (count != 1)} repeat an earlier row in every column (the first: row {first + 1:,}, "
        f"as row {earlier + 1:,}): each is numbered and kept as a lead of its own, trained on and scored; if "
        "they are one record exported twice, remove them from the export (or add the record id)"
    )


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


ICP_CRITERION = {"employee_count": "employee_range", "annual_revenue": "revenue_range"}


def icp_names_not_numbers(
    frame: pd.DataFrame, rules: DraftRules, mapped: dict[str, str], categorical: list
) -> list[str]:
    """A QUESTION per categorical fit column named as the ICP's employee count or revenue (rules.icp_names)
    that holds ranges or text, not numbers (a CRM's 'Company size' '51-200'), left out of icp_columns: said,
    since the ICP's criterion on it is then off. [] when every such column is mapped or none is named so."""
    said = []
    for attribute, listed in rules.icp_names.items():
        if attribute not in NUMERIC_ICP_ATTRIBUTES or attribute in mapped:
            continue
        names = set(map(name_words, listed))
        for column in (c for c in categorical if name_words(c) in names):
            sample = str(frame[column].dropna().astype(str).value_counts().index[0])
            said.append(
                f"column {str(column)!r} is named as the ICP's {attribute} but holds ranges or text such as "
                f"{sample!r}, not numbers: it stays a categorical feature, not mapped in icp_columns, so the ICP's "
                f"{ICP_CRITERION[attribute]} criterion is off; to use it, export the number itself"
            )
            break
    return said


def revenue_in_larger_units(
    frame: pd.DataFrame, icp_columns: dict[str, str], rules: DraftRules
) -> str | None:
    """The QUESTION for a column mapped to annual_revenue whose median per employee is below
    rules.min_revenue_per_employee (written in thousands or millions, read against the ICP's USD range it
    would never meet), else None."""
    revenue, employees = icp_columns.get("annual_revenue"), icp_columns.get("employee_count")
    if revenue is None or employees is None:
        return None
    amounts, staff = (pd.to_numeric(frame[c], errors="coerce") for c in (revenue, employees))
    per_employee = (amounts / staff.where(staff > 0)).median()
    if pd.isna(per_employee) or per_employee >= rules.min_revenue_per_employee:
        return None
    return (
        f"column {revenue!r} is not mapped to annual_revenue: its median is {amounts.median():,.4g} for a median "
        f"{staff.median():,.0f} employees ({employees!r}), {per_employee:,.3g} per employee, so it is written in "
        "thousands or millions, while the ICP's revenue_range is in USD; to use it in the ICP, export it in USD "
        "and map it in icp_columns"
    )


def feature_names(columns: list, keys: int = 0) -> dict[str, str]:
    """snake_case feature names for the kept columns (only where they differ), unique; after the first `keys`
    columns (the id and the time), none is a column leadscore adds itself (ADDED_COLUMNS); the id and the time
    may be named as the keys leadscore fills from them (KEY_COLUMNS)."""
    renames: dict[str, str] = {}
    used: set[str] = set()
    for position, column in enumerate(columns):
        base = name_words(column).replace(" ", "_") or "column"
        reserved = set(ADDED_COLUMNS) - set(KEY_COLUMNS) if position < keys else set(ADDED_COLUMNS)
        taken = used | reserved
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
        "fold_levels",
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
