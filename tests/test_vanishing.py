"""Sec. 7: the measured error-flow factor against Eq. (21), and the lag experiment."""

import numpy as np
import pytest

from lstmlab.numpy import fully_recurrent as fr
from lstmlab.numpy import vanishing as vn


@pytest.mark.equation(20, 22, 23, check="closed form")
@pytest.mark.parametrize("w", [2.0, 4.0, 6.0, -3.0])
def test_self_connected_unit_scales_by_w_over_4_per_step(w):
    W, x, y0 = vn.self_connected_unit(w, steps=25)
    factor = vn.measured_factor(W, x, o=0, y0=y0)[:, 0]
    q = np.arange(24, -1, -1)  # row j lies q = T-1-j steps before t
    np.testing.assert_allclose(factor, (w / 4.0) ** q, rtol=1e-12)


@pytest.mark.equation(20, 21, check="independent reference")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_measured_factor_is_the_sum_over_paths_of_eq_21(seed):
    rng = np.random.default_rng(seed)
    n_in, n_units, steps = 2, 3, 6
    W = rng.normal(scale=1.5, size=(n_units, n_in + n_units)) + 0.1
    x = rng.normal(size=(steps, n_in))
    y0 = rng.uniform(size=n_units)
    Y = fr.forward(W, x[:, None], y0[None])[0][:, 0]
    for o in range(n_units):
        measured = vn.measured_factor(W, x, o, y0)
        for q in range(1, 5):
            jac = vn.jacobian_factor(W, Y, q)
            np.testing.assert_allclose(measured[steps - 1 - q], jac[:, o], rtol=1e-12, atol=1e-300)
            for v in range(n_units):
                literal = vn.path_sum_factor(W, Y, v, o, q)
                assert abs(literal - jac[v, o]) <= 1e-12 * max(abs(literal), 1e-30)


def test_lag_task_layout():
    x, sign = vn.lag_task(4, 50, np.random.default_rng(0), noise=0.5)
    assert x.shape == (5, 50, 1)
    np.testing.assert_array_equal(x[0, :, 0], sign)
    assert np.all(np.abs(x[1:]) <= 0.5) and set(np.unique(sign)) == {-1.0, 1.0}


def test_short_lags_are_learned_and_long_ones_are_not():
    rates = vn.lag_sweep([2, 20], trials=16, seed=1)
    assert rates[2] >= 0.8
    assert rates[20] <= 0.3


def test_lag_loss_gradcheck():
    from lstmlab.numpy.gradcheck import check_gradients
    rng = np.random.default_rng(3)
    K, H, n = 2, 3, 4
    params = {"w_ih": rng.normal(size=(K, H, 1)), "w_hh": rng.normal(size=(K, H, H)),
              "b": rng.normal(size=(K, 1, H)) + 0.1, "w_out": rng.normal(size=(K, 1, H)),
              "b_out": rng.normal(size=(K, 1, 1)) + 0.1}
    x, sign = vn.lag_task(3, K * n, rng)
    x, target = x.reshape(4, K, n, 1), sign.reshape(K, n)
    _, grads, _ = vn.lag_loss(params, x, target)
    errors = check_gradients(lambda: vn.lag_loss(params, x, target)[0], params, grads)
    assert max(errors.values()) <= 1e-7, errors
