"""Grade every collected submission: `python -m lstmlab.grading.autograde [ASSIGNMENT ...]` (`make autograde`).

First everything that is the instructor's to get right is checked, and any problem stops the run
before a single student is graded, with a message naming the assignment, the problem and the command
that fixes it, and exit status 2 (see `preflight`). Then the submissions are graded in parallel
(`--jobs N`, default all cores; or on a Dask cluster with `--dask`, a local one or a scheduler's
address) with nbgrader's autograde (sandboxed kernel, verdicts outside the kernel: nbgrader_config.py)
and feedback, into the one gradebook that nbgrader_config.py names (SQLite by default, PostgreSQL for
several machines). A progress bar with an ETA goes to stderr, one status line per submission to
stdout. A submission that cannot be graded at all (not a notebook, a kernel that hangs) gets zero with
the reason and the batch goes on. At the end:

- `grading_report.csv`: every submission's score, status and reason;
- `grades.csv`: nbgrader's export of the whole gradebook;
- `lms/<assignment>.csv`: `student_id,points,max_points`, one row per student, for an LMS import;
- `feedback/<student>/<assignment>/*.html`: the verdict of every test cell, maths rendered offline.
"""

import argparse
import csv
import fcntl
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.apps.nbgraderapp import NbGrader
from nbgrader.plugins import CsvExportPlugin

from lstmlab import checking
from lstmlab.grading import feedback, references, secret, speedups
from lstmlab.grading.errors import InstructorError

REPORT = "grading_report.csv"
LMS = "lms"
LOCK = ".lstmlab-grading.lock"
PG_LOCK = 0x6C73746D6C6162  # "lstmlab": the advisory lock of a PostgreSQL gradebook
# Characters a student id may not hold: nbgrader finds submissions with glob patterns and paths.
UNSAFE_ID = re.compile(r"[\[\]*?/\\\x00-\x1f]|^[.~-]")


def load_api(root="."):
    # nbgrader runs the `alembic` command to create a new gradebook: find it beside this Python even
    # when the virtual environment is not activated (make calls .venv/bin/python directly).
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        app = NbGrader()
        app.initialize([])  # reads nbgrader_config.py from the course root
    finally:
        os.chdir(cwd)
    return NbGraderAPI(config=app.config)


def reason(log):
    """The innermost error named in nbgrader's log, e.g. "NotJSONError: Notebook does not appear to be JSON"."""
    errors = re.findall(r"^\s*([\w.]*(?:Error|Exception|Interrupt|Exit)): (.*)$", log or "", re.MULTILINE)
    errors = [f"{name.rsplit('.', 1)[-1]}: {text.strip()}" for name, text in errors
              if not name.endswith("NbGraderException")]
    return errors[-1] if errors else "unknown error (see nbgrader's log)"


def course_paths(api):
    root = Path(api.coursedir.root)
    return root, root / api.coursedir.source_directory, root / api.coursedir.submitted_directory


def preflight(api, names):
    """The (assignment, student) pairs to grade, once everything the instructor provides is in order.

    Raises InstructorError, before anyone is graded, for: no grading secret or another secret than this
    course was graded with, an unknown assignment, missing, corrupt or stale references, references that
    lstmlab no longer reproduces, and a submission folder that is not `submitted/<student>/<assignment>/
    <assignment>.ipynb`."""
    root, source, submitted = course_paths(api)
    secret.check_course(root, secret.load())
    feedback.mathjax_path(root)
    if not submitted.is_dir():
        raise InstructorError(f"no submissions: {submitted} is not a folder; put each student's notebook at "
                              f"{submitted.name}/<student>/<assignment>/<assignment>.ipynb (nbgrader collect)")
    for entry in sorted(submitted.iterdir()):
        if not entry.is_dir():
            raise InstructorError(f"malformed submissions: {entry} is a file, not a student's folder; move it to "
                                  f"{submitted.name}/<student>/<assignment>/<assignment>.ipynb")
    known = references.assignments(source)
    names = names or sorted({p.name for p in submitted.glob("*/*")})
    for name in names:
        if name not in known:
            raise InstructorError(f"unknown assignment {name!r}: it is not in {source} "
                                  f"(known: {', '.join(known)}); check the name or the submission folders")
        visible = references.load_visible(source, name)
        fresh = references.for_student(source, name, references.RELEASE_BASE).visible_values()
        if fresh.keys() != visible.keys() or any(
                checking.compare(visible[k]["value"], fresh[k]["value"], visible[k]["rtol"], visible[k]["atol"])
                for k in fresh):
            raise InstructorError(f"{name}: lstmlab no longer reproduces the released references; run `make "
                                  f"release` (python -m lstmlab.grading.release {name}) and hand out the new release")
    pairs = []
    for name in names:
        for folder in sorted(submitted.glob(f"*/{name}")):
            student = folder.parent.name
            notebook = folder / f"{name}.ipynb"
            if UNSAFE_ID.search(student):
                raise InstructorError(f"{name}: the student id {student!r} (folder {folder.parent}) has characters "
                                      "nbgrader cannot grade (/ \\ [ ] * ? control characters, or a leading . ~ -); "
                                      "rename the folder")
            if not folder.is_dir():
                raise InstructorError(f"{name}: the submission {folder} is a file, not a folder; move it to "
                                      f"{notebook}")
            if not notebook.is_file():
                found = ", ".join(sorted(p.name for p in folder.iterdir())) or "nothing"
                raise InstructorError(f"{name}: the submission folder {folder} has no {notebook.name} (it holds "
                                      f"{found}); rename the student's notebook to {notebook.name}")
            pairs.append((name, student))
    return pairs


