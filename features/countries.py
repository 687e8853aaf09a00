"""Countries as ISO 3166 alpha-2 codes, from whatever a CRM wrote: "US", "usa", "United States", "Deutschland".

One rule, `read_country`, for one value: the accounts contract applies it to each distinct value of a column
(`alpha2_countries`) and online scoring to each lead, so training, batch and online read a country the same
way. The names come from pycountry (ISO 3166 and its translations, shipped with the package,
no network): alpha-2, alpha-3 and numeric codes, English names (official and common), then the names in every
language pycountry translates (a name two languages give to different countries is not used). What cannot be
mapped comes back as unmapped, for the contract to quarantine.
"""

from __future__ import annotations

import functools
import gettext
import os

import numpy as np
import pandas as pd
import pycountry

from features.text import INVISIBLE, PLACEHOLDERS, composed, without_accents

# Codes and names in common use that ISO 3166 reserves for another name or does not know (the nations of the
# United Kingdom, names a country has since changed, short forms): a CRM writes them, and each quarantined its
# account as no country.
_ALIASES = {
    "UK": "GB",
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "GREAT BRITAIN": "GB",
    "BRITAIN": "GB",
    "TURKEY": "TR",
    "UAE": "AE",
    "KSA": "SA",
    "KOREA": "KR",
    "REPUBLIC OF KOREA": "KR",
    "IVORY COAST": "CI",
    "DR CONGO": "CD",
    "DRC": "CD",
    "CAPE VERDE": "CV",
    "EAST TIMOR": "TL",
    "MACEDONIA": "MK",
    "BOSNIA": "BA",
    "PALESTINE": "PS",
    "TRINIDAD": "TT",
}

# The sales region of every inhabited ISO 3166 country: the UN M49 geoscheme's continents, Latin America and the
# Caribbean as latin_america, Western Asia and Africa as middle_east_africa, the rest of Asia and Oceania as
# asia_pacific; Cyprus (an EU member) is in europe and Iran in middle_east_africa, as sales territories place
# them. A country in none of them (Antarctica and the uninhabited islands) is in the region "other".
REGION_COUNTRIES: dict[str, str] = {
    "north_america": "US CA BM GL PM",
    "latin_america": (
        "MX GT BZ SV HN NI CR PA CU DO HT JM PR BS BB TT AG DM GD KN LC VC AI AW BQ CW SX MF BL GP MQ KY TC VG VI "
        "MS CO VE EC PE BO CL AR UY PY BR GY SR GF FK"
    ),
    "europe": (
        "GB IE FR DE NL BE LU CH AT LI MC AD SM VA IT MT ES PT GI SE NO DK FI IS FO AX SJ EE LV LT PL CZ SK HU "
        "SI HR BA RS ME MK AL GR BG RO MD UA BY RU CY IM JE GG"
    ),
    "asia_pacific": (
        "CN HK MO TW JP KR KP MN IN PK BD LK NP BT MV AF KZ UZ KG TJ TM ID MY SG TH VN PH MM KH LA BN TL AU NZ PG "
        "FJ SB VU NC PF WS TO TV KI NR PW MH FM CK NU TK WF PN NF CX CC GU AS MP UM"
    ),
    "middle_east_africa": (
        "AE SA QA KW BH OM YE IQ IR IL PS JO LB SY TR GE AM AZ EG LY TN DZ MA EH SD SS ET ER DJ SO KE UG TZ RW "
        "BI CD CG CF CM TD NE NG BJ TG GH CI LR SL GN GW SN GM ML BF MR CV ST GQ GA AO ZM ZW MW MZ MG MU SC KM YT "
        "RE BW NA ZA LS SZ SH IO"
    ),
}


# Apostrophes a word processor or a phone's keyboard writes for the straight one in "Côte d'Ivoire".
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})


