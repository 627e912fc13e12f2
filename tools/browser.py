"""The built book in a real browser with no network: a loopback web server and headless Chromium.

Used by the browser tests (tests/test_browser.py) and by `make pdf`. Playwright drives the system's
Chromium (Debian's `chromium`); it never downloads a browser of its own.
"""

import functools
import http.server
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# Headless Chromium with nothing that reaches out on its own (updates, sync, safe browsing...).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-default-apps", "--disable-extensions", "--metrics-recording-only"]


def chromium():
    """Path of the system's Chromium ($LSTMLAB_CHROMIUM, else `chromium` on the PATH), or None."""
    return os.environ.get("LSTMLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def book_html():
    """The built book's HTML folder: $LSTMLAB_BOOK_HTML, else this repository's _build/html."""
    return Path(os.environ.get("LSTMLAB_BOOK_HTML") or ROOT / "_build" / "html")


def toc_pages():
    """Every page of the book in reading order (the root, then each chapter of _toc.yml)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [entry["file"] for part in toc.get("parts", []) for entry in part["chapters"]]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(directory):
    """Serve `directory` on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def browser():
    """Headless Chromium under Playwright; raises if no Chromium is installed."""
    from playwright.sync_api import sync_playwright

    path = chromium()
    if path is None:
        raise RuntimeError("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chrome
        finally:
            chrome.close()


def offline(context, base, blocked):
    """Let `context` load only from `base`: every other request is aborted and its URL added to `blocked`."""
    def route(route):
        url = route.request.url
        if url.startswith(base):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()
    context.route("**/*", route)


def wait_until_rendered(page):
    """Wait for every image to load, MathJax to typeset and every embedded widget view to be drawn."""
    page.wait_for_load_state("load")
    # Images below the fold load lazily, when a reader scrolls to them: ask for them all now.
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
    page.evaluate("() => window.MathJax ? MathJax.startup.promise.then(() => true) : true")
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        page.wait_for_function(
            "n => document.querySelectorAll('.widget-subarea > .jupyter-widgets').length >= n", arg=views)
        # The figures of a widget are blob images: wait until they are decoded.
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.widget-image')].every(i => i.complete)")
