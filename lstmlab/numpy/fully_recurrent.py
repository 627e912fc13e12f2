"""The fully recurrent network of Sec. 6 and its training by backpropagation through time (Eqs. 6-12).

Notation. ``n_in`` input units I and ``n_units`` non-input units U, every one of them a sigmoid
unit. ``W`` has shape ``(n_units, n_in + n_units)`` and ``W[u, v]`` is the weight from unit ``v`` to
unit ``u`` (receiving unit first, as Eq. 7 writes it): columns ``0 .. n_in-1`` are the input units,
columns ``n_in ..`` the non-input units (the recurrent part, ``W[:, n_in:]``). There is no separate
bias: append a constant-one input unit for one.

Time. The epoch starts at t' with the given outputs ``y0 = y(t')`` (zeros by default) and runs for
``T`` steps; ``x[j]`` is the input ``y_I(t'+1+j)`` and ``Y[j]`` the outputs ``y_U(t'+1+j)``. Arrays
carry a batch axis after the time axis: ``x`` is ``(T, B, n_in)``, ``Y`` is ``(T, B, n_units)``.

Targets. ``d`` (``(T, B, n_units)``) holds the desired outputs and ``mask`` (same shape, 0/1) marks
the pairs (τ, u) with u ∈ T(τ), the units that have a target at time τ (Eq. 10).

Sign convention. ``theta`` is the error signal ϑ_u(τ) = -∂E_total/∂z_u(τ), the sign for which
Eq. (12) reads ϑ_u(t) = f'(z_u(t)) e_u(t) with e = d - y, and ΔW[u, v] = -η ∂E_total/∂W[u, v] =
η Σ_τ ϑ_u X_v.
Functions return the gradient ∂E_total/∂W itself (so a step is ``W -= eta * grad``).
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime


def check_sequence(W, x, y0=None, d=None, mask=None):
    """Validate shapes and dtypes; returns (n_in, n_units, y0) with y0 filled in."""
    if not isinstance(W, np.ndarray) or W.ndim != 2:
        raise ValueError(f"W must be a 2-d array (n_units, n_in + n_units), got {getattr(W, 'shape', W)}")
    n_units = W.shape[0]
    n_in = W.shape[1] - n_units
    if n_in < 0:
        raise ValueError(f"W must have at least n_units={n_units} columns, got shape {W.shape}")
    if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != n_in:
        raise ValueError(f"x must have shape (T, B, {n_in}), got {getattr(x, 'shape', type(x).__name__)}")
    for name, a in (("W", W), ("x", x)):
        if a.dtype.kind != "f":
            raise TypeError(f"{name} must be a float array, got dtype {a.dtype}")
    batch = x.shape[1]
    if y0 is None:
        y0 = np.zeros((batch, n_units), dtype=W.dtype)
    elif y0.shape != (batch, n_units):
        raise ValueError(f"y0 must have shape {(batch, n_units)}, got {y0.shape}")
    expected = x.shape[:2] + (n_units,)
    for name, a in (("d", d), ("mask", mask)):
        if a is not None and a.shape != expected:
            raise ValueError(f"{name} must have shape {expected}, got {a.shape}")
    return n_in, n_units, y0


def forward(W, x, y0=None):
    """Eqs. (6)-(7): z(τ+1) = W [y_I(τ+1), y_U(τ)], y(τ+1) = f(z(τ+1)); returns (Y, X).

    ``X[j]`` is the vector of unit outputs feeding every unit at step j, X_[v,u](τ) = y_v(τ) for an
    input unit v and y_v(τ-1) for a non-input unit v; it is what the weight gradient needs. With the
    batch in rows, a step is ``X[j] @ W.T``.

    Implements: Eqs. 6-7.
    """
    n_in, n_units, y = check_sequence(W, x, y0)
    steps, batch = x.shape[:2]
    Y = np.empty((steps, batch, n_units), dtype=W.dtype)
    X = np.empty((steps, batch, n_in + n_units), dtype=W.dtype)
    for j in range(steps):
        X[j, :, :n_in] = x[j]
        X[j, :, n_in:] = y
        y = sigmoid(X[j] @ W.T)
        Y[j] = y
    return Y, X


def error(Y, d, mask):
    """Eq. (10): e_u(τ) = d_u(τ) - y_u(τ) where u ∈ T(τ), zero elsewhere.

    Implements: Eq. 10.
    """
    return np.where(mask.astype(bool), d - Y, 0.0)


def total_error(W, x, d, mask, y0=None):
    """Eqs. (8)-(9): E_total = Σ_τ ½ Σ_u e_u(τ)² (summed over the batch too).

    Implements: Eqs. 8-9.
    """
    check_sequence(W, x, y0, d, mask)
    Y, _ = forward(W, x, y0)
    return 0.5 * float(np.sum(error(Y, d, mask) ** 2))


def bptt(W, x, d, mask, y0=None, k=None):
    """Eq. (12), corrected, run backwards from t to t'; returns (grad, theta, d_y0).

    ``grad`` is ∂E_total/∂W (Eq. 8 summed over τ, and over the batch), ``theta`` the error signals
    ϑ(τ) ``(T, B, n_units)`` and ``d_y0`` = ∂E_total/∂y(t').

    Truncation: with ``k`` given, the error e(τ0) injected at time τ0 is propagated back at most
    ``k`` steps: it reaches ϑ(τ0), ϑ(τ0-1), ..., ϑ(τ0-k) and no earlier one, and so changes the
    weights through X(τ0-k) ... X(τ0). ``k=0`` is plain backprop within each time step; any
    ``k >= T-1`` is full BPTT. ``d_y0`` is returned only for full BPTT (``None`` otherwise).

    Implements: Eqs. 11-12.
    """
    check_sequence(W, x, y0, d, mask)
    Y, X = forward(W, x, y0)
    n_in = W.shape[1] - W.shape[0]
    W_rec = W[:, n_in:]
    e = error(Y, d, mask)
    f_prime = sigmoid_prime(Y)
    theta = np.empty_like(Y)
    steps = Y.shape[0]
    if k is None:
        back = np.zeros_like(Y[0])  # Σ_k W[k, u] ϑ_k(τ+1), zero after the last step
        for j in reversed(range(steps)):
            theta[j] = f_prime[j] * (e[j] + back)
            back = theta[j] @ W_rec
        d_y0 = -back
    else:
        if k < 0:
            raise ValueError(f"k must be a non-negative number of steps or None, got {k}")
        # window[a] is the part of ϑ(τ) that was injected a steps later, at τ + a; an error can
        # travel back at most T-1 steps, so a longer window would only hold zeros.
        window = np.zeros((min(k, steps - 1) + 1,) + Y.shape[1:], dtype=Y.dtype)
        for j in reversed(range(steps)):
            window[1:] = window[:-1] @ W_rec
            window[0] = e[j]
            window *= f_prime[j]
            theta[j] = window.sum(axis=0)
        d_y0 = None
    grad = -np.einsum("tbu,tbv->uv", theta, X)
    return grad, theta, d_y0
