"""The tutorial's equations against the code and the tests that stand behind them (the book's appendix).

Three sources, read without importing anything they describe:

* ``book/appendix/equations.toml``: every numbered equation of the tutorial (as printed, where it is
  taught, its status, and ``checked``: where it was compared with the original paper), the unnumbered
  in-text formulas, the papers' own inconsistencies, and what could be read of each paper (``source``);
* a line ``Implements: Eq. 41.`` (or ``Eqs. 24-38, 40.``) in the docstring of a function or class
  under ``lstmlab/``;
* a marker ``@pytest.mark.equation(41)`` on a test under ``tests/``.

:func:`problems` lists everything that makes the index stale (the staleness test asserts it is
empty); :func:`tables` renders the appendix's tables as HTML.
"""

import ast
import html
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path("book/appendix/equations.toml")
STATUSES = ("as printed", "corrected", "not implemented")
#: What a test marked @pytest.mark.equation(..., check=...) compares the code with.
CHECKS = ("closed form", "central differences", "torch autograd", "torch.nn parity", "independent reference",
          "measurement", "printed form fails")
#: How much of an original paper the sweep could read (a ``[[source]]``'s ``found``), as the tables say it.
FOUND = {"paper": "the paper", "authors": "the authors' own pseudo-code or code", "quoted": "its equations as quoted",
         "no": "not found"}
_IMPLEMENTS = re.compile(r"^\s*Implements:\s*Eqs?\.\s*([0-9][0-9,\s\-–]*?)\.?\s*$", re.M)
_ERRATUM = re.compile(r"^:::\{admonition\} (Errat(?:um|a)[^\n]*)\n((?::[a-z]+:[^\n]*\n)*)", re.M)


@dataclass(frozen=True)
class Site:
    """Where an equation is implemented or tested: ``path`` (from the root), qualified name, line."""

    path: str
    name: str
    line: int
    check: str = ""  # for a marked test: the kind of check (one of CHECKS)

    @property
    def node_id(self):
        return f"{self.path}::{self.name.replace('.', '::')}"


def numbers(text):
    """'24-38, 40' -> [24, ..., 38, 40]."""
    out = []
    for part in re.split(r"\s*,\s*", text.strip()):
        low, _, high = part.replace("–", "-").partition("-")
        out.extend(range(int(low), int(high or low) + 1))
    return out


@cache
def _read(path, mtime):
    """A file's text, read once per modification time (the index reads each file several times)."""
    return path.read_text(encoding="utf-8")


@cache
def _parse(path, mtime):
    return ast.parse(_read(path, mtime))


def _text_of(path):
    return _read(path, path.stat().st_mtime_ns)


def _tree_of(path):
    return _parse(path, path.stat().st_mtime_ns)


def _definitions(tree):
    """(qualified name, node) of every function and class, nested ones included."""
    stack = [("", tree)]
    while stack:
        prefix, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                yield name, child
                stack.append((name + ".", child))


def code_sites(root=ROOT):
    """{equation: [Site]} from the ``Implements:`` lines of the docstrings under lstmlab/."""
    sites = {}
    for path in sorted((root / "lstmlab").rglob("*.py")):
        for name, node in _definitions(_tree_of(path)):
            for match in _IMPLEMENTS.finditer(ast.get_docstring(node) or ""):
                for n in numbers(match.group(1)):
                    sites.setdefault(n, []).append(Site(str(path.relative_to(root)), name, node.lineno))
    return sites


def _equation_marks(node):
    """``(numbers, check)`` of every ``@pytest.mark.equation(41, "44-46", check="...")`` on a test."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and ast.unparse(deco.func) == "pytest.mark.equation":
            check = next((ast.literal_eval(k.value) for k in deco.keywords if k.arg == "check"), "")
            yield [n for arg in deco.args for n in numbers(str(ast.literal_eval(arg)))], check


def tested_sites(root=ROOT):
    """({equation: [Site]} from ``@pytest.mark.equation(...)``, {node id: Site} of every test)."""
    marked, every = {}, {}
    for path in sorted((root / "tests").glob("test_*.py")):
        for name, node in _definitions(_tree_of(path)):
            if not node.name.startswith(("test_", "Test")):
                continue
            site = Site(str(path.relative_to(root)), name, node.lineno)
            every[site.node_id] = site
            for args, check in _equation_marks(node):
                for n in args:
                    marked.setdefault(n, []).append(Site(site.path, name, node.lineno, check))
    return marked, every


def _pages(root):
    """The book's Markdown pages: book/*.md and book/<part>/*.md (not the vendored scripts below)."""
    return sorted((root / "book").glob("*.md")) + sorted((root / "book").glob("[!_]*/*.md"))


