"""Data generators: grammar legality against an independent regular expression and automaton,
shapes, masks and target formulas recomputed from the inputs."""

import itertools
import re

import numpy as np
import pytest

from lstmlab.datasets import tasks

SYMBOLS = "BTSXPVE"
# The Reber grammar as a regular expression, derived by hand from the transition diagram:
# after B T the loop S*, X, then from the node reached by X: (X T* V P)* then S or X T* V V ...
_AFTER_X = r"(?:XT*VP)*(?:S|XT*VV)"
_AFTER_V = r"(?:V|P" + _AFTER_X + r")"
REBER = r"B(?:TS*X" + _AFTER_X + r"|PT*V" + _AFTER_V + r")E"
EMBEDDED = r"B(?:T" + REBER + r"T|P" + REBER + r"P)E"

# The same grammar written a second way, as labelled edges between named nodes, for legal sets.
EDGES = [("start", "B", "r0"), ("r0", "T", "r1"), ("r0", "P", "r2"), ("r1", "S", "r1"),
         ("r1", "X", "r3"), ("r2", "T", "r2"), ("r2", "V", "r4"), ("r3", "X", "r2"),
         ("r3", "S", "r5"), ("r4", "P", "r3"), ("r4", "V", "r5"), ("r5", "E", "end")]


def embedded_successors(prefix):
    """Symbols that may follow a prefix of an embedded Reber string (walking EDGES for the inside)."""
    if len(prefix) == 1:
        return {"T", "P"}
    if len(prefix) == 2:
        return {"B"}
    node = "start"
    for k, symbol in enumerate(prefix[2:]):
        if node == "end":
            rest = prefix[2 + k:]
            return {"E"} if rest == prefix[1] else set()
        node = next(b for a, s, b in EDGES if a == node and s == symbol)
    if node == "end":
        return {prefix[1]}
    return {s for a, s, _ in EDGES if a == node}


def decode(onehot, alphabet):
    assert np.all(onehot.sum(axis=-1) == 1)
    return "".join(alphabet[k] for k in onehot.argmax(axis=-1))


def test_regex_and_edges_describe_the_same_grammar():
    # Every string the edge list generates up to length 12 matches the regex, and the known
    # examples from the literature are accepted.
    frontier, found = [("B", "r0")], []
    while frontier:
        s, node = frontier.pop()
        for a, sym, b in EDGES:
            if a == node and len(s) < 12:
                (found if b == "end" else frontier).append((s + sym, b) if b != "end" else s + sym)
    assert len(found) > 20 and all(re.fullmatch(REBER, s) for s in found)
    for good in ("BTSSXXTVVE", "BPVVE", "BTXSE", "BPTVPSE"):
        assert re.fullmatch(REBER, good)
    for bad in ("BTSSXXTVE", "BPVE", "BTXXE"):
        assert not re.fullmatch(REBER, bad)


def test_reber_strings_are_legal():
    rng = np.random.default_rng(0)
    for _ in range(300):
        assert re.fullmatch(REBER, tasks.reber_string(rng))
        s = tasks.embedded_reber_string(rng)
        assert re.fullmatch(EMBEDDED, s) and s[1] == s[-2]


def test_embedded_reber_batch():
    batch = tasks.embedded_reber(64, np.random.default_rng(1))
    steps = batch.x.shape[0]
    assert batch.x.shape == batch.d.shape == batch.legal.shape == (steps, 64, 7)
    assert batch.mask.shape == (steps, 64) and steps == batch.lengths.max()
    branches = set()
    for n, string in enumerate(batch.info["strings"]):
        length = len(string) - 1
        assert batch.lengths[n] == length and re.fullmatch(EMBEDDED, string)
        assert decode(batch.x[:length, n], SYMBOLS) == string[:-1]
        assert decode(batch.d[:length, n], SYMBOLS) == string[1:]
        assert np.all(batch.mask[:length, n] == 1) and np.all(batch.mask[length:, n] == 0)
        assert np.all(batch.x[length:, n] == 0) and np.all(batch.legal[length:, n] == 0)
        for t in range(length):
            allowed = {SYMBOLS[k] for k in np.flatnonzero(batch.legal[t, n])}
            assert allowed == embedded_successors(string[:t + 1]), (string, t)
        branches.add(string[1])
    assert branches == {"T", "P"}


def test_embedded_reber_is_seeded():
    a = tasks.embedded_reber(5, np.random.default_rng(3))
    b = tasks.embedded_reber(5, np.random.default_rng(3))
    assert a.info["strings"] == b.info["strings"]


