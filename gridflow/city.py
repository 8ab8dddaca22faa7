"""A deterministic six-level city: the places the source articles name, plus generated units
to a configurable number of grids (city → district → street → community → grid → compound).

The named part is fixed (佛山市 / 三水区 / 西南街道 / 北江社区 and its 18 compounds, 子长市 /
秀延街道 / 袁家沟社区 and its 12 grids, 成都市's 新都区 and 温江区, 金昌市 / 金川区, 金华市 /
浦江县 / 仙华街道); the rest depends only on ``seed`` and ``grids``. Unit ids are ASCII slugs
(``u-beijiang``, ``u-beijiang-g02``, ``u-beijiang-c03``); names are Chinese.
"""
from __future__ import annotations

import random
import sys
from typing import Iterator

from events.levels import Level
from events.orgtree import OrgTree, OrgUnit, dump_csv

CITIES = {"foshan": "佛山市", "zichang": "子长市", "chengdu": "成都市", "jinchang": "金昌市", "jinhua": "金华市"}

# (city, slug, name): real districts and counties; generated streets are dealt to them in this
# interleaved order, so even a small city touches every named city.
DISTRICTS = [
    ("foshan", "sanshui", "三水区"), ("chengdu", "xindu", "新都区"), ("jinchang", "jinchuan", "金川区"),
    ("zichang", "zichang-cq", "子长市城区"), ("jinhua", "pujiang", "浦江县"),
    ("foshan", "chancheng", "禅城区"), ("chengdu", "wenjiang", "温江区"), ("jinchang", "yongchang", "永昌县"),
    ("jinhua", "wucheng", "婺城区"), ("foshan", "nanhai", "南海区"), ("chengdu", "jinjiang", "锦江区"),
    ("chengdu", "qingyang", "青羊区"), ("foshan", "shunde", "顺德区"), ("chengdu", "jinniu", "金牛区"),
    ("jinhua", "jindong", "金东区"), ("chengdu", "wuhou", "武侯区"), ("foshan", "gaoming", "高明区"),
    ("chengdu", "chenghua", "成华区"), ("jinhua", "yiwu", "义乌市"), ("chengdu", "longquanyi", "龙泉驿区"),
    ("chengdu", "shuangliu", "双流区"), ("jinhua", "dongyang", "东阳市"), ("chengdu", "pidu", "郫都区"),
    ("chengdu", "qingbaijiang", "青白江区"), ("jinhua", "yongkang", "永康市"), ("chengdu", "xinjin", "新津区"),
    ("chengdu", "dujiangyan", "都江堰市"), ("jinhua", "lanxi", "兰溪市"), ("chengdu", "pengzhou", "彭州市"),
    ("chengdu", "qionglai", "邛崃市"), ("jinhua", "wuyi", "武义县"), ("chengdu", "chongzhou", "崇州市"),
    ("chengdu", "jianyang", "简阳市"), ("chengdu", "dayi", "大邑县"), ("jinhua", "panan", "磐安县"),
]

# Real street and town names used before invented ones.
STREETS = {
    "sanshui": ["云东海街道", "白坭镇", "乐平镇", "芦苞镇", "大塘镇", "南山镇"],
    "xindu": ["新都街道", "三河街道", "桂湖街道", "新繁街道", "石板滩街道"],
    "jinchuan": ["滨河路街道", "桂林路街道", "北京路街道", "金川路街道", "新华路街道", "广州路街道", "双湾镇"],
    "zichang-cq": ["瓦窑堡街道", "栾家坪街道"],
    "pujiang": ["浦阳街道", "浦南街道", "岩头镇", "郑宅镇", "黄宅镇"],
    "wenjiang": ["柳城街道", "公平街道", "天府街道", "涌泉街道", "万春镇"],
}

# Named communities: (street id, community slug, name, [(grid number, [compound names])]).
BEIJIANG_COMPOUNDS = [
    "时代城小区", "颐澳湾小区", "北江明珠小区", "江景华庭小区", "御江南花园", "君悦湾小区",
    "翠林苑小区", "滨江一号小区", "荷塘月色小区", "西南明珠小区", "东湖嘉园小区", "江畔豪庭小区",
    "水韵华府小区", "怡景苑小区", "金沙湾小区", "丽水湾小区", "云东海花园", "锦绣江南小区",
]
NAMED_STREETS = [  # (district slug, street slug, name)
    ("sanshui", "xinan", "西南街道"), ("zichang-cq", "xiuyan", "秀延街道"), ("xindu", "shahe", "沙河街道"),
    ("xindu", "dafeng", "大丰街道"), ("wenjiang", "hesheng", "和盛镇"), ("jinchuan", "ningyuanbao", "宁远堡镇"),
    ("pujiang", "xianhua", "仙华街道"),
]
NAMED_COMMUNITIES = [  # (street slug, community slug, name, grids, compounds per grid or explicit names)
    ("xinan", "beijiang", "北江社区", 6, BEIJIANG_COMPOUNDS),
    ("xinan", "wenfengdong", "文锋东社区", 8, 2),
    ("xiuyan", "yuanjiagou", "袁家沟社区", 12, 2),
    ("xiuyan", "linshanhu", "林山虎社区", 8, 2),
    ("shahe", "shahe-sq", "沙河社区", 6, 2),
    ("dafeng", "gaojia", "高家社区", 7, 2),
    ("hesheng", "qilin", "綦临社区", 6, 2),
    ("ningyuanbao", "zhongpai", "中牌村", 4, 1),
    ("xianhua", "qixia", "栖霞社区", 5, 3),
]

