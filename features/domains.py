"""Domain names as people and CRMs write them, read as one name each: the ICP's competitor and free-mail
rules compare a lead's domains with the configured ones, and a domain written another way must meet them.

Pure functions over one text each; callers run them once per distinct value.
"""

from __future__ import annotations

import re

from features.text import INVISIBLE, composed

# A company domain as most CRMs hold it, and the scheme of a website written in its place.
_PLAIN_DOMAIN = re.compile(r"(?!www\.)[a-z0-9\-]+(?:\.[a-z0-9\-]+)+")
_URL_PREFIX = re.compile(r"^[a-z][a-z0-9+.\-]*://")
# Full stops of other scripts, which browsers and IDNA read as the dot between a domain's labels.
_OTHER_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# How a list of domains marks "this domain and its subdomains": "*.acme.com", ".acme.com".
_SUBDOMAINS_MARK = re.compile(r"^(?:\*\.|\.)+")


def plain_domain_text(text: str) -> str:
    """A lower-case domain or email as the DNS reads it: compatibility forms folded ("ＧＭＡＩＬ.com" and
    fullwidth dots are gmail.com), characters that show as nothing dropped. ASCII text is returned as it is."""
    if text.isascii():
        return text
    return INVISIBLE.sub("", composed(text).translate(_OTHER_DOTS)).lower()


def company_domain(text: str) -> str:
    """The domain of a stripped lower-case company domain as CRMs also hold it, a website: "https://www.acme.com/"
    and "www.acme.com:443" are acme.com (the competitor rule read them whole and never fired), and so are
    "acme.com." (the DNS root's dot), "acme.com" with a zero-width space pasted after it, "@acme.com" and an
    address at it."""
    text = plain_domain_text(text)
    if _PLAIN_DOMAIN.fullmatch(text):
        return text
    host = (
        _URL_PREFIX.sub("", text.removeprefix("mailto:")).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    )
    # An address or a list's mark in its place ("sales@acme.com", "@acme.com", "*.acme.com") names its domain.
    host = _SUBDOMAINS_MARK.sub("", host.rpartition("@")[2])
    return host.removeprefix("www.").rstrip(".")


def listed_domain(text: str) -> str:
    """A domain of the ICP's lists as its owner may write it: "RivalScore.io", "@rivalscore.io",
    "*.rivalscore.io", "www.rivalscore.io" and "https://rivalscore.io/" are rivalscore.io (each of them had
    never met a lead's domain, and "*." had stopped the run with a regular expression's error)."""
    return company_domain(text.strip().lower())
