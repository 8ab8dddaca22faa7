"""The categories of the routing policy as GeoReport services.

A service is a category (``service_code`` = the category id); its ``group`` is its kind,
incident or request; it is ``realtime`` (the matter id comes back at once). Every service has
metadata: two optional attributes that become fields of the ``reported`` event, ``priority``
(which also picks the entry level) and ``channel``. The policy declares no other per-category
fields (no 三张清单 needs/resources/project fields), so there are no others; a category that
gains some would list them here."""
from __future__ import annotations

from dataclasses import dataclass

from events.levels import CHINESE, Level
from events.policy import Policy
from events.types import CHANNELS, PRIORITIES

NAMES = {  # display names of the shipped categories; another policy's categories show their id
    "safety_hazard": ("Safety hazard", "安全隐患"), "elder_fraud": ("Fraud against the elderly", "涉老诈骗"),
    "sanitation": ("Sanitation", "环境卫生"), "neighbour_dispute": ("Neighbour dispute", "邻里纠纷"),
    "facility_repair": ("Facility repair", "设施报修"), "illegal_construction": ("Illegal construction", "违章搭建"),
    "document_delivery": ("Document delivery", "证件代办"), "elderly_care": ("Elderly care visit", "助老服务"),
    "utility_repair": ("Utility repair (broadband, gas)", "水电气网报修"), "micro_wish": ("Micro-wish", "微心愿"),
}
PRIORITY_NAMES = {"low": "low", "normal": "normal", "urgent": "urgent"}
CHANNEL_NAMES = {"app": "app", "hotline": "hotline (12345)", "patrol": "grid worker on patrol",
                 "wechat": "WeChat", "mailbox": "building-head mailbox", "visit": "home visit"}
DEFAULTS = {"priority": "normal", "channel": "app"}


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str
    values: dict[str, str]  # key -> name
    order: int

    def definition(self) -> dict:
        return {"variable": True, "code": self.code, "datatype": "singlevaluelist", "required": False,
                "datatype_description": f"one of {', '.join(self.values)}; default {DEFAULTS[self.code]}",
                "order": self.order, "description": self.description,
                "values": [{"key": k, "name": v} for k, v in self.values.items()]}


class Catalogue:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __contains__(self, code: object) -> bool:
        return code in self.policy.categories

    def codes(self) -> list[str]:
        return list(self.policy.categories)

    def name(self, code: str) -> str:
        english, chinese = NAMES.get(code, (code.replace("_", " ").capitalize(), ""))
        return f"{english} {chinese}".strip()

    def attributes(self, code: str) -> list[Attribute]:
        entry = self.policy.categories[code].entry
        levels = ", ".join(f"{p}: enters at {entry[p].label}" for p in PRIORITIES)
        return [Attribute("priority", f"How urgent it is ({levels})", dict(PRIORITY_NAMES), 1),
                Attribute("channel", "How the matter reached the app", {c: CHANNEL_NAMES[c] for c in CHANNELS}, 2)]

    def service(self, code: str) -> dict:
        category = self.policy.categories[code]
        entry = category.entry[DEFAULTS["priority"]]
        english, chinese = NAMES.get(code, ("", ""))
        return {"service_code": code, "service_name": self.name(code),
                "description": f"{category.kind} · enters at {entry.label} ({CHINESE[entry]}) · "
                               f"{self.notice(code, DEFAULTS['priority'])}",
                "metadata": True, "type": "realtime",
                "keywords": ", ".join(w for w in (code, english.lower(), chinese, category.kind) if w),
                "group": category.kind}

    def definition(self, code: str) -> dict:
        return {"service_code": code, "attributes": [a.definition() for a in self.attributes(code)]}

    def notice(self, code: str, priority: str) -> str:
        """What to expect: the entry level and its deadlines, counted from the arrival there."""
        level: Level = self.policy.entry_level(code, priority)
        sla = self.policy.sla(level, code, priority)
        return (f"handled first at {level.label} level: accepted within {sla.accept.text}, "
                f"resolved within {sla.resolve.text} (wd: working days); escalated one level up when missed")
