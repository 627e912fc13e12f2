"""Sphinx extension: each script goes into a page once.

A script given only as inline code (`app.add_js_file(None, body=...)`) after the builder has
started, as sphinx-thebe does, is listed twice by Sphinx 7.4 (once as filename None, once as ''),
and the second copy of sphinx-thebe's `const THEBE_JS_URL = ...` is a script error on every page.
"""


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context["script_files"]:
        key = (script.filename or "", script.priority, tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
