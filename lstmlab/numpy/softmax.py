"""A linear read-out with a softmax over K classes and the cross-entropy error, forward and backward.

The read-out of a recurrent network's hidden state h (H numbers) into K class probabilities:

    z = W h + b                         (logits; W is (K, H) like torch.nn.Linear's weight)
    p_k = exp(z_k) / sum_j exp(z_j)     (softmax)
    E = -(1/N) sum_n log p_{d_n}        (mean cross-entropy over N read-outs with target classes d_n)

and its gradient dE/dz = (p - onehot(d)) / N, from which dE/dh = dE/dz W, dE/dW = dE/dz^T h and
dE/db = sum over read-outs of dE/dz. It is the output layer of the character language model (one
read-out per time step) and of the sequence classifier (one read-out per sequence).
"""

import numpy as np


def log_softmax(z):
    """log p_k = z_k - log sum_j exp(z_j) over the last axis, without overflow."""
    # exp of z - max(z) is at most 1, so the sum cannot overflow; the shift cancels in the ratio.
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(z, temperature=1.0):
    """p_k = exp(z_k / tau) / sum_j exp(z_j / tau) over the last axis (tau = temperature > 0)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    return np.exp(log_softmax(np.asarray(z) / temperature))


def _check(h, weight, bias, targets):
    if not isinstance(weight, np.ndarray) or weight.ndim != 2:
        got = weight.shape if isinstance(weight, np.ndarray) else type(weight).__name__
        raise ValueError(f"weight must be an array (K, H), got {got}")
    classes, hidden = weight.shape
    if bias.shape != (classes,):
        raise ValueError(f"bias must have shape {(classes,)}, got {bias.shape}")
    if not isinstance(h, np.ndarray) or h.ndim < 1 or h.shape[-1] != hidden:
        got = h.shape if isinstance(h, np.ndarray) else type(h).__name__
        raise ValueError(f"h must be an array (..., {hidden}), got {got}")
    if targets is None:
        return
    if not isinstance(targets, np.ndarray) or not np.issubdtype(targets.dtype, np.integer):
        got = targets.dtype if isinstance(targets, np.ndarray) else type(targets).__name__
        raise TypeError(f"targets must be an integer array, got {got}")
    if targets.shape != h.shape[:-1]:
        raise ValueError(f"targets must have shape {h.shape[:-1]} (h without its last axis), "
                         f"got {targets.shape}")
    if targets.size and (targets.min() < 0 or targets.max() >= classes):
        raise ValueError(f"targets must lie in [0, {classes - 1}], got values in "
                         f"[{targets.min()}, {targets.max()}]")


def logits(h, weight, bias):
    """z = W h + b for every h along the last axis: (..., H) -> (..., K)."""
    _check(h, weight, bias, None)
    return h @ weight.T + bias


def forward(h, weight, bias, targets):
    """Mean cross-entropy E of the softmax read-out of h (..., H) against targets (...); returns (E, cache)."""
    _check(h, weight, bias, targets)
    log_p = log_softmax(h @ weight.T + bias)
    picked = np.take_along_axis(log_p, targets[..., None], axis=-1)
    return float(-np.mean(picked)), (h, weight, np.exp(log_p), targets)


def backward(cache):
    """dE/dh (..., H), dE/dW (K, H) and dE/db (K,) of :func:`forward`, from dE/dz = (p - onehot(d)) / N."""
    h, weight, p, targets = cache
    dz = p.copy()
    np.put_along_axis(dz, targets[..., None], np.take_along_axis(p, targets[..., None], axis=-1) - 1.0,
                      axis=-1)
    dz /= targets.size
    flat_dz = dz.reshape(-1, dz.shape[-1])
    return dz @ weight, flat_dz.T @ h.reshape(-1, h.shape[-1]), flat_dz.sum(axis=0)


def copy_from_torch(params, lstm, out):
    """Copy a torch LSTM + linear read-out into ``params`` (float64, in place, so that a NumPy LSTM
    that holds the same arrays sees the new values); names are torch's plus ``weight_out``, ``bias_out``."""
    source = {name: p.detach().cpu().double().numpy() for name, p in lstm.named_parameters()}
    source.update(weight_out=out.weight.detach().cpu().double().numpy(),
                  bias_out=out.bias.detach().cpu().double().numpy())
    for name, array in params.items():
        array[...] = source[name]
