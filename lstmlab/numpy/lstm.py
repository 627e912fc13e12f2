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

from lstmlab.numpy.activations import identity_prime, sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.init import uniform_params
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
    return uniform_params(param_shapes(input_size, hidden_size, variant, bias), scale, rng)


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


def _gate_order(hid):
    """Row indices taking torch's gate order i, f, g, o to the loop's i, f, o, g (and back: the
    permutation swaps two blocks, so it is its own inverse)."""
    return np.r_[0:2 * hid, 3 * hid:4 * hid, 2 * hid:3 * hid]


def _record(gates, c, hc, h):
    """The forward pass's record in the loop's layout: gate activations (T, 4H, B), rows in the
    order i, f, o, g, with views i, f, g, o (T, H, B), and c, tanh(c), h (T, H, B)."""
    hid = c.shape[1]
    rec = {k: gates[:, n * hid:(n + 1) * hid] for n, k in enumerate("ifog")}
    rec.update(gates=gates, c=c, hc=hc, h=h)
    return rec


def _columns(a):
    """(T, B, K) -> contiguous (T, K, B): one step's rows become columns."""
    return np.ascontiguousarray(a.transpose(0, 2, 1))


def _rows(a):
    """(T, K, B) -> contiguous (T * B, K): every (step, sequence) pair as one row of a product."""
    return np.ascontiguousarray(a.transpose(0, 2, 1)).reshape(-1, a.shape[1])


def forward(x, state0, params, variant="vanilla"):
    """The LSTM step above over a (T, B, D) sequence; returns ``(h (T, B, H), (h_T, c_T), cache)``."""
    v = _variant(variant)
    _check(x, state0, params, v)
    h0, c0 = state0
    steps, batch, width = x.shape
    hid = h0.shape[1]
    dtype = x.dtype
    # Speed (see benchmarks/README.md): each NumPy call in the time loop costs microseconds, as much
    # as its arithmetic on a (B, H) block, so the loop makes as few calls and passes over memory as
    # the equations allow. Results equal the one-line-per-equation loop up to round-off.
    #
    # Layout: inside the loop every quantity is held as columns, units along the rows and the batch
    # along the columns, like the book's column vectors (a = W h). The gates of the stacked net
    # input a (4H, B) are then contiguous blocks of rows; as column slices of a (B, 4H) array they
    # would be strided, and NumPy's elementwise functions run several times slower on those. The
    # blocks are reordered i, f, o, g, so that the three sigmoid gates are one block: one call.
    #
    # The input part of every net input has no recurrence: one (T*B, D) x (D, 4H) product for the
    # whole sequence (a 3-d (T, B, D) @ (D, 4H) would be T small ones). Turned into columns, it is
    # the gate record: step t overwrites block t in place, net inputs becoming activations.
    order = _gate_order(hid)
    a_x = x.reshape(steps * batch, width) @ params["w_ih"][order].T
    if "b_ih" in params:
        a_x += (params["b_ih"] + params["b_hh"])[order]
    gates = np.ascontiguousarray(a_x.reshape(steps, batch, 4 * hid).transpose(0, 2, 1), dtype=dtype)
    w_hh = params["w_hh"][order]  # a C-ordered copy: the fast layout for the product W_hh h
    peep = None if "w_peep" not in params else params["w_peep"][:, :, None]  # (3, H, 1): per unit
    c_rec, hc_rec, h_rec = (np.empty((steps, hid, batch), dtype=dtype) for _ in range(3))
    if not v.output_activation:
        hc_rec = c_rec  # h = o * c: the record of "tanh(c)" is the cell state itself
    a_h = np.empty((4 * hid, batch), dtype=dtype)  # buffers reused by every step
    tmp = np.empty((hid, batch), dtype=dtype)
    h, c = (np.ascontiguousarray(s.T, dtype=dtype) for s in (h0, c0))
    for t in range(steps):
        a = gates[t]
        np.matmul(w_hh, h, out=a_h)  # one product for all four gates
        a += a_h
        if v.full_gate_recurrence and t > 0:  # (i, f, o) are zero before t = 1
            a[:3 * hid] += params["w_gg"] @ gates[t - 1, :3 * hid]
        # The activations overwrite their net inputs: a_i becomes i, and so on.
        i, f, o, g = (a[k * hid:(k + 1) * hid] for k in range(4))
        if v.peepholes:  # o must wait for c(t); i and f are one block
            i += np.multiply(peep[0], c, out=tmp)
            f += np.multiply(peep[1], c, out=tmp)
            sigmoid(a[:2 * hid], out=a[:2 * hid])
        else:
            sigmoid(a[:3 * hid], out=a[:3 * hid])
        if not v.forget_gate:
            f[...] = 1.0
        if v.coupled:
            np.subtract(1.0, f, out=i)
        elif not v.input_gate:
            i[...] = 1.0
        if v.input_activation:
            np.tanh(g, out=g)
        c_new = c_rec[t]
        np.multiply(f, c, out=c_new)
        c_new += np.multiply(i, g, out=tmp)
        if v.peepholes:
            o += np.multiply(peep[2], c_new, out=tmp)
            sigmoid(o, out=o)
        if not v.output_gate:
            o[...] = 1.0
        if v.output_activation:
            np.tanh(c_new, out=hc_rec[t])
        np.multiply(o, hc_rec[t], out=h_rec[t])
        h, c = h_rec[t], c_new
    cache = (x, h0, c0, _record(gates, c_rec, hc_rec, h_rec), params, v)
    return _columns(h_rec), (h.T.copy(), c.T.copy()), cache


