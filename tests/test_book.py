"""Checks of the built book's files (`make book` builds it; `make test` builds it first, then runs
these). tests/test_browser.py opens the same pages in a browser."""

import re
from pathlib import Path

import nbformat
import pytest

from tools.browser import book_html, toc_pages

ROOT = Path(__file__).resolve().parents[1]
HTML = book_html()  # _build/html, or $LSTMLAB_BOOK_HTML
EXECUTED = HTML.parent / "jupyter_execute"

pytestmark = pytest.mark.book


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` (make test does it first)")


def page(chapter):
    return (HTML / f"{chapter}.html").read_text()


def executed(chapter):
    path = EXECUTED / f"{chapter}.ipynb"
    return nbformat.read(path, 4) if path.exists() else None


@pytest.mark.parametrize("chapter", toc_pages())
def test_chapter_source_has_no_control_characters(chapter):
    """TeX written through a Python string loses escapes: \\approx becomes BEL + "pprox"."""
    source = (ROOT / f"{chapter}.md").read_text()
    bad = [(source.count("\n", 0, i) + 1, hex(ord(c)))
           for i, c in enumerate(source) if ord(c) < 32 and c not in "\n\t"]
    assert not bad, f"control characters (line, code): {bad}"


@pytest.mark.parametrize("chapter", toc_pages())
def test_every_chapter_has_its_page(chapter):
    assert (HTML / f"{chapter}.html").exists()


@pytest.mark.parametrize("chapter", toc_pages())
def test_no_executed_cell_shows_an_error_or_a_warning(chapter):
    nb = executed(chapter)
    if nb is None:
        pytest.skip("no code cells")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", cell.source
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), output["text"]
    assert 'class="output stderr"' not in page(chapter) and "Traceback" not in page(chapter)


# The repr of an object a figure cell happened to end with (``ax.set_title(...)`` returns a Text).
_STRAY_REPR = re.compile(r"^(Text\(|\[?<matplotlib\.|<Figure size )")


@pytest.mark.parametrize("chapter", toc_pages())
def test_no_cell_shows_the_repr_of_a_plotting_object(chapter):
    nb = executed(chapter)
    if nb is None:
        pytest.skip("no code cells")
    stray = [o["data"]["text/plain"][:80] for c in nb.cells for o in c.get("outputs", [])
             if o["output_type"] == "execute_result" and "text/plain" in o.get("data", {})
             and _STRAY_REPR.match(o["data"]["text/plain"])]
    assert not stray, f"end the cell with ';' or plt.show(): {stray}"


@pytest.mark.parametrize("chapter", toc_pages())
def test_every_figure_is_on_the_page(chapter):
    html = page(chapter)
    sources = re.findall(r'<img[^>]*src="([^"]+)"', html)
    for src in sources:
        if not src.startswith("data:"):
            assert (HTML / Path(chapter).parent / src).resolve().stat().st_size > 0, src
    nb = executed(chapter)
    if nb is not None:
        figures = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])
                      if "application/vnd.jupyter.widget-view+json" not in o.get("data", {}))
        assert len([s for s in sources if "_images/" in s or s.startswith("data:")]) >= figures


@pytest.mark.parametrize("chapter", toc_pages())
def test_math_is_marked_up(chapter):
    source = (ROOT / f"{chapter}.md").read_text()
    if "$" in source:
        assert 'class="math' in page(chapter)


@pytest.mark.parametrize("chapter", toc_pages())
def test_widget_state_is_embedded(chapter):
    nb = executed(chapter)
    if nb is None or not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                             for c in nb.cells for o in c.get("outputs", [])):
        pytest.skip("no widget on this page")
    html = page(chapter)
    state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    assert state and '"state"' in state.group(1) and "model_module" in state.group(1)


@pytest.mark.parametrize("chapter", toc_pages())
def test_nothing_is_loaded_from_the_network(chapter):
    html = page(chapter)
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', html)
    assert not external, external
