"""Generate every exercise's reference outputs from lstmlab: `python -m lstmlab.grading.references [ASSIGNMENT ...]`.

The test cells of a source notebook are the single definition of the test cases. This script runs the
notebook's cells in order, but in place of each solution cell it binds the functions that cell defines
to the lstmlab implementations named in the notebook metadata, so that every reference value comes
from lstmlab and none from the instructor's solution. It writes

- `solutions/<a>/references.json`: the visible cases, released with the notebook for the students'
  own checks;
- `lstmlab/grading/hidden/<a>.json`: every case (visible and hidden) and which test cell records
  which cases, read only by the grader, outside the student's kernel.

Beside the references, both files hold what every catalogued mistake (`lstmlab.grading.mistakes`)
outputs where it differs from the reference, and the mistakes' messages, so that a wrong output
that matches one is named (the visible file holds only the visible cases).
"""

import argparse
import ast
import contextlib
import importlib
import io
import json
import os
from pathlib import Path

import nbformat

from lstmlab import checking
from lstmlab.grading import mistakes

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
HIDDEN = Path(__file__).resolve().parent / "hidden"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def assignments():
    """Every assignment in solutions/, in course order."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").exists())


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell):
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and meta.get("grade", False) and not meta.get("solution", False)


def is_solution_cell(cell):
    return cell.cell_type == "code" and nbgrader_meta(cell).get("solution", False)


def split_hidden(source):
    """(visible part, hidden part) of a test cell; the hidden block must close the cell."""
    if BEGIN_HIDDEN not in source:
        return source, ""
    visible, _, rest = source.partition(BEGIN_HIDDEN)
    hidden, _, tail = rest.partition(END_HIDDEN)
    if tail.strip():
        raise ValueError(f"the hidden-test block must be the last thing in its cell:\n{source}")
    return visible, hidden


def defined_functions(source):
    """Names of the functions a solution cell defines; anything else at top level is refused."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise ValueError(f"a solution cell may only define functions, found:\n{ast.unparse(node)}")
    return names


def resolve(spec):
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def generate(assignment, overrides=None):
    """Run the assignment's notebook against lstmlab; return (visible file, hidden file) contents.

    `overrides` replaces the named notebook functions (a catalogued mistake's variant); without it,
    the mistakes' outputs are added to both files.
    """
    folder = SOLUTIONS / assignment
    nb = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    implementations = nb.metadata.get("lstmlab", {}).get("implementations", {})
    namespace = {"__name__": "__main__"}
    values, cells = {}, {}
    hidden_keys = set()

    def run(code, grade_id=None, hidden=False):
        def sink(record):
            key = record["key"]
            if grade_id is None:
                raise ValueError(f"{assignment}: check({key!r}) outside a graded test cell")
            if key in values:
                raise ValueError(f"{assignment}: test case {key!r} is recorded twice")
            values[key] = {k: record[k] for k in ("value", "rtol", "atol")}
            cells.setdefault(grade_id, []).append(key)
            if hidden:
                hidden_keys.add(key)
        checking.sink = sink
        try:
            # Notebook output (prints, figures) is not part of the references.
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"<{assignment}>", "exec"), namespace)
        finally:
            checking.sink = None

    os.environ.setdefault("MPLBACKEND", "Agg")
    cwd = os.getcwd()
    os.chdir(folder)  # cells may read data files that sit beside the notebook
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_solution_cell(cell):
                for name in defined_functions(cell.source):
                    if name not in implementations:
                        raise ValueError(f"{assignment}: no lstmlab implementation named for {name!r}")
                    namespace[name] = (overrides or {}).get(name) or resolve(implementations[name])
            elif is_test_cell(cell):
                grade_id = nbgrader_meta(cell)["grade_id"]
                visible, hidden = split_hidden(cell.source)
                run(visible, grade_id)
                run(hidden, grade_id, hidden=True)
                recorded = set(cells.get(grade_id, []))
                if not recorded - hidden_keys or not recorded & hidden_keys:
                    raise ValueError(f"{assignment}: test cell {grade_id!r} needs visible and hidden cases")
            else:
                run(cell.source)
    finally:
        os.chdir(cwd)
    visible = {"assignment": assignment,
               "values": {k: v for k, v in values.items() if k not in hidden_keys}}
    hidden = {"assignment": assignment, "cells": cells, "values": values}
    if overrides is None:
        add_mistakes(assignment, implementations, visible, hidden, hidden_keys)
    return visible, hidden


def add_mistakes(assignment, implementations, visible, hidden, hidden_keys):
    """Put each catalogued mistake's outputs, where they differ from the references, and its message in both files."""
    def close(reference, value):
        return checking.compare(reference["value"], value["value"], reference["rtol"], reference["atol"]) is None

    originals = {name: resolve(spec) for name, spec in implementations.items()}
    found = mistakes.variant_outputs(assignment, hidden["values"],
                                     lambda overrides: generate(assignment, overrides)[1]["values"], originals, close)
    catalogue = mistakes.messages(assignment)
    shown = {key: outputs for key, outputs in found.items() if key not in hidden_keys}
    visible["mistakes"], hidden["mistakes"] = shown, found
    visible["catalogue"] = {name: catalogue[name] for name in sorted({m for o in shown.values() for m in o})}
    hidden["catalogue"] = catalogue


def dump(data):
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def paths(assignment):
    return SOLUTIONS / assignment / checking.REFERENCES, HIDDEN / f"{assignment}.json"


def load_hidden(assignment):
    """The grader's references for one assignment."""
    with open(paths(assignment)[1]) as f:
        return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in solutions/")
    args = parser.parse_args(argv)
    HIDDEN.mkdir(exist_ok=True)
    for assignment in args.assignments or assignments():
        visible, hidden = generate(assignment)
        visible_path, hidden_path = paths(assignment)
        visible_path.write_text(dump(visible))
        hidden_path.write_text(dump(hidden))
        print(f"{assignment}: {len(visible['values'])} visible and "
              f"{len(hidden['values']) - len(visible['values'])} hidden cases")


if __name__ == "__main__":
    main()
