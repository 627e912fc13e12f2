"""Feed-forward sigmoid networks and backpropagation (Sec. 4): Eqs. 1-5, gradients, XOR."""

import math

import numpy as np
import pytest
import torch

from lstmlab.numpy import feedforward as ff
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_D = np.array([[0.0], [1.0], [1.0], [0.0]])
ARCHITECTURES = [[2, 3, 1], [3, 4, 2], [2, 5, 3, 2], [4, 1]]


def _network(sizes, seed, N=5):
    rng = np.random.default_rng(seed)
    params = ff.init_params(sizes, rng, scale=1.5)
    return params, rng.normal(size=(N, sizes[0])), rng.uniform(size=(N, sizes[-1]))


@pytest.mark.equation(1, 2, 3, check="independent reference")
def test_forward_unit_by_unit():
    """Eqs. 1-3 evaluated one unit at a time with plain Python, against the vectorised pass."""
    params, X, _ = _network([2, 3, 2], seed=0)
    for n, x in enumerate(X):
        y_prev = list(x)
        for k in (1, 2):
            W, b = params[f"W{k}"], params[f"b{k}"]
            y_next = []
            for u in range(W.shape[0]):
                z_u = sum(W[u, v] * y_prev[v] for v in range(W.shape[1]))
                y_next.append(1.0 / (1.0 + math.exp(-(z_u + b[u]))))
            y_prev = y_next
        np.testing.assert_allclose(ff.forward(params, X)[-1][n], y_prev, rtol=1e-14)


@pytest.mark.equation(4, 5, check="closed form")
def test_output_error_signal_is_equation_5():
    params, X, d = _network([3, 2, 2], seed=1)
    ys = ff.forward(params, X)
    y = ys[-1]
    np.testing.assert_allclose(ff.error_signals(params, ys, d)[-1], (d - y) * y * (1 - y), rtol=1e-14)


@pytest.mark.equation(4, check="central differences")
def test_error_signals_are_minus_dE_ds():
    """theta_u = -dE/ds_u (Eq. 4) for every unit: with one sample, ds_u/db_u = 1 gives dE/ds_u."""
    params, X, d = _network([2, 4, 3, 2], seed=2, N=1)
    thetas = ff.error_signals(params, ff.forward(params, X), d)
    for k, theta in enumerate(thetas, start=1):
        b = params[f"b{k}"]
        numeric = numerical_gradient(lambda: ff.loss(params, X, d), b)
        assert relative_error(theta[0], -numeric) <= 1e-7, k


@pytest.mark.parametrize("sizes", ARCHITECTURES)
@pytest.mark.parametrize("seed", [3, 4])
def test_gradients_match_central_differences(sizes, seed):
    params, X, d = _network(sizes, seed)
    grads = ff.gradients(params, X, d)
    # dict(params, X=X) holds the very arrays the loss reads, so perturbing them is seen by it.
    errors = check_gradients(lambda: ff.loss(params, X, d), dict(params, X=X), grads)
    assert max(errors.values()) <= 1e-7, errors


@pytest.mark.parametrize("sizes", ARCHITECTURES)
def test_gradients_match_torch_autograd(sizes):
    params, X, d = _network(sizes, seed=5)
    grads = ff.gradients(params, X, d)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in dict(params, X=X).items()}
    y = tp["X"]
    for k in range(1, len(sizes)):
        y = torch.nn.functional.linear(y, tp[f"W{k}"], tp[f"b{k}"]).sigmoid()
    E = 0.5 * ((torch.tensor(d) - y) ** 2).sum()
    E.backward()
    assert E.item() == pytest.approx(ff.loss(params, X, d), rel=1e-14)
    for name, t in tp.items():
        assert relative_error(grads[name], t.grad.numpy()) <= 1e-12, name


def test_weight_changes_are_eta_theta_y():
    params, X, d = _network([2, 3, 1], seed=6)
    ys = ff.forward(params, X)
    thetas = ff.error_signals(params, ys, d)
    changes = ff.weight_changes(ys, thetas, eta=0.3)
    # Delta W_[v,u] = eta sum_n theta_u y_v, spelled out for one hidden -> output weight, stored W2[u, v].
    assert changes["W2"][0, 2] == pytest.approx(0.3 * sum(thetas[1][n, 0] * ys[1][n, 2] for n in range(5)))
    grads = ff.gradients(params, X, d)
    for name, change in changes.items():
        np.testing.assert_allclose(change, -0.3 * grads[name], rtol=1e-13)


@pytest.mark.parametrize("sizes, seed, eta", [([2, 2, 1], 1, 2.0), ([2, 3, 1], 0, 2.0)])
def test_learns_xor_with_a_fixed_seed(sizes, seed, eta):
    fit = ff.train(sizes, XOR_X, XOR_D, eta=eta, epochs=3000, rng=np.random.default_rng(seed))
    y = ff.forward(fit.params, XOR_X)[-1]
    np.testing.assert_array_equal(y > 0.5, XOR_D > 0.5)
    assert fit.losses[-1] < 0.01 and np.max(np.abs(y - XOR_D)) < 0.1


def test_three_hidden_units_learn_xor_from_most_starts():
    wins = 0
    for seed in range(10):
        fit = ff.train([2, 3, 1], XOR_X, XOR_D, eta=2.0, epochs=1000, rng=np.random.default_rng(seed))
        wins += bool(np.all((ff.forward(fit.params, XOR_X)[-1] > 0.5) == (XOR_D > 0.5)))
    assert wins >= 9


def test_init_params_stores_the_receiving_unit_first():
    params = ff.init_params([2, 3, 1], np.random.default_rng(0))
    assert params["W1"].shape == (3, 2) and params["W2"].shape == (1, 3)


def test_train_leaves_given_parameters_alone():
    params, _, _ = _network([2, 3, 1], seed=7)
    before = {k: v.copy() for k, v in params.items()}
    ff.train([2, 3, 1], XOR_X, XOR_D, epochs=5, params=params)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])


def test_bad_shapes_name_expected_and_actual():
    params, X, d = _network([2, 3, 1], seed=8)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\).*got shape \(5, 3\)"):
        ff.forward(params, np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"d must have shape \(5, 1\).*got shape \(5,\)"):
        ff.gradients(params, X, d[:, 0])
    bad = dict(params, W2=np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"W2 must have shape \(n_2, 3\), got shape \(1, 4\)"):
        ff.forward(bad, X)
    bad = dict(params, b1=np.ones(2))
    with pytest.raises(ValueError, match=r"b1 must have shape \(3,\).*got shape \(2,\)"):
        ff.forward(bad, X)
    with pytest.raises(ValueError, match="W1..WL and b1..bL"):
        ff.forward({"W1": params["W1"]}, X)
    with pytest.raises(ValueError, match=r"at least two positive layer sizes, got \[2\]"):
        ff.init_params([2], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"layer sizes \[2, 3, 1\], expected \[2, 4, 1\]"):
        ff.train([2, 4, 1], XOR_X, XOR_D, params=params)
