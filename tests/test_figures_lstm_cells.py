"""LSTM drawings: each renders, with the labelled elements the chapters refer to."""

from drawings import elements, texts  # first: it selects the Agg backend

import matplotlib.pyplot as plt
import pytest

from lstmlab.figures import lstm_cells


@pytest.mark.parametrize("forget_gate", [False, True])
def test_memory_cell(forget_gate):
    fig = lstm_cells.draw_memory_cell(forget_gate=forget_gate)
    try:
        found = elements(fig)
        assert found["cec"] == 1 and found["squash:h"] == 1 and found["squash:g"] == 1
        assert found["gate:in"] == 1 and found["gate:out"] == 1
        assert found["product:in"] == 1 and found["product:out"] == 1
        assert found.get("gate:phi", 0) == (1 if forget_gate else 0)
        assert ("1.0" in texts(fig)) != forget_gate
        assert {"$s_{c}$", "$y_{c}$", "$z_{c}$"} <= set(texts(fig))
    finally:
        plt.close(fig)


@pytest.mark.parametrize("n_cells", [1, 2, 3])
@pytest.mark.parametrize("forget_gate", [False, True])
def test_memory_block_shares_one_set_of_gates(n_cells, forget_gate):
    fig = lstm_cells.draw_memory_block(n_cells, forget_gate=forget_gate)
    try:
        found = elements(fig)
        assert found["cec"] == n_cells and found["squash:h"] == n_cells
        assert found["product:in"] == n_cells and found["product:out"] == n_cells
        assert found["gate:in"] == 1 and found["gate:out"] == 1 and found["block"] == 1
        assert found.get("gate:phi", 0) == (1 if forget_gate else 0)
        assert {f"$s_{{c_{{{k}}}}}$" for k in range(1, n_cells + 1)} <= set(texts(fig))
    finally:
        plt.close(fig)


def test_memory_block_rejects_no_cells():
    with pytest.raises(ValueError, match="n_cells"):
        lstm_cells.draw_memory_block(0)


@pytest.mark.parametrize("peepholes", [False, True])
def test_modern_cell(peepholes):
    fig = lstm_cells.draw_modern_cell(peepholes=peepholes)
    try:
        found = elements(fig)
        for gid in ("gate:i", "gate:f", "gate:g", "gate:o", "sum:c", "product:f", "product:i",
                    "product:o", "squash:h", "state:c", "output:h"):
            assert found[gid] == 1, gid
        assert found.get("peepholes", 0) == (1 if peepholes else 0)
    finally:
        plt.close(fig)


def test_all_drawings_listed():
    assert set(lstm_cells.ALL) == {"memory_cell", "memory_block", "modern_cell", "truncation"}


def test_truncation_marks_kept_and_cut_paths():
    fig = lstm_cells.draw_truncation()
    try:
        found = elements(fig)
        for node in ("node:net", "node:s", "node:y_c", "node:y_o"):
            assert found[node] == 2, node          # one per time step
        assert found["path:kept"] == 1 and found["path:cut"] == 1
    finally:
        plt.close(fig)
