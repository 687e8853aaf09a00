"""The role of every other column: fit (categorical or numeric), intent (a count of what the lead did),
leaky (flagged by the leak audit, filled in during follow-up, an outcome beside the label, or a name sales
or the CRM write after the lead came in), or drop (empty, constant, another date, a contact detail, a row
number, a second id, free text, or numbers written with separators or dotted thousands that no spec reads),
each with its reason and, where it cannot be decided, a QUESTION.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.contracts import DOTTED_THOUSANDS
from features.dates import parse_timestamps
from features.draft_dates import DateColumn, epoch_unit_of_values, looks_like_dates, written_in_digits
from features.draft_ids import is_id_name
from features.draft_labels import value_classes
from features.draft_rules import (
    Draft,
    DraftRules,
    code_word,
    has_word,
    name_words,
    plain_value,
    without_drafted_placeholders,
)
from features.leak_audit import leak_audit


def audit_columns(
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
            str(c): (
                dates[str(c)].times
                if str(c) in dates
                else without_drafted_placeholders(frame[c], placeholders)
            )
            for c in columns
        }
    )
    features = features.loc[closed].reset_index(drop=True)
    snapshot = dates[timestamp].times[closed].reset_index(drop=True) if timestamp else None
    audit = leak_audit(features, y, snapshot_at=snapshot, auc_threshold=rules.audit_auc)
    flagged = int(audit["flagged"].sum())
    draft.header.append(
        f"Leak audit on the {int(closed.sum()):,} won and lost rows (AUC threshold {rules.audit_auc}):"
        f" {flagged} column{'s' * (flagged != 1)} flagged."
    )
    rows = {row["feature"]: row for row in audit.to_dict("records")}
    open_rows = (outcome == "open").to_numpy()
    for row in rows.values():
        row["auc_filled"] = filled_auc(features[row["feature"]], y, row, rules)
        if open_rows.sum() >= MIN_OPEN_ROWS:
            given = without_drafted_placeholders(frame[row["feature"]], placeholders).notna().to_numpy()
            row["share_populated_closed"] = float(given[closed].mean())
            row["share_populated_open"] = float(given[open_rows].mean())
    if snapshot is not None:
        for name, thirds in oldest_and_newest_auc(features, y, snapshot).items():
            rows[name]["auc_thirds"] = thirds
    return rows


def oldest_and_newest_auc(
    features: pd.DataFrame, y: pd.Series, times: pd.Series
) -> dict[str, tuple[float, float, int, int]]:
    """Per numeric column: its audit AUC on the oldest third of the rows by time and on the newest, with the
    smaller class's count in each (for the standard error). Nothing when a third lacks 10 of a class."""
    order = np.argsort(pd.to_datetime(times).to_numpy(), kind="stable")
    third = len(order) // 3
    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])]
    parts = [order[:third], order[len(order) - third :]]
    smaller = [min(int(y.iloc[p].sum()), int(len(p) - y.iloc[p].sum())) for p in parts]
    if not numeric or min(smaller) < 10:
        return {}
    aucs = [
        leak_audit(
            features.iloc[p][numeric].reset_index(drop=True), y.iloc[p].reset_index(drop=True)
        ).set_index("feature")["auc"]
        for p in parts
    ]
    return {c: (float(aucs[0][c]), float(aucs[1][c]), smaller[0], smaller[1]) for c in numeric}


