"""The notebooks of notebooks_export/: one per document, Jupytext percent format, each runs in quick mode.

Each notebook is run as the README says, ``python notebooks_export/NNN_x.py --quick`` from the repository
root, so this also checks that it needs nothing Jupyter provides. It writes into
``notebooks_export/_out/NNN/`` (git-ignored). About 15-25 s per notebook on 2 CPU cores.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from conftest import ROOT

NOTEBOOK_DIR = ROOT / "notebooks_export"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9][0-9]_*.py"))
CJK = re.compile(r"[\u4e00-\u9fff]")


def markdown_cells(text: str) -> list[str]:
    """The bodies of the ``# %% [markdown]`` cells of a percent-format script."""
    cells = re.split(r"^# %%.*$", text, flags=re.M)
    headers = re.findall(r"^# %%.*$", text, flags=re.M)
    return [body for header, body in zip(headers, cells[1:]) if "[markdown]" in header]


def test_one_notebook_per_document_in_percent_format():
    assert [p.name[:3] for p in NOTEBOOKS] == ["000", "001", "002", "003", "004"], NOTEBOOKS
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# %% [markdown]"), f"{path.name} must open with a markdown cell"
        assert re.search(r"^# %%$", text, flags=re.M), f"{path.name} has no code cell"
        markdown = markdown_cells(text)
        assert len(markdown) >= 5, f"{path.name}: expected a markdown cell per section"
        titled = [body for body in markdown if CJK.search(body)]
        assert len(titled) >= 4, f"{path.name}: markdown cells should quote the Chinese section titles"
        assert "NotebookSession(" in text, f"{path.name} must take --quick through vae_gan_tf.report.notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_in_quick_mode(path):
    start = time.time() - 1.0
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(path), "--quick"], cwd=ROOT, capture_output=True, text=True,
                            timeout=240, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = NOTEBOOK_DIR / "_out" / path.name[:3]
    written = [p for p in out.rglob("*.png") if p.stat().st_mtime >= start]
    assert written, f"{path.name} wrote no PNG under {out}"
