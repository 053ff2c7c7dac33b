"""What ships around the graph: langgraph.json, the CLI demo and the public names."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import langgraph_failover
from langgraph_failover import AllProvidersFailed
from langgraph_failover.checkpoint import sqlite_checkpointer
from langgraph_failover.cli import DEMO_KEY, main, run_chat, run_history
from langgraph_failover.testing import OllamaEmulator, OpenAIEmulator, busy, ok, server_error
from tests.conftest import MakeGraph

ROOT = Path(__file__).resolve().parent.parent


def test_langgraph_json_loads_the_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    """langgraph.json's path resolves to a compiled graph without a checkpointer."""
    monkeypatch.setenv("LLM_FALLBACK_PROVIDER", "ollama,mock")
    spec = json.loads((ROOT / "langgraph.json").read_text())
    path, attribute = spec["graphs"]["langgraph_failover"].split(":")
    module_spec = importlib.util.spec_from_file_location("served_graph", ROOT / path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    graph = getattr(module, attribute)
    assert isinstance(graph, CompiledStateGraph)
    assert graph.checkpointer is None
    assert set(graph.nodes) == {"__start__", "openai", "ollama", "mock", "all_failed"}


def test_public_names() -> None:
    """The package exports the contract's names."""
    assert callable(langgraph_failover.build_graph)
    assert issubclass(langgraph_failover.AllProvidersFailed, Exception)


def test_demo_tells_the_story(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The demo's turns are served openai, openai, ollama, ollama, mock, openai (sticky)."""
    assert main(["demo", "--db", str(tmp_path / "demo.sqlite")]) == 0
    out = capsys.readouterr().out
    served = [line.split()[0].removeprefix("served_by=") for line in out.splitlines()
              if line.strip().startswith("served_by=")]  # fmt: skip
    assert served == ["openai", "openai", "ollama", "ollama", "mock", "openai"]
    assert "insufficient_quota   429" in out
    assert "the checkpoint holds all 12 messages" in out
    assert "ollama was sent 7 messages" in out  # turn 4: the whole conversation so far
    # turns 4 and 5 skip the primary while its circuit is open: no request at all
    assert out.count("openai was sent nothing") == 2
    assert "sticky: this thread skips openai (insufficient_quota)" in out
    assert DEMO_KEY not in (tmp_path / "demo.sqlite").read_bytes().decode("latin-1")


def test_console_script_refuses_bad_config(tmp_path: Path) -> None:
    """The installed command exits 2 with a message naming the bad provider."""
    env = {"PATH": str(Path(sys.executable).parent), "LLM_PROVIDER": "openia"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "langgraph-failover"), "chat", "--thread", "t",
         "--db", str(tmp_path / "c.sqlite")],
        env=env, capture_output=True, text=True, input="", timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown provider 'openia'; did you mean 'openai'? valid providers: openai, groq," in (
        done.stderr
    )


def test_chat_repl_answers_and_survives_all_down(
    make_graph: MakeGraph, openai_emu: OpenAIEmulator, ollama_emu: OllamaEmulator
) -> None:
    """Chat answers each line, says who served it, and keeps going when all are down."""
    openai_emu.script(ok("hello Aiko"), server_error(502))
    ollama_emu.script(busy())
    graph = make_graph(checkpointer=InMemorySaver(), fallback_provider="ollama")
    out = io.StringIO()
    assert run_chat(graph, "t1", io.StringIO("hi\nare you there?\nbye\n\nignored\n"), out) == 0
    text = out.getvalue()
    assert "hello Aiko\n  [served_by=openai]" in text
    assert "! all providers failed: openai(gpt-4o-mini): server_error [502]" in text
    assert "[served_by=openai]" in text.split("! all providers failed")[1]
    history = graph.get_state({"configurable": {"thread_id": "t1"}}).values["messages"]
    assert [m.content for m in history if m.type == "human"] == ["hi", "are you there?", "bye"]


def test_history_shows_who_answered_each_turn_and_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """After the demo, history lists each turn, who served it and the failed attempts."""
    db = tmp_path / "demo.sqlite"
    assert main(["demo", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["history", "--thread", "demo", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    served = [line.split()[0] for line in out.splitlines() if "served_by=" in line]
    assert served == [f"served_by={p}" for p in
                      ("openai", "openai", "ollama", "ollama", "mock", "openai")]  # fmt: skip
    assert "insufficient_quota 429" in out and "server_error 503" in out
    assert main(["history", "--thread", "nope", "--db", str(db)]) == 1


def test_history_shows_unanswered_turns(
    make_graph: MakeGraph,
    openai_emu: OpenAIEmulator,
    ollama_emu: OllamaEmulator,
    tmp_path: Path,
) -> None:
    """A turn every provider failed shows as not answered, and later turns still show."""
    db = tmp_path / "t.sqlite"
    config = {"configurable": {"thread_id": "down"}}
    with sqlite_checkpointer(db) as saver:
        graph = make_graph(checkpointer=saver, fallback_provider="ollama")
        openai_emu.script(server_error(500))
        ollama_emu.script(busy())
        with pytest.raises(AllProvidersFailed):
            graph.invoke({"messages": [("user", "first")]}, config)
        graph.invoke({"messages": [("user", "second")]}, config)
    out = io.StringIO()
    assert run_history(db, "down", out) == 0
    assert out.getvalue().splitlines()[:3] == [
        "human: first",
        "  not answered: every provider failed",
        "human: second",
    ]


def _project() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"])


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(r).name) for r in requirements}


OPTIONAL = {
    "redis": {"redis"},
    "postgres": {"psycopg", "langgraph-checkpoint-postgres"},
    "testing": {"aiohttp"},
}


def test_optional_dependencies_are_extras() -> None:
    """Redis, PostgreSQL and the emulators' aiohttp are extras, not core dependencies."""
    project = _project()
    core = _names(project["dependencies"])
    extras = project["optional-dependencies"]
    for extra, names in OPTIONAL.items():
        assert not names & core, f"{names & core} must be in the {extra} extra only"
        assert _names(extras[extra]) == names
    assert "psycopg[binary,pool]>=3.2,<4" in extras["postgres"]


def test_dev_installs_every_extra() -> None:
    """`dev` (what dev.py's demo and test install) pulls in every optional extra."""
    dev = [Requirement(r) for r in _project()["optional-dependencies"]["dev"]]
    (itself,) = [r for r in dev if canonicalize_name(r.name) == "langgraph-failover"]
    assert itself.extras == set(OPTIONAL)
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev_script)
    assert all("dev" in extras for extras in dev_script.EXTRAS.values())


