"""Feed-forward networks of sigmoid units and error backpropagation (Sec. 4, Eqs. 1-5).

A network with layer sizes ``[n_0, n_1, ..., n_L]`` has ``n_0`` input units, hidden layers
1 .. L-1 and ``n_L`` output units. Its parameters are a dict: ``params["W1"]`` .. ``params["WL"]``
and ``params["b1"]`` .. ``params["bL"]``, where ``W{k}[u, v]`` is the weight from unit v of layer
k-1 to unit u of layer k (shape ``(n_k, n_{k-1})``, receiving unit first as everywhere in lstmlab;
Sec. 4 of the tutorial prints it sender first, W_[v,u]) and ``b{k}[u]`` is the bias b_u.
With samples in rows, the weighted inputs z_u = sum_v W_[v,u] y_v of a whole layer are ``y_prev @ W.T``.
"""

from dataclasses import dataclass, field

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime
from lstmlab.numpy.init import uniform


def layer_sizes(params):
    """The sizes [n_0, ..., n_L] of the network with these parameters, after checking them."""
    L = len(params) // 2
    if L == 0 or set(params) != {f"{p}{k}" for k in range(1, L + 1) for p in "Wb"}:
        raise ValueError(f"params must hold W1..WL and b1..bL, got keys {sorted(params)}")
    sizes = [params["W1"].shape[-1]]
    for k in range(1, L + 1):
        W, b = params[f"W{k}"], params[f"b{k}"]
        if W.ndim != 2 or W.shape[1] != sizes[-1]:
            raise ValueError(f"W{k} must have shape (n_{k}, {sizes[-1]}), got shape {W.shape}")
        if b.shape != (W.shape[0],):
            raise ValueError(f"b{k} must have shape ({W.shape[0]},) to match W{k}, got shape {b.shape}")
        sizes.append(W.shape[0])
    return sizes


def init_params(sizes, rng, scale=0.5):
    """Small random weights and biases, uniform in [-scale, scale], for layer sizes [n_0, ..., n_L]."""
    if len(sizes) < 2 or any(int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"sizes must list at least two positive layer sizes, got {sizes}")
    params = {}
    for k in range(1, len(sizes)):
        # drawn sender first and transposed, so that a seed gives the same network as it always has
        params[f"W{k}"] = uniform((sizes[k - 1], sizes[k]), scale, rng).T.copy()
        params[f"b{k}"] = uniform((sizes[k],), scale, rng)
    return params


def _check_input(params, X):
    sizes = layer_sizes(params)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != sizes[0]:
        raise ValueError(f"X must have shape (N, {sizes[0]}) for a network with {sizes[0]} inputs, "
                         f"got shape {X.shape}")
    return X, len(sizes) - 1


def forward(params, X):
    """Outputs of every layer, [X, y_1, ..., y_L], each (N, n_k): y_u = sigma(s_u), s_u = z_u + b_u,
    z_u = sum_v W_[v,u] y_v (Eqs. 1-3). The output units' y_o is the last entry.

    Implements: Eqs. 1-3.
    """
    X, L = _check_input(params, X)
    ys = [X]
    for k in range(1, L + 1):
        ys.append(sigmoid(ys[-1] @ params[f"W{k}"].T + params[f"b{k}"]))
    return ys


def loss(params, X, d):
    """E = 1/2 sum over samples and output units o of e_o^2, with e_o = d_o - y_o."""
    return _error(forward(params, X)[-1], d)


def _error(y, d):
    e = _check_targets(d, y) - y
    return 0.5 * float(np.sum(e * e))


def _check_targets(d, y):
    d = np.asarray(d)
    if d.shape != y.shape:
        raise ValueError(f"d must have shape {y.shape} (samples, output units), got shape {d.shape}")
    return d


def error_signals(params, ys, d):
    """Error signals [theta_1, ..., theta_L] of every non-input layer, each (N, n_k).

    Output units (Eq. 5): theta_o = (d_o - y_o) y_o (1 - y_o).
    Hidden units: theta_h = sum_o theta_o W_[h,o] * y_h (1 - y_h), o in Suc(h), i.e. the
    successors' error signals sent back through the same weights that carried y_h forward.

    Implements: Eqs. 4-5.
    """
    L = len(ys) - 1
    thetas = [(_check_targets(d, ys[-1]) - ys[-1]) * sigmoid_prime(ys[-1])]
    for k in range(L - 1, 0, -1):
        thetas.append((thetas[-1] @ params[f"W{k + 1}"]) * sigmoid_prime(ys[k]))
    return thetas[::-1]


def weight_changes(ys, thetas, eta):
    """Delta W_[v,u] = eta theta_u y_v and Delta b_u = eta theta_u, summed over the samples."""
    changes = {}
    for k, theta in enumerate(thetas, start=1):
        changes[f"W{k}"] = eta * (theta.T @ ys[k - 1])
        changes[f"b{k}"] = eta * theta.sum(axis=0)
    return changes


def gradients(params, X, d):
    """dE/dW_k and dE/db_k for every layer, and dE/dX under key "X", by backpropagation.

    Each is minus the weight change at eta = 1, since theta_u = -dE/ds_u (Eq. 4); the input's
    gradient is what an input unit would receive as sum_u theta_u W_[i,u], with the sign flipped.
    """
    ys = forward(params, X)
    thetas = error_signals(params, ys, d)
    grads = {name: -change for name, change in weight_changes(ys, thetas, 1.0).items()}
    grads["X"] = -(thetas[0] @ params["W1"])
    return grads


@dataclass
class Fit:
    """Result of backpropagation training: parameters and E after each epoch."""

    params: dict
    losses: list = field(default_factory=list)


def train(sizes, X, d, eta=0.5, epochs=5000, rng=None, params=None):
    """Batch backpropagation: every epoch applies Delta W = eta theta_u y_v summed over all samples.

    Starts from ``params`` if given (copied), else from ``init_params(sizes, rng)``
    (``rng`` defaults to seed 0).
    """
    if params is None:
        params = init_params(sizes, rng if rng is not None else np.random.default_rng(0))
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    if layer_sizes(params) != list(sizes):
        raise ValueError(f"params have layer sizes {layer_sizes(params)}, expected {list(sizes)}")
    fit = Fit(params=params)
    ys = forward(params, X)
    for _ in range(epochs):
        for name, change in weight_changes(ys, error_signals(params, ys, d), eta).items():
            params[name] += change
        # this forward pass serves both the error after the epoch and the next epoch's update
        ys = forward(params, X)
        fit.losses.append(_error(ys[-1], d))
    return fit
