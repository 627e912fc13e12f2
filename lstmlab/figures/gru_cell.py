"""Drawing of the gated recurrent unit (tutorial Sec. 10.3, Eqs. 57-66) with matplotlib.

The cell is drawn with the primitives of :mod:`lstmlab.figures.lstm_cells` (squashing units and gates are
circles, products small circles with a cross) in the tutorial's notation: the previous activation
y(tau) runs along the top from left to right and leaves as y(tau + 1); the input y_i(tau + 1) runs
along the bottom. The reset gate is red, the update gate blue. Every labelled element carries a
matplotlib ``gid`` (``"gate:res"``, ``"product:res"``, ...) so that tests can find it.
"""

from matplotlib.patches import FancyBboxPatch

from lstmlab.figures.networks import blank_figure
from lstmlab.figures.lstm_cells import R_PRODUCT, R_UNIT, _circle, _line, _product, _to_circle

GATE_COLOURS = {"res": "#c53030", "upd": "#2b6cb0"}
FILL = {"gate": "#f5f5f5", "squash": "#e2ecf9", "weights": "#fff3c4"}
TOP, BOTTOM = 3.4, 0.0


def _weights_box(ax, xy, text, width=1.9, height=0.55):
    ax.add_patch(FancyBboxPatch((xy[0] - width / 2, xy[1] - height / 2), width, height,
                                boxstyle="round,pad=0.03", facecolor=FILL["weights"], edgecolor="black",
                                lw=1.2, zorder=3, gid="weights:hn"))
    ax.text(*xy, text, ha="center", va="center", fontsize=8.5, zorder=4)


def _gate(ax, xy, name, label):
    _circle(ax, xy, R_UNIT, FILL["gate"], r"$\sigma$", f"gate:{name}", edge=GATE_COLOURS[name])
    ax.text(xy[0] - R_UNIT - 0.05, xy[1] - R_UNIT, label, ha="right", va="top", fontsize=9,
            color=GATE_COLOURS[name])


def _feed(ax, xy, tap_x):
    """The two inputs of a gate or of the candidate: y_i(tau + 1) from below, y(tau) from the top line."""
    _line(ax, (xy[0], BOTTOM), _to_circle((xy[0], BOTTOM), xy, R_UNIT), colour="#4a5568")
    _line(ax, (tap_x, TOP), _to_circle((tap_x, TOP), xy, R_UNIT), colour="#4a5568")


