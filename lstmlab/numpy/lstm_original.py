"""The LSTM of 1997 (memory blocks, CEC) with optional forget gates (Sec. 8-9, Eqs. 24-46).

Network (the topology of the 1997 experiments): input units, memory blocks of C cells that share one
input gate, one output gate and optionally one forget gate, optional conventional hidden units,
and sigmoid output units. Every gate, cell and hidden unit at step tau sees a bias, the inputs of
step tau and the cell outputs and hidden activations of step tau - 1 (with ``gate_feedback`` also
the gate activations of step tau - 1: the fully connected hidden layer of the 1997 experiments);
the output units see a bias, the cell outputs and hidden activations of step tau, and optionally
the inputs. With ``unit_biases=False`` only the gates are biased (the Reber networks of 1997), with
``gate_biases=False`` the gates are not either, and with ``recurrent=False`` gates, cells and hidden
units see the inputs only (the 10,504 weights of Experiment 2a). With ``current_gates`` (and gate
feedback) the units of a step are computed in the order the paper's Sec. 5 lists them, input gates,
output gates, memory cells, and each reads the activations of those before it from this step: the
output gates read this step's input gates, cells (and hidden units) this step's input and output
gates; every other recurrent sender is still the previous step's. The squashing ranges of g and h are
settings, because the 1997 paper gives two readings of them (text: g in [-2, 2], h in [-1, 1];
legend of its Table 10: the other way round).

Weights follow the equations' ``W[u, v]``: row ``u`` is the receiving unit, column ``v`` the sender.
Every weight matrix has a leading trial axis ``N``: the batch is a set of independent networks (one
per trial of an experiment), each reading its own sequence, so many online learners run at once.
The columns of a gate, cell or hidden unit's weight matrix are ordered ``[bias, inputs, cell outputs,
hidden units, (input gates, output gates, forget gates)]`` (``D = 1 + I + B*C + H (+ B per gate
kind)`` of them); those of an output unit ``[bias, cell outputs, hidden units, (inputs)]``.

Three gradients of the same squared error (Eq. 39, summed over the steps where the mask is set):

* :func:`hybrid_step` / :func:`truncated_gradient`: the 1997 hybrid of Eqs. 39-46, BPTT for output
  units, hidden units and output gates within one step, RTRL partials ds/dW carried forward for
  cells, input gates and forget gates. Errors that reach a net input are not sent back in time
  (neither to the previous cell outputs nor, with ``gate_feedback``, to the previous gates);
  only the cell state's self-connection carries error across steps. O(W) work per step, online.
* :func:`full_gradient`: exact BPTT through every path.
* :func:`truncation_difference`: where and how much the two differ.
"""

from dataclasses import dataclass

import numpy as np

from lstmlab.numpy.activations import (identity, identity_prime, scaled_sigmoid, scaled_sigmoid_prime,
                                       sigmoid, sigmoid_prime)
from lstmlab.numpy.init import uniform_params


