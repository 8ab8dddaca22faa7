"""Renders the event catalogue section of ``docs/events.md`` from the declarations."""
from __future__ import annotations

import json

from events.types import REGISTRY, payload_fields
from events.validation import to_wire

BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"
EXAMPLE_AT = 1_767_254_400_000  # 2026-01-01T16:00:00+08:00


def _kind(f) -> str:
    meta = f.metadata
    if meta["choices"]:
        return " \\| ".join(f"`{c}`" for c in meta["choices"])
    if meta["kind"] is list:
        if meta["item"] is int:
            return "list of epoch ms"
        if meta["item"] is float:
            return "list of numbers"
        return "list of identifiers" if meta.get("ident") else f"list of strings (each at most {meta['max_len']})"
    if meta["kind"] is int and f.name.endswith(("_at", "_by")):
        return "epoch ms"
    if meta.get("ident"):
        return "identifier"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}[meta["kind"]]


def render() -> str:
    out = [BEGIN]
    for type_name, cls in REGISTRY.items():
        origin = ("internal (never in the log)" if cls.INTERNAL else
                  "derived by the pipeline" if cls.DERIVED else "published by upstream apps")
        out += ["", f"### `{type_name}` — {cls.__name__} (v{cls.VERSION}, {origin})", "",
                " ".join((cls.__doc__ or "").split()), ""]
        fields = payload_fields(cls)
        if fields:
            out += ["| field | type | required | meaning |", "|---|---|---|---|"]
            out += [f"| `{f.name}` | {_kind(f)} | {'no' if f.metadata['optional'] else 'yes'} | "
                    f"{f.metadata['doc']} |" for f in fields]
        else:
            out.append("No payload fields.")
        example = cls(event_id=f"ev-{type_name}-0001", matter_id="m-2026-000123", occurred_at=EXAMPLE_AT,
                      producer="wanggejiahe-app", **cls.EXAMPLE)
        out += ["", "```json", json.dumps(to_wire(example), ensure_ascii=False), "```"]
    out.append(END)
    return "\n".join(out)


if __name__ == "__main__":
    print(render())
