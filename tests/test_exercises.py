"""The exercise notebooks: release in sync with the sources, references in sync with lstmlab, and the
student's view (visible checks pass for a right answer, and name what is wrong for a wrong one)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from lstmlab import checking
from lstmlab.grading import references
from lstmlab.grading.references import assignments, is_solution_cell, is_test_cell

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(ROOT / "solutions")


def test_assignments_exist_and_sort_in_course_order():
    assert ASSIGNMENTS, "no assignment in solutions/"
    assert all(name[:2] == "ch" and name[2:4].isdigit() for name in ASSIGNMENTS)
    assert sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir()) == ASSIGNMENTS


def same_values(a, b):
    """Encoded references equal up to the last bits that another BLAS may round differently."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        if all(isinstance(x, (int, float)) for x in a + b):
            return np.allclose(a, b, rtol=1e-12, atol=1e-14)
        return all(same_values(x, y) for x, y in zip(a, b))
    return a == b


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_checked_in_references_are_what_lstmlab_generates(assignment):
    run = references.run(ROOT / "solutions", assignment, references.RELEASE_BASE)
    stored = references.load_visible(ROOT / "solutions", assignment)  # refuses stale hashes
    assert same_values(run.visible_values(), stored), "stale references: run make release"
    assert run.hidden and not run.hidden & stored.keys()


@pytest.mark.grading  # an nbgrader batch over every assignment: minutes, so not in make test-fast
def test_exercises_are_exactly_what_nbgrader_generates(tmp_path):
    """exercises/ must not drift from solutions/: regenerate the release and compare every file."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    for assignment in ASSIGNMENTS:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--no-db"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-3000:]
        fresh, stored = tmp_path / "exercises" / assignment, ROOT / "exercises" / assignment
        names = sorted(p.name for p in fresh.iterdir())
        assert names == sorted(p.name for p in stored.iterdir())
        for name in names:
            hint = f"exercises/{assignment}/{name} is out of date: run make release"
            if name.endswith(".ipynb"):
                assert nbformat.read(fresh / name, 4) == nbformat.read(stored / name, 4), hint
            else:
                assert (fresh / name).read_bytes() == (stored / name).read_bytes(), hint


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(assignment):
    text = (ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", 4)
    assert all("raise NotImplementedError" in c.source for c in nb.cells if is_solution_cell(c))
    assert not (ROOT / "exercises" / assignment / "hidden").exists()


def run_as_student(notebook, folder):
    """Execute a notebook the way a student's JupyterLab does: plain kernel, in the assignment folder."""
    client = NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_with_right_answers_passes_every_visible_check(assignment, tmp_path):
    shutil.copytree(ROOT / "exercises" / assignment, tmp_path / assignment)
    nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", 4)
    solved = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells if is_solution_cell(c)}
    for cell in nb.cells:
        if is_solution_cell(cell):
            cell.source = answers[cell.metadata["nbgrader"]["grade_id"]]
    nb = run_as_student(nb, tmp_path / assignment)
    outputs = "".join(o.get("text", "") for c in nb.cells if is_test_cell(c) for o in c.outputs)
    assert outputs.count("ok  ") == len(json.loads((tmp_path / assignment / checking.REFERENCES).read_text())["values"])


def test_student_with_a_wrong_answer_is_told_what_is_wrong(tmp_path):
    assignment = ASSIGNMENTS[0]
    shutil.copytree(ROOT / "exercises" / assignment, tmp_path / assignment)
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", 4)
    first = next(c for c in nb.cells if is_solution_cell(c))
    # Break the first function: every value it returns is off by one.
    name = references.defined_functions(first.source)[0]
    first.source += f"\n\n_right_{name} = {name}\n\ndef {name}(*args, **kwargs):\n" \
                    f"    import numpy as np\n    return np.asarray(_right_{name}(*args, **kwargs)) + 1.0\n"
    with pytest.raises(CellExecutionError) as failure:
        run_as_student(nb, tmp_path / assignment)
    message = str(failure.value)
    assert "expected" in message and "got" in message, message