@dataclass(frozen=True)
class Topology:
    """Sizes and options of a 1997-style LSTM network."""

    n_in: int
    n_blocks: int
    cells_per_block: int
    n_out: int
    n_hidden: int = 0
    forget_gate: bool = False
    output_gate: bool = True
    #: "h" for the squashing of Eq. 33, "identity" for the linear cell output of Experiment 2a
    cell_output: str = "h"
    input_to_output: bool = False
    #: gates, cells and hidden units also receive the previous step's gate activations
    gate_feedback: bool = False
    #: with gate_feedback: output gates read this step's input gates, cells and hidden units this
    #: step's input and output gates (computed in that order) instead of the previous step's
    current_gates: bool = False
    #: False: only the gates have a bias. Cells, hidden units and output units keep their bias
    #: column (one layout for every unit) but receive 0 from the bias unit instead of 1, so that
    #: weight has no effect and a zero gradient; it is set to 0 and not counted as a weight.
    unit_biases: bool = True
    #: False: the gates have no bias either (the same zero-fed bias column as above)
    gate_biases: bool = True
    #: False: gates, cells and hidden units see no recurrent units (zero-fed columns, not counted)
    recurrent: bool = True
    #: ranges of the cell input squashing g (Eq. 29) and the cell output squashing h (Eq. 32)
    g_range: tuple = (-2.0, 2.0)
    h_range: tuple = (-1.0, 1.0)

    def __post_init__(self):
        for name in ("n_in", "n_blocks", "cells_per_block", "n_out"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.n_hidden, (int, np.integer)) or self.n_hidden < 0:
            raise ValueError(f"n_hidden must be a non-negative integer, got {self.n_hidden!r}")
        if self.current_gates and not (self.gate_feedback and self.recurrent):
            raise ValueError("current_gates needs gate_feedback=True and recurrent=True: it changes "
                             "which step's gate activations the fed-back gate columns hold")
        if self.current_gates and self.forget_gate:
            raise ValueError("current_gates follows the 1997 order (input gates, output gates, "
                             "cells), which has no forget gate")
        if self.cell_output not in ("h", "identity"):
            raise ValueError(f"cell_output must be 'h' or 'identity', got {self.cell_output!r}")
        for name in ("g_range", "h_range"):
            value = getattr(self, name)
            if len(value) != 2 or not value[0] < value[1]:
                raise ValueError(f"{name} must be (low, high) with low < high, got {value!r}")

    @property
    def n_cells(self):
        """Number of memory cells, B * C."""
        return self.n_blocks * self.cells_per_block

    @property
    def n_visible(self):
        """Number of units the output units see: cells and hidden units."""
        return self.n_cells + self.n_hidden

    @property
    def n_gates(self):
        """Number of gate units: one input gate per block, plus output and forget gates if any."""
        return self.n_blocks * (1 + int(self.output_gate) + int(self.forget_gate))

    @property
    def n_recurrent(self):
        """Number of units whose previous activations feed the gates and cells: cells, hidden
        units and, with ``gate_feedback``, the gates."""
        return self.n_visible + (self.n_gates if self.gate_feedback else 0)

    @property
    def fan_in(self):
        """Columns of a gate, cell or hidden unit weight matrix: bias, inputs, recurrent units."""
        return 1 + self.n_in + self.n_recurrent

    @property
    def out_fan_in(self):
        """Columns of the output units' weight matrix: bias, cells, hidden units, (inputs).

        Implements: Eq. 35.
        """
        return 1 + self.n_visible + (self.n_in if self.input_to_output else 0)

    @property
    def n_weights(self):
        """Trainable weights of one network: every entry of every matrix, less the zero-fed columns
        (biases of cells, hidden and output units, of the gates, recurrent columns) switched off.

        Implements: Eqs. 48-49.
        """
        entries = sum(int(np.prod(shape[1:])) for shape in self.shapes(1).values())
        rows = self.n_visible + self.n_gates            # gates, cells, hidden units
        return (entries - (0 if self.unit_biases else self.n_visible + self.n_out)
                - (0 if self.gate_biases else self.n_gates)
                - (0 if self.recurrent else rows * self.n_recurrent))

    def shapes(self, n_trials):
        """Name and shape of every weight matrix, each with the leading trial axis."""
        n, d, b = n_trials, self.fan_in, self.n_blocks
        shapes = {"W_c": (n, self.n_cells, d), "W_in": (n, b, d)}
        if self.output_gate:
            shapes["W_out"] = (n, b, d)
        if self.forget_gate:
            shapes["W_phi"] = (n, b, d)
        if self.n_hidden:
            shapes["W_h"] = (n, self.n_hidden, d)
        shapes["W_o"] = (n, self.n_out, self.out_fan_in)
        return shapes


def init_params(topo, n_trials, rng, scale=0.1, in_bias=None, out_bias=None, phi_bias=None):
    """Weights uniform in [-scale, scale] (the 1997 setups), with optional per-block gate biases.

    in_bias, out_bias, phi_bias: ``None`` (drawn like every other weight) or one value per block,
    e.g. output-gate biases -1, -2, -3 in the embedded Reber experiment.
    """
    params = uniform_params(topo.shapes(n_trials), scale, rng)
    for name in params:   # zero the weights of the columns fed 0 (see Topology)
        gate = name in ("W_in", "W_out", "W_phi")
        if not (topo.gate_biases if gate else topo.unit_biases):
            params[name][:, :, 0] = 0.0
        if not topo.recurrent and name != "W_o":
            params[name][:, :, 1 + topo.n_in:] = 0.0
    for name, bias in (("W_in", in_bias), ("W_out", out_bias), ("W_phi", phi_bias)):
        if bias is None:
            continue
        if name not in params:
            raise ValueError(f"a bias for {name} was given but the topology has no such gate")
        bias = np.asarray(bias, dtype=np.float64)
        if bias.shape != (topo.n_blocks,):
            raise ValueError(f"{name} biases must have shape ({topo.n_blocks},), got {bias.shape}")
        params[name][:, :, 0] = bias
    return params


