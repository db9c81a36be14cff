"""Execute every tutorial notebook (MyST markdown) as a reader's Jupyter would.

A tutorial fails if a cell raises, if a section that draws a figure shows no image (the
kernel runs with the inline backend, as in the book: ``MPLBACKEND=Agg`` from the test
session must not reach it), or if a cell prints a warning into the page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).parent.parent / "tutorials").glob("*.md"))
INLINE = "module://matplotlib_inline.backend_inline"
_DRAWS = re.compile(r"\bplt\.|\.imshow\(|\.plot\(|\.subplots\(|\.bar\(|\.scatter\(|\.hist\(")


def _drawing_helpers(cells) -> set[str]:
    """Names of functions defined in the notebook whose body draws (e.g. ``show_row``)."""
    names = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for match in re.finditer(r"^def (\w+)\(.*?(?=^\S|\Z)", cell.source, re.M | re.S):
            if _DRAWS.search(match.group(0)):
                names.add(match.group(1))
    return names


def _draws(source: str, helpers: set[str]) -> bool:
    """Whether a cell draws: calls matplotlib, or a drawing helper, outside definitions."""
    body = re.sub(r"^def \w+\(.*?(?=^\S|\Z)", "", source, flags=re.M | re.S)
    body = "\n".join(line for line in body.splitlines() if not line.lstrip().startswith("#"))
    return bool(_DRAWS.search(body)) or any(re.search(rf"\b{h}\(", body) for h in helpers)


def sections(nb) -> list[tuple[str, list]]:
    """(heading, cells) for every markdown heading, in order."""
    out: list[tuple[str, list]] = [("(top)", [])]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = re.search(r"^#{1,6} (.+)$", cell.source, re.M)
            if heading:
                out.append((heading.group(1), []))
        out[-1][1].append(cell)
    return out


def missing_figures(nb) -> list[str]:
    """Headings of the sections that have a drawing cell but no image output."""
    helpers = _drawing_helpers(nb.cells)
    missing = []
    for title, cells in sections(nb):
        code = [c for c in cells if c.cell_type == "code"]
        if not any(_draws(c.source, helpers) for c in code):
            continue
        images = [
            out
            for c in code
            for out in c.get("outputs", [])
            if "image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {})
        ]
        if not images:
            missing.append(title)
    return missing


@pytest.mark.tutorial
@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_executes_with_figures(path, tmp_path, monkeypatch):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("MPLBACKEND", INLINE)  # what the book's kernel uses
    if os.environ.get("PYTEST_XDIST_WORKER"):
        monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel shares the cores with xdist
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [out for c in nb.cells if c.cell_type == "code" for out in c.get("outputs", [])]
    errors = [out for out in outputs if out.get("output_type") == "error"]
    assert not errors, errors
    warnings = [
        out["text"]
        for out in outputs
        if out.get("output_type") == "stream"
        and out.get("name") == "stderr"
        and "Warning" in out.get("text", "")
    ]
    assert not warnings, f"{path.name} prints warnings into the page: {warnings}"
    missing = missing_figures(nb)
    assert not missing, f"{path.name}: sections that draw but show no figure: {missing}"


def test_figure_check_can_fail():
    """The figure check sees a drawing section without an image (as under Agg)."""
    nbformat = pytest.importorskip("nbformat")
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("## Drawn"),
            v4.new_code_cell("plt.imshow(x)", outputs=[]),
            v4.new_markdown_cell("## Printed"),
            v4.new_code_cell("print(1)", outputs=[]),
            v4.new_markdown_cell("## Helper"),
            v4.new_code_cell("def show(a):\n    plt.imshow(a)\n", outputs=[]),
            v4.new_code_cell(
                "show(y)",
                outputs=[v4.new_output("display_data", data={"image/png": "iVBOR"})],
            ),
        ]
    )
    assert missing_figures(nb) == ["Drawn"]


def test_there_are_tutorials():
    assert TUTORIALS, "tutorials/ holds no notebooks"
