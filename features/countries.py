"""Countries as ISO 3166 alpha-2 codes, from whatever a CRM wrote: "US", "usa", "United States", "Deutschland".

One function, `alpha2_countries`, used by the accounts contract, so training, batch and online scoring read a
country the same way. The names come from pycountry (ISO 3166 and its translations, shipped with the package,
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

# Codes in common use that ISO 3166 reserves for another name.
_ALIASES = {"UK": "GB"}
# What CRMs write for "not given": missing, like an empty cell (not a country to quarantine).
PLACEHOLDERS = frozenset(
    {"-", "--", "?", "n/a", "na", "none", "null", "unknown", "not given", "not specified"}
)


def alpha2_countries(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Alpha-2 codes (missing where the value is missing, blank or a placeholder such as "n/a" or "unknown"),
    and a mask of values that are no country."""
    text = values.astype("str").str.strip()
    present = (values.notna() & text.ne("") & ~text.str.casefold().isin(PLACEHOLDERS)).to_numpy()
    codes, distinct = pd.factorize(text.where(present))
    mapped = [alpha2(value) for value in distinct]
    found = np.array([*[code is not None for code in mapped], False])[codes]
    out = np.array([*mapped, None], dtype=object)[codes]
    result = pd.Series(out, index=values.index, dtype="str", name=values.name)
    return result, present & ~found


@functools.lru_cache(maxsize=4096)
def alpha2(value: str) -> str | None:
    """The alpha-2 code of one country name or code, or None."""
    key = value.strip().replace(".", "")
    if not key:
        return None
    if key.upper() in _ALIASES:
        return _ALIASES[key.upper()]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return _translated_names().get(key.casefold())


@functools.lru_cache(maxsize=1)
def _translated_names() -> dict[str, str]:
    """Country names in every language pycountry ships (casefolded) -> alpha-2; ambiguous names left out."""
    english = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if name:
                english[name] = country.alpha_2
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
