"""The instructor's flow end to end, the cheats that must earn nothing, and the instructor errors that must
stop grading before anyone is graded.

Each test builds a course folder in a temporary directory (nbgrader_config.py, solutions/, exercises/),
puts submissions under submitted/, runs `python -m lstmlab.grading.autograde` exactly as
`make autograde` does (in parallel: two graders), and reads the scores from the gradebook export, the
LMS files and the grading report.
"""

import csv
import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lstmlab.grading import autograde as grader
from lstmlab.grading.errors import InstructorError
from lstmlab.grading.feedback import VENDORED
from lstmlab.grading.references import assignments, is_solution_cell, is_test_cell
from lstmlab.grading.sandbox import landlock_abi

ROOT = Path(__file__).resolve().parents[1]
CHEATS = Path(__file__).resolve().parent / "cheats"
ASSIGNMENTS = assignments(ROOT / "solutions")
CHEATED = ASSIGNMENTS[0]  # the cheats all attack the first assignment
SECRET = "5ec7e7" * 10 + "abcd"
ODD_ID = "o'brien é 李 x"  # a quote, a space and letters beyond ASCII

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(landlock_abi() < 1, reason="grading needs Linux Landlock")]


def mathjax(tmp_path):
    """The vendored MathJax where the book's assets are installed, else a stand-in (rendering is checked
    in test_feedback_renders_maths_offline, which needs the real one)."""
    if (ROOT / VENDORED).is_file():
        return ROOT / VENDORED
    stub = tmp_path / "tex-svg.js"
    stub.write_text("/* MathJax stand-in for tests */")
    return stub


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


def grading_env(course, secret=SECRET, python=sys.executable):
    env = {"LSTMLAB_CELL_TIMEOUT": "10", "PATH": str(Path(python).parent) + ":/usr/bin:/bin",
           "HOME": str(course.parent), "XDG_CONFIG_HOME": str(course.parent / "config"),
           "LSTMLAB_MATHJAX": str(mathjax(course.parent))}
    if secret:
        env["LSTMLAB_GRADING_SECRET"] = secret
    return env


def run_grader(course, *args, env=None, python=sys.executable, timeout=900):
    return subprocess.run([python, "-m", "lstmlab.grading.autograde", "--jobs", "2", *args], cwd=course,
                          env=env or grading_env(course), capture_output=True, text=True, timeout=timeout)


