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


def _sum_to(g, shape):
    """Sum a broadcast gradient back down to the shape of the parameter it belongs to."""
    g = g.reshape((-1,) + g.shape[g.ndim - len(shape):]).sum(axis=0)
    axes = tuple(a for a, n in enumerate(shape) if n == 1 and g.shape[a] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def sequence_forward(x, state0, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One layer, one direction of Eqs. (6)-(7) in matrix form over a whole (T, B, D) sequence.

    Besides torch's shapes, the weights may carry leading ensemble axes (``w_ih`` (K, H, D),
    ``w_hh`` (K, H, H), biases (K, 1, H), ``x`` (T, K, B, D), ``h0`` (K, B, H)): K independent
    networks then run side by side, which is how :mod:`lstmlab.numpy.vanishing` trains many at once.

    Implements: Eqs. 6-7.
    """
    f, _ = _squashing(nonlinearity)
    (h0,) = state0
    # The input part of every step's weighted input needs no recurrence: one product for all of T.
    z_in = x @ np.swapaxes(w_ih, -1, -2)
    for b in (b_ih, b_hh):
        if b is not None:
            z_in = z_in + b
    w_hh_t = np.swapaxes(w_hh, -1, -2)
    hs = np.empty(z_in.shape, dtype=x.dtype)
    h = h0
    for t in range(x.shape[0]):
        h = f(z_in[t] + h @ w_hh_t)
        hs[t] = h
    shapes = tuple(None if b is None else b.shape for b in (b_ih, b_hh))
    cache = (x, h0, hs, w_ih, w_hh, shapes, nonlinearity)
    return hs, (h,), cache


def sequence_backward(d_out, d_final_state, cache):
    """Backward pass of :func:`sequence_forward`: the error signal of Eq. (12) summed over T."""
    x, h0, hs, w_ih, w_hh, bias_shapes, nonlinearity = cache
    _, f_prime = _squashing(nonlinearity)
    (dh,) = d_final_state
    dz = np.empty_like(hs)
    for t in reversed(range(hs.shape[0])):
        dz[t] = (dh + d_out[t]) * f_prime(hs[t])
        dh = dz[t] @ w_hh
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)
    # Σ over time and batch of the outer products ϑ X, Eq. (12)'s weight change, per network.
    dw_ih = np.einsum("t...bg,t...bd->...gd", dz, x)
    dw_hh = np.einsum("t...bg,t...bd->...gd", dz, h_prev)
    db_ih, db_hh = (None if shape is None else _sum_to(dz, shape) for shape in bias_shapes)
    dx = dz @ w_ih
    return dx, (dh,), dw_ih, dw_hh, db_ih, db_hh


def tanh_layer(x, h0, w_ih, w_hh, b_ih, b_hh):
    """Eqs. (6)-(7) as torch.nn.RNN (tanh, both biases) over a (T, B, D) sequence; returns h (T, B, H)."""
    hs, _, _ = sequence_forward(x, (h0,), w_ih, w_hh, b_ih, b_hh)
    return hs


def tanh_layer_backward(d_h, x, h0, h, w_ih, w_hh):
    """BPTT through :func:`tanh_layer` given ∂E/∂h(t) for every t (Eq. 12 summed over T).

    ``h`` is the layer's output (T, B, H). Returns ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)``.
    """
    bias_shape = (w_hh.shape[0],)
    cache = (x, h0, h, w_ih, w_hh, (bias_shape, bias_shape), "tanh")
    dx, (dh0,), dw_ih, dw_hh, db_ih, db_hh = sequence_backward(d_h, (np.zeros_like(h0),), cache)
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


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
