"""The gradebook on PostgreSQL, graded into from two Dask worker processes at once (a local cluster, and a
scheduler with workers in separate processes), every row checked.

A throwaway server: initdb in a temporary folder, listening on the loopback interface only, stopped and
deleted afterwards. Needs Debian's `postgresql` package (.ci/run installs it); skipped where it is missing.
"""

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_grading import (CHEATED, autograde, grading_env, make_course, max_score, released, run_grader,
                          solution, submit)
from lstmlab.grading.sandbox import landlock_abi

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(landlock_abi() < 1, reason="grading needs Linux Landlock")]


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture
def postgres():
    """The SQLAlchemy URL of a fresh PostgreSQL server on 127.0.0.1."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does)")
    pytest.importorskip("psycopg")
    user = {}
    if os.getuid() == 0:  # the server refuses to run as root: run it as the package's own user
        try:
            user = {"user": pwd.getpwnam("postgres").pw_uid, "group": pwd.getpwnam("postgres").pw_gid}
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
    data = Path(tempfile.mkdtemp(prefix="lstmlab-pg-"))
    if user:
        os.chown(data, user["user"], user["group"])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run([binaries / "initdb", "-D", data / "db", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True, **user)
    server = subprocess.Popen([binaries / "postgres", "-D", data / "db", "-p", str(port), "-k", data,
                               "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **user)
    try:
        import psycopg
        for _ in range(100):
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
                break
            except psycopg.OperationalError:
                time.sleep(0.2)
        else:
            pytest.fail("the PostgreSQL server did not start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: ends the open connections too
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def dask_cluster(env, tmp_path):
    """The address of a `dask scheduler` and a `dask worker` (two worker processes), separate processes on
    the loopback interface, as a second machine would join: the workers see the course folder and the
    grading environment (secret, gradebook), the scheduler only schedules."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable))
    address_file = tmp_path / "scheduler.json"
    common = ["--no-dashboard"]
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--scheduler-file", address_file, *common], env=env, stderr=subprocess.DEVNULL)]
    try:
        processes.append(subprocess.Popen([dask, "worker", "--scheduler-file", address_file, "--nworkers", "2",
                                           "--nthreads", "1", "--host", "127.0.0.1", *common], env=env,
                                          stderr=subprocess.DEVNULL))
        for _ in range(300):
            if address_file.exists() and address_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        from dask.distributed import Client
        with Client(address) as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.parametrize("cluster", ["local", "scheduler"])
def test_two_dask_workers_grade_into_postgresql(tmp_path, postgres, cluster):
    """`--dask local` (a local cluster that the grader starts), and a scheduler's address with workers in
    other processes."""
    pytest.importorskip("dask.distributed")
    from sqlalchemy import create_engine, text

    course = make_course(tmp_path, [CHEATED])
    expected = {}
    for k in range(3):
        submit(course, f"honest{k}", CHEATED, solution(CHEATED))
        expected[f"honest{k}"] = max_score(CHEATED)
    submit(course, "blank", CHEATED, released(CHEATED))
    expected["blank"] = 0
    submit(course, "broken", CHEATED, "{ not a notebook")
    expected["broken"] = 0
    env = grading_env(course)
    env["LSTMLAB_GRADEBOOK"] = postgres
    # No submission here hangs, so the cell limit can be the course default: under a loaded CI (two test
    # workers beside two Dask workers and the server) a cold kernel overran the tests' 10 s limit once.
    env["LSTMLAB_CELL_TIMEOUT"] = "60"
    if cluster == "local":
        report, grades = autograde(course, "--dask", "local", env=env)
    else:
        with dask_cluster(env, tmp_path) as address:
            report, grades = autograde(course, "--dask", address, env=env)
    assert {s: g for (_, s), g in grades.items()} == expected, report
    assert not (course / "gradebook.db").exists()
    # Every row of the gradebook: one submission per student, one grade per test cell, no duplicates.
    cells = sum(1 for c in solution(CHEATED).cells if c.metadata.get("nbgrader", {}).get("grade"))
    engine = create_engine(postgres)
    with engine.connect() as db:
        rows = db.execute(text(
            "select s.student_id, c.name, g.auto_score from grade g "
            "join submitted_notebook sn on g.notebook_id = sn.id "
            "join submitted_assignment s on sn.assignment_id = s.id "
            "join base_cell c on g.cell_id = c.id")).all()
        submissions = db.execute(text("select student_id from submitted_assignment")).scalars().all()
    engine.dispose()
    assert sorted(submissions) == sorted(expected)
    assert len(rows) == len({(r[0], r[1]) for r in rows}) == cells * len(expected)
    for student, total in expected.items():
        assert sum(r[2] or 0 for r in rows if r[0] == student) == total, student


def test_a_second_grader_on_the_same_postgresql_gradebook_stops_at_once(tmp_path, postgres):
    """Graders in other course folders (other machines) share a server gradebook: its advisory lock."""
    from sqlalchemy import create_engine, text

    from lstmlab.grading.autograde import PG_LOCK
    course = make_course(tmp_path, [CHEATED])
    submit(course, "honest", CHEATED, solution(CHEATED))
    env = grading_env(course)
    env["LSTMLAB_GRADEBOOK"] = postgres
    engine = create_engine(postgres)
    with engine.connect() as db:
        assert db.execute(text("select pg_try_advisory_lock(:key)"), {"key": PG_LOCK}).scalar()
        second = run_grader(course, env=env)
    engine.dispose()
    assert second.returncode == 2 and "another grader is using this gradebook" in second.stderr, second.stderr
    assert not (course / "autograded").exists()
