"""A student's session in JupyterLab, in a real browser: open a released assignment, write the
answers, run every cell, read what the visible tests say, validate with nbgrader.

JupyterLab runs from the project's venv on 127.0.0.1 with a token, in a scratch copy of the
assignment; the browser may reach nothing else.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.validator import Validator

from lstmlab import checking
from tools import browser
from lstmlab.grading.references import assignments, is_solution_cell, is_test_cell

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = assignments()[0]

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("jupyterlab"),
              pytest.mark.skipif(browser.chromium() is None,
                                 reason="Chromium is not installed (Debian: apt-get install chromium)")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a copy of the released assignment; yields (base URL, token, folder)."""
    folder = tmp_path / "course"
    shutil.copytree(ROOT / "exercises" / ASSIGNMENT, folder / ASSIGNMENT)
    port, token = free_port(), secrets.token_hex(16)
    # Settings and workspaces of this session only, not the user's.
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder}", "--ServerApp.allow_root=True"],
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2)
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start in 120 s"
                time.sleep(0.5)
        yield base, token, folder / ASSIGNMENT
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


@pytest.fixture
def chrome_for_lab():
    with browser.browser() as chrome:
        yield chrome


def answer(source):
    """A solution cell's code as a student would type it (without nbgrader's solution markers)."""
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line) + "\n"


def off_by_one(source):
    """The same answer, but every value the function returns is off by one."""
    name = re.search(r"^def (\w+)\(", source, re.M).group(1)
    return (source + f"\n_right_{name} = {name}\n\n\ndef {name}(*args, **kwargs):\n"
            f"    right = _right_{name}(*args, **kwargs)\n"
            f"    if isinstance(right, tuple):\n"
            f"        return tuple(np.asarray(v) + 1.0 for v in right)\n"
            f"    return np.asarray(right) + 1.0\n")


def checked_keys(cell, visible):
    return [k for k in re.findall(r'check\(\s*"([^"]+)"', cell.source) if k in visible]


def test_student_runs_and_validates_an_assignment_in_jupyterlab(lab, chrome_for_lab, monkeypatch):
    base, token, folder = lab
    notebook = folder / f"{ASSIGNMENT}.ipynb"
    released = nbformat.read(notebook, 4)
    solved = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    answers = {c.metadata["nbgrader"]["grade_id"]: answer(c.source) for c in solved.cells if is_solution_cell(c)}
    visible = set(json.loads((folder / checking.REFERENCES).read_text())["values"])
    solution_cells = [i for i, c in enumerate(released.cells) if is_solution_cell(c)]
    last = solution_cells[-1]
    tests_before_last = [c for c in released.cells[:last] if is_test_cell(c)]
    failing_test = next(i for i, c in enumerate(released.cells) if i > last and is_test_cell(c))

    context = chrome_for_lab.new_context(viewport={"width": 1400, "height": 1000})
    blocked = []
    browser.offline(context, base, blocked)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}lab/tree/{ASSIGNMENT}/{ASSIGNMENT}.ipynb?token={token}")
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    page.wait_for_function("n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length === n",
                           arg=len(released.cells), timeout=90000)
    page.wait_for_selector(".jp-NotebookPanel .jp-CodeCell .cm-content", timeout=60000)

    def write(index, code):
        cells.nth(index).locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.insert_text(code)
        page.keyboard.press("Escape")

    def run_all():
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # Done when no cell is queued or running ([*]) and some cell has run.
        page.wait_for_function("""() => { const p = [...document.querySelectorAll(
                '.jp-NotebookPanel .jp-InputArea-prompt')].map(e => e.textContent);
            return !p.some(t => t.includes('*')) && p.some(t => /\\d/.test(t)); }""", timeout=180000)

    def output(index):
        return "\n".join(cells.nth(index).locator(".jp-OutputArea-output").all_inner_texts())

    def save_and_validate():
        # nbgrader's Validate button saves the notebook, validates it, then shows the verdict.
        page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=180000)
        verdict = dialog.inner_text()
        dialog.locator("button").last.click()
        return verdict

    # The student answers every task, the last one wrongly, and runs the notebook.
    for index in solution_cells:
        code = answers[released.cells[index].metadata["nbgrader"]["grade_id"]]
        write(index, off_by_one(code) if index == last else code)
    run_all()
    for cell in tests_before_last:
        shown = output(released.cells.index(cell))
        for key in checked_keys(cell, visible):
            assert f"ok  {key}" in shown, (key, shown)
    message = output(failing_test)
    assert "AssertionError" in message and "expected" in message and "got" in message and "Hint:" in message, message
    verdict = save_and_validate()
    assert "failed" in verdict and checked_keys(released.cells[failing_test], visible)[0] in verdict, verdict

    # Told what is wrong, the student fixes the answer, runs everything again and validates.
    write(last, answers[released.cells[last].metadata["nbgrader"]["grade_id"]])
    run_all()
    shown = "\n".join(output(i) for i, c in enumerate(released.cells) if is_test_cell(c))
    assert sorted(re.findall(r"^ok  (\S+)$", shown, re.M)) == sorted(visible), shown
    assert "Error" not in shown, shown
    verdict = save_and_validate()
    assert "Success" in verdict and "passes" in verdict, verdict

    # The saved notebook passes nbgrader's validation outside the browser too.
    assert nbformat.read(notebook, 4).cells[last].source.strip() == \
        answers[released.cells[last].metadata["nbgrader"]["grade_id"]].strip()
    monkeypatch.chdir(folder)
    assert not Validator().validate(str(notebook)), "nbgrader's validator failed the saved notebook"
    assert not blocked, f"JupyterLab tried to reach the network: {blocked}"
    assert not errors, errors
    context.close()