def _auc_se(auc: float, n: int) -> float:
    """Hanley and McNeil's standard error of an AUC, with `n` rows of each class (the smaller class's count)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    return float(np.sqrt(max(auc * (1 - auc) + (n - 1) * (q1 - auc**2) + (n - 1) * (q2 - auc**2), 0.0)) / n)


def aging_leak(audit: dict[str, Any] | None, rules: DraftRules) -> str | None:
    """Why a number that tells the oldest leads' outcomes far better than the newest ones' is leaky, else
    None: a lifetime count still growing after the outcome, measured on the export day, does that."""
    thirds = (audit or {}).get("auc_thirds")
    if thirds is None:
        return None
    old, new, n_old, n_new = thirds
    drop = old - new
    spread = np.hypot(_auc_se(old, n_old), _auc_se(new, n_new))
    if old < rules.follow_up_auc or drop < rules.aging_auc_drop or drop < 3 * spread:
        return None
    return (
        f"Leak audit: alone it separates won from lost with AUC {old:.2f} among the oldest third of the leads "
        f"and {new:.2f} among the newest (aging_auc_drop {rules.aging_auc_drop}): a count that keeps growing "
        "after the outcome (a lifetime total measured on the export day) tells older leads' outcomes best; "
        "move it to intent_columns or fit_columns only if it is recorded before the outcome."
    )


# The open rows needed to compare a column's fill rate in open and closed leads.
MIN_OPEN_ROWS = 30


def worked_lead_leak(audit: dict[str, Any] | None, rules: DraftRules) -> str | None:
    """Why a column filled in for the won and lost leads far more often than for the open ones (by
    rules.fill_gap) is leaky when its values alone separate won from lost (rules.follow_up_auc), else None:
    sales fill it in while they work a lead (a Rating, a Lead Temperature), so it says how the lead went,
    and the open leads scored would read it blank, as no training row did."""
    if audit is None or "share_populated_open" not in audit or pd.isna(audit["auc"]):
        return None
    closed, still_open = audit["share_populated_closed"], audit["share_populated_open"]
    if closed - still_open < rules.fill_gap or audit["auc"] < rules.follow_up_auc:
        return None
    return (
        f"Leak audit: filled in for {closed:.0%} of the won and lost leads but {still_open:.0%} of the open ones, "
        f"and its values alone separate won from lost (AUC {audit['auc']:.2f}, threshold {rules.follow_up_auc}): "
        "the mark of a field sales fill in while working a lead, after the lead came in; the open leads scored "
        "would read it blank. Move it to fit_columns only if the lead gives it before any contact."
    )


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
    aging = aging_leak(audit, rules)
    if aging:
        return "leaky", "", aging
    worked = worked_lead_leak(audit, rules)
    if worked:
        return "leaky", "", worked
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
    age = export_age(column, rules)
    if age and numeric_values(values, rules) is not None:
        return (
            "drop",
            "",
            f"Measured on the export day ({age!r}): the export date minus the creation date, so it names when "
            "the lead came in, not the lead, and the same lead reads another value in a later export; the "
            "split reads the creation date itself.",
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
            "numbers (1,234 is 1234 or 1.234 depending on who wrote it, (120) is -120 to an accountant, 12+ "
            "is 12 or more); export them as plain numbers (1234.5), then give the column a role",
        )
    stray = stray_texts(values, numeric, rules)
    if stray and not code_word(column, rules) and not is_id_name(column, rules):
        shown = ", ".join(f"{text!r} ({n:,} rows)" for text, n in stray.items())
        return (
            "drop",
            "",
            f"{NUMBERS_QUESTION} with a few texts among them ({shown}): read as categories, every number "
            "would be a level of its own; if the text means 'not given' (a spreadsheet's formula error, "
            "'TBD'), add it to missing_values and make the column numeric, else export the column as numbers",
        )
    if numeric is not None and _row_number(numeric, filled, len(values)):
        return "drop", "", "A row number: whole numbers, unique and in order in every row."
    epoch = (
        None
        if is_id_name(column, rules)
        else epoch_unit_of_values(numeric if numeric is not None else values)
    )
    if epoch:
        first = numeric.dropna().iloc[0] if numeric is not None else np.nan
        when = parse_timestamps(pd.Series([first]), epoch)[0].iloc[0]
        unit = "seconds" if epoch == "epoch_s" else "milliseconds"
        return (
            "drop",
            "",
            f"QUESTION: every value is a whole number of {unit} since 1970 between 2000 and 2100 ({first:.0f} is "
            f"{when:%Y-%m-%d %H:%M}): times written as numbers, which a model would read as a quantity (when a "
            f"lead came, not who it is); if it is when the lead was created, make it the timestamp_column with "
            f"date_format: {epoch}, else give it a role",
        )
    if is_id_name(column, rules) and distinct >= rules.free_text_share * filled:
        return "drop", "", "A second identifier (id-like name, a distinct value in almost every row)."
    if numeric is None and distinct >= rules.free_text_share * filled and filled >= 20:
        return "drop", "", f"Free text: {distinct:,} distinct values in {filled:,} filled rows."
    evidence = _evidence(audit, rules)
    intent_word = has_word(column, rules.intent_words)
    if numeric is not None and intent_word:
        return "intent", "numeric", f"intent: counts what the lead did ({intent_word!r}){evidence}"
    code = code_word(column, rules) or (name_words(column).split()[-1] if is_id_name(column, rules) else None)
    if code and numeric is not None and bool((numeric.dropna() % 1 == 0).all()):
        return (
            "fit",
            "categorical",
            f"fit, {distinct:,} codes, filled in {filled / len(values):.0%}: whole numbers whose name "
            f"({code!r}) says they are codes of categories (2 is no more than 1), read as categories{evidence}",
        )
    kind = "numeric" if numeric is not None else "categorical"
    what = f"{distinct:,} values" if kind == "categorical" else "a number"
    return "fit", kind, f"fit, {what}, filled in {filled / len(values):.0%}{evidence}"


def export_age(column: object, rules: DraftRules) -> str | None:
    """The words saying a column counts the time since the lead came in ("lead age", "days since created"),
    else None. "Age" alone is a person's age, and "days since last activity" counts from another event."""
    age_word = has_word(column, rules.age_words)
    if age_word:
        return age_word
    since = has_word(column, rules.since_words)
    if since is None:
        return None
    after = f" {name_words(column)} ".split(f" {name_words(since)} ", 1)[1]
    created = has_word(after, rules.time_words)
    return f"{since} {created}" if created and after.strip().startswith(name_words(created)) else None