def autograde(course, *args, **kwargs):
    result = run_grader(course, *args, **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(course / "grading_report.csv") as f:
        rows = list(csv.DictReader(f))
    report = {(r["assignment"], r["student"]): r for r in rows}
    assert len(report) == len(rows), "a submission is reported twice"
    with open(course / "grades.csv") as f:
        grades = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    return report, grades


def max_score(assignment):
    return sum(c.metadata["nbgrader"]["points"] for c in solution(assignment).cells
               if is_test_cell(c))


def lms_rows(course, assignment):
    with open(course / "lms" / f"{assignment}.csv", newline="") as f:
        return list(csv.reader(f))


def test_solutions_get_full_marks_and_releases_get_zero(tmp_path):
    course = make_course(tmp_path, ASSIGNMENTS)
    for name in ASSIGNMENTS:
        submit(course, "instructor", name, solution(name))
        submit(course, "untouched", name, released(name))
    submit(course, ODD_ID, CHEATED, solution(CHEATED))
    report, grades = autograde(course)
    assert len(report) == 2 * len(ASSIGNMENTS) + 1
    for name in ASSIGNMENTS:
        assert grades[name, "instructor"] == max_score(name) > 0, report[name, "instructor"]
        assert grades[name, "untouched"] == 0, report[name, "untouched"]
        assert report[name, "untouched"]["status"] == "graded"
    assert grades[CHEATED, ODD_ID] == max_score(CHEATED), report[CHEATED, ODD_ID]
    # The LMS file: one row per student, in the column layout gradebook imports take.
    points = f"{max_score(CHEATED):g}"
    assert lms_rows(course, CHEATED) == [["student_id", "points", "max_points"], ["instructor", points, points],
                                         [ODD_ID, points, points], ["untouched", "0", points]]
    html = next((course / "feedback" / "instructor" / CHEATED).glob("*.html")).read_text()
    assert "lstmlab grader" in html and "BEGIN HIDDEN TESTS" not in html and "hidden_seed" not in html
    assert "cdnjs" not in html and "MathJax" in html


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
    # Graded last: an honest student after every kind of attack still gets full marks, and so does one
    # whose notebook drags 50 MB of output along (the grader replaces the outputs).
    submit(course, "zz_honest", CHEATED, solution(CHEATED))
    big = solution(CHEATED)
    next(c for c in big.cells if is_solution_cell(c)).outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="x" * (50 * 2**20))]
    submit(course, "zz_honest_50MB", CHEATED, big)

    report, grades = autograde(course)
    cheaters = [key for key in report if key[1].startswith("cheat_")]
    assert len(cheaters) == len(cheat_names()) + 3
    for key in cheaters:
        assert grades[key] == 0, (key, report[key])
    for honest in ("zz_honest", "zz_honest_50MB"):
        assert grades[CHEATED, honest] == max_score(CHEATED), report[CHEATED, honest]
    assert "NotJSONError" in report[CHEATED, "cheat_malformed"]["reason"]
    for name in ("hang", "kill_kernel"):
        verdicts = (course / "autograded" / f"cheat_{name}" / CHEATED / f"{CHEATED}.ipynb").read_text()
        assert "grading stopped early" in verdicts
    # The secret never reaches a student's kernel, not even through other processes' /proc entries.
    looked = (course / "autograded" / "cheat_read_secret" / CHEATED / f"{CHEATED}.ipynb").read_text()
    assert "environment: None" in looked and "refused" in looked
    for graded in (course / "autograded").glob("*/*/*.ipynb"):
        assert SECRET not in graded.read_text(), graded


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
    for name in ("call_lstmlab", "read_solutions"):
        submit(course, name, CHEATED, with_cheat(CHEATED, (CHEATS / f"{name}.py").read_text(), course))
    report, grades = autograde(course)
    for name in ("call_lstmlab", "read_solutions"):
        assert grades[CHEATED, name] == max_score(CHEATED), report[CHEATED, name]


def instructor_errors(course):
    """(how to break the course, what the error must say): each is the instructor's to fix."""
    refs = course / "solutions" / CHEATED / "references.json"
    notebook = course / "solutions" / CHEATED / f"{CHEATED}.ipynb"
    submitted = course / "submitted"
    yield lambda: refs.unlink(), "references.json are missing; run `make release`"
    yield lambda: refs.write_text("{ not json"), "are corrupt"
    yield lambda: refs.write_text(json.dumps({"values": {}})), "are corrupt"

    def edit_notebook():
        nb = nbformat.read(notebook, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("One more remark."))
        nbformat.write(nb, notebook)
    yield edit_notebook, "stale: the source notebook changed"

    def tamper_values():
        data = json.loads(refs.read_text())
        key = sorted(data["values"])[0]
        data["values"][key]["value"] = {"shape": [], "data": [12345.0]}
        refs.write_text(json.dumps(data))
    yield tamper_values, "lstmlab no longer reproduces the released references"
    yield lambda: (submitted / "s1" / "ch99_unknown").mkdir(parents=True), "unknown assignment 'ch99_unknown'"
    yield lambda: (submitted / "loose.ipynb").write_text("{}"), "loose.ipynb is a file, not a student's folder"
    yield lambda: (submitted / "s2").mkdir() or (submitted / "s2" / CHEATED).write_text("{}"), "is a file, not a folder"
    yield lambda: (submitted / "s3" / CHEATED).mkdir(parents=True) or (
        submitted / "s3" / CHEATED / "hw.ipynb").write_text("{}"), f"has no {CHEATED}.ipynb (it holds hw.ipynb)"
    yield lambda: submit(course, "[s4]", CHEATED, solution(CHEATED)), "'[s4]'"
    yield lambda: os.environ.pop("LSTMLAB_GRADING_SECRET"), "no grading secret"
    yield lambda: os.environ.update(LSTMLAB_GRADING_SECRET="not-hex"), "malformed"
    yield lambda: os.environ.update(LSTMLAB_GRADING_SECRET="ab" * 32), "wrong grading secret"


