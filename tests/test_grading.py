"""The instructor's flow end to end, and the cheats that must earn nothing.

Each test builds a course folder in a temporary directory (nbgrader_config.py, solutions/, exercises/),
puts submissions under submitted/, runs `python -m lstmlab.grading.autograde` exactly as
`make autograde` does, and reads the scores from the gradebook export and the grading report.
"""

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lstmlab.grading.references import assignments, is_solution_cell, is_test_cell
from lstmlab.grading.sandbox import landlock_abi

ROOT = Path(__file__).resolve().parents[1]
CHEATS = Path(__file__).resolve().parent / "cheats"
ASSIGNMENTS = assignments()
CHEATED = ASSIGNMENTS[0]  # the cheats all attack the first assignment

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(landlock_abi() < 1, reason="grading needs Linux Landlock")]


def make_course(tmp_path, names, extra_config=""):
    course = tmp_path / "course"
    course.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text() + extra_config
    (course / "nbgrader_config.py").write_text(config)
    for name in names:
        for folder in ("solutions", "exercises"):
            shutil.copytree(ROOT / folder / name, course / folder / name)
    return course


def submit(course, student, assignment, notebook):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    target = folder / f"{assignment}.ipynb"
    if isinstance(notebook, str):
        target.write_text(notebook)
    else:
        nbformat.write(notebook, target)


def released(assignment):
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def solution(assignment):
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def with_cheat(assignment, code, course):
    """The released notebook with every solution cell replaced by the cheat."""
    nb = released(assignment)
    implementations = solution(assignment).metadata["lstmlab"]["implementations"]
    header = (f"FUNCTION_NAMES = {sorted(implementations)!r}\nIMPLEMENTATIONS = {implementations!r}\n"
              f"REPO = {str(ROOT)!r}\nCOURSE = {str(course)!r}\n")
    cells = [c for c in nb.cells if is_solution_cell(c)]
    cells[0].source = header + code
    for cell in cells[1:]:
        cell.source = "pass"
    return nb


def autograde(course, timeout=600):
    env = {"LSTMLAB_CELL_TIMEOUT": "10", "PATH": str(Path(sys.executable).parent)}
    result = subprocess.run([sys.executable, "-m", "lstmlab.grading.autograde"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(course / "grading_report.csv") as f:
        report = {(r["assignment"], r["student"]): r for r in csv.DictReader(f)}
    with open(course / "grades.csv") as f:
        grades = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    return report, grades


def max_score(assignment):
    return sum(c.metadata["nbgrader"]["points"] for c in solution(assignment).cells
               if is_test_cell(c))


def test_solutions_get_full_marks_and_releases_get_zero(tmp_path):
    course = make_course(tmp_path, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        submit(course, "instructor", name, solution(name))
        submit(course, "untouched", name, released(name))
    report, grades = autograde(course)
    for name in ASSIGNMENTS:
        assert grades[name, "instructor"] == max_score(name) > 0, report[name, "instructor"]
        assert grades[name, "untouched"] == 0, report[name, "untouched"]
        assert report[name, "untouched"]["status"] == "graded"
    feedback = (course / "feedback" / "instructor" / ASSIGNMENTS[0]).glob("*.html")
    html = next(feedback).read_text()
    assert "lstmlab grader" in html and "BEGIN HIDDEN TESTS" not in html


def cheat_names():
    names = sorted(p.stem for p in CHEATS.glob("*.py"))
    if landlock_abi() < 6:  # without signal scoping this cheat would kill the test run itself
        names.remove("kill_grader")
    return names


def test_every_cheat_earns_nothing_and_the_batch_goes_on(tmp_path):
    course = make_course(tmp_path, [CHEATED])
    for name in cheat_names():
        submit(course, f"cheat_{name}", CHEATED, with_cheat(CHEATED, (CHEATS / f"{name}.py").read_text(), course))

    submit(course, "cheat_edited_tests", CHEATED, _edit_tests(course))
    submit(course, "cheat_malformed", CHEATED, "{ this is not a notebook")
    broken = released(CHEATED)
    broken.cells = [c for c in broken.cells if not is_test_cell(c)]
    submit(course, "cheat_deleted_tests", CHEATED, broken)
    # Graded last: an honest student after every kind of attack still gets full marks.
    submit(course, "zz_honest", CHEATED, solution(CHEATED))

    report, grades = autograde(course)
    cheaters = [key for key in report if key[1].startswith("cheat_")]
    assert len(cheaters) == len(cheat_names()) + 3
    for key in cheaters:
        assert grades[key] == 0, (key, report[key])
    assert grades[CHEATED, "zz_honest"] == max_score(CHEATED), report[CHEATED, "zz_honest"]
    assert "NotJSONError" in report[CHEATED, "cheat_malformed"]["reason"]
    for name in ("hang", "kill_kernel"):
        verdicts = (course / "autograded" / f"cheat_{name}" / CHEATED / f"{CHEATED}.ipynb").read_text()
        assert "grading stopped early" in verdicts


def _edit_tests(course):
    """A submission whose test cells are edited to print success, with wrong answers."""
    nb = with_cheat(CHEATED, "\n".join(f"def {n}(*args, **kwargs):\n    return 0.0\n" for n in
                                       solution(CHEATED).metadata["lstmlab"]["implementations"]), course)
    for cell in nb.cells:
        if is_test_cell(cell):
            cell.source = "print('all tests passed')"
            cell.metadata["nbgrader"]["points"] = 100
    return nb


def test_control_the_sandbox_is_what_stops_file_and_library_cheats(tmp_path):
    """In an ordinary kernel these two cheats would earn full marks."""
    course = make_course(tmp_path, [CHEATED], extra_config='\nc.Execute.kernel_name = "python3"\n')
    for name in ("call_lstmlab", "read_references"):
        submit(course, name, CHEATED, with_cheat(CHEATED, (CHEATS / f"{name}.py").read_text(), course))
    report, grades = autograde(course)
    for name in ("call_lstmlab", "read_references"):
        assert grades[CHEATED, name] == max_score(CHEATED), report[CHEATED, name]