def named_after_label(column: object, label_column: object) -> str | None:
    """Why a column whose name holds the label's whole name ("ConversionRate" beside the label "Conversion")
    is leaky: its value is most likely computed from the outcome (a conversion rate counts conversions);
    None for any other column, and for a label named in fewer than 3 letters ("y" is in too many names)."""
    label = name_words(label_column)
    if len(label.replace(" ", "")) < 3 or f" {label} " not in f" {name_words(column)} ":
        return None
    return (
        f"Its name holds the label's ({str(label_column)!r}): most likely computed or written from the outcome (a "
        "rate of conversions, the date of the outcome); move it to fit_columns only if it is known when the lead "
        "arrives."
    )


def outcome_words(column: object, values: pd.Series, rules: DraftRules) -> list[str]:
    """The values of a column named as an outcome (rules.label_names: Lead Status beside Lifecycle Stage) that
    read as won or lost ("Unqualified"), at most three; [] for any other column."""
    if name_words(column) not in {name_words(n) for n in rules.label_names}:
        return []
    told = [v for v, outcome in value_classes(values, rules).items() if outcome in ("won", "lost")]
    return [str(plain_value(v)) for v in told[:3]]


def one_column_decides(aucs: dict[str, float], rules: DraftRules) -> tuple[str, str] | None:
    """(column, QUESTION) for the fit or intent column whose audit AUC alone is at least rules.lone_auc and
    rules.lone_auc_gap above every other column's (UCI shoppers' PageValues, 0.84 beside the next 0.61: a value
    a web analytics tool gives the pages before a purchase): under the leak threshold, yet what the model would
    learn. None when no column stands so far out, or fewer than two have an AUC."""
    known = sorted(((auc, c) for c, auc in aucs.items() if not pd.isna(auc)), reverse=True)
    if len(known) < 2:
        return None
    (top, column), (second, runner_up) = known[0], known[1]
    if top < rules.lone_auc or top - second < rules.lone_auc_gap:
        return None
    return column, (
        f"alone it separates won from lost with AUC {top:.2f}, far above every other column (next {runner_up!r}, "
        f"{second:.2f}): is it known before the outcome, not filled in by a tool or a person once the lead "
        "converted? If not, move it to leaky_columns"
    )


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