def test_instructor_errors_stop_everything_before_anyone_is_graded(tmp_path, monkeypatch):
    course = make_course(tmp_path, [CHEATED])
    submit(course, "honest", CHEATED, solution(CHEATED))
    for var, value in grading_env(course).items():
        monkeypatch.setenv(var, value)
    api = grader.load_api(course)
    assert grader.preflight(api, []) == [(CHEATED, "honest")]
    pristine = tmp_path / "pristine"
    shutil.copytree(course, pristine)
    for breakage, message in instructor_errors(course):
        breakage()
        with pytest.raises(InstructorError) as error:
            grader.preflight(api, [])
        assert message in str(error.value)
        shutil.rmtree(course)
        shutil.copytree(pristine, course)
        os.environ["LSTMLAB_GRADING_SECRET"] = SECRET
    # The command line: exit status 2, the message, and no grade for anyone.
    (course / "solutions" / CHEATED / "references.json").unlink()
    result = run_grader(course)
    assert result.returncode == 2, result.stderr
    assert f"error: {CHEATED}: the references" in result.stderr and "make release" in result.stderr
    assert not (course / "grades.csv").exists() and not (course / "autograded").exists()
    assert not (course / "gradebook.db").exists()


def test_a_second_grader_on_the_same_course_stops_at_once(tmp_path):
    course = make_course(tmp_path, [CHEATED])
    submit(course, "honest", CHEATED, solution(CHEATED))
    with open(course / grader.LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.write("pid 1 since 00:00:00")
        lock.flush()
        second = run_grader(course)
    assert second.returncode == 2 and "another grader is running on this course" in second.stderr
    assert not (course / "autograded").exists()


def test_feedback_renders_maths_offline(tmp_path):
    """The feedback page typesets its maths in a browser that can reach no network at all."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Chromium is not installed (.ci/run installs it)")
    if not (ROOT / VENDORED).is_file():
        pytest.skip(f"no vendored MathJax ({VENDORED}): run make book")
    course = make_course(tmp_path, [CHEATED])
    submit(course, "honest", CHEATED, solution(CHEATED))
    autograde(course)
    page = next((course / "feedback" / "honest" / CHEATED).glob("*.html"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=15000", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<mjx-container") > 10, dom[:2000]
    assert "lstmlab grader: 2 of 2 points" in dom


POLLUTE = """import builtins, os, sys, numpy
numpy.left_behind = builtins.left_behind = sys.modules["left_behind"] = "a_polluter"
os.environ["LEFT_BEHIND"] = "a_polluter"
"""
PROBE = """import builtins, os, sys, numpy
if (hasattr(numpy, "left_behind") or hasattr(builtins, "left_behind") or "left_behind" in sys.modules
        or "LEFT_BEHIND" in os.environ):
    raise RuntimeError("another student's state reached this kernel")
"""


def test_one_students_state_never_reaches_the_next(tmp_path):
    """Kernels forked from one zygote (one grader, graded in turn): what the first student's code leaves
    in numpy, builtins, sys.modules and the environment is not there for the second; a probe that saw it
    would leave its functions undefined and earn nothing."""
    course = make_course(tmp_path, [CHEATED])
    for student, code in (("a_polluter", POLLUTE), ("b_probe", PROBE)):
        nb = solution(CHEATED)
        cell = next(c for c in nb.cells if is_solution_cell(c))
        cell.source = code + cell.source
        submit(course, student, CHEATED, nb)
    report, grades = autograde(course, "--jobs", "1")
    assert grades[CHEATED, "a_polluter"] == grades[CHEATED, "b_probe"] == max_score(CHEATED), report
