"""Drawings of the LSTM (tutorial Sec. 8-9: Figs. 10-12, the truncation of the hybrid learning rule,
and the modern cell), with matplotlib.

Every ``draw_*`` function returns a matplotlib Figure. In the cell drawings signals run from left to right. Squashing
units and gates are circles, products are small circles marked with a cross, the constant error
carousel (the cell state with its self-connection) is a rounded box. Gate signals are coloured
by gate: input gate green, output gate orange, forget gate purple. Each labelled element of a
drawing carries a matplotlib ``gid`` (``"gate:in"``, ``"cec"``, ...) so that tests can find it.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from lstmlab.figures.networks import blank_figure

GATE_COLOURS = {"in": "#38a169", "out": "#dd6b20", "phi": "#805ad5"}
FILL = {"squash": "#e2ecf9", "gate": "#f5f5f5", "cec": "#fff3c4", "product": "white",
        "state": "#fde2e2"}
R_UNIT, R_PRODUCT = 0.32, 0.16


def _circle(ax, xy, radius, fill, label, gid, edge="black", fontsize=10):
    ax.add_patch(Circle(xy, radius, facecolor=fill, edgecolor=edge, lw=1.3, zorder=3, gid=gid))
    ax.text(*xy, label, ha="center", va="center", fontsize=fontsize, zorder=4)


def _product(ax, xy, gid):
    _circle(ax, xy, R_PRODUCT, FILL["product"], r"$\times$", gid, fontsize=9)


def _line(ax, a, b, colour="black", rad=0.0, head=True, lw=1.2, shrink_a=0.0, shrink_b=0.0, style="-"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>" if head else "-", mutation_scale=11,
                                 color=colour, lw=lw, linestyle=style,
                                 connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=shrink_a, shrinkB=shrink_b, zorder=2))


def _to_circle(a, b, radius):
    """The point where the segment from a towards the centre b enters a circle of the given radius."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    norm = (dx * dx + dy * dy) ** 0.5
    return (b[0] - radius * dx / norm, b[1] - radius * dy / norm)


def _cell(ax, y, index, forget_gate, label_inputs=True):
    """One memory cell on the horizontal line y; returns the positions of its three gate products."""
    suffix = f"_{{{index}}}" if index is not None else ""
    x_g, x_in, x_cec, x_h, x_out = 1.2, 2.4, 3.9, 5.4, 6.6
    if label_inputs:
        ax.text(0.05, y + 0.12, f"$z_{{c{suffix}}}$", fontsize=9, ha="left", va="bottom")
    _line(ax, (0.0, y), (x_g - R_UNIT, y))
    _circle(ax, (x_g, y), R_UNIT, FILL["squash"], r"$g$", f"squash:g{'' if index is None else index}")
    _line(ax, (x_g + R_UNIT, y), (x_in - R_PRODUCT, y))
    _product(ax, (x_in, y), "product:in")
    # The constant error carousel: the state and its self-connection of weight 1 (or y_phi).
    ax.add_patch(FancyBboxPatch((x_cec - 0.5, y - 0.3), 1.0, 0.6, boxstyle="round,pad=0.02",
                                facecolor=FILL["cec"], edgecolor="black", lw=1.3, zorder=3, gid="cec"))
    ax.text(x_cec, y, f"$s_{{c{suffix}}}$", ha="center", va="center", fontsize=10, zorder=4)
    _line(ax, (x_in + R_PRODUCT, y), (x_cec - 0.5, y))
    loop_colour = GATE_COLOURS["phi"] if forget_gate else "#b7791f"
    _line(ax, (x_cec + 0.32, y + 0.32), (x_cec - 0.32, y + 0.32), colour=loop_colour, rad=1.6, lw=1.5)
    ax.text(x_cec - (0.35 if forget_gate else 0.0), y + 0.95,
            r"$\times\, y_{\varphi}$" if forget_gate else "1.0", ha="center",
            va="bottom", fontsize=9, color=loop_colour, gid="loop")
    _line(ax, (x_cec + 0.5, y), (x_h - R_UNIT, y))
    _circle(ax, (x_h, y), R_UNIT, FILL["squash"], r"$h$", "squash:h")
    _line(ax, (x_h + R_UNIT, y), (x_out - R_PRODUCT, y))
    _product(ax, (x_out, y), "product:out")
    _line(ax, (x_out + R_PRODUCT, y), (7.7, y))
    ax.text(7.75, y, f"$y_{{c{suffix}}}$", fontsize=10, ha="left", va="center")
    return {"in": (x_in, y), "out": (x_out, y), "phi": (x_cec, y + 0.7)}


