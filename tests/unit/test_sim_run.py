"""simulate(): the org tree first, then the planned stream in batches, progress reports, the truth file."""
from __future__ import annotations

from events import codec
from events import policy as policy_module
from gridflow.city import generate
from gridflow.sdk import Publisher
from gridflow.settings import Settings
from gridflow.simulate import GroundTruth, plan, simulate
from gridflow.simulate.report import render


class Answered:
    is_done, exception = True, None

    def succeeded(self) -> bool:
        return True

    def get(self, timeout=None):
        return "metadata"


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, int | None]] = []

    def send(self, topic, key, value, partition=None):
        self.records.append((topic, value, partition))
        return Answered()

    def partitions_for(self, topic):
        return {0, 1}

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


def test_simulate_publishes_the_org_then_the_plan_and_returns_its_truth(tmp_path):
    settings, tree = Settings(topic_prefix="sim"), generate(grids=100, seed=3)
    kafka = RecordingProducer()
    seen = []
    truth = simulate(settings, tree, days=2, seed=9, matters_per_day=40, progress=seen.append, every=50,
                     truth_path=tmp_path / "truth.jsonl",
                     publisher=Publisher(settings, producer="sim", kafka_producer=kafka, check_categories=False))
    org = [r for r in kafka.records if r[0] == "sim.org.units"]
    intake = [r for r in kafka.records if r[0] == "sim.matters.intake"]
    assert len(org) == len(tree) and kafka.records[:len(org)] == org
    events = [codec.decode(value) for _, value, _ in intake]
    watermarks = [(e, p) for e, (_, _, p) in zip(events, intake) if e.TYPE == "watermark"]
    assert len(watermarks) == 2 * truth.watermarks and {p for _, p in watermarks} == {0, 1}
    expected = [e for e in plan(tree, policy_module.load(), days=2, seed=9, matters_per_day=40)]
    assert [e for e in events if e.TYPE != "watermark"] == [e for e in expected if e.TYPE != "watermark"]
    assert seen[-1].events == truth.events and seen[-1].matters == len(truth) and len(seen) > 3
    assert [p.events for p in seen] == sorted(p.events for p in seen)
    assert GroundTruth.read(tmp_path / "truth.jsonl").summary() == truth.summary()


def test_the_summary_names_the_headline_rates():
    p = plan(generate(grids=100, seed=3), policy_module.load(), days=2, seed=9, matters_per_day=40)
    for _ in p:
        pass
    text = render(p.truth, seconds=1.5, topic="t.matters.intake")
    assert "小事不出网格" in text and "大事不出社区" in text and "-> t.matters.intake" in text
    assert f"matters     {len(p.truth):,}" in text
