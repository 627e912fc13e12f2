"""The modern LSTM in matrix form, its Greff et al. (2017) variants, and ``LSTM`` mirroring torch.nn.LSTM.

One step, gate order i, f, g, o as in torch (``a`` the stacked net inputs, ``p_*`` peephole vectors):

    a   = W_ih x(t) + b_ih + W_hh h(t-1) + b_hh                      (4H rows: i, f, g, o)
    i   = sigma(a_i + p_i * c(t-1))         f = sigma(a_f + p_f * c(t-1))
    g   = tanh(a_g)                         c(t) = f * c(t-1) + i * g
    o   = sigma(a_o + p_o * c(t))           h(t) = o * tanh(c(t))

It is the forward pass of Eqs. 24-38 with forget gates, written for a layer of one-cell blocks, tanh
for the squashings g and h, and, with peepholes, the cell state fed to its own gates. A
:class:`Variant` switches parts off or changes them; :data:`VARIANTS` names the eight of Greff et al.
relative to their "vanilla" LSTM (peepholes on): NIG, NFG, NOG (no input / forget / output gate: the
gate is fixed at 1), NIAF, NOAF (no input / output activation: g or h is the identity), NP (no
peepholes: exactly torch.nn.LSTM), CIFG (i = 1 - f) and FGR (full gate recurrence: the previous
step's i, f, o feed every gate through an extra (3H, 3H) matrix ``w_gg``; they are zero before t = 1).
Rows of ``w_ih``, ``w_hh`` and the biases that a variant does not use receive zero gradient.
"""

from dataclasses import dataclass

import numpy as np

from lstmlab.numpy.activations import identity, identity_prime, sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.recurrent import RecurrentModel


@dataclass(frozen=True)
class Variant:
    """Which parts of the LSTM step are present."""

    input_gate: bool = True
    forget_gate: bool = True
    output_gate: bool = True
    input_activation: bool = True
    output_activation: bool = True
    peepholes: bool = True
    coupled: bool = False
    full_gate_recurrence: bool = False

    def __post_init__(self):
        if self.coupled and not (self.input_gate and self.forget_gate):
            raise ValueError("a coupled input-forget gate (CIFG) needs both gates present")


VARIANTS = {
    "vanilla": Variant(),
    "NIG": Variant(input_gate=False),
    "NFG": Variant(forget_gate=False),
    "NOG": Variant(output_gate=False),
    "NIAF": Variant(input_activation=False),
    "NOAF": Variant(output_activation=False),
    "NP": Variant(peepholes=False),
    "CIFG": Variant(coupled=True),
    "FGR": Variant(full_gate_recurrence=True),
}


def _variant(variant):
    if isinstance(variant, Variant):
        return variant
    if variant not in VARIANTS:
        raise ValueError(f"variant must be a Variant or one of {sorted(VARIANTS)}, got {variant!r}")
    return VARIANTS[variant]


def param_shapes(input_size, hidden_size, variant="vanilla", bias=True):
    """Name and shape of every parameter of one layer of the given variant."""
    v = _variant(variant)
    h = hidden_size
    shapes = {"w_ih": (4 * h, input_size), "w_hh": (4 * h, h)}
    if bias:
        shapes.update(b_ih=(4 * h,), b_hh=(4 * h,))
    if v.peepholes:
        shapes["w_peep"] = (3, h)      # p_i, p_f, p_o
    if v.full_gate_recurrence:
        shapes["w_gg"] = (3 * h, 3 * h)  # rows: net inputs of i, f, o; columns: i, f, o at t - 1
    return shapes


def init_params(input_size, hidden_size, rng, variant="vanilla", bias=True, scale=None):
    """Parameters uniform in [-scale, scale], by default torch's 1/sqrt(hidden_size)."""
    scale = 1.0 / np.sqrt(hidden_size) if scale is None else scale
    return {name: rng.uniform(-scale, scale, size=shape)
            for name, shape in param_shapes(input_size, hidden_size, variant, bias).items()}


def _check(x, state0, params, variant):
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be an array (T, B, D), got {got}")
    steps, batch, width = x.shape
    if "w_hh" not in params:
        raise ValueError(f"params need 'w_hh', got {sorted(params)}")
    hidden = params["w_hh"].shape[1]
    expected = param_shapes(width, hidden, variant, bias="b_ih" in params)
    if set(params) != set(expected):
        raise ValueError(f"expected parameters {sorted(expected)}, got {sorted(params)}")
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {params[name].shape}")
    if not isinstance(state0, (tuple, list)) or len(state0) != 2:
        raise ValueError("state0 must be a tuple (h0, c0)")
    for what, s in zip(("h0", "c0"), state0):
        if s.shape != (batch, hidden):
            raise ValueError(f"{what} must have shape {(batch, hidden)}, got {s.shape}")


