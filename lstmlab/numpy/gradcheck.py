"""Central-difference gradient checking, the test every backward pass in the course must pass."""

import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """dE/dx of the scalar function f() by central differences, perturbing the array x in place."""
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need a float64 array, got {x.dtype}")
    grad = np.zeros_like(x)
    # Index x itself: reshape(-1) would silently copy a non-contiguous view (a transpose, say),
    # the perturbation would never reach f and every derivative would read as zero.
    for k in np.ndindex(x.shape):
        saved = x[k]
        x[k] = saved + eps
        plus = f()
        x[k] = saved - eps
        minus = f()
        x[k] = saved
        grad[k] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """|a - b| / (|a| + |b|) in the Euclidean norm; 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} against {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def check_gradients(loss, params, grads, eps=1e-6):
    """Largest relative error between analytic grads and central differences, per parameter name.

    loss: callable with no arguments returning the scalar loss at the current params;
    params, grads: dicts of float64 arrays with the same keys (params are perturbed in place).
    """
    return {name: relative_error(grads[name], numerical_gradient(loss, params[name], eps))
            for name in params}