WORDS = ("东湖 西城 南苑 北辰 龙泉 金桥 锦绣 翠竹 桂花 荷塘 柳岸 梧桐 青龙 白鹭 凤凰 紫荆 光明 和平 幸福 团结 "
         "建设 人民 新华 文化 朝阳 红星 长安 永安 安宁 康宁 春晖 秋实 盛世 富民 兴隆 宝山 玉泉 清水 石桥 河畔 "
         "江南 滨江 沙湾 平安 福田 祥和 瑞景 丰收 华阳 望江 碧水 蓝湾 金沙 银杏 松林 竹园 兰亭 芙蓉 牡丹 "
         "海棠 丁香 玉兰 双桥 三元 五里 七星 九龙 十里 百花 千禧 万福 天府 明珠 云山 雁塔 锦城 书院 学府").split()
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "华庭", "新村", "公寓", "嘉园", "雅居")


def generate(grids: int = 3000, seed: int = 1) -> OrgTree:
    """A checked six-level tree with about ``grids`` grids (never fewer than the named part's)."""
    return OrgTree(units(grids, seed))


def units(grids: int = 3000, seed: int = 1) -> Iterator[OrgUnit]:
    rng = random.Random(seed)
    for slug, name in CITIES.items():
        yield OrgUnit(f"u-{slug}", Level.CITY, None, name)
    districts: dict[str, OrgUnit] = {}

    def district(slug: str) -> Iterator[OrgUnit]:
        if slug not in districts:
            city, _, name = next(d for d in DISTRICTS if d[1] == slug)
            districts[slug] = OrgUnit(f"u-{slug}", Level.DISTRICT, f"u-{city}", name)
            yield districts[slug]

    named_grids = 0
    for district_slug, street_slug, street_name in NAMED_STREETS:
        yield from district(district_slug)
        yield OrgUnit(f"u-{street_slug}", Level.STREET, f"u-{district_slug}", street_name)
    for street_slug, slug, name, n_grids, compounds in NAMED_COMMUNITIES:
        yield OrgUnit(f"u-{slug}", Level.COMMUNITY, f"u-{street_slug}", name)
        names = compounds if isinstance(compounds, list) else None
        per_grid = len(names) // n_grids if names else compounds
        naming = random.Random(slug)  # named communities do not depend on the seed
        yield from community_body(f"u-{slug}", name, n_grids, lambda g: per_grid, naming, names)
        named_grids += n_grids

    left = grids - named_grids
    street_counts: dict[str, int] = {}
    turn = 0
    while left > 0:
        district_slug = DISTRICTS[turn % len(DISTRICTS)][1]
        turn += 1
        yield from district(district_slug)
        number = street_counts[district_slug] = street_counts.get(district_slug, 0) + 1
        street_id = f"u-{district_slug}-s{number:02d}"
        real = STREETS.get(district_slug, [])
        rural = rng.random() < 0.3
        street_name = real[number - 1] if number <= len(real) else pick(rng, set(), "镇" if rural else "街道")
        rural = street_name.endswith("镇")
        yield OrgUnit(street_id, Level.STREET, f"u-{district_slug}", street_name)
        taken: set[str] = set()
        for k in range(1, rng.randint(5, 12) + 1):
            if left <= 0:
                break
            n_grids = min(left, rng.randint(4, 14))
            left -= n_grids
            community_id = f"{street_id}c{k:02d}"
            community_name = pick(rng, taken, "村" if rural and rng.random() < 0.6 else "社区")
            yield OrgUnit(community_id, Level.COMMUNITY, street_id, community_name)
            yield from community_body(community_id, community_name, n_grids, lambda g: rng.randint(1, 4), rng, None)


def community_body(community_id: str, community_name: str, n_grids: int, per_grid, rng: random.Random,
                   names: list[str] | None) -> Iterator[OrgUnit]:
    """Grids numbered within the community, compounds numbered within the community too."""
    taken: set[str] = set()
    compound = 0
    for g in range(1, n_grids + 1):
        grid_id = f"{community_id}-g{g:02d}"
        yield OrgUnit(grid_id, Level.GRID, community_id, f"{community_name}第{g}网格")
        for _ in range(per_grid(g)):
            name = names[compound] if names else pick(rng, taken, rng.choice(COMPOUND_SUFFIXES))
            compound += 1
            yield OrgUnit(f"{community_id}-c{compound:02d}", Level.COMPOUND, grid_id, name)


def pick(rng: random.Random, taken: set[str], suffix: str) -> str:
    """A name unique within its parent: one word, then two words if one is used up."""
    for tries in range(20):
        stem = rng.choice(WORDS) if tries < 10 else rng.choice(WORDS) + rng.choice(WORDS)
        name = stem + suffix
        if name not in taken:
            taken.add(name)
            return name
    name = f"{rng.choice(WORDS)}{len(taken) + 1}{suffix}"
    taken.add(name)
    return name


def main(argv: list[str] | None = None) -> int:
    """``python -m gridflow.city [GRIDS] [SEED] [OUT.csv]``: write a generated city as CSV."""
    args = (argv if argv is not None else sys.argv[1:]) + [None] * 3
    tree = generate(int(args[0] or 3000), int(args[1] or 1))
    dump_csv(tree, args[2] or "city.csv")
    print(f"{len(tree)} units written to {args[2] or 'city.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
