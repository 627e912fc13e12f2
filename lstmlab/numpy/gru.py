"""The gated recurrent unit (Sec. 10.3, Eqs. 57-66) in matrix form, and ``GRU`` mirroring torch.nn.GRU.

One step, gate order r, z, n as in torch (``a_x`` the input part, ``a_h`` the recurrent part of the
net inputs, both with their biases):

    r = sigma(a_x_r + a_h_r)                   reset gate,  Eqs. (57)-(60)
    z = sigma(a_x_z + a_h_z)                   update gate, Eqs. (61)-(64)
    n = tanh(a_x_n + r * (W_hn h(t-1) + b_hn))  candidate,  Eq. (65)     (``reset_after=True``)
    n = tanh(a_x_n + W_hn (r * h(t-1)) + b_hn)  candidate,  Cho et al.  (``reset_after=False``)
    h(t) = z * h(t-1) + (1 - z) * n             Eq. (66)

Two placements of the reset gate are in use. With ``reset_after`` (torch.nn.GRU, cuDNN, and the
tutorial's Eq. 65, which multiplies the unit's whole recurrent sum by its own reset gate) the gate
scales the recurrent product, and torch gives that product its own bias b_hn inside the gate. Without
it (Cho et al. 2014, the tutorial's reference [10]) the gate scales the previous state before the
product, so a unit's candidate sees other units' reset states; b_hn is then an ordinary bias. Eq. 65
has one bias b_u: it is torch's form with b_hn = 0.
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.recurrent import RecurrentModel


def sequence_forward(x, state0, w_ih, w_hh, b_ih=None, b_hh=None, reset_after=True):
    """Eqs. (57)-(66) over a whole (T, B, D) sequence; returns ``(h (T, B, H), (h_T,), cache)``.

    Implements: Eqs. 57-66.
    """
    (h0,) = state0
    steps, batch = x.shape[:2]
    hid = h0.shape[1]
    # The input part of every step's net inputs has no recurrence: one product for the whole sequence.
    a_x = x @ w_ih.T
    if b_ih is not None:
        a_x = a_x + b_ih
    b_h = np.zeros(3 * hid, dtype=x.dtype) if b_hh is None else b_hh
    names = ("r", "z", "n", "hn", "h")
    rec = {k: np.empty((steps, batch, hid), dtype=x.dtype) for k in names}
    h = h0
    for t in range(steps):
        if reset_after:
            a_h = h @ w_hh.T + b_h
            a_h_rz, hn = a_h[:, :2 * hid], a_h[:, 2 * hid:]
        else:
            a_h_rz = h @ w_hh[:2 * hid].T + b_h[:2 * hid]
        r = sigmoid(a_x[t, :, :hid] + a_h_rz[:, :hid])
        z = sigmoid(a_x[t, :, hid:2 * hid] + a_h_rz[:, hid:])
        if reset_after:
            n = tanh(a_x[t, :, 2 * hid:] + r * hn)
        else:
            # hn is the candidate's whole recurrent net input here, b_hn included.
            hn = (r * h) @ w_hh[2 * hid:].T + b_h[2 * hid:]
            n = tanh(a_x[t, :, 2 * hid:] + hn)
        h = z * h + (1.0 - z) * n
        for k, value in zip(names, (r, z, n, hn, h)):
            rec[k][t] = value
    cache = (x, h0, rec, w_ih, w_hh, b_ih is not None, reset_after)
    return rec["h"], (h,), cache


def sequence_backward(d_out, d_final_state, cache):
    """Full BPTT through :func:`sequence_forward`; returns ``(dx, (dh0,), dw_ih, dw_hh, db_ih, db_hh)``."""
    x, h0, rec, w_ih, w_hh, has_bias, reset_after = cache
    steps, batch, hid = rec["h"].shape
    (dh,) = d_final_state
    h_prev_all = np.concatenate([h0[None], rec["h"][:-1]], axis=0)
    da_x = np.empty((steps, batch, 3 * hid), dtype=x.dtype)
    # dE/d(recurrent net input) per gate: what the rows of w_hh and b_hh receive.
    da_h = np.empty((steps, batch, 3 * hid), dtype=x.dtype)
    w_hn = w_hh[2 * hid:]
    for t in reversed(range(steps)):
        r, z, n, hn = (rec[k][t] for k in ("r", "z", "n", "hn"))
        h_prev = h_prev_all[t]
        dh = dh + d_out[t]
        da_n = dh * (1.0 - z) * tanh_prime(n)
        da_z = dh * (h_prev - n) * sigmoid_prime(z)
        dh_prev = dh * z
        if reset_after:
            dr = da_n * hn
            da_hn = da_n * r
        else:
            d_rh = da_n @ w_hn
            dr = d_rh * h_prev
            dh_prev = dh_prev + d_rh * r
            da_hn = da_n
        da_r = dr * sigmoid_prime(r)
        da_x[t] = np.concatenate([da_r, da_z, da_n], axis=1)
        da_h[t] = np.concatenate([da_r, da_z, da_hn], axis=1)
        if reset_after:
            dh = dh_prev + da_h[t] @ w_hh
        else:
            dh = dh_prev + da_h[t, :, :2 * hid] @ w_hh[:2 * hid]
    flat_x = da_x.reshape(-1, 3 * hid)
    flat_h = da_h.reshape(-1, 3 * hid)
    dw_ih = flat_x.T @ x.reshape(-1, x.shape[2])
    h_flat = h_prev_all.reshape(-1, hid)
    if reset_after:
        dw_hh = flat_h.T @ h_flat
    else:
        # The candidate's rows saw r * h(t-1), the gates' rows h(t-1) itself.
        rh_flat = (rec["r"] * h_prev_all).reshape(-1, hid)
        dw_hh = np.concatenate([flat_h[:, :2 * hid].T @ h_flat, flat_h[:, 2 * hid:].T @ rh_flat])
    db_ih, db_hh = (flat_x.sum(axis=0), flat_h.sum(axis=0)) if has_bias else (None, None)
    dx = da_x @ w_ih
    return dx, (dh,), dw_ih, dw_hh, db_ih, db_hh


def step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    """One torch.nn.GRUCell step, Eqs. (57)-(66) with the reset gate after W_hn; returns ``(h, cache)``.

    x_t (B, D), h_prev (B, H), w_ih (3H, D), w_hh (3H, H), biases (3H,), gate order r, z, n. The
    cache is a dict of ``x``, ``h_prev``, the gates ``r``, ``z``, the candidate ``n``, the gated
    recurrent sum ``hn`` = W_hn h_prev + b_hn (each (B, H)) and the weights ``w_ih``, ``w_hh``.

    Implements: Eqs. 57-66.
    """
    rows = w_hh.shape[0]
    if w_hh.shape != (rows, rows // 3) or rows % 3 or w_ih.shape != (rows, x_t.shape[-1]) \
            or h_prev.shape != (x_t.shape[0], rows // 3):
        raise ValueError(f"expected x_t (B, D), h_prev (B, H), w_ih (3H, D), w_hh (3H, H); got x_t "
                         f"{x_t.shape}, h_prev {h_prev.shape}, w_ih {w_ih.shape}, w_hh {w_hh.shape}")
    h, _, (_, _, rec, _, _, _, _) = sequence_forward(x_t[None], (h_prev,), w_ih, w_hh, b_ih, b_hh)
    cache = {k: rec[k][0] for k in ("r", "z", "n", "hn")}
    cache.update(x=x_t, h_prev=h_prev, w_ih=w_ih, w_hh=w_hh)
    return h[0], cache


def step_backward(dh, cache):
    """Backward pass of :func:`step`: ``(dx, dh_prev, grads)`` given dh = dE/dh(t), grads keyed
    ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` and summed over the batch."""
    rec = {k: cache[k][None] for k in ("r", "z", "n", "hn")}
    # The new state itself is not read by the backward pass; only its shape is.
    rec["h"] = np.empty_like(rec["n"])
    full = (cache["x"][None], cache["h_prev"], rec, cache["w_ih"], cache["w_hh"], True, True)
    dx, (dh_prev,), dw_ih, dw_hh, db_ih, db_hh = sequence_backward(dh[None], (np.zeros_like(dh),), full)
    return dx[0], dh_prev, {"w_ih": dw_ih, "w_hh": dw_hh, "b_ih": db_ih, "b_hh": db_hh}


class GRU(RecurrentModel):
    """GRU with torch.nn.GRU's constructor, parameters, shapes and results (``reset_after=True``).

    ``reset_after=False`` gives the Cho et al. (2014) candidate on the same parameters; it has no
    torch.nn counterpart, so ``from_torch`` always builds the torch form.
    """

    num_gates = 3
    num_states = 1
    torch_name = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False,
                 batch_first=False, dtype=np.float64, seed=0, reset_after=True):
        self.reset_after = bool(reset_after)
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         bidirectional=bidirectional, batch_first=batch_first, dtype=dtype, seed=seed)

    def sequence_forward(self, x, state0, w_ih, w_hh, b_ih, b_hh):
        return sequence_forward(x, state0, w_ih, w_hh, b_ih, b_hh, self.reset_after)

    sequence_backward = staticmethod(sequence_backward)

    def __repr__(self):
        return super().__repr__()[:-1] + f", reset_after={self.reset_after})"
