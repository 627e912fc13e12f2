"""Kernels forked from the zygote (lstmlab.grading.zygote): what a forked kernel can and cannot reach.

The end-to-end check that one student's state never reaches the next is in test_grading.py; here a
forked kernel runs a probe cell directly (nbclient, no gradebook).
"""

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

from lstmlab.grading import zygote
from lstmlab.grading.sandbox import KERNEL_NAME, landlock_abi

pytestmark = pytest.mark.skipif(landlock_abi() < 1, reason="the grading kernel needs Linux Landlock")

PROBE = """import json, os
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
try:
    parent_environment = open(f"/proc/{os.getppid()}/environ", "rb").read().decode(errors="replace")
except OSError as error:
    parent_environment = type(error).__name__
print(json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "fds": fds, "parent": parent_environment,
                  "seed": os.environ.get("LSTMLAB_HIDDEN_SEED"), "secret": os.environ.get("LSTMLAB_GRADING_SECRET")}))
"""


def probe(tmp_path, seed):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    env = {k: v for k, v in os.environ.items() if k != "LSTMLAB_GRADING_SECRET"}
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=60, kernel_manager_class=zygote.ForkedKernelManager,
                            resources={"metadata": {"path": str(tmp_path)}})
    with client.setup_kernel(env={**env, "LSTMLAB_HIDDEN_SEED": seed}):
        client.execute_cell(nb.cells[0], 0)
    return json.loads(nb.cells[0].outputs[0]["text"])


def test_a_forked_kernel_holds_none_of_the_zygotes_pipes_nor_another_students_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("LSTMLAB_GRADING_SECRET", "ab" * 32)  # in the grader's environment, never the kernel's
    first, second = probe(tmp_path, "1a2b"), probe(tmp_path, "3c4d")
    shared = zygote.shared({})
    assert first["ppid"] == second["ppid"] == shared.process.pid and first["pid"] != second["pid"]
    assert (first["seed"], second["seed"]) == ("1a2b", "3c4d") and first["secret"] is second["secret"] is None
    pipes = {f"pipe:[{os.fstat(f.fileno()).st_ino}]" for f in (shared.process.stdin, shared.process.stdout)}
    for kernel in (first, second):
        assert not pipes & set(kernel["fds"].values()), kernel["fds"]
        assert kernel["fds"]["0"] == os.devnull
        # The zygote's memory and environment are out of reach (Landlock: /proc of other processes).
        assert kernel["parent"] in ("PermissionError", "FileNotFoundError"), kernel["parent"][:200]