def draw_gru_cell(reset_after=True):
    """One GRU layer's step, Eqs. (57)-(66): with ``reset_after`` the reset gate scales the recurrent
    sum W_hn y(tau) + b_hn (Eq. 65, torch.nn.GRU); without it, y(tau) before W_hn (Cho et al. 2014)."""
    title = ("GRU, reset after the recurrent product (Eq. 65, torch.nn.GRU)" if reset_after else
             "GRU, reset before the recurrent product (Cho et al. 2014)")
    fig, ax = blank_figure(9.6, 3.9, title)
    x_res, x_cand, x_n, x_upd, x_mix, x_sum = 1.6, 3.5, 5.3, 6.6, 7.7, 8.7
    # The two long lines: the previous activation on top, the external input at the bottom.
    _line(ax, (-0.2, TOP), (x_mix - R_PRODUCT, TOP))
    ax.text(-0.25, TOP, r"$y(\tau)$", ha="right", va="center", fontsize=11)
    _line(ax, (-0.2, BOTTOM), (x_upd, BOTTOM), head=False, colour="#4a5568")
    ax.text(-0.25, BOTTOM, r"$y_i(\tau+1)$", ha="right", va="center", fontsize=11)

    # The reset gate on the row of the product it drives.
    y_prod, y_box = (1.3, 2.45) if reset_after else (2.45, 1.3)
    _gate(ax, (x_res, y_prod), "res", r"reset $y_{\mathrm{res}}$ (r)")
    _feed(ax, (x_res, y_prod), 0.6)
    _product(ax, (x_cand, y_prod), "product:res")
    _line(ax, (x_res + R_UNIT, y_prod), (x_cand - R_PRODUCT, y_prod), colour=GATE_COLOURS["res"])
    if reset_after:
        _weights_box(ax, (x_cand, y_box), r"$W_{hn}\,y(\tau) + b_{hn}$")
        _line(ax, (x_cand, TOP), (x_cand, y_box + 0.3))
        _line(ax, (x_cand, y_box - 0.3), (x_cand, y_prod + R_PRODUCT))
        into_n = (x_cand + R_PRODUCT, y_prod)
    else:
        _weights_box(ax, (x_cand, y_box), r"$W_{hn}(r\odot y(\tau)) + b_{hn}$", width=2.2)
        _line(ax, (x_cand, TOP), (x_cand, y_prod + R_PRODUCT))
        _line(ax, (x_cand, y_prod - R_PRODUCT), (x_cand, y_box + 0.3))
        into_n = (x_cand + 1.1, y_box)

    # The candidate: tanh of the gated recurrent part plus W_in y_i + b_in.
    y_n = 1.3
    _circle(ax, (x_n, y_n), R_UNIT, FILL["squash"], r"$\tanh$", "squash:n", fontsize=9)
    ax.text(x_n + 0.05, y_n - R_UNIT - 0.12, r"candidate $\tilde y$ (n)", ha="left", va="top", fontsize=9)
    _line(ax, into_n, _to_circle(into_n, (x_n, y_n), R_UNIT))
    _line(ax, (x_n, BOTTOM), (x_n, y_n - R_UNIT), colour="#4a5568")
    ax.text(x_n - 0.08, 0.45, r"$W_{in}\,y_i + b_{in}$", ha="right", va="center", fontsize=8)

    # The update gate mixes old activation and candidate: y(tau + 1) = z y(tau) + (1 - z) n (Eq. 66).
    y_upd = 2.45
    _gate(ax, (x_upd, y_upd), "upd", r"update $y_{\mathrm{upd}}$ (z)")
    _feed(ax, (x_upd, y_upd), 6.0)
    _product(ax, (x_mix, TOP), "product:upd")
    _line(ax, _to_circle((x_mix, TOP), (x_upd, y_upd), R_UNIT),
          _to_circle((x_upd, y_upd), (x_mix, TOP), R_PRODUCT), colour=GATE_COLOURS["upd"])
    _circle(ax, (x_mix, y_upd - 0.55), 0.22, "white", r"$1-$", "one_minus", edge=GATE_COLOURS["upd"],
            fontsize=8)
    _line(ax, _to_circle((x_mix, y_upd - 0.55), (x_upd, y_upd), R_UNIT),
          _to_circle((x_upd, y_upd), (x_mix, y_upd - 0.55), 0.22), colour=GATE_COLOURS["upd"])
    _product(ax, (x_mix, y_n), "product:one_minus_upd")
    _line(ax, (x_mix, y_upd - 0.77), (x_mix, y_n + R_PRODUCT), colour=GATE_COLOURS["upd"])
    _line(ax, (x_n + R_UNIT, y_n), (x_mix - R_PRODUCT, y_n))
    _circle(ax, (x_sum, TOP), R_PRODUCT, "white", "$+$", "sum:y", fontsize=9)
    _line(ax, (x_mix + R_PRODUCT, TOP), (x_sum - R_PRODUCT, TOP))
    _line(ax, (x_mix + R_PRODUCT, y_n), _to_circle((x_mix + R_PRODUCT, y_n), (x_sum, TOP), R_PRODUCT))
    _line(ax, (x_sum + R_PRODUCT, TOP), (9.5, TOP))
    ax.text(9.55, TOP, r"$y(\tau+1)$", ha="left", va="center", fontsize=11)
    ax.set_xlim(-1.6, 10.8)
    ax.set_ylim(-0.3, 3.7)
    return fig
