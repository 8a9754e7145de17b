"""Where a row lives: its plant, and its workshop and line where it has them.

Each scoped model says it once, as ORM paths from the row (`place_path = PlacePath(...)` on
the class). Rights are held over places (issues.common.scope): the same paths decide whether a role's
scope covers one object and which rows of a queryset it covers. A model without a place
belongs to no plant; only a superuser has rights over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def id_at(obj: Any, path: str) -> int | None:
    """The id at the end of `path` ("line__workshop" → obj.line.workshop_id; "pk" → obj.pk),
    reading foreign keys' `_id` attributes so the last hop costs no query."""
    *hops, last = path.split("__")
    for hop in hops:
        obj = getattr(obj, hop)
        if obj is None:
            return None
    return obj.pk if last == "pk" else getattr(obj, f"{last}_id")


@dataclass(frozen=True)
class PlacePath:
    """ORM paths from a row to its plant, workshop and line ("pk" for the row itself). A model
    with a plant only is a plant-level thing (a threshold table, a policy): only a plant-wide
    role covers it. With a workshop and no line (a workshop meeting, a workshop's webhook), a
    workshop or plant role covers it; with a line, a line role of that line covers it too."""

    plant: str
    workshop: str = ""
    line: str = ""

    def by_hops(self) -> list[tuple[str, str]]:
        """(level, path) for the levels the row has, the ones read without a join first."""
        levels = [("plant", self.plant), ("workshop", self.workshop), ("line", self.line)]
        return sorted(((level, path) for level, path in levels if path), key=lambda item: item[1].count("__"))


def place_path_of(model_or_obj: object) -> PlacePath | None:
    return getattr(model_or_obj, "place_path", None)
