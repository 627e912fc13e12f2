"""The delta rule of Sec. 3.3: gradient descent on E = 1/2 sum (d - y)^2 of a linear unit.

The unit is the perceptron without its threshold: its output is the state itself, y = s = X @ W + b,
so the error surface is a quadratic bowl with one minimum, the least-squares solution, which the
rule approaches whether or not the classes are linearly separable. To classify, threshold y at 0.
"""

from dataclasses import dataclass, field

import numpy as np

from lstmlab.numpy import perceptron
from lstmlab.numpy.perceptron import check_targets, check_unit, prepare_training


def output(W, b, X):
    """Linear (unthresholded) output y = sum_i W_i x_i + b for every row of X: shape (N,)."""
    W, b, X = check_unit(W, b, X)
    return X @ W + b


def loss(W, b, X, d):
    """Error E = 1/2 sum over samples of (d - y)^2."""
    y = output(W, b, X)
    e = check_targets(d, y.shape[0]) - y
    return 0.5 * float(e @ e)


def gradients(W, b, X, d):
    """dE/dW = -sum (d - y) x and dE/db = -sum (d - y), summed over the samples; also dE/dX."""
    y = output(W, b, X)
    e = check_targets(d, y.shape[0]) - y
    return {"W": -(X.T @ e), "b": -e.sum(), "X": -np.outer(e, W)}


def update(W, b, X, d, eta):
    """Delta rule for a batch: Delta W_i = eta sum (d - y) x_i, Delta b = eta sum (d - y)."""
    g = gradients(W, b, X, d)
    return -eta * g["W"], -eta * g["b"]


def misclassified(W, b, X, d):
    """How many samples the thresholded output (1 if y > 0 else -1) gets wrong."""
    y = np.where(output(W, b, X) > 0, 1.0, -1.0)
    return int(np.sum(y != check_targets(d, y.shape[0])))


@dataclass
class Fit:
    """Result of delta-rule training: parameters, and E and misclassifications after each epoch."""

    W: np.ndarray
    b: float
    losses: list = field(default_factory=list)
    errors: list = field(default_factory=list)


def train(X, d, eta=0.05, epochs=200, rng=None, W0=None, b0=None):
    """Batch gradient descent with the delta rule: one update per epoch from all samples.

    The descent converges to the least-squares solution when eta < 2 / lambda_max, lambda_max the
    largest eigenvalue of A^T A with A = [X, 1]; a larger eta makes it diverge.
    ``losses[k]`` and ``errors[k]`` are measured after the update of epoch k.
    """
    X, d, W, b = prepare_training(X, d, rng, W0, b0)
    fit = Fit(W=W, b=b)
    for _ in range(epochs):
        dW, db = update(fit.W, fit.b, X, d, eta)
        fit.W, fit.b = fit.W + dW, fit.b + float(db)
        fit.losses.append(loss(fit.W, fit.b, X, d))
        fit.errors.append(misclassified(fit.W, fit.b, X, d))
    return fit


def compare_rules(X, d, epochs, eta_perceptron=0.1, eta_delta=None, rng=None):
    """Misclassified samples at the end of each epoch for the perceptron rule and the delta rule.

    Both start from the same random weights. The perceptron rule updates after every sample and
    stops once an epoch is free of mistakes; its count then stays where it ended. ``eta_delta``
    defaults to half the step limit, 1 / lambda_max. Returns the counts under "perceptron" and
    "delta" (each of length ``epochs``) and the two training runs under "perceptron_fit" and
    "delta_fit".
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, n), got shape {X.shape}")
    A = np.column_stack([X, np.ones(len(X))])
    if eta_delta is None:
        eta_delta = 1.0 / np.linalg.eigvalsh(A.T @ A).max()
    seed = (rng if rng is not None else np.random.default_rng(0)).integers(2**32)
    p_fit = perceptron.train(X, d, eta=eta_perceptron, max_epochs=epochs, rng=np.random.default_rng(seed))
    d_fit = train(X, d, eta=eta_delta, epochs=epochs, rng=np.random.default_rng(seed))
    p_errors = [misclassified(W, b, X, d) for W, b in p_fit.history]
    return {"perceptron": p_errors + [p_errors[-1]] * (epochs - len(p_errors)), "delta": d_fit.errors,
            "perceptron_fit": p_fit, "delta_fit": d_fit}
