"""Architecture drawings: each one renders, with one circle per unit."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Circle

from lstmlab.figures import networks

EXPECTED_UNITS = {"feedforward": 7, "elman": 10, "jordan": 9, "partially_recurrent": 7,
                  "fully_recurrent": 5, "unfolded": 2 + 2 * 4}


@pytest.mark.parametrize("name", sorted(networks.ALL))
def test_drawing_renders_every_unit(name):
    fig = networks.ALL[name]()
    try:
        circles = [p for ax in fig.axes for p in ax.patches if isinstance(p, Circle)]
        assert len(circles) == EXPECTED_UNITS[name]
        fig.canvas.draw()
    finally:
        plt.close(fig)
