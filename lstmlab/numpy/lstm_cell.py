"""The modern LSTM cell, one step, written the plain way: one line per equation, forward and backward.

This is the cell to read. It is torch.nn.LSTMCell (one-cell memory blocks, forget gate, tanh for the
squashings g and h, gate order i, f, g, o in the stacked weights) in the tutorial's notation, for a
batch of B sequences at once (rows), H blocks:

    z_in  = W_in x(t)  + U_in y(t-1)  + b_in       y_in  = f(z_in)             Eqs. (24), (25)
    z_phi = W_phi x(t) + U_phi y(t-1) + b_phi      y_phi = f(z_phi)            Eqs. (36), (37)
    z_c   = W_c x(t)   + U_c y(t-1)   + b_c        g     = tanh(z_c)           Eq. (29)
    s(t)  = y_phi * s(t-1) + y_in * g                                          Eq. (38)
    z_out = W_out x(t) + U_out y(t-1) + b_out      y_out = f(z_out)            Eqs. (26), (27)
    y(t)  = y_out * tanh(s(t))                                                 Eq. (32)

(f the logistic sigmoid of Eq. 28; W are the rows of ``w_ih``, U those of ``w_hh``, b the sum of
``b_ih`` and ``b_hh``; torch calls y the hidden state h and s the cell state c). The fast layer,
:mod:`lstmlab.numpy.lstm`, computes the same numbers over whole sequences and is tested against
this file (tests/test_lstm_cell.py); this file is tested against torch.nn.LSTMCell and central
differences.

Both functions follow the step API of every NumPy model (see :mod:`lstmlab.numpy.recurrent`):
``step(x_t, state, params) -> (state, cache)`` and ``step_backward(d_state, cache) -> (dx,
d_state_prev, grads)``, with state ``(y, s)`` and params keyed ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh``.
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime, tanh, tanh_prime


def step(x_t, state, params):
    """One step, Eqs. (24)-(38) with forget gate: x_t (B, D), state (y, s) each (B, H); returns ((y, s), cache).

    Implements: Eqs. 24-27, 29, 36-38.
    """
    y_prev, s_prev = state
    z = x_t @ params["w_ih"].T + y_prev @ params["w_hh"].T                 # all four net inputs at once
    if "b_ih" in params:
        z = z + params["b_ih"] + params["b_hh"]
    z_in, z_phi, z_c, z_out = np.split(z, 4, axis=1)                      # Eqs. (25), (37), (29), (27)
    y_in = sigmoid(z_in)                                                  # Eq. (24): input gate
    y_phi = sigmoid(z_phi)                                                # Eq. (36): forget gate
    g = tanh(z_c)                                                         # the cell input g(z_c)
    s = y_phi * s_prev + y_in * g                                         # Eq. (38): the cell state
    y_out = sigmoid(z_out)                                                # Eq. (26): output gate
    h_s = tanh(s)                                                         # the cell output squashing h(s)
    y = y_out * h_s                                                       # Eq. (32): the cell output
    cache = {"x": x_t, "y_prev": y_prev, "s_prev": s_prev, "y_in": y_in, "y_phi": y_phi, "g": g,
             "y_out": y_out, "h_s": h_s, "params": params}
    return (y, s), cache


def step_backward(d_state, cache):
    """Backward pass of :func:`step` given d_state = (dE/dy(t), dE/ds(t)); returns (dx, (dy_prev, ds_prev), grads).

    dE/dy(t) is everything that reaches y(t) (from the layer above and from step t + 1), dE/ds(t) what
    reaches s(t) from step t + 1. grads is keyed like params, summed over the batch.
    """
    dy, ds = d_state
    x, y_prev, s_prev = cache["x"], cache["y_prev"], cache["s_prev"]
    y_in, y_phi, g, y_out, h_s = (cache[k] for k in ("y_in", "y_phi", "g", "y_out", "h_s"))
    params = cache["params"]
    d_y_out = dy * h_s                                                    # Eq. (32), through y_out
    ds = ds + dy * y_out * tanh_prime(h_s)                                # Eq. (32), through h(s)
    d_y_in, d_g, d_y_phi = ds * g, ds * y_in, ds * s_prev                 # Eq. (38)
    ds_prev = ds * y_phi                                                  # Eq. (38): the carousel
    dz = np.concatenate([d_y_in * sigmoid_prime(y_in),                    # back through Eq. (24)
                         d_y_phi * sigmoid_prime(y_phi),                  # Eq. (36)
                         d_g * tanh_prime(g),                             # g = tanh(z_c)
                         d_y_out * sigmoid_prime(y_out)], axis=1)         # Eq. (26)
    grads = {"w_ih": dz.T @ x, "w_hh": dz.T @ y_prev}                     # Eqs. (25), (27), (29), (37)
    if "b_ih" in params:
        grads["b_ih"] = dz.sum(axis=0)
        grads["b_hh"] = dz.sum(axis=0)
    dx = dz @ params["w_ih"]
    dy_prev = dz @ params["w_hh"]
    return dx, (dy_prev, ds_prev), grads
