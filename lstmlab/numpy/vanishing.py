"""The vanishing (and exploding) error of Sec. 7 (Eqs. 20-23), measured and predicted.

Measured: an error is injected at one output unit o at the final time t of a fully recurrent
network (:mod:`lstmlab.numpy.fully_recurrent`) and propagated back by the BPTT code; the error
signal that arrives at unit v, q steps earlier, divided by the one injected, is the scaling factor
∂ϑ_v(t-q)/∂ϑ_o(t). Predicted: the same factor from Eq. (21), either as the literal sum over all
paths through the unrolled network (only for tiny networks) or as the product of the q Jacobians
diag(f'(z(τ))) W_UU^T that the sum over paths amounts to. ``W`` is the fully recurrent net's,
receiving unit first (``W[u, v]`` from v to u, see CONTRIBUTING.md).

The experiment: many standard tanh RNNs (:func:`lstmlab.numpy.rnn.sequence_forward`, trained by
BPTT) are trained side by side on a task whose time lag is a parameter, and the fraction of them
that learn it is reported against the lag.
"""

import itertools

import numpy as np

from lstmlab.numpy import fully_recurrent as fr
from lstmlab.numpy.activations import sigmoid_prime
from lstmlab.numpy.init import uniform
from lstmlab.numpy.rnn import sequence_backward, sequence_forward


def measured_factor(W, x, o, y0=None):
    """ϑ_v(τ) / ϑ_o(t) for every step τ and unit v (array (T, n_units)), from BPTT itself.

    Row ``-1 - q`` is the factor over a lag of q steps; x is one sequence ``(T, n_in)``.
    """
    x = x[:, None, :]
    fr.check_sequence(W, x, None if y0 is None else y0[None])
    Y, _ = fr.forward(W, x, None if y0 is None else y0[None])
    d, mask = Y.copy(), np.zeros_like(Y)
    d[-1, 0, o] += 1.0  # a unit error e_o(t) = 1 and no other target anywhere
    mask[-1, 0, o] = 1.0
    _, theta, _ = fr.bptt(W, x, d, mask, None if y0 is None else y0[None])
    return theta[:, 0, :] / theta[-1, 0, o]


def jacobian_factor(W, Y, q):
    """Eq. (21) summed over paths as a matrix product: entry [v, o] is ∂ϑ_v(t-q)/∂ϑ_o(t).

    Y: the unit outputs of one sequence ``(T, n_units)``; the squashing is the sigmoid.

    Implements: Eqs. 20-21.
    """
    n_units = W.shape[0]
    W_UU = W[:, -n_units:]
    factor = np.eye(n_units)
    steps = Y.shape[0]
    for lag in range(1, q + 1):
        # Eq. (20): ϑ_v(τ) = f'_v(z_v(τ)) Σ_u W[u, v] ϑ_u(τ+1), one step further back.
        factor = sigmoid_prime(Y[steps - 1 - lag])[:, None] * (W_UU.T @ factor)
    return factor


def path_sum_factor(W, Y, v, o, q):
    """Eq. (21) literally: the sum over every path o = u_0, u_1, ..., u_q = v of the products
    Π f'(z_{u_m}(t-m)) W[u_{m-1}, u_m]; exponential in q, for checking only.

    Implements: Eq. 21.
    """
    n_units = W.shape[0]
    W_UU = W[:, -n_units:]
    steps = Y.shape[0]
    total = 0.0
    for middle in itertools.product(range(n_units), repeat=q - 1):
        path = (o,) + middle + (v,)
        term = 1.0
        for m in range(1, q + 1):
            term *= sigmoid_prime(Y[steps - 1 - m, path[m]]) * W_UU[path[m - 1], path[m]]
        total += term
    return total


def self_connected_unit(w, steps):
    """A single sigmoid unit with self-weight w, held at its operating point z = 0 (y = 1/2)
    by a constant input; returns (W, x, y0) for :func:`measured_factor`. There f'(z) w = w/4 at
    every step, so Eqs. (22)-(23) predict the factor (w/4)^q exactly.

    Implements: Eqs. 22-23.
    """
    W = np.array([[-w / 2.0, w]])  # column 0: from a constant-one input unit; column 1: the self-connection
    return W, np.ones((steps, 1)), np.array([0.5])


