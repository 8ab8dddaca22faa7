"""gridflow rebuild: replay the event log from offset zero into fresh tables and swap them in."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--org", metavar="FILE", help="load an org tree file into the rebuilt dimension")
    parser.add_argument("--keep-old", action="store_true", help="keep the replaced tables in <database>_old")
    parser.add_argument("--force", action="store_true", help="rebuild even if the projector group has members")
    parser.add_argument("--readers", type=int, metavar="N",
                        help="reader processes sharing the log's partitions (default: one per CPU, "
                             "at most one per partition)")


def run(args: argparse.Namespace, settings) -> int:
    from kafka.errors import KafkaError

    from gridflow.console import CliError, store_error
    from projections.errors import ProjectionError, StoreError
    from projections.rebuild import rebuild
    from projections.store import open_store

    try:
        with open_store(settings) as store:
            rebuild(settings, store, org_file=args.org, keep_old=args.keep_old, force=args.force,
                    readers=args.readers, log=lambda line: print(line, flush=True))
    except StoreError as exc:
        raise store_error(exc, settings.clickhouse_database) from None
    except KafkaError as exc:
        raise CliError(f"Kafka at {settings.kafka_bootstrap}: {exc}",
                       hint="is the stack up? `gridflow stack status`; GRIDFLOW_KAFKA_BOOTSTRAP says where") from None
    except (ProjectionError, OSError) as exc:
        raise CliError(str(exc)) from None
    return 0
