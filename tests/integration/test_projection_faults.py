"""Faults the projector must survive without losing or doubling anything: being killed in
the middle of its work, ClickHouse going away, and a malformed record in the event log."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from events import codec
from projection_support import (ROOT, START, Outage, assert_report_matches, env_for, free_port, generate,  # noqa: F401
                                gridflow, own, produce, read_deadletters, reference, wait_for)
from projections import metrics, orgdim
from projections.app import build_projector
from projections.migrate import migrate
from projections.sink import Backoff
from projections.stats import Scope, compute
from projections.store_chdb import ChdbStore
from projections.store_server import ServerStore

pytestmark = pytest.mark.integration

BIG = generate(seed=11, matters=1500)


def distinct_events(st) -> int:
    return st.scalar(f"SELECT uniqExact(event_id) FROM {st.table('events')}")


def each_event_once(st, events) -> None:
    """Every event id of the log in ClickHouse, and none counted twice by the statistics' view."""
    ids = {e.event_id for e in events}
    assert distinct_events(st) == len(ids)
    assert st.scalar(f"SELECT count() FROM {st.table('event_log')}") == len(ids)


def server_store(settings, database: str, port: int | None = None) -> ServerStore:
    return ServerStore(database, host=settings.clickhouse_host, port=port or settings.clickhouse_port,
                       user=settings.clickhouse_user, password=settings.clickhouse_password)


