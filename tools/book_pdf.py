"""The built book as one PDF for offline reading: Chromium prints each page, pypdf joins them.

    python -m lstmlab.book_pdf [--out _build/pdf/lstmlab.pdf]    (or: make pdf, after make book)

Each page is printed once its maths is typeset and its widgets drawn (an explorer prints at its
starting position); the PDF's outline has one entry per page, in the order of the table of contents.
"""

import argparse
import io
import sys
from pathlib import Path

from tools import browser


def print_pages(chrome, base, pages):
    """[(title, PDF bytes)] of each page of the book served at `base`, printed by `chrome`."""
    printed = []
    context, blocked = chrome.new_context(), []
    browser.offline(context, base, blocked)
    tab = context.new_page()
    for page in pages:
        tab.goto(f"{base}{page}.html", wait_until="load")
        browser.wait_until_rendered(tab)
        title = tab.locator("article h1").first.inner_text().strip().rstrip("#").strip()
        pdf = tab.pdf(format="A4", print_background=True,
                      margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"})
        printed.append((title, pdf))
    context.close()
    if blocked:
        raise RuntimeError(f"pages tried to reach the network: {blocked}")
    return printed


def join(printed, out):
    """Write the printed pages as one PDF with an outline entry per page."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for title, pdf in printed:
        start = len(writer.pages)
        writer.append(PdfReader(io.BytesIO(pdf)))
        writer.add_outline_item(title, start)
    writer.add_metadata({"/Title": "lstmlab: recurrent networks, written by hand"})
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=browser.ROOT / "_build" / "pdf" / "lstmlab.pdf")
    args = parser.parse_args(argv)
    html = browser.book_html()
    if not (html / "index.html").exists():
        sys.exit(f"no built book at {html}: run `make book` first")
    with browser.serve(html) as base, browser.browser() as chrome:
        printed = print_pages(chrome, base, browser.toc_pages())
    join(printed, args.out)
    print(f"{args.out}: {len(printed)} pages of the book")


if __name__ == "__main__":
    main()