def errata(root=ROOT):
    """Every erratum box of the book: ``(label, title, chapter path without .md)``; label None if unnamed."""
    boxes = []
    for path in _pages(root):
        for match in _ERRATUM.finditer(_text_of(path)):
            name = re.search(r"^:name:\s*(\S+)", match.group(2), re.M)
            boxes.append((name.group(1) if name else None, match.group(1),
                          str(path.relative_to(root).with_suffix(""))))
    return boxes


def load(root=ROOT):
    """The data file as a dict: ``equation``, ``unnumbered`` and ``paper`` lists of rows."""
    return tomllib.loads((root / DATA).read_text(encoding="utf-8"))


def tutorial_numbers(text):
    """The equation numbers printed in the tutorial's Markdown (``\\quad (n)`` or ``\\tag{n}``)."""
    return sorted({int(n) for n in re.findall(r"(?:\\quad|\\tag)\s*\{?\s*\(?(\d+)\)?\}?\s*\$\$", text)})


def problems(root=ROOT, tutorial=None):
    """Everything that makes the index stale or incomplete, as sentences; empty when it is sound."""
    data = load(root)
    rows = data["equation"]
    found = []
    seen = [row["number"] for row in rows]
    expected = tutorial_numbers(Path(tutorial).read_text(encoding="utf-8")) if tutorial else range(1, max(seen) + 1)
    for n in expected:
        if n not in seen:
            found.append(f"Eq. {n} has no row")
    for n in {n for n in seen if seen.count(n) > 1}:
        found.append(f"Eq. {n} has more than one row")
    code = code_sites(root)
    marked, every = tested_sites(root)
    boxes = errata(root)
    labels = {label for label, _, _ in boxes}
    named = [label for label, _, _ in boxes if label]
    for label in sorted({label for label in named if named.count(label) > 1}):
        found.append(f"more than one erratum box is named {label}")
    for label, title, chapter in boxes:
        if label is None:
            found.append(f"the erratum box '{title}' in {chapter} has no :name: to link to")
    chapters = {str(p.relative_to(root).with_suffix("")) for p in _pages(root)}
    for site in sorted({s for sites in marked.values() for s in sites}, key=lambda s: s.node_id):
        if site.check not in CHECKS:
            found.append(f"{site.node_id}: check={site.check!r} is not one of {', '.join(CHECKS)}")
    for n in sorted(set(code) | set(marked)):
        if n not in seen:
            found.append(f"Eq. {n} is annotated in the code or tests but has no row")
    sources = {}
    for source in data.get("source", []):
        key = source.get("key")
        if key in sources:
            found.append(f"more than one source is keyed {key}")
        sources[key] = source
        if source.get("found") not in FOUND:
            found.append(f"source {key}: found must be one of {', '.join(FOUND)}, got {source.get('found')!r}")
        if not source.get("short") or not source.get("read"):
            found.append(f"source {key} does not say its short name and what was read of it")
        if source.get("found") != "no" and not source.get("via"):
            found.append(f"source {key} was found but does not say what the checks were made against (via)")
    for row in rows + data.get("unnumbered", []):
        where = f"Eq. {row['number']}" if "number" in row else f"the formula '{row['formula'][:40]}'"
        for check in row.get("checked", []):
            source = sources.get(check.get("source"))
            if source is None:
                found.append(f"{where}: checked against unknown source {check.get('source')!r}")
            elif source.get("found") == "no":
                found.append(f"{where}: checked against {check['source']}, which the sweep did not find")
            if not check.get("at"):
                found.append(f"{where}: a check against {check.get('source')} does not say where")
        status = row.get("status")
        if status not in STATUSES:
            found.append(f"{where}: unknown status {status!r}")
        for chapter in row.get("chapters", []):
            if chapter not in chapters:
                found.append(f"{where}: chapter {chapter} does not exist")
        for label in row.get("errata", []):
            if label not in labels:
                found.append(f"{where}: no erratum box is named {label}")
        for node in row.get("tests", []) + row.get("evidence", []):
            if node not in every:
                found.append(f"{where}: test {node} does not exist")
        if status == "corrected":
            if "number" in row and not row.get("evidence"):
                found.append(f"{where} is corrected but names no evidence test")
            if not row.get("correction") or not row.get("wrong"):
                found.append(f"{where} is corrected but does not say what is wrong and the right form")
            if not row.get("errata"):
                found.append(f"{where} is corrected but links no erratum box")
        if status == "not implemented" and not row.get("reason"):
            found.append(f"{where} is not implemented but gives no reason")
    files = sorted((root / "lstmlab").rglob("*.py")) + sorted((root / "tests").glob("test_*.py"))
    source = "\n".join(_text_of(p) for p in files)
    for row in rows + data.get("unnumbered", []) + data.get("paper", []):
        prose = " ".join(str(row.get(k, "")) for k in ("note", "wrong", "reason", "course"))
        for span in re.findall(r"`([^`]+)`", prose):
            name = re.match(r"[A-Za-z_][A-Za-z0-9_.]*", span)
            if name and not name.group(0).startswith(("torch.", "lstmlab")):
                last = name.group(0).split(".")[-1]  # module.function: the function must exist
                if not re.search(rf"\b{re.escape(last)}\b", source):
                    found.append(f"the table mentions `{span}`, but no source file under lstmlab/ or "
                                 f"tests/ has {last}")
    for row in rows:
        n, status = row["number"], row.get("status")
        tagged = {site.node_id for site in marked.get(n, [])}
        for node in row.get("evidence", []):
            if node in every and node not in tagged:
                found.append(f"Eq. {n}: evidence test {node} lacks @pytest.mark.equation({n})")
        if status in ("as printed", "corrected"):
            if not code.get(n):
                found.append(f"Eq. {n} is {status} but no docstring says 'Implements: Eq. {n}.'")
            if not marked.get(n):
                found.append(f"Eq. {n} is {status} but no test is marked @pytest.mark.equation({n})")
        if status == "not implemented" and code.get(n):
            found.append(f"Eq. {n} is 'not implemented' but {code[n][0].name} says it implements it")
    return found


