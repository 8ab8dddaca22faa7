"""Where a request happened: an org unit of the tree, never a free-text address.

``address_id`` must be a compound or a grid of the org tree; ``jurisdiction_id``, when given,
its city. The tree has no coordinates and no street addresses, so a position (``lat``/``long``)
or an ``address_string`` alone cannot be placed: a clear 400. Sent with an ``address_id``,
they are not kept — the unit is the place, and a resident's address is personal data."""
from __future__ import annotations

import math

from events.levels import Level
from events.orgtree import OrgTree, OrgUnit
from gridflow.api.errors import ApiError, bad, not_found

PLACE_LEVELS = (Level.GRID, Level.COMPOUND)


class Places:
    def __init__(self, tree: OrgTree) -> None:
        self.tree = tree

    def city(self, jurisdiction_id: str | None) -> OrgUnit | None:
        """The city a ``jurisdiction_id`` names (404 when it names none); None when not given."""
        if not jurisdiction_id:
            return None
        if jurisdiction_id not in self.tree or self.tree.get(jurisdiction_id).level != Level.CITY:
            raise not_found(f"jurisdiction_id: no city {jurisdiction_id[:80]!r} in the org tree")
        return self.tree.get(jurisdiction_id)

    def place(self, fields: dict[str, str]) -> OrgUnit:
        """The unit a POST names, after checking every location field it sent."""
        city = self.city(fields.get("jurisdiction_id"))
        lat, long = fields.get("lat"), fields.get("long")
        if (lat is None) != (long is None):
            raise bad("lat" if lat is None else "long", "lat and long together (WGS84 degrees)")
        if lat is not None:
            _degrees("lat", lat, 90)
            _degrees("long", long, 180)
        address_id = fields.get("address_id")
        if not address_id:
            if lat is not None or fields.get("address_string"):
                given = "lat/long" if lat is not None else "address_string"
                raise ApiError(400, f"{given}: cannot be placed: the org tree has no coordinates or street "
                                    "addresses; send address_id, the id of a compound or a grid")
            raise bad("address_id", "the id of a compound or a grid of the org tree (required)")
        if address_id not in self.tree:
            raise bad("address_id", "the id of a compound or a grid of the org tree", address_id)
        unit = self.tree.get(address_id)
        if unit.level not in PLACE_LEVELS:
            raise bad("address_id", f"the id of a compound or a grid, not of a {unit.level.label}", address_id)
        if city is not None and self.tree.ancestor_at(address_id, Level.CITY).unit_id != city.unit_id:
            raise bad("address_id", f"a place in jurisdiction {city.unit_id!r}", address_id)
        return unit

    def address(self, unit_id: str) -> str | None:
        """The unit's names from the most specific to the most general, as GeoReport orders an address."""
        if unit_id not in self.tree:
            return None
        return ", ".join(u.name for u in self.tree.ancestors(unit_id))

    def agency(self, unit_id: str | None, level: str | None) -> str | None:
        if not unit_id:
            return None
        name = self.tree.get(unit_id).name if unit_id in self.tree else unit_id
        return f"{name} ({level})" if level else name


def _degrees(name: str, value: str, limit: int) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad(name, f"a number between -{limit} and {limit}", value) from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise bad(name, f"a number between -{limit} and {limit}", value)
    return number
