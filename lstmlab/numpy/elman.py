"""The Elman network of Sec. 5.1 in the tutorial's notation: context cells fed by the hidden layer.

Three layers of sigmoid units (input I, hidden H, output O) plus one context cell per fed-back
unit. At every step the context cells hold what their source layer produced one step before,
c(τ) = α c(τ-1) + y_src(τ-1), and the hidden units read them as extra inputs:

    y_H(τ) = f(W_IH y_I(τ) + W_CH c(τ) + b_H),    y_O(τ) = f(W_HO y_H(τ) + b_O).

``W_IH[h, i]`` is the weight from input unit i to hidden unit h, and so on (``W[u, v]``: into u
from v, receiving unit first; with samples in rows a layer is ``y @ W.T``). For Elman the source
layer is the hidden layer and α = 0; :mod:`lstmlab.numpy.jordan` feeds the context from the
output layer. Arrays are ``(T, B, width)``; the error is Eqs. (8)-(10)'s squared error at the
(τ, o) pairs marked in ``mask``.

Two gradients are offered. ``through_context=True`` is full backpropagation through time.
``through_context=False`` is Elman's own recipe, the one the tutorial describes: the context
cells' outputs are treated as one more fixed input, so the error stops at them.
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime
from lstmlab.numpy.init import uniform


class ContextNetwork:
    """Three-layer sigmoid network whose context cells copy one layer's previous output."""

    source = None  # "hidden" or "output", set by the subclass

    def __init__(self, n_in, n_hidden, n_out, alpha=0.0, seed=0, scale=0.5):
        rng = np.random.default_rng(seed)
        n_context = n_hidden if self.source == "hidden" else n_out
        self.sizes = (n_in, n_hidden, n_out)
        self.alpha = float(alpha)
        # weights drawn sender first and transposed, so that a seed gives the same network as it always has
        self.params = {
            "W_IH": uniform((n_in, n_hidden), scale, rng).T.copy(),
            "W_CH": uniform((n_context, n_hidden), scale, rng).T.copy(),
            "b_H": uniform((n_hidden,), scale, rng),
            "W_HO": uniform((n_hidden, n_out), scale, rng).T.copy(),
            "b_O": uniform((n_out,), scale, rng),
        }
        self.n_context = n_context

    def _check(self, x, c0=None, d=None, mask=None, context=None):
        n_in, _, n_out = self.sizes
        if not isinstance(x, np.ndarray) or x.ndim != 3 or x.shape[2] != n_in:
            raise ValueError(f"x must have shape (T, B, {n_in}), got {getattr(x, 'shape', type(x).__name__)}")
        if x.dtype != np.float64:
            raise TypeError(f"x must be float64, got {x.dtype}")
        steps, batch = x.shape[:2]
        if c0 is not None and c0.shape != (batch, self.n_context):
            raise ValueError(f"c0 must have shape {(batch, self.n_context)}, got {c0.shape}")
        for name, a in (("d", d), ("mask", mask)):
            if a is not None and a.shape != (steps, batch, n_out):
                raise ValueError(f"{name} must have shape {(steps, batch, n_out)}, got {a.shape}")
        if context is not None and context.shape != (steps, batch, self.n_context):
            raise ValueError(f"context must have shape {(steps, batch, self.n_context)}, got {context.shape}")

    def forward(self, x, c0=None, context=None):
        """Run the sequence; returns (y_O, cache). ``context`` (T, B, n_context) overrides the
        fed-back context cells with given values (used to check Elman's truncated gradient)."""
        self._check(x, c0, context=context)
        p = self.params
        steps, batch = x.shape[:2]
        c = np.zeros((batch, self.n_context)) if c0 is None else c0
        C = np.empty((steps, batch, self.n_context))
        YH = np.empty((steps, batch, self.sizes[1]))
        YO = np.empty((steps, batch, self.sizes[2]))
        for j in range(steps):
            if context is not None:
                c = context[j]
            C[j] = c
            YH[j] = sigmoid(x[j] @ p["W_IH"].T + c @ p["W_CH"].T + p["b_H"])
            YO[j] = sigmoid(YH[j] @ p["W_HO"].T + p["b_O"])
            c = self.alpha * c + (YH[j] if self.source == "hidden" else YO[j])
        return YO, (x, C, YH, YO)

    def loss(self, x, d, mask, c0=None, context=None):
        """E_total of Eqs. (8)-(10) over the sequence and the batch."""
        self._check(x, c0, d, mask, context)
        YO, _ = self.forward(x, c0, context)
        return 0.5 * float(np.sum(mask * (d - YO) ** 2))

    def backward(self, d, mask, cache, through_context=True):
        """Gradients of E_total for every parameter (a dict like ``params``) and for c0."""
        x, C, YH, YO = cache
        self._check(x, d=d, mask=mask)
        p = self.params
        grads = {key: np.zeros_like(value) for key, value in p.items()}
        d_next_c = np.zeros_like(C[0])  # ∂E/∂c(τ+1), zero after the last step
        for j in reversed(range(x.shape[0])):
            d_src = d_next_c if through_context else np.zeros_like(d_next_c)
            d_yo = -mask[j] * (d[j] - YO[j]) + (d_src if self.source == "output" else 0.0)
            d_so = d_yo * sigmoid_prime(YO[j])
            d_yh = d_so @ p["W_HO"] + (d_src if self.source == "hidden" else 0.0)
            d_sh = d_yh * sigmoid_prime(YH[j])
            grads["W_HO"] += d_so.T @ YH[j]
            grads["b_O"] += d_so.sum(axis=0)
            grads["W_IH"] += d_sh.T @ x[j]
            grads["W_CH"] += d_sh.T @ C[j]
            grads["b_H"] += d_sh.sum(axis=0)
            d_next_c = d_sh @ p["W_CH"] + self.alpha * d_src
        return grads, d_next_c


class Elman(ContextNetwork):
    """Elman network: one context cell per hidden unit, holding that unit's previous output."""

    source = "hidden"

    def __init__(self, n_in, n_hidden, n_out, seed=0, scale=0.5):
        super().__init__(n_in, n_hidden, n_out, alpha=0.0, seed=seed, scale=scale)
