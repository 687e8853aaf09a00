"""Which column is the label and what its values mean: a column with an outcome's name (rules.label_names)
whose values read best as won / lost / open, or one refining it (Salesforce's Is Won beside its Stage), or
the file's last column when its two values read as won and lost; each value's class (label_class); the
positive / negative / open lists with their counts and QUESTIONs (add_labels); and a closed flag saying the
label calls open deals lost (open_read_as_lost).
"""

from __future__ import annotations

import re

import pandas as pd

from features.draft_rules import Draft, DraftError, DraftRules, name_words, plain_value
from features.flat import label_key, label_text

WHOLE = re.compile(r"[+-]?\d+")


def label_class(value: object, rules: DraftRules) -> str | None:
    """'won', 'lost', 'open' or None for one label value, by the rules' words (lost first)."""
    text = name_words(label_text(value))
    for outcome, words in (("lost", rules.lost_words), ("won", rules.won_words), ("open", rules.open_words)):
        if text in {name_words(w) for w in words}:
            return outcome
    return None


def value_classes(values: pd.Series, rules: DraftRules) -> dict[object, str | None]:
    """Each distinct value of a label column -> 'won', 'lost', 'open' or None. Whole numbers other than a 1 / 0
    flag (a 2 among them: Dynamics 365's statecode, 0 Open, 1 Qualified, 2 Disqualified) are codes, so a 0
    there is not "false": they are sorted by rules.label_codes for the column's name, else not at all. A
    1 / 0 flag beside words ("Open") is still a flag."""
    present = list(values.dropna().unique())
    if {label_key(v) for v in present if is_code(v)} <= {"0", "1"}:
        return {v: label_class(v, rules) for v in present}
    codes = {name_words(k): v for k, v in rules.label_codes.items()}.get(name_words(values.name), {})
    return {v: codes.get(int(label_key(v))) if is_code(v) else label_class(v, rules) for v in present}


def is_code(value: object) -> bool:
    """Whether a label value is a whole number (1, "1", 1.0), never a boolean."""
    return not isinstance(value, bool) and bool(WHOLE.fullmatch(label_key(value)))


def is_code_list(present: list) -> bool:
    """Whether a label's values are all whole numbers, and not only a 1 / 0 flag: codes."""
    keys = {label_key(v) for v in present}
    return all(is_code(v) for v in present) and not keys <= {"0", "1"}


def guess_label(frame: pd.DataFrame, rules: DraftRules) -> str:
    """The label column: a name from rules.label_names whose values read best as won / lost / open; a column
    that refines it (same won rows, its lost rows told apart) is taken instead; else the file's last column
    when its two values read as won and lost (see last_column_is_outcome)."""
    keys = [name_words(n) for n in rules.label_names]
    best: tuple | None = None
    candidates = [c for c in frame.columns if name_words(c) in keys]
    for column in candidates:
        words = name_words(column)
        classes = set(value_classes(frame[column], rules).values())
        rank = ("won" in classes, "lost" in classes, len(classes - {None}), None not in classes)
        candidate = (*rank, -keys.index(words))
        if best is None or candidate > best[0]:
            best = (candidate, column)
    if best is None:
        if len(frame.columns) and last_column_is_outcome(frame[frame.columns[-1]], rules):
            return str(frame.columns[-1])
        raise DraftError(
            "no column looks like the outcome (names such as Converted, Lead Status, Lifecycle Stage); "
            "pass --label COLUMN"
        )
    finer = [c for c in candidates if c != best[1] and refines(frame[c], frame[best[1]], rules)]
    return str(finer[0] if finer else best[1])


def refines(finer: pd.Series, coarse: pd.Series, rules: DraftRules) -> bool:
    """Whether `finer` holds the same won rows as `coarse` and tells apart rows that `coarse` calls lost but
    it does not (open stages, stages it cannot sort): a Salesforce "Is Won" TRUE/FALSE beside its "Stage",
    whose FALSE holds the open deals, which must never be trained on as lost."""
    fine_class = finer.map(value_classes(finer, rules))
    coarse_class = coarse.map(value_classes(coarse, rules))
    if not (fine_class == "won").any() or not ((fine_class == "won") == (coarse_class == "won")).all():
        return False
    return bool(((coarse_class == "lost") & (fine_class != "lost") & finer.notna()).any())


