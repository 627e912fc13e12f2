# Two commands do all set-up on a fresh machine: `make book` and `make test`.
# Both create (or reuse) .venv from the pinned requirements.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
VENDOR := book/_static/vendor

.PHONY: venv book page test test-fast pdf autograde release clean

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m lstmlab.grading.kernelspec install
	touch $@

# MathJax, require.js and the widget manager are served from the build itself, not from a CDN.
$(VENDOR)/.installed: book/_vendor/package.json book/_vendor/package-lock.json book/_vendor/install.sh
	bash book/_vendor/install.sh $(VENDOR)
	touch $@

book: $(STAMP) $(VENDOR)/.installed
	$(VENV)/bin/jupyter-book build . --warningiserror --builder html

# One chapter alone, for a quick check while writing it: make page PAGE=book/part1/ch02_linear_separability
# (HTML in _build/page/<chapter>/_build/html).
page: $(STAMP) $(VENDOR)/.installed
	test -n "$(PAGE)" || { echo "usage: make page PAGE=book/partN/chNN_name (or book/appendix/equations)"; exit 2; }
	mkdir -p _build/page/$(notdir $(PAGE))
	printf 'format: jb-book\nroot: book/intro\nchapters:\n  - file: %s\n' "$(PAGE)" > _build/page/$(notdir $(PAGE))/toc.yml
	$(VENV)/bin/jupyter-book build . --warningiserror --builder html \
		--toc _build/page/$(notdir $(PAGE))/toc.yml --path-output _build/page/$(notdir $(PAGE))

test: book
	$(PY) -m pytest -n 2 --dist loadgroup

# Unit tests only, no book build and no browser (quick loop while developing).
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -m "not book and not browser"

# The built book as one PDF for offline reading (_build/pdf/lstmlab.pdf): Chromium prints each page.
# Run `make book` first (not a prerequisite here: it would execute every chapter again).
pdf: $(STAMP)
	$(PY) -m lstmlab.book_pdf

# Instructor: regenerate the student release from solutions/ (see README, "For instructors").
release: $(STAMP)
	$(PY) -m lstmlab.grading.release

# Instructor: autograde, feedback and grades.csv for every collected submission of ASSIGNMENT (or all).
autograde: $(STAMP)
	$(PY) -m lstmlab.grading.autograde $(ASSIGNMENT)

clean:
	rm -rf _build submitted autograded feedback gradebook.db grades.csv
