"""The results charts: one PNG per question, drawn from the tables of a `results.md`.

Each `## ` section of the page is one question (a healthy turn, a quota 429, pacing,
hedging, ...; see `questions.py`); its first table is drawn as one chart beside the page,
named for the section (`8-turns-that-start-at-the-backup.png`). Drawn from the written
page, not from the run, so recorded results can be redrawn without measuring again:

    python -m bench.chart bench/results bench/results/routing-before-failure

The figures are 6.8 inches wide at 100 dpi, no wider than the docs' text column (about
690 px at 1280 px), so they are shown at their own size, and all their text is 12 pt:
every label reads at body-text size or larger.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

from bench.questions import Question, number, questions

OURS = "#1f77b4"
PEER = "#9a9a9a"
FLOOR = "#ff7f0e"
WIDTH, DPI, TEXT = 6.8, 100, 12
# Columns of the long-sessions table that are not a per-turn time.
NOT_TIMES = ("ours - floor", "bytes")


def draw_page(folder: Path) -> list[Path]:
    """Draw every question of `folder/results.md` into `folder`; the PNGs written."""
    written = []
    for question in questions((folder / "results.md").read_text(encoding="utf-8")):
        path = folder / f"{question.slug}.png"
        if _draw(question, path):
            written.append(path)
    return written


def _draw(question: Question, path: Path) -> bool:
    """Draw one question into `path`: lines for the long sessions, else bars."""
    if question.columns[0] == "messages":
        return _lines(question, path)
    index = question.value_column
    if index is None:
        return False
    rows = question.at_largest_load()
    values = {row[0]: v for row in rows if (v := number(row[index])) is not None}
    if not values:
        return False
    header = question.columns[index]
    unit = "429 responses" if header == "429s" else header
    if "median" in header and "ms" not in header:
        unit += " (ms)"  # the table's title says ms; the chart stands alone
    _bars(question.title, values, unit, path)
    return True


def _colour(name: str) -> str:
    """Ours blue, LangGraph's floor orange, the peers grey."""
    lowered = name.lower()
    return OURS if lowered.startswith("ours") else FLOOR if "floor" in lowered else PEER


def _bars(title: str, values: dict[str, float], unit: str, path: Path) -> None:
    """One horizontal bar per row, its value written at its end."""
    names = list(values)
    fig, ax = plt.subplots(figsize=(WIDTH, 1.6 + 0.55 * len(names)))
    bars = ax.barh([_wrap(n) for n in names], [values[n] for n in names],
                   color=[_colour(n) for n in names])  # fmt: skip
    ax.invert_yaxis()
    positive = [v for v in values.values() if v > 0]
    if positive and len(positive) == len(values) and max(positive) / min(positive) > 50:
        ax.set_xscale("log")  # seconds next to milliseconds: each bar still readable
        unit += " (log scale)"
    for bar, value in zip(bars, values.values(), strict=True):
        ax.annotate(f" {value:,.4g}", (bar.get_width(), bar.get_y() + bar.get_height() / 2),
                    va="center", fontsize=TEXT)  # fmt: skip
    ax.margins(x=0.18)
    _finish(fig, ax, title, unit, path)


def _lines(question: Question, path: Path) -> bool:
    """The long sessions: per-turn time against the messages already in the thread."""
    xs = [number(row[0]) or 0 for row in question.rows]
    fig, ax = plt.subplots(figsize=(WIDTH, 4.8))
    for at, name in enumerate(question.columns[1:], start=1):
        if any(skip in name for skip in NOT_TIMES):
            continue
        ys = [number(row[at]) or 0 for row in question.rows]
        ax.plot(xs, ys, marker="o", label=name, color=_colour(name),
                linestyle="--" if "SQLite" in name else "-")  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylabel("ms per turn (log scale)", fontsize=TEXT)
    ax.legend(fontsize=TEXT)
    _finish(fig, ax, question.title, "messages in the thread (log scale)", path)
    return True


def _finish(fig: Any, ax: Any, title: str, unit: str, path: Path) -> None:
    """Title, axis label, text sizes; write the PNG and close the figure."""
    ax.set_title(textwrap.fill(title, 60), fontsize=TEXT + 1)
    ax.set_xlabel(unit, fontsize=TEXT)
    ax.tick_params(labelsize=TEXT)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _wrap(label: str) -> str:
    """A row's name on lines of at most 28 characters, so the bars keep their room."""
    return textwrap.fill(label, 28)


def main(argv: Sequence[str] | None = None) -> int:
    """Redraw the charts of each results folder named (default: `bench/results`)."""
    folders = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    for folder in folders or [Path(__file__).resolve().parent / "results"]:
        for path in draw_page(folder):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
