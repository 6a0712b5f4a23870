"""Mainland resident ID numbers (GB 11643-1999): check digit, birth date, sex."""

from __future__ import annotations

import unicodedata
from datetime import date

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
    if birth_date_of(number) is None:
        return "error.id_birth_date"
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


def normalise(number: str) -> str:
    # NFKC: full-width digits and letters, as a Chinese input method types them,
    # are the same number as their ASCII forms (and must find the same person).
    return "".join(unicodedata.normalize("NFKC", number).split()).upper()
