"""Seeded data generators for the 1997 LSTM and 2000 forget-gate experiments (paper-results.md).

Every generator takes a ``numpy.random.Generator`` and returns a :class:`Batch` laid out like the
models want it: ``x`` (T, N, inputs), targets ``d`` (T, N, outputs) and ``mask`` (T, N), which is 1
at the steps that carry a target. Sequences of different lengths are zero-padded at the end; since
every model here is causal and resets its activations at sequence start, the padding changes no
output at an unpadded step.
"""

from dataclasses import dataclass, field

import numpy as np

from lstmlab.datasets.text import one_hot

#: the seven symbols of the (embedded) Reber grammar, in the order of the one-hot code
REBER_SYMBOLS = "BTSXPVE"

# The Reber grammar after its leading B: state -> {symbol: next state}; None marks the final E.
_REBER = {
    0: {"T": 1, "P": 2},
    1: {"S": 1, "X": 3},
    2: {"T": 2, "V": 4},
    3: {"X": 2, "S": 5},
    4: {"P": 3, "V": 5},
    5: {"E": None},
}


@dataclass
class Batch:
    """Inputs, targets and target mask of a batch of sequences, plus task-specific extras."""

    x: np.ndarray
    d: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    #: multi-hot legal next symbols (T, N, 7) for the grammar tasks, else None
    legal: np.ndarray = None
    #: the strings (grammar tasks) or class labels / marked values (other tasks)
    info: dict = field(default_factory=dict)


def _walk_reber(rng):
    """One Reber string with, for each of its symbols, the set of symbols that may follow it."""
    symbols, legal = ["B"], [set(_REBER[0])]
    state = 0
    while state is not None:
        choices = sorted(_REBER[state])
        symbol = choices[rng.integers(len(choices))]
        state = _REBER[state][symbol]
        symbols.append(symbol)
        legal.append(set(_REBER[state]) if state is not None else set())
    return symbols, legal


def _walk_embedded_reber(rng):
    """One embedded Reber string B {T|P} <Reber> {T|P} E (the same branch symbol twice), with the
    legal successors of each symbol (empty after the final E)."""
    branch = "TP"[rng.integers(2)]
    inner, inner_legal = _walk_reber(rng)
    inner_legal[-1] = {branch}
    symbols = ["B", branch] + inner + [branch, "E"]
    legal = [{"T", "P"}, {"B"}] + inner_legal + [{"E"}, set()]
    return symbols, legal


def reber_string(rng):
    """A string of the Reber grammar, every choice with probability 1/2."""
    return "".join(_walk_reber(rng)[0])


def embedded_reber_string(rng):
    """A string of the embedded Reber grammar (Experiment 1)."""
    return "".join(_walk_embedded_reber(rng)[0])


def _encode(symbols):
    return one_hot([REBER_SYMBOLS.index(s) for s in symbols], len(REBER_SYMBOLS))


def _multi_hot(sets):
    out = np.zeros((len(sets), len(REBER_SYMBOLS)))
    for k, allowed in enumerate(sets):
        for s in allowed:
            out[k, REBER_SYMBOLS.index(s)] = 1.0
    return out


def _pad(sequences, width):
    """Stack (T_n, width) arrays into a zero-padded (T_max, N, width) array."""
    steps = max(len(s) for s in sequences)
    out = np.zeros((steps, len(sequences), width))
    for n, s in enumerate(sequences):
        out[:len(s), n] = s
    return out


def embedded_reber(n, rng):
    """n embedded Reber strings for next-symbol prediction (Experiment 1).

    At step t the input is symbol t (one-hot over B T S X P V E) and the target symbol t + 1; a
    string of L symbols gives L - 1 steps. ``legal`` marks every symbol allowed at t + 1 (success
    in the 1997 sense: these are the most active outputs); ``info["strings"]`` holds the strings.
    """
    walks = [_walk_embedded_reber(rng) for _ in range(n)]
    xs = [_encode(sym[:-1]) for sym, _ in walks]
    ds = [_encode(sym[1:]) for sym, _ in walks]
    legal = [_multi_hot(leg[:-1]) for _, leg in walks]
    lengths = np.array([len(sym) - 1 for sym, _ in walks])
    mask = (np.arange(lengths.max())[:, None] < lengths[None, :]).astype(np.float64)
    return Batch(_pad(xs, 7), _pad(ds, 7), mask, lengths, _pad(legal, 7),
                 {"strings": ["".join(sym) for sym, _ in walks]})


