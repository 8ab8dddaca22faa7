"""A statistics report as a terminal table, CSV or JSON."""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from events.levels import LEVEL_NAMES
from projections.figures import Catalogue, Count, Rate
from projections.report import QUANTILES, Figures, Report

SPECIAL = "escalation_rate"  # shown on the escalations line, with the escalations by level


def rank_label(catalogue: Catalogue, name: str) -> str:
    rate = next((r for r in catalogue.rates if r.name == name), None)
    return rate.chinese if rate is not None and rate.chinese else name


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


def table(report: Report, tz: str = "Asia/Shanghai", limit: int = 50, width: int | None = None) -> str:
    """The report for a person; with a ``width`` (the terminal's) long lines wrap at their
    separators and the drill-down keeps the columns that fit (``gridflow.output.table``)."""
    from gridflow.output import table as columns

    t = report.total
    catalogue = t.catalogue
    out = [_scope_line(report, tz), ""]
    out.append(f"{pad('matters', 24)}{t.matters}   (cancelled {t.cancelled} · open {t.open} · resolved "
               f"{t.resolved}, of which closed {t.closed})")
    shares = t.share_by_level
    out.append(pad("resolved by level", 24) + " · ".join(f"{lv} {pct(shares[lv])}" for lv in reversed(LEVEL_NAMES)))
    for rate in catalogue.rates:
        if rate.name == SPECIAL:
            out.append(f"{pad('escalations', 24)}{t.escalations}   ({t.escalated_matters} matters, "
                       f"{pct(t.escalation_rate)}; from " + " · ".join(
                           f"{lv} {n}" for lv, n in reversed(list(report.escalations_by_level.items()))) + ")")
            continue
        d = getattr(t, rate.denominator)
        out.append(f"{pad(rate.chinese, 14)}{pad(rate.label, 32)}{pad(pct(getattr(t, rate.name)), 7, right=True)}"
                   f"   ({t.numerator(rate.name)} / {d} {rate.denominator.replace('_', ' ')})")
    for label, q, n in (("time to accept", t.accept_seconds, t.accepted), ("time to resolve", t.resolve_seconds, t.resolved)):
        if q:
            out.append(f"{pad(label, 24)}p50 {duration(q['p50'])} · p80 {duration(q['p80'])} · p95 {duration(q['p95'])}"
                       f"   ({n} matters)")
        else:
            out.append(f"{pad(label, 24)}-")
    out = [*_fit(out[0], width, indent=2), *(part for line in out[1:] for part in _fit(line, width))]
    if report.child_level:
        out += ["", f"{report.child_level} units, ranked by {rank_label(catalogue, report.rank_by)}"]
        shown = [f for f in catalogue.figures if f.column]
        head = ["#", "unit", "name", *(f.column for f in shown), "accept p50", "resolve p50"]
        rows = [[str(i), f.unit or "-", f.name, *(_cell(f, figure) for figure in shown),
                 duration((f.accept_seconds or {}).get("p50")), duration((f.resolve_seconds or {}).get("p50"))]
                for i, f in enumerate(report.children[:limit], start=1)]
        right = [i for i in range(len(head)) if i not in (1, 2)]
        out.append(columns(head, rows, right=right, wrap=[2], width=width))
        if len(report.children) > limit:
            out.append(f"… {len(report.children) - limit} more (use --limit)")
    return "\n".join(out)


def _fit(line: str, line_width: int | None, indent: int = 24) -> list[str]:
    """A long line broken at its " · " separators, continued under the figures."""
    if line_width is None or width(line) <= line_width or " · " not in line:
        return [line]
    parts = line.split(" · ")
    lines = [parts[0]]
    for n, part in enumerate(parts[1:], start=2):
        if width(lines[-1]) + 3 + width(part) + (2 if n < len(parts) else 0) > line_width:
            lines[-1] += " ·"
            lines.append(" " * indent + part)
        else:
            lines[-1] += " · " + part
    return lines


def _cell(f: Figures, figure: Count | Rate) -> str:
    value = getattr(f, figure.name)
    return pct(value) if isinstance(figure, Rate) else str(value)


def flat(f: Figures) -> dict:
    row = {"unit": f.unit, "name": f.name, "level": f.level}
    row.update(f.counts)
    row.update({f"resolved_{lv}": f.resolved_by_level[lv] for lv in LEVEL_NAMES})
    row.update({r.name: getattr(f, r.name) for r in f.catalogue.rates})
    for kind, q in (("accept", f.accept_seconds), ("resolve", f.resolve_seconds)):
        for p, _ in QUANTILES:
            row[f"{kind}_seconds_{p}"] = (q or {}).get(p)
    return row


def flat_rows(report: Report) -> list[dict]:
    """The total, then the units one level down: the rows of the CSV and of the JSON Lines."""
    return [{"scope": "total", **flat(report.total)}] + [{"scope": report.child_level, **flat(c)}
                                                         for c in report.children]


def to_csv(report: Report, bom: bool = False) -> str:
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")  # for spreadsheet programs that otherwise misread UTF-8
    writer = csv.DictWriter(buf, fieldnames=["scope"] + list(flat(report.total)), lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def to_jsonl(report: Report) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in flat_rows(report))


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