def test_continual_embedded_reber_stream():
    batch = tasks.continual_embedded_reber(400, np.random.default_rng(2), n_streams=2)
    assert batch.x.shape == batch.d.shape == batch.legal.shape == (400, 2, 7)
    assert np.all(batch.mask == 1)
    for n in range(2):
        inputs = decode(batch.x[:, n], SYMBOLS)
        stream = inputs + decode(batch.d[-1:, n], SYMBOLS)
        assert decode(batch.d[:, n], SYMBOLS) == stream[1:]
        complete = re.match(r"(?:" + EMBEDDED + r")*", stream).group(0)
        assert len(complete) > 300 and complete.count("E") >= 2 * 10
        starts = [m.start() for m in re.finditer(EMBEDDED, complete)]
        assert np.array_equal(np.flatnonzero(batch.info["starts"][:, n]), starts
                              + ([len(complete)] if len(complete) < 400 else []))
        # Legal successors at every step, restarting the walk at each string's start; after a
        # complete string only the next string's B may follow.
        bounds = starts + [len(complete)]
        for t in range(400):
            prefix = stream[max(b for b in bounds if b <= t):t + 1]
            expected = {"B"} if re.fullmatch(EMBEDDED, prefix) else embedded_successors(prefix)
            allowed = {SYMBOLS[k] for k in np.flatnonzero(batch.legal[t, n])}
            assert allowed == expected, (t, prefix)
            assert stream[t + 1] in allowed


@pytest.mark.parametrize("p", [4, 10, 100])
def test_long_lag(p):
    batch = tasks.long_lag(p, 50, np.random.default_rng(p))
    alphabet = [f"a{k}" for k in range(1, p)] + ["x", "y"]
    assert batch.x.shape == batch.d.shape == (p, 50, p + 1) and np.all(batch.mask == 1)
    firsts = set()
    for n in range(50):
        seq = [alphabet[k] for k in batch.x[:, n].argmax(axis=1)]
        assert np.all(batch.x[:, n].sum(axis=1) == 1)
        full = seq + [seq[0]]
        assert full[0] in ("x", "y") and full[1:-1] == [f"a{k}" for k in range(1, p)]
        assert [alphabet[k] for k in batch.d[:, n].argmax(axis=1)] == full[1:]
        firsts.add(full[0])
    assert firsts == {"x", "y"}


