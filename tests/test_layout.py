"""One import direction: the models (lstmlab.numpy, lstmlab.torch) and the data (lstmlab.datasets)
never import what builds on them (figures, apps, experiments, grading)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lstmlab"
FOUNDATIONS = ("numpy", "torch", "datasets")
BUILT_ON_THEM = ("figures", "apps", "experiments", "grading")


def imported_modules(source, package):
    """Every module an import statement in the source names, relative imports made absolute."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            names.append(module)
            names += [f"{module}.{alias.name}" for alias in node.names]
    return names


@pytest.mark.parametrize("foundation", FOUNDATIONS)
def test_foundations_never_import_what_builds_on_them(foundation):
    files = sorted((PACKAGE / foundation).rglob("*.py"))
    assert files, f"lstmlab/{foundation} has no modules"
    wrong = [f"{path.relative_to(PACKAGE.parent)} imports {name}" for path in files
             for name in imported_modules(path.read_text(), ".".join(path.relative_to(PACKAGE.parent).parts[:-1]))
             if name.split(".")[:2] in (["lstmlab", other] for other in BUILT_ON_THEM)]
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_relative_and_from_imports():
    source = "from ..grading import adapters\nfrom lstmlab import figures\nimport lstmlab.apps.charlm\n"
    names = set(imported_modules(source, "lstmlab.numpy"))
    assert {"lstmlab.grading", "lstmlab.figures", "lstmlab.apps.charlm"} <= names


def test_the_package_root_holds_only_the_students_api():
    """Drawings, apps, data and tooling live in their subpackages (or in tools/), not beside them."""
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "checking.py"], modules
