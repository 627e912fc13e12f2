"""Sequence classifier: gradients against central differences (float64) and against torch (float64,
autograd), errors, a memory task it must learn, the text windows and the order-blind baseline."""

import numpy as np
import pytest
import torch

from lstmlab.apps import classify
from lstmlab.numpy.gradcheck import check_gradients, relative_error

T, B, D, H, K = 5, 3, 4, 3, 3


def random_inputs(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(T, B, D)), rng.integers(0, K, size=B)


def test_gradients_match_central_differences():
    model = classify.SequenceClassifier(D, H, K, seed=1)
    rng = np.random.default_rng(2)
    for array in model.params.values():
        array[...] = 0.6 * rng.normal(size=array.shape) + 0.1
    x, labels = random_inputs(3)
    model.forward(x, labels)
    grads = {k: g.copy() for k, g in model.backward().items()}
    assert set(grads) == set(model.params)
    errors = check_gradients(lambda: model.forward(x, labels), model.params, grads)
    assert max(errors.values()) <= 1e-7, errors


def test_numpy_twin_matches_torch():
    torch.manual_seed(4)
    module = classify.TorchSequenceClassifier(D, H, K, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.6 * torch.randn_like(p) + 0.1)
    model = classify.SequenceClassifier.from_torch(module)
    x, labels = random_inputs(5)
    logits_t = module(torch.from_numpy(x))
    loss_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(labels))
    loss_t.backward()
    np.testing.assert_allclose(model.predict(x), logits_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert model.forward(x, labels) == pytest.approx(loss_t.item(), rel=1e-13)
    grads = model.backward()
    for name, p in module.named_parameters():
        key = {"out.weight": "weight_out", "out.bias": "bias_out"}.get(name, name.replace("lstm.", ""))
        assert relative_error(grads[key], p.grad.numpy()) <= 1e-10, name


def test_errors_are_named():
    model = classify.SequenceClassifier(D, H, K)
    x, labels = random_inputs(6)
    with pytest.raises(RuntimeError, match="needs a forward"):
        model.backward()
    with pytest.raises(ValueError, match=r"targets must have shape \(3,\)"):
        model.forward(x, labels[:2])
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 2\]"):
        model.forward(x, labels + K)
    with pytest.raises(ValueError, match="a text of 5 characters has no window of 8"):
        classify.source_windows([np.arange(20), np.arange(5)], 8, 4, np.random.default_rng(0))


def first_symbol_task(rng, n, steps=6):
    """The class is the first of the sequence's random binary symbols: the net must remember it."""
    bits = rng.integers(0, 2, size=(steps, n))
    x = np.stack([bits, 1 - bits], axis=2).astype(np.float32)
    return x, bits[0]


def test_training_learns_to_remember_the_first_symbol():
    setup = {"hidden": 8, "classes": 2, "batch": 32, "lr": 0.03, "clip": 1.0, "iterations": 150,
             "eval_every": 50, "threads": 1}
    valid = first_symbol_task(np.random.default_rng(99), 256)
    model, history = classify.train(first_symbol_task, valid, setup, seed=0)
    assert [h["iteration"] for h in history] == [50, 100, 150]
    assert history[-1]["valid_accuracy"] > 0.97
    # chance is one half, and the other symbols carry no information about the class
    assert classify.accuracy(model, *first_symbol_task(np.random.default_rng(7), 512)) > 0.97


def test_source_windows_label_their_source():
    sources = [np.arange(0, 50), np.arange(100, 180)]
    ids, labels = classify.source_windows(sources, 6, 200, np.random.default_rng(1))
    assert ids.shape == (6, 200) and 60 < labels.sum() < 140
    for column, label in zip(ids.T, labels):
        assert (column >= 100).all() == bool(label)
        np.testing.assert_array_equal(np.diff(column), 1)   # consecutive characters


def test_naive_bayes_by_hand():
    nb = classify.CharacterNaiveBayes([np.array([0, 0, 0, 1]), np.array([1, 1, 2])], 3)
    # add-one counts: class 0 (4, 2, 1) / 7, class 1 (1, 3, 2) / 6
    np.testing.assert_allclose(np.exp(nb.log_p), [[4 / 7, 2 / 7, 1 / 7], [1 / 6, 3 / 6, 2 / 6]])
    windows = np.array([[0, 1, 2], [0, 1, 2]])   # two-character windows "00", "11", "22"
    assert nb.predict(windows).tolist() == [0, 1, 1]
    # order plays no part: a window and its reverse get the same class
    w = np.array([[0], [2], [1]])
    assert nb.predict(w) == nb.predict(w[::-1])