def continual_embedded_reber(steps, rng, n_streams=1):
    """Unbroken streams of embedded Reber strings (Gers et al. 2000): no reset between strings.

    Returns ``steps`` steps per stream, the input symbol t and target symbol t + 1 of the stream;
    after a string's final E the next string's B follows (legal successor set {B}).
    ``info["starts"]`` (steps, n_streams) is 1 where the input is the B that opens a string.
    """
    xs, ds, legal, starts = [], [], [], []
    for _ in range(n_streams):
        symbols, allowed, first = [], [], []
        while len(symbols) < steps + 1:
            sym, leg = _walk_embedded_reber(rng)
            first += [1.0] + [0.0] * (len(sym) - 1)
            symbols += sym
            allowed += leg[:-1] + [{"B"}]
        xs.append(_encode(symbols[:steps]))
        ds.append(_encode(symbols[1:steps + 1]))
        legal.append(_multi_hot(allowed[:steps]))
        starts.append(first[:steps])
    return Batch(np.stack(xs, axis=1), np.stack(ds, axis=1), np.ones((steps, n_streams)),
                 np.full(n_streams, steps), np.stack(legal, axis=1),
                 {"starts": np.array(starts).T})


def long_lag(p, n, rng):
    """Experiment 2a: the sequences (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each
    with probability 1/2, locally coded over p + 1 symbols, next-symbol targets at every step.

    Symbol indices: a_k is k - 1, x is p - 1, y is p. The p steps read the first p symbols; the
    last target repeats the first symbol, which the net must hold across p - 1 steps.
    ``info["first"]`` is the index of the first symbol (p - 1 or p).
    """
    if p < 2:
        raise ValueError(f"p must be at least 2, got {p}")
    first = np.where(rng.integers(2, size=n) == 0, p - 1, p)
    x = np.zeros((p, n, p + 1))
    d = np.zeros((p, n, p + 1))
    columns = np.arange(n)
    x[0, columns, first] = 1.0
    for k in range(1, p):
        x[k, :, k - 1] = 1.0
        d[k - 1, :, k - 1] = 1.0
    d[p - 1, columns, first] = 1.0
    return Batch(x, d, np.ones((p, n)), np.full(n, p), info={"first": first})


