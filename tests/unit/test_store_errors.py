"""ClickHouse's error codes sorted into: away, not ready for any rows, or refusing these rows."""
from __future__ import annotations

import pytest

from projections.errors import StoreNotReady, StoreRejected, StoreUnavailable
from projections.store_errors import classify, code_in


@pytest.mark.parametrize("code, kind", [
    (210, StoreUnavailable),  # NETWORK_ERROR
    (60, StoreNotReady),      # UNKNOWN_TABLE: the schema is behind, every row would fail
    (16, StoreNotReady),      # NO_SUCH_COLUMN_IN_TABLE
    (241, StoreNotReady),     # MEMORY_LIMIT_EXCEEDED
    (243, StoreNotReady),     # NOT_ENOUGH_SPACE: dead-lettering would drain the log onto a full disk
    (164, StoreNotReady),     # READONLY
    (53, StoreRejected),      # TYPE_MISMATCH
    (321, StoreRejected),     # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
    (800, StoreRejected),     # chdb: a Python value its column cannot take
    (None, StoreRejected),    # no code at all: the rows are the suspects, the breaker the net
])
def test_each_code_is_the_kind_of_error_it_means(code, kind):
    assert classify(code, "DB::Exception: something") is kind


def test_too_many_parts_is_a_refusal_of_the_rows_only_when_one_insert_spans_too_many_partitions():
    assert classify(252, "Too many partitions for single INSERT block (more than 100).") is StoreRejected
    assert classify(252, "Too many parts (300). Merges are processing significantly slower than inserts") \
        is StoreNotReady


def test_the_code_is_read_from_a_chdb_message():
    assert code_in("Code: 252. DB::Exception: Too many partitions for single INSERT block") == 252
    assert code_in("Unable to cast Python instance") is None
