"""The results chart: one PNG, a panel per scenario that has numbers to draw."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

OURS = "#1f77b4"
PEER = "#aaaaaa"
FLOOR = "#ff7f0e"


def _colour(name: str) -> str:
    return OURS if name.startswith("ours") else FLOOR if name.startswith("floor") else PEER


def _bars(ax: Any, values: Mapping[str, float], title: str, unit: str, log: bool) -> None:
    names = list(values)
    ax.barh(names, [values[n] for n in names], color=[_colour(n) for n in names])
    ax.invert_yaxis()
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(unit)
    if log:
        ax.set_xscale("log")
    ax.tick_params(axis="y", labelsize=7)


def draw(path: Path, charts: Mapping[str, Mapping[str, Any]], machine: str) -> None:
    """Draw every known panel present in `charts` into `path`."""
    panels: list[tuple[str, Mapping[str, float], str, bool]] = []
    if healthy := charts.get("healthy"):
        keep = {n: v[0] for n, v in healthy.items() if "exit" not in n and ", sync]" not in n}
        panels.append(("1. Healthy turn, median", keep, "ms", False))
    if quota := charts.get("quota"):
        panels.append(("2. Quota 429: first call until the backup answers, median",
                       {n: v[0] for n, v in quota.items()}, "ms (log)", True))  # fmt: skip
    for key, label in (("retry_after_1", "3a. Retry-After 1 s"),
                       ("retry_after_120", "3b. Retry-After 120 s")):  # fmt: skip
        if data := charts.get(key):
            panels.append((f"{label}: first call, median", {n: v[0] for n, v in data.items()},
                           "ms (log)", True))  # fmt: skip
    if tput := charts.get("throughput"):
        most = max(tput, key=int)
        panels.append((f"4. Throughput, {int(most):,} sessions", tput[most], "turns/s", False))
    rows = (len(panels) + 1) // 2 + (1 if "long" in charts else 0)
    fig = plt.figure(figsize=(14, 4.2 * max(rows, 1)))
    for index, (title, values, unit, log) in enumerate(panels):
        _bars(fig.add_subplot(rows, 2, index + 1), values, title, unit, log)
    if long := charts.get("long"):
        ax = fig.add_subplot(rows, 2, 2 * rows - 1)
        for name, points in long.items():
            xs = sorted(points)
            ax.plot(xs, [points[x] for x in xs], marker="o", label=name,
                    color=_colour(name), linestyle="-" if "sqlite" in name else "--")  # fmt: skip
        ax.set_xscale("log")
        ax.set_title("5. Long sessions: per-turn median vs messages in the thread", fontsize=10)
        ax.set_xlabel("messages in the thread")
        ax.set_ylabel("ms")
        ax.legend(fontsize=7)
    fig.suptitle(f"langgraph-failover vs peers: {machine}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
