"""Every ```python block of README.md and docs/**/*.md runs, on its own, as the docs promise.

The convention every page is written to: each block is a fresh script (`__name__ ==
"__main__"`) in a fresh working directory, with the shipped emulators healthy and
`OPENAI_API_KEY` (fake), `OPENAI_BASE_URL` and `OLLAMA_BASE_URL` pointing at them, every
other variable of ours unset (the `example_env` fixture). A block that cannot run says why
on the line right before its opening fence: `<!-- not run: <the reason> -->`. Blocks
indented inside content tabs are found too. The pages are read when the tests are
collected, so a page added later is covered without a change here.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import NOT_RUN, DocBlock, doc_blocks, run_block

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = doc_blocks(ROOT)


def _report(exc: BaseException, block: DocBlock) -> str:
    """The error as the page's reader needs it: page and line first, then the traceback.

    The traceback starts at the block's own frame (the harness's frames say nothing), so
    each line of it that is in the block names the page and its line.
    """
    page, line, tb = str(block.example.path), block.line, exc.__traceback__
    if isinstance(exc, SyntaxError) and exc.lineno:
        line, tb = exc.lineno, None
    while tb is not None and tb.tb_frame.f_code.co_filename != page:
        tb = tb.tb_next
    inner = tb
    while inner is not None:  # the deepest frame of the block itself
        if inner.tb_frame.f_code.co_filename == page:
            line = inner.tb_lineno
        inner = inner.tb_next
    shown = "".join(traceback.format_exception(type(exc), exc, tb))
    return f"{block.page}:{line}: the block at line {block.line} failed\n{shown}"


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page}:{b.line}" for b in BLOCKS])
def test_the_block_runs(block: DocBlock) -> None:
    """The block runs alone without an error, or its not-run marker gives a reason."""
    where = f"{block.page}:{block.line}"
    if block.not_run is not None:
        assert block.not_run, f"{where}: a <!-- not run: ... --> marker must say why"
        # Not run, but still Python a reader can paste: no top-level await, no typo.
        compile(block.example.source, where, "exec", dont_inherit=True)
        return
    try:
        run_block(block)
    except Exception as exc:  # any error of the block fails it, named by page and line
        failure = _report(exc, block)
    else:
        return
    pytest.fail(failure, pytrace=False)  # outside the handler: no chained harness noise


@pytest.mark.usefixtures("example_env")
@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_hello_failover_prints_who_answered(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's "Hello failover" prints `ollama`: OpenAI is out of quota, Ollama answers."""
    (block,) = [b for b in BLOCKS if b.page == page and "# ollama\n" in b.example.source]
    run_block(block)
    assert capsys.readouterr().out == "ollama\n"


def test_blocks_are_found_in_tabs_with_their_markers(tmp_path: Path) -> None:
    """A tabbed block is found at its fence's line; a marker's reason is read, or is empty."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("```python\nprint(1)\n```\n")
    (tmp_path / "docs" / "page.md").write_text(
        '=== "Sync"\n\n    <!-- not run: a server that never returns -->\n'
        "    ```python\n    serve()\n    ```\n\n<!-- not run -->\n```python\nx\n```\n"
        "```bash\nls\n```\n"
    )
    found = [(b.page, b.line, b.example.source, b.not_run) for b in doc_blocks(tmp_path)]
    assert found == [
        ("README.md", 1, "print(1)\n", None),
        ("docs/page.md", 4, "serve()\n", "a server that never returns"),
        ("docs/page.md", 9, "x\n", ""),
    ]


def test_a_failing_block_is_named_by_page_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error names the page and the block's line that raised; so does a block over time."""
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    monkeypatch.setattr(conftest, "BLOCK_SECONDS", 1)
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Title\n\n```python\nx = 1\nraise ValueError(x)\n```\n")
    (tmp_path / "docs" / "page.md").write_text("```python\nimport time\n\ntime.sleep(30)\n```\n")
    (raising, sleeping) = doc_blocks(tmp_path)
    with pytest.raises(ValueError, match="1") as raised:
        run_block(raising)
    assert _report(raised.value, raising).startswith("README.md:5: the block at line 3 failed")
    assert f'File "{tmp_path / "README.md"}", line 5, in <module>' in _report(raised.value, raising)
    with pytest.raises(TimeoutError) as timed_out:
        run_block(sleeping)
    assert _report(timed_out.value, sleeping).startswith("docs/page.md:4: the block at line 1")


def test_the_pages_have_blocks_in_tabs_and_markers_at_fences() -> None:
    """Collection finds tabbed blocks, and every not-run marker sits right above a block."""
    assert len(BLOCKS) >= 15
    assert any(b.example.indent == 4 for b in BLOCKS), "no block inside a content tab"
    marked = {(b.page, b.line - 1) for b in BLOCKS if b.not_run is not None}
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        name = page.relative_to(ROOT).as_posix()
        for number, text in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if NOT_RUN.match(text):
                assert (name, number) in marked, f"{name}:{number}: marker above no python block"
