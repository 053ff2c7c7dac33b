"""MkDocs hook: serve the benchmark charts from `bench/results/`, where the bench writes them.

The performance page shows them; copying them into `docs/` would leave two charts to keep
in step, so the build takes them from where `python -m bench` writes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results"
CHARTS = {
    "bench/chart.png": "chart.png",
    "bench/issue14-chart.png": "issue14/chart.png",
    "bench/issue15-chart.png": "issue15/chart.png",
}
"""Where each chart is served in the site, and where the bench writes it."""


def on_files(files: Files, config: Any) -> Files:
    """Add the benchmark charts to the site's files."""
    for uri, source in CHARTS.items():
        files.append(File.generated(config, uri, abs_src_path=str(RESULTS / source)))
    return files
