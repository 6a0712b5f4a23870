"""ID numbers: how one is written, and mainland resident IDs (GB 11643-1999):
check digit, birth date, sex."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from .timeparse import EARLIEST_YEAR

MAX_ID_NUMBER = 40
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def check_digit(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def resident_id_problem(number: str) -> str | None:
    """None when ``number`` is a well-formed resident ID, else the message key."""
    if len(number) != 18:
        return "error.id_length"
    # isdigit() alone lets "²" through, which int() then rejects.
    if not number.isascii() or not number[:17].isdigit():
        return "error.id_chars"
    if not (number[17].isdigit() or number[17] == "X"):
        return "error.id_chars"
    born = birth_date_of(number)
    if born is None:
        return "error.id_birth_date"
    if born.year < EARLIEST_YEAR:  # as a typed birth date is refused
        return "error.id_birth_early"
    if check_digit(number[:17]) != number[17]:
        return "error.id_check_digit"
    return None


def birth_date_of(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def sex_of(number: str) -> str:
    """The 17th digit is odd for men, even for women."""
    return "male" if int(number[16]) % 2 else "female"


def make_resident_id(region: str, born: date, sequence: int) -> str:
    """A well-formed number (for demo data): region code, birth date, 3-digit sequence."""
    first17 = f"{region}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + check_digit(first17)


# What an ID number of any kind is written with, once normalised: passports, permits
# and foreign IDs use Latin letters and digits, some with these separators (HKID
# "A123456(7)"). Anything else is refused, never guessed at.
_ALLOWED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/().")
# Letters of other scripts that look like Latin capitals: one person, whichever was
# typed, when ID numbers are compared (entry refuses them; stored data may hold them).
_LOOK_ALIKE = str.maketrans(
    "АВЕКМНОРСТУХІЈЅԚԜҮΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "ABEKMHOPCTYXIJSQWYABEZHIKMNOPTYX",
)


def normalise(number: str) -> str:
    """The number as it is stored: NFKC (full-width digits and letters, as a Chinese
    input method types them, are their ASCII forms), upper case, without spaces and
    the invisible characters a copy and paste brings (zero-width space, soft hyphen,
    BOM, joiners: Unicode's format characters)."""
    if number.isascii() and number.isalnum():
        return number.upper()  # the usual case, and the index compares thousands
    text = unicodedata.normalize("NFKC", number)
    kept = (ch for ch in text if unicodedata.category(ch)[0] not in "ZC")
    return "".join(kept).upper()


def character(ch: str) -> dict[str, str]:
    """A character as a message names it: itself, its Unicode name and code point
    (an invisible one is still named)."""
    return {"char": ch, "name": unicodedata.name(ch, "?"), "code": f"U+{ord(ch):04X}"}


def id_number_problem(number: str) -> tuple[str, dict[str, Any]] | None:
    """The message key and its parameters when ``number`` (normalised) holds a
    character an ID number is not written with, naming the first such character."""
    for ch in number:
        if ch not in _ALLOWED:
            return "error.id_number_char", character(ch)
    return None


def comparable(number: str) -> str:
    """What two ID numbers are compared by: normalised, look-alike letters of other
    scripts as the Latin ones, digits of any script as ASCII digits."""
    text = normalise(number)
    if text.isascii():
        return text
    text = text.translate(_LOOK_ALIKE)
    return "".join(
        str(unicodedata.digit(ch)) if unicodedata.category(ch) == "Nd" else ch for ch in text
    )


def visible(number: str) -> str:
    """``number`` with every character beyond printable ASCII shown as its code point
    (a Cyrillic М, a zero-width space), so that two look-alikes read differently."""
    return "".join(
        ch if ch.isascii() and ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in number
    )
