"""Timing and statistics: interleaved repetitions, medians, p99 and ratios.

Cases measured against each other run interleaved, in a shuffled order on every round,
so that drift on the machine (a noisy neighbour, CPU frequency, a growing heap) falls on
all of them alike instead of on whichever ran last.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# A case is prepared untimed and returns the call to time: `case()()`.
Case = Callable[[], Callable[[], Any]]


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary of one set of samples, in milliseconds."""

    n: int
    median: float
    p99: float
    mean: float
    low: float
    """The fastest sample."""


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)


def stats(seconds: Sequence[float]) -> Stats:
    """Median, p99, mean and minimum of samples given in seconds, reported in ms."""
    ms = [s * 1000 for s in seconds]
    return Stats(n=len(ms), median=percentile(ms, 50), p99=percentile(ms, 99),
                 mean=sum(ms) / len(ms), low=min(ms))  # fmt: skip


def ratio(peer: float, ours: float) -> float:
    """How many times `peer` is of `ours` (inf when ours is 0)."""
    return peer / ours if ours > 0 else math.inf


def time_call(call: Callable[[], Any]) -> float:
    """Seconds one call takes (monotonic, high resolution)."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def interleaved(
    cases: Mapping[str, Case], rounds: int, *, warmup: int = 3, seed: int = 6
) -> dict[str, list[float]]:
    """Run every case once per round in a shuffled order; the samples in seconds.

    The first `warmup` rounds are run and discarded (connections, caches, imports).
    """
    order = list(cases)
    shuffle = random.Random(seed).shuffle
    samples: dict[str, list[float]] = {name: [] for name in order}
    for index in range(warmup + rounds):
        shuffle(order)
        for name in order:
            taken = time_call(cases[name]())
            if index >= warmup:
                samples[name].append(taken)
    return samples
