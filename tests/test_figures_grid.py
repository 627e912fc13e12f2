"""Grid drawings: each renders with the labelled elements the chapters refer to, and the wavefront
drawing shows the scan order of md_lstm.wavefronts."""

from drawings import elements, texts  # first: it selects the Agg backend

import matplotlib.pyplot as plt
import pytest

from lstmlab.figures import grid


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (4, 2)])
def test_wavefront_numbers_every_point_by_its_antidiagonal(shape):
    fig = grid.draw_wavefront(shape)
    try:
        found = elements(fig)
        assert found["cell"] == shape[0] * shape[1]
        numbers = sorted(int(t) for t in texts(fig) if t.isdigit())
        assert numbers == sorted(i + j for i in range(shape[0]) for j in range(shape[1]))
        assert f"{shape[0] + shape[1] - 1} batched steps" in fig.axes[0].get_title()
    finally:
        plt.close(fig)


def test_wavefront_upto_shows_only_what_is_computed():
    fig = grid.draw_wavefront((3, 4), upto=2)
    try:
        found = elements(fig)
        assert sorted(int(t) for t in texts(fig) if t.isdigit()) == [0, 1, 1, 2, 2, 2]
        # Wavefront 2 is (0, 2), (1, 1), (2, 0): 1 + 2 + 1 arrows from predecessors inside the grid.
        assert found["dependency"] == 4
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match=r"upto must lie in \[0, 5\]"):
        grid.draw_wavefront((3, 4), upto=6)
    with pytest.raises(ValueError, match="two positive sizes"):
        grid.draw_wavefront((3,))


def test_grid_block_has_two_transforms_reading_one_concatenation():
    fig = grid.draw_grid_block()
    try:
        found = elements(fig)
        assert found["block"] == 1 and found["concat"] == 1
        assert found["transform:1"] == 1 and found["transform:2"] == 1
        assert found["memory"] == 4 and found["hidden:X"] == 2
        assert found["hidden:out1"] == 1 and found["hidden:out2"] == 1
    finally:
        plt.close(fig)


def test_comparison_memory_flows_along_depth_only_in_md_and_grid():
    fig = grid.draw_comparison()
    try:
        fig.canvas.draw()
        panels = {ax.get_gid(): ax for ax in fig.axes if ax.get_gid()}
        memory = {name: sum(p.get_gid() == "memory" for p in ax.patches) for name, ax in panels.items()}
        # 2 x 3 nodes: 4 links along time, 3 along depth.
        assert memory == {"panel:stacked": 4, "panel:md": 7, "panel:grid": 7}
    finally:
        plt.close(fig)
