"""The README's and the docs pages' generated blocks, written from the code.

Each generated block sits in a page between `<!-- NAME:start ... -->` and
`<!-- NAME:end -->`; `BLOCKS` renders it (`reference.py`, `kinds.policy_table`) and
`PAGES` says which page holds which blocks, so a marker lost in an edit fails too:

    python -m langgraph_failover.graph.docs --write   # regenerate every page's blocks
    python -m langgraph_failover.graph.docs --check   # exit 1 when a page is stale

`python3 dev.py docs` (alias `readme`) runs `--write`; `python3 dev.py test` runs
`--check` and a test does too, so a setting changed in code and not in the docs fails.
The rest of each page is prose, written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from langgraph_failover.graph.reference import (
    common_settings,
    graph_drawing,
    module_map,
    providers_table,
    run_settings_table,
    settings_reference,
)
from langgraph_failover.kinds import policy_table

BLOCKS: Mapping[str, Callable[[], str]] = {
    "settings": settings_reference,
    "common-settings": common_settings,
    "providers": providers_table,
    "kinds": policy_table,
    "run-settings": run_settings_table,
    "graph": graph_drawing,
    "modules": module_map,
}
"""Each generated block, by its marker name."""

PAGES: Mapping[str, tuple[str, ...]] = {
    "README.md": ("graph", "common-settings"),
    "docs/index.md": ("graph",),
    "docs/configuration.md": ("settings", "providers", "run-settings"),
    "docs/failure-policy.md": ("kinds",),
    "docs/design.md": ("graph", "modules"),
}
"""The blocks each page holds, by its path from the repository's root."""


def render(text: str, names: Sequence[str] | None = None) -> str:
    """`text` with its generated blocks replaced by what the code has now.

    `names`: the blocks it must hold (refused with a ValueError when one is missing);
    None: whichever blocks it holds.
    """
    cache: dict[str, str] = {}  # a block held twice (the graph) is built once
    for name, block in BLOCKS.items():
        start, end = f"<!-- {name}:start", f"<!-- {name}:end -->"
        pattern = re.compile(rf"(^{re.escape(start)}[^\n]*\n).*?(^{re.escape(end)})", re.S | re.M)
        found = pattern.search(text)
        if found is None:
            if names is not None and name in names:
                raise ValueError(f"no block {start} ... --> ... {end}")
            continue
        fresh = cache.setdefault(name, block())
        text = f"{text[: found.end(1)]}{fresh}\n{text[found.start(2) :]}"
    return text


def stale(root: Path) -> list[str]:
    """The pages under `root` whose generated blocks differ from the code's (none: fresh)."""
    return [page for page, names in PAGES.items() if _fresh(root / page, names) is not None]


def write(root: Path) -> list[str]:
    """Regenerate every page's blocks under `root`; the pages that changed."""
    changed = []
    for page, names in PAGES.items():
        fresh = _fresh(root / page, names)
        if fresh is not None:
            (root / page).write_text(fresh, encoding="utf-8")
            changed.append(page)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """`--write` regenerates the pages' blocks; `--check` exits 1 when one is stale."""
    parser = argparse.ArgumentParser(prog="python -m langgraph_failover.graph.docs")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 when a page is stale")
    mode.add_argument("--write", action="store_true", help="regenerate the pages' blocks")
    parser.add_argument("--root", type=Path, default=Path(), help="the repository's root")
    args = parser.parse_args(argv)
    if args.write:
        for page in write(args.root):
            print(f"wrote {page}")
        return 0
    pages = stale(args.root)
    for page in pages:
        print(f"{page} is stale: run python -m langgraph_failover.graph.docs --write")
    return 1 if pages else 0


def _fresh(path: Path, names: Sequence[str]) -> str | None:
    """The page at `path` regenerated, or None when it is already current."""
    text = path.read_text(encoding="utf-8")
    try:
        fresh = render(text, names)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return None if fresh == text else fresh


if __name__ == "__main__":
    sys.exit(main())
