"""The README's reference tables, generated from the code that defines them.

`configuration_table()` renders the declared settings (`declared.py`);
`providers_table()` the provider registry's built-in types and their variables;
`kinds.policy_table()` what each error kind leads to (the failure-policy table);
`run_settings_table()` renders `Context`'s fields with the descriptions Studio shows. Each
lives in README.md between `<!-- NAME:start ... -->` and `<!-- NAME:end -->`:

    python -m llm_failover.graph.docs --write   # regenerate the tables in README.md
    python -m llm_failover.graph.docs --check   # exit 1 when README.md is stale

A test runs the check, so a setting changed in code and not in the README fails the suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from llm_failover.graph.context import Context
from llm_failover.graph.declared import SETTINGS
from llm_failover.graph.limits import DEFAULT_GRANTS
from llm_failover.kinds import policy_table
from llm_failover.providers.entry import FIELDS
from llm_failover.providers.registry import BUILT_IN


def configuration_table() -> str:
    """One row per declared setting: variable, keyword, run field, default, range, meaning."""
    rows = [_row("Variable", "Keyword", "Run field", "Default", "Range", "Meaning"),
            _row(*["---"] * 6)]  # fmt: skip
    for s in SETTINGS:
        default = s.shown or (f"`{s.text}`" if s.text is not None else "unset")
        rng = s.bound.describe() if s.bound else "—"
        rows.append(_row(_code(s.env), _code(s.keyword), _code(s.field), default, rng, s.about))
    return "\n".join(rows)


def providers_table() -> str:
    """One row per built-in provider type (`providers/registry.py`), then any other name."""
    rows = [_row("Provider", "Client", "Variables (keyword: the name in lower case)",
                 "Defaults"), _row(*["---"] * 4)]  # fmt: skip
    for entry in BUILT_IN.values():
        reads = [_code(entry.env_name(f)) + (" (required)" if f == "api_key" and
                 entry.key_required else "") for f in FIELDS if f in entry.reads]  # fmt: skip
        defaults = [_code(v) for v in (entry.default_base_url, entry.default_model) if v]
        if entry.context_tokens:
            defaults.append(f"{entry.context_tokens:,}-token window")
        if entry.last_resort:
            defaults = ["the last resort: must be last, never fails, answers `degraded`"]
        rows.append(_row(_code(entry.name), _code(entry.client_name),
                         ", ".join(reads) or "nothing", ", ".join(defaults) or "—"))  # fmt: skip
    rows.append(_row("any other name", "`ChatOpenAI`",
                     "`<NAME>_BASE_URL` (required), `<NAME>_API_KEY`, `<NAME>_MODEL` (required "
                     "unless `LLM_MODEL` / `LLM_FALLBACK_MODEL` name one)",
                     "no key: sends `EMPTY`, as vLLM expects"))  # fmt: skip
    return "\n".join(rows)


def run_settings_table() -> str:
    """One row per `Context` field: whether runs may set it by default, and what it does."""
    rows = [_row("Field", "Granted by default", "What it does for this run"), _row(*["---"] * 3)]
    for field in dataclasses.fields(Context):
        granted = "yes" if field.name in DEFAULT_GRANTS else "no"
        rows.append(_row(_code(field.name), granted, field.metadata["description"]))
    return "\n".join(rows)


BLOCKS: Mapping[str, Callable[[], str]] = {
    "settings": configuration_table,
    "providers": providers_table,
    "kinds": policy_table,
    "run-settings": run_settings_table,
}
"""Each generated block of the README, by its marker name."""


def render(readme: str) -> str:
    """`readme` with every generated block replaced by its table as the code has it now."""
    for name, table in BLOCKS.items():
        start, end = f"<!-- {name}:start", f"<!-- {name}:end -->"
        block = re.compile(rf"(^{re.escape(start)}[^\n]*\n).*?(^{re.escape(end)})", re.S | re.M)
        found = block.search(readme)
        if found is None:
            raise ValueError(f"README has no block {start} ... --> ... {end}")
        readme = f"{readme[: found.end(1)]}{table()}\n{readme[found.start(2) :]}"
    return readme


def main(argv: Sequence[str] | None = None) -> int:
    """`--write` regenerates the README's tables; `--check` exits 1 when they are stale."""
    parser = argparse.ArgumentParser(prog="python -m llm_failover.graph.docs")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 when README.md is stale")
    mode.add_argument("--write", action="store_true", help="regenerate the tables in it")
    parser.add_argument("readme", nargs="?", type=Path, default=Path("README.md"))
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    fresh = render(text)
    if args.write:
        args.readme.write_text(fresh, encoding="utf-8")
        return 0
    if fresh != text:
        print(f"{args.readme} is stale: run python -m llm_failover.graph.docs --write")
        return 1
    return 0


def _row(*cells: str) -> str:
    """A Markdown table row; a `|` inside a cell is escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _code(name: str | None) -> str:
    """A name as code, or a dash for none."""
    return f"`{name}`" if name else "—"


if __name__ == "__main__":
    sys.exit(main())
