"""Sequence classification (Sec. 11): an LSTM reads a whole sequence and a softmax read-out of its
last hidden state names the class,

    p(class = k | x(1) .. x(T)) = softmax(W h(T) + b)_k,    E = -mean over sequences of log p(true class)

so the error reaches the network only at the last step and must travel back through all T steps.
:class:`SequenceClassifier` is the NumPy model with its hand-written backward pass (gradient checks),
:class:`TorchSequenceClassifier` its torch twin for training (:func:`train`). The application of
Chapter 21 tells which of two books a short stretch of text comes from (:func:`source_windows`),
against a baseline that ignores the order of the characters (:class:`CharacterNaiveBayes`).
"""

import numpy as np
import torch
from torch import nn

from lstmlab.datasets import text
from lstmlab.numpy import LSTM
from lstmlab.numpy import softmax
from lstmlab.numpy.init import uniform
from lstmlab.torch import LSTM as TorchLSTM
from lstmlab.torch.threads import cpu_threads


class SequenceClassifier:
    """LSTM (torch.nn.LSTM's parameters) plus softmax read-out ``weight_out`` (K, H), ``bias_out`` (K,)
    of the hidden state after the last step."""

    def __init__(self, input_size, hidden_size, num_classes, seed=0):
        self.lstm = LSTM(input_size, hidden_size, seed=seed)
        rng = np.random.default_rng([seed, 1])
        scale = 1.0 / np.sqrt(hidden_size)   # torch.nn.Linear's bound
        # The LSTM's arrays themselves, not copies: an update through self.params reaches the LSTM.
        self.params = {**self.lstm.params,
                       "weight_out": uniform((num_classes, hidden_size), scale, rng),
                       "bias_out": uniform((num_classes,), scale, rng)}
        self.grads = {}
        self._tape = None

    @classmethod
    def from_torch(cls, module):
        """A NumPy copy (float64) of a :class:`TorchSequenceClassifier`'s parameters."""
        model = cls(module.lstm.input_size, module.lstm.hidden_size, module.out.out_features)
        softmax.copy_from_torch(model.params, module.lstm, module.out)
        return model

    def predict(self, x):
        """Logits W h(T) + b, (B, K), of every sequence of x (T, B, D)."""
        h, _ = self.lstm.forward(x)
        return softmax.logits(h[-1], self.params["weight_out"], self.params["bias_out"])

    def forward(self, x, labels):
        """E, the mean cross-entropy of the classes ``labels`` (B,) given sequences x (T, B, D)."""
        h, _ = self.lstm.forward(x)
        loss, readout = softmax.forward(h[-1], self.params["weight_out"], self.params["bias_out"],
                                        labels)
        self._tape = (h.shape, readout)
        return loss

    def backward(self):
        """dE/d every parameter (keys of ``params``): the error enters at the last step only."""
        if self._tape is None:
            raise RuntimeError("backward() needs a forward() first")
        shape, readout = self._tape
        dh_last, d_weight, d_bias = softmax.backward(readout)
        d_out = np.zeros(shape, dtype=dh_last.dtype)
        d_out[-1] = dh_last
        self.lstm.backward(d_out)
        self.grads = {**self.lstm.grads, "weight_out": d_weight, "bias_out": d_bias}
        return self.grads


class TorchSequenceClassifier(nn.Module):
    """The same model in torch: ``lstmlab.torch.LSTM`` and a ``torch.nn.Linear`` on its last output."""

    def __init__(self, input_size, hidden_size, num_classes, dtype=None):
        super().__init__()
        self.lstm = TorchLSTM(input_size, hidden_size, dtype=dtype)
        self.out = nn.Linear(hidden_size, num_classes, dtype=dtype)

    def forward(self, x):
        """Logits (B, K) of the sequences x (T, B, D)."""
        h, _ = self.lstm(x)
        return self.out(h[-1])


def train(make_batch, valid, setup, seed=0):
    """Train a :class:`TorchSequenceClassifier` with Adam and gradient-norm clipping on fresh batches.

    make_batch(rng, n) -> (x (T, n, D) float32 array, labels (n,)); valid: one such pair;
    setup: ``hidden``, ``classes``, ``batch``, ``lr``, ``clip``, ``iterations``, ``eval_every``,
    ``threads`` (torch's CPU threads while training). Returns ``(model, history)``, history
    holding the iteration, mean training error since the last entry and validation accuracy.
    """
    with cpu_threads(setup["threads"]):
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        x_valid, y_valid = valid
        model = TorchSequenceClassifier(x_valid.shape[2], setup["hidden"], setup["classes"])
        optimiser = torch.optim.Adam(model.parameters(), lr=setup["lr"])
        history, recent = [], []
        for iteration in range(1, setup["iterations"] + 1):
            x, labels = make_batch(rng, setup["batch"])
            loss = nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(labels))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), setup["clip"])
            optimiser.step()
            recent.append(loss.item())
            if iteration % setup["eval_every"] == 0 or iteration == setup["iterations"]:
                history.append({"iteration": iteration, "train_loss": float(np.mean(recent)),
                                "valid_accuracy": accuracy(model, x_valid, y_valid)})
                recent.clear()
        return model, history


@torch.no_grad()
def accuracy(model, x, labels):
    """Fraction of the sequences x (T, N, D) whose most probable class is the label."""
    return float(np.mean(model(torch.from_numpy(x)).argmax(dim=1).numpy() == labels))


def source_windows(sources, length, count, rng):
    """``count`` windows of ``length`` characters, each from a source drawn with equal probability.

    sources: a list of encoded texts (integer arrays), one per class. Returns ids (length, count) and
    the class of every window (count,).
    """
    labels = rng.integers(0, len(sources), size=count)
    ids = np.empty((length, count), dtype=np.int64)
    for k, source in enumerate(sources):
        where = np.flatnonzero(labels == k)
        ids[:, where] = text.random_windows(source, length, len(where), rng)
    return ids, labels


class CharacterNaiveBayes:
    """A baseline blind to order: each class is a bag of characters with add-one smoothed frequencies,
    and a window goes to the class under which its characters, taken independently, are most likely."""

    def __init__(self, sources, vocab_size):
        counts = np.stack([np.bincount(s, minlength=vocab_size) for s in sources]) + 1.0
        self.log_p = np.log(counts / counts.sum(axis=1, keepdims=True))   # (classes, V)

    def predict(self, ids):
        """The class of each window of ids (length, count); equal class priors."""
        return np.argmax(self.log_p[:, ids].sum(axis=1), axis=0)
