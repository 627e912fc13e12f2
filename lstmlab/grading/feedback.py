"""Feedback HTML that renders its maths with no network: MathJax 3 (SVG output) inlined into the page.

nbgrader's feedback template loads MathJax 2 from a CDN. The grader replaces that with the book's own,
vendored MathJax 3 (`book/_vendor/install.sh` copies `tex-svg.js`, which needs no web fonts), so a
student can open the single HTML file anywhere. Set LSTMLAB_MATHJAX to use another copy of `tex-svg.js`.
"""

import os
import re
from pathlib import Path

from lstmlab.grading.errors import InstructorError

VENDORED = Path("book") / "_static" / "vendor" / "mathjax" / "tex-svg.js"
CDN_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<script type=\"text/x-mathjax-config\">.*?</script>", re.DOTALL)
CONFIG = ("window.MathJax = {tex: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], processEscapes: true}, "
          "svg: {fontCache: 'global'}};")


def mathjax_path(root):
    """The tex-svg.js to inline: $LSTMLAB_MATHJAX, else the course's vendored copy, else the repository's."""
    candidates = [os.environ.get("LSTMLAB_MATHJAX"), Path(root) / VENDORED,
                  Path(__file__).resolve().parents[2] / VENDORED]
    for path in filter(None, candidates):
        if Path(path).is_file():
            return Path(path)
    raise InstructorError(f"the feedback needs MathJax to show its maths offline, and there is no {VENDORED}: "
                          "run `bash book/_vendor/install.sh book/_static/vendor` (or `make book`), "
                          "or set LSTMLAB_MATHJAX to a copy of MathJax 3's es5/tex-svg.js")


def offline_maths(html, mathjax):
    """The feedback page `html` with its CDN MathJax replaced by the given MathJax 3 source, inlined."""
    escaped = mathjax.replace("</script", "<\\/script")  # the source must not close its own tag
    inline = f"<script>{CONFIG}</script>\n<script>{escaped}</script>"
    html, count = CDN_BLOCK.subn(lambda _: inline, html)
    if count != 1:
        raise ValueError("the feedback page does not load MathJax the way nbgrader's template does")
    return html


def rewrite(folder, mathjax_file):
    """Make every feedback page in `folder` render its maths offline."""
    mathjax = Path(mathjax_file).read_text()
    for page in Path(folder).glob("*.html"):
        page.write_text(offline_maths(page.read_text(), mathjax))

