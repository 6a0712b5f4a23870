"""The demo's points and their rooms: the 10 border and 22 county-level isolation
points of the seed article, each a hotel whose floors are laid out from a seeded
random stream, so that every run builds the same rooms."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..domain.records import Room
from .demo_data import BORDER_POINTS, COUNTY_POINTS, SHORT


@dataclass(frozen=True)
class PointSpec:
    code: str
    name: str
    district: str  # a key of DISTRICTS
    address: str
    border: bool


def point_specs() -> list[PointSpec]:
    specs = [
        PointSpec(f"BJ{n:02d}", f"边境{n}号点·{hotel}", district, address, True)
        for n, (hotel, district, address) in enumerate(BORDER_POINTS, start=1)
    ]
    seen: dict[str, int] = {}
    for hotel, district, address in COUNTY_POINTS:
        seen[district] = seen.get(district, 0) + 1
        n = seen[district]
        specs.append(
            PointSpec(
                f"{district}{n:02d}", f"{SHORT[district]}{n}号点·{hotel}", district, address, False
            )
        )
    return specs


def make_rooms(rng: random.Random, border: bool) -> list[Room]:
    """A hotel's rooms from floor 2 up (floor 1 is the lobby and the staff post)."""
    count = rng.randint(40, 80) if border else rng.randint(20, 60)
    top = rng.randint(3, 8)
    per_floor = -(-count // (top - 1))
    layout: list[tuple[int, int, int, bool]] = []
    for floor in range(2, top + 1):
        for number in range(1, per_floor + 1):
            if len(layout) == count:
                break
            # Family rooms (标间) for parents with children and couples; the rest
            # single rooms, as isolation rules wanted one person per room.
            beds = 2 if rng.random() < 0.12 else 1
            blocked = rng.random() < 0.03
            layout.append((floor, number, beds, blocked))
    return [
        Room(code=f"{floor}{number:02d}", floor=str(floor), beds=beds, blocked=blocked)
        for floor, number, beds, blocked in layout
    ]
