"""A character-level language model (Sec. 11): an LSTM reads a text one character at a time and a
softmax read-out of its hidden state gives the probabilities of the next character.

With x(t) the one-hot code of character t and h(t) the LSTM's hidden state after reading it,

    p(next = k | characters 1 .. t) = softmax(W h(t) + b)_k

and the error is the mean cross-entropy E = -mean_t log p(character t + 1), in nats per character.
Its exponential, the perplexity exp(E), is the number of equally likely characters the model is as
unsure as: the vocabulary size for a model that knows nothing, 1 for one that is always sure and right.

Two twins with the same parameters and results: :class:`CharLM` in NumPy (the LSTM of
``lstmlab.numpy`` and the read-out of ``lstmlab.numpy.softmax``, both with hand-written backward
passes) for the gradient checks and for sampling, and :class:`TorchCharLM` (``lstmlab.torch.LSTM``
and ``torch.nn.Linear``) for training on the CPU by truncated BPTT (:func:`train`).
"""

import copy
import time

import numpy as np
import torch
from torch import nn

from lstmlab.datasets import text as textlib
from lstmlab.numpy import LSTM
from lstmlab.numpy import softmax
from lstmlab.numpy.init import uniform
from lstmlab.torch import LSTM as TorchLSTM
from lstmlab.torch.threads import cpu_threads


