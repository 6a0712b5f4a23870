"""People involved in an incident, written as supervisors write them.

``305``, ``305室`` or ``305房`` is whoever is in that room; ``3楼``, ``3层`` or ``3F``
everyone on that floor; a name, that person; ``#12`` stay 12.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import FieldError
from .records import Stay

_SEPARATORS = re.compile(r"[\s,，、;；]+")
_ROOM = re.compile(r"^(.+?)(?:室|房间|房|号)$")
_FLOOR = re.compile(r"^(.+?)(?:楼|层|[Ff])$")


def people_named(text: str, open_stays: Mapping[int, Stay], floors: Mapping[str, str]) -> list[int]:
    """The open stays ``text`` names, in the order written, each once. ``floors``:
    the floor of each room of the point. A word that names nobody here is refused."""
    found: list[int] = []
    for token in filter(None, _SEPARATORS.split(text)):
        stays = _named(token, open_stays, floors)
        if not stays:
            raise FieldError("people", "error.unknown_person", value=token)
        if len(stays) > 1 and _is_name(token, open_stays):
            raise FieldError("people", "error.same_name", value=token, count=len(stays))
        found.extend(s for s in stays if s not in found)
    return found


def _is_name(token: str, open_stays: Mapping[int, Stay]) -> bool:
    return any(stay["person"]["name"] == token for stay in open_stays.values())


def _named(token: str, open_stays: Mapping[int, Stay], floors: Mapping[str, str]) -> list[int]:
    in_room = [i for i, s in open_stays.items() if s["room"] == token]
    if in_room:
        return in_room
    by_name = [i for i, s in open_stays.items() if s["person"]["name"] == token]
    if by_name:
        return by_name
    room = _ROOM.match(token)
    if room:
        return [i for i, s in open_stays.items() if s["room"] == room.group(1)]
    floor = _FLOOR.match(token)
    if floor:
        return [i for i, s in open_stays.items() if floors.get(s["room"]) == floor.group(1)]
    number = token.removeprefix("#")
    if number.isdecimal() and int(number) in open_stays:
        return [int(number)]
    return []
