#!/usr/bin/env bash
# Copy the book's browser assets (pinned in package-lock.json) into the given static folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$1"
(cd "$here" && npm ci --no-audit --no-fund --ignore-scripts --silent)
modules="$here/node_modules"
rm -rf "$dest" && mkdir -p "$dest/mathjax"
# MathJax: the combined TeX+MathML→CHTML component, its fonts and the pieces it loads on demand.
cp "$modules/mathjax/es5/tex-mml-chtml.js" "$dest/mathjax/"
# The grader inlines this one (SVG output: no web fonts) into each feedback page.
cp "$modules/mathjax/es5/tex-svg.js" "$dest/mathjax/"
cp -r "$modules/mathjax/es5/output" "$modules/mathjax/es5/input" "$modules/mathjax/es5/a11y" \
      "$modules/mathjax/es5/ui" "$modules/mathjax/es5/adaptors" "$dest/mathjax/"
rm -rf "$dest/mathjax/output/svg"
cp "$modules/requirejs/require.js" "$dest/require.min.js"
# The widget manager and the icon fonts it references next to itself.
cp "$modules/@jupyter-widgets/html-manager/dist/embed-amd.js" "$dest/"
cp "$modules/@jupyter-widgets/html-manager/dist/"*.{woff,woff2,ttf,eot,svg} "$dest/"
