"""The benchmark's own arithmetic and bookkeeping, without running a benchmark."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.failover import Run, _per_100
from bench.harness import interleaved, percentile, ratio, stats
from bench.pacing import allowed, charge
from bench.questions import questions
from bench.report import Section, Table, markdown, ms, times
from bench.throughput import pattern


@pytest.mark.parametrize(
    ("samples", "q", "expected"),
    [
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([float(i) for i in range(1, 101)], 99, 99.01),
        ([3.0, 1.0, 2.0], 0, 1.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
    ],
)
def test_percentile_interpolates_between_closest_ranks(
    samples: list[float], q: float, expected: float
) -> None:
    """Percentiles are linear between ranks, whatever the order of the samples."""
    assert percentile(samples, q) == pytest.approx(expected)


def test_percentile_refuses_no_samples() -> None:
    """An empty run is a bug in the scenario, not a zero."""
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_stats_reports_milliseconds() -> None:
    """Samples are taken in seconds and reported in milliseconds."""
    summary = stats([0.001, 0.002, 0.003])
    assert (summary.n, summary.median, summary.low) == (3, pytest.approx(2.0), pytest.approx(1.0))
    assert summary.mean == pytest.approx(2.0)


def test_ratio_of_a_zero_reference_is_infinite() -> None:
    """A ratio to nothing is infinite rather than a division error."""
    assert ratio(10.0, 2.0) == 5.0
    assert math.isinf(ratio(1.0, 0.0))


def test_interleaved_discards_warmup_and_runs_every_case_each_round() -> None:
    """Each case is prepared and timed once per round; warm-up rounds are not kept."""
    calls: list[str] = []

    def case(name: str) -> Any:
        def prepare() -> Any:
            calls.append(f"prepare {name}")
            return lambda: calls.append(f"run {name}")

        return prepare

    samples = interleaved({"a": case("a"), "b": case("b")}, rounds=4, warmup=2)
    assert {name: len(s) for name, s in samples.items()} == {"a": 4, "b": 4}
    assert calls.count("run a") == calls.count("run b") == 6
    assert all(s >= 0 for s in samples["a"])


def test_pattern_injects_exactly_thirty_percent() -> None:
    """The throughput script has exactly 30 % 429s, shuffled, the same on every run."""
    script = pattern(1000)
    kinds = [b.kind for b in script]
    assert kinds.count("rate_limited") == 300
    assert kinds != sorted(kinds)
    assert [b.kind for b in pattern(1000)] == kinds
    assert all(b.retry_after == 1 for b in script if b.kind == "rate_limited")


def test_requests_per_100_calls_count_one_first_call_and_the_steady_run() -> None:
    """One request on the first call then none while the circuit is open is 1 per 100."""
    run = Run(steady=[0.01] * 99, sequence_primary=1)
    assert _per_100(run) == 1.0


def test_markdown_has_the_machine_the_command_and_the_tables() -> None:
    """The results page states where and how it was measured, and every table."""
    table = Table("T", ["case", "median"], [["ours", ms(1.234)], ["peer", ms(1234.0)]], ["n"])
    page = markdown([Section("x", "1. X", [table], ["met"])], "python3 dev.py bench", ["ceiling"])
    assert "Machine: " in page
    assert "Reproduce: `python3 dev.py bench`" in page
    assert "| ours | 1.23 |" in page
    assert "| peer | 1,234 |" in page
    assert "- ceiling" in page
    assert "- met" in page
    assert times(152.4) == "152x"
    assert times(1.5) == "1.5x"


def test_the_pacing_scenario_counts_every_window_it_touched() -> None:
    """What a bucket allowed: windows begun x turns one window's binding budget covers."""
    assert charge() == 116  # 462 characters / 4, rounded up, as the emulator charges
    per_window = min(40, 4000 // 116)  # the tokens bind first: 34 turns
    assert (allowed(59.0), allowed(60.5), allowed(70.0)) == (per_window, 68, 68)


RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


@pytest.mark.parametrize("folder", ["", "stream-deadlines", "routing-before-failure"])
def test_every_recorded_question_has_its_chart(folder: str) -> None:
    """Each section of a recorded results page with a number to draw has its PNG beside it."""
    page = RESULTS / folder / "results.md"
    drawn = [q for q in questions(page.read_text(encoding="utf-8")) if q.value_column is not None]
    assert len(drawn) >= 3
    for question in drawn:
        assert (page.parent / f"{question.slug}.png").is_file(), question.title


def test_pacing_is_charted_by_its_429s_and_throughput_at_its_largest_load() -> None:
    """Pacing's chart counts 429s, hedging's times the answer, throughput the most sessions."""
    routing = (RESULTS / "routing-before-failure" / "results.md").read_text(encoding="utf-8")
    found = {q.slug: q for q in questions(routing)}
    pacing = found["9-primary-driven-above-its-rate-limit"]
    hedging = found["10-a-slow-primary-hedging-to-the"]
    assert pacing.columns[pacing.value_column or 0] == "429s"
    assert "time to answer" in hedging.columns[hedging.value_column or 0]
    page = (RESULTS / "results.md").read_text(encoding="utf-8")
    throughput = next(q for q in questions(page) if q.title == "4. Throughput")
    assert {row[1] for row in throughput.at_largest_load()} == {"1,000"}
    assert throughput.columns[throughput.value_column or 0] == "turns/s"
