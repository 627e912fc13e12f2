"""Texts, vocabulary and the truncated-BPTT batches: every window continues its stream and every
target is the next character of the text, checked against the text itself."""

import numpy as np
import pytest

from lstmlab.datasets import text


def test_shipped_texts_load_and_are_plain_ascii():
    shakespeare, alice = text.load("shakespeare"), text.load("alice")
    assert len(shakespeare) == 111_592 and len(alice) == 31_064
    assert shakespeare.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert alice.startswith("CHAPTER I. Down the Rabbit-Hole")
    assert shakespeare.isascii() and alice.isascii() and "\r" not in shakespeare + alice
    with pytest.raises(ValueError, match="unknown text 'hamlet'"):
        text.load("hamlet")


def test_vocabulary_round_trip_and_order():
    vocab = text.Vocabulary("hello world")
    assert vocab.chars == " dehlorw" and vocab.size == 8
    ids = vocab.encode("low")
    assert ids.dtype == np.int64 and ids.tolist() == [4, 5, 7]
    assert vocab.decode(ids) == "low" and vocab.decode([]) == ""
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['!', 'H'\]"):
        vocab.encode("Ho!")
    with pytest.raises(ValueError, match=r"ids must be integers in \[0, 7\]"):
        vocab.decode([8])
    with pytest.raises(ValueError, match="non-empty string"):
        text.Vocabulary("")


def test_split_keeps_a_contiguous_tail():
    ids = np.arange(100)
    train, valid = text.split(ids, 0.1)
    assert train.tolist() == list(range(90)) and valid.tolist() == list(range(90, 100))
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="valid_fraction"):
            text.split(ids, bad)


def test_one_hot():
    x = text.one_hot(np.array([[2, 0], [1, 1]]), 3)
    assert x.shape == (2, 2, 3)
    assert x[0, 0].tolist() == [0, 0, 1] and x[1, 1].tolist() == [0, 1, 0]
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 2\]"):
        text.one_hot(np.array([3]), 3)


def test_streams_are_contiguous_pieces_with_next_character_targets():
    source = text.load("alice")[:1003]
    vocab = text.Vocabulary(source)
    inputs, targets = text.streams(vocab.encode(source), batch_size=4)
    n = (len(source) - 1) // 4
    assert inputs.shape == targets.shape == (n, 4)
    for b in range(4):
        assert vocab.decode(inputs[:, b]) == source[b * n:(b + 1) * n]
        assert vocab.decode(targets[:, b]) == source[b * n + 1:(b + 1) * n + 1]
    with pytest.raises(ValueError, match="too short for 8 streams"):
        text.streams(np.arange(5), 8)


def test_bptt_windows_tile_the_streams_in_order():
    ids = np.arange(1, 102)          # a "text" whose characters are their own positions + 1
    windows = text.bptt_windows(ids, steps=7, batch_size=4)
    inputs, targets = text.streams(ids, 4)
    assert [w[0].shape for w in windows] == [(7, 4)] * 3 + [(4, 4)]
    np.testing.assert_array_equal(np.concatenate([w[0] for w in windows]), inputs)
    np.testing.assert_array_equal(np.concatenate([w[1] for w in windows]), targets)
    # the first row of each window follows the last row of the previous one in every stream
    for (x0, _), (x1, _) in zip(windows, windows[1:]):
        np.testing.assert_array_equal(x1[0], x0[-1] + 1)
    with pytest.raises(ValueError, match="steps must be positive"):
        text.bptt_windows(ids, 0, 4)


def test_random_windows_are_slices_and_reproducible():
    ids = np.arange(50) * 3
    w = text.random_windows(ids, 6, 10, np.random.default_rng(0))
    assert w.shape == (6, 10)
    for column in w.T:
        start = int(column[0] // 3)
        np.testing.assert_array_equal(column, ids[start:start + 6])
    np.testing.assert_array_equal(w, text.random_windows(ids, 6, 10, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="no window of 60"):
        text.random_windows(ids, 60, 1, np.random.default_rng(0))