@pytest.mark.parametrize("T", [20, 100])
def test_adding(T):
    batch = tasks.adding(T, 200, np.random.default_rng(T))
    assert batch.x.shape[1:] == (200, 2) and batch.d.shape[1:] == (200, 1)
    assert np.all((batch.lengths >= T) & (batch.lengths <= T + T // 10))
    for n in range(200):
        length = batch.lengths[n]
        values, markers = batch.x[:length, n, 0], batch.x[:length, n, 1]
        marked = np.flatnonzero(markers == 1)
        assert len(marked) == 2 and marked[0] < T // 2
        assert np.all(np.abs(values) <= 1) and set(np.unique(markers)) <= {-1.0, 0.0, 1.0}
        assert np.any(marked < 10)
        for end in (0, length - 1):
            assert markers[end] == (1.0 if end in marked else -1.0)
        assert np.sum(markers == -1) == 2 - np.sum(np.isin([0, length - 1], marked))
        if 0 in marked:
            assert values[0] == 0.0
        target = 0.5 + values[marked].sum() / 4.0
        assert batch.d[length - 1, n, 0] == pytest.approx(target, abs=1e-15)
        assert np.flatnonzero(batch.mask[:, n]).tolist() == [length - 1]
        assert np.all(batch.x[length:, n] == 0)
    assert 0.0 <= batch.d.min() and batch.d.max() <= 1.0


@pytest.mark.parametrize("n_relevant,windows", [(2, [(10, 20), (50, 60)]),
                                                (3, [(10, 20), (33, 43), (66, 76)])])
def test_temporal_order(n_relevant, windows):
    batch = tasks.temporal_order(300, np.random.default_rng(n_relevant), n_relevant=n_relevant)
    classes = "QRSU" if n_relevant == 2 else "QRSUVABC"
    rules = {"".join(k): c for k, c in zip(
        itertools.product("XY", repeat=n_relevant), classes)}
    assert batch.x.shape[2] == 8 and batch.d.shape[2] == len(classes)
    seen = set()
    for n in range(300):
        length = batch.lengths[n]
        assert 100 <= length <= 110
        seq = decode(batch.x[:length, n], "EBabcdXY")
        assert seq[0] == "E" and seq[-1] == "B" and set(seq[1:-1]) <= set("abcdXY")
        positions = [k + 1 for k, s in enumerate(seq) if s in "XY"]
        assert len(positions) == n_relevant
        assert all(lo <= pos <= hi for pos, (lo, hi) in zip(positions, windows))
        label = rules["".join(s for s in seq if s in "XY")]
        assert classes[batch.d[length - 1, n].argmax()] == label and batch.d[length - 1, n].sum() == 1
        assert np.flatnonzero(batch.mask[:, n]).tolist() == [length - 1]
        assert batch.d[:length - 1, n].sum() == 0
        seen.add(label)
    assert seen == set(classes)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_relevant"):
        tasks.temporal_order(2, rng, n_relevant=4)
    with pytest.raises(ValueError, match="p must be at least 2"):
        tasks.long_lag(1, 2, rng)
    with pytest.raises(ValueError, match="T must be at least 20"):
        tasks.adding(10, 2, rng)


def test_legal_symbols_most_active():
    batch = tasks.embedded_reber(4, np.random.default_rng(5))
    perfect = 0.9 * batch.legal + 0.05
    assert np.all(tasks.legal_symbols_most_active(perfect, batch))
    # One wrong step in sequence 2: an illegal symbol beats a legal one.
    spoiled = perfect.copy()
    t = 3
    illegal = np.flatnonzero(batch.legal[t, 2] == 0)[0]
    spoiled[t, 2, illegal] = 0.99
    assert tasks.legal_symbols_most_active(spoiled, batch).tolist() == [True, True, False, True]
    # Outputs at padded steps do not count.
    padded = perfect.copy()
    padded[batch.mask == 0] = np.arange(7) / 7.0
    assert np.all(tasks.legal_symbols_most_active(padded, batch))
    with pytest.raises(ValueError, match=r"y must have shape"):
        tasks.legal_symbols_most_active(perfect[:, :2], batch)


def test_spans_tags_recomputed_from_the_strings():
    batch = tasks.spans(20, 300, np.random.default_rng(8))
    assert batch.x.shape == (20, 300, 4) and batch.d.shape == (20, 300, 1) and batch.mask.shape == (20, 300)
    for j, s in enumerate(batch.info["strings"]):
        assert decode(batch.x[:, j], tasks.SPAN_SYMBOLS) == s
        # Inside: the letters of a closed span "(" letters ")"; undecided by the past: letters after "(".
        inside, open_ = np.zeros(20), np.zeros(20)
        for m in re.finditer(r"\(([ab]*)\)", s):
            inside[m.start(1):m.end(1)] = 1
        for m in re.finditer(r"\(([ab]*)", s):
            open_[m.start(1):m.end(1)] = 1
        np.testing.assert_array_equal(batch.d[:, j, 0], inside)
        np.testing.assert_array_equal(batch.info["needs_future"][:, j], open_)
        np.testing.assert_array_equal(batch.mask[:, j], [c in "ab" for c in s])
    brackets = 1.0 - batch.mask.mean()
    assert abs(brackets - 0.3) < 0.02
    # Roughly half of the letters after "(" are closed later: the past alone leaves a coin toss.
    assert 0.35 < batch.d.sum() / batch.info["needs_future"].sum() < 0.65
    again = tasks.spans(20, 300, np.random.default_rng(8))
    np.testing.assert_array_equal(again.x, batch.x)
    with pytest.raises(ValueError, match="p_bracket"):
        tasks.spans(5, 2, np.random.default_rng(0), p_bracket=1.0)
    with pytest.raises(ValueError, match="tag must be"):
        tasks.spans(5, 2, np.random.default_rng(0), tag="outside")


def test_spans_same_kind_recomputed_from_the_strings():
    batch = tasks.spans(15, 200, np.random.default_rng(9), tag="same")
    for j, s in enumerate(batch.info["strings"]):
        same, after_bracket = np.zeros(15), np.zeros(15)
        # A run of letters with the same bracket on both sides, found with a back-reference.
        for m in re.finditer(r"(?=([()])([ab]+)\1)", s):
            same[m.start(2):m.end(2)] = 1
        for m in re.finditer(r"[()]([ab]+)", s):
            after_bracket[m.start(1):m.end(1)] = 1
        np.testing.assert_array_equal(batch.d[:, j, 0], same)
        np.testing.assert_array_equal(batch.info["needs_future"][:, j], after_bracket)


def test_corner_count_targets_recounted_pixel_by_pixel():
    batch = tasks.corner_count(50, np.random.default_rng(4), size=6, p=0.1, k=2)
    assert batch.x.shape == batch.d.shape == (6, 6, 50, 1) and batch.mask.shape == (6, 6, 50)
    assert set(np.unique(batch.x)) == {0.0, 1.0}
    for j in range(50):
        for r, c in itertools.product(range(6), range(6)):
            lit = sum(batch.x[a, b, j, 0] for a in range(r + 1) for b in range(c + 1))
            assert batch.d[r, c, j, 0] == float(lit >= 2)
    assert abs(batch.x.mean() - 0.1) < 0.02
    assert 0.2 < batch.d.mean() < 0.8
    with pytest.raises(ValueError, match="0 < p < 1"):
        tasks.corner_count(1, np.random.default_rng(0), p=1.5)
