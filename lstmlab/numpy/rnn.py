"""The Elman network as torch.nn.RNN: h(t) = f(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh)."""

import numpy as np

from lstmlab.numpy.activations import tanh, tanh_prime
from lstmlab.numpy.recurrent import RecurrentModel


def _relu(s):
    return np.maximum(s, 0.0)


def _relu_prime(y):
    # Written through the output, like the shared derivatives: y > 0 exactly where s > 0.
    return (y > 0).astype(y.dtype)


_NONLINEARITIES = {"tanh": (tanh, tanh_prime), "relu": (_relu, _relu_prime)}


def _squashing(nonlinearity):
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return _NONLINEARITIES[nonlinearity]


def sequence_forward(x, state0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One layer, one direction of Eqs. (6)-(7) in matrix form over a whole (T, B, D) sequence."""
    f, _ = _squashing(nonlinearity)
    (h0,) = state0
    # The input part of every step's weighted input needs no recurrence: one product for all of T.
    z_in = x @ w_ih.T
    for b in (b_ih, b_hh):
        if b is not None:
            z_in = z_in + b
    hs = np.empty(x.shape[:2] + (w_hh.shape[1],), dtype=x.dtype)
    h = h0
    for t in range(x.shape[0]):
        h = f(z_in[t] + h @ w_hh.T)
        hs[t] = h
    cache = (x, h0, hs, w_ih, w_hh, b_ih is not None, b_hh is not None, nonlinearity)
    return hs, (h,), cache


def sequence_backward(d_out, d_final_state, cache):
    """Backward pass of :func:`sequence_forward`: the error signal of Eq. (12) summed over T."""
    x, h0, hs, w_ih, w_hh, has_b_ih, has_b_hh, nonlinearity = cache
    _, f_prime = _squashing(nonlinearity)
    (dh,) = d_final_state
    dz = np.empty_like(hs)
    for t in reversed(range(hs.shape[0])):
        dz[t] = (dh + d_out[t]) * f_prime(hs[t])
        dh = dz[t] @ w_hh
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)
    rows = hs.shape[2]
    dz_flat = dz.reshape(-1, rows)
    dw_ih = dz_flat.T @ x.reshape(-1, x.shape[2])
    dw_hh = dz_flat.T @ h_prev.reshape(-1, rows)
    db = dz_flat.sum(axis=0)
    dx = dz @ w_ih
    return dx, (dh,), dw_ih, dw_hh, (db if has_b_ih else None), (db.copy() if has_b_hh else None)


class RNN(RecurrentModel):
    """Elman RNN with torch.nn.RNN's constructor, parameters, shapes and results (tanh or relu)."""

    num_gates = 1
    num_states = 1
    torch_name = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 bidirectional=False, batch_first=False, dtype=np.float64, seed=0):
        _squashing(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers=num_layers, bias=bias,
                         bidirectional=bidirectional, batch_first=batch_first, dtype=dtype, seed=seed)

    @classmethod
    def _extra_kwargs_from_torch(cls, module):
        return {"nonlinearity": module.nonlinearity}

    def sequence_forward(self, x, state0, w_ih, w_hh, b_ih, b_hh):
        return sequence_forward(x, state0, w_ih, w_hh, b_ih, b_hh, self.nonlinearity)

    sequence_backward = staticmethod(sequence_backward)
