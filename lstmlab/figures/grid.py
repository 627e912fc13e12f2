"""Drawings of the multidimensional and Grid LSTM (tutorial Sec. 10.2.2-10.2.3, Eqs. 53-56), with matplotlib.

Every ``draw_*`` function returns a matplotlib Figure. Grids are drawn with the first dimension
running down and the second running right, as an image is indexed. Memory (cell state) signals are
thick and coloured like the carousel; hidden vectors are thin and black. Labelled elements carry a
``gid`` (``"cell"``, ``"transform:1"``, ``"memory"``, ...) so that tests can find them.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, Rectangle

from lstmlab.figures.networks import blank_figure
from lstmlab.figures.lstm_cells import FILL, _box
from lstmlab.numpy.md_lstm import wavefronts

MEMORY = "#b7791f"
HIDDEN = "black"


def _arrow(ax, a, b, memory, gid, rad=0.0):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=11 if memory else 9,
                                 color=MEMORY if memory else HIDDEN, lw=2.4 if memory else 1.0,
                                 connectionstyle=f"arc3,rad={rad}", zorder=2, gid=gid))


def draw_wavefront(grid_shape=(4, 6), upto=None):
    """The scan order of :func:`lstmlab.numpy.md_lstm.wavefronts` on a 2-D grid.

    Each point shows its wavefront number k (the points computed together in one batched step);
    with ``upto`` given, points of wavefronts after it are left blank and wavefront ``upto`` is
    outlined: what is known, and what is being computed, at that moment of the scan.
    """
    if len(grid_shape) != 2 or min(grid_shape) < 1:
        raise ValueError(f"grid_shape must be two positive sizes (rows, columns), got {grid_shape}")
    rows, cols = grid_shape
    fronts = wavefronts(grid_shape)
    upto = len(fronts) - 1 if upto is None else upto
    if not 0 <= upto < len(fronts):
        raise ValueError(f"upto must lie in [0, {len(fronts) - 1}] for a {rows} x {cols} grid, got {upto}")
    title = f"Wavefront scan: {len(fronts)} batched steps for {rows * cols} points"
    fig, ax = blank_figure(0.9 * cols + 1.0, 0.9 * rows + 1.0, title)
    colours = plt.get_cmap("viridis")
    for k, front in enumerate(fronts):
        for i, j in front:
            done = k <= upto
            fill = colours(k / max(len(fronts) - 1, 1)) if done else "white"
            edge, width = ("#c53030", 3.0) if k == upto else ("black", 1.0)
            ax.add_patch(Rectangle((j, -i - 1), 1, 1, facecolor=fill, edgecolor=edge, lw=width,
                                   alpha=0.85 if done else 1.0, zorder=2 if k != upto else 3, gid="cell"))
            if done:
                ax.text(j + 0.5, -i - 0.5, str(k), ha="center", va="center", fontsize=10, zorder=4,
                        color="white" if k < 0.6 * len(fronts) else "black")
            # Arrows from the predecessors along both dimensions into the points just computed.
            if k == upto:
                if i > 0:
                    _arrow(ax, (j + 0.5, -i + 0.2), (j + 0.5, -i - 0.25), False, "dependency")
                if j > 0:
                    _arrow(ax, (j - 0.2, -i - 0.5), (j + 0.25, -i - 0.5), False, "dependency")
    ax.text(-0.15, -0.5, "dimension 1\n(rows)", ha="right", va="top", fontsize=8, rotation=90)
    ax.text(0.0, 0.15, "dimension 2 (columns)", ha="left", va="bottom", fontsize=8)
    ax.set_xlim(-0.7, cols + 0.2)
    ax.set_ylim(-rows - 0.2, 0.7)
    return fig


def draw_grid_block():
    """One 2-D Grid LSTM block (Eqs. 55-56): two LSTM transforms read the same concatenation X of the
    incoming hidden vectors; each keeps its own memory and sends its outputs along its own dimension."""
    fig, ax = blank_figure(7.0, 6.0, "A 2-D Grid LSTM block")
    ax.add_patch(Rectangle((1.5, 1.0), 4.0, 4.0, facecolor="#f7fafc", edgecolor="black", lw=1.4,
                           zorder=1, gid="block"))
    _box(ax, (2.4, 2.0), r"$X = [\,\vec y_{h1};\ \vec y_{h2}\,]$", "concat", FILL["gate"], width=1.7)
    _box(ax, (4.6, 1.75), "LSTM$_1$\n($W_1$)", "transform:1", FILL["squash"], width=1.3, height=0.9)
    _box(ax, (3.4, 4.0), "LSTM$_2$ ($W_2$)", "transform:2", FILL["squash"], width=1.5)
    # Hidden vectors enter the concatenation from both dimensions; X feeds both transforms.
    _arrow(ax, (0.2, 2.05), (1.5, 2.05), False, "hidden:in1")
    ax.text(0.2, 2.15, r"$\vec y_{h1}$", fontsize=10, va="bottom")
    _arrow(ax, (2.0, -0.2), (2.0, 1.64), False, "hidden:in2")
    ax.text(1.9, -0.1, r"$\vec y_{h2}$", fontsize=10, ha="right")
    _arrow(ax, (3.3, 2.05), (3.9, 2.05), False, "hidden:X")
    _arrow(ax, (2.9, 2.36), (2.9, 3.64), False, "hidden:X")
    # Each memory enters only its own transform and leaves along its own dimension.
    _arrow(ax, (0.2, 1.45), (3.9, 1.45), True, "memory")
    ax.text(0.2, 1.35, r"$\vec s_{m1}$", fontsize=10, va="top", color=MEMORY)
    _arrow(ax, (3.6, -0.2), (3.6, 3.64), True, "memory")
    ax.text(3.7, -0.1, r"$\vec s_{m2}$", fontsize=10, ha="left", color=MEMORY)
    _arrow(ax, (5.3, 1.45), (6.8, 1.45), True, "memory")
    ax.text(6.8, 1.35, r"$\vec s\,'_{m1}$", fontsize=10, ha="right", va="top", color=MEMORY)
    _arrow(ax, (5.3, 2.05), (6.8, 2.05), False, "hidden:out1")
    ax.text(6.8, 2.15, r"$\vec y\,'_{h1}$", fontsize=10, ha="right", va="bottom")
    _arrow(ax, (3.6, 4.36), (3.6, 5.9), True, "memory")
    ax.text(3.7, 5.8, r"$\vec s\,'_{m2}$", fontsize=10, ha="left", color=MEMORY)
    _arrow(ax, (2.9, 4.36), (2.9, 5.9), False, "hidden:out2")
    ax.text(2.8, 5.8, r"$\vec y\,'_{h2}$", fontsize=10, ha="right")
    ax.text(6.9, 0.4, "dimension 1 →", ha="right", fontsize=8)
    ax.text(6.9, 5.6, "dimension 2 ↑", ha="right", fontsize=8)
    handles = [plt.Line2D([], [], color=MEMORY, lw=2.4, label="memory (cell state)"),
               plt.Line2D([], [], color=HIDDEN, lw=1.0, label="hidden vector")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2, fontsize=8,
              frameon=False)
    ax.set_xlim(-0.1, 7.0)
    ax.set_ylim(-0.6, 6.2)
    return fig


def _panel(ax, title, memory_right, memory_up, shared_cell):
    """A 2 x 3 patch of a network: what each node sends right (dimension 1) and up (dimension 2)."""
    ax.set_title(title, fontsize=10)
    for t in range(3):
        for level in range(2):
            x, y = 1.6 * t, 1.6 * level
            _box(ax, (x, y), "", "node", FILL["cec"] if shared_cell else FILL["squash"], width=0.7, height=0.7)
            if t < 2:
                if memory_right:
                    _arrow(ax, (x + 0.4, y + 0.1), (x + 1.2, y + 0.1), True, "memory")
                _arrow(ax, (x + 0.4, y - 0.15), (x + 1.2, y - 0.15), False, "hidden")
            if level < 1:
                if memory_up:
                    _arrow(ax, (x + 0.12, y + 0.4), (x + 0.12, y + 1.2), True, "memory")
                _arrow(ax, (x - 0.15, y + 0.4), (x - 0.15, y + 1.2), False, "hidden")
    ax.set_xlim(-0.8, 4.0)
    ax.set_ylim(-0.8, 2.5)


def draw_comparison():
    """Stacked, multidimensional and Grid LSTM side by side: along which dimension memory flows."""
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.0))
    for ax in axes:
        ax.set_aspect("equal")
        ax.axis("off")
    _panel(axes[0], "stacked LSTM (Eq. 52)\ntime →, layers ↑", True, False, False)
    _panel(axes[1], "multidimensional LSTM (Eqs. 53-54)\none cell, one state sent both ways", True, True, True)
    _panel(axes[2], "Grid LSTM (Eqs. 55-56)\none LSTM per dimension, own memories", True, True, False)
    for ax, gid in zip(axes, ("panel:stacked", "panel:md", "panel:grid")):
        ax.set_gid(gid)
    handles = [plt.Line2D([], [], color=MEMORY, lw=2.4, label="memory (cell state)"),
               plt.Line2D([], [], color=HIDDEN, lw=1.0, label="hidden vector")]
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.08, top=0.85, wspace=0.05)
    return fig


ALL = {"wavefront": draw_wavefront, "grid_block": draw_grid_block, "comparison": draw_comparison}
