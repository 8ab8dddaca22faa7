"""The six levels of the hierarchy. Lower number = higher level; escalation goes to ``level - 1``."""
from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    CITY = 1  # 市
    DISTRICT = 2  # 区 / 县
    STREET = 3  # 街道 / 镇
    COMMUNITY = 4  # 社区
    GRID = 5  # 网格
    COMPOUND = 6  # 小区 / 楼栋

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def parent(self) -> "Level | None":
        return Level(self - 1) if self > Level.CITY else None

    @classmethod
    def parse(cls, value: "str | int | Level") -> "Level":
        if isinstance(value, Level):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return cls(value)
        return cls[str(value).upper()]


_LABELS = {level: level.name.lower() for level in Level}  # asked on every arrival: computed once
LEVEL_NAMES = tuple(level.label for level in Level)
CHINESE = {
    Level.CITY: "市",
    Level.DISTRICT: "区",
    Level.STREET: "街道",
    Level.COMMUNITY: "社区",
    Level.GRID: "网格",
    Level.COMPOUND: "小区",
}
