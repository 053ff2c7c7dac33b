"""Set up and run the project with nothing but Python 3.11+ and pip.

    python3 dev.py demo    # make .venv, install, run the failover demo
    python3 dev.py test    # make .venv, install, run ruff, mypy, the docs build and the tests
    python3 dev.py bench   # also install the peers (LiteLLM, ...), run the benchmarks
    python3 dev.py docs    # regenerate the docs' generated blocks, build the site in site/
                           # (`readme` is the same command, by its old name)

The virtual environment lives at `.venv` in the repo root. Installs are pinned by
`constraints.txt` so every machine tests the same versions, and skipped when neither
`pyproject.toml` nor the constraints changed since the last install and the extras asked
for are already in (`bench` adds its extra to the same environment; `test` keeps it).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if sys.platform == "win32" else "bin")
STAMP = VENV / ".langgraph-failover-installed"
COVERAGE_FLOOR = 97.0


def run(*args: str | Path) -> None:
    """Run a command from the repo root; stop with its exit code if it fails."""
    print("+", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(done.returncode)


def setup(extras: tuple[str, ...] = ("dev",)) -> None:
    """Create .venv and install the project with `extras`, when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - must explain itself on an old Python
        raise SystemExit(f"langgraph-failover needs Python 3.11+, this is {sys.version.split()[0]}")
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()
    # The stamp holds two lines: the digest, and the extras installed with it.
    stamp = STAMP.read_text().split("\n") if STAMP.exists() else []
    installed = set(stamp[1].split(",")) if len(stamp) > 1 and stamp[0] == digest else set()
    if stamp and stamp[0] == digest and set(extras) <= installed:
        return
    wanted = sorted(set(extras) | installed)
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
        "-e", f".[{','.join(wanted)}]")  # fmt: skip
    STAMP.write_text(f"{digest}\n{','.join(wanted)}")


# The extras each command installs; `dev` pulls in every optional extra (redis,
# postgres, testing: the demo runs the emulators) and the test tools.
EXTRAS = {"demo": ("dev",), "test": ("dev",), "bench": ("dev", "bench"), "docs": ("dev",),
          "readme": ("dev",)}  # fmt: skip


# Material's notice about its successor, printed on every build, is not news to CI.
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def main(argv: list[str]) -> None:
    """Dispatch `demo`, `test`, `bench` or `docs`; extra arguments go to the command."""
    command, *rest = argv or ["help"]
    if command not in EXTRAS:
        raise SystemExit(__doc__)
    setup(EXTRAS[command])
    if command in ("docs", "readme"):
        run(BIN / "python", "-m", "langgraph_failover.graph.docs", "--write")
        run(BIN / "mkdocs", "build", "--strict", "--site-dir", ROOT / "site", *rest)
        return
    if command == "demo":
        run(BIN / "langgraph-failover", "demo", *rest)
        return
    if command == "bench":
        # LiteLLM fetches its model cost map from the internet on import unless told not to.
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        run(BIN / "python", "-m", "bench", *rest)
        return
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy")
    docs()
    # The floor is today's coverage (97.0 % of langgraph_failover), so it only goes up; a run of
    # a few chosen tests (extra arguments) covers less and is not held to it.
    floor = [] if rest else [f"--cov-fail-under={COVERAGE_FLOOR}"]
    run(BIN / "pytest", "--cov=langgraph_failover", "--cov-report=term-missing:skip-covered",
        *floor, *rest)  # fmt: skip


def docs() -> None:
    """Fail on a stale generated page, then build the docs strictly into a throwaway dir.

    `--strict` turns MkDocs' warnings (a broken link or anchor, a page left out of the
    nav, a missing include) into a failed build; not `--quiet`, which hides the warnings
    from `--strict` as well as from the log.
    """
    run(BIN / "python", "-m", "langgraph_failover.graph.docs", "--check")
    with tempfile.TemporaryDirectory(prefix="langgraph-failover-site-") as site:
        run(BIN / "mkdocs", "build", "--strict", "--site-dir", site)


if __name__ == "__main__":
    main(sys.argv[1:])
