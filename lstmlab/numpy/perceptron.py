"""The perceptron of Sec. 3.1 and its learning rule of Sec. 3.3, with the Boolean truth tables.

A single unit has weights ``W`` of shape ``(n,)`` and a scalar bias ``b``; a batch of ``N`` samples
``X`` has shape ``(N, n)``, one sample per row, so the states of all samples are ``X @ W + b``.
The helpers that check these shapes are shared by the other single-unit modules
(:mod:`lstmlab.numpy.delta_rule`, :mod:`lstmlab.numpy.sigmoid_unit`).
"""

from dataclasses import dataclass, field

import numpy as np

from lstmlab.numpy.init import uniform

_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

#: The four inputs of a two-input Boolean function, one per row: (0,0), (0,1), (1,0), (1,1).
BOOLEAN_INPUTS = _INPUTS

#: Desired outputs d in the perceptron's coding {1, -1} (1 = true), row by row of BOOLEAN_INPUTS.
TRUTH_TABLES = {
    "AND": np.array([-1.0, -1.0, -1.0, 1.0]),
    "OR": np.array([-1.0, 1.0, 1.0, 1.0]),
    "NAND": np.array([1.0, 1.0, 1.0, -1.0]),
    "NOR": np.array([1.0, -1.0, -1.0, -1.0]),
    "XOR": np.array([-1.0, 1.0, 1.0, -1.0]),
}
for _d in TRUTH_TABLES.values():
    _d.flags.writeable = False
_INPUTS.flags.writeable = False


def truth_table(name):
    """Inputs X (4, 2) and desired outputs d (4,) in {1, -1} of the Boolean function `name`."""
    key = name.upper()
    if key not in TRUTH_TABLES:
        raise KeyError(f"unknown Boolean function {name!r}; expected one of {sorted(TRUTH_TABLES)}")
    return BOOLEAN_INPUTS.copy(), TRUTH_TABLES[key].copy()


def check_unit(W, b, X):
    """Validate the parameters of one unit and a batch of inputs; return them as float arrays.

    W must have shape (n,), b must be a scalar and X must have shape (N, n).
    """
    W, b, X = np.asarray(W), np.asarray(b), np.asarray(X)
    if W.ndim != 1:
        raise ValueError(f"W must have shape (n,), got shape {W.shape}")
    if b.ndim != 0:
        raise ValueError(f"b must be a scalar (shape ()), got shape {b.shape}")
    if X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"X must have shape (N, {W.shape[0]}) to match W of shape {W.shape}, "
                         f"got shape {X.shape}")
    return W, b, X


def check_targets(d, N):
    """Validate the desired outputs d of N samples: shape (N,)."""
    d = np.asarray(d)
    if d.shape != (N,):
        raise ValueError(f"d must have shape ({N},), one target per sample, got shape {d.shape}")
    return d


def prepare_training(X, d, rng, W0, b0):
    """Float64 copies of X (N, n), d (N,) and the starting W (n,), b of a single-unit training run.

    Without ``W0`` the weights, and the bias unless ``b0`` is given, start uniformly random in
    [-0.5, 0.5], drawn from ``rng`` (seed 0 when ``rng`` is None); with ``W0`` the bias starts
    at ``b0`` or 0. Training never modifies the caller's arrays.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, n), got shape {X.shape}")
    d = check_targets(d, X.shape[0]).astype(np.float64)
    if W0 is None:
        rng = rng if rng is not None else np.random.default_rng(0)
        W0 = uniform((X.shape[1],), 0.5, rng)
        if b0 is None:
            b0 = uniform((), 0.5, rng)
    b0 = 0.0 if b0 is None else b0
    W, b, _ = check_unit(np.array(W0, dtype=np.float64), np.float64(b0), X)
    return X, d, W, float(b)


def state(W, b, X):
    """State s = z + b with weighted input z = sum_i W_i x_i (Sec. 3.1), for every row of X."""
    W, b, X = check_unit(W, b, X)
    return X @ W + b


def output(W, b, X):
    """Perceptron output y = 1 if s > 0 else -1 (Sec. 3.1), for every row of X: shape (N,)."""
    return np.where(state(W, b, X) > 0, 1.0, -1.0)


def update(W, b, x, d, eta):
    """Perceptron rule for one sample <x, d> (Sec. 3.3): Delta W_i = eta (d - y) x_i, Delta b = eta (d - y).

    The bias is a weight whose input is always 1. Returns (Delta W, Delta b); both are zero when the
    sample is already classified correctly.
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"x must be one sample of shape (n,), got shape {x.shape}")
    (y,) = output(W, b, x[None, :])
    d = float(d)
    if d not in (1.0, -1.0):
        raise ValueError(f"d must be 1 or -1, got {d}")
    return eta * (d - y) * x, eta * (d - y)


@dataclass
class Fit:
    """Result of a training run: final parameters, errors per epoch, and whether it converged."""

    W: np.ndarray
    b: float
    errors: list = field(default_factory=list)
    converged: bool = False
    #: (W, b) after each epoch, for watching where the weights go
    history: list = field(default_factory=list)

    @property
    def epochs(self):
        """Number of epochs run (the last one free of errors if the run converged)."""
        return len(self.errors)


def train(X, d, eta=0.1, max_epochs=100, rng=None, W0=None, b0=None):
    """Train a perceptron with the perceptron rule, one sample at a time, in the order of X.

    An epoch is one pass over the samples; ``errors[k]`` counts the samples misclassified (and so
    used for an update) during epoch k. Training stops after the first epoch without an error, so
    ``converged`` means the final weights classify every sample correctly. Starting weights as in
    :func:`prepare_training`.
    """
    X, d, W, b = prepare_training(X, d, rng, W0, b0)
    if not np.all(np.isin(d, (1.0, -1.0))):
        raise ValueError("the perceptron's targets d must all be 1 or -1")
    fit = Fit(W=W, b=b)
    for _ in range(max_epochs):
        mistakes = 0
        for x, target in zip(X, d):
            dW, db = update(fit.W, fit.b, x, target, eta)
            if db != 0:
                mistakes += 1
                fit.W = fit.W + dW
                fit.b = fit.b + db
        fit.errors.append(mistakes)
        fit.history.append((fit.W.copy(), fit.b))
        if mistakes == 0:
            fit.converged = True
            break
    return fit


def decision_line(W, b, x1):
    """Points (x1, x2) of the decision line W_1 x1 + W_2 x2 + b = 0 of a two-input perceptron.

    Returns x2 for the given x1; raises if the line is vertical (W_2 = 0), where x2 is not a
    function of x1.
    """
    W, b, _ = check_unit(W, b, np.zeros((1, 2)))
    if W[1] == 0:
        raise ValueError("W_2 = 0: the decision line is vertical, x1 = -b / W_1")
    return -(W[0] * np.asarray(x1) + b) / W[1]