def last_column_is_outcome(values: pd.Series, rules: DraftRules) -> bool:
    """Whether a file's last column reads as an outcome by its values alone: exactly two, one won and one lost
    (True / False, yes / no, 1 / 0). Public data sets put the outcome last under a name of their own
    (an online shop's "Revenue", a subscription's "Churn")."""
    present = values.dropna().unique()
    return len(present) == 2 and {label_class(v, rules) for v in present} == {"won", "lost"}


def open_read_as_lost(frame: pd.DataFrame, outcome: pd.Series, rules: DraftRules) -> tuple[str, int] | None:
    """A closed flag (a column named in rules.closed_names: Salesforce's Is Closed) that reads false on rows
    the label calls lost, and how many: (column, rows); else None."""
    for column in frame.columns:
        if name_words(column) not in {name_words(n) for n in rules.closed_names}:
            continue
        flag = frame[column].map(lambda v: label_class(v, rules))
        rows = int(((outcome == "lost") & (flag == "lost")).sum())
        if rows:
            return str(column), rows
    return None


def add_labels(draft: Draft, values: pd.Series, rules: DraftRules) -> pd.Series:
    """Fill positive / negative / open labels; return each row's outcome ('won', 'lost', 'open' or '?')."""
    counts = values.value_counts(dropna=True)
    classes = value_classes(values, rules)
    lists: dict[str, list] = {"won": [], "lost": [], "open": []}
    unsure = []
    keys_listed: set[str] = set()
    for value, n in counts.items():
        outcome = classes.get(value)
        if outcome is None:
            unsure.append((value, n))
        elif label_key(value) not in keys_listed:  # " Won" is "Won" to the spec: listed twice, no spec read
            keys_listed.add(label_key(value))
            lists[outcome].append(plain_value(value.strip() if isinstance(value, str) else value))
    if not lists["won"] and is_code_list(list(counts.index)):
        raise DraftError(
            f"label column {values.name!r} holds codes ({', '.join(map(repr, sorted(counts.index)[:6]))}) whose "
            "meaning the draft does not know (a 0 may be open, as Dynamics 365's statecode 0 is): name what each "
            "code means in label_codes of a rules file (--rules), or export the labels as text"
        )
    if not lists["won"]:
        raise DraftError(
            f"no value of label column {values.name!r} reads as won ({', '.join(map(repr, counts.index[:6]))}); "
            "pass --label with the column that says a lead converted"
        )
    draft.spec |= {
        "positive_labels": lists["won"],
        "negative_labels": lists["lost"],
        "open_labels": lists["open"],
    }
    text = values.map(label_text)
    outcome = pd.Series("?", index=values.index, dtype="str")
    for key, listed in lists.items():
        outcome[text.isin({label_text(v) for v in listed}).to_numpy()] = key
    for key, spec_key in (("won", "positive_labels"), ("lost", "negative_labels"), ("open", "open_labels")):
        draft.notes[spec_key] = f"{key}: {int((outcome == key).sum()):,} rows"
    draft.notes["open_labels"] += ", scored but never trained on"
    if not lists["lost"]:
        draft.notes["negative_labels"] += "; empty: every value that is not won or open counts as lost"
    for value, n in unsure:
        draft.questions.append(
            f"label value {plain_value(value)!r} ({n:,} rows) is won, lost or open? Add it to positive_labels, "
            "negative_labels or open_labels"
        )
    if values.isna().any():
        draft.questions.append(
            f"{int(values.isna().sum()):,} rows have no label: training refuses them; fill them in or leave them out"
        )
    return outcome


