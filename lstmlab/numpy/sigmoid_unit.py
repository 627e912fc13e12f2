"""The sigmoid threshold unit of Sec. 3.4: y = 1 / (1 + exp(-l s)), s = sum_i W_i x_i + b.

Shapes as for the perceptron: W (n,), scalar b, X (N, n), y (N,). The steepness l > 0 scales the
state before squashing; l = 1 is the unit of Eq. (1), and l -> infinity recovers a step.
"""

from dataclasses import dataclass, field

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime
from lstmlab.numpy.perceptron import check_targets, check_unit, prepare_training


def _check_steepness(l):
    if not np.isscalar(l) or not l > 0:
        raise ValueError(f"the steepness l must be a positive number, got {l!r}")


def forward(W, b, X, l=1.0):
    """Output y = sigma(l s) with s = X @ W + b (Sec. 3.4), for every row of X: shape (N,)."""
    _check_steepness(l)
    W, b, X = check_unit(W, b, X)
    return sigmoid(X @ W + b, l)


def backward(W, X, y, dy, l=1.0):
    """Gradients of a loss E w.r.t. W, b and X, given y = forward(W, b, X, l) and dy = dE/dy.

    dE/ds = dE/dy * l y (1 - y); then dE/dW = sum_samples dE/ds x, dE/db = sum dE/ds,
    dE/dX = dE/ds W.
    """
    W, X, y, dy = np.asarray(W), np.asarray(X), np.asarray(y), np.asarray(dy)
    if y.shape != (X.shape[0],) or dy.shape != y.shape:
        raise ValueError(f"y and dy must have shape ({X.shape[0]},) for X of shape {X.shape}, "
                         f"got {y.shape} and {dy.shape}")
    ds = dy * sigmoid_prime(y, l)
    return {"W": X.T @ ds, "b": ds.sum(), "X": np.outer(ds, W)}


def loss(W, b, X, d, l=1.0):
    """Error E = 1/2 sum over samples of (d - y)^2."""
    y = forward(W, b, X, l)
    e = check_targets(d, y.shape[0]) - y
    return 0.5 * float(e @ e)


def gradients(W, b, X, d, l=1.0):
    """dE/dW, dE/db and dE/dX of E = 1/2 sum (d - y)^2, through forward and backward."""
    y = forward(W, b, X, l)
    return backward(W, X, y, -(check_targets(d, y.shape[0]) - y), l)


@dataclass
class Fit:
    """Result of gradient-descent training: parameters and E after each epoch."""

    W: np.ndarray
    b: float
    losses: list = field(default_factory=list)


def train(X, d, eta=0.5, epochs=500, l=1.0, rng=None, W0=None, b0=None):
    """Batch gradient descent on E: Delta W = -eta dE/dW, Delta b = -eta dE/db, once per epoch.

    Targets d lie in [0, 1], the sigmoid's range (use 0 for 'false', 1 for 'true').
    """
    X, d, W, b = prepare_training(X, d, rng, W0, b0)
    if np.any((d < 0) | (d > 1)):
        raise ValueError("targets d of a sigmoid unit must lie in [0, 1]")
    fit = Fit(W=W, b=b)
    for _ in range(epochs):
        g = gradients(fit.W, fit.b, X, d, l)
        fit.W, fit.b = fit.W - eta * g["W"], fit.b - eta * float(g["b"])
        fit.losses.append(loss(fit.W, fit.b, X, d, l))
    return fit
