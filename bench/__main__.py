"""`python -m bench [--quick] [--only NAME ...]`: run the scenarios, write the results.

Run through `python3 dev.py bench`, which installs the peers first. A full run writes
`bench/results/results.md` and `chart.png`; `--quick` is a smoke run with a handful of
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

from bench import ceiling, failover, healthy, long_sessions, profile, throughput
from bench.env import Env, started
from bench.report import Section, write

RESULTS = Path(__file__).resolve().parent / "results"
SCENARIOS: dict[str, Callable[[Env], list[Section]]] = {
    "healthy": lambda env: [healthy.run(env)],
    "failover": failover.run,
    "throughput": lambda env: [throughput.run(env)],
    "long": lambda env: [long_sessions.run(env)],
    "profile": lambda env: [profile.run(env, RESULTS if not env.quick else env.tmp)],
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
        with started(Path(tmp), quick=args.quick) as env:
            limits = ceiling.run(env)
            for name in args.only:
                print(f"== {name}", file=sys.stderr, flush=True)
                sections += SCENARIOS[name](env)
        command = "python3 dev.py bench" + (" --quick" if args.quick else "")
        page = write(out, sections, command, limits)
        print(page.read_text())
        elapsed = time.perf_counter() - started_at
        print(f"wrote {page} and {out / 'chart.png'} in {elapsed:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
