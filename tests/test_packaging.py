"""pyproject.toml names the dependencies, requirements.txt locks them; the wheel installs on its own."""

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
import lock  # noqa: E402  (.ci/lock.py: the script that writes the lock)


def locked():
    """requirements.txt as {canonical name: Requirement}, every line an exact pin."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        req = Requirement(line)
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"not an exact pin: {line!r}"
        name = canonicalize_name(req.name)
        assert name not in pins, f"{req.name} is pinned twice"
        pins[name] = req
    return pins


def test_every_declared_requirement_is_pinned_within_its_specifier():
    pins = locked()
    for req in lock.declared_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is in pyproject.toml but not pinned in requirements.txt (make lock)"
        version = next(iter(pins[name].specifier)).version
        assert req.specifier.contains(version, prereleases=True), \
            f"requirements.txt pins {req.name}=={version}, outside pyproject.toml's {req}"
        assert str(pins[name].marker) == str(req.marker), \
            f"{req.name}: marker {pins[name].marker} in the lock, {req.marker} in pyproject.toml"


def test_lock_script_keeps_markers_and_drops_local_labels():
    reqs = [Requirement("triton>=3; platform_system == 'Linux'"), Requirement("torch>=2")]
    lines = lock.with_markers(["torch==2.13.0+cpu", "triton==3.9.0", "# comment", ""], reqs)
    assert lines == ["torch==2.13.0", 'triton==3.9.0; platform_system == "Linux"']


def test_triton_only_where_it_installs():
    (triton,) = [r for r in lock.declared_requirements() if r.name == "triton"]
    assert not triton.marker.evaluate({"platform_system": "Darwin", "platform_machine": "arm64"})
    assert not triton.marker.evaluate({"platform_system": "Windows", "platform_machine": "AMD64"})
    assert triton.marker.evaluate({"platform_system": "Linux", "platform_machine": "x86_64"})


def run(*cmd, cwd=None):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", dist, ROOT)
    (built,) = dist.glob("lstmlab-*.whl")
    return built


def empty_venv(path):
    """A venv without pip (made in a second, not ten): this interpreter's pip installs into it."""
    run(sys.executable, "-m", "venv", "--without-pip", path)
    python = path / ("Scripts" if sysconfig.get_platform().startswith("win") else "bin") / "python"
    # The lock's versions as constraints: pip then takes them from its cache.
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check", "install",
           "--quiet", "--constraint", ROOT / "requirements.txt"]
    return python, pip


NUMPY_ONLY = textwrap.dedent("""
    import importlib, pkgutil, sys
    import numpy as np
    import lstmlab.numpy
    for module in pkgutil.iter_modules(lstmlab.numpy.__path__, "lstmlab.numpy."):
        if module.name != "lstmlab.numpy.lstm1997_engine":  # the 1997 experiments' numba engine
            importlib.import_module(module.name)
    out, _ = lstmlab.numpy.LSTM(3, 2)(np.zeros((4, 1, 3)))
    assert out.shape == (4, 1, 2), out.shape
    foreign = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "matplotlib", "ipywidgets", "numba"})
    assert not foreign, f"lstmlab.numpy imported {foreign}"
    print(lstmlab.__file__)
""")


@pytest.mark.install
def test_numpy_models_import_from_the_wheel_with_numpy_alone(wheel, tmp_path):
    python, pip = empty_venv(tmp_path / "venv")
    run(*pip, "--no-deps", wheel, "numpy")
    where = run(python, "-c", NUMPY_ONLY, cwd=tmp_path)
    assert str(tmp_path / "venv") in where, f"imported lstmlab from {where}, not from the wheel"


@pytest.mark.install
def test_wheel_installs_with_its_declared_dependencies(wheel, tmp_path):
    python, pip = empty_venv(tmp_path / "venv")
    run(*pip, wheel)
    run(sys.executable, "-m", "pip", "--python", python, "check")
    frozen = run(sys.executable, "-m", "pip", "--python", python, "freeze", "--all")
    installed = {canonicalize_name(line.split("==")[0]) for line in frozen.splitlines() if "==" in line}
    assert {"numpy", "matplotlib", "ipywidgets", "numba"} <= installed
    assert not installed & {"torch", "nbgrader", "jupyter-book", "pytest"}, "an extra was installed"
    run(python, "-c", "import lstmlab.figures.widgets, lstmlab.datasets.tasks",
        cwd=tmp_path)
