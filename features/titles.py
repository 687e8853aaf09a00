"""Job-title normalisation: messy free text to a seniority level and a department.

Titles are cleaned (lower case, dots dropped, punctuation to spaces), then matched against ordered
regex rules: the first rule that matches wins. Rules run once per distinct title, so a million
leads with a few thousand distinct titles cost a few thousand regex tests per rule.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from features.text import INVISIBLE, cased, without_accents

SENIORITY_UNKNOWN = "unknown"
DEPARTMENT_OTHER = "other"

# The personas that disqualify as European CRMs write them (accents folded, as _clean reads titles), in the
# singular: a title that starts or ends with one is theirs ("Praktikantin Marketing", "Assistant marketing
# stagiaire", "Estudiante de MBA"), while staff who look after them write the plural ("Responsable des
# etudiants", "Betreuer der Praktikanten"). "Auszubildende" is also the plural, which ends a staff title
# ("Betreuung Auszubildende"): only first is it the persona ("Auszubildende Kauffrau fur Buromanagement").
# Job seekers' phrases are theirs wherever they stand. A title naming a staff role (_STAFF_ROLE) is never
# one of these personas: "Azubi-Betreuer", "Responsable Logement Etudiant", "Stagiaire Manager".
_INTERN_WORDS = (
    r"praktikant|praktikantin|stagiaire|stagista|stagiair|stazysta|stazystka|becario|becaria|tirocinante"
    r"|estagiario|estagiaria|auszubildender|azubi|стажер|стажерка|практикант|практикантка"
)
_STUDENT_WORDS = (
    r"etudiant|etudiante|studentin|estudiante|studente|studentessa|studentka|estudante|doktorand|doktorandin"
    r"|студент|студентка"
)
_JOB_SEEKER_PHRASES = (
    r"arbeitssuchend|arbeitsuchend|arbeitslos|en recherche d emploi|demandeur d emploi|demandeuse d emploi"
    r"|buscando (?:empleo|trabajo)|en busca de empleo|desempleado|desempleada|werkzoekend|in cerca di lavoro"
    r"|disoccupato|disoccupata|ищу работу"
)
# The role nouns of staff in the languages above (accents folded): with one of them anywhere in a title, a
# persona word of those languages names whom the job serves, not the lead ("Azubi-Betreuer", "Responsable
# Logement Etudiant", "Stagiaire Manager", "Coordinador Becario"). German writes them as the end of a compound
# ("Ausbildungsleitung", "Personalreferentin", "Jobcoach"), so there they may end a longer word.
_FOREIGN_STAFF_ROLES = (
    r"directora|directeur|directrice|direttore|direttrice|diretor|diretora|dyrektor|coordinateur|coordinatrice"
    r"|coordinador|coordinadora|coordinatore|coordenador|coordenadora|koordynator|koordynatorka|responsable"
    r"|responsabile|responsavel|especialista|specjalista|supervisora|recruteur|recruteuse|reclutador"
    r"|reclutadora|tutora|tuteur|tutrice|charge|chargee|conseiller|conseillere|gestionnaire|chef|referente"
    r"|animateur|animatrice|gerant|gerante|gerente|jefe|jefa|encargado|encargada|asesor|asesora|capo"
    r"|begeleider|hoofd|kierownik|opiekun|opiekunka|руководитель|директор|менеджер|начальник|координатор"
    r"|наставник|куратор|специалист"
)
_ENGLISH_STAFF_ROLES = (
    r"manager|mgr|director|coordinator|head|chief|officer|specialist|supervisor|advisor|adviser|counsell?or"
    r"|recruiter|administrator|dean|tutor|mentor|lead(?! gen)"
)
_GERMAN_STAFF_ENDINGS = (
    r"leiter|leiterin|leitung|betreuer|betreuerin|betreuung|ausbilder|ausbilderin|referent|referentin"
    r"|beauftragte|beauftragter|berater|beraterin|verantwortliche|verantwortlicher|manager|managerin"
    r"|recruiter|recruiterin|koordinator|koordinatorin|direktor|direktorin|coach"
)
_STAFF_ROLE = rf"\b(?:{_ENGLISH_STAFF_ROLES}|{_FOREIGN_STAFF_ROLES})\b|(?:{_GERMAN_STAFF_ENDINGS})\b"
# What staff do for them, right after a persona word: "Azubi Recruiting" recruits apprentices, as "Student
# Recruitment" does in English (PERSONA_SERVED).
_SERVED_RIGHT_AFTER = (
    r"recruiting|recruitment|recrutement|reclutamiento|reclutamento|rekrutierung|rekrutacja|betreuung"
    r"|ausbildung|housing|admissions?|affairs|success"
)


def _unless_staff(pattern: str) -> str:
    """`pattern` in a title that names no staff role (_STAFF_ROLE)."""
    return rf"^(?!.*(?:{_STAFF_ROLE})).*?(?:{pattern})"


# Words before a persona word at the end of a title that make it what the staff look after ("relations
# etudiant", "service de l'etudiant", "accueil etudiant").
_SERVING_WORDS = (
    "de",
    "des",
    "du",
    "l",
    "der",
    "di",
    "del",
    "relations",
    "relation",
    "service",
    "services",
    "vie",
    "accueil",
    "logement",
    "emploi",
    "orientation",
    "insertion",
    "mobilite",
    "recrutement",
    "reclutamiento",
    "recruiting",
)


def _first_or_last(words: str, first_only: str = "") -> str:
    """A pattern for one of `words` as the first or the last word of a title (not after _SERVING_WORDS, nor
    before what staff do for them), or of `first_only` as the first, in a title that names no staff role."""
    not_serving = "".join(f"(?<!\\b{word} )" for word in _SERVING_WORDS)
    firsts = f"{words}|{first_only}" if first_only else words
    first = rf"^(?:{firsts})\b(?! (?:{_SERVED_RIGHT_AFTER})\b)"
    return _unless_staff(rf"{first}|\b{not_serving}(?:{words})$")


# Order matters: personas that disqualify come first ("Marketing Intern" is an intern, not marketing
# staff), "vice president" is rewritten to "vp" during cleaning so "president" can mean the top job.
SENIORITY_RULES: tuple[tuple[str, str], ...] = (
    (
        "job_seeker",
        r"looking for (?:work|a job|job|a role|new|opportunit)|job ?seeker|seeking (?:work|employment|a job"
        r"|new|opportunit)|\bunemployed\b|open to (?:work|opportunit)|between jobs|career break"
        r"|" + _unless_staff(rf"\b(?:{_JOB_SEEKER_PHRASES})\b"),
    ),
    (
        "intern",
        r"\bintern\b|\binternship\b|\bwerkstudent\b|\bwerkstudentin\b|\bapprentice\b|\btrainee\b"
        r"|" + _first_or_last(_INTERN_WORDS, first_only="auszubildende"),
    ),
    (
        "student",
        r"\bstudents?\b|\b(?:mba|phd|msc|ms|ma|bsc|ba|master s|masters|doctoral) candidate\b|\bundergrad"
        r"|\bgrad student\b|\bpostgrad|\bfreshman\b|\bsophomore\b|\bpupil\b|"
        + _first_or_last(_STUDENT_WORDS),
    ),
    (
        "c_level",
        r"\bchief\b|\bc[eotfmirp]o\b|\bcdo\b|\bcso\b|\bcco\b|\bciso\b|\bchro\b|\bfounder\b|\bcofounder\b"
        r"|^owner\b|\b(?:business|company|shop|store|agency) owner\b|\bpresident\b"
        r"|\bmanaging director\b|\bmanaging partner\b|\bchairman\b|\bchairwoman\b",
    ),
    ("vp", r"\b[aes]?vp\b|\bvice president\b"),
    ("director", r"\bdirector\b|\bdir\b|\bhead\b"),
    (
        "manager",
        r"\bmanager\b|\bmgr\b|\bmanaging\b|\b(?:team|tech|technical|project) lead\b|\blead$|^lead (?:engineer"
        r"|developer|designer|analyst|consultant)\b|\bsupervisor\b|\bforeman\b",
    ),
    (
        "individual_contributor",
        r"engineer|developer|programmer|analyst|specialist|representative|\brep\b|associate|coordinator"
        r"|consultant|designer|scientist|administrator|\badmin\b|accountant|recruiter|architect|executive"
        r"|assistant|strategist|\bsdr\b|\bbdr\b|\bae\b|marketer|technician|\bagent\b|\bclerk\b|writer"
        r"|\bstaff\b|\bsr\b|\bsenior\b|\bjr\b|\bjunior\b|\bofficer\b|\bbuyer\b|\bplanner\b|\bteacher\b"
        r"|auditor|\bowner\b",
    ),
)

# "Student" and "intern" name the person only when the title is theirs: staff who look after students or
# interns ("Student Success Manager", "Head of Student Recruitment", "Internship Coordinator", "VP, Student
# Experience") are buyers, not personas to disqualify. The persona word is then followed by the job it serves
# (a role noun, or what that job looks after), or comes after "<role> of". "Product Manager Intern" and
# "Student Assistant" stay the persona.
_PERSONA = r"\b(?:students?|interns?|internships?)\b"
_SERVING_ROLE = (
    r"(?:(?:manager|mgr|director|coordinator|officer|advisor|adviser|counsell?or|recruiter|administrator|dean"
    rf"|supervisor|head|chief|vp|president|{_FOREIGN_STAFF_ROLES})\b|\w*(?:{_GERMAN_STAFF_ENDINGS})\b)"
)
_SERVED_FIELD = (
    r"(?:success|services?|affairs|experience|recruitment|recruiting|admissions?|engagement|programs?"
    r"|programmes?|relations|life|support|housing|enroll?ments?|retention|outreach|placements?|activities"
    r"|records|loans?|aid)\b"
)
PERSONA_SERVED = (
    rf"{_PERSONA}(?: (?!(?:to|for|at|with|under|in|of)\b)[a-z0-9&]+){{0,3}} {_SERVING_ROLE}"
    rf"|{_PERSONA} {_SERVED_FIELD}"
    rf"|\b(?:head|director|dean|manager|vp|chief|coordinator|officer|president)(?: [a-z0-9&]+){{0,2}} of\b.*{_PERSONA}"
)
_PERSONA_LABELS = ("intern", "student")
# "Assistant to the CEO" assists the CEO, and "Sales Manager reporting to the CRO" manages: the rank named after
# "to" or "for" is someone else's, so the seniority is read from the words before it.
SOMEONE_ELSES_RANK = (
    r"\b(?:to|for|reporting to|reports to) (?:the |our )?(?:ceo|cfo|cto|coo|cmo|cro|cio|cso|cdo|ciso|chro|md"
    r"|president|founders?|cofounders?|chairman|chairwoman|board|managing director|[aes]?vp|chief\b.*"
    r"|owners?|directors?|partners?|executive team|leadership team)\b.*$"
)

DEPARTMENT_RULES: tuple[tuple[str, str], ...] = (
    (
        "sales",
        r"\bsales\b|\bcro\b|revenue|business development|\bbizdev\b|\bbdr\b|\bsdr\b|\bae\b"
        r"|account executive|account manager|\bpartnerships?\b|\bselling\b",
    ),
    (
        "marketing",
        r"marketing|\bcmo\b|\bgrowth\b|\bbrand|\bcontent\b|\bseo\b|\bsem\b|demand gen|lead gen|communications"
        r"|\bpr\b|social media|\bcampaign|\bmarketer\b",
    ),
    (
        "engineering",
        r"engineer|developer|software|\bcto\b|chief technology|devops|programmer|data scien|architect"
        r"|\br&d\b|machine learning|\bml\b",
    ),
    (
        "it",
        r"\bit\b|information technology|\bcio\b|chief information|sysadmin|systems? administrator|network"
        r"|help ?desk|infrastructure|\bciso\b|security|database admin",
    ),
    (
        "finance",
        r"financ|\bcfo\b|accountant|accounting|controller|treasur|\bfp&a\b|\baudit|bookkeep|\btax\b",
    ),
    ("hr", r"\bhr\b|human resources|\bpeople\b|talent|recruit|\bchro\b|\bhiring\b"),
    (
        "operations",
        r"operations|\bops\b|\bcoo\b|chief operating|supply chain|logistics|procurement|purchasing",
    ),
    (
        "executive",
        r"\bceo\b|chief executive|founder|^owner\b|\b(?:business|company|shop|store|agency) owner\b"
        r"|\bpresident\b|managing director|general manager"
        r"|managing partner|chairman|chairwoman|\bboard\b",
    ),
)


def title_labels(titles: list[str]) -> tuple[list[str], list[str]]:
    """Seniority and department of each title text (one entry per text; pass each distinct text once)."""
    cleaned = _clean_texts(titles)
    return (
        _first_match(cleaned, SENIORITY_RULES, SENIORITY_UNKNOWN),
        _first_match(cleaned, DEPARTMENT_RULES, DEPARTMENT_OTHER),
    )


def _clean_texts(titles: list[str]) -> list[str]:
    """Lower-case titles with dots dropped, other punctuation as spaces, "vice president" as "vp"."""
    return [_clean(title) for title in cased(titles, upper=False)]


# As written for pandas' str.replace, which gives Python `re` results. Letters of every script are kept (an
# accented or Cyrillic letter had split its word in two: "étudiant" read as " tudiant").
_NOT_WORD = re.compile(r"[^\w&]+|_+")
_CO_FOUNDER = re.compile(r"\bco founder\b")
_VICE_PRESIDENT = re.compile(r"\bvice president\b")


def _clean(title: str) -> str:
    # A character that shows as nothing (a soft hyphen, a zero-width space) must not split a word in two:
    # "Stu\u00addent" is a student.
    text = _NOT_WORD.sub(" ", _folded(INVISIBLE.sub("", title)).replace(".", ""))
    text = _CO_FOUNDER.sub("cofounder", text)
    return _VICE_PRESIDENT.sub("vp", text).strip()


def _folded(title: str) -> str:
    """The title without accents, in plain letters ("étudiant" is etudiant, fullwidth "ＩＮＴＥＲＮ" intern).
    A number that is no digit (a superscript, a fraction) stays apart from the word it follows, as when titles
    were read in ASCII: "Manager²" is a manager, not "manager2"."""
    if title.isascii():
        return title
    apart = "".join(" " if unicodedata.category(ch) == "No" else ch for ch in title)
    return without_accents(apart).lower()


@functools.cache
def _served() -> re.Pattern[str]:
    return re.compile(PERSONA_SERVED)


@functools.cache
def _others_rank() -> re.Pattern[str]:
    return re.compile(SOMEONE_ELSES_RANK)


@functools.cache
def _compiled(rules: tuple[tuple[str, str], ...]) -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, re.compile(pattern)) for label, pattern in rules)


def _first_match(titles: list[str], rules: tuple[tuple[str, str], ...], default: str) -> list[str]:
    """The label of the first rule matching each clean title (a student or intern persona only when the title
    does not serve them: PERSONA_SERVED)."""
    compiled = _compiled(rules)
    served = _served()
    seniority = rules is SENIORITY_RULES

    def label_of(title: str) -> str:
        if seniority:
            title = _others_rank().sub("", title).strip()
        skipped = _PERSONA_LABELS if served.search(title) else ()
        return next(
            (label for label, pattern in compiled if label not in skipped and pattern.search(title)), default
        )

    return [label_of(title) for title in titles]
