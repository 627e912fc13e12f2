# Two commands do all set-up on a fresh machine: `make book` and `make test`.
# Both create (or reuse) .venv from the pinned requirements.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
VENDOR := book/_static/vendor

.PHONY: venv book page test test-fast lint lock pdf secret autograde release clean

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

# The execution cache (.jupyter_cache, see _config.yml) knows a chapter's code, not the package it
# imports: it is kept only while lstmlab/, results/ and the lock are as they were when it was filled.
# Clearing it also drops Sphinx's record of what it has read, so that every chapter is read (and
# executed) again, not only the changed ones.
CACHE_KEY = $(shell cat requirements.txt $$(git ls-files -co --exclude-standard lstmlab results | sort) \
	2>/dev/null | sha256sum | cut -c1-16)
.PHONY: execution-cache
execution-cache:
	@if [ "$$(cat .jupyter_cache/.key 2>/dev/null)" != "$(CACHE_KEY)" ]; then \
		rm -rf .jupyter_cache _build/.doctrees _build/jupyter_execute _build/page && mkdir -p .jupyter_cache && \
		echo "$(CACHE_KEY)" > .jupyter_cache/.key && echo "execution cache cleared (package changed)"; fi

# The appendix reads the code, the tests and the chapters: Sphinx must read it again on every build.
book: $(STAMP) $(VENDOR)/.installed execution-cache
	touch book/appendix/equations.md
	$(VENV)/bin/jupyter-book build . --warningiserror --builder html

# One chapter alone, for a quick check while writing it: make page PAGE=book/part1/ch02_linear_separability
# (HTML in _build/page/<chapter>/_build/html).
page: $(STAMP) $(VENDOR)/.installed execution-cache
	test -n "$(PAGE)" || { echo "usage: make page PAGE=book/partN/chNN_name (or book/appendix/equations)"; exit 2; }
	mkdir -p _build/page/$(notdir $(PAGE))
	printf 'format: jb-book\nroot: book/intro\nchapters:\n  - file: %s\n' "$(PAGE)" > _build/page/$(notdir $(PAGE))/toc.yml
	$(VENV)/bin/jupyter-book build . --warningiserror --builder html \
		--toc _build/page/$(notdir $(PAGE))/toc.yml --path-output _build/page/$(notdir $(PAGE))

test: lint book
	$(PY) -m pytest -n 2 --dist loadgroup --durations=15

# Unit tests only: no book build, no nbgrader batches, no browser (quick loop while developing).
test-fast: lint
	$(PY) -m pytest -n 2 --dist loadgroup -m "not book and not grading and not install and not browser" --durations=10

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# requirements.txt, the exact lock, from pyproject.toml's dependencies (see .ci/lock.py).
lock: $(STAMP)
	$(PY) .ci/lock.py

# The built book as one PDF for offline reading (_build/pdf/lstmlab.pdf): Chromium prints each page.
# Run `make book` first (not a prerequisite here: it would execute every chapter again).
pdf: $(STAMP)
	$(PY) -m tools.book_pdf

# Instructor: regenerate the student release from solutions/ (see README, "For instructors").
release: $(STAMP)
	$(PY) -m lstmlab.grading.release

# Instructor: the grading secret, once (kept in ~/.config/lstmlab; see README, "For instructors").
secret: $(STAMP)
	$(PY) -m lstmlab.grading.secret init

# Instructor: autograde, feedback, grades.csv and lms/*.csv for every collected submission of
# ASSIGNMENT (or all), JOBS graders in parallel (default: all cores).
autograde: $(STAMP)
	JOBS=$(JOBS) nice -n 10 $(PY) -m lstmlab.grading.autograde $(ASSIGNMENT)

clean:
	rm -rf _build .jupyter_cache submitted autograded feedback gradebook.db grades.csv grading_report.csv lms