def forward(x, state0, params, variant="vanilla"):
    """The LSTM step above over a (T, B, D) sequence; returns ``(h (T, B, H), (h_T, c_T), cache)``."""
    v = _variant(variant)
    _check(x, state0, params, v)
    h0, c0 = state0
    steps, batch = x.shape[:2]
    hid = h0.shape[1]
    w_hh = params["w_hh"]
    # The input part of every step's net input has no recurrence: one product for the whole sequence.
    a_x = x @ params["w_ih"].T
    if "b_ih" in params:
        a_x = a_x + params["b_ih"] + params["b_hh"]
    peep = params.get("w_peep")
    g_fn = tanh if v.input_activation else identity
    h_fn = tanh if v.output_activation else identity
    ones = np.ones((batch, hid), dtype=x.dtype)
    names = ("i", "f", "g", "o", "c", "hc", "h")
    rec = {k: np.empty((steps, batch, hid), dtype=x.dtype) for k in names}
    gates_prev = np.zeros((batch, 3 * hid), dtype=x.dtype)
    h, c = h0, c0
    for t in range(steps):
        a = a_x[t] + h @ w_hh.T
        if v.full_gate_recurrence:
            a_gates = gates_prev @ params["w_gg"].T
            a[:, :2 * hid] += a_gates[:, :2 * hid]
            a[:, 3 * hid:] += a_gates[:, 2 * hid:]
        a_i, a_f, a_g, a_o = (a[:, k * hid:(k + 1) * hid] for k in range(4))
        if v.peepholes:
            a_i = a_i + peep[0] * c
            a_f = a_f + peep[1] * c
        f = sigmoid(a_f) if v.forget_gate else ones
        i = (1.0 - f) if v.coupled else (sigmoid(a_i) if v.input_gate else ones)
        g = g_fn(a_g)
        c_new = f * c + i * g
        if v.peepholes:
            a_o = a_o + peep[2] * c_new
        o = sigmoid(a_o) if v.output_gate else ones
        hc = h_fn(c_new)
        h, c = o * hc, c_new
        for k, value in zip(names, (i, f, g, o, c, hc, h)):
            rec[k][t] = value
        gates_prev = np.concatenate([i, f, o], axis=1)
    cache = (x, h0, c0, rec, params, v)
    return rec["h"], (h, c), cache


def backward(d_out, d_final_state, cache):
    """Full BPTT through :func:`forward`; returns ``(dx, (dh0, dc0), grads)``, grads keyed like params."""
    x, h0, c0, rec, params, v = cache
    if d_out.shape != rec["h"].shape:
        raise ValueError(f"d_out must have shape {rec['h'].shape}, got {d_out.shape}")
    steps, batch, hid = rec["h"].shape
    w_hh = params["w_hh"]
    peep = params.get("w_peep")
    g_prime = tanh_prime if v.input_activation else identity_prime
    h_prime = tanh_prime if v.output_activation else identity_prime
    dh, dc = d_final_state
    dh, dc = dh.copy(), dc.copy()
    da = np.empty((steps, batch, 4 * hid), dtype=x.dtype)
    d_gates_next = np.zeros((batch, 3 * hid), dtype=x.dtype)  # dE/d(i, f, o)(t) through FGR at t + 1
    grads = {}
    if v.peepholes:
        grads["w_peep"] = np.zeros_like(peep)
    if v.full_gate_recurrence:
        grads["w_gg"] = np.zeros_like(params["w_gg"])
    h_prev_all = np.concatenate([h0[None], rec["h"][:-1]], axis=0)
    c_prev_all = np.concatenate([c0[None], rec["c"][:-1]], axis=0)
    for t in reversed(range(steps)):
        i, f, g, o, c, hc = (rec[k][t] for k in ("i", "f", "g", "o", "c", "hc"))
        c_prev = c_prev_all[t]
        dh = dh + d_out[t]
        do = dh * hc + d_gates_next[:, 2 * hid:]
        da_o = do * sigmoid_prime(o) if v.output_gate else np.zeros_like(o)
        dc = dc + dh * o * h_prime(hc)
        if v.peepholes:
            dc += da_o * peep[2]
        di = dc * g + d_gates_next[:, :hid]
        df = dc * c_prev + d_gates_next[:, hid:2 * hid]
        if v.coupled:
            df = df - di
        da_i = di * sigmoid_prime(i) if (v.input_gate and not v.coupled) else np.zeros_like(i)
        da_f = df * sigmoid_prime(f) if v.forget_gate else np.zeros_like(f)
        da_g = dc * i * g_prime(g)
        dc = dc * f
        if v.peepholes:
            dc += da_i * peep[0] + da_f * peep[1]
            grads["w_peep"] += np.stack([np.sum(da_i * c_prev, axis=0), np.sum(da_f * c_prev, axis=0),
                                         np.sum(da_o * c, axis=0)])
        da[t] = np.concatenate([da_i, da_f, da_g, da_o], axis=1)
        dh = da[t] @ w_hh
        if v.full_gate_recurrence:
            da_gates = np.concatenate([da_i, da_f, da_o], axis=1)
            if t > 0:
                gates_prev = np.concatenate([rec["i"][t - 1], rec["f"][t - 1], rec["o"][t - 1]], axis=1)
                grads["w_gg"] += da_gates.T @ gates_prev
            d_gates_next = da_gates @ params["w_gg"]
    flat = da.reshape(-1, 4 * hid)
    grads["w_ih"] = flat.T @ x.reshape(-1, x.shape[2])
    grads["w_hh"] = flat.T @ h_prev_all.reshape(-1, hid)
    if "b_ih" in params:
        grads["b_ih"] = flat.sum(axis=0)
        grads["b_hh"] = grads["b_ih"].copy()
    dx = da @ params["w_ih"]
    return dx, (dh, dc), grads