def lag_task(lag, batch, rng, noise=1.0):
    """Remember the sign of the first input and output it ``lag`` steps later.

    Input ``(lag + 1, batch, 1)``: ±1 at the first step, then distractors drawn uniformly from
    [-noise, noise] in the same channel. Target: the first sign, ±1.
    """
    sign = rng.choice([-1.0, 1.0], size=batch)
    x = rng.uniform(-noise, noise, size=(lag + 1, batch, 1))
    x[0, :, 0] = sign
    return x, sign


def lag_loss(params, x, target):
    """Forward and backward pass of the experiment's networks: tanh RNN, linear readout of the
    last hidden state, loss ½ Σ (y - target)² / batch per network, summed over the ensemble.

    params: ``w_ih`` (K, H, 1), ``w_hh`` (K, H, H), ``b`` (K, 1, H), ``w_out`` (K, 1, H),
    ``b_out`` (K, 1, 1); x ``(T, K, batch, 1)``; target ``(K, batch)``. Returns (loss, grads, y).
    """
    trials, batch = target.shape
    hidden = params["w_hh"].shape[-1]
    hs, _, cache = sequence_forward(x, (np.zeros((trials, batch, hidden)),),
                                    params["w_ih"], params["w_hh"], params["b"])
    y = (hs[-1] @ np.swapaxes(params["w_out"], -1, -2) + params["b_out"])[..., 0]
    loss = 0.5 * float(np.sum((y - target) ** 2)) / batch
    d_y = (y - target)[..., None] / batch
    d_out = np.zeros_like(hs)
    d_out[-1] = d_y @ params["w_out"]
    _, _, dw_ih, dw_hh, db, _ = sequence_backward(d_out, (np.zeros_like(hs[-1]),), cache)
    grads = {"w_ih": dw_ih, "w_hh": dw_hh, "b": db,
             "w_out": np.swapaxes(d_y, -1, -2) @ hs[-1], "b_out": d_y.sum(axis=1, keepdims=True)}
    return loss, grads, y


def train_lag_task(lag, trials=32, hidden=4, batch=32, iterations=200, lr=0.1, seed=0,
                   noise=1.0, momentum=0.9, test_batch=200):
    """Train ``trials`` independent networks of :func:`lag_loss` on :func:`lag_task` by BPTT and
    gradient descent with momentum on fresh batches; returns the fraction that succeed.

    Success: every test sequence is answered with the right sign and a squared error below 0.25.
    All trials run at once: each has its own weights along an ensemble axis of the arrays.
    """
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(hidden)
    params = {"w_ih": uniform((trials, hidden, 1), scale, rng),
              "w_hh": uniform((trials, hidden, hidden), scale, rng),
              "b": uniform((trials, 1, hidden), scale, rng),
              "w_out": uniform((trials, 1, hidden), scale, rng),
              "b_out": np.zeros((trials, 1, 1))}

    def batch_of(n):
        x, sign = lag_task(lag, trials * n, rng, noise)
        return x.reshape(lag + 1, trials, n, 1), sign.reshape(trials, n)

    velocity = {k: np.zeros_like(v) for k, v in params.items()}
    for _ in range(iterations):
        _, grads, _ = lag_loss(params, *batch_of(batch))
        for key, g in grads.items():
            velocity[key] *= momentum
            velocity[key] -= lr * g
            params[key] += velocity[key]
    x, target = batch_of(test_batch)
    _, _, y = lag_loss(params, x, target)
    success = np.all((np.sign(y) == target) & ((y - target) ** 2 < 0.25), axis=1)
    return float(success.mean())


def lag_sweep(lags, **kwargs):
    """Success rate of :func:`train_lag_task` for each lag; a dict lag -> fraction of trials."""
    return {lag: train_lag_task(lag, **kwargs) for lag in lags}