# --- rendering -------------------------------------------------------------------------------------

SOURCE_PAGES = Path("book/_static/source")


def write_source_pages(root=ROOT, out=None):
    """Highlighted copies of every annotated file, with line anchors ``#L-<n>``, under book/_static
    (or ``out``), where the tables' links point."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    formatter = HtmlFormatter(linenos="inline", lineanchors="L", anchorlinenos=True, full=True,
                              wrapcode=True, encoding="utf-8")
    marked, _ = tested_sites(root)
    data = load(root)
    named = [node for row in data["equation"] + data.get("unnumbered", []) for node in row.get("evidence", [])]
    paths = {s.path for sites in list(code_sites(root).values()) + list(marked.values()) for s in sites}
    paths |= {node.partition("::")[0] for node in named}
    for rel in sorted(paths):
        target = (root / SOURCE_PAGES if out is None else Path(out)) / (rel + ".html")
        target.parent.mkdir(parents=True, exist_ok=True)
        formatter.title = rel
        target.write_bytes(highlight(_text_of(root / rel), PythonLexer(), formatter))


def _href(page_dir, target):
    """Relative link from the built page of book/<page_dir>/x.md to a path of the built book."""
    depth = len(Path(page_dir).parts) + 1
    return "../" * depth + target


def _source_link(site, page_dir):
    """The site's name (module.function for code, the test's name for tests) linked to its line."""
    href = _href(page_dir, f"_static/source/{site.path}.html#L-{site.line}")
    shown = site.name if site.path.startswith("tests/") else f"{Path(site.path).stem}.{site.name}"
    return f'<a href="{href}" title="{html.escape(site.path)}"><code>{html.escape(shown)}</code></a>'


def _chapter_link(chapter, titles, page_dir):
    href = _href(page_dir, chapter + ".html")
    return f'<a href="{href}">{html.escape(titles.get(chapter, chapter))}</a>'


def _titles(root):
    out = {}
    for path in _pages(root):
        head = re.search(r"^# (.+)$", _text_of(path), re.M)
        out[str(path.relative_to(root).with_suffix(""))] = head.group(1).strip() if head else path.stem
    return out


def _math(latex):
    return "\\(" + html.escape(" ".join(latex.split())) + "\\)"


def _text(text):
    """Row prose: HTML-escaped, $...$ as MathJax inline math, `...` as code."""
    text = re.sub(r"\$([^$]+)\$", lambda m: "\\(" + m.group(1) + "\\)", html.escape(text, quote=False))
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def _table(header, rows, widths, cls="lstmlab-eq"):
    cols = "".join(f'<col style="width: {w}%">' for w in widths)
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="mathjax_process"><table class="{cls}"><colgroup>{cols}</colgroup>'
            f'<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>')


_STYLE = """<style>
table.lstmlab-eq {border-collapse: collapse; font-size: 0.8em; width: 100% !important;
  table-layout: fixed !important;}  /* the theme sets output tables to auto layout */