def _check_params(topo, params, n_trials):
    shapes = topo.shapes(n_trials)
    if set(params) != set(shapes):
        raise ValueError(f"expected parameters {sorted(shapes)}, got {sorted(params)}")
    for name, shape in shapes.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {params[name].shape}")


def _check_data(topo, params, x, d=None, mask=None):
    """Validate x (T, N, I), d (T, N, O), mask (T, N) and the parameters against the topology."""
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != topo.n_in:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be an array (T, N, {topo.n_in}), got {got}")
    steps, n = x.shape[:2]
    _check_params(topo, params, n)
    if d is not None and (not isinstance(d, np.ndarray) or d.shape != (steps, n, topo.n_out)):
        got = d.shape if isinstance(d, np.ndarray) else type(d).__name__
        raise ValueError(f"targets d must have shape {(steps, n, topo.n_out)}, got {got}")
    if mask is not None and (not isinstance(mask, np.ndarray) or mask.shape != (steps, n)):
        got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"mask must have shape {(steps, n)}, got {got}")


def _cell_output_fns(topo):
    if topo.cell_output == "identity":
        return identity, identity_prime
    return (lambda z: scaled_sigmoid(z, *topo.h_range)), (lambda y: scaled_sigmoid_prime(y, *topo.h_range))


def _net(w, inputs):
    """Net inputs z_u = sum_v W[u, v] X[v, u] of Eqs. 25, 27, 29, 37, for every trial."""
    return np.einsum("nuv,nv->nu", w, inputs)


def _gate_names(topo):
    """The gates of a block that exist in this topology, in the order of their sender columns."""
    return ("in",) + (("out",) if topo.output_gate else ()) + (("phi",) if topo.forget_gate else ())


def _gate_columns(topo, kind):
    """The columns of a gate, cell or hidden unit's weight matrix fed by the gates of one kind."""
    start = 1 + topo.n_in + topo.n_visible + _gate_names(topo).index(kind) * topo.n_blocks
    return slice(start, start + topo.n_blocks)


def _with_current_gates(topo, x, in_=None, out=None):
    """x with the fed-back columns of the given gates holding this step's activations (only with
    ``current_gates``; otherwise x itself)."""
    if not topo.current_gates:
        return x
    x = x.copy()
    for kind, value in (("in", in_), ("out", out)):
        if value is not None:
            x[:, _gate_columns(topo, kind)] = value
    return x


def step_forward(topo, params, x_t, s_prev, r_prev):
    """One step of Eqs. 24-38: gates, cell states, cell outputs, hidden and output units.

    x_t: (N, I) inputs of this step; s_prev: (N, B*C) cell states and r_prev: (N, n_recurrent) cell
    outputs, hidden activations (and gate activations) of the previous step. Returns a dict of this
    step's activations.

    Implements: Eqs. 24-38.
    """
    n = x_t.shape[0]
    c = topo.cells_per_block
    ones = np.ones((n, 1))
    # X[v, u](tau) for gates, cells and hidden units: bias, y_i(tau), y_v(tau - 1) (with current_gates
    # y_v(tau) for the gates computed before the unit); a unit that is not connected to the bias
    # unit or the recurrent units reads 0 from them.
    seen = r_prev if topo.recurrent else np.zeros_like(r_prev)
    gate_bias = ones if topo.gate_biases else np.zeros((n, 1))
    x_units = np.concatenate([gate_bias, x_t, seen], axis=1)
    unit_bias = ones if topo.unit_biases else np.zeros((n, 1))
    x_cells = np.concatenate([unit_bias, x_t, seen], axis=1)
    y_in = sigmoid(_net(params["W_in"], x_units))
    x_og = _with_current_gates(topo, x_units, in_=y_in)    # what the output gates read
    y_out = (sigmoid(_net(params["W_out"], x_og)) if topo.output_gate
             else np.ones((n, topo.n_blocks)))
    y_phi = (sigmoid(_net(params["W_phi"], x_units)) if topo.forget_gate
             else np.ones((n, topo.n_blocks)))
    x_cells = _with_current_gates(topo, x_cells, in_=y_in, out=y_out if topo.output_gate else None)
    g = scaled_sigmoid(_net(params["W_c"], x_cells), *topo.g_range)
    s = np.repeat(y_phi, c, axis=1) * s_prev + np.repeat(y_in, c, axis=1) * g
    h_fn = _cell_output_fns(topo)[0]
    h_s = h_fn(s)
    y_c = np.repeat(y_out, c, axis=1) * h_s
    y_h = sigmoid(_net(params["W_h"], x_cells)) if topo.n_hidden else np.zeros((n, 0))
    parts = [unit_bias, y_c, y_h] + ([x_t] if topo.input_to_output else [])
    x_o = np.concatenate(parts, axis=1)
    y_o = sigmoid(_net(params["W_o"], x_o))
    gates = {"in": y_in, "out": y_out, "phi": y_phi}
    fed_back = [gates[k] for k in _gate_names(topo)] if topo.gate_feedback else []
    r = np.concatenate([y_c, y_h] + fed_back, axis=1)
    return {"x_units": x_units, "x_out_gate": x_og, "x_cells": x_cells, "y_in": y_in, "y_out": y_out,
            "y_phi": y_phi, "g": g, "s_prev": s_prev, "s": s, "h_s": h_s, "y_c": y_c, "y_h": y_h,
            "r": r, "x_out": x_o, "y_o": y_o}


