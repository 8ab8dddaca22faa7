"""Each figure is defined once, in projections/figures.py: the SQL of gridflow stats, the
attributes of a report, its printed labels and columns, and its CSV and JSON fields all follow
from that one definition (no ClickHouse)."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from projections import render
from projections.figures import CATALOGUE, FIGURES, Catalogue, Count, Rate
from projections.report import Figures, Report, Scope

DOC = Path(__file__).resolve().parents[2] / "docs" / "statistics.md"
URGENT = (Count("urgent", "valid AND priority = 'urgent'", "urgent matters", column="urgent"),
          Rate("urgent_rate", ("urgent",), "valid", "urgent", "紧急率", column="urg."))
WITH_URGENT = Catalogue(FIGURES + URGENT)


def report(catalogue: Catalogue) -> Report:
    total = Figures("s1", "西南街道", "street", catalogue=catalogue, matters=5, valid=4, urgent=3, resolved=2)
    child = Figures("k1", "北江社区", "community", catalogue=catalogue, matters=5, valid=4, urgent=1, resolved=2)
    return Report(Scope(unit="s1"), total, dict.fromkeys(("district", "street", "community", "grid", "compound"), 0),
                  [child], "community", "urgent_rate")


def test_a_figure_added_to_the_catalogue_is_counted_by_the_sql():
    assert "countIf(valid AND priority = 'urgent') AS n_urgent" in WITH_URGENT.aggregates()
    assert "n_urgent" not in " ".join(CATALOGUE.aggregates())


def test_a_figure_added_to_the_catalogue_is_an_attribute_of_the_figures():
    f = Figures("s1", catalogue=WITH_URGENT, valid=4, urgent=3)
    assert f.urgent == 3 and f.urgent_rate == 0.75 and f.numerator("urgent_rate") == 3
    with pytest.raises(AttributeError):
        _ = Figures("s1").urgent_rate


def test_a_figure_added_to_the_catalogue_is_printed_with_its_label_and_column():
    text = render.table(report(WITH_URGENT))
    assert re.search(r"紧急率\s+urgent\s+75\.0%\s+\(3 / 4 valid\)", text)
    assert "community units, ranked by 紧急率" in text and " urg." in text
    assert render.rank_label(WITH_URGENT, "urgent_rate") == "紧急率"


def test_a_figure_added_to_the_catalogue_is_a_field_of_the_csv_and_the_json():
    rows = list(csv.DictReader(io.StringIO(render.to_csv(report(WITH_URGENT)))))
    assert (rows[0]["urgent"], rows[0]["urgent_rate"], rows[1]["urgent_rate"]) == ("3", "0.75", "0.25")
    total = json.loads(render.to_json(report(WITH_URGENT)))["total"]
    assert total["urgent"] == 3 and total["urgent_rate"] == 0.75


def test_a_rate_of_counts_the_catalogue_does_not_have_is_refused():
    with pytest.raises(ValueError, match="no count named nope"):
        Catalogue(FIGURES + (Rate("odd_rate", ("nope",), "valid", "odd"),))
    with pytest.raises(ValueError, match="share a name"):
        Catalogue(FIGURES + (Count("valid", "1", "again"),))


def test_the_rates_follow_their_numerators_and_denominators():
    f = Figures("x", resolved=10, closed=4, closed_on_time=3, valid=8,
                resolved_by_level={"grid": 5, "compound": 1, "community": 2})
    assert f.grid_rate == 0.6 and f.community_rate == 0.8 and f.on_time_rate == 0.75 and f.closure_rate == 0.5
    assert Figures("x").closure_rate is None


def test_every_figure_is_named_in_the_statistics_doc():
    doc = DOC.read_text(encoding="utf-8")
    for figure in CATALOGUE.figures:
        if not (isinstance(figure, Count) and figure.level):
            assert f"[`{figure.name}`]" in doc or f"`{figure.name}`" in doc, figure.name


def test_a_figure_added_to_the_catalogue_is_a_column_of_the_unit_monthly_view():
    from projections.views import unit_monthly_sql

    sql = unit_monthly_sql("db", WITH_URGENT)
    assert "countIf(valid AND priority = 'urgent') AS n_urgent" in sql
    assert "if(n_valid = 0, nan, n_urgent / n_valid) AS urgent_rate" in sql
    assert "urgent_rate" not in unit_monthly_sql("db")
