"""The sandbox keeps lstmlab's implementations out of the kernel when lstmlab is installed from a wheel.

After a normal `pip install`, lstmlab sits in site-packages beside numpy and ipykernel, which the kernel
must read. This test builds the wheel, installs it into the site-packages of a fresh virtual environment
(every other package linked in from this one, so that nothing is downloaded), and grades there: the
cheat that calls lstmlab's own functions earns nothing, an honest submission full marks.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lstmlab.grading.sandbox import landlock_abi
from test_grading import (CHEATED, CHEATS, ROOT, autograde, grading_env, make_course, max_score, solution,
                          submit, with_cheat)

pytestmark = [pytest.mark.grading,
              pytest.mark.skipif(landlock_abi() < 1, reason="grading needs Linux Landlock")]


def wheel_environment(tmp_path):
    """A virtual environment whose site-packages holds lstmlab from a freshly built wheel."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "lstmlab", src / "lstmlab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "dist"), str(src)], check=True)
    (wheel,) = (tmp_path / "dist").glob("lstmlab-*.whl")
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if "lstmlab" not in entry.name and not (site / entry.name).exists():
            (site / entry.name).symlink_to(entry)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    str(wheel)], check=True)
    subprocess.run([python, "-m", "lstmlab.grading.kernelspec", "install"], check=True, capture_output=True)
    return python, site


def test_a_wheel_install_gives_the_cheat_nothing(tmp_path):
    python, site = wheel_environment(tmp_path)
    where = subprocess.run([python, "-c", "import lstmlab; print(lstmlab.__file__)"], capture_output=True,
                           text=True, check=True, cwd=tmp_path).stdout.strip()
    assert Path(where) == site / "lstmlab" / "__init__.py"
    course = make_course(tmp_path, [CHEATED])
    submit(course, "call_lstmlab", CHEATED, with_cheat(CHEATED, (CHEATS / "call_lstmlab.py").read_text(), course))
    submit(course, "honest", CHEATED, solution(CHEATED))
    env = grading_env(course, python=python)
    env["PATH"] += os.pathsep + str(Path(sys.executable).parent)  # nbgrader's alembic command
    report, grades = autograde(course, env=env, python=python)
    assert grades[CHEATED, "call_lstmlab"] == 0, report[CHEATED, "call_lstmlab"]
    assert grades[CHEATED, "honest"] == max_score(CHEATED), report[CHEATED, "honest"]
    graded = (course / "autograded" / "call_lstmlab" / CHEATED / f"{CHEATED}.ipynb").read_text()
    assert "PermissionError" in graded or "ModuleNotFoundError" in graded
