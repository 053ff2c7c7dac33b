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
    facts = "Keyword `turn_budget` · run field `turn_budget` · default `60` ·"
    assert facts in page.read_text()
    page.write_text(page.read_text().replace(facts, facts.replace("`60`", "`90`")))
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


# What a reader of the site cannot follow: the tracker's numbers, the apps' nicknames,
# the test suite's files, and goals from closing notes ("target: +0.3 ms", "met").
INTERNAL = re.compile(
    r"\bissues? #?\d+|(?<![\w&/])#\d+\b|hanachan|the two apps|\bapp [ab]\b"
    r"|tests/test_\w+\.py|\btargets?\b|\bmet\b|\bmissed\b",
    re.I,
)


def _published_pages() -> list[Path]:
    """Every page the site or the package index shows, the included results too."""
    pages = [README, ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return pages + sorted((ROOT / "bench" / "results").rglob("*.md"))


def test_no_page_refers_to_what_a_reader_cannot_follow() -> None:
    """No published page cites an issue number, a nickname, a test file or an internal goal."""
    pages = _published_pages()
    assert len(pages) > 20 and ROOT / "CHANGELOG.md" in pages
    found = [
        f"{page.relative_to(ROOT)}:{number}: {hit.group()}"
        for page in pages
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1)
        for hit in INTERNAL.finditer(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    "line",
    ["fixed in issue 12", "see #14", "as Hanachan does", "App B's factory",
     "run by `tests/test_docs.py`", "(target: at most +0.3 ms)", "Pacing: met."],
)  # fmt: skip
def test_the_internal_reference_check_catches_each_kind(line: str) -> None:
    """Each kind of reference the published pages must not hold is caught by the check."""
    assert INTERNAL.search(line)


def test_every_page_has_a_title_of_its_own() -> None:
    """The nav gives every page a distinct title, which the theme puts in its <title>."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n")[1]
    titles = re.findall(r"^\s+- ([^:\n]+): \S+\.md$", nav.split("\nmarkdown_extensions:")[0], re.M)
    assert len(titles) > 15
    assert len(set(titles)) == len(titles)


def test_the_site_serves_its_own_scripts() -> None:
    """Mermaid and the offline search shim are files of the site, not fetched from a CDN."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for script in ("assets/javascripts/mermaid/mermaid.min.js",
                   "assets/javascripts/iframe-worker/shim.js"):  # fmt: skip
        assert re.search(rf"^ +- {re.escape(script)}$", config, re.M), script
        path = ROOT / "docs" / script
        assert (path.parent / "LICENSE").exists() and (path.parent / "SOURCE.txt").exists()
    mermaid = (ROOT / "docs/assets/javascripts/mermaid/mermaid.min.js").read_text()
    assert mermaid.rstrip().endswith(
        'globalThis["mermaid"] = globalThis.__esbuild_esm_mermaid_nm["mermaid"].default;'
    )
    assert "\n  - offline\n" in config and "http" not in config.split("\nplugins:")[1]
