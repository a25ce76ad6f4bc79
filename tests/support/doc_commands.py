"""The shell commands the documentation shows, in reading order.

A command is a line of a fenced `sh` block (comment lines left out), or a line starting with `$ `
anywhere else (`console` blocks, indented examples); a line ending with a backslash continues on
the next. A trailing `# comment` is not part of the command. Pages are read in the order of the
site's navigation (mkdocs.yml), then the rendered service's README.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import TEMPLATE_ROOT

FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```", re.DOTALL | re.MULTILINE
)
PROMPT = re.compile(r"^\s*\$ (?P<command>.*)$")
COMMENT = re.compile(r"\s+# .*$")


@dataclass(frozen=True)
class DocCommand:
    page: str
    command: str


def nav_pages(nav: list[Any]) -> Iterator[str]:
    for entry in nav:
        for target in entry.values():
            if isinstance(target, list):
                yield from nav_pages(target)
            else:
                yield str(target)


def doc_pages() -> list[Path]:
    """docs/*.md in the site's reading order."""
    nav = yaml.safe_load((TEMPLATE_ROOT / "mkdocs.yml").read_text())["nav"]
    return [TEMPLATE_ROOT / "docs" / page for page in nav_pages(nav)]


def joined(lines: list[str]) -> Iterator[str]:
    """`lines` with backslash continuations joined, stripped."""
    pending = ""
    for line in lines:
        stripped = line.strip()
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        yield pending + stripped
        pending = ""
    if pending:
        yield pending.rstrip()


def commands_in(page: str, markdown: str) -> list[DocCommand]:
    found: list[tuple[int, int, str]] = []  # (offset of the block or line, line in it, command)
    sh_blocks: list[tuple[int, int]] = []
    for block in FENCE.finditer(markdown):
        if block.group("info").strip() != "sh":
            continue
        sh_blocks.append(block.span())
        lines = [line for line in joined(block.group("body").splitlines()) if line]
        commands = [line for line in lines if not line.startswith("#")]
        found += [(block.start(), number, line) for number, line in enumerate(commands)]
    lines = markdown.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    index = 0
    while index < len(lines):
        start = offsets[index]
        prompt = PROMPT.match(lines[index])
        index += 1
        if prompt is None or any(first <= start < end for first, end in sh_blocks):
            continue
        command = [prompt.group("command")]
        while command[-1].rstrip().endswith("\\") and index < len(lines):
            command.append(lines[index])
            index += 1
        found.append((start, 0, " ".join(joined(command))))
    return [DocCommand(page, COMMENT.sub("", command).strip()) for *_, command in sorted(found)]


def documented_commands(readme: Path) -> list[DocCommand]:
    """Every command of docs/*.md, then of `readme` (a rendered README.md), in reading order."""
    pages = [(path.name, path) for path in doc_pages()] + [("README.md", readme)]
    return [command for name, path in pages for command in commands_in(name, path.read_text())]
