"""Gradient-descent optimisers on dicts of NumPy arrays: plain SGD and Adam (Kingma & Ba, 2015).

Both update the arrays of ``params`` in place, so a model that keeps its parameters in a dict
(``RecurrentModel.params``, a readout's weights) trains by ``opt.step(grads)`` after each backward
pass, ``grads`` having the keys of ``params``.
"""

import numpy as np


def _check(params, grads):
    if set(grads) != set(params):
        raise ValueError(f"grads must have the parameters' keys {sorted(params)}, got {sorted(grads)}")
    for key, g in grads.items():
        if g.shape != params[key].shape:
            raise ValueError(f"grads[{key!r}] must have shape {params[key].shape}, got {g.shape}")


def clip_grad_norm(grads, max_norm):
    """Scale all gradients together (in place) so that their joint Euclidean norm is at most
    ``max_norm``, as torch.nn.utils.clip_grad_norm_; returns the norm before clipping."""
    norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


class SGD:
    """w <- w - lr * dE/dw: the gradient-descent step of Eq. (12)'s weight change, ΔW = -η ∂E/∂W."""

    def __init__(self, params, lr):
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.params, self.lr = params, float(lr)

    def step(self, grads):
        _check(self.params, grads)
        for key, g in grads.items():
            self.params[key] -= self.lr * g


class Adam:
    """Adam: each weight's step is lr times its bias-corrected running mean gradient divided by the
    root of its bias-corrected running mean squared gradient (plus eps), as torch.optim.Adam."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        if lr <= 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        self.params, self.lr, self.betas, self.eps = params, float(lr), tuple(betas), float(eps)
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        _check(self.params, grads)
        self.t += 1
        b1, b2 = self.betas
        # The running means start at zero; dividing by 1 - beta^t removes that bias early on.
        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for key, g in grads.items():
            self.m[key] = b1 * self.m[key] + (1.0 - b1) * g
            self.v[key] = b2 * self.v[key] + (1.0 - b2) * g * g
            self.params[key] -= self.lr * (self.m[key] / c1) / (np.sqrt(self.v[key] / c2) + self.eps)
