"""Sphinx extension: every notebook chapter offers its executed notebook (.ipynb) for download.

sphinx-book-theme copies myst-nb's executed notebook into _sources/ (and adds the ".ipynb" entry to
the download menu) only when a launch button is switched on; this book is built with them off, so the
copy is made here, before the theme builds its menu, for every page that is a notebook.
"""

import shutil
from pathlib import Path


def offer_notebook(app, pagename, templatename, context, doctree):
    if "kernelspec" not in app.env.metadata.get(pagename, {}):
        return
    executed = Path(app.env.mystnb_config.output_folder) / f"{pagename}.ipynb"
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    # The theme reads ipynb_source at priority 501; run before it.
    app.connect("html-page-context", offer_notebook, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
