"""Counts in plain words: "1 file", "2 files", "1,287 pictures", "3 of 1,287 pictures".

One helper for every "N things" text the studio shows, so the grammar and the thousands separators are the
same everywhere ("1 files" and "of 1 files" were hand-written slips; "1287 pictures" beside "1,287 pictures"
looked like two numbers). English plurals: ``many`` names an irregular one ("class" / "classes" is regular;
"person" / "people" is not); without it the usual spelling rules below apply to the last word.
"""

from __future__ import annotations

_VOWELS = set("aeiou")


def plural_of(one: str) -> str:
    """The regular English plural of ``one`` (of its last word): file → files, class → classes, copy → copies,
    patch → patches, key → keys."""
    if one.endswith(("s", "x", "z", "ch", "sh")):
        return one + "es"
    if len(one) > 1 and one.endswith("y") and one[-2] not in _VOWELS:
        return one[:-1] + "ies"
    return one + "s"


def noun(n: float, one: str, many: str | None = None) -> str:
    """``one`` for exactly 1, else ``many`` (or the regular plural of ``one``): 0 files, 1 file, 2 files."""
    return one if n == 1 else (many or plural_of(one))


def number(n: float) -> str:
    """A count with thousands separators: 1287 → "1,287" (an integral float prints without ".0")."""
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    return f"{n:,}"


def count(n: float, one: str, many: str | None = None) -> str:
    """ "1 file", "2 files", "0 files", "1,287 pictures"."""
    return f"{number(n)} {noun(n, one, many)}"


def of(done: float, total: float, one: str, many: str | None = None) -> str:
    """ "3 of 1,287 pictures", "1 of 1 file": the noun agrees with the total, as a reader says it."""
    return f"{number(done)} of {number(total)} {noun(total, one, many)}"


def verb(n: float, singular: str, plural: str) -> str:
    """The verb form that agrees with a count: ``verb(1, "is", "are")`` → "is"."""
    return singular if n == 1 else plural
