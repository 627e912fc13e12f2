"""Pieces of lstmlab.grading.autograde that need no grading run: the time limit, the LMS files, the progress bar."""

import csv
import io
import time

import pytest

from lstmlab.grading import autograde


def test_a_grading_that_hangs_is_given_up():
    start = time.monotonic()
    with pytest.raises(autograde.GradingTimeoutError, match="longer than 1 s"):
        with autograde.time_limit(1):
            time.sleep(30)
    assert time.monotonic() - start < 10
    with autograde.time_limit(5):  # no alarm left behind
        time.sleep(0.1)


def test_one_lms_file_per_assignment(tmp_path):
    rows = [["ch05", "bob", 3.0, 14.0, "graded", ""], ["ch03", "o'brien é, jr", 10.0, 10.0, "graded", ""],
            ["ch03", "alice", 0.0, 10.0, "not graded (zero)", "NotJSONError: ..."]]
    autograde.write_lms(tmp_path, rows)
    with open(tmp_path / "lms" / "ch03.csv", newline="") as f:
        assert list(csv.reader(f)) == [["student_id", "points", "max_points"], ["alice", "0", "10"],
                                       ["o'brien é, jr", "10", "10"]]
    with open(tmp_path / "lms" / "ch05.csv", newline="") as f:
        assert list(csv.reader(f))[1:] == [["bob", "3", "14"]]


def test_the_progress_bar_counts_and_estimates(capsys):
    stream = io.StringIO()
    progress = autograde.Progress(4, stream)
    for k in range(4):
        progress.advance(f"line {k}")
    assert capsys.readouterr().out.splitlines() == [f"line {k}" for k in range(4)]
    bars = stream.getvalue().splitlines()
    assert len(bars) == 4 and bars[-1].startswith("[" + "#" * 30 + "] 4/4") and "ETA 0:00" in bars[-1]
    assert "/min" in bars[0] and "1/4" in bars[0]
