"""References computed from lstmlab: fixed visible cases, per-student hidden cases, stale references refused."""

import contextlib
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from lstmlab import checking
from lstmlab.grading import mistakes, references, secret
from lstmlab.grading.errors import InstructorError
from lstmlab.grading.preprocessors import verdict

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "solutions"
ASSIGNMENTS = references.assignments(SOURCE)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_cases_depend_on_the_seed_and_visible_ones_do_not(assignment):
    one, other = (references.run(SOURCE, assignment, base) for base in (1, 2**127 + 5))
    assert one.hidden and one.hidden == other.hidden and one.cells == other.cells
    assert one.visible_values() == other.visible_values()
    differ = [k for k in one.hidden if one.values[k] != other.values[k]]
    # Every hidden case that draws from a seed differs; the few fixed ones (e.g. AND, NAND) may not.
    assert len(differ) >= len(one.hidden) // 2, (assignment, sorted(set(one.hidden) - set(differ)))


def test_the_repository_holds_no_hidden_reference_values():
    assert not (ROOT / "lstmlab" / "grading" / "hidden").exists()
    for assignment in ASSIGNMENTS:
        stored = json.loads((SOURCE / assignment / "references.json").read_text())["values"]
        assert not [k for k in stored if k.startswith("hidden.")]


def test_hidden_seeds_exist_only_under_the_grader():
    assert checking.hidden_base is None
    with pytest.raises(RuntimeError, match="only under the grader"):
        checking.hidden_seed(1)


def test_stale_missing_and_corrupt_references_are_refused(tmp_path):
    assignment = ASSIGNMENTS[0]
    shutil.copytree(SOURCE / assignment, tmp_path / assignment)
    refs = tmp_path / assignment / "references.json"
    references.load_visible(tmp_path, assignment)
    data = json.loads(refs.read_text())
    module = sorted(data["made_from"]["lstmlab"])[-1]
    data["made_from"]["lstmlab"][module] = "0" * 64
    refs.write_text(json.dumps(data))
    with pytest.raises(InstructorError, match=f"stale: {module} changed"):
        references.load_visible(tmp_path, assignment)
    nb_path = tmp_path / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("more"))
    nbformat.write(nb, nb_path)
    references.write(tmp_path, assignment)
    references.load_visible(tmp_path, assignment)
    refs.write_text("[")
    with pytest.raises(InstructorError, match="corrupt.*make release"):
        references.load_visible(tmp_path, assignment)
    refs.unlink()
    with pytest.raises(InstructorError, match="missing"):
        references.load_visible(tmp_path, assignment)
    with pytest.raises(InstructorError, match="no source notebook"):
        references.run(tmp_path, "ch99_unknown", 0)


def test_a_variant_run_replaces_the_implementations():
    """Any mapping of the solution cells' functions can stand in for lstmlab (e.g. a wrong variant)."""
    assignment = ASSIGNMENTS[0]
    nb = references.notebook(SOURCE, assignment)
    wrong = {name: (lambda *args, **kwargs: 0.0) for name in references.lstmlab_implementations(nb)}
    right = references.run(SOURCE, assignment, 7)
    variant = references.run(SOURCE, assignment, 7, implementations=wrong)
    assert variant.cells == right.cells and variant.values != right.values


def test_a_failed_hidden_case_never_shows_its_reference():
    reference = checking.encode(3.25)
    cell = nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={checking.MIME: {"key": k, "value": checking.encode(1.5)}}) for k in ("shown", "secret")])
    refs = {k: {"value": reference, "rtol": 1e-7, "atol": 1e-10} for k in ("shown", "secret")}
    passed, lines = verdict(cell, ["shown", "secret"], refs, hidden={"secret"})
    assert not passed and "3.25" in lines[0] and "3.25" not in lines[1] and "not shown" in lines[1]


KEY = bytes.fromhex("5ec7e7" * 10 + "abcd")
STUDENTS = [f"student{k:02d}" for k in range(50)]


def student_run(assignment, student, implementations=None):
    return references.run(SOURCE, assignment, secret.student_seed(KEY, assignment, student), implementations)


def shapes(encoded):
    """The shapes of every array in an encoded value."""
    if "items" in encoded:
        return tuple(shapes(item) for item in encoded["items"])
    if "fields" in encoded:
        return tuple((k, shapes(v)) for k, v in sorted(encoded["fields"].items()))
    return tuple(encoded["shape"])


def solution_functions(assignment):
    """The functions the instructor's solution cells define (run with the notebook's setup cells), by name."""
    nb = references.notebook(SOURCE, assignment)
    namespace, names = {"__name__": "__main__"}, []
    with contextlib.chdir(SOURCE / assignment), contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            if cell.cell_type == "code" and not references.is_test_cell(cell):
                exec(cell.source, namespace)
                names += references.defined_functions(cell.source) if references.is_solution_cell(cell) else []
    return {name: namespace[name] for name in names}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_shapes_differ_between_students_and_repeat_for_one(assignment):
    alice, bob, alice_again = (student_run(assignment, s) for s in ("alice", "bob", "alice"))
    assert alice.values == alice_again.values
    assert alice.visible_values() == bob.visible_values()
    differ = [k for k in alice.hidden if shapes(alice.values[k]["value"]) != shapes(bob.values[k]["value"])]
    assert len(differ) >= len(alice.hidden) // 3, (assignment, differ)
    assert sum(alice.values[k] != bob.values[k] for k in alice.hidden) >= len(alice.hidden) // 2
    # Across a class, the shapes of every case drawn with hidden_sizes take several values.
    seen = {k: {shapes(student_run(assignment, s).values[k]["value"]) for s in STUDENTS[:10]} for k in differ}
    assert all(len(v) > 1 for v in seen.values())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_honest_solution_passes_every_students_hidden_shapes(assignment):
    solution = solution_functions(assignment)
    for student in STUDENTS:
        reference, honest = student_run(assignment, student), student_run(assignment, student, solution)
        wrong = [k for k, v in reference.values.items()
                 if checking.compare(v["value"], honest.values[k]["value"], v["rtol"], v["atol"])]
        assert not wrong, (assignment, student, wrong)


@pytest.mark.grading
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_catalogued_mistake_fails_a_hidden_case_of_every_student(assignment):
    for student in STUDENTS:
        base = secret.student_seed(KEY, assignment, student)
        reference = references.run(SOURCE, assignment, base)
        outputs = references.mistake_outputs(SOURCE, assignment, reference, base)
        caught = {m for key, wrong in outputs.items() if key in reference.hidden for m in wrong}
        assert not {m.name for m in mistakes.CATALOGUE[assignment]} - caught, (assignment, student)
