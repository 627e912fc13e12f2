"""Bidirectional recurrent layers (Sec. 10.1): one chain reads the sequence forwards, a second chain
reads it backwards, and each step's output is the two chains' outputs side by side.

With a one-direction layer ``L`` (its own parameters ``theta_fwd`` and ``theta_bwd`` per chain),

    forward chain:   h_fwd(1..T)  = L(x(1), ..., x(T);  theta_fwd)
    backward chain:  h_bwd(T..1)  = L(x(T), ..., x(1);  theta_bwd)
    output:          y(t) = [h_fwd(t); h_bwd(t)]

so y(t) has read the whole past through h_fwd(t) and the whole future through h_bwd(t). No
connection joins the chains; they meet only in whatever reads y. The backward pass therefore
splits dE/dy(t) into its two halves, runs each chain's own backward pass (the backward chain's on
the time-reversed gradient) and adds the two gradients that reach x(t).

The layer contract (the one :class:`lstmlab.numpy.recurrent.RecurrentModel` uses):

    layer_forward(x, state0, *params)        -> (out (T, B, H), final_state, cache)
    layer_backward(d_out, d_final_state, cache) -> (dx, d_state0, *d_params)

``state0`` and ``final_state`` may be anything the layer likes (a tuple of arrays for the models
here). Layers that satisfy it, and so can be wrapped: :mod:`lstmlab.numpy.rnn` (the Elman network as
torch.nn.RNN), :mod:`lstmlab.numpy.lstm` (``sequence_forward`` / ``sequence_backward``, and
``forward`` / ``backward`` of every Greff et al. variant, params then being one dict), and
:mod:`lstmlab.numpy.gru`; :func:`forward` and :mod:`lstmlab.numpy.stacked` satisfy it themselves,
so bidirectional layers stack. Not wrappable as they stand: the Elman and Jordan networks of
Sec. 5.1 (:mod:`lstmlab.numpy.elman`, :mod:`lstmlab.numpy.jordan`), the fully recurrent network
(:mod:`lstmlab.numpy.fully_recurrent`) and the 1997 LSTM (:mod:`lstmlab.numpy.lstm_original`): each
owns its output layer and its backward pass starts from targets and a squared error rather than
from a gradient arriving at its outputs, so there is no d_out to hand them.
"""

import numpy as np


def _reversed(a):
    # A contiguous copy: the layers' matrix products run faster on it than on a negative-stride view.
    return np.ascontiguousarray(a[::-1])


def forward(layer_forward, x, state0, params_fwd, params_bwd):
    """Sec. 10.1's bidirectional layer: returns ``(y (T, B, 2H), (final_fwd, final_bwd), cache)``.

    ``state0`` is ``(state0_fwd, state0_bwd)``, each what ``layer_forward`` takes; ``params_fwd``
    and ``params_bwd`` are the tuples of each chain's parameters. ``final_bwd`` is the backward
    chain's state after it has read x(1), its last step.
    """
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be a 3-d array (T, B, D), got {got}")
    if not isinstance(state0, (tuple, list)) or len(state0) != 2:
        raise TypeError("state0 must be a pair (state0_fwd, state0_bwd), one per direction")
    out_fwd, final_fwd, cache_fwd = layer_forward(x, state0[0], *params_fwd)
    out_bwd, final_bwd, cache_bwd = layer_forward(_reversed(x), state0[1], *params_bwd)
    # The backward chain's step k read x(T-1-k); flip its outputs back onto the time axis of x.
    y = np.concatenate([out_fwd, out_bwd[::-1]], axis=2)
    return y, (final_fwd, final_bwd), (cache_fwd, cache_bwd, out_fwd.shape[2])


def backward(layer_backward, d_y, d_final, cache):
    """Backward pass of :func:`forward`: returns ``(dx, (d_state0_fwd, d_state0_bwd), d_params_fwd,
    d_params_bwd)``, the last two tuples ordered like the parameters."""
    cache_fwd, cache_bwd, hidden = cache
    if not isinstance(d_y, np.ndarray) or d_y.ndim != 3 or d_y.shape[2] != 2 * hidden:
        got = d_y.shape if isinstance(d_y, np.ndarray) else type(d_y).__name__
        raise ValueError(f"d_y must be a 3-d array (T, B, {2 * hidden}), got {got}")
    dx_fwd, d_state0_fwd, *d_params_fwd = layer_backward(
        np.ascontiguousarray(d_y[:, :, :hidden]), d_final[0], cache_fwd)
    dx_bwd, d_state0_bwd, *d_params_bwd = layer_backward(
        _reversed(d_y[:, :, hidden:]), d_final[1], cache_bwd)
    # x(t) fed both chains: the forward chain at its step t, the backward chain at its step T-1-t.
    dx = dx_fwd + dx_bwd[::-1]
    return dx, (d_state0_fwd, d_state0_bwd), tuple(d_params_fwd), tuple(d_params_bwd)
