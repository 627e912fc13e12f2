"""The sigmoid threshold unit (Sec. 3.4): forward with steepness l, backward, training."""

import math
import warnings

import numpy as np
import pytest
import torch

from lstmlab.numpy import sigmoid_unit as su
from lstmlab.numpy.gradcheck import check_gradients, relative_error
from lstmlab.numpy.perceptron import truth_table


def _random_unit(seed, n=3, N=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), float(rng.normal() + 0.5), rng.normal(size=(N, n)), rng


@pytest.mark.parametrize("l", [0.5, 1.0, 4.0])
def test_forward_matches_the_formula(l):
    W, b, X, _ = _random_unit(0)
    expected = [1.0 / (1.0 + math.exp(-l * (sum(w * x for w, x in zip(W, row)) + b))) for row in X]
    np.testing.assert_allclose(su.forward(W, b, X, l), expected, rtol=1e-14)


def test_large_steepness_becomes_the_perceptron_step():
    W, b = np.array([1.0, 1.0]), -1.5
    X, d = truth_table("AND")
    np.testing.assert_allclose(su.forward(W, b, X, l=1e4), (d + 1) / 2, atol=1e-200)


@pytest.mark.parametrize("l", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("seed", [1, 2])
def test_gradients_of_the_squared_error_match_central_differences(l, seed):
    W, b, X, rng = _random_unit(seed)
    d = rng.uniform(size=X.shape[0])
    params = {"W": W, "b": np.array(b), "X": X}
    grads = su.gradients(W, b, X, d, l)
    errors = check_gradients(lambda: su.loss(params["W"], params["b"], params["X"], d, l), params, grads)
    assert max(errors.values()) <= 1e-7, errors


def test_backward_with_any_upstream_gradient_matches_torch():
    W, b, X, rng = _random_unit(3, n=4, N=6)
    c, l = rng.normal(size=6), 2.5  # E = sum_n c_n y_n, so dE/dy = c
    y = su.forward(W, b, X, l)
    grads = su.backward(W, X, y, c, l)
    Wt, bt, Xt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W, b, X))
    yt = torch.sigmoid(l * (Xt @ Wt + bt))
    (torch.tensor(c) * yt).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-14)
    for name, t in {"W": Wt, "b": bt, "X": Xt}.items():
        assert relative_error(grads[name], t.grad.numpy()) <= 1e-12, name


def test_training_learns_or_and_lowers_the_error():
    X, d = truth_table("OR")
    d01 = (d + 1) / 2
    fit = su.train(X, d01, eta=0.5, epochs=2000, l=1.0, rng=np.random.default_rng(4))
    assert fit.losses[-1] < 0.05 * fit.losses[0]
    np.testing.assert_array_equal(su.forward(fit.W, fit.b, X) > 0.5, d01 > 0.5)


def test_huge_states_saturate_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = su.forward(np.array([1e308, -1e308]), 0.0, np.array([[1.0, 0.0], [0.0, 1.0]]), l=5.0)
        g = su.backward(np.array([1e308, -1e308]), np.eye(2), y, np.ones(2), l=5.0)
    np.testing.assert_array_equal(y, [1.0, 0.0])
    np.testing.assert_array_equal(g["W"], [0.0, 0.0])


def test_bad_input_is_rejected():
    W, b, X, _ = _random_unit(5)
    with pytest.raises(ValueError, match="positive number, got -1"):
        su.forward(W, b, X, l=-1.0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\).*got shape \(5, 2\)"):
        su.forward(W, b, X[:, :2])
    with pytest.raises(ValueError, match=r"y and dy must have shape \(5,\).*got \(5,\) and \(4,\)"):
        su.backward(W, X, np.ones(5), np.ones(4))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        su.train(X, np.full(5, -1.0))
