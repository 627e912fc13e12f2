"""The built book as a reader meets it: headless Chromium on a loopback server, no network.

Every page loads cleanly, typesets its maths, shows its images and draws its widgets; every slider
of every explorer shows, at each position, the figure computed for it at build time; search, the
download menu and previous/next work. A full-page screenshot of every page is saved under
_build/screenshots/. Point LSTMLAB_BOOK_HTML at another build to check it instead of _build/html.
"""

import json
import re
from pathlib import Path

import nbformat
import pytest

from tools import browser

ROOT = Path(__file__).resolve().parents[1]
HTML = browser.book_html()
SHOTS = ROOT / "_build" / "screenshots"
PAGES = browser.toc_pages()

pytestmark = [pytest.mark.book, pytest.mark.browser, pytest.mark.xdist_group("browser"),
              pytest.mark.skipif(browser.chromium() is None,
                                 reason="Chromium is not installed (Debian: apt-get install chromium)")]


def source(page):
    path = HTML / f"{page}.html"
    return path.read_text() if path.exists() else ""


def widget_state(page):
    """The widget models embedded in a page: {model_id: model}."""
    state = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                      source(page), re.S)
    return json.loads(state.group(1))["state"] if state else {}


def is_notebook(page):
    return "kernelspec:" in (ROOT / f"{page}.md").read_text().split("\n---", 1)[0]


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail(f"no built book at {HTML}: run `make book` (make test does it first)")
    with browser.serve(HTML) as base:
        yield base


@pytest.fixture(scope="module")
def chrome():
    with browser.browser() as chrome:
        yield chrome


class Visit:
    """One browser tab, offline, that records what went wrong while it was open."""

    def __init__(self, chrome, base):
        self.base, self.blocked, self.errors, self.downloads = base, [], [], []
        self.context = chrome.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        browser.offline(self.context, base, self.blocked)
        self.context.on("page", lambda tab: tab.on("download", lambda d: self.downloads.append(d)))
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))

    def open(self, path, rendered=True):
        self.page.goto(self.base + path, wait_until="load")
        if rendered:
            browser.wait_until_rendered(self.page)
        return self.page

    def assert_clean(self):
        assert not self.blocked, f"the page tried to reach the network: {self.blocked}"
        assert not self.errors, "\n".join(self.errors)


@pytest.fixture
def visit(chrome, site):
    tab = Visit(chrome, site)
    yield tab
    tab.context.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_cleanly(visit, page):
    """No console error or failed request; maths typeset; every image and widget drawn; a screenshot."""
    tab = visit.open(f"{page}.html")
    visit.assert_clean()

    broken = tab.evaluate("() => [...document.images].filter(i => !(i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"images that did not load: {broken}"

    maths = tab.evaluate("""() => [...document.querySelectorAll('.math')].map(m => ({
        typeset: !!m.querySelector('mjx-container'), error: !!m.querySelector('mjx-merror'),
        text: m.textContent.slice(0, 80)}))""")
    assert all(m["typeset"] for m in maths), [m["text"] for m in maths if not m["typeset"]]
    assert not any(m["error"] for m in maths), [m["text"] for m in maths if m["error"]]
    # Dollar maths that MyST did not parse would show as raw TeX in the prose.
    prose = tab.evaluate("""() => [...document.querySelectorAll('article p, article li')]
        .map(p => { const c = p.cloneNode(true);
                    c.querySelectorAll('code, pre, .math, mjx-container').forEach(e => e.remove());
                    return c.textContent; }).join('\\n')""")
    raw = re.findall(r"\$[^$\n]*\\[A-Za-z]+[^$\n]*\$|\\\(|\\\[", prose)
    assert not raw, f"raw TeX on the page: {raw[:5]}"

    views = tab.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    drawn = tab.evaluate("""() => [...document.querySelectorAll('.widget-subarea')].map(a => a.innerText)""")
    assert len(drawn) == views, f"{views} widgets embedded, {len(drawn)} drawn"
    assert not [t for t in drawn if "Error creating widget" in t or "Error displaying widget" in t], drawn

    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=SHOTS / f"{page.replace('/', '__')}.png", full_page=True)


EXPLORER_PAGES = [p for p in PAGES if "widget-view+json" in source(p)] or PAGES

# The figures and the readout an explorer shows now (images as base64 of their bytes).
SHOWN = """async area => ({
    readout: [...area.querySelectorAll('.widget-readout')].map(r => r.textContent),
    images: await Promise.all([...area.querySelectorAll('img')].map(async img => {
        const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
        let s = ''; for (const b of bytes) s += String.fromCharCode(b);
        return btoa(s); })),
})"""