def test_constraints_pin_every_extra() -> None:
    """constraints.txt pins each extra's packages, so every machine tests the same ones."""
    pinned = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for names in OPTIONAL.values():
        assert names <= pinned


def test_the_built_wheel_is_langgraph_failover(tmp_path: Path) -> None:
    """The wheel pip builds installs `langgraph_failover` and the `langgraph-failover` command."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert {n.split("/")[0] for n in names} == {"langgraph_failover", info}
    assert "langgraph_failover/py.typed" in names
    assert re.search(r"^Name: langgraph-failover$", metadata, re.M)
    assert "langgraph-failover = langgraph_failover.cli:main" in entry_points
    # Imported from the wheel itself (a pure-Python wheel is a zip Python can import from),
    # isolated from this checkout and its editable install.
    found = subprocess.run(
        [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "import langgraph_failover as p; print(p.__file__)", str(wheel)],
        check=True, capture_output=True, text=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert found.startswith(str(wheel))


def test_every_installed_pin_runs_on_the_oldest_python_promised() -> None:
    """Every package the dev install pulled in admits Python 3.11.0, as the README promises.

    A pin that needs a later 3.11 (pymdown-extensions 13 wants 3.11.5) breaks the two
    commands on Debian 12's Python 3.11.2 before any test runs.
    """
    assert _project()["requires-python"] == ">=3.11"
    too_new = {
        f"{dist.metadata['Name']} {dist.version}: {needs}"
        for dist in importlib.metadata.distributions()
        if (needs := dist.metadata.get("Requires-Python"))
        and not SpecifierSet(needs).contains("3.11.0")
    }
    assert too_new == set()


def test_no_imports_from_private_modules() -> None:
    """Public APIs of LangGraph and langchain-core only, but for the one in Known limits."""
    allowed = {"from langgraph._internal._runnable import RunnableCallable"}
    private = re.compile(r"^\s*(?:from|import) ((?:langgraph|langchain_core)\S*\._\S*).*$", re.M)
    found = {
        match.group(0).split("#")[0].strip()
        for path in (ROOT / "langgraph_failover").rglob("*.py")
        for match in private.finditer(path.read_text())
    }
    assert found <= allowed, found - allowed
    assert "RunnableCallable" in (ROOT / "docs" / "known-limits.md").read_text()


# A `pip install` and what it installs, over a line break too ("... pip install\n'x[y]'").
PIP_INSTALL = re.compile(r"pip install\s+((?:-\S+\s+)*)([^\s`]+)")


def _pip_installs() -> list[tuple[str, str]]:
    """Every `pip install X` in the README, the docs pages and the package's own messages."""
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    files += sorted((ROOT / "langgraph_failover").rglob("*.py"))
    return [
        (f"{path.relative_to(ROOT)}: {match.group(0)}", match.group(2).strip("'\""))
        for path in files
        for match in PIP_INSTALL.finditer(path.read_text(encoding="utf-8"))
    ]


def test_one_name_from_the_index_to_the_import() -> None:
    """Distribution, import package, command and every documented install line agree."""
    project = _project()
    assert project["name"] == "langgraph-failover"
    assert project["scripts"] == {"langgraph-failover": "langgraph_failover.cli:main"}
    assert langgraph_failover.__name__ == "langgraph_failover"
    assert importlib.metadata.packages_distributions()["langgraph_failover"][0] == project["name"]
    installs = _pip_installs()
    ours = [
        (where, Requirement(target))
        for where, target in installs
        if "failover" in target.replace("_", "-") and "{" not in target
    ]  # but extras.py's template, f"...[{extra}]"
    assert any(w.startswith("README.md: pip install langgraph-failover") for w, _ in ours)
    assert any(w.startswith("docs/index.md: pip install langgraph-failover") for w, _ in ours)
    for where, requirement in ours:
        assert requirement.name == project["name"], where  # never llm-failover, llm_failover
        assert requirement.extras <= set(project["optional-dependencies"]), where