table.lstmlab-eq td, table.lstmlab-eq th {border: 1px solid #ccc; padding: 4px 6px; vertical-align: top;
  overflow-wrap: anywhere; overflow-x: auto;}
table.lstmlab-eq code {white-space: normal; font-size: 0.95em;}
table.lstmlab-eq .what {color: #666; font-size: 0.9em;}
.st-corrected {color: #a33; font-weight: bold;} .st-printed {color: #262; font-weight: bold;}
.st-not {color: #666; font-weight: bold;}
</style>"""


def _ranges(numbers):
    """[1, 2, 3, 5] -> '1-3, 5'."""
    spans = []
    for n in sorted(numbers):
        if spans and spans[-1][1] == n - 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _checks(row, sources):
    """The row's checks against the original papers, one line each."""
    return "".join(f"<br><b>checked against</b> {html.escape(sources[c['source']]['short'])} "
                   f"<span class=\"what\">({html.escape(sources[c['source']]['via'])})</span>: {_text(c['at'])}"
                   for c in row.get("checked", []))


def _status(row, errata_by_label, titles, page_dir, sources, tests=None):
    status = row["status"]
    cls = {"as printed": "st-printed", "corrected": "st-corrected"}.get(status, "st-not")
    parts = [f'<span class="{cls}">{status}</span>']
    if status == "corrected":
        parts.append(f"<br><b>wrong:</b> {_text(row['wrong'])}")
        parts.append(f"<br><b>right:</b> {_math(row['correction'])}")
    if status == "not implemented":
        parts.append(f"<br>{_text(row['reason'])}")
    if row.get("note"):
        parts.append(f"<br><i>{_text(row['note'])}</i>")
    parts.append(_checks(row, sources))
    if tests is not None and row.get("evidence"):
        parts.append("<br><b>evidence:</b> " + ", ".join(_source_link(tests[n], page_dir) for n in row["evidence"]))
    for label in row.get("errata", []):
        title, chapter = errata_by_label[label]
        href = _href(page_dir, f"{chapter}.html#{label}")
        parts.append(f'<br>→ <a href="{href}">{html.escape(title)}</a>')
    return "".join(parts)


def tables(root=ROOT, page_dir="appendix"):
    """HTML of the appendix: ``{"summary", "numbered", "unnumbered", "papers", "sources"}``."""
    data = load(root)
    titles = _titles(root)
    code = code_sites(root)
    marked, every = tested_sites(root)
    boxes = errata(root)
    by_label = {label: (title, chapter) for label, title, chapter in boxes if label}
    rows = data["equation"]
    sources = {source["key"]: source for source in data.get("source", [])}

    numbered = []
    for row in rows:
        n = row["number"]
        tests = sorted({s.node_id: s for s in marked.get(n, [])}.values(), key=lambda s: s.node_id)
        evidence = set(row.get("evidence", []))
        where = ['<span class="what">taught in</span> '
                 + ", ".join(_chapter_link(c, titles, page_dir) for c in row.get("chapters", []))]
        if code.get(n):
            where.append('<span class="what">code</span> '
                         + ", ".join(_source_link(s, page_dir) for s in code[n]))
        if tests:
            where.append('<span class="what">tests</span> ' + ", ".join(
                _source_link(s, page_dir) + f' <span class="what">({s.check}'
                + ("; evidence" if s.node_id in evidence and s.check != "printed form fails" else "") + ")</span>"
                for s in tests))
        numbered.append([f'<span id="eq-{n}">({n})</span><br><span class="what">Sec. {row["section"]}</span>',
                         _math(row["latex"]), "<br>".join(where),
                         _status(row, by_label, titles, page_dir, sources)])
    unnumbered = [[row["section"], _math(row["formula"]),
                   "<br>".join(_chapter_link(c, titles, page_dir) for c in row.get("chapters", [])),
                   _status(row, by_label, titles, page_dir, sources, every)] for row in data.get("unnumbered", [])]
    papers = [[_text(row["paper"]), _text(row["inconsistency"]), _text(row["course"])]
              for row in data.get("paper", [])]

    checked = {}
    for row in rows:
        for c in row.get("checked", []):
            checked.setdefault(c["source"], set()).add(row["number"])
    every_checked = set().union(*checked.values()) if checked else set()
    original = checked.get("hochreiter1997", set())
    unchecked = [row["number"] for row in rows if row["number"] not in every_checked]
    source_rows = [[f"<b>{html.escape(s['short'])}</b>, {html.escape(s['paper'])}",
                    f"<b>{FOUND[s['found']]}.</b> {_text(s['read'])}",
                    ("Eqs. " + _ranges(checked[key])) if key in checked else "—"]
                   for key, s in sources.items()]
    counts = {s: sum(row["status"] == s for row in rows) for s in STATUSES}
    box_items = "".join(
        f'<li><a href="{_href(page_dir, chapter + ".html#" + label)}">{html.escape(title)}</a>'
        f" — {html.escape(titles.get(chapter, chapter))}</li>" for label, title, chapter in boxes)
    summary = (
        f"<p>The tutorial numbers <b>{len(rows)}</b> equations. <b>{counts['as printed']}</b> are implemented "
        f"as printed, <b>{counts['corrected']}</b> are implemented in a corrected form, and "
        f"<b>{counts['not implemented']}</b> are not implemented. Beside them, "
        f"<b>{len(unnumbered)}</b> unnumbered formulas are checked in the second table and "
        f"the third lists <b>{len(papers)}</b> places where the original papers disagree with themselves "
        f"or with the tutorial. "
        f"<b>{len({s for v in code.values() for s in v})}</b> annotated functions and "
        f"<b>{len({s.node_id for v in marked.values() for s in v})}</b> marked tests stand behind "
        f"them.</p><p><b>{len(every_checked)}</b> of the {len(rows)} numbered equations were checked symbol by "
        f"symbol against an original paper that states them, or, where its text could not be found, against "
        f"its authors' own pseudo-code, code or quoted equations: <b>{len(original)}</b> against the full text "
        f"of Hochreiter and Schmidhuber (1997) (Eqs. {_ranges(original)}), <b>{len(every_checked - original)}</b> "
        f"against the "
        f"later papers alone (Eqs. {_ranges(every_checked - original)}). The others rest on the tutorial and "
        f"the code alone: Eqs. {_ranges(unchecked)}. Which papers were found, and what was read of each, is "
        f"listed in the last table.</p><p>The book's <b>{len(boxes)}</b> erratum boxes:</p><ul>{box_items}</ul>")
    return {
        "summary": _STYLE + f'<div class="mathjax_process">{summary}</div>',
        "numbered": _STYLE + _table(["Eq.", "as printed", "where", "status"], numbered, [7, 34, 32, 27]),
        "unnumbered": _STYLE + _table(["Sec.", "formula as printed", "taught in", "status"], unnumbered,
                                      [8, 45, 17, 30]),
        "papers": _STYLE + _table(["paper", "what it says against itself", "what the course does"], papers,
                                  [20, 40, 40]),
        "sources": _STYLE + _table(["paper", "what the sweep could read of it", "rows checked against it"],
                                   source_rows, [30, 55, 15]),
    }
