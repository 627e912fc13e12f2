"""The sandbox's allow-list keeps lstmlab out wherever it is installed (lstmlab.grading.sandbox.read_rules)."""

import os

from lstmlab.grading.sandbox import EXECUTE, READ_DIR, READ_FILE, read_rules


def test_lstmlab_inside_an_allowed_folder_is_left_out(tmp_path):
    site = tmp_path / "prefix" / "lib" / "site-packages"
    for path in ("numpy/core.py", "lstmlab/__init__.py", "lstmlab/checking.py", "lstmlab/numpy/lstm.py",
                 "six.py"):
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text("")
    (tmp_path / "prefix" / "bin").mkdir()
    os.symlink(tmp_path / "prefix" / "lib", tmp_path / "prefix" / "lib64")  # a way round, as venvs have
    denied = str(site / "lstmlab")
    rules = dict(read_rules([tmp_path / "prefix", tmp_path / "elsewhere"], denied, ["__init__.py", "checking.py"]))
    everything = EXECUTE | READ_FILE | READ_DIR
    assert rules[str(tmp_path / "prefix")] == READ_DIR  # listing only: rights hold for all beneath
    assert rules[str(tmp_path / "prefix" / "bin")] == everything
    assert rules[str(site / "numpy")] == everything and rules[str(site / "six.py")] == everything
    assert rules[str(site / "lstmlab" / "checking.py")] == READ_FILE
    assert rules[str(site / "lstmlab" / "__init__.py")] == READ_FILE
    assert str(tmp_path / "prefix" / "lib64") not in rules
    # Nothing that holds lstmlab's implementations gets the right to read files.
    for path, rights in rules.items():
        if rights & READ_FILE:
            real = os.path.realpath(path)
            assert not (denied + os.sep).startswith(real + os.sep) and real != denied
            assert not real.startswith(str(site / "lstmlab" / "numpy"))
    assert rules[str(tmp_path / "elsewhere")] == everything  # a folder without lstmlab: whole