def forward(topo, params, x):
    """Forward pass over a whole sequence (Eqs. 24-38), activations reset to zero at the start.

    x: (T, N, I). Returns the outputs y_o (T, N, O) and the list of per-step activation dicts.
    """
    _check_data(topo, params, x)
    steps, n = x.shape[:2]
    s = np.zeros((n, topo.n_cells))
    r = np.zeros((n, topo.n_recurrent))
    cache = []
    for t in range(steps):
        act = step_forward(topo, params, x[t], s, r)
        cache.append(act)
        s, r = act["s"], act["r"]
    return np.stack([a["y_o"] for a in cache]), cache


def loss(topo, params, x, d, mask):
    """Squared error of Eq. 39 summed over the time steps (and trials) where the mask is set.

    Implements: Eq. 39.
    """
    _check_data(topo, params, x, d, mask)
    y_o, _ = forward(topo, params, x)
    return 0.5 * float(np.sum(mask[:, :, None] * (d - y_o) ** 2))


def _output_errors(act, d_t, m_t):
    """theta_o = f_o'(z_o) (d_o - y_o) at the steps with a target, zero elsewhere (Eq. 40).

    Implements: Eq. 40.
    """
    return m_t[:, None] * sigmoid_prime(act["y_o"]) * (d_t - act["y_o"])


