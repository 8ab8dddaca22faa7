"""The shell lines of the README's ```bash blocks, for the tests that hold the README to the code."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shell_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", readme, re.S):
        lines += [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    return lines


def gridflow_commands() -> list[list[str]]:
    """Each `gridflow ...` line as argv without the program name (comments and `&` dropped)."""
    return [[w for w in shlex.split(line, comments=True) if w != "&"][1:]
            for line in shell_lines() if line.startswith("gridflow ")]


def readme_sql() -> str:
    """The tour's SQL query."""
    return next(shlex.split(line)[2] for line in shell_lines() if line.startswith("gridflow sql "))
