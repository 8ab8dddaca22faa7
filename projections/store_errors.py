"""Which ClickHouse errors are about the rows and which are about ClickHouse.

Both stores report ClickHouse's own error codes: the server in ``ServerException.code``, chdb
in its message (``Code: 252. DB::Exception: ...``). A code listed here means the failure is
about the server's state, not the data: the same insert may work later, and another piece of
the batch would fail alike, so the projector waits and retries (never dead-letters). Every
other code is taken as a refusal of the rows: the batch is split and only the rows that still
fail alone are dead-lettered. An unknown code therefore costs at most some dead letters, and
the circuit breaker stops the projector if it hits most records (docs/operations.md).
"""
from __future__ import annotations

import re

from projections.errors import StoreError, StoreNotReady, StoreRejected, StoreUnavailable

# The server cannot be reached or did not answer in time.
UNREACHABLE = {
    209: "SOCKET_TIMEOUT",
    210: "NETWORK_ERROR",
    279: "ALL_CONNECTION_TRIES_FAILED",
    203: "NO_FREE_CONNECTION",
}

# Reachable, but not able to take the insert now; every row would fail alike.
RETRY = {
    # the schema is behind the code (`gridflow migrate` not run) or a table is being swapped
    8: "THERE_IS_NO_COLUMN", 16: "NO_SUCH_COLUMN_IN_TABLE", 47: "UNKNOWN_IDENTIFIER",
    60: "UNKNOWN_TABLE", 81: "UNKNOWN_DATABASE", 218: "TABLE_IS_DROPPED",
    # the user's rights
    164: "READONLY", 192: "UNKNOWN_USER", 193: "WRONG_PASSWORD", 291: "DATABASE_ACCESS_DENIED",
    497: "ACCESS_DENIED", 516: "AUTHENTICATION_FAILED",
    # load, memory, disk and merges
    159: "TIMEOUT_EXCEEDED", 173: "CANNOT_ALLOCATE_MEMORY", 202: "TOO_MANY_SIMULTANEOUS_QUERIES",
    236: "ABORTED", 241: "MEMORY_LIMIT_EXCEEDED", 243: "NOT_ENOUGH_SPACE", 394: "QUERY_WAS_CANCELLED",
    439: "CANNOT_SCHEDULE_TASK", 473: "DEADLOCK_AVOIDED", 74: "CANNOT_READ_FROM_FILE_DESCRIPTOR",
    75: "CANNOT_WRITE_TO_FILE_DESCRIPTOR", 76: "CANNOT_OPEN_FILE", 425: "SYSTEM_ERROR",
    # replication (a cluster): replicas, quorum, keeper
    242: "TABLE_IS_READ_ONLY", 285: "TOO_FEW_LIVE_REPLICAS", 286: "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE",
    319: "UNKNOWN_STATUS_OF_INSERT", 999: "KEEPER_EXCEPTION",
}

# 252 TOO_MANY_PARTS names two things: merges falling behind inserts (wait) and one insert
# touching more partitions than max_partitions_per_insert_block (the rows: split them).
TOO_MANY_PARTS = 252
_PARTITIONS_PER_INSERT = "too many partitions for single insert block"
_CODE = re.compile(r"Code:\s*(\d+)")


def code_in(message: str) -> int | None:
    """The ClickHouse error code a chdb message starts with, if any."""
    match = _CODE.search(message)
    return int(match.group(1)) if match else None


def classify(code: int | None, message: str) -> type[StoreError]:
    """The kind of store error for a ClickHouse error code and message."""
    if code in UNREACHABLE:
        return StoreUnavailable
    if code == TOO_MANY_PARTS:
        return StoreRejected if _PARTITIONS_PER_INSERT in message.lower() else StoreNotReady
    if code in RETRY:
        return StoreNotReady
    return StoreRejected
