"""The ClickHouse server store (clickhouse-driver, native protocol)."""
from __future__ import annotations

import logging
import socket
import struct
from typing import Any, Mapping, Sequence

from clickhouse_driver import Client, errors

from projections.errors import StoreError, StoreRejected, StoreUnavailable
from projections.store import Store, ident, render
from projections.store_errors import classify

# The driver logs every failed connection attempt with its traceback; the store raises
# StoreUnavailable instead, which its callers report in one line (and retry or exit).
logging.getLogger("clickhouse_driver.connection").setLevel(logging.CRITICAL)

# Errors that mean "the server is not there right now", as opposed to "it said no".
_UNAVAILABLE = (errors.NetworkError, errors.SocketTimeoutError, errors.UnexpectedPacketFromServerError,
                ConnectionError, socket.timeout, EOFError, OSError)
# clickhouse-driver encodes the rows of an insert itself: a value a column cannot hold fails in
# the client, before the server sees it, as TypeMismatchError (code 53) or a plain Python error.
_UNFIT_VALUE = (struct.error, OverflowError, TypeError, ValueError, AttributeError)


class ServerStore(Store):
    kind = "server"

    def __init__(self, database: str, *, host: str = "127.0.0.1", port: int = 9000, user: str = "default",
                 password: str = "", connect_timeout: float = 5.0, send_receive_timeout: float = 300.0,
                 client: Client | None = None) -> None:
        super().__init__(database)
        self.address = f"{host}:{port}"
        self.user = user
        self._client = client or Client(host=host, port=port, user=user, password=password,
                                        connect_timeout=connect_timeout,
                                        send_receive_timeout=send_receive_timeout,
                                        client_name="gridflow")

    def _run(self, sql: str, data: Any = None, **kwargs: Any) -> Any:
        try:
            if data is None:
                return self._client.execute(sql, **kwargs)
            return self._client.execute(sql, data, **kwargs)
        except errors.ServerException as exc:
            message = exc.message.split("Stack trace:")[0].strip().splitlines()[0]
            raise classify(exc.code, message)(f"ClickHouse {self.address}: code {exc.code}: {message}") from exc
        except errors.TypeMismatchError as exc:
            self._client.disconnect()
            raise StoreRejected(f"ClickHouse {self.address}: a value does not fit its column: {exc}") from exc
        except _UNAVAILABLE as exc:
            self._client.disconnect()
            raise StoreUnavailable(f"ClickHouse {self.address} unavailable: {exc}") from exc
        except errors.Error as exc:
            self._client.disconnect()
            raise StoreError(f"ClickHouse {self.address}: {exc}") from exc

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(render(sql, params))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        return [tuple(row) for row in self._run(render(sql, params))]

    def query_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> tuple[list[str], list[tuple]]:
        rows, types = self._run(render(sql, params), with_column_types=True)
        return [name for name, _ in types], [tuple(row) for row in rows]

    def insert(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]], *,
               columnar: bool = False) -> int:
        if not data or (columnar and not data[0]):
            return 0
        cols = ", ".join(ident(c) for c in columns)
        try:
            # Always rows as data, never inline VALUES: clickhouse-driver hangs on the latter.
            self._run(f"INSERT INTO {self.table(table)} ({cols}) VALUES", data, columnar=columnar)
        except _UNFIT_VALUE as exc:
            self._client.disconnect()  # the server still waits for the rest of the insert
            raise StoreRejected(f"ClickHouse {self.address}: a value does not fit its column: "
                                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        return len(data[0]) if columnar else len(data)

    def close(self) -> None:
        self._client.disconnect()