def expected_figures(state, slider_id):
    """For a figure_slider (a VBox of a slider and a Stack of images): the images, in slider order."""
    for model in state.values():
        children = model["state"].get("children", [])
        ids = [c.removeprefix("IPY_MODEL_") for c in children]
        if model["model_name"] == "VBoxModel" and slider_id in ids:
            stacks = [state[i] for i in ids if state[i]["model_name"] == "StackModel"]
            if stacks:
                images = [state[c.removeprefix("IPY_MODEL_")] for c in stacks[0]["state"]["children"]]
                return [next(b["data"] for b in image.get("buffers", []) if b["path"] == ["value"])
                        for image in images]
    return None


@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_every_slider_changes_its_figure(visit, page):
    """Move each slider through every position: the figure changes each time, and it is the one
    computed for that position when the book was built."""
    state = widget_state(page)
    sliders = {i: m for i, m in state.items() if m["model_name"].endswith("SliderModel")}
    if not sliders:
        pytest.skip("no slider on this page")
    tab = visit.open(f"{page}.html")
    handles = tab.locator(".widget-subarea .noUi-handle")
    assert handles.count() == len(sliders), f"{len(sliders)} sliders embedded, {handles.count()} drawn"
    areas = tab.locator(".widget-subarea")
    checked = 0
    for k in range(areas.count()):
        area = areas.nth(k)
        model = json.loads(area.locator("xpath=..").locator(
            'script[type="application/vnd.jupyter.widget-view+json"]').first.text_content())["model_id"]
        inside = [i for i in _descendants(state, model) if i in sliders]
        assert area.locator(".noUi-handle").count() == len(inside)
        for h, slider_id in enumerate(inside):
            handle = area.locator(".noUi-handle").nth(h)
            labels = sliders[slider_id]["state"].get("_options_labels")
            figures = expected_figures(state, slider_id)
            low, high = (float(handle.get_attribute(f"aria-value{end}")) for end in ("min", "max"))
            positions = int(high - low) + 1
            handle.focus()
            tab.keyboard.press("Home")
            _wait_for_position(tab, handle, 0)
            before = None
            for position in range(positions):
                if position:
                    tab.keyboard.press("ArrowRight")
                    _wait_for_position(tab, handle, position)
                # Wait for the redraw: for the figure built for this position where it is known,
                # else for anything new (a redrawn figure replaces the old image: wait past none).
                now = _shown(tab, area, (lambda s, p=position: s["images"] == [figures[p]]) if figures else
                             (lambda s, b=before: s != b and (s["images"] or not (b or s)["images"])))
                if labels:
                    assert labels[position] in now["readout"], (labels[position], now["readout"])
                if figures:
                    assert now["images"] == [figures[position]], \
                        f"slider {labels[position] if labels else position}: not the figure built for it"
                if before:
                    assert now["images"] != before["images"], f"the figure did not change at position {position}"
                before = now
            checked += 1
    assert checked == len(sliders)
    visit.assert_clean()


def _shown(tab, area, ready, tries=50):
    """What the explorer shows once `ready` says so (or after 5 s, for the assertions to judge)."""
    for _ in range(tries):
        now = area.evaluate(SHOWN)
        if ready(now):
            return now
        tab.wait_for_timeout(100)
    return now


def _descendants(state, root):
    """Widget `root` and every widget inside it, in the order they are drawn."""
    children = state[root]["state"].get("children", []) if root in state else []
    return [root] + [d for c in children for d in _descendants(state, c.removeprefix("IPY_MODEL_"))]


def _wait_for_position(tab, handle, position):
    tab.wait_for_function(
        "([h, p]) => Math.round(h.getAttribute('aria-valuenow') - h.getAttribute('aria-valuemin')) === p",
        arg=[handle.element_handle(), position], timeout=5000)


WIDGET_PAGES = [page for page in PAGES if widget_state(page)]