def _single_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """The per-step record of :func:`forward` (NP variant) for one step from (h_prev, c_prev)."""
    params = {"w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}
    _, _, (_, _, _, rec, _, _) = forward(x_t[None], (h_prev, c_prev), params, "NP")
    return {k: v[0] for k, v in rec.items()}


def step_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    """The four gate activations (i, f, g, o) of one torch.nn.LSTM step, each (B, H)."""
    rec = _single_step(x_t, h_prev, np.zeros_like(h_prev), w_ih, w_hh, b_ih, b_hh)
    return rec["i"], rec["f"], rec["g"], rec["o"]


def step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """One torch.nn.LSTM step, c = f * c_prev + i * g and h = o * tanh(c); returns (h, c)."""
    rec = _single_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    return rec["h"], rec["c"]



def layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """:func:`step` over a (T, B, D) sequence, as torch.nn.LSTM returns it: ``(h (T, B, H), (h_T, c_T))``."""
    hs, final, _ = sequence_forward(x, (h0, c0), w_ih, w_hh, b_ih, b_hh)
    return hs, final

def step_backward(dh, dc, cache):
    """Full BPTT through one torch.nn.LSTM step; returns ``(dx, (dh_prev, dc_prev), grads)``.

    dh, dc: ∂E/∂h(t) and ∂E/∂c(t) arriving from above and from step t + 1, each (B, H).
    cache: a dict of the step's ``x`` (B, D), ``h_prev``, ``c_prev``, gate activations ``i``, ``f``,
    ``g``, ``o``, new cell state ``c`` (each (B, H)) and weights ``w_ih``, ``w_hh``.
    grads holds ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` summed over the batch.
    """
    rec = {k: cache[k][None] for k in ("i", "f", "g", "o", "c")}
    rec["hc"] = tanh(rec["c"])
    rec["h"] = rec["o"] * rec["hc"]
    w_ih, w_hh = cache["w_ih"], cache["w_hh"]
    # The biases' values play no part in the backward pass; only their presence asks for their grads.
    no_bias = np.zeros(w_hh.shape[0], dtype=w_hh.dtype)
    params = {"w_ih": w_ih, "w_hh": w_hh, "b_ih": no_bias, "b_hh": no_bias}
    full_cache = (cache["x"][None], cache["h_prev"], cache["c_prev"], rec, params, VARIANTS["NP"])
    dx, (dh_prev, dc_prev), grads = backward(dh[None], (np.zeros_like(dh), dc), full_cache)
    return dx[0], (dh_prev, dc_prev), grads

def sequence_forward(x, state0, w_ih, w_hh, b_ih=None, b_hh=None):
    """torch.nn.LSTM's layer (the NP variant) in the :class:`RecurrentModel` contract."""
    params = {"w_ih": w_ih, "w_hh": w_hh}
    if b_ih is not None:
        params.update(b_ih=b_ih, b_hh=b_hh)
    return forward(x, state0, params, "NP")


def sequence_backward(d_out, d_final_state, cache):
    """Backward pass of :func:`sequence_forward` in the contract's order."""
    dx, d_state0, grads = backward(d_out, d_final_state, cache)
    return dx, d_state0, grads["w_ih"], grads["w_hh"], grads.get("b_ih"), grads.get("b_hh")


class LSTM(RecurrentModel):
    """LSTM with torch.nn.LSTM's constructor, parameters, shapes and results (``(output, (h_n, c_n))``)."""

    num_gates = 4
    num_states = 2
    torch_name = "LSTM"
    sequence_forward = staticmethod(sequence_forward)
    sequence_backward = staticmethod(sequence_backward)
