"""Reference outputs of the exercises, computed from lstmlab: `python -m lstmlab.grading.references [ASSIGNMENT ...]`.

The test cells of a source notebook are the single definition of the test cases. A *run* executes the
notebook's cells in order, but in place of each solution cell it binds the functions that cell defines
to given implementations: by default the lstmlab ones named in the notebook metadata, so that every
reference value comes from lstmlab and none from the instructor's solution (another mapping, e.g. a
deliberately wrong variant, gives that variant's outputs).

- The visible cases are fixed and public. `make release` writes them to `solutions/<a>/references.json`
  (released with the notebook, for the students' own checks) together with hashes of what they were
  made from (the source notebook and every lstmlab module the implementations load), so that grading
  can refuse stale references.
- The hidden cases draw their inputs from `checking.hidden_seed`, which derives from a per-student seed
  (`lstmlab.grading.secret`). Their reference values are never stored: the grader computes them for each
  student at grading time, here, outside the student's kernel.

Beside the references, `references.json` holds what every catalogued mistake (`lstmlab.grading.mistakes`)
outputs on the visible cases where it differs from the reference, and the mistakes' messages, so that a
wrong output that matches one is named; the grader computes the same for each student's hidden cases.
"""

import argparse
import ast
import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lstmlab import checking
from lstmlab.grading import mistakes
from lstmlab.grading.errors import InstructorError

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# The seed the release runs the hidden blocks with: only to check that they run, nothing is kept.
RELEASE_BASE = 0


def assignments(source="solutions"):
    """Every assignment in the source folder, in course order."""
    return sorted(p.name for p in Path(source).iterdir() if (p / f"{p.name}.ipynb").exists())


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


def notebook(source, assignment):
    path = Path(source) / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise InstructorError(f"{assignment}: no source notebook {path}; is the assignment name right? "
                              f"Known: {', '.join(assignments(source)) or 'none'}")
    return nbformat.read(path, as_version=4)


def lstmlab_implementations(nb):
    """{function name: lstmlab callable} from the notebook metadata."""
    return {name: resolve(spec) for name, spec in nb.metadata.get("lstmlab", {}).get("implementations", {}).items()}


@dataclass
class Run:
    """What one run of a notebook recorded: every case's reference, and which test cell records which cases."""
    values: dict = field(default_factory=dict)
    cells: dict = field(default_factory=dict)
    hidden: set = field(default_factory=set)

    def visible_values(self):
        return {k: v for k, v in self.values.items() if k not in self.hidden}


def run(source, assignment, hidden_base, implementations=None, overrides=None):
    """Run an assignment's notebook with `implementations` (default: lstmlab's), some of them replaced by
    `overrides` (e.g. a catalogued mistake's variant), in place of its solution cells."""
    nb = notebook(source, assignment)
    implementations = lstmlab_implementations(nb) if implementations is None else implementations
    implementations = {**implementations, **(overrides or {})}
    namespace = {"__name__": "__main__"}
    result = Run()

    def execute(code, grade_id=None, hidden=False):
        def sink(record):
            key = record["key"]
            if grade_id is None:
                raise ValueError(f"{assignment}: check({key!r}) outside a graded test cell")
            if key in result.values:
                raise ValueError(f"{assignment}: test case {key!r} is recorded twice")
            result.values[key] = {k: record[k] for k in ("value", "rtol", "atol")}
            result.cells.setdefault(grade_id, []).append(key)
            if hidden:
                result.hidden.add(key)
        checking.sink = sink
        try:
            # Notebook output (prints, figures) is not part of the references.
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"<{assignment}>", "exec"), namespace)
        finally:
            checking.sink = None

    os.environ.setdefault("MPLBACKEND", "Agg")
    cwd, base = os.getcwd(), checking.hidden_base
    os.chdir(Path(source) / assignment)  # cells may read data files that sit beside the notebook
    checking.hidden_base = hidden_base
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_solution_cell(cell):
                for name in defined_functions(cell.source):
                    if name not in implementations:
                        raise ValueError(f"{assignment}: no implementation named for {name!r}")
                    namespace[name] = implementations[name]
            elif is_test_cell(cell):
                grade_id = nbgrader_meta(cell)["grade_id"]
                visible, hidden = split_hidden(cell.source)
                execute(visible, grade_id)
                execute(hidden, grade_id, hidden=True)
                recorded = set(result.cells.get(grade_id, []))
                if not recorded - result.hidden or not recorded & result.hidden:
                    raise ValueError(f"{assignment}: test cell {grade_id!r} needs visible and hidden cases")
            else:
                execute(cell.source)
    finally:
        os.chdir(cwd)
        checking.hidden_base = base
    return result


