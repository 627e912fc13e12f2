"""Checks of the built book (`make book` builds it; `make test` builds it first, then runs these)."""

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"

pytestmark = pytest.mark.book


def chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


@pytest.fixture(scope="module", autouse=True)
def built():
    if not (HTML / "index.html").exists():
        pytest.fail("the book is not built: run `make book` (make test does it first)")


def page(chapter):
    return (HTML / f"{chapter}.html").read_text()


def executed(chapter):
    path = EXECUTED / f"{chapter}.ipynb"
    return nbformat.read(path, 4) if path.exists() else None


@pytest.mark.parametrize("chapter", chapters())
def test_every_chapter_has_its_page(chapter):
    assert (HTML / f"{chapter}.html").exists()


@pytest.mark.parametrize("chapter", chapters())
def test_no_executed_cell_shows_an_error_or_a_warning(chapter):
    nb = executed(chapter)
    if nb is None:
        pytest.skip("no code cells")
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", cell.source
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), output["text"]
    assert 'class="output stderr"' not in page(chapter) and "Traceback" not in page(chapter)


@pytest.mark.parametrize("chapter", chapters())
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


@pytest.mark.parametrize("chapter", chapters())
def test_math_is_marked_up(chapter):
    source = (ROOT / f"{chapter}.md").read_text()
    if "$" in source:
        assert 'class="math' in page(chapter)


@pytest.mark.parametrize("chapter", chapters())
def test_widget_state_is_embedded(chapter):
    nb = executed(chapter)
    if nb is None or not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                             for c in nb.cells for o in c.get("outputs", [])):
        pytest.skip("no widget on this page")
    html = page(chapter)
    state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S)
    assert state and '"state"' in state.group(1) and "model_module" in state.group(1)


@pytest.mark.parametrize("chapter", chapters())
def test_nothing_is_loaded_from_the_network(chapter):
    html = page(chapter)
    external = re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', html)
    assert not external, external


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_maths_and_widgets_render_offline_in_a_browser(tmp_path):
    """Render pages from disk with no network: MathJax typesets, the slider widget draws."""
    widget_pages = [c for c in chapters() if "widget-state+json" in page(c)]
    math_pages = [c for c in chapters() if 'class="math' in page(c)]
    for chapter in {*widget_pages[:1], *math_pages[:1]}:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--proxy-server=127.0.0.1:9",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000", "--dump-dom",
             (HTML / f"{chapter}.html").as_uri()],
            capture_output=True, text=True, timeout=120).stdout
        if chapter in math_pages:
            assert "<mjx-container" in dom, f"MathJax did not typeset {chapter}"
        if chapter in widget_pages:
            assert "widget-slider" in dom or "widget-selection-slider" in dom or "jupyter-widgets" in dom, \
                f"widgets did not render on {chapter}"
