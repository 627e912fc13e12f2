"""Sequence tagging with a recurrent model: a logistic unit reads the model's output y(t) at every step,
p(t) = sigmoid(w . y(t) + b), trained on the cross-entropy summed over the tagged steps, full BPTT.

Any :class:`lstmlab.numpy.recurrent.RecurrentModel` (RNN, LSTM, GRU; any depth; one or two
directions) can sit under the readout; Chapters 16 and 17 compare them on
:func:`lstmlab.datasets.tasks.spans`.
"""

import time

import numpy as np

from lstmlab.numpy.activations import sigmoid
from lstmlab.numpy.init import uniform
from lstmlab.numpy.optim import Adam


class Tagger:
    """A recurrent model with a logistic readout at every step; ``params`` holds both parts' arrays."""

    def __init__(self, model, seed=0):
        self.model = model
        width = model.num_directions * model.hidden_size
        rng = np.random.default_rng(seed)
        # The model's own arrays, not copies: an optimiser stepping on self.params trains the model.
        self.params = dict(model.params)
        self.params["readout_w"] = uniform((width,), 1.0 / np.sqrt(width), rng, model.dtype)
        self.params["readout_b"] = np.zeros(1, dtype=model.dtype)

    @property
    def n_params(self):
        return sum(v.size for v in self.params.values())

    def predict(self, x):
        """p(t) = sigmoid(w . y(t) + b) for every step and sequence, shape (T, B)."""
        y, _ = self.model.forward(x)
        return sigmoid(y @ self.params["readout_w"] + self.params["readout_b"][0])

    def loss_and_gradients(self, x, d, mask):
        """Mean cross-entropy over the steps with mask 1, and its gradient for every parameter.

        ``d`` and ``mask`` are (T, B): targets in {0, 1}, and which steps carry one.
        """
        if d.shape != x.shape[:2] or mask.shape != x.shape[:2]:
            raise ValueError(f"d and mask must have shape {x.shape[:2]}, got {d.shape} and {mask.shape}")
        y, _ = self.model.forward(x)
        a = y @ self.params["readout_w"] + self.params["readout_b"][0]
        n = mask.sum()
        # -log sigmoid(a) = logaddexp(0, -a): no overflow for large |a|.
        loss = float((mask * (d * np.logaddexp(0.0, -a) + (1.0 - d) * np.logaddexp(0.0, a))).sum() / n)
        da = mask * (sigmoid(a) - d) / n
        grads = {"readout_w": np.einsum("tb,tbh->h", da, y), "readout_b": np.array([da.sum()])}
        self.model.backward(da[:, :, None] * self.params["readout_w"])
        grads.update(self.model.grads)
        return loss, grads


def accuracy(tagger, batch):
    """Per step: the fraction of tagged sequences whose tag p(t) > 1/2 is right (NaN where none is tagged),
    and the overall fraction over all tagged steps."""
    right = ((tagger.predict(batch.x) > 0.5) == (batch.d[:, :, 0] > 0.5)) * batch.mask
    counts = batch.mask.sum(axis=1)
    per_step = np.where(counts > 0, right.sum(axis=1) / np.maximum(counts, 1), np.nan)
    return per_step, float(right.sum() / batch.mask.sum())


def train(tagger, make_batch, steps, lr, rng):
    """Adam on fresh batches ``make_batch(rng)``; returns the loss per step and seconds per step."""
    opt = Adam(tagger.params, lr=lr)
    losses = np.empty(steps)
    start = time.perf_counter()
    for k in range(steps):
        batch = make_batch(rng)
        losses[k], grads = tagger.loss_and_gradients(batch.x, batch.d[:, :, 0], batch.mask)
        opt.step(grads)
    return losses, (time.perf_counter() - start) / steps
