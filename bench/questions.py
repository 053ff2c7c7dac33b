"""A results page read back: each `## ` section is a question, its first table the answer.

`chart.py` draws one chart per question from these, so recorded results can be redrawn
without measuring again; the tests check every recorded question has its chart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The number a question is answered by, in the order looked for in its table's header.
VALUE_COLUMNS = ("429s", "median", "turns/s")


@dataclass(frozen=True, slots=True)
class Question:
    """One section of a results page: its title and its first table."""

    title: str
    columns: list[str]
    rows: list[list[str]]

    @property
    def slug(self) -> str:
        """Its chart's file name, without `.png`: the title's first words, hyphenated."""
        return "-".join(re.findall(r"[a-z0-9]+", self.title.lower())[:7])

    @property
    def value_column(self) -> int | None:
        """The column a chart draws: 429s, else the first median, else turns/s."""
        return next((i for want in VALUE_COLUMNS for i, c in enumerate(self.columns)
                     if want in c), None)  # fmt: skip

    def at_largest_load(self) -> list[list[str]]:
        """The rows at the most concurrent sessions, when the table has a `sessions` column."""
        if "sessions" not in self.columns:
            return self.rows
        at = self.columns.index("sessions")
        most = max(number(row[at]) or 0 for row in self.rows)
        return [row for row in self.rows if number(row[at]) == most]


def questions(page: str) -> list[Question]:
    """Each `## ` section of a results page with a table, in page order."""
    found = []
    for block in re.split(r"^## ", page, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        if len(lines) < 3:
            continue
        cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
        found.append(Question(title.strip(), cells[0], cells[2:]))
    return found


def number(cell: str) -> float | None:
    """A table cell as a number (`1,336`, `+0.60`), or None when it holds something else."""
    try:
        return float(cell.replace(",", "").replace("+", ""))
    except ValueError:
        return None
