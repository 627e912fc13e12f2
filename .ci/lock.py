"""Write requirements.txt, the exact lock of the course environment, from pyproject.toml (`make lock`).

pyproject.toml is the one place that names dependencies. This script installs the package with every
extra (``.[dev]`` names torch, book and grading) into a fresh virtual environment and writes its
``pip freeze``: every package, direct or not, pinned to the version that resolved. A requirement that
pyproject.toml gives a platform marker keeps it in the lock (triton: Linux x86_64 only), and a local
version label is dropped (``torch==2.13.0``, not ``2.13.0+cpu``: the pin then matches the CPU wheel
wherever one is offered, as on the course machines, and the default wheel elsewhere). The versions of
the current lock are kept where they still satisfy pyproject.toml; ``--upgrade`` resolves afresh.
tests/test_packaging.py checks that the lock and pyproject.toml agree.

    python .ci/lock.py [--upgrade] [--python python3.11] [--venv _build/lock-venv]
"""

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEADER = """\
# The exact lock of the course environment (Python 3.11, Linux x86_64), made from pyproject.toml by
# `make lock` (.ci/lock.py): do not edit by hand, change pyproject.toml and run it again.
# torch is the CPU build: the course machines offer its wheel; an unpinned torch pulls a multi-GB CUDA build.
"""


def declared_requirements(pyproject=ROOT / "pyproject.toml"):
    """Every requirement pyproject.toml names (dependencies and all extras), the package's own extras left out."""
    project = tomllib.loads(Path(pyproject).read_text())["project"]
    lists = [project.get("dependencies", [])] + list(project.get("optional-dependencies", {}).values())
    reqs = [Requirement(line) for group in lists for line in group]
    return [r for r in reqs if canonicalize_name(r.name) != canonicalize_name(project["name"])]


def with_markers(frozen_lines, requirements):
    """``name==version`` lines from pip freeze, each with its requirement's marker and no local label."""
    markers = {canonicalize_name(r.name): r.marker for r in requirements if r.marker is not None}
    out = []
    for line in frozen_lines:
        if not line.strip() or line.startswith("#"):
            continue
        name, version = line.split("==")
        pin = f"{name}=={re.sub(r'[+].*$', '', version.strip())}"
        marker = markers.get(canonicalize_name(name))
        out.append(pin if marker is None else f"{pin}; {marker}")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="the interpreter of the course environment")
    parser.add_argument("--venv", default=str(ROOT / "_build" / "lock-venv"))
    parser.add_argument("--upgrade", action="store_true", help="ignore the current lock's versions")
    args = parser.parse_args()
    venv = Path(args.venv)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([args.python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    keep = []
    if not args.upgrade:
        # The current pins as preferences: a package whose pin no longer fits makes pip fail, and
        # then --upgrade is the way out.
        current = venv / "current-lock.txt"
        current.write_text((ROOT / "requirements.txt").read_text())
        keep = ["--constraint", str(current)]
    subprocess.run(pip + ["install", "--quiet", f"{ROOT}[dev]", *keep], check=True)
    frozen = subprocess.run(pip + ["freeze", "--all", "--exclude", "pip", "--exclude", "lstmlab"],
                            check=True, capture_output=True, text=True).stdout.splitlines()
    lines = with_markers(frozen, declared_requirements())
    (ROOT / "requirements.txt").write_text(HEADER + "\n".join(lines) + "\n")
    print(f"requirements.txt: {len(lines)} pins")


if __name__ == "__main__":
    main()