def adding(T, n, rng):
    """Experiment 4, the adding problem, following Hochreiter & Schmidhuber (1997).

    Each step is a pair (value uniform in [-1, 1], marker). Lengths are uniform integers in
    [T, T + T // 10]. One of the first ten pairs is marked (X1), then one of the first T // 2 - 1
    pairs still unmarked (X2): markers 1. The first and last pair carry marker -1 unless marked;
    every other marker is 0. A marked first pair has its value set to 0. The only target, at the
    last step, is 0.5 + (X1 + X2) / 4.
    """
    if T < 20:
        raise ValueError(f"T must be at least 20 (ten candidates for X1, T // 2 - 1 for X2), got {T}")
    lengths = rng.integers(T, T + T // 10 + 1, size=n)
    x = np.zeros((lengths.max(), n, 2))
    d = np.zeros((lengths.max(), n, 1))
    mask = np.zeros((lengths.max(), n))
    sums = np.zeros(n)
    for j, length in enumerate(lengths):
        values = rng.uniform(-1.0, 1.0, size=length)
        markers = np.zeros(length)
        markers[0] = markers[-1] = -1.0
        k1 = rng.integers(10)
        # X2: the u-th of the first T // 2 - 1 positions other than k1
        u = rng.integers(T // 2 - 1)
        k2 = u + int(u >= k1)
        markers[[k1, k2]] = 1.0
        if markers[0] == 1.0:
            values[0] = 0.0
        sums[j] = values[k1] + values[k2]
        x[:length, j, 0], x[:length, j, 1] = values, markers
        d[length - 1, j, 0] = 0.5 + sums[j] / 4.0
        mask[length - 1, j] = 1.0
    return Batch(x, d, mask, lengths, info={"sum": sums})


#: input symbols of the temporal-order task, in the order of the one-hot code
TEMPORAL_SYMBOLS = "EBabcdXY"
_RELEVANT_WINDOWS = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}


def temporal_order(n, rng, n_relevant=2):
    """Experiment 6a (n_relevant=2, 4 classes) or 6b (n_relevant=3, 8 classes).

    A sequence of length 100-110 opens with E, closes with the trigger B, and holds random symbols
    from {a, b, c, d} except at 2 (3) positions drawn from the windows 10-20, 50-60 (10-20, 33-43,
    66-76; positions count from 1), which hold X or Y. The class is the order of X and Y read as a
    binary number with X = 0, most significant first (XX = Q = 0, XY = R = 1, YX = S = 2, YY = U = 3;
    6b: XXX = Q = 0, ..., YYY = C = 7), a one-hot target at the last step only.
    """
    if n_relevant not in _RELEVANT_WINDOWS:
        raise ValueError(f"n_relevant must be 2 (task 6a) or 3 (task 6b), got {n_relevant}")
    n_classes = 2 ** n_relevant
    lengths = rng.integers(100, 111, size=n)
    x = np.zeros((lengths.max(), n, len(TEMPORAL_SYMBOLS)))
    d = np.zeros((lengths.max(), n, n_classes))
    mask = np.zeros((lengths.max(), n))
    labels = np.zeros(n, dtype=int)
    for j, length in enumerate(lengths):
        symbols = rng.integers(2, 6, size=length)   # a, b, c, d
        symbols[0], symbols[-1] = 0, 1               # E, B
        bits = rng.integers(2, size=n_relevant)
        for (low, high), bit in zip(_RELEVANT_WINDOWS[n_relevant], bits):
            symbols[rng.integers(low, high + 1) - 1] = 6 + bit   # X or Y
        labels[j] = int(np.dot(bits, 2 ** np.arange(n_relevant)[::-1]))
        x[:length, j] = one_hot(symbols, len(TEMPORAL_SYMBOLS))
        d[length - 1, j, labels[j]] = 1.0
        mask[length - 1, j] = 1.0
    return Batch(x, d, mask, lengths, info={"labels": labels})


def legal_symbols_most_active(y, batch):
    """Per sequence, whether at every target step the k most active outputs are exactly the k legal
    next symbols (the success criterion of Experiment 1 and of the continual grammar).

    y: network outputs (T, N, 7) for a grammar batch. Returns a bool array (N,).
    """
    if batch.legal is None:
        raise ValueError("the batch has no legal next-symbol sets (not a grammar task)")
    if y.shape != batch.legal.shape:
        raise ValueError(f"y must have shape {batch.legal.shape}, got {y.shape}")
    k = batch.legal.sum(axis=2, keepdims=True)
    # The k-th largest output must exceed every output outside the legal set.
    lowest_legal = np.where(batch.legal > 0, y, np.inf).min(axis=2, keepdims=True)
    highest_other = np.where(batch.legal > 0, -np.inf, y).max(axis=2, keepdims=True)
    ok = (lowest_legal > highest_other) | (k == 0)
    return np.all(ok[:, :, 0] | (batch.mask == 0), axis=0)


#: input symbols of the span-tagging task (Chapter 16), in the order of the one-hot code
SPAN_SYMBOLS = "ab()"


def spans(T, n, rng, p_bracket=0.3, tag="inside"):
    """Tag every letter by the brackets around it: context on both sides decides.

    Each of the T symbols is, independently, '(' or ')' with probability p_bracket / 2 each and
    otherwise the letter a or b. With ``tag="inside"`` a letter is inside a bracketed span (target
    1) when the nearest bracket before it is '(' and the nearest bracket after it is ')'. With
    ``tag="same"`` its target is 1 when the nearest brackets before and after it are of the same
    kind, "(...(" or ")...)". A missing bracket on either side gives 0. Brackets carry no target
    (mask 0); ``d`` is (T, n, 1). ``info["needs_future"]`` (T, n) is 1 at the letters whose tag
    the past alone cannot decide (a '(' before them; for "same" any bracket before them);
    ``info["strings"]`` holds the strings.
    """
    if T < 1 or not 0.0 < p_bracket < 1.0:
        raise ValueError(f"need T >= 1 and 0 < p_bracket < 1, got T={T}, p_bracket={p_bracket}")
    if tag not in ("inside", "same"):
        raise ValueError(f"tag must be 'inside' or 'same', got {tag!r}")
    half = p_bracket / 2.0
    symbols = rng.choice(4, size=(T, n), p=[(1.0 - p_bracket) / 2.0] * 2 + [half, half])
    letter = symbols < 2
    # The nearest bracket before (after) each position, scanning forwards (backwards); -1 for none.
    before, after = np.full((T, n), -1), np.full((T, n), -1)
    last = np.full(n, -1)
    for t in range(T):
        before[t] = last
        last = np.where(letter[t], last, symbols[t])
    last = np.full(n, -1)
    for t in reversed(range(T)):
        after[t] = last
        last = np.where(letter[t], last, symbols[t])
    if tag == "inside":
        needs_future = letter & (before == 2)
        target = needs_future & (after == 3)
    else:
        needs_future = letter & (before >= 0)
        target = needs_future & (after == before)
    x = one_hot(symbols, len(SPAN_SYMBOLS))
    strings = ["".join(SPAN_SYMBOLS[s] for s in symbols[:, j]) for j in range(n)]
    return Batch(x, target[:, :, None].astype(np.float64), letter.astype(np.float64), np.full(n, T),
                 info={"needs_future": needs_future.astype(np.float64), "strings": strings})


def corner_count(n, rng, size=8, p=0.06, k=2):
    """A 2-D task for the multidimensional LSTM (Chapter 18): binary images whose pixels are lit with
    probability p, and at every pixel (i, j) the target 1 if at least k pixels of the rectangle
    [0, i] x [0, j] above and to the left of it (itself included) are lit, else 0.

    Grid layout: ``x`` and ``d`` are (size, size, n, 1), ``mask`` all ones; ``info["counts"]`` holds
    the number of lit pixels in each rectangle.
    """
    if size < 1 or k < 1 or not 0.0 < p < 1.0:
        raise ValueError(f"need size >= 1, k >= 1 and 0 < p < 1, got size={size}, k={k}, p={p}")
    x = (rng.random((size, size, n, 1)) < p).astype(float)
    counts = np.cumsum(np.cumsum(x[..., 0], axis=0), axis=1)
    d = (counts >= k).astype(float)[..., None]
    return Batch(x, d, np.ones((size, size, n)), np.full(n, size * size), info={"counts": counts})
