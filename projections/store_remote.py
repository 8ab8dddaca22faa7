"""Reading the configured store from a command: chdb through the projector that holds it.

``open_reader`` is what ``gridflow stats`` and ``gridflow sql`` open. On the server store it is
``open_store``. On chdb: when a live projector's owner file is in the directory, its query
endpoint (``chdb_endpoint.py``); otherwise the directory itself; and when neither works, one
error that says which process holds the directory and what to do.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Mapping, Sequence

from projections.chdb_endpoint import TOKEN_HEADER, read_owner
from projections.errors import StoreError, StoreUnavailable
from projections.store import Store, open_store, render
from projections.store_chdb import arrow_rows
from projections.store_errors import classify

OWNER_WAIT_SECONDS = 10.0  # how long a locked directory may go without an owner file


class RemoteChdbStore(Store):
    """Read-only queries on a chdb directory, answered by the projector that owns it."""

    kind = "chdb"

    def __init__(self, database: str, *, path: str, owner: dict, timeout: float = 120.0) -> None:
        super().__init__(database)
        self.path, self.owner, self.timeout = path, owner, timeout
        self.url = f"http://{owner['host']}:{owner['port']}/query"

    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        body = render(sql, params).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers={TOKEN_HEADER: self.owner["token"]})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return arrow_rows(response.read())
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())
                code, message = error.get("code"), str(error.get("message"))
            except ValueError:
                code, message = None, f"HTTP {exc.code}"
            raise classify(code, message)(f"chdb (via the projector, pid {self.owner['pid']}): {message}") from None
        except OSError as exc:
            raise StoreUnavailable(f"the projector (pid {self.owner['pid']}) holds chdb at {self.path}, but its "
                                   f"query endpoint {self.url} does not answer ({exc})") from None

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        return self.query_columns(sql, params)[1]

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        raise StoreError("chdb is held by a running projector: only queries that read are answered")

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]], *,
               columnar: bool = False) -> int:
        raise StoreError("chdb is held by a running projector: only queries that read are answered")


def open_reader(settings, database: str | None = None) -> Store:
    """A store to read the statistics from, whoever holds the embedded one (module docstring)."""
    if settings.store != "chdb":
        return open_store(settings, database)
    give_up = time.monotonic() + OWNER_WAIT_SECONDS
    while True:
        owner = read_owner(settings.chdb_path)
        if owner is not None:
            remote = RemoteChdbStore(database or settings.clickhouse_database, path=settings.chdb_path, owner=owner)
            if remote.ping():
                return remote
        if not locked(settings.chdb_path) or time.monotonic() > give_up:
            break
        time.sleep(0.2)  # a projector starting (migrating) writes its owner file in a moment
    if locked(settings.chdb_path):
        raise StoreUnavailable(
            f"chdb at {settings.chdb_path} is locked by another process that answers no queries (a `gridflow "
            "rebuild`, `migrate`, a demo, or `project --no-query-endpoint`): wait for it to finish, or set "
            "GRIDFLOW_STORE=server")
    return open_store(settings, database)


def locked(chdb_path: str) -> bool:
    """Whether another process holds the directory's lock (chdb ``flock``s its ``status`` file);
    asked before chdb is, which would print its own error on stderr."""
    import fcntl
    import os

    try:
        fd = os.open(os.path.join(chdb_path, "status"), os.O_RDONLY)
    except OSError:
        return False  # a new directory
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False
