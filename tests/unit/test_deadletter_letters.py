"""Dead letters as `gridflow deadletters` reads them, and what a re-drive may send (pure)."""
from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from events import codec
from events.types import MatterAccepted, MatterReported
from events.validation import to_wire
from gridflow.deadletters.letters import Filter, Refused, parse, parse_ref, plan
from streams import metrics
from streams.intake import REDRIVE_HEADER, redriven_code
from streams.partition import Partition, Rules
from streams.pending import Pending

AT = 1_773_622_800_000


def accepted(event_id: str = "ev-1", matter: str = "m-1") -> MatterAccepted:
    return MatterAccepted(event_id=event_id, matter_id=matter, occurred_at=AT, producer="app", unit="g1",
                          handler="h-1")


def letter(stage: str, code: str, original: bytes, *, key: bytes = b"m-1", event_id: str | None = None,
           at: int = AT, partition: int = 0, offset: int = 7):
    value = codec.encode_deadletter(reason=f"{code}: what went wrong", original=original, topic="p.matters.intake",
                                    partition=2, offset=40, stage=stage, at=at, event_id=event_id)
    return parse(partition, offset, key, value)


def test_a_dead_letter_reads_back_with_its_code_source_and_original():
    d = letter("matters", "unknown_matter", codec.encode(accepted()), event_id="ev-1")
    assert (d.ref, d.stage, d.code, d.message) == ("0:7", "matters", "unknown_matter", "what went wrong")
    assert (d.source_topic, d.source_partition, d.source_offset) == ("p.matters.intake", 2, 40)
    assert (d.matter, d.type, d.original_id) == ("m-1", "accepted", "ev-1")


def test_an_original_that_is_not_msgpack_keeps_its_key_as_the_matter():
    d = letter("intake", "undecodable", b"\xc1 junk", key=b"m-junk")
    assert (d.wire, d.matter, d.type, d.original_id) == (None, "m-junk", "", None)


def test_a_record_that_is_not_a_dead_letter_is_refused():
    from events import EventError

    with pytest.raises(EventError):
        parse(0, 0, b"k", codec.pack({"no": "original"}))


def test_refs_are_partition_and_offset():
    assert parse_ref("3:120") == (3, 120)
    for bad in ("3", "a:1", "3:-1", ""):
        with pytest.raises(ValueError, match="<partition>:<offset>"):
            parse_ref(bad)


def test_filters_combine_stage_code_matter_and_time():
    d = letter("matters", "unknown_matter", codec.encode(accepted()), at=AT)
    assert Filter().matches(d) and Filter().empty
    assert Filter(stages=("matters",), codes=("unknown_matter", "invalid"), matters=("m-1",)).matches(d)
    assert not Filter(stages=("intake",)).matches(d)
    assert not Filter(codes=("invalid",)).matches(d)
    assert not Filter(matters=("m-2",)).matches(d)
    assert Filter(since=AT, until=AT + 1).matches(d)
    assert not Filter(since=AT + 1).matches(d) and not Filter(until=AT).matches(d)


def test_a_rejected_event_is_redriven_unchanged_under_its_own_id_keyed_by_its_matter():
    original = codec.encode(accepted(matter="m-9"))
    send = plan(letter("intake", "wrong_partition", original, key=b"somewhere-else"))
    assert (send.key, send.value, send.event_id, send.how) == (b"m-9", original, "ev-1", "original")
    for code in ("unknown_matter", "unknown_place", "out_of_order", "internal"):
        assert plan(letter("matters", code, original)).value == original


@pytest.mark.parametrize("stage,code", [("intake", "undecodable"), ("intake", "invalid"), ("intake", "too_large"),
                                        ("matters", "conflict")])
def test_bytes_that_cannot_succeed_need_a_corrected_event(stage, code):
    with pytest.raises(Refused, match="--file"):
        plan(letter(stage, code, codec.encode(accepted())))


def test_a_corrected_event_needs_a_new_id_even_when_the_original_did_not_validate():
    wire = to_wire(accepted())
    wire["data"]["unit"] = "张三 13800138000"
    d = letter("intake", "invalid", codec.pack(wire))
    with pytest.raises(Refused, match="new event id"):
        plan(d, accepted())
    send = plan(d, accepted(event_id="ev-1-fixed"))
    assert (send.event_id, send.how, send.value) == ("ev-1-fixed", "corrected", codec.encode(accepted("ev-1-fixed")))


def test_derived_events_and_the_projectors_dead_letters_are_never_redriven():
    with pytest.raises(Refused, match="only the pipeline"):
        plan(letter("intake", "not_upstream", codec.encode(accepted())))
    with pytest.raises(Refused, match="gridflow rebuild"):
        plan(letter("projector", "validation_error", codec.encode(accepted())), accepted("ev-2"))


def test_the_redrive_header_gives_a_bounded_code():
    assert redriven_code([(REDRIVE_HEADER, b"unknown_matter")]) == "unknown_matter"
    assert redriven_code([(REDRIVE_HEADER, b"anything at all")]) == "other"
    assert redriven_code([("other-header", b"x")]) is None


def test_the_worker_counts_a_redriven_record_by_its_code():
    part = Partition(0, Rules(ctx=None, log_topic="t", partitions=1, clock="event"))
    record = SimpleNamespace(topic="p.matters.intake", partition=0, offset=1, key=b"m", value=b"\xc1",
                             headers=((REDRIVE_HEADER, b"invalid"),))
    out = Pending()
    part.handle(record, out)
    assert out.counts[(metrics.REDRIVEN, ("invalid",))] == 1
    plain = Pending()
    part.handle(SimpleNamespace(**{**vars(record), "headers": ()}), plain)
    assert not any(metric is metrics.REDRIVEN for metric, _ in plain.counts)


def test_a_report_dead_letter_names_its_matter_from_the_original():
    report = MatterReported(event_id="r-1", matter_id="m-7", occurred_at=AT, producer="app", kind="incident",
                            category="sanitation", priority="normal", channel="app", place="k1", reporter="r-1",
                            text="x")
    assert letter("matters", "unknown_place", codec.encode(report), key=b"").matter == "m-7"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_scan_progress_is_a_line_every_5_s_in_a_log_and_redrawn_on_a_terminal(monkeypatch):
    from gridflow.deadletters import render as command

    clock = [100.0]
    monkeypatch.setattr(command.time, "monotonic", lambda: clock[0])
    log, tty = io.StringIO(), Terminal()
    in_log, on_tty = command.Progress(log), command.Progress(tty)
    for step, read in ((0.5, 10), (1.5, 50), (1.0, 60), (5.0, 90)):
        clock[0] += step
        in_log.show(read, 100)
        on_tty.show(read, 100)
    in_log.end()
    on_tty.end()
    assert log.getvalue() == "deadletters: read 90 of 100 records (90%)\n"  # one line once 5 s passed
    assert "\n" not in tty.getvalue() and tty.getvalue().count("\r") == 4  # 3 redraws, then cleared