def _gate(ax, xy, name):
    """A sigmoid gate unit, drawn as a circle with the gate's colour and its net input below."""
    label = {"in": r"$y_{\mathrm{in}}$", "out": r"$y_{\mathrm{out}}$", "phi": r"$y_{\varphi}$"}[name]
    _circle(ax, xy, R_UNIT, FILL["gate"], label, f"gate:{name}", edge=GATE_COLOURS[name], fontsize=9)
    z = {"in": r"$z_{\mathrm{in}}$", "out": r"$z_{\mathrm{out}}$", "phi": r"$z_{\varphi}$"}[name]
    ax.text(xy[0], xy[1] - 0.95, z, ha="center", va="top", fontsize=9, color=GATE_COLOURS[name])
    _line(ax, (xy[0], xy[1] - 0.9), (xy[0], xy[1] - R_UNIT), colour=GATE_COLOURS[name])


def _gate_links(ax, gate_xy, targets, name):
    for target in targets:
        radius = R_PRODUCT if name != "phi" else 0.05
        _line(ax, (gate_xy[0], gate_xy[1] + R_UNIT), _to_circle(gate_xy, target, radius),
              colour=GATE_COLOURS[name], lw=1.1, style="--")


def draw_memory_cell(forget_gate=False):
    """One memory cell with its gates (the tutorial's Figs. 10 and 11, plus Sec. 9.2's forget gate).

    z_c is squashed by g, multiplied by the input gate and added to the state s_c, which feeds
    itself through the constant error carousel (weight 1.0, or the forget gate's y_phi); the state
    is squashed by h and multiplied by the output gate to give the cell output y_c.
    """
    title = "Memory cell with forget gate" if forget_gate else "Memory cell (LSTM of 1997)"
    fig, ax = blank_figure(7.2, 3.6, title)
    ports = _cell(ax, 2.0, None, forget_gate)
    gates = {"in": (ports["in"][0], 0.6), "out": (ports["out"][0], 0.6)}
    if forget_gate:
        gates["phi"] = (ports["phi"][0] + 1.35, 3.55)
    for name, xy in gates.items():
        if name == "phi":
            label = r"$y_{\varphi}$"
            _circle(ax, xy, R_UNIT, FILL["gate"], label, "gate:phi", edge=GATE_COLOURS["phi"], fontsize=9)
            ax.text(xy[0] + 0.45, xy[1], r"$z_{\varphi}$", ha="left", va="center", fontsize=9,
                    color=GATE_COLOURS["phi"])
            _line(ax, (xy[0] + 0.42, xy[1]), (xy[0] + R_UNIT, xy[1]), colour=GATE_COLOURS["phi"])
            _line(ax, (xy[0] - R_UNIT, xy[1]), (ports["phi"][0] + 0.15, ports["phi"][1] + 0.45),
                  colour=GATE_COLOURS["phi"], lw=1.1, style="--")
        else:
            _gate(ax, xy, name)
            _gate_links(ax, xy, [ports[name]], name)
    ax.set_xlim(-0.1, 8.4)
    ax.set_ylim(-0.6, 4.1 if forget_gate else 3.4)
    return fig


def draw_memory_block(n_cells=3, forget_gate=False):
    """A memory block of ``n_cells`` cells sharing one input gate, one output gate and, optionally,
    one forget gate (the tutorial's Fig. 12, which shows three cells)."""
    if n_cells < 1:
        raise ValueError(f"n_cells must be a positive integer, got {n_cells!r}")
    spacing = 1.55
    top = 1.7 + spacing * (n_cells - 1)
    title = f"Memory block of {n_cells} cell{'s' if n_cells > 1 else ''} sharing its gates"
    fig, ax = blank_figure(7.6, 1.7 + 1.45 * n_cells, title)
    ports = [_cell(ax, 1.7 + spacing * k, k + 1, forget_gate) for k in range(n_cells)]
    gates = {"in": (ports[0]["in"][0] - 0.55, 0.35), "out": (ports[0]["out"][0] - 0.55, 0.35)}
    if forget_gate:
        gates["phi"] = (ports[0]["phi"][0] - 0.55, 0.35)
    for name, xy in gates.items():
        _gate(ax, xy, name)
        targets = [p[name] if name != "phi" else (p["phi"][0] - 0.5, p["phi"][1] - 0.7) for p in ports]
        _gate_links(ax, xy, targets, name)
    ax.add_patch(FancyBboxPatch((0.7, 1.05), 6.3, top - 0.55, boxstyle="round,pad=0.05", fill=False,
                                edgecolor="#999999", lw=1.0, linestyle=":", zorder=1, gid="block"))
    ax.text(7.0, top + 0.6, "memory block", ha="right", va="bottom", fontsize=8, color="#666666")
    ax.set_xlim(-0.1, 8.4)
    ax.set_ylim(-0.8, top + 1.3)
    return fig


