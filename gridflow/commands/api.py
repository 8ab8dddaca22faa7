"""``gridflow api``: the HTTP front door (Open311 GeoReport v2 and the status API, docs/api.md)."""
from __future__ import annotations

import argparse
import sys

from gridflow.settings import Settings

HELP = """\
Settings come from the environment (GRIDFLOW_API_PORT, GRIDFLOW_API_METRICS_PORT,
GRIDFLOW_API_KEYS / GRIDFLOW_API_KEYS_PATH, GRIDFLOW_API_READ_ACCESS, GRIDFLOW_API_SECRET /
GRIDFLOW_API_SECRET_PATH, GRIDFLOW_API_MAX_BODY_BYTES, GRIDFLOW_API_RATE_PER_SECOND,
GRIDFLOW_API_RATE_BURST, GRIDFLOW_API_CORS_ORIGINS, GRIDFLOW_LISTEN_HOST, GRIDFLOW_ORG_PATH, ...).
A key for an app: `gridflow api --new-key hotline-12345` prints the key (give it to the app) and
the line to add to the key file (only the digest is stored). Stop with Ctrl-C or SIGTERM."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = HELP
    parser.add_argument("--port", type=int, help="API port on GRIDFLOW_LISTEN_HOST (GRIDFLOW_API_PORT, 8311)")
    parser.add_argument("--metrics-port", type=int, help="/metrics port (GRIDFLOW_API_METRICS_PORT, 9465)")
    parser.add_argument("--new-key", metavar="APP", help="print a new key for APP and its key line, then exit")
    parser.add_argument("--scopes", default="write,read", help="scopes of --new-key: write, read or write,read")
    parser.add_argument("--org-wait", type=float, default=120.0,
                        help="seconds to wait at start-up for org units on the org topic (no GRIDFLOW_ORG_PATH)")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])


def new_key(app: str, scopes: str) -> int:
    from events.identifiers import ID_RULE, is_identifier
    from gridflow.api.keys import SCOPES, key_line
    from gridflow.api.keys import new_key as make

    wanted = tuple(s for s in scopes.split(",") if s)
    if not is_identifier(app) or not wanted or not set(wanted) <= set(SCOPES):
        print(f"gridflow api: --new-key expects an app name that is {ID_RULE}, and --scopes a subset of "
              f"{','.join(SCOPES)}", file=sys.stderr)
        return 2
    key = make()
    print(f"key   {key}\n      (give it to {app}; it is not stored anywhere and cannot be shown again)")
    print(f"line  {key_line(app, key, wanted)}\n      (add it to GRIDFLOW_API_KEYS_PATH's file or GRIDFLOW_API_KEYS)")
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.new_key:
        return new_key(args.new_key, args.scopes)
    overrides = {"api_port": args.port, "api_metrics_port": args.metrics_port}
    settings = settings.with_(**{k: v for k, v in overrides.items() if v is not None})
    from gridflow.console import check_ports_free, port_error

    ports = [(settings.api_port, "--port, GRIDFLOW_API_PORT"),
             (settings.api_metrics_port, "--metrics-port, GRIDFLOW_API_METRICS_PORT")]
    check_ports_free(settings.listen_host, ports)
    import asyncio
    import logging

    logging.basicConfig(level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("kafka", "aiokafka"):  # their connection chatter drowns the API's own lines
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    from deploy.topics import TopicsError, ensure_topics
    from events import policy as policy_mod
    from events.errors import EventError
    from gridflow.api import keys as keys_mod
    from gridflow.api.core import Api
    from gridflow.api.pseudonym import load_secret
    from gridflow.api.run import serve
    from streams.errors import StreamsError
    from streams.orgsource import load_org_tree

    try:
        ring = keys_mod.load(settings.api_keys, settings.api_keys_path)
        secret = load_secret(settings.api_secret, settings.api_secret_path)
        policy = policy_mod.load(settings.policy_path or None)
    except (keys_mod.KeyFileError, ValueError, OSError, EventError) as exc:
        print(f"gridflow api: {exc}", file=sys.stderr)
        return 2
    try:
        ensure_topics(settings)
        tree = load_org_tree(settings, wait=args.org_wait)
    except (TopicsError, StreamsError, EventError) as exc:
        print(f"gridflow api: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # kafka-python's errors: no broker
        print(f"gridflow api: cannot prepare topics on Kafka at {settings.kafka_bootstrap}: {exc!r} "
              "(is the stack up? `gridflow stack up`)", file=sys.stderr)
        return 1
    if not len(ring):
        logging.getLogger("gridflow.api").warning("api: no keys (GRIDFLOW_API_KEYS, GRIDFLOW_API_KEYS_PATH): "
                                                  "every write is refused")
    try:
        asyncio.run(serve(Api(settings, ring, secret, policy, tree)))
    except OSError as exc:  # a port taken since the check
        port, what = next(((p, w) for p, w in ports if str(p) in str(exc)), ports[0])
        raise port_error(settings.listen_host, port, what, exc) from None
    return 0
