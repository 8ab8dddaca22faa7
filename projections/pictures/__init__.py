"""``gridflow report``: the statistics as charts in one self-contained HTML file.

``data`` reads the numbers from ClickHouse (the figures of ``projections/figures.py`` per week
and per unit), ``charts`` turns them into plotly.js figures, ``page`` writes the HTML with the
charting script inlined. docs/statistics.md, "gridflow report", says what each chart shows.
"""
from __future__ import annotations

from pathlib import Path

from projections.pictures.data import Pictures, collect
from projections.stats import Scope
from projections.store import Store

__all__ = ["Pictures", "collect", "write"]


def write(store: Store, path: Path, scope: Scope = Scope(), *, tz: str = "Asia/Shanghai",
          rank_by: str = "grid_rate", limit: int = 20) -> Pictures:
    """Read the charts' numbers for ``scope`` and write the page to ``path``."""
    from projections.pictures.page import render

    pictures = collect(store, scope, tz=tz, rank_by=rank_by, limit=limit)
    text = render(pictures)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return pictures
