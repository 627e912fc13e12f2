"""Characters as sequences: the texts shipped with lstmlab, a character vocabulary, and the batches
of truncated backpropagation through time.

A character model reads one character per time step as a one-hot vector and is trained to give the
next one. Truncated BPTT cuts the text into B parallel streams and walks along all of them in windows
of T steps: window k + 1 of stream b continues exactly where window k ended, so the network's state
at the end of one window is the right initial state of the next, while the error is propagated back
through T steps only.
"""

from importlib import resources

import numpy as np

#: name -> file in ``lstmlab/data`` (see its README.md for sources and public-domain status)
TEXTS = {"shakespeare": "tinyshakespeare.txt", "alice": "alice.txt"}


def load(name):
    """The full text of one of :data:`TEXTS`."""
    if name not in TEXTS:
        raise ValueError(f"unknown text {name!r}; expected one of {', '.join(TEXTS)}")
    return (resources.files("lstmlab.datasets") / "corpora" / TEXTS[name]).read_text(encoding="utf-8")


class Vocabulary:
    """The characters of a text, sorted, numbered 0 .. size - 1."""

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ValueError("a vocabulary needs a non-empty string")
        self.chars = "".join(sorted(set(text)))
        self.index = {c: k for k, c in enumerate(self.chars)}

    @property
    def size(self):
        return len(self.chars)

    def encode(self, text):
        """The indices of the characters of ``text``, an int64 array."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return np.fromiter((self.index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids):
        """The string of the indices ``ids`` (any integer array or sequence)."""
        ids = np.asarray(ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0
                         or ids.max() >= self.size):
            raise ValueError(f"ids must be integers in [0, {self.size - 1}]")
        return "".join(self.chars[k] for k in ids.ravel())

    def __repr__(self):
        return f"Vocabulary({self.size} characters)"


def split(ids, valid_fraction):
    """(train, valid): the text's last ``valid_fraction`` held out, the rest for training.

    A contiguous tail, not random characters, so that no validation window overlaps a training one.
    """
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    cut = int(round(len(ids) * (1.0 - valid_fraction)))
    return ids[:cut], ids[cut:]


def one_hot(ids, size, dtype=np.float64):
    """One-hot vectors: an integer array of any shape -> that shape + (size,)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"ids must lie in [0, {size - 1}], got values in [{ids.min()}, {ids.max()}]")
    return np.eye(size, dtype=dtype)[ids]


def streams(ids, batch_size):
    """Inputs and next-character targets as B parallel streams, each (n, B): stream b is a contiguous
    piece of the text, and ``targets[t, b]`` is the character after ``inputs[t, b]``."""
    n = (len(ids) - 1) // batch_size
    if n < 1:
        raise ValueError(f"a text of {len(ids)} characters is too short for {batch_size} streams")
    inputs = ids[:n * batch_size].reshape(batch_size, n).T
    targets = ids[1:n * batch_size + 1].reshape(batch_size, n).T
    return inputs, targets


def bptt_windows(ids, steps, batch_size):
    """The windows of truncated BPTT in order: pairs (inputs, targets), each (T, B) (the last window
    may be shorter). Window k + 1 continues every stream of window k, so carry the state across."""
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    inputs, targets = streams(ids, batch_size)
    return [(inputs[t:t + steps], targets[t:t + steps]) for t in range(0, inputs.shape[0], steps)]


def random_windows(ids, length, count, rng):
    """``count`` windows of ``length`` consecutive characters at random places, as a (length, count) array."""
    if len(ids) < length:
        raise ValueError(f"a text of {len(ids)} characters has no window of {length}")
    starts = rng.integers(0, len(ids) - length + 1, size=count)
    return ids[starts[None, :] + np.arange(length)[:, None]]
