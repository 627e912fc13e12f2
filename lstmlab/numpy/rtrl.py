"""Real-time recurrent learning (Sec. 6.2, Eqs. 13-19) for the fully recurrent network.

Same network and notation as :mod:`lstmlab.numpy.fully_recurrent`: ``W[u, v]`` from unit v (an
input unit or a non-input unit) to the non-input unit u. The sensitivities are kept in one array
``p`` of shape ``(B, n_units, n_in + n_units, n_units)`` with ``p[b, u, v, k]`` = p^k_uv =
∂y_k/∂W[u, v] (Eq. 15). One step (Eq. 18) costs O(n_pre · n_units³), the O(n⁴) of RTRL; the
memory is that of ``p`` whatever the length of the sequence.
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime
from lstmlab.numpy.fully_recurrent import check_sequence


def sensitivity_step(p, W, X, y):
    """Eq. (18): p^k_uv(τ+1) = f'_k(z_k(τ+1)) [δ_uk X_v(τ+1) + Σ_l W[k, l] p^l_uv(τ)].

    p: ``(B, n_units, n_in + n_units, n_units)`` the sensitivities of step τ; X: ``(B, n_in +
    n_units)`` the unit outputs feeding step τ+1 (inputs of τ+1, outputs of τ); y: ``(B, n_units)``
    the new outputs y(τ+1) = f(W X), through which f' is written. Returns the sensitivities of τ+1.

    Implements: Eqs. 15, 18.
    """
    n_units = W.shape[0]
    # Σ_l W[k, l] p^l_uv(τ): the recurrent part, one matrix product on the last axis.
    carried = p @ W[:, W.shape[1] - n_units:].T
    # δ_uk X_v(τ+1): the weight W[u, v] acts directly only on unit u.
    direct = np.einsum("uk,bv->buvk", np.eye(n_units, dtype=W.dtype), X)
    return sigmoid_prime(y)[:, None, None, :] * (carried + direct)


def gradient(e, p):
    """Eq. (14) as a gradient: ∂E(τ)/∂W[u, v] = -Σ_k e_k(τ) p^k_uv(τ), summed over the batch.

    e: ``(B, n_units)`` the errors d - y of step τ (zero where there is no target); p: the
    sensitivities of the same step. Returns an array shaped like W.

    Implements: Eq. 14.
    """
    return -np.einsum("bk,buvk->uv", e, p)


class RTRL:
    """A fully recurrent network learning online: call :meth:`step` as each input arrives.

    Implements: Eq. 19.
    """

    def __init__(self, W, batch=1, y0=None):
        self.W = W
        dummy = np.zeros((1, batch, W.shape[1] - W.shape[0]), dtype=W.dtype)
        _, n_units, self.y = check_sequence(W, dummy, y0)
        self.y = self.y.copy()
        # Eq. (19): the initial outputs do not depend on the weights.
        self.p = np.zeros((batch,) + W.shape + (n_units,), dtype=W.dtype)
        self.grad = np.zeros_like(W)  # Σ_τ ∂E(τ)/∂W so far, Eq. (13) with the sign of a gradient

    def step(self, x, d=None, mask=None, eta=0.0):
        """Eqs. (16)-(18) for one time step, then Eq. (14); returns the new outputs y (B, n_units).

        x: ``(B, n_in)``; d, mask: ``(B, n_units)`` or ``None`` (no target now). The gradient of
        E(τ) is added to ``self.grad``; with ``eta > 0`` the weights also change at once,
        W ← W - η ∂E(τ)/∂W, and later sensitivities are carried on with the new weights (the usual
        online approximation: exact only in the limit of small η).

        Implements: Eqs. 16-17.
        """
        batch, n_units = self.y.shape
        n_in = self.W.shape[1] - n_units
        if x.shape != (batch, n_in):
            raise ValueError(f"x must have shape {(batch, n_in)}, got {x.shape}")
        X = np.concatenate([x, self.y], axis=1)
        y = sigmoid(X @ self.W.T)
        self.p = sensitivity_step(self.p, self.W, X, y)
        self.y = y
        if d is not None:
            if mask is None:
                mask = np.ones_like(y)
            if d.shape != y.shape or mask.shape != y.shape:
                raise ValueError(f"d and mask must have shape {y.shape}, got {d.shape} and {mask.shape}")
            e = np.where(mask.astype(bool), d - y, 0.0)
            grad = gradient(e, self.p)
            self.grad += grad
            if eta:
                self.W = self.W - eta * grad
        return y


def rtrl(W, x, d, mask, y0=None, eta=0.0):
    """Run RTRL over a whole sequence; returns (grad, Y, W_final).

    With ``eta=0`` (accumulate only) the weights stay fixed and ``grad`` is the full gradient
    ∂E_total/∂W, equal to BPTT's. With ``eta > 0`` the weights change after every step and
    ``W_final`` is the result of that online learning.

    Implements: Eq. 13.
    """
    check_sequence(W, x, y0, d, mask)
    learner = RTRL(W.copy(), batch=x.shape[1], y0=y0)
    Y = np.stack([learner.step(x[j], d[j], mask[j], eta) for j in range(x.shape[0])])
    return learner.grad, Y, learner.W
