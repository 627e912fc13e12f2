"""Multidimensional LSTM: central differences, an independent torch autograd reference written from
Eqs. 53-54 point by point in row-major order, the reduction of a one-row grid to the ordinary LSTM,
the wavefront order, and shape errors."""

import math

import numpy as np
import pytest
import torch

from lstmlab.numpy import lstm, md_lstm
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

B, D, H = 2, 3, 2


def problem(grid, seed):
    """Random non-zero asymmetric parameters, input grid and loss weights for h and c."""
    rng = np.random.default_rng(seed)
    n_dims = len(grid)
    params = {k: 0.6 * rng.normal(size=s) + 0.1 for k, s in md_lstm.param_shapes(D, H, n_dims).items()}
    x = rng.normal(size=grid + (B, D))
    w_h, w_c = rng.normal(size=grid + (B, H)), rng.normal(size=grid + (B, H))
    return params, x, w_h, w_c


def torch_reference(x, params):
    """Eqs. 53-54 written independently: one point at a time, row-major, with torch autograd."""
    n_dims = x.ndim - 2
    grid = x.shape[:n_dims]
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    zero = torch.zeros(x.shape[-2], H, dtype=torch.float64)
    h, c = {}, {}
    for point in np.ndindex(grid):
        preds = [tuple(q - (k == d) for k, q in enumerate(point)) for d in range(n_dims)]
        h_prev = [h[q] if min(q) >= 0 else zero for q in preds]
        c_prev = [c[q] if min(q) >= 0 else zero for q in preds]
        a = xt[point] @ p["w_ih"].T + torch.cat(h_prev, dim=1) @ p["w_hh"].T + p["b"]
        gates = [a[:, k * H:(k + 1) * H] for k in range(n_dims + 3)]
        i, g, o = torch.sigmoid(gates[0]), torch.tanh(gates[-2]), torch.sigmoid(gates[-1])
        c[point] = i * g
        for d in range(n_dims):
            c[point] = c[point] + torch.sigmoid(gates[1 + d]) * c_prev[d]
        h[point] = o * torch.tanh(c[point])
    stack = lambda s: torch.stack([s[q] for q in np.ndindex(grid)]).reshape(grid + (x.shape[-2], H))  # noqa: E731
    return stack(h), stack(c), p, xt


@pytest.mark.equation(53, 54, check="independent reference")
@pytest.mark.parametrize("grid", [(3, 4), (4, 1), (2, 3, 2)])
def test_forward_and_gradients_match_torch_autograd(grid):
    params, x, w_h, w_c = problem(grid, seed=sum(grid))
    h, c, cache = md_lstm.forward(x, params)
    th, tc, tp, tx = torch_reference(x, params)
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c, tc.detach().numpy(), rtol=1e-12, atol=1e-13)
    (torch.sum(th * torch.tensor(w_h)) + torch.sum(tc * torch.tensor(w_c))).backward()
    dx, grads = md_lstm.backward(w_h, cache, dc_out=w_c)
    assert relative_error(dx, tx.grad.numpy()) < 1e-12
    for k in params:
        assert relative_error(grads[k], tp[k].grad.numpy()) < 1e-12, k


@pytest.mark.parametrize("grid", [(3, 3), (2, 4), (2, 2, 2)])
def test_gradients_match_central_differences(grid):
    params, x, w_h, w_c = problem(grid, seed=7 + len(grid))

    def loss():
        h, c, _ = md_lstm.forward(x, params)
        return float(np.sum(h * w_h) + np.sum(c * w_c))

    _, _, cache = md_lstm.forward(x, params)
    dx, grads = md_lstm.backward(w_h, cache, dc_out=w_c)
    errors = check_gradients(loss, params, grads)
    errors["x"] = relative_error(dx, numerical_gradient(loss, x))
    assert max(errors.values()) <= 1e-7, errors
    assert all(np.abs(g).max() > 1e-3 for g in grads.values())


