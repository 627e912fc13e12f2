"""Grading throughput: notebooks per minute for 1 and N parallel graders, in the same run.

A synthetic class (default 100 students) for one assignment: honest (the solution), blank (the release
untouched), broken (not a notebook, a syntax error, a function that raises), cheating (the cheats of
tests/cheats/ that finish quickly) and hanging (an endless loop that ignores interrupts; it costs its
cell time limit). The class is graded with `python -m lstmlab.grading.autograde --jobs 1`, then
`--jobs N`, then, as the anchor, `--jobs N` with a fresh Python for every kernel instead of forks of the
zygote (`lstmlab.grading.zygote`), each on a fresh copy of the course with a fresh gradebook; the time is
the whole command (start-up, instructor checks, grading, feedback, exports), so it is what an instructor
waits for. The CPU seconds are those of the command and every process it started (kernels, zygotes).

    python benchmarks/grading.py [--students 100] [--jobs N] [--cell-timeout 5] [--json FILE] [--no-fresh-kernels]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_grading import CHEATS, make_course, released, solution, submit, with_cheat  # noqa: E402

from lstmlab.grading.references import is_solution_cell, assignments  # noqa: E402

QUICK_CHEATS = ["call_lstmlab", "patch_checking", "fake_records", "always_equal", "swallow_errors",
                "read_solutions", "kill_kernel"]
# Out of every 20 students: 12 honest, 3 blank, 2 broken, 2 cheating, 1 hanging.
MIX = ["honest"] * 12 + ["blank"] * 3 + ["broken"] * 2 + ["cheating"] * 2 + ["hanging"]


def broken(assignment, k):
    if k % 3 == 0:
        return "{ this is not a notebook"
    nb = solution(assignment)
    cell = next(c for c in nb.cells if is_solution_cell(c))
    cell.source = "def oops(:\n" if k % 3 == 1 else cell.source + "\nraise RuntimeError('unfinished')\n"
    return nb


def build_class(tmp, assignment, students):
    Path(tmp).mkdir(parents=True)
    course = make_course(Path(tmp), [assignment])
    kinds = {}
    for k in range(students):
        kind = MIX[k % len(MIX)]
        name = f"{kind}{k:03d}"
        if kind == "honest":
            nb = solution(assignment)
        elif kind == "blank":
            nb = released(assignment)
        elif kind == "broken":
            nb = broken(assignment, k)
        elif kind == "cheating":
            cheat = QUICK_CHEATS[k % len(QUICK_CHEATS)]
            nb = with_cheat(assignment, (CHEATS / f"{cheat}.py").read_text(), course)
        else:
            nb = with_cheat(assignment, (CHEATS / "hang.py").read_text(), course)
        submit(course, name, assignment, nb)
        kinds[name] = kind
    return course, kinds


def grade(course, jobs, env):
    """(wall seconds, CPU seconds of the grader and everything it started) for one whole grading run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "lstmlab.grading.autograde", "--jobs",
                             str(jobs), "--quiet"], cwd=course, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(result.stdout[-2000:] + result.stderr[-2000:])
    return seconds, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="the parallel run's graders")
    parser.add_argument("--cell-timeout", type=int, default=5, help="seconds per cell (the hanging students)")
    parser.add_argument("--assignment", default=assignments(ROOT / "solutions")[0])
    parser.add_argument("--json", help="write the record here")
    parser.add_argument("--no-fresh-kernels", dest="fresh_kernels", action="store_false",
                        help="leave out the anchor run with a fresh Python per kernel (no zygote)")
    args = parser.parse_args(argv)
    env = dict(os.environ, LSTMLAB_CELL_TIMEOUT=str(args.cell_timeout))
    env.setdefault("LSTMLAB_GRADING_SECRET", os.urandom(32).hex())
    if not os.environ.get("LSTMLAB_MATHJAX") and not (ROOT / "book/_static/vendor/mathjax/tex-svg.js").exists():
        stub = Path(tempfile.mkdtemp()) / "tex-svg.js"
        stub.write_text("/* stand-in */")
        env["LSTMLAB_MATHJAX"] = str(stub)
    rows = []
    runs = [(1, "forked"), (args.jobs, "forked")] + [(args.jobs, "fresh")] * args.fresh_kernels
    with tempfile.TemporaryDirectory() as tmp:
        template, kinds = build_class(Path(tmp) / "template", args.assignment, args.students)
        for jobs, kernels in runs:
            course = Path(tmp) / f"jobs{jobs}-{kernels}" / "course"
            shutil.copytree(template, course)
            if kernels == "fresh":  # the anchor: a new Python for every kernel, as before the zygote
                with open(course / "nbgrader_config.py", "a") as f:
                    f.write("\nc.SafeExecute.fork_kernels = False\n")
            seconds, cpu = grade(course, jobs, env)
            with open(course / "grading_report.csv") as f:
                graded = sum(1 for _ in f) - 1
            assert graded == args.students, (graded, args.students)
            rows.append({"jobs": jobs, "kernels": kernels, "seconds": round(seconds, 1),
                         "per_minute": round(60 * graded / seconds, 1),
                         "cpu_seconds_per_notebook": round(cpu / graded, 2)})
            print(f"jobs={jobs}, {kernels} kernels: {graded} notebooks in {seconds:.1f} s = "
                  f"{60 * graded / seconds:.1f} notebooks/min ({cpu / graded:.2f} CPU s per notebook, "
                  "kernels included)", flush=True)
    print(f"speed-up with {args.jobs} graders: {rows[1]['per_minute'] / rows[0]['per_minute']:.2f}x "
          f"(machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    if args.fresh_kernels:
        print(f"forked kernels against fresh ones, {args.jobs} graders: "
              f"{rows[1]['per_minute'] / rows[2]['per_minute']:.2f}x the notebooks per minute, "
              f"{rows[2]['cpu_seconds_per_notebook'] / rows[1]['cpu_seconds_per_notebook']:.2f}x fewer CPU seconds")
    if args.json:
        counts = {kind: sum(1 for k in kinds.values() if k == kind) for kind in dict.fromkeys(MIX)}
        record = {"benchmark": "grading", "assignment": args.assignment, "students": counts,
                  "cell_timeout_s": args.cell_timeout, "cpu_count": os.cpu_count(),
                  "load_average_1_5_15min": os.getloadavg(), "results": rows}
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
