"""The docs' reference blocks, each rendered from the code that defines what it shows.

`settings_reference()` renders the declared settings (`declared.py`), `common_settings()`
the few most people change (for the README); `providers_table()` the provider registry's
built-in types and their variables; `run_settings_table()` `Context`'s fields with the
descriptions Studio shows; `graph_drawing()` the compiled graph, as LangGraph draws it;
`module_map()` every module of the package with the first line of its docstring. The
failure-policy table is `kinds.policy_table()`. `docs.py` puts each into its pages.
"""

from __future__ import annotations

import ast
import dataclasses
import pkgutil
from collections.abc import Iterator
from pathlib import Path

from langgraph_failover.graph.builder import build_graph
from langgraph_failover.graph.context import Context
from langgraph_failover.graph.declared import BY_ENV, SETTINGS, Setting
from langgraph_failover.graph.limits import DEFAULT_GRANTS
from langgraph_failover.health.store import make_store
from langgraph_failover.providers.entry import FIELDS
from langgraph_failover.providers.registry import BUILT_IN

COMMON = (
    "LLM_PROVIDER",
    "LLM_MODEL",
    "LLM_FALLBACK_PROVIDER",
    "LLM_FALLBACK_MODEL",
    "LLM_FAILOVER_TIMEOUT",
    "LLM_FAILOVER_FIRST_TOKEN_TIMEOUT",
    "LLM_FAILOVER_REDIS_URL",
    "LLM_FAILOVER_CHECKPOINT_URL",
)
"""The settings the README shows: the chain, its models, the timeouts, the shared stores."""

PACKAGE = Path(__file__).resolve().parents[1]


def settings_reference() -> str:
    """One block per declared setting: its variable as a heading, then its facts and meaning.

    A heading per setting rather than a six-column table: the names never break mid-word,
    a phone shows them as well as a laptop, and each has an anchor and a line in the
    page's contents. The facts line names only what the setting has (a keyword, a run
    field, a range).
    """
    blocks = []
    for s in SETTINGS:
        facts = [f"{label} {_code(value)}" for label, value in
                 (("keyword", s.keyword), ("run field", s.field)) if value]  # fmt: skip
        facts.append(f"default {_default(s)}")
        if s.bound:
            facts.append(f"range: {s.bound.describe()}")
        line = " · ".join(facts)
        blocks.append(f"### {_code(s.env)}\n\n{line[0].upper()}{line[1:]}\n\n{s.about}")
    return "\n\n".join(blocks)


def common_settings(link_prefix: str = "docs/") -> str:
    """The README's few settings; links into the docs pages get `link_prefix` in front."""
    rows = [_row("Variable", "Default", "Meaning"), _row(*["---"] * 3)]
    for env in COMMON:
        s = BY_ENV[env]
        about = s.about.replace("](", f"]({link_prefix}")
        rows.append(_row(_code(s.env), _default(s), about))
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


def graph_drawing() -> str:
    """The default chain's graph (openai, ollama, mock), drawn by LangGraph as Mermaid.

    Built with the chain named and the process circuit store, so neither the caller's
    environment nor a Redis URL in it changes the drawing.
    """
    graph = build_graph(provider="openai", fallback_provider="ollama,mock",
                        circuit_store=make_store(None))  # fmt: skip
    mermaid = graph.get_graph().draw_mermaid().replace("\t", "    ").strip()
    return f"```mermaid\n{mermaid}\n```"


def module_map() -> str:
    """One row per module of the package, with the first line of its docstring.

    Read from the source files (`ast`), not imported: some modules need an extra, and the
    served graph is built when its module is imported.
    """
    rows = [_row("Module", "What it holds"), _row(*["---"] * 2)]
    for name, path in _modules(PACKAGE, "langgraph_failover"):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        rows.append(_row(_code(name), doc.split("\n", 1)[0] or "—"))
    return "\n".join(rows)


def _modules(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """The package at `folder` and every module under it, depth first, in name order."""
    yield prefix, folder / "__init__.py"
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda i: i.name):
        name = f"{prefix}.{info.name}"
        if info.ispkg:
            yield from _modules(folder / info.name, name)
        else:
            yield name, folder / f"{info.name}.py"


def _default(s: Setting) -> str:
    """A setting's default as the tables show it."""
    return s.shown or (f"`{s.text}`" if s.text is not None else "unset")


def _row(*cells: str) -> str:
    """A Markdown table row; a `|` inside a cell is escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _code(name: str | None) -> str:
    """A name as code, or a dash for none."""
    return f"`{name}`" if name else "—"
