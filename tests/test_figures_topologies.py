"""Part IV drawings: each renders, with the elements the chapters refer to, counted by gid."""

from drawings import elements  # first: it selects the Agg backend

import matplotlib.pyplot as plt
import pytest

from lstmlab.figures import topologies


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_bidirectional_has_two_opposite_chains(steps):
    fig = topologies.draw_bidirectional(steps)
    try:
        found = elements(fig)
        for part in ("input", "chain:fwd", "chain:bwd", "output", "join:fwd", "join:bwd"):
            assert found[part] == steps, part
        assert found["feed"] == 2 * steps
        assert found.get("link:fwd", 0) == found.get("link:bwd", 0) == steps - 1
        # Forward links point right, backward links point left.
        ax = fig.axes[0]
        for gid, sign in (("link:fwd", 1), ("link:bwd", -1)):
            for p in (a for a in ax.patches if a.get_gid() == gid):
                (x0, _), (x1, _) = p._posA_posB
                assert sign * (x1 - x0) > 0
    finally:
        plt.close(fig)


@pytest.mark.parametrize("n_layers,steps", [(1, 2), (3, 4), (2, 5)])
def test_stack_has_a_unit_per_layer_and_step(n_layers, steps):
    fig = topologies.draw_stacked(n_layers, steps, highlight=(n_layers, steps))
    try:
        found = elements(fig)
        assert found["unit"] == n_layers * steps and found["input"] == steps and found["output"] == steps
        assert found["link:up"] == n_layers * steps
        assert found.get("link:rec", 0) == n_layers * (steps - 1)
        assert found["eq52"] == 1
        label = next(t.get_text() for t in fig.axes[0].texts if t.get_gid() == "eq52")
        below = "x" if n_layers == 1 else f"y_{{h_{n_layers - 1}}}"
        assert f"{below}(t)" in label and f"y_{{h_{n_layers}}}(t-1)" in label
    finally:
        plt.close(fig)


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        topologies.draw_bidirectional(0)
    with pytest.raises(ValueError, match="n_layers"):
        topologies.draw_stacked(0)