def newest_leads_unresolved(outcome: pd.Series, created: pd.Series, rules: DraftRules) -> str | None:
    """The QUESTION for a label with no open value whose newest won and lost leads (the newest
    rules.newest_share of them by creation time) are won far less often than the older ones: at most
    rules.newest_won_ratio of the older share, by 3 standard errors. A flag such as Salesforce's IsConverted
    is false for a lead still being worked as for a lost one, so training would read the open leads as lost
    and scoring would leave them unscored as closed. None otherwise."""
    labelled = (outcome.isin(["won", "lost"]) & created.notna()).to_numpy()
    order = created[labelled].sort_values(kind="stable").index
    newest = order[len(order) - int(len(order) * rules.newest_share) :]
    older = order.difference(newest)
    if len(newest) < 30 or len(older) < 30:
        return None
    won_new, won_old = (float((outcome[rows] == "won").mean()) for rows in (newest, older))
    error = (won_old * (1 - won_old) / len(older) + won_new * (1 - won_new) / len(newest)) ** 0.5
    if won_new > rules.newest_won_ratio * won_old or won_old - won_new < 3 * error:
        return None
    since = pd.Timestamp(created[newest].min())
    return (
        f"the newest {len(newest):,} leads (created since {since:%Y-%m-%d}) are won {won_new:.0%} of the time, "
        f"the older ones {won_old:.0%}: is a lead not won yet also in the lost value (a flag such as "
        "IsConverted is false for the leads still being worked)? Training would read those open leads as lost "
        "and scoring would leave them unscored as closed; draft again with --label naming a status column "
        "that tells open from lost (Lead Status), or export only leads old enough to be decided"
    )


def old_leads_still_open(
    labels: pd.Series, outcome: pd.Series, created: pd.Series, rules: DraftRules
) -> str | None:
    """The QUESTION for a label with open values that holds at least rules.stale_open_share of the leads
    created rules.stale_open_days or more before the newest one (at least 30 of them) open: a pipeline closes
    its old leads, a CRM that never closes the ones sales gave up on leaves them open at any age. Training would
    learn only from the won and lost rows (a win rate far above the leads') and scoring would rank the stale
    leads as live. None otherwise."""
    cutoff = created.max() - pd.Timedelta(days=rules.stale_open_days)
    old = (created <= cutoff).to_numpy()
    if old.sum() < 30:
        return None
    is_open = (outcome == "open").to_numpy() & old
    if is_open.sum() < rules.stale_open_share * old.sum():
        return None
    counts = labels[is_open].value_counts()
    listed = ", ".join(f"{plain_value(v)!r} {n:,}" for v, n in counts.head(4).items())
    won, lost = int((outcome == "won").sum()), int((outcome == "lost").sum())
    return (
        f"label {labels.name!r}: {int(is_open.sum()):,} of the {int(old.sum()):,} leads created "
        f"{rules.stale_open_days} days or more before the newest one (up to {pd.Timestamp(cutoff):%Y-%m-%d}) are "
        f"still open ({listed}): is a lead sales gave up on left in an open value (a CRM that never closes it "
        f"keeps it open at any age)? Training learns only from the {won:,} won and {lost:,} lost rows "
        f"({won / max(won + lost, 1):.0%} won) and scoring ranks those old leads as live; if they are lost, move "
        "their values to negative_labels, or draft again with --label naming a column that says lost (Lead "
        "Status)"
    )


def no_lost_leads(
    frame: pd.DataFrame, outcome: pd.Series, label_column: str, rules: DraftRules
) -> str | None:
    """The sentence for a label none of whose values reads as lost, every row won or open (HubSpot's Lifecycle
    Stage when the lost leads stay 'Lead' and only Lead Status says 'Unqualified'): training would have no
    lost lead to learn from and the leak audit none to compare with. It names another column of an outcome's
    name whose values read as lost. None when some row is lost or unsorted (read as lost)."""
    if outcome.isin(["lost", "?"]).any():
        return None
    names = {name_words(n) for n in rules.label_names}
    told = []
    for column in frame.columns:
        if column == label_column or name_words(column) not in names:
            continue
        classes = value_classes(frame[column], rules)
        lost = [v for v, c in classes.items() if c == "lost"]
        if lost:
            rows = int(frame[column].isin(lost).sum())
            told.append(
                f"{str(column)!r} says how leads ended ({', '.join(map(repr, lost[:3]))}: {rows:,} rows)"
            )
    return (
        f"no value of label {label_column!r} reads as lost: its {int((outcome == 'open').sum()):,} rows that are "
        "not won are open, so training would have no lost lead to learn from"
        + (f"; {told[0]}" if told else "")
        + ": export one column that holds won, lost and open (a lifecycle stage 'Other' for the leads sales "
        "disqualified), or draft again with --label naming it"
    )