def region_by_country() -> dict[str, str]:
    """Alpha-2 code -> sales region, for every country REGION_COUNTRIES places."""
    return {code: region for region, codes in REGION_COUNTRIES.items() for code in codes.split()}


def alpha2_countries(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Alpha-2 codes (missing where the value is missing, blank or a placeholder such as "n/a" or "unknown"),
    and a mask of values that are no country. Each distinct value is read once (read_country)."""
    codes, distinct = pd.factorize(values.astype("str").where(values.notna()))
    read = [read_country(value) for value in distinct] + [(None, True)]  # code -1 (missing) reads the last
    out = np.array([code for code, _ in read], dtype=object)[codes]
    is_country = np.array([ok for _, ok in read])[codes]
    return pd.Series(out, index=values.index, dtype="str", name=values.name), ~is_country


def read_country(text: str) -> tuple[str | None, bool]:
    """One value: (its alpha-2 code, True); (None, True) when blank or a placeholder such as "n/a" (not given);
    (None, False) when it is no country."""
    key = text.strip()
    if not key or key.casefold() in PLACEHOLDERS:
        return None, True
    code = alpha2(key)
    return code, code is not None


@functools.lru_cache(maxsize=4096)
def alpha2(value: str) -> str | None:
    """The alpha-2 code of one country name or code, or None: as written, else written plainly (fullwidth
    letters, a typographic apostrophe or a zero-width space: "Côte d’Ivoire", "ＵＳ"), else without accents
    ("Cote d'Ivoire", "Turkiye", "Espana", "Curacao": a keyboard without them); each had quarantined its
    account as no country."""
    code = _alpha2_as_written(value)
    if code is None and not value.isascii():
        code = _alpha2_as_written(_plain(value))
    return code if code is not None else _names_without_accents().get(_without_accents(value))


def _plain(text: str) -> str:
    """The text in its plain form: compatibility characters folded, apostrophes straight, nothing invisible."""
    return INVISIBLE.sub("", composed(text)).translate(_APOSTROPHES)


def _without_accents(text: str) -> str:
    """A name's key without case, accents, dots or extra spaces: "Côte d’Ivoire" and "cote d'ivoire" are one."""
    return " ".join(without_accents(_plain(text).replace(".", "")).casefold().split())


@functools.lru_cache(maxsize=1)
def _names_without_accents() -> dict[str, str]:
    """Every name alpha2 knows (English, translated, aliases), keyed without accents; a key two countries
    share is left out."""
    named = [*_english_names().items(), *_translated_names().items(), *_ALIASES.items()]
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for name, code in named:
        key = _without_accents(name)
        if found.setdefault(key, code) != code:
            ambiguous.add(key)
    return {key: code for key, code in found.items() if key not in ambiguous}


def _alpha2_as_written(value: str) -> str | None:
    key = " ".join(value.replace(".", "").split())
    if not key:
        return None
    if key.upper().startswith("THE "):  # "The Netherlands", "The Bahamas"
        key = key[4:]
    if key.upper().startswith("ST "):  # "St Lucia", "St. Kitts and Nevis"
        key = "Saint " + key[3:]
    if key.upper() in _ALIASES:
        return _ALIASES[key.upper()]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return _translated_names().get(key.casefold())


@functools.lru_cache(maxsize=1)
def _english_names() -> dict[str, str]:
    """pycountry's English names (name, official and common) -> alpha-2."""
    english = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                english[name] = country.alpha_2
    return english


@functools.lru_cache(maxsize=1)
def _translated_names() -> dict[str, str]:
    """Country names in every language pycountry ships (casefolded) -> alpha-2; ambiguous names left out."""
    english = _english_names()
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for language in sorted(os.listdir(pycountry.LOCALES_DIR)):
        try:
            translation = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        except OSError:
            continue
        for name, code in english.items():
            key = translation.gettext(name).casefold()
            if found.setdefault(key, code) != code:
                ambiguous.add(key)
    return {name: code for name, code in found.items() if name not in ambiguous}