@pytest.mark.skipif(not WIDGET_PAGES, reason="no page has widgets")
def test_widget_fonts_resolve_into_vendor_whatever_bundle_loads_them(visit):
    """Each widget bundle finds its icon fonts beside its own module address: every one of them must
    map into _static/vendor/, or the fonts 404 whenever that bundle's stylesheet happens to win."""
    tab = visit.open(f"{WIDGET_PAGES[0]}.html")
    modules = tab.evaluate("""() => ["base", "base7", "controls", "controls7", "html-manager",
        "html-manager/dist/libembed-amd"].map(n => [n, requirejs.toUrl("@jupyter-widgets/" + n)])""")
    vendor = visit.base + "_static/vendor/"
    assert all(url.startswith(vendor) for _, url in modules), modules
    fonts = tab.evaluate("""() => [...document.styleSheets].flatMap(s => { try { return [...s.cssRules]; }
        catch (e) { return []; } }).filter(r => r instanceof CSSFontFaceRule)
        .flatMap(r => (r.cssText.match(/url\\("?[^")]+/g) || []).map(u => new URL(u.replace(/^url\\("?/, ""),
                                   r.parentStyleSheet.href || document.baseURI).href))""")
    assert fonts and all(url.startswith(visit.base + "_static/") for url in fonts), fonts
    visit.assert_clean()


def test_search_finds_a_term_offline(visit):
    """Sphinx's search runs in the page from its own index: "forget gate" finds the chapter."""
    tab = visit.open("search.html?q=forget+gate", rendered=False)
    tab.wait_for_selector("#search-results ul.search li a", timeout=20000)
    found = tab.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert any("ch12_forget_gates" in href for href in found), found
    visit.assert_clean()


@pytest.mark.parametrize("page", PAGES)
def test_download_menu_gives_the_notebook_and_the_source(visit, page):
    """The menu's source button serves the chapter's .md; on a notebook chapter, .ipynb downloads
    a valid notebook whose code is the chapter's."""
    tab = visit.open(f"{page}.html", rendered=False)
    assert tab.locator(".dropdown-launch-buttons").count() == 0, "launch buttons are off in this build"
    menu = tab.locator(".dropdown-download-buttons > button")
    menu.click()
    source_button = tab.locator("a.btn-download-source-button")
    assert source_button.is_visible()
    with visit.context.expect_page() as opened:
        source_button.click()
    opened.value.wait_for_load_state()
    served = visit.context.request.get(opened.value.url).body()
    assert served == (ROOT / f"{page}.md").read_bytes(), f"the source download of {page} is not its .md"

    notebook_button = tab.locator("a.btn-download-notebook-button")
    if not is_notebook(page):
        assert notebook_button.count() == 0
        return
    menu.click()
    assert notebook_button.is_visible(), "no .ipynb in the download menu"
    notebook_button.click()
    for _ in range(50):
        if visit.downloads:
            break
        tab.wait_for_timeout(100)
    assert visit.downloads, "clicking .ipynb downloaded nothing"
    download = visit.downloads[-1]
    assert download.suggested_filename == f"{Path(page).name}.ipynb"
    nb = nbformat.read(download.path(), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code and all(c in (ROOT / f"{page}.md").read_text() for c in code), \
        "the notebook's code cells are not the chapter's"
    visit.assert_clean()


def test_previous_and_next_walk_the_whole_table_of_contents(visit):
    """Clicking "next" from the first page visits every page of _toc.yml in order; "previous" links back."""
    tab = visit.open("index.html", rendered=False)
    # index.html redirects to the root page.
    tab.wait_for_url(re.compile(re.escape(PAGES[0]) + r"\.html"))
    walked = [PAGES[0]]
    while tab.locator("a.right-next").count():
        tab.locator("a.right-next").click()
        tab.wait_for_load_state()
        walked.append(tab.url.removeprefix(visit.base).removesuffix(".html"))
        back = tab.locator("a.left-prev").get_attribute("href")
        assert back and back.split("#")[0].endswith(f"{Path(walked[-2]).name}.html"), (walked[-1], back)
        assert len(walked) <= len(PAGES), walked
    assert walked == PAGES
    visit.assert_clean()


def test_chapters_print_to_one_pdf_with_an_outline(chrome, site, tmp_path):
    """`make pdf` on two pages: one PDF, one outline entry per page, the chapter's words in it."""
    from pypdf import PdfReader

    from tools import book_pdf

    pages = [PAGES[0], PAGES[1]]
    printed = book_pdf.print_pages(chrome, site, pages)
    book_pdf.join(printed, tmp_path / "book.pdf")
    pdf = PdfReader(tmp_path / "book.pdf")
    assert [item.title for item in pdf.outline] == [title for title, _ in printed]
    assert len(pdf.pages) >= len(pages)
    first_chapter = pdf.pages[pdf.get_destination_page_number(pdf.outline[1])]
    heading = re.search(r"^# (.+)$", (ROOT / f"{PAGES[1]}.md").read_text(), re.M).group(1)
    assert heading.split()[0] in first_chapter.extract_text()
