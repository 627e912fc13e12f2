"""What the drawing tests read off a rendered figure (imported by the tests/test_figures_*.py files)."""

import matplotlib

matplotlib.use("Agg")  # no display: select the backend before pyplot is imported anywhere


def elements(fig):
    """Count the drawn patches and texts by their gid, after a full render."""
    fig.canvas.draw()
    counts = {}
    for ax in fig.axes:
        for artist in list(ax.patches) + list(ax.texts):
            gid = artist.get_gid()
            if gid:
                counts[gid] = counts.get(gid, 0) + 1
    return counts


def texts(fig):
    """Every text drawn on the figure, repeats included."""
    return [t.get_text() for ax in fig.axes for t in ax.texts]