def _check_ids(what, ids, vocab_size, shape=None):
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 2:
        got = f"{ids.dtype} array of shape {ids.shape}" if isinstance(ids, np.ndarray) else type(ids).__name__
        raise ValueError(f"{what} must be a 2-d integer array (T, B), got {got}")
    if shape is not None and ids.shape != shape:
        raise ValueError(f"{what} must have shape {shape} like the inputs, got {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"{what} must lie in [0, {vocab_size - 1}], got values in [{ids.min()}, {ids.max()}]")


class CharLM:
    """LSTM (torch.nn.LSTM's parameters, ``num_layers`` stacked) plus softmax read-out
    ``weight_out`` (V, H) and ``bias_out`` (V,) of the top layer's hidden state."""

    def __init__(self, vocab_size, hidden_size, num_layers=1, seed=0):
        self.vocab_size, self.hidden_size = int(vocab_size), int(hidden_size)
        self.lstm = LSTM(self.vocab_size, self.hidden_size, num_layers=num_layers, seed=seed)
        rng = np.random.default_rng([seed, 1])
        scale = 1.0 / np.sqrt(self.hidden_size)   # torch.nn.Linear's bound
        # The LSTM's arrays themselves, not copies: an update through self.params reaches the LSTM.
        self.params = {**self.lstm.params,
                       "weight_out": uniform((self.vocab_size, self.hidden_size), scale, rng),
                       "bias_out": uniform((self.vocab_size,), scale, rng)}
        self.grads = {}
        self._readout = None

    @classmethod
    def from_torch(cls, module):
        """A NumPy copy (float64) of a :class:`TorchCharLM`'s parameters."""
        model = cls(module.vocab_size, module.hidden_size, module.lstm.num_layers)
        softmax.copy_from_torch(model.params, module.lstm, module.out)
        return model

    def predict(self, inputs, state=None):
        """Logits W h(t) + b of the next character, (T, B, V), and the final (h, c) for the next window."""
        _check_ids("inputs", inputs, self.vocab_size)
        h, final = self.lstm.forward(textlib.one_hot(inputs, self.vocab_size), state)
        return softmax.logits(h, self.params["weight_out"], self.params["bias_out"]), final

    def forward(self, inputs, targets, state=None):
        """E, the mean cross-entropy over all T * B characters of a window; returns (E, final state).

        inputs, targets: (T, B) integer arrays, targets[t, b] the character after inputs[t, b];
        state: (h0, c0), each (num_layers, B, H), or None for zeros.
        """
        _check_ids("inputs", inputs, self.vocab_size)
        _check_ids("targets", targets, self.vocab_size, inputs.shape)
        h, final = self.lstm.forward(textlib.one_hot(inputs, self.vocab_size), state)
        loss, self._readout = softmax.forward(h, self.params["weight_out"], self.params["bias_out"],
                                              targets)
        return loss, final

    def backward(self):
        """dE/d every parameter (keys of ``params``) by BPTT through the window only (truncated)."""
        if self._readout is None:
            raise RuntimeError("backward() needs a forward() first")
        dh, d_weight, d_bias = softmax.backward(self._readout)
        self.lstm.backward(dh)   # no error reaches the final state from beyond the window
        self.grads = {**self.lstm.grads, "weight_out": d_weight, "bias_out": d_bias}
        return self.grads


class TorchCharLM(nn.Module):
    """The same model in torch: ``lstmlab.torch.LSTM`` on one-hot characters and a ``torch.nn.Linear``
    (``dropout`` between stacked layers while training, as torch.nn.LSTM's)."""

    def __init__(self, vocab_size, hidden_size, num_layers=1, dropout=0.0, dtype=None):
        super().__init__()
        self.vocab_size, self.hidden_size = int(vocab_size), int(hidden_size)
        self.lstm = TorchLSTM(self.vocab_size, self.hidden_size, num_layers=num_layers, dropout=dropout,
                              dtype=dtype)
        self.out = nn.Linear(self.hidden_size, self.vocab_size, dtype=dtype)

    def forward(self, inputs, state=None):
        """Logits (T, B, V) of the next character for (T, B) long inputs, and the final (h, c)."""
        if inputs.dim() != 2 or inputs.dtype != torch.long:
            raise ValueError(f"inputs must be a (T, B) long tensor, got {inputs.dtype} {tuple(inputs.shape)}")
        x = nn.functional.one_hot(inputs, self.vocab_size).to(self.out.weight.dtype)
        h, state = self.lstm(x, state)
        return self.out(h), state


def cross_entropy(logits, targets):
    """Mean cross-entropy in nats per character of (T, B, V) logits against (T, B) targets."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def evaluate(model, ids, steps=100, batch_size=8):
    """Mean cross-entropy per character of a torch model over a whole text, state carried across windows."""
    total, count, state = 0.0, 0, None
    for inputs, targets in textlib.bptt_windows(ids, steps, batch_size):
        logits, state = model(torch.from_numpy(inputs), state)
        total += float(cross_entropy(logits, torch.from_numpy(targets))) * targets.size
        count += targets.size
    return total / count


def unigram_cross_entropy(train_ids, valid_ids, vocab_size):
    """Cross-entropy on ``valid_ids`` of the best context-free model: character frequencies of
    ``train_ids`` (add-one smoothed). A language model must beat it to have learnt anything."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    return float(-np.mean(np.log(counts / counts.sum())[valid_ids]))


def train(train_ids, valid_ids, vocab_size, setup, seed=0, progress=None):
    """Train a :class:`TorchCharLM` by truncated BPTT with Adam and gradient-norm clipping.

    setup: ``hidden``, ``layers``, ``dropout``, ``steps`` (T), ``batch`` (B), ``lr``, ``clip`` (largest
    gradient norm), ``epochs``, ``eval_every`` (iterations between validations), ``max_seconds``
    (None: no limit) and ``threads`` (torch's CPU threads while training).
    Returns ``(model with the best validation error, history)``; each history entry holds the
    iteration, epoch, characters read, mean training and validation cross-entropy and seconds.
    """
    with cpu_threads(setup["threads"]):
        return _train(train_ids, valid_ids, vocab_size, setup, seed, progress)


def _train(train_ids, valid_ids, vocab_size, setup, seed, progress):
    if setup["epochs"] < 1 or setup["eval_every"] < 1:
        raise ValueError(f"epochs and eval_every must be positive, got {setup['epochs']}, "
                         f"{setup['eval_every']}")
    torch.manual_seed(seed)
    model = TorchCharLM(vocab_size, setup["hidden"], setup["layers"], setup["dropout"])
    optimiser = torch.optim.Adam(model.parameters(), lr=setup["lr"])
    windows = [(torch.from_numpy(x), torch.from_numpy(y))
               for x, y in textlib.bptt_windows(train_ids, setup["steps"], setup["batch"])]
    bar = progress(setup["epochs"] * len(windows), "charlm") if progress else None
    start, iteration, characters, history = time.perf_counter(), 0, 0, []
    best = (np.inf, None)
    recent, out_of_time = [], False

    def validate(epoch):
        nonlocal best
        model.eval()
        valid = evaluate(model, valid_ids)
        model.train()
        history.append({"iteration": iteration, "epoch": epoch, "characters": characters,
                        "train_loss": float(np.mean(recent)), "valid_loss": valid,
                        "seconds": round(time.perf_counter() - start, 2)})
        recent.clear()
        if valid < best[0]:
            best = (valid, copy.deepcopy(model.state_dict()))

    for epoch in range(setup["epochs"]):
        state = None
        for inputs, targets in windows:
            logits, state = model(inputs, state)
            # Carry the state into the next window but cut the graph: this is the truncation.
            state = tuple(s.detach() for s in state)
            loss = cross_entropy(logits, targets)
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), setup["clip"])
            optimiser.step()
            iteration += 1
            characters += targets.numel()
            recent.append(loss.item())
            if bar:
                bar.update(1, loss=f"{recent[-1]:.3f}")
            if iteration % setup["eval_every"] == 0:
                validate(epoch)
            if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
                out_of_time = True
                break
        if out_of_time:
            break
    if recent:
        validate(epoch)
    if bar:
        bar.close()
    model.load_state_dict(best[1])
    return model.eval(), history


def sample(model, vocab, prime, length, temperature, rng):
    """``length`` characters drawn one at a time after the string ``prime``, each from
    softmax(z / temperature) of the NumPy model's logits z, and fed back as the next input."""
    if not prime:
        raise ValueError("prime must be a non-empty string")
    if length < 0:
        raise ValueError(f"length must be non-negative, got {length}")
    logits, state = model.predict(vocab.encode(prime)[:, None])
    drawn = []
    for _ in range(length):
        p = softmax.softmax(logits[-1, 0], temperature)
        # Inverse-CDF draw; min() guards against the cumulative sum ending a hair below 1.
        k = min(int(np.searchsorted(np.cumsum(p), rng.random(), side="right")), vocab.size - 1)
        drawn.append(k)
        logits, state = model.predict(np.array([[k]]), state)
    return vocab.decode(np.array(drawn, dtype=np.int64))
