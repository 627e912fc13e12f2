"""The grading secret and the per-student seeds derived from it (lstmlab.grading.secret)."""

import os
import stat

import pytest

from lstmlab.grading import secret
from lstmlab.grading.errors import InstructorError

KEY = bytes(range(32))


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv(secret.ENV, raising=False)
    return tmp_path / "lstmlab" / "grading-secret"


def test_seeds_differ_between_students_assignments_and_secrets():
    seeds = {secret.student_seed(key, a, s) for key in (KEY, KEY[::-1]) for a in ("ch03", "ch05")
             for s in ("alice", "bob", "o'brien é 李", "")}
    assert len(seeds) == 16
    assert secret.student_seed(KEY, "ch03", "alice") == secret.student_seed(KEY, "ch03", "alice")
    # No two (assignment, student) pairs run together into the same message.
    assert secret.student_seed(KEY, "ab", "c") != secret.student_seed(KEY, "a", "bc")


def test_init_creates_a_private_secret_once(config):
    assert secret.main(["init"]) == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    first = secret.load()
    assert len(first) == 32
    assert secret.main(["init"]) == 1  # refused: it would change every hidden case
    assert secret.load() == first
    assert secret.main(["init", "--force"]) == 0 and secret.load() != first


def test_missing_or_malformed_secrets_say_how_to_fix_them(config, monkeypatch):
    with pytest.raises(InstructorError, match="python -m lstmlab.grading.secret init"):
        secret.load()
    for bad in ("", "xyz", "abcd", "zz" * 32):
        monkeypatch.setenv(secret.ENV, bad)
        if bad:
            with pytest.raises(InstructorError, match="malformed"):
                secret.load()
    monkeypatch.setenv(secret.ENV, KEY.hex())
    assert secret.load() == KEY  # the environment takes the place of the file


def test_a_course_refuses_another_secret_than_it_was_graded_with(tmp_path):
    secret.check_course(tmp_path, KEY)  # the first grading records the fingerprint
    secret.check_course(tmp_path, KEY)
    with pytest.raises(InstructorError, match="wrong grading secret"):
        secret.check_course(tmp_path, KEY[::-1])
    assert KEY.hex() not in (tmp_path / secret.COURSE_RECORD).read_text()
    (tmp_path / secret.COURSE_RECORD).write_text("{")
    with pytest.raises(InstructorError, match="corrupt"):
        secret.check_course(tmp_path, KEY)


def test_the_seed_command_prints_one_students_seed(config, monkeypatch, capsys):
    monkeypatch.setenv(secret.ENV, KEY.hex())
    assert secret.main(["seed", "ch03", "alice"]) == 0
    assert int(capsys.readouterr().out, 16) == secret.student_seed(KEY, "ch03", "alice")
    assert os.environ[secret.ENV] == KEY.hex()