def mistake_outputs(source, assignment, result, hidden_base):
    """{case key: {mistake: encoded output}}: what each catalogued mistake outputs where it differs from
    the reference, on the same cases (the same hidden seed) as the run `result`."""
    def close(reference, value):
        return checking.compare(reference["value"], value["value"], reference["rtol"], reference["atol"]) is None

    originals = lstmlab_implementations(notebook(source, assignment))
    return mistakes.variant_outputs(
        assignment, result.values, lambda overrides: run(source, assignment, hidden_base, overrides=overrides).values,
        originals, close)


def _module_file(name):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):  # `from module import function`: not a module
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _lstmlab_imports(name, path):
    """The lstmlab modules that module `name` (source at `path`) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m.split(".")[0] == "lstmlab" and _module_file(m)}


def code_fingerprint(path):
    """A hash of a module's code: its syntax tree less docstrings, so that comments and docstrings may
    change without staling the references, and any change to what runs does."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def made_from(source, assignment):
    """Hashes of what an assignment's references depend on: its notebook and the code of the lstmlab
    modules its implementations load. (A change to lstmlab.checking that changes values shows when grading compares
    the released references with a fresh run.)"""
    nb_path = Path(source) / assignment / f"{assignment}.ipynb"
    specs = notebook(source, assignment).metadata.get("lstmlab", {}).get("implementations", {}).values()
    todo = {spec.partition(":")[0] for spec in specs}
    modules = {}
    while todo:
        name = todo.pop()
        path = _module_file(name)
        modules[name] = code_fingerprint(path)
        todo |= _lstmlab_imports(name, path) - modules.keys()
    return {"notebook": hashlib.sha256(nb_path.read_bytes()).hexdigest(), "lstmlab": dict(sorted(modules.items()))}


def path(source, assignment):
    return Path(source) / assignment / checking.REFERENCES


def load_visible(source, assignment):
    """The released visible references, refused if missing, corrupt or made from anything that has changed."""
    fix = f"run `make release` (or python -m lstmlab.grading.release {assignment}) in the course folder"
    try:
        data = json.loads(path(source, assignment).read_text())
        values, made = data["values"], data["made_from"]
    except FileNotFoundError:
        raise InstructorError(f"{assignment}: the references {path(source, assignment)} are missing; {fix}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise InstructorError(f"{assignment}: the references {path(source, assignment)} are corrupt "
                              f"({type(error).__name__}: {error}); {fix}") from None
    now = made_from(source, assignment)
    if made != now:
        changed = (["the source notebook"] if made.get("notebook") != now["notebook"] else []) + sorted(
            m for m in now["lstmlab"].keys() | dict(made.get("lstmlab") or {}).keys()
            if (made.get("lstmlab") or {}).get(m) != now["lstmlab"].get(m))
        raise InstructorError(f"{assignment}: the references are stale: {', '.join(changed)} changed since they "
                              f"were made, so the students' visible checks would disagree with the grader; {fix}")
    return values


def released_catalogue(source, assignment):
    """{mistake: message} as released in references.json (read there, so grading needs no book sources)."""
    return json.loads(path(source, assignment).read_text()).get("catalogue", {})


def for_student(source, assignment, hidden_base):
    """Every case's reference for one student (hidden cases from their seed), and which cell records which."""
    try:
        result = run(source, assignment, hidden_base)
    except InstructorError:
        raise
    except Exception as error:
        raise InstructorError(f"{assignment}: computing the references failed ({type(error).__name__}: {error}); "
                              f"fix the notebook's test cells or lstmlab, then run `make release`") from error
    return result


def dump(data):
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def write(source, assignment):
    """Compute and store the visible references of one assignment; return the run."""
    result = run(source, assignment, RELEASE_BASE)
    shown = {key: outputs for key, outputs in mistake_outputs(source, assignment, result, RELEASE_BASE).items()
             if key not in result.hidden}
    catalogue = mistakes.messages(assignment)
    data = {"assignment": assignment, "values": result.visible_values(), "made_from": made_from(source, assignment),
            "mistakes": shown, "catalogue": {m: catalogue[m] for m in sorted({m for o in shown.values() for m in o})}}
    path(source, assignment).write_text(dump(data))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment in the source folder")
    parser.add_argument("--source", default="solutions", help="the course's source folder (default: solutions)")
    args = parser.parse_args(argv)
    for assignment in args.assignments or assignments(args.source):
        result = write(args.source, assignment)
        print(f"{assignment}: {len(result.values) - len(result.hidden)} visible cases written, "
              f"{len(result.hidden)} hidden cases (computed per student at grading time)")


if __name__ == "__main__":
    main()
