"""Language and country codes (ISO 639-1 and ISO 3166-1 alpha-2), from pycountry's tables."""

from __future__ import annotations

from functools import cache

import pycountry


@cache
def language_codes() -> frozenset[str]:
    return frozenset(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


@cache
def country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def is_language(code: str) -> bool:
    return code in language_codes()


def is_country(code: str) -> bool:
    return code in country_codes()
