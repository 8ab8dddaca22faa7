"""Rows for people and for programs, the same way in every command (docs/CONVENTIONS.md,
"The command line"):

- ``table``: aligned columns fitted to the terminal (rich renders them; names wrap, columns
  that still do not fit are left out and named below the table; ``--wide`` prints them all);
- ``csv``: a header line, then the rows (``--bom`` starts with a UTF-8 byte order mark, for
  spreadsheet programs that otherwise misread the Chinese names);
- ``json``: one JSON document (a list of objects, one per row, unless the command says otherwise);
- ``jsonl``: JSON Lines, one object per row.

    add_format_arguments(parser)
    ...
    write(names, rows, args)          # honours --format, --bom, --wide and --limit

rich is imported only when a table is drawn, so ``--help`` and the machine formats stay fast."""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

FORMATS = ("table", "csv", "json", "jsonl")
GAP = 2  # spaces between columns
WRAP_MIN = 12  # a wrapping column is never narrower than this


def add_format_arguments(parser: argparse.ArgumentParser, *, default: str = "table") -> None:
    parser.add_argument("--format", choices=FORMATS, default=default,
                        help=f"table (for people), csv, json (one document) or jsonl (one object a line); "
                             f"default {default}")
    parser.add_argument("--bom", action="store_true",
                        help="with --format csv: start with a UTF-8 byte order mark (BOM), so spreadsheet "
                             "programs read the Chinese names right")
    parser.add_argument("--wide", action="store_true",
                        help="with --format table: print every column whatever the terminal's width")


def check_format_arguments(args: argparse.Namespace) -> None:
    from gridflow.console import CliError

    if getattr(args, "bom", False) and args.format != "csv":
        raise CliError(f"--bom goes with --format csv, not --format {args.format}", code=2)


def write(names: Sequence[str], rows: Sequence[Sequence[Any]], args: argparse.Namespace, *,
          stream: TextIO | None = None, right: Iterable[int] | None = None, wrap: Iterable[int] = (),
          limit: int | None = None) -> None:
    """``rows`` under ``names`` in ``args.format`` on ``stream`` (stdout). For a table,
    ``right`` are the right-aligned columns (default: those whose values all look numeric),
    ``wrap`` those that may wrap, and ``limit`` the rows shown (the others are counted)."""
    stream = stream or sys.stdout
    check_format_arguments(args)
    if args.format == "csv":
        stream.write(to_csv(names, rows, bom=args.bom))
    elif args.format == "json":
        stream.write(json.dumps([dict(zip(names, row)) for row in rows], ensure_ascii=False, default=str) + "\n")
    elif args.format == "jsonl":
        stream.write(to_jsonl(dict(zip(names, row)) for row in rows))
    else:
        shown = [["" if v is None else str(v) for v in row] for row in (rows if limit is None else rows[:limit])]
        if right is None:
            right = [i for i in range(len(names)) if shown and all(_numeric(r[i]) for r in shown if r[i])]
        text = table(names, shown, right=right, wrap=wrap, width=terminal_width(stream, args.wide))
        more = f", first {limit} shown (--limit)" if limit is not None and len(rows) > limit else ""
        stream.write(f"{text}\n({len(rows)} row{'' if len(rows) == 1 else 's'}{more})\n")


def to_csv(names: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> str:
    buf = io.StringIO()
    if bom:
        buf.write("\ufeff")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


def to_jsonl(objects: Iterable[dict]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False, default=str) + "\n" for o in objects)


def terminal_width(stream: TextIO, wide: bool = False) -> int | None:
    """The width to fit a table to: the terminal's, or $COLUMNS; None (no limit) with --wide
    or when the output goes to a file or a pipe without $COLUMNS."""
    if wide:
        return None
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (OSError, ValueError, AttributeError):
        return None


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: Iterable[int] = (),
          wrap: Iterable[int] = (), cut: Iterable[int] = (), width: int | None = None) -> str:
    """Aligned columns under a rule. With a ``width``, headers wrap at spaces, ``wrap``
    columns wrap, ``cut`` columns are cut with "…" (a long message), and the columns that
    still do not fit are left out and named on a last line."""
    from rich import box
    from rich.cells import cell_len
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    right, wrap, cut = set(right), set(wrap), set(cut)

    def natural(i: int) -> int:
        return max([cell_len(head[i])] + [cell_len(r[i]) for r in rows])

    def least(i: int) -> int:
        header = max((cell_len(w) for w in head[i].split()), default=1)
        cells = max([cell_len(r[i]) for r in rows], default=0)
        return max(header, min(cells, WRAP_MIN) if i in wrap | cut else cells)

    keep = list(range(len(head)))
    sizes = {i: natural(i) for i in keep}
    if width is not None:
        used, keep = GAP - 1, []  # rich pads after the last column too
        for i in range(len(head)):
            need = least(i) + (GAP if keep else 0)
            if keep and used + need > width:
                break
            keep.append(i)
            used += need
        spare = max(0, width - used)
        for i in keep:  # from the left, widen each column towards its natural width
            sizes[i] = least(i) + min(spare, natural(i) - least(i))
            spare -= sizes[i] - least(i)
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, GAP - 1, 0, 0),
                 header_style="", highlight=False)
    for i in keep:
        grid.add_column(Text(head[i]), justify="right" if i in right else "left", width=sizes[i],
                        overflow="ellipsis" if i in cut else "fold", no_wrap=i in cut)
    for r in rows:
        grid.add_row(*(Text(r[i]) for i in keep))
    total = sum(sizes[i] for i in keep) + GAP * len(keep)
    console = Console(file=io.StringIO(), width=total, color_system=None, highlight=False,
                      markup=False, emoji=False, legacy_windows=False)
    with console.capture() as captured:
        console.print(grid)
    lines = [line.rstrip() for line in captured.get().splitlines()]
    hidden = [head[i] for i in range(len(head)) if i not in keep]
    if hidden:
        import textwrap

        note = f"(+{len(hidden)} more column{'s' if len(hidden) > 1 else ''}: {', '.join(hidden)}; --wide shows all)"
        lines += textwrap.wrap(note, width) if width else [note]
    return "\n".join(lines)


def _numeric(text: str) -> bool:
    try:
        float(text.rstrip("%"))
        return True
    except ValueError:
        return text == "-"