def stray_texts(values: pd.Series, numeric: pd.Series | None, rules: DraftRules) -> dict[str, int]:
    """The few texts (rules.stray_texts_max at most) in a column otherwise of numbers (at least
    rules.mostly_numbers_share of its filled rows, short of rules.numeric_share), each with its rows: a
    formula's error or a word for no value; {} for a column of numbers, or of text."""
    if numeric is not None or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return {}
    given = values.dropna()
    if given.empty:
        return {}
    numbers = pd.to_numeric(given, errors="coerce")
    if numbers.notna().sum() < rules.mostly_numbers_share * len(given):
        return {}
    counts = given[numbers.isna()].astype("str").str.strip().value_counts()
    return {str(t): int(n) for t, n in counts.items()} if len(counts) <= rules.stray_texts_max else {}


# Thousands separators, currency and percent signs, an accountant's brackets for a negative ("(1,200)") and an
# open-ended bucket's plus ("12+"): a number written for people.
WRITTEN_SIGNS = r"[,$€£¥%\s'()+]"  # what marks a number written for people to read
SEPARATORS_AND_SIGNS = r"[,.$€£¥%\s'()+]"  # ... and what is taken out to read it (a dot too: "1.234,5")
# A scale written after the digits ("$1.2k", "3.4M", "2bn"): thousands, millions, billions.
SCALE_SUFFIX = r"(?i)(?<=\d)\s*(?:k|m|mm|mn|b|bn)$"


NUMBERS_QUESTION = "QUESTION: numbers written"  # how a column of numbers no spec reads is dropped


DOTTED_WHY = (
    NUMBERS_QUESTION + " with dots between thousands ({sample!r} is read {read:g}), as German or Dutch "
    "spreadsheets write 1200, or with three decimals: export them as plain numbers (1200), then give the column a role"
)


def leading_zeros(text: pd.Series) -> str | None:
    """A value of a column of numbers, as written, that starts with a zero before another digit ("02134", a zip
    code; "000123", an account number): the column holds codes, not quantities. None when no value does."""
    values = text.dropna().astype("str").str.strip()
    led = values[values.str.fullmatch(r"0\d+")]
    return str(led.iloc[0]) if len(led) else None


def dotted_thousands(text: pd.Series) -> bool:
    """Whether a column's numbers, as written, may carry dots between thousands ("1.200", "12.500.000" is text
    anyway): some values are dotted and every dotted value is 1-3 digits (not 0) and groups of three."""
    values = text.dropna().astype("str").str.strip()
    dotted = values[values.str.contains(".", regex=False)]
    return bool(len(dotted)) and bool(dotted.str.fullmatch(DOTTED_THOUSANDS.pattern).all())


def written_numbers(values: pd.Series, rules: DraftRules) -> pd.Series | None:
    """The column as numbers when (almost) all filled values are numbers once thousands separators, currency
    and percent signs, brackets, a plus and a scale are taken out ("$1,200", "12%", "1.234,5", "(300)", "12+",
    "$1.2k") and some hold them, else None."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    text = values.dropna().astype("str").str.strip()
    signed = text.str.contains(WRITTEN_SIGNS, regex=True) | text.str.contains(SCALE_SUFFIX, regex=True)
    marked = text.str.contains(r"\d", regex=True) & signed
    if not marked.any():
        return None
    bare = text.str.replace(SCALE_SUFFIX, "", regex=True).str.replace(SEPARATORS_AND_SIGNS, "", regex=True)
    numbers = pd.to_numeric(bare, errors="coerce")
    return numbers if numbers.notna().sum() >= rules.numeric_share * len(text) else None