def backward(d_out, d_final_state, cache):
    """Full BPTT through :func:`forward`; returns ``(dx, (dh0, dc0), grads)``, grads keyed like params."""
    x, h0, c0, rec, params, v = cache
    steps, hid, batch = rec["h"].shape
    if d_out.shape != (steps, batch, hid):
        raise ValueError(f"d_out must have shape {(steps, batch, hid)}, got {d_out.shape}")
    dtype = x.dtype
    order = _gate_order(hid)  # the forward pass's row order i, f, o, g, undone at the end
    peep = None if "w_peep" not in params else params["w_peep"][:, :, None]
    gates, c_rec, hc_rec = rec["gates"], rec["c"], rec["hc"]
    c_prev_all = np.concatenate([c0.T[None], c_rec[:-1]], axis=0)
    # The local slopes (a gate's derivative with respect to its net input; h' at the cell output)
    # depend on the forward values only, not on the error flowing back: computed here for all steps
    # in a few whole-array operations, they leave the loop only products and sums. Layout as in
    # the forward pass.
    slope = sigmoid_prime(gates)
    g_prime = tanh_prime if v.input_activation else identity_prime
    slope[:, 3 * hid:] = g_prime(rec["g"])
    for present, k in ((v.input_gate and not v.coupled, 0), (v.forget_gate, 1), (v.output_gate, 2)):
        if not present:
            slope[:, k * hid:(k + 1) * hid] = 0.0  # a fixed gate (or CIFG's i = 1 - f) has no net input
    h_prime = tanh_prime if v.output_activation else identity_prime
    o_h_prime = rec["o"] * h_prime(hc_rec)  # dh(t)/dc(t) through the cell output, all steps
    d_out = _columns(d_out.astype(dtype, copy=False))
    dh, dc = (np.ascontiguousarray(s.T, dtype=dtype) for s in d_final_state)
    w_hh_t = np.ascontiguousarray(params["w_hh"][order].T)  # contiguous: the faster product
    da = np.empty((steps, 4 * hid, batch), dtype=dtype)
    tmp = np.empty((hid, batch), dtype=dtype)
    d_gates_next = None  # dE/d(i, f, o)(t) through FGR at t + 1
    for t in reversed(range(steps)):
        d = da[t]
        da_i, da_f, da_o, da_g = (d[k * hid:(k + 1) * hid] for k in range(4))
        dh += d_out[t]
        # Errors at the activations first: dE/do = dh * tanh(c), dE/di = dc * g, dE/df = dc * c(t-1),
        # dE/dg = dc * i; each becomes the error at its net input when multiplied by its slope.
        np.multiply(dh, hc_rec[t], out=da_o)
        if d_gates_next is not None:
            da_o += d_gates_next[2 * hid:]
        if v.peepholes:  # o's peephole feeds c(t): its net-input error is needed for dc now
            da_o *= slope[t, 2 * hid:3 * hid]
            dc += np.multiply(peep[2], da_o, out=tmp)
        dc += np.multiply(dh, o_h_prime[t], out=tmp)
        np.multiply(dc, rec["g"][t], out=da_i)
        np.multiply(dc, c_prev_all[t], out=da_f)
        np.multiply(dc, rec["i"][t], out=da_g)
        if d_gates_next is not None:
            da_i += d_gates_next[:hid]
            da_f += d_gates_next[hid:2 * hid]
        if v.coupled:
            da_f -= da_i  # i = 1 - f: the input gate's error reaches f with the opposite sign
        if v.peepholes:
            d[:2 * hid] *= slope[t, :2 * hid]
            da_g *= slope[t, 3 * hid:]
        else:
            d *= slope[t]  # all four gates in one product
        dc *= rec["f"][t]
        if v.peepholes:
            dc += np.multiply(peep[0], da_i, out=tmp)
            dc += np.multiply(peep[1], da_f, out=tmp)
        np.matmul(w_hh_t, d, out=dh)  # one product for all four gates' errors
        if v.full_gate_recurrence:
            d_gates_next = params["w_gg"].T @ d[:3 * hid]
    # The parameter gradients sum over steps and sequences: one 2-d product each, after the loop,
    # on rows again ((T*B, 4H) errors against (T*B, D) inputs and (T*B, H) previous outputs), with
    # the rows of the results put back into torch's gate order.
    flat = _rows(da)
    h_prev = np.concatenate([h0[None], _columns(rec["h"][:-1])], axis=0).reshape(-1, hid)
    grads = {"w_ih": (flat.T @ x.reshape(-1, x.shape[2]))[order], "w_hh": (flat.T @ h_prev)[order]}
    if "b_ih" in params:
        grads["b_ih"] = flat.sum(axis=0)[order]
        grads["b_hh"] = grads["b_ih"].copy()
    if v.peepholes:
        grads["w_peep"] = np.stack([np.sum(da[:, :hid] * c_prev_all, axis=(0, 2)),
                                    np.sum(da[:, hid:2 * hid] * c_prev_all, axis=(0, 2)),
                                    np.sum(da[:, 2 * hid:3 * hid] * c_rec, axis=(0, 2))])
    if v.full_gate_recurrence:
        # W_gg met (i, f, o)(t-1), the first three blocks, at the steps t >= 1 only.
        grads["w_gg"] = _rows(da[1:, :3 * hid]).T @ _rows(gates[:-1, :3 * hid])
    dx = (flat @ params["w_ih"][order]).reshape(x.shape)
    return dx, (dh.T.copy(), dc.T.copy()), grads


def _single_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """The per-step record of :func:`forward` (NP variant) for one step from (h_prev, c_prev)."""
    params = {"w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}
    _, _, (_, _, _, rec, _, _) = forward(x_t[None], (h_prev, c_prev), params, "NP")
    return {k: v[0].T for k, v in rec.items()}  # back from the record's columns to (B, H)


def step_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    """The four gate activations (i, f, g, o) of one torch.nn.LSTM step, each (B, H)."""
    rec = _single_step(x_t, h_prev, np.zeros_like(h_prev), w_ih, w_hh, b_ih, b_hh)
    return rec["i"], rec["f"], rec["g"], rec["o"]


def step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """One torch.nn.LSTM step, c = f * c_prev + i * g and h = o * tanh(c); returns (h, c).

    Implements: Eqs. 24-27, 29, 36-38, 50-51.
    """
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
    gates = np.concatenate([cache[k].T for k in "ifog"])[None]  # the record's layout
    c = cache["c"].T[None]
    hc = tanh(c)
    rec = _record(gates, c, hc, cache["o"].T[None] * hc)
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
