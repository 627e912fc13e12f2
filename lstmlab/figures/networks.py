"""Architecture drawings for Part II (Sec. 5.1 and Fig. 9 of the tutorial), drawn with matplotlib.

Every ``draw_*`` function returns a matplotlib Figure. Units are circles coloured by role (input,
hidden, output, context); a feed-forward connection is a straight arrow, a recurrent one (a
connection that carries a value to the next time step) a dashed, curved arrow.
"""

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch

COLOURS = {"input": "#cfe2f3", "hidden": "#d9ead3", "output": "#fce5cd", "context": "#ead1dc"}
RADIUS = 0.28


def blank_figure(width, height, title):
    """An empty drawing area, equal axis scales and no axes: the canvas of every diagram in the book."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    return fig, ax


def _unit(ax, xy, role, label=""):
    ax.add_patch(Circle(xy, RADIUS, facecolor=COLOURS[role], edgecolor="black", lw=1.2, zorder=3))
    if label:
        ax.text(*xy, label, ha="center", va="center", fontsize=9, zorder=4)


def _edge_points(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    direction = (b - a) / np.linalg.norm(b - a)
    return a + RADIUS * direction, b - RADIUS * direction


def _arrow(ax, a, b, recurrent=False, rad=0.0, colour="black"):
    start, end = _edge_points(a, b)
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.0,
                                 color=colour, linestyle="--" if recurrent else "-",
                                 connectionstyle=f"arc3,rad={rad}", zorder=2))


def _self_loop(ax, xy, colour="black"):
    x, y = xy
    # Leave and re-enter the unit at its top, on either side: the arc bulges above the circle.
    start = (x - RADIUS * np.sin(0.6), y + RADIUS * np.cos(0.6))
    end = (x + RADIUS * np.sin(0.6), y + RADIUS * np.cos(0.6))
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=1.0, color=colour,
                                 linestyle="--", connectionstyle="arc3,rad=-2.2", zorder=2))



def _legend(ax, roles=("input", "hidden", "output")):
    handles = [plt.Line2D([], [], marker="o", ls="", markersize=10, markerfacecolor=COLOURS[role],
                          markeredgecolor="black", label=role) for role in roles]
    handles.append(plt.Line2D([], [], color="black", ls="--", label="recurrent (one step delay)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, fontsize=8,
              frameon=False)


def _row(n, y, centre=0.0, spread=1.0):
    """n positions in a row at height y, centred on the horizontal position centre."""
    return [(centre + spread * (k - (n - 1) / 2), y) for k in range(n)]


def _three_layers(ax, n_in, n_hidden, n_out, input_centre=0.0):
    """Input row at the bottom, hidden row above it, output row on top; signals flow upwards."""
    inputs, hidden, outputs = _row(n_in, 0.0, input_centre), _row(n_hidden, 2.0), _row(n_out, 4.0)
    for k, p in enumerate(inputs):
        _unit(ax, p, "input", f"$i_{k + 1}$")
    for k, p in enumerate(hidden):
        _unit(ax, p, "hidden", f"$h_{k + 1}$")
    for k, p in enumerate(outputs):
        _unit(ax, p, "output", f"$o_{k + 1}$")
    for a in inputs:
        for b in hidden:
            _arrow(ax, a, b)
    for a in hidden:
        for b in outputs:
            _arrow(ax, a, b)
    return inputs, hidden, outputs


def _frame(ax, points):
    xs, ys = zip(*points)
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.9)


def draw_feedforward(n_in=2, n_hidden=3, n_out=2):
    """A three-layer feed-forward network (the tutorial's Fig. 5), for comparison."""
    fig, ax = blank_figure(5, 3.5, "Feed-forward network")
    layers = _three_layers(ax, n_in, n_hidden, n_out)
    _frame(ax, sum(layers, []))
    _legend(ax)
    return fig


def _context_network(title, n_in, n_hidden, n_out, source):
    fig, ax = blank_figure(5.5, 4.8, title)
    n_context = n_hidden if source == "hidden" else n_out
    # Input and context cells share the bottom row: to the hidden layer both are just inputs.
    inputs, hidden, outputs = _three_layers(ax, n_in, n_hidden, n_out, input_centre=-(n_context + 0.5) / 2)
    feeding = hidden if source == "hidden" else outputs
    context = _row(n_context, 0.0, (n_in + 0.5) / 2)
    for k, (src, ctx) in enumerate(zip(feeding, context)):
        _unit(ax, ctx, "context", f"$c_{k + 1}$")
        _arrow(ax, src, ctx, recurrent=True, rad=-0.5, colour="#990000")
        for h in hidden:
            _arrow(ax, ctx, h, colour="#666666")
    _frame(ax, inputs + hidden + outputs + context)
    ax.set_xlim(ax.get_xlim()[0], ax.get_xlim()[1] + 0.8)
    _legend(ax, ("input", "hidden", "output", "context"))
    return fig


def draw_elman(n_in=2, n_hidden=3, n_out=2):
    """Elman network (Fig. 6): every hidden unit has a context cell holding its previous output,
    and every hidden unit reads all context cells as extra inputs."""
    return _context_network("Elman network: context fed by the hidden layer", n_in, n_hidden, n_out,
                            "hidden")


def draw_jordan(n_in=2, n_hidden=3, n_out=2):
    """Jordan network: the context cells hold the previous outputs of the output layer."""
    return _context_network("Jordan network: context fed by the output layer", n_in, n_hidden, n_out,
                            "output")


def draw_partially_recurrent(n_in=2, n_hidden=3, n_out=2):
    """Partially recurrent network (Fig. 7): a fully connected recurrent hidden layer, with
    self-feedback, between a feed-forward input and output layer."""
    fig, ax = blank_figure(5.5, 4.2, "Partially recurrent network")
    inputs, hidden, outputs = _three_layers(ax, n_in, n_hidden, n_out)
    for a in hidden:
        _self_loop(ax, a, colour="#990000")
        for b in hidden:
            if a != b:
                _arrow(ax, a, b, recurrent=True, rad=0.5, colour="#990000")
    _frame(ax, inputs + hidden + outputs)
    _legend(ax)
    return fig


def draw_fully_recurrent(n_in=2, n_units=3):
    """Fully recurrent network (Fig. 8): every non-input unit feeds every non-input unit, itself
    included, and reads every input unit."""
    fig, ax = blank_figure(5, 4.5, "Fully recurrent network")
    inputs = _row(n_in, 0.0, 0.0, 1.4)
    angles = np.pi / 2 + 2 * np.pi * np.arange(n_units) / n_units
    units = [(1.2 * np.cos(a), 2.8 + 1.2 * np.sin(a) - 0.4) for a in angles]
    for k, p in enumerate(inputs):
        _unit(ax, p, "input", f"$i_{k + 1}$")
    for k, p in enumerate(units):
        _unit(ax, p, "output" if k == 0 else "hidden", f"$u_{k + 1}$")
        _self_loop(ax, p, colour="#990000")
        for a in inputs:
            _arrow(ax, a, p, colour="#666666")
    for a in units:
        for b in units:
            if a != b:
                _arrow(ax, a, b, recurrent=True, rad=0.15, colour="#990000")
    _frame(ax, inputs + units)
    _legend(ax)
    return fig


def draw_unfolded(n_units=2, steps=3):
    """A small fully recurrent network and the same network unfolded in time (Fig. 9): one layer
    per time step, every layer wired to the next with the same weights W[u, v]."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 2.4]})
    for ax in (left, right):
        ax.set_aspect("equal")
        ax.axis("off")
    left.set_title("recurrent network")
    right.set_title(f"unfolded over {steps} steps: a feed-forward network with shared weights")
    units = _row(n_units, 0.0, 0.0, 1.6)
    for k, p in enumerate(units):
        _unit(left, p, "hidden", f"$u_{k + 1}$")
        _self_loop(left, p, colour="#990000")
        for q in units:
            if q != p:
                _arrow(left, p, q, recurrent=True, rad=0.35, colour="#990000")
    _frame(left, units)
    columns = [[(1.8 * t, y) for y, _ in _row(n_units, 0.0, 0.0, 1.4)] for t in range(steps + 1)]
    for t, column in enumerate(columns):
        right.text(1.8 * t, max(y for _, y in column) + 0.75, f"τ = t'+{t}" if t else "τ = t'",
                   ha="center", fontsize=9)
        for k, p in enumerate(column):
            _unit(right, p, "hidden", f"$u_{k + 1}$")
    for t in range(steps):
        for v, a in enumerate(columns[t]):
            for u, b in enumerate(columns[t + 1]):
                _arrow(right, a, b, colour="#990000")
                if t == 0:
                    # Near the arrow's start the crossing arrows are still apart: room for labels.
                    at = (0.7 * a[0] + 0.3 * b[0], 0.7 * a[1] + 0.3 * b[1] + (0.15 if u == v else 0.0))
                    right.text(*at, f"$W_{{[{v + 1},{u + 1}]}}$", fontsize=7, ha="center", va="bottom",
                               bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
    _frame(right, sum(columns, []))
    right.set_ylim(right.get_ylim()[0], right.get_ylim()[1] + 0.5)
    return fig


ALL = {"feedforward": draw_feedforward, "elman": draw_elman, "jordan": draw_jordan,
       "partially_recurrent": draw_partially_recurrent, "fully_recurrent": draw_fully_recurrent,
       "unfolded": draw_unfolded}
