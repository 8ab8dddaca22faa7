"""The ``gridflow`` command. Each subcommand lives in ``gridflow/commands/<name>.py`` with
``add_arguments(parser)`` and ``run(args, settings) -> int``; heavy imports stay inside ``run``.
Errors a person can act on are raised as ``gridflow.console.CliError`` and printed here as one
line on stderr (docs/CONVENTIONS.md, "The command line")."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from gridflow import __version__
from gridflow.console import CliError
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

# How `gridflow --help` groups the commands; a command in no group is listed under "more",
# and a name here that is not in COMMANDS (not built yet) is left out.
GROUPS = {
    "try it": ["demo", "simulate"],
    "analyse": ["stats", "sql", "report"],
    "feed it": ["publish", "api"],
    "run the pipeline": ["stack", "topics", "worker", "project"],
    "look after it": ["migrate", "rebuild", "org", "deadletters"],
}

INTRO = """\
gridflow routes residents' reports and service requests ("matters") from upstream apps
through the six levels of a city's grid governance (city, district, street, community,
grid, compound), with SLA clocks and escalations, and keeps statistics such as the share
resolved at grid level in ClickHouse. Kafka holds the event log; ClickHouse the figures."""

OUTRO = """\
Start with `gridflow demo` (a simulated city through the whole pipeline), then
`gridflow stats`. `gridflow COMMAND --help` shows a command's options.
Settings come from GRIDFLOW_* environment variables (gridflow/settings.py).
Docs: README.md and docs/ in the source tree: statistics.md (every figure), operations.md
(running it, exit codes), events.md and sdk.md (for upstream apps), api.md, metrics.md."""


def command_list() -> str:
    grouped = [(title, [n for n in names if n in COMMANDS]) for title, names in GROUPS.items()]
    placed = {n for _, names in grouped for n in names}
    grouped.append(("more", [n for n in COMMANDS if n not in placed]))
    width = max(len(n) for n in COMMANDS)
    lines = ["commands:"]
    for title, names in grouped:
        if names:
            lines.append(f"  {title}")
            lines += [f"    {n:<{width}}  {COMMANDS[n]}" for n in names]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gridflow", usage="gridflow [--version] [-h] COMMAND [options]",
                                     description=f"{INTRO}\n\n{command_list()}", epilog=OUTRO,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"gridflow {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", help=argparse.SUPPRESS)
    for name, help_text in COMMANDS.items():
        try:
            module = importlib.import_module(f"gridflow.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"gridflow.commands.{name}":
                raise
            continue  # not built yet
        p = sub.add_parser(name, help=help_text, description=help_text, prog=f"gridflow {name}")
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
    except CliError as exc:
        print(exc.line(args.command), file=sys.stderr, flush=True)
        return exc.code
    except KeyboardInterrupt:
        print("\ngridflow: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `gridflow sql ... | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