def draw_modern_cell(peepholes=False):
    """The LSTM cell as used today (gate order i, f, g, o): the cell state c runs along the top,
    forgotten through f and written through i * g; the output h = o * tanh(c) is also the next
    step's recurrent input. With ``peepholes`` the state feeds the gates too (dotted)."""
    fig, ax = blank_figure(7.6, 4.4, "LSTM cell as used today" + (" (with peepholes)" if peepholes else ""))
    y_c, y_gate, y_in = 3.2, 1.3, 0.0
    _line(ax, (0.0, y_c), (1.9 - R_PRODUCT, y_c), colour="#c53030", lw=2.0)
    ax.text(0.0, y_c + 0.15, r"$c_{t-1}$", fontsize=10, va="bottom")
    _product(ax, (1.9, y_c), "product:f")
    _line(ax, (1.9 + R_PRODUCT, y_c), (3.7 - R_PRODUCT, y_c), colour="#c53030", lw=2.0)
    _circle(ax, (3.7, y_c), R_PRODUCT, FILL["product"], "$+$", "sum:c", fontsize=10)
    _line(ax, (3.7 + R_PRODUCT, y_c), (7.2, y_c), colour="#c53030", lw=2.0)
    ax.text(7.25, y_c, r"$c_t$", fontsize=10, va="center", gid="state:c")
    gate_x = {"f": 1.9, "i": 3.1, "g": 4.3, "o": 5.6}
    labels = {"f": r"$\sigma$", "i": r"$\sigma$", "g": r"$\tanh$", "o": r"$\sigma$"}
    colours = {"f": GATE_COLOURS["phi"], "i": GATE_COLOURS["in"], "g": "black", "o": GATE_COLOURS["out"]}
    # The concatenated [x_t, h_{t-1}] enters from below and feeds all four units.
    ax.plot([0.6, 5.6], [y_in + 0.45, y_in + 0.45], color="black", lw=1.2, zorder=2)
    ax.text(0.0, y_in + 0.45, r"$x_t$", fontsize=10, va="center")
    ax.text(0.0, y_in - 0.1, r"$h_{t-1}$", fontsize=10, va="center")
    _line(ax, (0.35, y_in - 0.1), (0.6, y_in + 0.45), head=False)
    for name, x in gate_x.items():
        _line(ax, (x, y_in + 0.45), (x, y_gate - R_UNIT))
        _circle(ax, (x, y_gate), R_UNIT, FILL["gate"] if name != "g" else FILL["squash"], labels[name],
                f"gate:{name}", edge=colours[name], fontsize=9 if name != "g" else 7)
        ax.text(x + 0.36, y_gate - 0.32, f"${name}$", fontsize=9, color=colours[name])
    _line(ax, (1.9, y_gate + R_UNIT), (1.9, y_c - R_PRODUCT), colour=colours["f"])
    _product(ax, (3.7, 2.25), "product:i")
    _line(ax, (3.1, y_gate + R_UNIT), _to_circle((3.1, y_gate + R_UNIT), (3.7, 2.25), R_PRODUCT),
          colour=colours["i"])
    _line(ax, (4.3, y_gate + R_UNIT), _to_circle((4.3, y_gate + R_UNIT), (3.7, 2.25), R_PRODUCT))
    _line(ax, (3.7, 2.25 + R_PRODUCT), (3.7, y_c - R_PRODUCT))
    # Output path: tanh of the new state, times the output gate, gives h_t.
    _circle(ax, (6.5, 2.25), R_UNIT, FILL["squash"], r"$\tanh$", "squash:h", fontsize=7)
    _line(ax, (6.5, y_c), (6.5, 2.25 + R_UNIT))
    _product(ax, (6.5, 1.3), "product:o")
    _line(ax, (6.5, 2.25 - R_UNIT), (6.5, 1.3 + R_PRODUCT))
    _line(ax, (5.6 + R_UNIT, y_gate), (6.5 - R_PRODUCT, 1.3), colour=colours["o"])
    _line(ax, (6.5 + R_PRODUCT, 1.3), (7.2, 1.3))
    ax.text(7.25, 1.3, r"$h_t$", fontsize=10, va="center", gid="output:h")
    if peepholes:
        # i and f read the old state c_{t-1}, o reads the new one c_t.
        for name, x, start in (("f", 1.9, 1.0), ("i", 3.1, 1.4)):
            _line(ax, (start, y_c), (x - 0.2, y_gate + R_UNIT - 0.05), colour=colours[name], style=":",
                  lw=1.2)
        _line(ax, (5.3, y_c), (5.6, y_gate + R_UNIT), colour=colours["o"], style=":", lw=1.2)
        ax.text(5.0, 2.3, "peepholes", fontsize=8, color="#555555", ha="right", gid="peepholes")
    ax.set_xlim(-0.1, 7.8)
    ax.set_ylim(-0.5, 3.8)
    return fig


