"""MkDocs hooks: the benchmark charts from `bench/results/`, and the package's version.

The performance pages show the charts; copying them into `docs/` would leave two copies
to keep in step, so the build takes them from where `python -m bench` writes them:
`bench/results/<question>.png` is served as `bench/<question>.png`, and a folder of
results (`bench/results/stream-deadlines/`) as `bench/stream-deadlines/`. The installed
version (`importlib.metadata`) is added to the site's name, which the header and every
page's title show, so a page says which release it describes; the home page's title
names it too, as every other page's does.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"


def on_config(config: Any) -> Any:
    """Show the installed package's version on every page, after the site's name."""
    config.site_name = f"{config.site_name} {importlib.metadata.version('langgraph-failover')}"
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Title the home page by its heading too: the theme would give it the bare site name."""
    if page.is_homepage and not page.meta.get("title"):
        page.meta["title"] = page.title
    return markdown


def on_files(files: Files, config: Any) -> Files:
    """Add every benchmark chart to the site's files, under `bench/`."""
    for chart in sorted(RESULTS.rglob("*.png")):
        uri = f"bench/{chart.relative_to(RESULTS).as_posix()}"
        files.append(File.generated(config, uri, abs_src_path=str(chart)))
    return files
