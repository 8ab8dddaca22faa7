"""The city generator: six levels, the places the articles name, the requested size, the same city per seed."""
from __future__ import annotations

import time
from collections import Counter

import pytest

from events import Level
from events.orgtree import dump_csv, load
from gridflow.city import generate


@pytest.fixture(scope="module")
def city():
    return generate(grids=3000, seed=7)


def test_every_level_is_present_and_every_compound_sits_under_a_grid(city):
    levels = Counter(u.level for u in city)
    assert set(levels) == set(Level)
    assert all(city.parent(u.unit_id).level == Level.GRID for u in city if u.level == Level.COMPOUND)
    assert all(city.children(u.unit_id) for u in city if u.level == Level.GRID)


def test_the_city_has_the_requested_number_of_grids_and_plausible_fan_outs(city):
    levels = Counter(u.level for u in city)
    assert levels[Level.GRID] == 3000
    assert 1.5 <= levels[Level.COMPOUND] / levels[Level.GRID] <= 3.5
    assert 4 <= levels[Level.GRID] / levels[Level.COMMUNITY] <= 14


@pytest.mark.parametrize("unit_id, name, parent", [
    ("u-foshan", "佛山市", None),
    ("u-sanshui", "三水区", "u-foshan"),
    ("u-xinan", "西南街道", "u-sanshui"),
    ("u-beijiang", "北江社区", "u-xinan"),
    ("u-beijiang-c01", "时代城小区", "u-beijiang-g01"),
    ("u-beijiang-c02", "颐澳湾小区", "u-beijiang-g01"),
    ("u-beijiang-c03", "北江明珠小区", "u-beijiang-g01"),
    ("u-zichang", "子长市", None),
    ("u-xiuyan", "秀延街道", "u-zichang-cq"),
    ("u-yuanjiagou", "袁家沟社区", "u-xiuyan"),
    ("u-chengdu", "成都市", None),
    ("u-xindu", "新都区", "u-chengdu"),
    ("u-shahe", "沙河街道", "u-xindu"),
    ("u-qilin", "綦临社区", "u-hesheng"),
    ("u-jinchang", "金昌市", None),
    ("u-jinchuan", "金川区", "u-jinchang"),
    ("u-pujiang", "浦江县", "u-jinhua"),
    ("u-xianhua", "仙华街道", "u-pujiang"),
])
def test_the_named_places_of_the_articles_are_present(city, unit_id, name, parent):
    unit = city.get(unit_id)
    assert (unit.name, unit.parent_id) == (name, parent)


def test_beijiang_has_its_18_compounds_and_yuanjiagou_its_12_grids(city):
    beijiang = [c for g in city.children("u-beijiang") for c in city.children(g.unit_id)]
    assert len(beijiang) == 18 and len({c.name for c in beijiang}) == 18
    assert len(city.children("u-yuanjiagou")) == 12


def test_the_same_seed_gives_the_same_city_and_another_seed_another(tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        dump_csv(generate(grids=500, seed=seed), tmp_path / f"{name}.csv")
    a, b, c = ((tmp_path / f"{n}.csv").read_bytes() for n in "abc")
    assert a == b and a != c


def test_the_named_part_does_not_depend_on_the_seed():
    one, two = generate(grids=100, seed=1), generate(grids=100, seed=2)
    assert [(u.unit_id, u.name) for u in one.children("u-qixia-g01")] == \
           [(u.unit_id, u.name) for u in two.children("u-qixia-g01")]


def test_ids_are_ascii_slugs_and_sibling_names_are_unique(city):
    assert all(u.unit_id.isascii() and u.unit_id.startswith("u-") and " " not in u.unit_id for u in city)
    for unit in city:
        names = [c.name for c in city.children(unit.unit_id)]
        assert len(names) == len(set(names)), unit.unit_id


def test_a_small_city_is_just_the_named_part_and_still_complete():
    small = generate(grids=1, seed=1)
    assert Counter(u.level for u in small)[Level.GRID] == 62


def test_thirty_thousand_grids_take_seconds_and_round_trip_through_csv(tmp_path):
    started = time.perf_counter()
    big = generate(grids=30_000, seed=1)
    assert time.perf_counter() - started < 5
    assert Counter(u.level for u in big)[Level.GRID] == 30_000
    dump_csv(big, tmp_path / "big.csv")
    assert len(load(tmp_path / "big.csv")) == len(big)
