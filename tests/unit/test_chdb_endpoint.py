"""The pieces of the chdb query endpoint that need no chdb: the owner file, the lock probe,
the refusal of INTO OUTFILE."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

from projections.chdb_endpoint import ChdbEndpoint, owner_path, read_owner
from projections.store_remote import locked


def write_owner(path, **fields) -> None:
    owner_path(str(path)).write_text(json.dumps(fields), encoding="utf-8")


def test_an_owner_file_of_a_live_process_is_read(tmp_path):
    write_owner(tmp_path, pid=os.getpid(), port=21466, token="t")
    assert read_owner(str(tmp_path)) == {"pid": os.getpid(), "host": "127.0.0.1", "port": 21466, "token": "t"}


def test_an_owner_file_left_by_a_dead_process_is_ignored(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_owner(tmp_path, pid=int(gone.stdout), port=21466, token="t")
    assert read_owner(str(tmp_path)) is None


def test_a_missing_or_malformed_owner_file_is_no_owner(tmp_path):
    assert read_owner(str(tmp_path)) is None
    owner_path(str(tmp_path)).write_text("{not json", encoding="utf-8")
    assert read_owner(str(tmp_path)) is None
    write_owner(tmp_path, pid=os.getpid())
    assert read_owner(str(tmp_path)) is None


def test_the_lock_probe_sees_a_held_status_file(tmp_path):
    assert not locked(str(tmp_path))  # no status file: a new directory
    status = tmp_path / "status"
    status.write_text("pid", encoding="utf-8")
    assert not locked(str(tmp_path))
    with status.open() as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert locked(str(tmp_path))
    assert not locked(str(tmp_path))


def test_into_outfile_is_refused_before_chdb_sees_it(tmp_path):
    endpoint = ChdbEndpoint(str(tmp_path))
    status, body, _ = endpoint.answer("SELECT 1 into\n  OUTFILE '/tmp/x'")
    assert status == 400 and json.loads(body)["code"] == 164 and "INTO OUTFILE" in json.loads(body)["message"]