@pytest.mark.parametrize("kind", ["server", "chdb"])
def test_a_projector_killed_mid_batch_and_restarted_loses_nothing_and_doubles_nothing(kind, own, tmp_path, request):
    if kind == "server":
        settings = own.with_(store="server", clickhouse_database=request.getfixturevalue("ch_database"))
        st = server_store(settings, settings.clickhouse_database)
    else:
        settings = own.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), clickhouse_database="gridflow")
        st = ChdbStore("gridflow", path=settings.chdb_path)
    settings = settings.with_(projector_batch_size=100, projector_batch_seconds=0.2)
    migrate(st, log=lambda _: None)
    orgdim.write_units(st, BIG.units)
    if kind == "chdb":
        st.close()  # the projector subprocess owns the directory while it runs
    produce(settings, BIG.records)

    proc = subprocess.Popen([sys.executable, "-m", "gridflow.cli", "project", "--progress-seconds", "0.2",
                             "--no-metrics"], cwd=ROOT, env=env_for(settings), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    written, lines = [], []

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"(\d+) written", line)
            if match:
                written.append(int(match.group(1)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for("the projector to have written a first batch", lambda: written and written[-1] > 0, timeout=90,
                 detail=lambda: "".join(lines[-20:]))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert written[-1] < len(BIG.events), "the projector finished before it could be killed: nothing was tested"

    again = gridflow(settings, "project", "--until-idle", "--no-metrics", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    if kind == "chdb":
        st = ChdbStore("gridflow", path=settings.chdb_path)
    try:
        each_event_once(st, BIG.events)
        for scope in (Scope(), Scope(unit="c-d0-s1")):
            want = reference(BIG.events, BIG.units, unit=scope.unit)
            assert_report_matches(compute(st, scope), want)
    finally:
        st.close()


def test_a_clickhouse_outage_is_waited_out_visibly_and_loses_nothing(own, ch_database):
    log = generate(seed=12, matters=200)
    half = len(log.records) // 2
    settings = own.with_(store="server", clickhouse_database=ch_database)
    direct = server_store(settings, ch_database)
    migrate(direct, log=lambda _: None)
    orgdim.write_units(direct, log.units)
    outage = Outage(settings.clickhouse_host, settings.clickhouse_port)
    proxied = server_store(settings, ch_database, port=outage.port)
    projector = build_projector(settings, proxied, log=lambda _: None, progress_seconds=3600,
                                backoff=Backoff(initial=0.05, factor=2.0, cap=0.4))
    port = free_port()
    metrics.serve(port)
    runner = threading.Thread(target=projector.run, daemon=True)
    runner.start()
    try:
        produce(settings, log.records[:half])
        first_ids = {r for r in range_ids(log, half)}
        wait_for("the first half in ClickHouse", lambda: distinct_events(direct) == len(first_ids), timeout=90)
        errors_before = metrics.INSERT_ERRORS._value.get()
        retries_before = metrics.RETRIES._value.get()

        outage.cut()
        produce(settings, log.records[half:])
        wait_for("failed inserts retried while ClickHouse is away",
                 lambda: metrics.RETRIES._value.get() >= retries_before + 3, timeout=60)
        assert metrics.INSERT_ERRORS._value.get() > errors_before
        assert metrics.CLICKHOUSE_UP._value.get() == 0
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "gridflow_projector_clickhouse_up 0.0" in page and "gridflow_projector_retries_total" in page
        assert distinct_events(direct) == len(first_ids)  # nothing slipped past the outage

        outage.restore()
        wait_for("every event in ClickHouse after the outage",
                 lambda: distinct_events(direct) == len({e.event_id for e in log.events}), timeout=90)
        assert metrics.CLICKHOUSE_UP._value.get() == 1
    finally:
        projector.stop()
        runner.join(timeout=30)
        projector.consumer.close()
        projector.producer.close()
        outage.cut()
    each_event_once(direct, log.events)
    assert_report_matches(compute(direct, Scope(unit="c-d1")), reference(log.events, log.units, unit="c-d1"))
    direct.close()


def settings_and_store(kind: str, own, tmp_path, request):
    if kind == "server":
        settings = own.with_(store="server", clickhouse_database=request.getfixturevalue("ch_database"))
        return settings, server_store(settings, settings.clickhouse_database)
    settings = own.with_(store="chdb", chdb_path=str(tmp_path / "chdb"), clickhouse_database="gridflow")
    return settings, ChdbStore("gridflow", path=settings.chdb_path)


class Running:
    """``gridflow project`` in a child process, its output collected line by line."""

    def __init__(self, settings, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "gridflow.cli", "project", "--no-metrics", *args],
                                     cwd=ROOT, env=env_for(settings), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def written(self) -> int:
        found = [int(m.group(1)) for line in self.lines for m in [re.search(r"(\d+) written", line)] if m]
        return found[-1] if found else 0

    def tail(self) -> str:
        return "".join(self.lines[-20:])

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        return code


@pytest.mark.parametrize("kind", ["server", "chdb"])
def test_a_malformed_record_in_the_log_is_dead_lettered_and_the_projector_keeps_running(kind, own, tmp_path, request):
    settings, st = settings_and_store(kind, own, tmp_path, request)
    log = generate(seed=13, matters=60, bad=False)
    migrate(st, log=lambda _: None)
    orgdim.write_units(st, log.units)
    st.close()  # chdb: the projector process owns the directory while it runs
    # `type` sent as a list: what made the projector exit 1 on every restart
    malformed = codec.pack({"id": "x-1", "matter": "m-x", "type": ["accepted"], "v": 1, "at": START,
                            "producer": "app", "data": {"unit": "u", "handler": "h"}})
    half = len(log.records) // 2
    produce(settings, log.records[:half] + [(b"m-x", malformed)] + log.records[half:])

    running = Running(settings, "--progress-seconds", "0.2")
    try:
        letter = read_deadletters(settings, 1, timeout=90)[0]
        wait_for("every good event written", lambda: running.written() == len(log.events), timeout=90,
                 detail=running.tail)
        assert running.proc.poll() is None, "the projector exited:\n" + running.tail()
    finally:
        code = running.stop()
    assert code == 0, running.tail()
    assert (letter["stage"], letter["topic"], letter["original"]) == ("projector", settings.topics.events, malformed)
    assert letter["reason"].startswith("validation_error: type") and letter["partition"] is not None

    again = gridflow(settings, "project", "--until-idle", "--no-metrics", timeout=120)
    assert again.returncode == 0 and "stopped after 0 events" in again.stdout, again.stdout + again.stderr
    _, st = settings_and_store(kind, own, tmp_path, request)
    try:
        each_event_once(st, log.events)
        assert_report_matches(compute(st, Scope()), reference(log.events, log.units))
    finally:
        st.close()


def range_ids(log, n_records: int) -> set[str]:
    """Ids of the decodable events among the first ``n_records`` records."""
    from events import codec
    from events.errors import EventError

    ids = set()
    for _, value in log.records[:n_records]:
        try:
            event = codec.decode(value)
        except EventError:
            continue
        if event.TYPE != "watermark":
            ids.add(event.event_id)
    return ids
