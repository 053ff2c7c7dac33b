"""The README and the docs pages: generated blocks fresh, links whole, the README short.

`python3 dev.py test` also builds the pages with `mkdocs build --strict`, which fails on a
broken link or anchor inside `docs/`; these tests hold what the build cannot see.
"""

from __future__ import annotations

import pkgutil
import re
import shutil
from pathlib import Path

import pytest

import langgraph_failover
from langgraph_failover.graph import docs
from langgraph_failover.graph.reference import graph_drawing
from langgraph_failover.testing import OpenAIEmulator, quota

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PACKAGES = ("graph", "nodes", "health", "providers", "testing")


def test_every_generated_page_is_fresh() -> None:
    """Each page's generated blocks are what the code renders now (else: python3 dev.py docs)."""
    assert docs.stale(ROOT) == []
    assert docs.main(["--check", "--root", str(ROOT)]) == 0


def test_check_fails_on_a_stale_page_and_write_fixes_it(tmp_path: Path) -> None:
    """`--check` exits 1 on a page whose default drifted; `--write` makes it current."""
    for page in docs.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    page = tmp_path / "docs" / "configuration.md"
    row = "| `LLM_FAILOVER_TURN_BUDGET` | `turn_budget` | `turn_budget` | `60` |"
    page.write_text(page.read_text().replace(row, row.replace("`60`", "`90`")))
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
    assert docs.main(["--write", "--root", str(tmp_path)]) == 0
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0
    assert page.read_text() == (ROOT / "docs" / "configuration.md").read_text()


def test_a_page_that_lost_its_block_is_refused(tmp_path: Path) -> None:
    """A page whose markers were edited away fails the check, naming the page and block."""
    for page in docs.PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / page, tmp_path / page)
    page = tmp_path / "docs" / "failure-policy.md"
    page.write_text(page.read_text().replace("<!-- kinds:end -->", ""))
    with pytest.raises(ValueError, match=r"failure-policy\.md: no block <!-- kinds:start"):
        docs.stale(tmp_path)


def test_the_drawing_does_not_depend_on_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated graph is the default chain's, whatever chain the shell configures."""
    drawn = graph_drawing()
    monkeypatch.setenv("LLM_PROVIDER", "mock")
    monkeypatch.setenv("LLM_FALLBACK_PROVIDER", "none")
    assert graph_drawing() == drawn
    for edge in ("openai -.-> ollama;", "ollama -.-> mock;", "mock --> __end__;"):
        assert edge in drawn


def test_the_module_map_has_every_module_with_its_docstring() -> None:
    """Each module of the package is a row of the design page, with a docstring line."""
    design = (ROOT / "docs" / "design.md").read_text()
    modules = [
        m.name for m in pkgutil.walk_packages(langgraph_failover.__path__, "langgraph_failover.")
    ]
    assert len(modules) > 50
    for name in modules:
        assert re.search(rf"^\| `{re.escape(name)}` \| [^—]", design, re.M), name


@pytest.mark.parametrize("package", PACKAGES)
def test_package_docstrings_name_their_modules(package: str) -> None:
    """A package's docstring names every module it holds, so it cannot go stale unseen."""
    folder = Path(langgraph_failover.__file__).parent / package
    text = (folder / "__init__.py").read_text().split('"""')[1]
    for module in pkgutil.iter_modules([str(folder)]):
        assert f"`{module.name}`" in text, f"langgraph_failover/{package}: {module.name}"


def test_the_readme_is_a_front_door() -> None:
    """At most 12 KB, the factory swap on the first screen, the set-up commands as CI runs."""
    text = README.read_text(encoding="utf-8")
    assert len(text.encode()) <= 12 * 1024
    first_screen = "\n".join(text.splitlines()[:40])
    assert "return langgraph_failover.create_chat_model(temperature=temperature, tools=tools)" in (
        first_screen
    )
    assert "python3 dev.py demo    # the scripted failover demo\n" in text
    assert "python3 dev.py test    # ruff, mypy --strict, and the test suite\n" in text


def test_the_readme_links_to_pages_that_exist() -> None:
    """Every relative link of the README (which MkDocs does not build) names a real file."""
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    assert "docs/moving.md" in links
    for link in links:
        assert (ROOT / link).exists(), link


@pytest.mark.usefixtures("app_env")
def test_the_readme_snippets_run(openai_emu: OpenAIEmulator) -> None:
    """The README's factory, sync graph and drop-in snippets fail over: Ollama answers."""
    openai_emu.script(quota())  # then the circuit is open: Ollama answers every call
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    shown = ("def create_chat_model(", "InMemorySaver()", "llm = langgraph_failover.create_")
    factory, graph, drop_in = ({"__name__": "readme"} for _ in range(3))
    for text, namespace in zip(shown, (factory, graph, drop_in), strict=True):
        (code,) = [block for block in blocks if text in block]
        exec(compile(code, "README.md", "exec"), namespace)
    answer = factory["create_chat_model"]().invoke("hi")
    assert answer.response_metadata["failover"]["served_by"] == "ollama"
    assert graph["state"]["served_by"] == "ollama"
    assert drop_in["answer"].response_metadata["failover"]["served_by"] == "ollama"
