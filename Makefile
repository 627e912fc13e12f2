# Two commands do all set-up on a fresh machine: `make book` and `make test`.
# Both create (or reuse) .venv from the pinned requirements.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
VENDOR := book/_static/vendor

.PHONY: venv book test test-fast autograde release clean

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

test: book
	$(PY) -m pytest -n 2 --dist loadgroup

# Unit tests only, no book build (quick loop while developing).
test-fast: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -m "not book"

# Instructor: regenerate the student release from solutions/ (see README, "For instructors").
release: $(STAMP)
	$(PY) -m lstmlab.grading.release

# Instructor: autograde, feedback and grades.csv for every collected submission of ASSIGNMENT (or all).
autograde: $(STAMP)
	$(PY) -m lstmlab.grading.autograde $(ASSIGNMENT)

clean:
	rm -rf _build submitted autograded feedback gradebook.db grades.csv
