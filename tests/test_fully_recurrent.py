"""Fully recurrent network with BPTT (Eqs. 6-12): central differences, torch autograd, truncation."""

import numpy as np
import pytest
import torch

from lstmlab.numpy import fully_recurrent as fr
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error


def problem(seed, n_in=3, n_units=4, steps=7, batch=2, p_target=0.4):
    """Random weights, inputs, initial outputs, and targets at randomly chosen (τ, u)."""
    rng = np.random.default_rng(seed)
    # W (n_units, n_in + n_units), drawn by columns: the weights these tests have always used
    W = (rng.normal(scale=0.9, size=(n_in + n_units, n_units)) + 0.1).T.copy()
    x = rng.normal(size=(steps, batch, n_in))
    y0 = rng.uniform(0.1, 0.9, size=(batch, n_units))
    d = rng.uniform(size=(steps, batch, n_units))
    mask = (rng.uniform(size=d.shape) < p_target).astype(float)
    mask[-1, 0, 0] = 1.0  # at least one target, and one at the end
    return W, x, y0, d, mask


def torch_gradient(W, x, y0, d, mask, k=None):
    """∂E_total/∂W by autograd; with k, E(τ0) sees the outputs k+1 steps before τ0 as constants."""
    Wt = torch.tensor(W, requires_grad=True)
    xs, ds, ms = torch.tensor(x), torch.tensor(d), torch.tensor(mask)

    def run(y, first, last):
        for j in range(first, last + 1):
            y = torch.sigmoid(torch.nn.functional.linear(torch.cat([xs[j], y], dim=1), Wt))
        return y

    steps = x.shape[0]
    if k is None:
        starts = [torch.tensor(y0)] * steps
        firsts = [0] * steps
    else:
        with torch.no_grad():  # the detached history: outputs computed without a graph
            history = [torch.tensor(y0)]
            for j in range(steps):
                history.append(run(history[-1], j, j))
        firsts = [max(0, j - k) for j in range(steps)]
        starts = [history[first] for first in firsts]
    total = sum(0.5 * (ms[j] * (ds[j] - run(starts[j], firsts[j], j)) ** 2).sum() for j in range(steps))
    total.backward()
    return Wt.grad.numpy()


@pytest.mark.equation("6-10", 12, check="central differences")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bptt_gradcheck_weights_and_initial_state(seed):
    W, x, y0, d, mask = problem(seed)
    grad, theta, d_y0 = fr.bptt(W, x, d, mask, y0)
    assert relative_error(grad, numerical_gradient(lambda: fr.total_error(W, x, d, mask, y0), W)) <= 1e-7
    assert relative_error(d_y0, numerical_gradient(lambda: fr.total_error(W, x, d, mask, y0), y0)) <= 1e-7


@pytest.mark.equation(11, 12, check="torch autograd")
def test_theta_is_minus_dE_dz_and_matches_autograd():
    W, x, y0, d, mask = problem(5)
    grad, theta, _ = fr.bptt(W, x, d, mask, y0)
    np.testing.assert_allclose(grad, torch_gradient(W, x, y0, d, mask), rtol=1e-10, atol=1e-13)
    # ϑ(τ) = -∂E_total/∂z(τ): perturb z at one step through a shift added to the unit's state.
    Y, X = fr.forward(W, x, y0)
    j, b, u = 3, 1, 2
    eps = 1e-6

    def e_total(shift):
        y, total = y0, 0.0
        for t in range(x.shape[0]):
            z = np.concatenate([x[t], y], axis=1) @ W.T
            if t == j:
                z[b, u] += shift
            y = 1 / (1 + np.exp(-z))
            total += 0.5 * np.sum(mask[t] * (d[t] - y) ** 2)
        return total

    numeric = (e_total(eps) - e_total(-eps)) / (2 * eps)
    assert relative_error(-numeric, theta[j, b, u]) <= 1e-7


@pytest.mark.equation(12, check="closed form")
def test_full_bptt_with_targets_only_at_the_end_follows_eq_12():
    W, x, y0, d, mask = problem(3)
    mask[:] = 0.0
    mask[-1] = 1.0
    grad, theta, _ = fr.bptt(W, x, d, mask, y0)
    Y, _ = fr.forward(W, x, y0)
    n_in = x.shape[2]
    # Eq. (12) exactly as printed, which is right when every target sits at the final time t.
    expected = (Y[-1] * (1 - Y[-1])) * (d[-1] - Y[-1])
    np.testing.assert_allclose(theta[-1], expected, rtol=1e-13)
    for j in reversed(range(x.shape[0] - 1)):
        expected = Y[j] * (1 - Y[j]) * (expected @ W[:, n_in:])  # Σ_k W[k, u] ϑ_k(τ+1)
        np.testing.assert_allclose(theta[j], expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("k", [6, 7, 50])
def test_truncation_at_or_beyond_the_sequence_is_full_bptt(k):
    W, x, y0, d, mask = problem(4, steps=7)
    full, _, _ = fr.bptt(W, x, d, mask, y0)
    truncated, _, _ = fr.bptt(W, x, d, mask, y0, k=k)
    np.testing.assert_allclose(truncated, full, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_truncated_bptt_matches_autograd_with_detached_history(k):
    W, x, y0, d, mask = problem(6, steps=7)
    truncated, _, d_y0 = fr.bptt(W, x, d, mask, y0, k=k)
    assert d_y0 is None
    np.testing.assert_allclose(truncated, torch_gradient(W, x, y0, d, mask, k=k), rtol=1e-10, atol=1e-13)
    full, _, _ = fr.bptt(W, x, d, mask, y0)
    assert relative_error(truncated, full) > 1e-6


def test_bad_shapes_raise():
    W, x, y0, d, mask = problem(0)
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, 3\), got \(7, 2, 5\)"):
        fr.forward(W, np.zeros((7, 2, 5)))
    with pytest.raises(ValueError, match=r"y0 must have shape \(2, 4\), got \(3, 4\)"):
        fr.forward(W, x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"mask must have shape \(7, 2, 4\), got \(7, 2\)"):
        fr.bptt(W, x, d, mask[..., 0], y0)
    with pytest.raises(TypeError, match="int64"):
        fr.forward(W, x.astype(np.int64))
    with pytest.raises(ValueError, match="k must be"):
        fr.bptt(W, x, d, mask, y0, k=-1)
