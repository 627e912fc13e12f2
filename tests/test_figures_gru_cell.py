"""GRU drawing: it renders both reset placements with the elements the chapter refers to."""

from drawings import elements  # first: it selects the Agg backend

import matplotlib.pyplot as plt
import pytest

from lstmlab.figures import gru_cell


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_has_both_gates_three_products_and_the_mix(reset_after):
    fig = gru_cell.draw_gru_cell(reset_after=reset_after)
    try:
        found = elements(fig)
        assert found == {"gate:res": 1, "gate:upd": 1, "squash:n": 1, "product:res": 1, "product:upd": 1,
                         "product:one_minus_upd": 1, "one_minus": 1, "sum:y": 1, "weights:hn": 1}
        labels = {t.get_text() for t in fig.axes[0].texts}
        assert {r"$y(\tau)$", r"$y(\tau+1)$", r"$y_i(\tau+1)$"} <= labels
        # Where the reset gate acts is the one thing the two drawings must show differently.
        gated = r"$W_{hn}\,y(\tau) + b_{hn}$" if reset_after else r"$W_{hn}(r\odot y(\tau)) + b_{hn}$"
        assert gated in labels
        assert ("Eq. 65" in fig.axes[0].get_title()) == reset_after
        res = next(p for p in fig.axes[0].patches if p.get_gid() == "product:res")
        box = next(p for p in fig.axes[0].patches if p.get_gid() == "weights:hn")
        # Reset after: the product sits below the weights (it scales their output); before: above.
        assert (res.center[1] < box.get_y()) == reset_after
    finally:
        plt.close(fig)
