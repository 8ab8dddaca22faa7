"""events: one partition per year instead of one per month (why: docs/statistics.md, "Partitions").

ClickHouse cannot change the partition key of a table in place, so the table is created again
with the new key, swapped in by one RENAME, and the old rows are copied into it. Each step
checks the state it leaves, so a run stopped half-way is finished by the next one. The
materialized view reading ``events`` is dropped before the swap and created again after it:
18.16 binds a view to its source table by name, chdb by identity, and neither must keep feeding
``matter_state`` from the old table. Copying through the view feeds ``matter_state`` the old
events a second time, which changes none of its idempotent states. Stop the projector while
this runs (``gridflow project`` migrates before it starts reading).
"""


def apply(store, db: str) -> None:
    from projections.migrate import materialized_views

    def partition_key(table: str) -> str | None:
        found = store.query("SELECT partition_key FROM system.tables WHERE database = %(db)s AND name = %(t)s",
                            {"db": db, "t": table})
        return found[0][0].replace(" ", "") if found else None

    if partition_key("events") != "toYear(occurred)":
        store.execute(f"CREATE TABLE IF NOT EXISTS {db}.events_by_year AS {db}.events "
                      "ENGINE = ReplacingMergeTree() PARTITION BY toYear(occurred) ORDER BY (matter_id, event_id)")
        store.execute(f"DROP TABLE IF EXISTS {db}.matter_state_mv")
        store.execute(f"RENAME TABLE {db}.events TO {db}.events_by_month, {db}.events_by_year TO {db}.events")
    store.execute(materialized_views(db)["matter_state_mv"])  # CREATE ... IF NOT EXISTS
    if partition_key("events_by_month") is not None:
        store.execute(f"INSERT INTO {db}.events SELECT * FROM {db}.events_by_month")
        store.execute(f"DROP TABLE {db}.events_by_month")
