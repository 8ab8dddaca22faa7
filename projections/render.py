"""A statistics report as a terminal table, CSV or JSON."""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from events.levels import LEVEL_NAMES
from projections.stats import COUNTS, RATES, Figures, Report

FIGURE_LABELS = {  # rate -> (Chinese, English, numerator, denominator)
    "grid_rate": ("小事不出网格", "resolved at grid or below", None, "resolved"),
    "community_rate": ("大事不出社区", "resolved at community or below", None, "resolved"),
    "on_time_rate": ("按期结案率", "closed on time", "closed_on_time", "closed"),
    "closure_rate": ("结案率", "closed", "closed", "valid"),
    "rework_rate": ("返工率", "reworked", "reworked", "ever_resolved"),
    "response_rate": ("响应率", "contacted", "contacted", "with_feedback"),
    "resolution_rate": ("解决率", "solved", "solved", "contacted"),
    "satisfaction_rate": ("满意率", "satisfied", "satisfied", "contacted"),
}
RANK_LABELS = {r: FIGURE_LABELS[r][0] if r in FIGURE_LABELS else r for r in RATES + COUNTS}


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, n: int, right: bool = False) -> str:
    gap = " " * max(0, n - width(text))
    return gap + text if right else text + gap


def _scope_line(report: Report, tz: str) -> str:
    s, t = report.scope, report.total
    who = f"{t.name} ({t.level} {t.unit})" if s.unit else "all units"
    zone = ZoneInfo(tz)

    def day(ms: int | None) -> str:
        return "…" if ms is None else datetime.fromtimestamp(ms / 1000, zone).strftime("%Y-%m-%d %H:%M")

    window = "all time" if s.since is None and s.until is None else f"reported {day(s.since)} to {day(s.until)} ({tz})"
    cats = ", ".join(s.categories) if s.categories else "all categories"
    return f"{who} · {window} · {cats} · {s.kind or 'all kinds'}"


def table(report: Report, tz: str = "Asia/Shanghai", limit: int = 50) -> str:
    t = report.total
    out = [_scope_line(report, tz), ""]
    out.append(f"{pad('matters', 24)}{t.matters}   (cancelled {t.cancelled} · open {t.open} · resolved "
               f"{t.resolved}, of which closed {t.closed})")
    shares = t.share_by_level
    out.append(pad("resolved by level", 24) + " · ".join(f"{lv} {pct(shares[lv])}" for lv in reversed(LEVEL_NAMES)))
    for rate, (zh, en, num, den) in FIGURE_LABELS.items():
        if rate in ("response_rate",):
            out.append(f"{pad('escalations', 24)}{t.escalations}   ({t.escalated_matters} matters, "
                       f"{pct(t.escalation_rate)}; from " + " · ".join(
                           f"{lv} {n}" for lv, n in reversed(list(report.escalations_by_level.items()))) + ")")
        n = sum(t.resolved_by_level[lv] for lv in (("grid", "compound") if rate == "grid_rate" else
                                                    ("community", "grid", "compound"))) if num is None else getattr(t, num)
        d = getattr(t, den)
        out.append(f"{pad(zh, 14)}{pad(en, 32)}{pad(pct(getattr(t, rate)), 7, right=True)}   ({n} / {d} {den.replace('_', ' ')})")
    for label, q, n in (("time to accept", t.accept_seconds, t.accepted), ("time to resolve", t.resolve_seconds, t.resolved)):
        if q:
            out.append(f"{pad(label, 24)}p50 {duration(q['p50'])} · p80 {duration(q['p80'])} · p95 {duration(q['p95'])}"
                       f"   ({n} matters)")
        else:
            out.append(f"{pad(label, 24)}-")
    if report.child_level:
        out += ["", f"{report.child_level} units, ranked by {RANK_LABELS.get(report.rank_by, report.rank_by)}"]
        head = ["#", "unit", "name", "matters", "resolved", "≤grid", "≤comm", "on-time", "closure", "rework",
                "escal.", "resp.", "solved", "satisf.", "accept p50", "resolve p50"]
        rows = [[str(i), f.unit or "-", f.name, str(f.matters), str(f.resolved), pct(f.grid_rate),
                 pct(f.community_rate), pct(f.on_time_rate), pct(f.closure_rate), pct(f.rework_rate),
                 str(f.escalations), pct(f.response_rate), pct(f.resolution_rate), pct(f.satisfaction_rate),
                 duration((f.accept_seconds or {}).get("p50")), duration((f.resolve_seconds or {}).get("p50"))]
                for i, f in enumerate(report.children[:limit], start=1)]
        widths = [max(width(r[i]) for r in [head] + rows) for i in range(len(head))]
        for r in [head] + rows:
            out.append("  ".join(pad(c, widths[i], right=i not in (1, 2)) for i, c in enumerate(r)).rstrip())
        if len(report.children) > limit:
            out.append(f"… {len(report.children) - limit} more (use --limit)")
    return "\n".join(out)


def flat(f: Figures) -> dict:
    row = {"unit": f.unit, "name": f.name, "level": f.level}
    row.update({c: getattr(f, c) for c in COUNTS})
    row.update({f"resolved_{lv}": f.resolved_by_level[lv] for lv in LEVEL_NAMES})
    row.update({r: getattr(f, r) for r in RATES})
    for kind, q in (("accept", f.accept_seconds), ("resolve", f.resolve_seconds)):
        for p in ("p50", "p80", "p95"):
            row[f"{kind}_seconds_{p}"] = (q or {}).get(p)
    return row


def to_csv(report: Report) -> str:
    rows = [dict(flat(report.total), scope="total")] + [dict(flat(c), scope=report.child_level) for c in report.children]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["scope"] + list(flat(report.total)), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