def _box(ax, xy, text, gid, fill, width=1.9, height=0.62):
    ax.add_patch(FancyBboxPatch((xy[0] - width / 2, xy[1] - height / 2), width, height,
                                boxstyle="round,pad=0.04", facecolor=fill, edgecolor="black", lw=1.2,
                                zorder=3, gid=gid))
    ax.text(*xy, text, ha="center", va="center", fontsize=9, zorder=4)


def draw_truncation():
    """Which paths the 1997 hybrid sends error back along (Sec. 9, Eqs. 39-46): two steps of a memory
    cell, every arrow a signal path; solid blue ones carry error back, dashed red ones are cut."""
    fig, ax = blank_figure(7.0, 5.6, "What the truncated hybrid keeps and cuts")
    kept, cut = "#2b6cb0", "#c53030"
    rows = {"net": 0.0, "s": 1.6, "y_c": 3.0, "y_o": 4.3}
    for x, label in ((1.6, r"\tau - 1"), (5.6, r"\tau")):
        _box(ax, (x, rows["net"]), f"$z_c, z_{{\\mathrm{{in}}}}, z_\\varphi, z_{{\\mathrm{{out}}}}({label})$",
             "node:net", FILL["gate"], width=2.6)
        _box(ax, (x, rows["s"]), f"$s_c({label})$", "node:s", FILL["cec"])
        _box(ax, (x, rows["y_c"]), f"$y_c({label})$", "node:y_c", FILL["squash"])
        _box(ax, (x, rows["y_o"]), f"$y_o({label})$", "node:y_o", "#fce5cd")
        style = dict(colour=kept, lw=1.6)
        _line(ax, (x - 0.3, rows["net"] + 0.35), (x - 0.3, rows["s"] - 0.35), **style)
        ax.text(x - 0.38, 0.8, r"$\mathbf{g}$, $y_{\mathrm{in}}$", ha="right", fontsize=8, color=kept)
        _line(ax, (x + 0.6, rows["net"] + 0.35), (x + 0.6, rows["y_c"] - 0.35), rad=-0.15, **style)
        ax.text(x + 0.95, 1.1, r"$y_{\mathrm{out}}$", ha="left", fontsize=8, color=kept)
        _line(ax, (x - 0.3, rows["s"] + 0.35), (x - 0.3, rows["y_c"] - 0.35), **style)
        ax.text(x - 0.38, 2.3, r"$\mathbf{h}$", ha="right", fontsize=8, color=kept)
        _line(ax, (x, rows["y_c"] + 0.35), (x, rows["y_o"] - 0.35), **style)
    # Across the step boundary: the carousel is kept, every path into a net input is cut.
    ax.add_patch(FancyArrowPatch((2.6, rows["s"]), (4.6, rows["s"]), arrowstyle="-|>", mutation_scale=13,
                                 color=kept, lw=2.6, zorder=2, gid="path:kept"))
    ax.text(3.6, rows["s"] - 0.18, r"CEC: $\times\, y_\varphi(\tau)$", ha="center", va="top",
            fontsize=9, color=kept, zorder=5, bbox=dict(facecolor="white", edgecolor="none", pad=1.0))
    ax.add_patch(FancyArrowPatch((2.6, rows["y_c"] - 0.1), (4.3, rows["net"] + 0.3), arrowstyle="-|>",
                                 mutation_scale=12, color=cut, lw=1.6, linestyle="--", zorder=2,
                                 gid="path:cut"))
    ax.text(3.95, 2.1, "cut", ha="left", va="center", fontsize=9, color=cut, fontweight="bold")
    ax.text(3.6, -0.75, r"recurrent signals $y_v(\tau - 1)$ into the net inputs of step $\tau$: no error sent back",
            ha="center", va="top", fontsize=8, color=cut)
    handles = [plt.Line2D([], [], color=kept, lw=2, label="error flows back along this path"),
               plt.Line2D([], [], color=cut, lw=1.6, ls="--", label="truncated: no error flows back")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=2, fontsize=8,
              frameon=False)
    ax.set_xlim(0.0, 7.3)
    ax.set_ylim(-1.2, 4.8)
    return fig


ALL = {"memory_cell": draw_memory_cell, "memory_block": draw_memory_block, "modern_cell": draw_modern_cell,
       "truncation": draw_truncation}