def _block_sum(a, cells_per_block):
    """Sum over the C cells of each block: (N, B*C, ...) -> (N, B, ...)."""
    n, bc = a.shape[:2]
    return a.reshape(n, bc // cells_per_block, cells_per_block, *a.shape[2:]).sum(axis=2)


def _check_step(topo, params, x_t, d_t, m_t):
    """Validate one step's x_t (N, I), d_t (N, O), m_t (N,) and the parameters."""
    if not isinstance(x_t, np.ndarray) or x_t.ndim != 2 or x_t.shape[1] != topo.n_in:
        got = x_t.shape if isinstance(x_t, np.ndarray) else type(x_t).__name__
        raise ValueError(f"x_t must be an array (N, {topo.n_in}), got {got}")
    n = x_t.shape[0]
    _check_params(topo, params, n)
    if not isinstance(d_t, np.ndarray) or d_t.shape != (n, topo.n_out):
        got = d_t.shape if isinstance(d_t, np.ndarray) else type(d_t).__name__
        raise ValueError(f"d_t must have shape {(n, topo.n_out)}, got {got}")
    if not isinstance(m_t, np.ndarray) or m_t.shape != (n,):
        got = m_t.shape if isinstance(m_t, np.ndarray) else type(m_t).__name__
        raise ValueError(f"m_t must have shape {(n,)}, got {got}")


def init_hybrid_state(topo, n_trials):
    """Zero activations and zero RTRL partials ds/dW, the state at the start of a sequence.

    Implements: Eq. 47.
    """
    n, bc, d = n_trials, topo.n_cells, topo.fan_in
    state = {"s": np.zeros((n, bc)), "r": np.zeros((n, topo.n_recurrent)),
             "p_c": np.zeros((n, bc, d)), "p_in": np.zeros((n, bc, d))}
    if topo.forget_gate:
        state["p_phi"] = np.zeros((n, bc, d))
    return state



# RTRL partials ds_c(tau)/dW of Eqs. 44-46, one row per cell: p (N, B*C, D), the gate activations
# y_phi, y_in of each cell's block repeated per cell (N, B*C), x_units (N, D). The old partial decays
# through the forget gate (y_phi = 1 without one); the new term multiplies the step's input signals
# X[v, u](tau), which hold y_i(tau) for input units (Eqs. 44-46 print y_v(tau - 1) for every sender).

def cell_partials(p_c, y_phi, y_in, g, x_units, g_range=(-2.0, 2.0)):
    """Eq. 44: ds_c/dW[c, v] (tau) = ds_c/dW[c, v] (tau - 1) y_phi + g'(z_c) y_in X_v, all at tau.

    Implements: Eq. 44.
    """
    g_prime = scaled_sigmoid_prime(g, *g_range)
    return y_phi[:, :, None] * p_c + (y_in * g_prime)[:, :, None] * x_units[:, None, :]


def input_gate_partials(p_in, y_phi, y_in, g, x_units):
    """Eq. 45: ds_c/dW[in, v] (tau) = ds_c/dW[in, v] (tau - 1) y_phi + g(z_c) f'_in(z_in) X_v, all at tau.

    Implements: Eq. 45.
    """
    return y_phi[:, :, None] * p_in + (g * sigmoid_prime(y_in))[:, :, None] * x_units[:, None, :]


def forget_gate_partials(p_phi, y_phi, s_prev, x_units):
    """Eq. 46: ds_c/dW[phi, v] (tau) = ds_c/dW[phi, v] (tau - 1) y_phi + s_c(tau - 1) f'_phi(z_phi) X_v.

    Implements: Eq. 46.
    """
    return y_phi[:, :, None] * p_phi + (s_prev * sigmoid_prime(y_phi))[:, :, None] * x_units[:, None, :]


def partial_weight_gradients(eps_s, p_c, p_in, p_phi, cells_per_block):
    """Eqs. 42-43 as gradients of E(tau): -eps_s ds/dW, summed over a block's cells for its gates.

    eps_s: (N, B*C) the local cell errors -dE(tau)/ds_c(tau) of this step only (see the erratum
    note in :func:`hybrid_step`); p_c, p_in, p_phi: the partials of this step (p_phi ``None``
    without forget gates). Returns ``{"W_c": (N, B*C, D), "W_in": (N, B, D)[, "W_phi": (N, B, D)]}``.

    Implements: Eqs. 42-43.
    """
    weighted = eps_s[:, :, None]
    grads = {"W_c": -weighted * p_c, "W_in": -_block_sum(weighted * p_in, cells_per_block)}
    if p_phi is not None:
        grads["W_phi"] = -_block_sum(weighted * p_phi, cells_per_block)
    return grads


def hybrid_step(topo, params, state, x_t, d_t, m_t):
    """One online step of the truncated hybrid learning rule (Eqs. 39-46).

    state: from :func:`init_hybrid_state` or the previous call (it is not modified);
    x_t (N, I), d_t (N, O), m_t (N,) the inputs, targets and target mask of this step.
    Returns ``(y_o, grads, new_state)`` where ``grads`` holds dE(tau)/dW for every weight matrix
    (so the 1997 update is ``W -= eta * grads[name]``, i.e. Delta W = eta theta X).

    Implements: Eq. 41.
    """
    _check_step(topo, params, x_t, d_t, m_t)
    c = topo.cells_per_block
    _, h_prime = _cell_output_fns(topo)
    act = step_forward(topo, params, x_t, state["s"], state["r"])
    x_units = act["x_units"]
    y_phi_c = np.repeat(act["y_phi"], c, axis=1)
    y_in_c = np.repeat(act["y_in"], c, axis=1)

    new = {"s": act["s"], "r": act["r"]}
    new["p_c"] = cell_partials(state["p_c"], y_phi_c, y_in_c, act["g"], act["x_cells"], topo.g_range)
    new["p_in"] = input_gate_partials(state["p_in"], y_phi_c, y_in_c, act["g"], x_units)
    if topo.forget_gate:
        new["p_phi"] = forget_gate_partials(state["p_phi"], y_phi_c, act["s_prev"], x_units)

    theta_o = _output_errors(act, d_t, m_t)
    w_o = params["W_o"]
    # Error arriving at the cell outputs and hidden units from this step's output units only.
    back = np.einsum("nov,no->nv", w_o[:, :, 1:1 + topo.n_visible], theta_o)
    e_c, e_h = back[:, :topo.n_cells], back[:, topo.n_cells:]
    grads = {"W_o": -theta_o[:, :, None] * act["x_out"][:, None, :]}
    if topo.n_hidden:
        theta_h = sigmoid_prime(act["y_h"]) * e_h
        grads["W_h"] = -theta_h[:, :, None] * act["x_cells"][:, None, :]
    if topo.output_gate:
        theta_out = sigmoid_prime(act["y_out"]) * _block_sum(act["h_s"] * e_c, topo.cells_per_block)
        grads["W_out"] = -theta_out[:, :, None] * act["x_out_gate"][:, None, :]
    # -dE(tau)/ds_c(tau) from this step's error only: the carry of Eq. 41 is already inside the
    # forward-carried partials, adding it here would count the future errors twice.
    eps_s = np.repeat(act["y_out"], c, axis=1) * h_prime(act["h_s"]) * e_c
    grads.update(partial_weight_gradients(eps_s, new["p_c"], new["p_in"], new.get("p_phi"), c))
    return act["y_o"], grads, new


def truncated_gradient(topo, params, x, d, mask):
    """Sum over a sequence of the hybrid per-step gradients of Eqs. 39-46, at fixed weights.

    x (T, N, I), d (T, N, O), mask (T, N). Returns ``(loss, grads)``, grads keyed like params.
    """
    _check_data(topo, params, x, d, mask)
    steps, n = x.shape[:2]
    state = init_hybrid_state(topo, n)
    total = {name: np.zeros_like(w) for name, w in params.items()}
    error = 0.0
    for t in range(steps):
        y_o, grads, state = hybrid_step(topo, params, state, x[t], d[t], mask[t])
        error += 0.5 * float(np.sum(mask[t][:, None] * (d[t] - y_o) ** 2))
        for name, g in grads.items():
            total[name] += g
    return error, total


def learn_online(topo, params, x, d, mask, lr):
    """One sequence of 1997-style online learning: W -= lr * dE(tau)/dW after every step (in place).

    lr: a number or one learning rate per trial (N,). The RTRL partials are carried across the
    weight changes, as in the original algorithm. Returns the outputs y_o (T, N, O) produced
    while learning, each computed before that step's update.
    """
    _check_data(topo, params, x, d, mask)
    steps, n = x.shape[:2]
    rate = np.broadcast_to(np.asarray(lr, dtype=np.float64), (n,))[:, None, None]
    state = init_hybrid_state(topo, n)
    outputs = np.empty((steps, n, topo.n_out))
    for t in range(steps):
        outputs[t], grads, state = hybrid_step(topo, params, state, x[t], d[t], mask[t])
        for name, g in grads.items():
            params[name] -= rate * g
    return outputs


def _to_this_step(topo, dx, dy_gate, kinds):
    """With current_gates, the error dE/dX that dx holds in the columns of these gates belongs to
    this step's gates (added to dy_gate), not to the previous step's senders (zeroed in dx)."""
    if topo.current_gates:
        for kind in (k for k in kinds if k in dy_gate):
            cols = _gate_columns(topo, kind)
            dy_gate[kind] = dy_gate[kind] + dx[:, cols]
            dx[:, cols] = 0.0
    return dx


def full_gradient(topo, params, x, d, mask):
    """Exact gradient of the summed squared error by backpropagation through time, no truncation.

    Returns ``(loss, grads)``, grads keyed like params.
    """
    _check_data(topo, params, x, d, mask)
    y_o, cache = forward(topo, params, x)
    error = 0.5 * float(np.sum(mask[:, :, None] * (d - y_o) ** 2))
    c, bc, n_in, nv = topo.cells_per_block, topo.n_cells, topo.n_in, topo.n_visible
    names = _gate_names(topo)
    _, h_prime = _cell_output_fns(topo)
    grads = {name: np.zeros_like(w) for name, w in params.items()}
    n = x.shape[1]
    ds_next = np.zeros((n, bc))        # dE/ds(tau + 1) * y_phi(tau + 1): the CEC carry
    dr_next = np.zeros((n, topo.n_recurrent))  # dE/dy_v(tau) through the net inputs of tau + 1

    def accumulate(name, dz, inputs):
        grads[name] += dz[:, :, None] * inputs[:, None, :]
        return np.einsum("nuv,nu->nv", params[name], dz)

    for t in reversed(range(x.shape[0])):
        act = cache[t]
        dz_o = -_output_errors(act, d[t], mask[t])
        dx_out = accumulate("W_o", dz_o, act["x_out"])
        dr = dx_out[:, 1:1 + nv] + dr_next[:, :nv]
        dy_c, dy_h = dr[:, :bc], dr[:, bc:]
        # dE/dy of this step's gates through the next step's net inputs (none without feedback)
        dy_gate = (dict(zip(names, np.split(dr_next[:, nv:], len(names), axis=1)))
                   if topo.gate_feedback else {})

        # backwards through the order of the forward step: cells and hidden units, output gates,
        # forget and input gates
        ds = ds_next + dy_c * np.repeat(act["y_out"], c, axis=1) * h_prime(act["h_s"])
        dz_c = scaled_sigmoid_prime(act["g"], *topo.g_range) * ds * np.repeat(act["y_in"], c, axis=1)
        dx_cells = accumulate("W_c", dz_c, act["x_cells"])
        if topo.n_hidden:
            dx_cells += accumulate("W_h", sigmoid_prime(act["y_h"]) * dy_h, act["x_cells"])
        dx_units = _to_this_step(topo, dx_cells, dy_gate, ("in", "out"))
        if topo.output_gate:
            dz_out = sigmoid_prime(act["y_out"]) * (
                _block_sum(dy_c * act["h_s"], topo.cells_per_block) + dy_gate.get("out", 0.0))
            dx_units += _to_this_step(topo, accumulate("W_out", dz_out, act["x_out_gate"]), dy_gate,
                                      ("in",))
        if topo.forget_gate:
            dz_phi = sigmoid_prime(act["y_phi"]) * (
                _block_sum(ds * act["s_prev"], topo.cells_per_block) + dy_gate.get("phi", 0.0))
            dx_units += accumulate("W_phi", dz_phi, act["x_units"])
        dz_in = sigmoid_prime(act["y_in"]) * (
            _block_sum(ds * act["g"], topo.cells_per_block) + dy_gate.get("in", 0.0))
        dx_units += accumulate("W_in", dz_in, act["x_units"])
        ds_next = ds * np.repeat(act["y_phi"], c, axis=1)
        # senders that a unit is not connected to (recurrent=False) pass no error back
        dr_next = dx_units[:, 1 + n_in:] * float(topo.recurrent)
    return error, grads


def truncation_difference(topo, params, x, d, mask):
    """How far the truncated gradient is from the exact one, per weight matrix and column group.

    Returns ``{name: {part: {"relative": (N,), "cosine": (N,)}}}`` where ``part`` is ``"all"``,
    ``"bias"``, ``"input"`` or ``"recurrent"`` (the columns fed by that kind of sender), the
    relative difference is |g_tr - g_full| / |g_full| and the cosine is between g_tr and g_full,
    both per trial (NaN where the exact gradient of that part is zero).
    """
    _, g_tr = truncated_gradient(topo, params, x, d, mask)
    _, g_full = full_gradient(topo, params, x, d, mask)
    rec = slice(1 + topo.n_in, None)
    out_rec = slice(1, 1 + topo.n_visible)
    report = {}
    for name in params:
        if name == "W_o":
            parts = {"all": slice(None), "bias": slice(0, 1), "recurrent": out_rec}
            if topo.input_to_output:
                parts["input"] = slice(1 + topo.n_visible, None)
        else:
            parts = {"all": slice(None), "bias": slice(0, 1), "input": slice(1, 1 + topo.n_in),
                     "recurrent": rec}
        report[name] = {}
        for part, cols in parts.items():
            a = g_tr[name][:, :, cols].reshape(x.shape[1], -1)
            b = g_full[name][:, :, cols].reshape(x.shape[1], -1)
            norm_a, norm_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
            safe_b = np.where(norm_b > 0, norm_b, 1.0)
            safe_ab = np.where(norm_a * norm_b > 0, norm_a * norm_b, 1.0)
            report[name][part] = {
                "relative": np.where(norm_b > 0, np.linalg.norm(a - b, axis=1) / safe_b, np.nan),
                "cosine": np.where(norm_a * norm_b > 0, np.sum(a * b, axis=1) / safe_ab, np.nan)}
    return report
