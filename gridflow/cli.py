"""The ``gridflow`` command. Each subcommand lives in ``gridflow/commands/<name>.py`` with
``add_arguments(parser)`` and ``run(args, settings) -> int``; heavy imports stay inside ``run``."""
from __future__ import annotations

import argparse
import importlib
import sys

from gridflow.settings import Settings

COMMANDS = {
    "stack": "start, stop or inspect the local Kafka + ClickHouse stack",
    "topics": "create the Kafka topics with their partition counts",
    "worker": "run a Faust worker (intake, matter agent, SLA scanner)",
    "migrate": "apply ClickHouse migrations",
    "project": "run the projector: event log -> ClickHouse",
    "rebuild": "replay the event log from offset zero into fresh tables",
    "stats": "print statistics for an org unit",
    "report": "write the statistics of an org unit as charts in one HTML file",
    "sql": "run one SQL query on the configured ClickHouse store and print a table",
    "publish": "publish events from a JSON-lines file",
    "simulate": "simulate a city's matters through the publisher SDK",
    "demo": "run the whole pipeline on a simulated city and show the statistics",
    "api": "serve Open311 GeoReport v2 and the status API over HTTP",
    "org": "check an org tree file, show its diff against the org topic, publish it with --publish",
    "deadletters": "list, show and re-drive the dead-letter topic",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridflow", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"gridflow.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gridflow.commands.{name}":
                raise
            continue  # not built yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"gridflow: {exc}", file=sys.stderr)
        return 2
    try:
        return int(args._module.run(args, settings) or 0)
    except KeyboardInterrupt:
        print("\ngridflow: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
