"""The exercises' signatures, built on the models' step API.

An exercise asks for what a student can write in one sitting: separate arrays instead of a parameter
dict, the gates of one step, a cache the student fills in. The models expose one step API instead
(:mod:`lstmlab.numpy.recurrent`); each function here turns one into the other, and a solution
notebook's metadata (``lstmlab.implementations``) names these functions, so that the references of
``python -m lstmlab.grading.references`` come from the models through them.
"""

import numpy as np

from lstmlab.numpy import gru, lstm, lstm_cell, md_lstm, rnn


def _params(w_ih, w_hh, b_ih=None, b_hh=None):
    params = {"w_ih": w_ih, "w_hh": w_hh}
    if b_ih is not None:
        params.update(b_ih=b_ih, b_hh=b_hh)
    return params


# ----------------------------------------------------------------- ch07: the Elman layer as torch.nn.RNN
def rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh):
    """Eqs. (6)-(7) as torch.nn.RNN (tanh, both biases) over a (T, B, D) sequence; returns h (T, B, H)."""
    hs, _, _ = rnn.sequence_forward(x, (h0,), w_ih, w_hh, b_ih, b_hh)
    return hs


def rnn_bptt(d_h, x, h0, h, w_ih, w_hh):
    """BPTT through :func:`rnn_forward` given dE/dh(t) for every t and its output h (T, B, H) (Eq. 12
    summed over T); returns ``(dx, dh0, dw_ih, dw_hh, db_ih, db_hh)``."""
    # The layer's own cache, rebuilt from the recorded outputs (tanh' is read from h; the biases'
    # values play no part in the backward pass, only their shapes, which ask for their gradients).
    bias_shape = (w_hh.shape[0],)
    cache = (x, h0, h, w_ih, w_hh, (bias_shape, bias_shape), "tanh")
    dx, (dh0,), dw_ih, dw_hh, db_ih, db_hh = rnn.sequence_backward(d_h, (np.zeros_like(h0),), cache)
    return dx, dh0, dw_ih, dw_hh, db_ih, db_hh


# ----------------------------------------------------------------- ch12, ch14: the modern LSTM step
def lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    """The four gate activations (i, f, g, o) of one torch.nn.LSTM step, each (B, H)."""
    _, cache = lstm_cell.step(x_t, (h_prev, np.zeros_like(h_prev)), _params(w_ih, w_hh, b_ih, b_hh))
    return cache["y_in"], cache["y_phi"], cache["g"], cache["y_out"]


def lstm_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh):
    """One torch.nn.LSTM step, c = f * c_prev + i * g and h = o * tanh(c); returns (h, c)."""
    (h, c), _ = lstm.step(x_t, (h_prev, c_prev), _params(w_ih, w_hh, b_ih, b_hh), "NP")
    return h, c


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh):
    """:func:`lstm_step` over a (T, B, D) sequence, as torch.nn.LSTM returns it: ``(h (T, B, H), (h_T, c_T))``."""
    hs, final, _ = lstm.forward(x, (h0, c0), _params(w_ih, w_hh, b_ih, b_hh), "NP")
    return hs, final


def lstm_step_backward(dh, dc, cache):
    """Full BPTT through one torch.nn.LSTM step; returns ``(dx, (dh_prev, dc_prev), grads)``.

    dh, dc: dE/dh(t) and dE/dc(t) arriving from above and from step t + 1, each (B, H).
    cache: a dict of the step's ``x`` (B, D), ``h_prev``, ``c_prev``, gate activations ``i``, ``f``,
    ``g``, ``o``, new cell state ``c`` (each (B, H)) and weights ``w_ih``, ``w_hh``.
    grads holds ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` summed over the batch.
    """
    w_ih, w_hh = cache["w_ih"], cache["w_hh"]
    # The biases' values play no part in the backward pass; only their presence asks for their grads.
    no_bias = np.zeros(w_hh.shape[0], dtype=w_hh.dtype)
    cell_cache = {"x": cache["x"], "y_prev": cache["h_prev"], "s_prev": cache["c_prev"], "y_in": cache["i"],
                  "y_phi": cache["f"], "g": cache["g"], "y_out": cache["o"], "h_s": np.tanh(cache["c"]),
                  "params": _params(w_ih, w_hh, no_bias, no_bias)}
    return lstm_cell.step_backward((dh, dc), cell_cache)


# ----------------------------------------------------------------- ch18: the multidimensional LSTM
def md_step(x, h_prev, c_prev, w_ih, w_hh, b):
    """One cell, Eqs. 53-54, for a batch: x (B, D), h_prev and c_prev (N, B, H); returns ``(h, c)``."""
    (h, c), _ = md_lstm.step(x, (h_prev, c_prev), {"w_ih": w_ih, "w_hh": w_hh, "b": b})
    return h, c


def md_gates(x, h_prev, w_ih, w_hh, b):
    """The gate activations of one cell, ``(i, f, g, o)``: f is (N, B, H), one forget gate per dimension."""
    h_prev = np.asarray(h_prev)
    _, cache = md_lstm.step(x, (h_prev, np.zeros_like(h_prev)), {"w_ih": w_ih, "w_hh": w_hh, "b": b})
    return cache["i"], cache["f"], cache["g"], cache["o"]


def md_scan(x, w_ih, w_hh, b):
    """:func:`lstmlab.numpy.md_lstm.forward` with the parameters as arguments; returns ``(h, c)``."""
    h, c, _ = md_lstm.forward(x, {"w_ih": w_ih, "w_hh": w_hh, "b": b})
    return h, c


# ----------------------------------------------------------------- ch20: the GRU step
_GRU_RECORD = ("r", "z", "n", "hn")


def gru_step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh):
    """One torch.nn.GRUCell step, Eqs. (57)-(66) with the reset gate after W_hn; returns ``(h, cache)``.

    x_t (B, D), h_prev (B, H), w_ih (3H, D), w_hh (3H, H), biases (3H,), gate order r, z, n. The
    cache is a dict of ``x``, ``h_prev``, the gates ``r``, ``z``, the candidate ``n``, the gated
    recurrent sum ``hn`` = W_hn h_prev + b_hn (each (B, H)) and the weights ``w_ih``, ``w_hh``.
    """
    (h,), (_, _, rec, *_) = gru.step(x_t, (h_prev,), _params(w_ih, w_hh, b_ih, b_hh))
    cache = {k: rec[k][0] for k in _GRU_RECORD}
    cache.update(x=x_t, h_prev=h_prev, w_ih=w_ih, w_hh=w_hh)
    return h, cache


def gru_step_backward(dh, cache):
    """Backward pass of :func:`gru_step`: ``(dx, dh_prev, grads)`` given dh = dE/dh(t), grads keyed
    ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` and summed over the batch."""
    rec = {k: cache[k][None] for k in _GRU_RECORD}
    # The new state itself is not read by the backward pass; only its shape is.
    rec["h"] = np.empty_like(rec["n"])
    # The GRU step's own cache (gru.sequence_forward's, one step): biases present, reset after W_hn.
    step_cache = (cache["x"][None], cache["h_prev"], rec, cache["w_ih"], cache["w_hh"], True, True)
    dx, (dh_prev,), grads = gru.step_backward((dh,), step_cache)
    return dx, dh_prev, grads