@pytest.mark.equation(54, check="closed form")
def test_one_row_grid_is_the_ordinary_lstm():
    """A 1 x W grid: nothing lies above, so dimension 1 contributes zero states and the scan along the
    row is lstm.forward with the rows of f_1 removed and W_hh's columns of dimension 2."""
    params, x, w_h, _ = problem((1, 5), seed=3)
    h, c, cache = md_lstm.forward(x, params)
    keep = np.r_[0:H, 2 * H:5 * H]  # gate rows i, f_2, g, o
    lstm_params = {"w_ih": params["w_ih"][keep], "w_hh": params["w_hh"][keep, H:],
                   "b_ih": params["b"][keep], "b_hh": np.zeros(4 * H)}
    zeros = np.zeros((B, H))
    h_seq, (h_last, c_last), lstm_cache = lstm.forward(x[0], (zeros, zeros), lstm_params, "NP")
    np.testing.assert_allclose(h[0], h_seq, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(c[0, -1], c_last, rtol=1e-13, atol=1e-14)
    dx, grads = md_lstm.backward(w_h, cache)
    dx_seq, _, lstm_grads = lstm.backward(w_h[0], (zeros, zeros), lstm_cache)
    np.testing.assert_allclose(dx[0], dx_seq, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads["w_ih"][keep], lstm_grads["w_ih"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads["w_hh"][keep, H:], lstm_grads["w_hh"], rtol=1e-12, atol=1e-14)
    # The forget gate of dimension 1 only ever multiplies zero states, and h from above is always zero.
    assert np.all(grads["w_ih"][H:2 * H] == 0) and np.all(grads["w_hh"][:, :H] == 0)


def test_step_is_one_point_of_the_scan():
    params, x, _, _ = problem((2, 2), seed=5)
    h, c, _ = md_lstm.forward(x, params)
    h_prev, c_prev = np.stack([h[0, 1], h[1, 0]]), np.stack([c[0, 1], c[1, 0]])
    h11, c11 = md_lstm.step(x[1, 1], h_prev, c_prev, params["w_ih"], params["w_hh"], params["b"])
    np.testing.assert_allclose(h11, h[1, 1], rtol=1e-14)
    np.testing.assert_allclose(c11, c[1, 1], rtol=1e-14)
    i, f, g, o = md_lstm.gates(x[1, 1], h_prev, params["w_ih"], params["w_hh"], params["b"])
    assert f.shape == (2, B, H) and i.shape == g.shape == o.shape == (B, H)
    np.testing.assert_allclose(f[0] * c_prev[0] + f[1] * c_prev[1] + i * g, c11, rtol=1e-14)
    np.testing.assert_allclose(o * np.tanh(c11), h11, rtol=1e-14)
    hs, cs = md_lstm.scan(x, params["w_ih"], params["w_hh"], params["b"])
    assert np.array_equal(hs, h) and np.array_equal(cs, c)


def test_wavefronts_cover_the_grid_once_and_respect_dependencies():
    grid = (3, 5)
    fronts = md_lstm.wavefronts(grid)
    assert [len(f) for f in fronts] == [1, 2, 3, 3, 3, 2, 1]
    seen = {}
    for k, front in enumerate(fronts):
        for point in map(tuple, front):
            assert point not in seen
            seen[point] = k
            for d in range(2):
                pred = tuple(q - (j == d) for j, q in enumerate(point))
                if min(pred) >= 0:
                    assert seen[pred] == k - 1
    assert len(seen) == 15


def test_sum_of_forget_gates_lets_the_state_grow_beyond_one_dimension():
    """With every gate open (huge biases), c(p) = c(p - e_1) + c(p - e_2) + 1, whose solution counts
    lattice paths: c(i, j) = binomial(i + j + 2, i + 1) - 1, against i + j + 1 for a 1-D chain."""
    params = md_lstm.init_params(1, 1, 2, np.random.default_rng(0), scale=0.0)
    params["b"][:] = 50.0
    _, c, _ = md_lstm.forward(np.zeros((4, 4, 1, 1)), params)
    expected = np.array([[math.comb(i + j + 2, i + 1) - 1 for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(c[:, :, 0, 0], expected, rtol=1e-12)
    assert c[3, 3, 0, 0] == pytest.approx(69.0)


def test_shape_errors_name_expected_and_actual():
    params, x, w_h, _ = problem((2, 2), seed=1)
    with pytest.raises(ValueError, match=r"\(S_1, \.\.\., S_N, B, D\).*\(2, 3\)"):
        md_lstm.forward(np.zeros((2, 3)), params)
    with pytest.raises(ValueError, match=r"grid size must be at least 1, got grid \(2, 0\)"):
        md_lstm.forward(np.zeros((2, 0, B, D)), params)
    with pytest.raises(ValueError, match=r"w_ih must have shape \(10, 4\), got \(10, 3\)"):
        md_lstm.forward(np.zeros((2, 2, B, 4)), params)
    bad = dict(params, w_hh=np.zeros((5 * H, H)))
    with pytest.raises(ValueError, match=r"w_hh must have shape \(10, 4\), got \(10, 2\)"):
        md_lstm.forward(x, bad)
    with pytest.raises(ValueError, match=r"w_ih must have \(N \+ 3\) H"):
        md_lstm.forward(x, dict(params, w_ih=np.zeros((7, D))))
    with pytest.raises(ValueError, match="expected parameters"):
        md_lstm.forward(x, {"w_ih": params["w_ih"]})
    _, _, cache = md_lstm.forward(x, params)
    with pytest.raises(ValueError, match=r"dh_out must have shape \(2, 2, 2, 2\), got \(2, 2, 2\)"):
        md_lstm.backward(w_h[0], cache)
    with pytest.raises(ValueError, match=r"h_prev, c_prev \(N, B, H\)"):
        md_lstm.step(x[0, 0], np.zeros((B, H)), np.zeros((B, H)), *params.values())
