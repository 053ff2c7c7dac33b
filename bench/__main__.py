"""`python -m bench [--quick] [--only NAME ...]`: run the scenarios, write the results.

Run through `python3 dev.py bench`, which installs the peers first. A full run writes
`bench/results/results.md` and a chart per question; `--quick` is a smoke run with a handful of
repetitions that writes to a temporary folder unless `--out` is given.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before anything imports it

from bench import (
    anatomy,
    ceiling,
    deadlines,
    entry,
    failover,
    healthy,
    hedging,
    long_sessions,
    pacing,
    profile,
    throughput,
)
from bench.env import Env, started
from bench.report import Section, write

RESULTS = Path(__file__).resolve().parent / "results"
# name -> (env, results folder) -> sections
SCENARIOS: dict[str, Callable[[Env, Path], list[Section]]] = {
    "healthy": lambda env, _out: [healthy.run(env)],
    "anatomy": lambda env, _out: [anatomy.run(env)],
    "failover": lambda env, _out: failover.run(env),
    "throughput": lambda env, _out: [throughput.run(env)],
    "long": lambda env, _out: [long_sessions.run(env)],
    "deadlines": lambda env, _out: deadlines.run(env),
    "entry": lambda env, _out: [entry.run(env)],
    "pacing": lambda env, _out: [pacing.run(env)],
    "hedging": lambda env, _out: [hedging.run(env)],
    "profile": lambda env, out: [profile.run(env, out)],
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen scenarios against emulators in child processes; write the report."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few repetitions")
    parser.add_argument("--only", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--out", type=Path, help="results folder (default: bench/results)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or (Path(tmp) / "results" if args.quick else RESULTS)
        sections: list[Section] = []
        started_at = time.perf_counter()
        command = "python3 dev.py bench" + (" --quick" if args.quick else "")
        with started(Path(tmp), quick=args.quick) as env:
            limits = ceiling.run(env)
            for name in args.only:
                print(f"== {name}", file=sys.stderr, flush=True)
                sections += SCENARIOS[name](env, out)
                write(out, sections, command, limits, chart=False)  # kept if a later one fails
        page = write(out, sections, command, limits)
        print(page.read_text())
        elapsed = time.perf_counter() - started_at
        print(f"wrote {page} and its charts in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
