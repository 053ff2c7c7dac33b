"""The results: markdown tables, a chart per question and a line describing the machine.

Scenarios hand back `Section`s of plain tables; this module alone knows how they are
written to `bench/results/results.md`; `chart.py` draws each section's table beside it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Table:
    """One markdown table with a title and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Section:
    """What one scenario found: tables and one-line findings (`chart.py` draws the tables)."""

    key: str
    title: str
    tables: list[Table]
    findings: list[str]


def ms(value: float) -> str:
    """Milliseconds for a table cell: two decimals below 100, none above."""
    return f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def times(value: float) -> str:
    """A ratio for a table cell, e.g. `152x`."""
    return f"{value:,.1f}x" if value < 10 else f"{value:,.0f}x"


def machine() -> str:
    """One line: CPU, cores, memory, OS, Python and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    names = ("langgraph", "langchain-openai", "openai", "langchain-ollama", "litellm")
    versions = ", ".join(f"{n} {_version(n)}" for n in names)
    return (f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; {versions}")  # fmt: skip


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def markdown(sections: Sequence[Section], command: str, ceiling: Sequence[str]) -> str:
    """The whole results page."""
    out = ["# Benchmark results", "", f"Machine: {machine()}", "",
           f"Reproduce: `{command}`", ""]  # fmt: skip
    if ceiling:
        out += ["Emulators' own ceiling (the tools must stay well below it):", ""]
        out += [f"- {line}" for line in ceiling] + [""]
    for section in sections:
        out += [f"## {section.title}", ""]
        for table in section.tables:
            out += [f"**{table.title}**", "", _table(table.columns, table.rows), ""]
            out += [f"- {note}" for note in table.notes]
            out += [""] if table.notes else []
        if section.findings:
            out += ["Findings:", ""] + [f"- {f}" for f in section.findings] + [""]
    return "\n".join(out)


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def write(
    out_dir: Path,
    sections: Sequence[Section],
    command: str,
    ceiling: Sequence[str],
    *,
    chart: bool = True,
) -> Path:
    """Write `results.md` (and a PNG per question) into `out_dir`; return the markdown's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "results.md"
    page.write_text(markdown(sections, command, ceiling))
    if not chart:
        return page
    from bench.chart import draw_page  # matplotlib is imported only when a chart is drawn

    draw_page(out_dir)
    return page
