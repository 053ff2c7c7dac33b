"""The troubleshooting page: an entry for every refusal the package raises, and true output.

Every `raise` of `ConfigError`, `InvalidInput`, `ThreadBusy` or `CheckpointUnavailable` (or
of a subclass the package defines) is found by reading the package's source, and must be
listed in `FAMILIES` with the page's section that explains its message; each example on
the page followed by a `text` block must print exactly that text.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import langgraph_failover
from langgraph_failover.errors import ConfigError, InvalidInput, ThreadBusy
from langgraph_failover.postgres import CheckpointUnavailable

from .conftest import DocBlock, doc_blocks, run_block

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "troubleshooting.md"

# Where each refusal is raised (module:function) -> the page's section (its anchor) that
# shows its message, says what it means and what to do. A new raise site fails the first
# test until it is added here and its message family is on the page.
FAMILIES = {
    "langgraph_failover.graph.settings:_check_keywords": "unknown-keyword",
    "langgraph_failover.providers.registry:provider_type": "unknown-provider",
    "langgraph_failover.graph.chain:load_chain": "chain",
    "langgraph_failover.graph.chain:_fallback_names": "chain",
    "langgraph_failover.graph.chain:_fallback_models": "chain",
    "langgraph_failover.graph.chain:_model": "chain",
    "langgraph_failover.graph.chain:_windows.tokens": "bad-value",
    "langgraph_failover.graph.by_name:per_node": "bad-value",
    "langgraph_failover.graph.values:seconds": "bad-value",
    "langgraph_failover.graph.values:count": "bad-value",
    "langgraph_failover.graph.settings:_switch": "bad-value",
    "langgraph_failover.graph.limits:parse_grants": "bad-value",
    "langgraph_failover.extras:require": "missing-extra",
    "langgraph_failover.postgres:describe": "checkpoint-url",
    "langgraph_failover.graph.limits:check_grants": "not-granted",
    "langgraph_failover.graph.context:context_of": "run-value",
    "langgraph_failover.graph.limits:check_options": "run-value",
    "langgraph_failover.graph.limits:check_name": "run-value",
    "langgraph_failover.graph.limits:check_count": "run-value",
    "langgraph_failover.graph.limits:_tools": "run-value",
    "langgraph_failover.graph.limits:_stop": "run-value",
    "langgraph_failover.graph.limits:_json_size": "run-value",
    "langgraph_failover.graph.run:Plan._capped": "run-value",
    "langgraph_failover.graph.run:Plan._nodes": "run-value",
    "langgraph_failover.graph.run:Plan._route": "run-value",
    "langgraph_failover.graph.run:Plan._models": "run-value",
    "langgraph_failover.graph.guard:check_run": "input",
    "langgraph_failover.graph.guard:_command_updates": "input",
    "langgraph_failover.graph.guard:check_thread_id": "thread-id",
    "langgraph_failover.graph.guard:check_messages": "messages",
    "langgraph_failover.graph.guard:check_tree": "messages",
    "langgraph_failover.graph.guard:check_text": "messages",
    "langgraph_failover.graph.guard:_message": "messages",
    "langgraph_failover.graph.guarded:_turn": "thread-busy",
    "langgraph_failover.graph.guarded:_aturn": "thread-busy",
    "langgraph_failover.postgres:unavailable": "checkpoint-unavailable",
}

# A python block, then (blank lines between) the text block that is its output.
_EXAMPLE = re.compile(r"^```python\n((?:(?!```).*\n)*)```\n\s*```text\n((?:(?!```).*\n)*)```", re.M)


def refusals() -> set[str]:
    """The names of the four refusals and of every subclass of them the package defines."""
    for module in pkgutil.walk_packages(langgraph_failover.__path__, "langgraph_failover."):
        importlib.import_module(module.name)  # so that every subclass is defined
    found: set[str] = set()
    todo: list[type] = [ConfigError, InvalidInput, ThreadBusy, CheckpointUnavailable]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def raise_sites() -> set[str]:
    """`module:function` of every `raise <refusal>(...)` in the package's source."""
    package, names = Path(langgraph_failover.__file__).parent, refusals()
    found: set[str] = set()
    for path in package.rglob("*.py"):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts)
        _walk(ast.parse(path.read_text(encoding="utf-8")), module, [], (names, found))
    return found


def _walk(node: ast.AST, module: str, where: list[str], into: tuple[set[str], set[str]]) -> None:
    """Collect the raise sites under `node`, named by their enclosing functions and classes."""
    names, found = into
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _walk(child, module, [*where, child.name], into)
            continue
        if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call):
            func = child.exc.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in names:
                found.add(f"{module}:{'.'.join(where)}")
        _walk(child, module, where, into)


def test_every_refusal_has_a_section() -> None:
    """Each raise site is listed with a section of the page, and each listed one still raises."""
    sites = raise_sites()
    assert len(sites) > 30  # the walk finds them: a broken one would pass on an empty set
    assert sorted(sites - set(FAMILIES)) == [], "add these to FAMILIES and to the page"
    assert sorted(set(FAMILIES) - sites) == [], "no longer raised: drop them from FAMILIES"
    anchors = set(re.findall(r"^#+ .*\{#([a-z-]+)\}$", PAGE.read_text(encoding="utf-8"), re.M))
    assert sorted(set(FAMILIES.values()) - anchors) == []


def _examples() -> list[object]:
    """The page's blocks that show their output: (the block, what it prints)."""
    text = PAGE.read_text(encoding="utf-8")
    shown = {text[: m.start()].count("\n") + 1: m[2] for m in _EXAMPLE.finditer(text)}
    return [
        pytest.param(block, shown[block.line], id=f"line {block.line}")
        for block in doc_blocks(ROOT)
        if block.page == "docs/troubleshooting.md" and block.line in shown
    ]


@pytest.mark.parametrize(("block", "shown"), _examples())
def test_each_example_prints_what_the_page_shows(
    block: DocBlock, shown: str, example_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example, run as every docs example is (`example_env`), prints what follows it."""
    run_block(block)
    assert capsys.readouterr().out == shown
