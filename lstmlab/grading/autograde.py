"""Grade every collected submission: `python -m lstmlab.grading.autograde [ASSIGNMENT ...]` (`make autograde`).

For each assignment and each student folder under `submitted/`, run nbgrader's autograde (sandboxed
kernel, verdicts outside the kernel: see nbgrader_config.py), then generate the feedback and export
every grade to `grades.csv`. A submission that cannot be graded at all (a malformed notebook, a
missing file) gets zero with the reason, and the batch goes on; `grading_report.csv` lists each
submission's score and what happened.
"""

import argparse
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.nbgraderapp import NbGrader

REPORT = "grading_report.csv"


def load_api():
    # nbgrader runs the `alembic` command to create a new gradebook: find it beside this Python even
    # when the virtual environment is not activated (make calls .venv/bin/python directly).
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    app = NbGrader()
    app.initialize([])  # reads nbgrader_config.py from the current folder, the course root
    return NbGraderAPI(config=app.config)


def reason(log):
    """The innermost error named in nbgrader's log, e.g. "NotJSONError: Notebook does not appear to be JSON"."""
    errors = re.findall(r"^\s*([\w.]*(?:Error|Exception|Interrupt|Exit)): (.*)$", log or "", re.MULTILINE)
    errors = [f"{name.rsplit('.', 1)[-1]}: {text.strip()}" for name, text in errors
              if not name.endswith("NbGraderException")]
    return errors[-1] if errors else "unknown error (see nbgrader's log)"


def zero(gradebook, assignment, student):
    """Give every grade of a submission that could not be graded a score of zero."""
    submission = gradebook.update_or_create_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = False
    gradebook.db.commit()


def grade_submission(api, assignment, student):
    """(status, reason) after autograding and generating feedback for one submission."""
    result = api.autograde(assignment, student, force=True, create=True)
    if not result["success"]:
        with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
            zero(gb, assignment, student)
        return "not graded (zero)", reason((result.get("log") or "") + (result.get("error") or ""))
    feedback = api.generate_feedback(assignment, student, force=True)
    return "graded", "" if feedback["success"] else "feedback failed: " + reason(feedback.get("log"))


def score(api, assignment, student):
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return 0.0, gb.find_assignment(assignment).max_score
        return submission.score, submission.max_score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment with submissions")
    args = parser.parse_args(argv)
    api = load_api()
    submitted = Path(api.coursedir.root) / api.coursedir.submitted_directory
    assignments = args.assignments or sorted({p.name for p in submitted.glob("*/*") if p.is_dir()})
    rows = []
    for assignment in assignments:
        api.generate_assignment(assignment, force=True)  # makes sure the gradebook knows it
        for folder in sorted(submitted.glob(f"*/{assignment}")):
            student = folder.parent.name
            status, reason = grade_submission(api, assignment, student)
            got, out_of = score(api, assignment, student)
            rows.append([assignment, student, f"{got:g}", f"{out_of:g}", status, reason])
            print(f"{assignment:28} {student:20} {got:6g} / {out_of:<6g} {status} {reason}", flush=True)
    with open(Path(api.coursedir.root) / REPORT, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["assignment", "student", "score", "max_score", "status", "reason"])
        writer.writerows(rows)
    # grades.csv, in nbgrader's own format
    subprocess.run([sys.executable, "-m", "nbgrader", "export"], check=True, cwd=api.coursedir.root)


if __name__ == "__main__":
    sys.exit(main())