@contextmanager
def course_lock(root):
    """One grader at a time per course: a second one stops at once instead of grading the same submissions."""
    with open(Path(root) / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            raise InstructorError(f"another grader is running on this course ({f.read().strip() or 'unknown'}); "
                                  "wait for it to finish") from None
        f.truncate(0)
        f.write(f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}")
        f.flush()
        yield


@contextmanager
def gradebook_lock(db_url):
    """The same for a gradebook on a server, which graders on other machines (other course folders) share."""
    if not db_url.startswith("postgresql"):
        yield
        return
    from sqlalchemy import create_engine, text
    engine = create_engine(db_url)
    try:
        with engine.connect() as db:
            if not db.execute(text("select pg_try_advisory_lock(:key)"), {"key": PG_LOCK}).scalar():
                raise InstructorError("another grader is using this gradebook (a PostgreSQL advisory lock is held); "
                                      "wait for it to finish")
            try:
                yield
            finally:
                db.execute(text("select pg_advisory_unlock(:key)"), {"key": PG_LOCK})
    finally:
        engine.dispose()


def zero(gradebook, assignment, student):
    """Give every grade of a submission that could not be graded a score of zero."""
    submission = gradebook.update_or_create_submission(assignment, student)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            grade.auto_score = 0.0
            grade.needs_manual_grade = False
    gradebook.db.commit()


_apis = {}
# A submission's whole grading may take this many cell time limits: past that the grader gives up on it
# (a kernel that died in a way nbclient does not notice once left a grader waiting for ever).
SUBMISSION_LIMIT = 10


class GradingTimeoutError(Exception):
    pass


@contextmanager
def time_limit(seconds):
    """Raise GradingTimeoutError in this thread after `seconds` (main thread only: Dask's task threads go without)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def give_up(signum, frame):
        signal.alarm(5)  # again, should the clean-up after this hang too
        raise GradingTimeoutError(f"grading this submission took longer than {seconds} s")
    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(int(seconds))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def grade_submission(root, assignment, student):
    """[assignment, student, score, max score, status, reason] after autograding one submission and
    writing its feedback; runs in a worker process (one nbgrader API per process and course)."""
    if not _apis:
        speedups.install()
    api = _apis.get(root) or _apis.setdefault(root, load_api(root))
    with time_limit(SUBMISSION_LIMIT * api.config.Execute.timeout):
        result = api.autograde(assignment, student, force=True, create=True)
    log = (result.get("log") or "") + (result.get("error") or "")
    if not result["success"] and "InstructorError" in log:
        raise InstructorError(reason(log).partition(": ")[2])
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        if not result["success"]:
            zero(gb, assignment, student)
            status, why = "not graded (zero)", reason(log)
        else:
            result = api.generate_feedback(assignment, student, force=True)
            status, why = "graded", "" if result["success"] else "feedback failed: " + reason(result.get("log"))
            if result["success"]:
                feedback.rewrite(api.coursedir.format_path(api.coursedir.feedback_directory, student, assignment),
                                 feedback.mathjax_path(root))
        try:
            submission = gb.find_submission(assignment, student)
            got, out_of = submission.score, submission.max_score
        except MissingEntry:
            got, out_of = 0.0, gb.find_assignment(assignment).max_score
    return [assignment, student, got, out_of, status, why]


class Progress:
    """A progress bar with rate and ETA on stderr, redrawn under each finished submission's status line."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream

    def advance(self, line):
        tty = self.stream.isatty()
        self.stream.write("\r\033[K" if tty else "")  # a terminal: the bar moves down under the new line
        self.stream.flush()
        print(line, flush=True)
        self.done += 1
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        filled = round(30 * self.done / self.total)
        bar = (f"[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}  {60 * rate:.0f}/min  "
               f"ETA {int(eta) // 60}:{int(eta) % 60:02d} ")
        self.stream.write(("\r" if tty else "") + bar)
        if self.done == self.total or not tty:
            self.stream.write("\n")
        self.stream.flush()


def run_local(root, pairs, jobs):
    """Yield each submission's row as it finishes, graded by `jobs` worker processes."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    if jobs == 1:  # in this process: no pool to start
        for pair in pairs:
            yield grade_submission(root, *pair)
        return
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(grade_submission, root, *pair) for pair in pairs]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def run_dask(root, pairs, address, jobs):
    """The same on Dask distributed: a local cluster of `jobs` workers, or the scheduler at `address`.

    Every worker must see the course folder at the same path and the grading secret (environment
    or config folder), and the gradebook must be a server (PostgreSQL) that all of them reach."""
    from dask.distributed import Client, LocalCluster, as_completed
    if address == "local":
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, Client(address)
    try:
        futures = [client.submit(grade_submission, root, *pair, pure=False, key=f"grade-{i}")
                   for i, pair in enumerate(pairs)]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def write_lms(root, rows):
    """One CSV per assignment: student_id, points, max_points (the layout LMS gradebook imports take)."""
    folder = Path(root) / LMS
    folder.mkdir(exist_ok=True)
    for assignment in sorted({row[0] for row in rows}):
        with open(folder / f"{assignment}.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["student_id", "points", "max_points"])
            writer.writerows([r[1], f"{r[2]:g}", f"{r[3]:g}"] for r in sorted(rows) if r[0] == assignment)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: every assignment with submissions")
    parser.add_argument("--jobs", "-j", type=int, default=int(os.environ.get("JOBS") or 0) or os.cpu_count(),
                        help="parallel graders (default: $JOBS, else all cores)")
    parser.add_argument("--dask", metavar="ADDRESS",
                        help="grade on Dask distributed: 'local' for a local cluster, or a scheduler address")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        api = load_api()
        root = api.coursedir.root
        with course_lock(root), gradebook_lock(api.coursedir.db_url):
            pairs = preflight(api, args.assignments)
            for assignment in sorted({a for a, _ in pairs}):
                result = api.generate_assignment(assignment, force=True)  # the gradebook knows it
                if not result["success"]:
                    raise InstructorError(f"{assignment}: nbgrader generate_assignment failed: "
                                          f"{reason((result.get('log') or '') + (result.get('error') or ''))}")
            progress = Progress(len(pairs)) if pairs and not args.quiet else None
            jobs = max(1, min(args.jobs, len(pairs)))
            rows = []
            grading = run_dask(root, pairs, args.dask, jobs) if args.dask else run_local(root, pairs, jobs)
            for row in grading:
                rows.append(row)
                assignment, student, got, out_of, status, why = row
                line = f"{assignment:28} {student:20} {got:6g} / {out_of:<6g} {status} {why}"
                progress.advance(line) if progress else print(line, flush=True)
    except InstructorError as error:
        print(f"\nerror: {error}\nNothing was graded{' further' if 'rows' in locals() and rows else ''}; "
              "no grade was changed for this.", file=sys.stderr)
        return 2
    rows.sort()
    with open(Path(root) / REPORT, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["assignment", "student", "score", "max_score", "status", "reason"])
        writer.writerows([a, s, f"{g:g}", f"{m:g}", st, why] for a, s, g, m, st, why in rows)
    write_lms(root, rows)
    # grades.csv, in nbgrader's own format (what `nbgrader export` writes, without starting it anew)
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        CsvExportPlugin(config=api.config, to=str(Path(root) / "grades.csv")).export(gb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
