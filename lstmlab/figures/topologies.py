"""Drawings of Part IV's topologies (tutorial Sec. 10.1 and 10.2.1), with matplotlib: the bidirectional
network unfolded in time (two chains, one per direction, meeting in the outputs) and a stack of
recurrent layers (Eq. 52).

Every ``draw_*`` function returns a matplotlib Figure. Time runs from left to right. Each drawn
element carries a matplotlib ``gid`` (``"chain:fwd"``, ``"link:up"``, ...) so that tests can count
them.
"""

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from lstmlab.figures.networks import blank_figure

COLOURS = {"fwd": "#2b6cb0", "bwd": "#c53030", "input": "#4a5568", "output": "#2f855a", "eq52": "#d69e2e"}
FILL = {"fwd": "#e2ecf9", "bwd": "#fde2e2", "input": "#f5f5f5", "output": "#e6f4ea", "layer": "#fff3c4"}
BOX_W, BOX_H = 0.9, 0.5


def _box(ax, xy, label, fill, gid, edge="black"):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0.03",
                                facecolor=fill, edgecolor=edge, lw=1.3, zorder=3, gid=gid))
    ax.text(x, y, label, ha="center", va="center", fontsize=10, zorder=4)


def _arrow(ax, a, b, colour, gid, rad=0.0, lw=1.3):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=11, color=colour, lw=lw,
                                 connectionstyle=f"arc3,rad={rad}", zorder=2, gid=gid))


def _check_positive(**values):
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def draw_bidirectional(steps=4):
    """Sec. 10.1 unfolded over ``steps`` steps: x(t) feeds a forward chain (left to right) and a
    backward chain (right to left); y(t) joins the two chains' outputs at t."""
    _check_positive(steps=steps)
    dx = 1.9
    fig, ax = blank_figure(1.9 * steps + 1.6, 5.0, "A bidirectional layer unfolded in time")
    rows = {"input": 0.0, "fwd": 1.3, "bwd": 2.6, "output": 3.9}
    for k in range(steps):
        x = dx * k
        t = f"{k + 1}" if k < steps - 1 else "T"
        _box(ax, (x, rows["input"]), f"$x({t})$", FILL["input"], "input")
        _box(ax, (x, rows["fwd"]), rf"$\overrightarrow{{h}}({t})$", FILL["fwd"], "chain:fwd", COLOURS["fwd"])
        _box(ax, (x, rows["bwd"]), rf"$\overleftarrow{{h}}({t})$", FILL["bwd"], "chain:bwd", COLOURS["bwd"])
        _box(ax, (x, rows["output"]), f"$y({t})$", FILL["output"], "output", COLOURS["output"])
        bottom = rows["input"] + BOX_H / 2
        # x(t) feeds both chains and both chains feed y(t): the arrows that skip a row bow around
        # the box in between, the input's to the right, the forward chain's to the left.
        _arrow(ax, (x - 0.1, bottom), (x - 0.1, rows["fwd"] - BOX_H / 2), COLOURS["input"], "feed")
        _arrow(ax, (x + 0.3, bottom), (x + 0.3, rows["bwd"] - BOX_H / 2), COLOURS["input"], "feed", rad=0.3)
        _arrow(ax, (x - 0.3, rows["fwd"] + BOX_H / 2), (x - 0.3, rows["output"] - BOX_H / 2),
               COLOURS["fwd"], "join:fwd", rad=-0.3)
        _arrow(ax, (x + 0.1, rows["bwd"] + BOX_H / 2), (x + 0.1, rows["output"] - BOX_H / 2),
               COLOURS["bwd"], "join:bwd")
        if k + 1 < steps:
            _arrow(ax, (x + BOX_W / 2 + 0.05, rows["fwd"]), (x + dx - BOX_W / 2 - 0.05, rows["fwd"]),
                   COLOURS["fwd"], "link:fwd")
            _arrow(ax, (x + dx - BOX_W / 2 - 0.05, rows["bwd"]), (x + BOX_W / 2 + 0.05, rows["bwd"]),
                   COLOURS["bwd"], "link:bwd")
    right = dx * (steps - 1) + 0.75
    ax.text(right, rows["fwd"], "forward chain:\nreads x(1), ..., x(t)", fontsize=9, va="center",
            color=COLOURS["fwd"])
    ax.text(right, rows["bwd"], "backward chain:\nreads x(T), ..., x(t)", fontsize=9, va="center",
            color=COLOURS["bwd"])
    ax.text(right, rows["output"], r"$y(t) = [\overrightarrow{h}(t);\ \overleftarrow{h}(t)]$", fontsize=10,
            va="center", color=COLOURS["output"])
    ax.set_xlim(-0.8, right + 2.6)
    ax.set_ylim(-0.5, rows["output"] + 0.5)
    return fig


def draw_stacked(n_layers=3, steps=4, highlight=(2, 2)):
    """Eq. 52 unfolded: ``n_layers`` recurrent layers over ``steps`` steps; layer i reads layer i-1's
    output at the same step and its own output one step back. The two inputs X_i of the unit
    ``highlight = (layer, step)`` (counted from 1) are drawn in colour."""
    _check_positive(n_layers=n_layers, steps=steps)
    layer_hl, step_hl = highlight
    dx, dy = 1.9, 1.25
    fig, ax = blank_figure(1.9 * steps + 2.2, 1.25 * n_layers + 2.4, "A stack of recurrent layers (Eq. 52)")
    for k in range(steps):
        x = dx * k
        _box(ax, (x, 0.0), f"$x({k + 1})$", FILL["input"], "input")
        for i in range(1, n_layers + 1):
            y = dy * i
            hl = (i, k + 1) == (layer_hl, step_hl)
            edge = COLOURS["eq52"] if hl else "black"
            _box(ax, (x, y), f"$y_{{h_{i}}}({k + 1})$", FILL["layer"], "unit", edge)
            _arrow(ax, (x, y - dy + BOX_H / 2), (x, y - BOX_H / 2),
                   COLOURS["eq52"] if hl else COLOURS["input"], "link:up", lw=2.2 if hl else 1.3)
            if k > 0:
                _arrow(ax, (x - dx + BOX_W / 2 + 0.05, y), (x - BOX_W / 2 - 0.05, y), edge, "link:rec",
                       lw=2.2 if hl else 1.3)
        _arrow(ax, (x, dy * n_layers + BOX_H / 2), (x, dy * n_layers + 0.75), COLOURS["output"], "output")
    if 1 <= layer_hl <= n_layers and 1 <= step_hl <= steps:
        below = "x" if layer_hl == 1 else f"y_{{h_{layer_hl - 1}}}"
        ax.text(dx * (steps - 1) + 0.8, dy * layer_hl,
                rf"$X_{{{layer_hl}}}(t) = \left[\,{below}(t);\ y_{{h_{layer_hl}}}(t-1)\,\right]$",
                fontsize=10, va="center", color=COLOURS["eq52"], gid="eq52")
    for i in range(1, n_layers + 1):
        ax.text(-0.75, dy * i, f"layer {i}", ha="right", va="center", fontsize=9)
    ax.set_xlim(-1.9, dx * (steps - 1) + 4.3)
    ax.set_ylim(-0.5, dy * n_layers + 0.9)
    return fig
