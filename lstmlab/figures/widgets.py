"""Interactive figures that keep working in the static book, where no Python kernel runs."""

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt


def figure_slider(draw, values, description, value=None, fmt="{:.3g}"):
    """A slider over `values` that shows the figure `draw(v)` for the chosen v.

    Every figure is rendered up front and the slider is linked to them in the browser
    (jslink), so moving it needs no kernel: it works in the built HTML book as in JupyterLab.
    """
    values = list(values)
    images = []
    for v in values:
        fig = draw(v)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
        images.append(widgets.Image(value=buf.getvalue(), format="png"))
    stack = widgets.Stack(images)
    slider = widgets.SelectionSlider(
        options=[(fmt.format(v), i) for i, v in enumerate(values)],
        description=description,
        continuous_update=True,
        layout=widgets.Layout(width="60%"),
    )
    start = values.index(value) if value is not None else len(values) // 2
    slider.value = start
    stack.selected_index = start
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])
