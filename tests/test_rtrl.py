"""RTRL (Eqs. 13-19): the same gradient as BPTT, sensitivities against central differences, online updates."""

import numpy as np
import pytest

from lstmlab.numpy import fully_recurrent as fr
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error
from lstmlab.numpy.rtrl import RTRL, rtrl


def problem(seed, n_in, n_units, steps, batch, p_target=0.3):
    rng = np.random.default_rng(seed)
    # W (n_units, n_in + n_units), drawn by columns: the weights these tests have always used
    W = (rng.normal(scale=1.0, size=(n_in + n_units, n_units)) + 0.05).T.copy()
    x = rng.normal(size=(steps, batch, n_in))
    y0 = rng.uniform(0.1, 0.9, size=(batch, n_units))
    d = rng.uniform(size=(steps, batch, n_units))
    mask = (rng.uniform(size=d.shape) < p_target).astype(float)
    mask[rng.integers(steps), 0, rng.integers(n_units)] = 1.0
    return W, x, y0, d, mask


@pytest.mark.equation("13-19", check="independent reference")
@pytest.mark.parametrize("seed,n_in,n_units,steps,batch",
                         [(0, 1, 1, 5, 1), (1, 2, 3, 8, 2), (2, 3, 5, 12, 3), (3, 4, 2, 20, 1), (4, 0, 4, 6, 2)])
def test_rtrl_gradient_equals_bptt(seed, n_in, n_units, steps, batch):
    W, x, y0, d, mask = problem(seed, n_in, n_units, steps, batch)
    g_rtrl, Y, W_after = rtrl(W, x, d, mask, y0)
    g_bptt, _, _ = fr.bptt(W, x, d, mask, y0)
    assert relative_error(g_rtrl, g_bptt) <= 1e-9
    np.testing.assert_array_equal(W_after, W)  # accumulate-only mode leaves the weights alone
    np.testing.assert_allclose(Y, fr.forward(W, x, y0)[0], rtol=1e-14)


@pytest.mark.equation(15, 18, 19, check="central differences")
def test_sensitivities_are_dy_dW():
    W, x, y0, d, mask = problem(7, 2, 3, 6, 1)
    learner = RTRL(W.copy(), batch=1, y0=y0)
    for j in range(x.shape[0]):
        learner.step(x[j])
    assert np.all(learner.grad == 0)  # no target was given
    k = 1  # p^k_uv(t) against a central difference of y_k(t) in every weight
    numeric = numerical_gradient(lambda: fr.forward(W, x, y0)[0][-1, 0, k], W)
    assert relative_error(learner.p[0, :, :, k], numeric) <= 1e-7


@pytest.mark.equation(13, 14, check="independent reference")
def test_online_update_first_step_is_exact_and_learning_reduces_error():
    W, x, y0, d, mask = problem(8, 2, 3, 10, 1)
    mask[:] = 0.0
    mask[4, 0, 1] = 1.0  # the first (and only) target arrives at step 4
    eta = 0.5
    _, _, W_online = rtrl(W, x, d, mask, y0, eta=eta)
    g_prefix, _, _ = fr.bptt(W, x[:5], d[:5], mask[:5], y0)
    np.testing.assert_allclose(W_online, W - eta * g_prefix, rtol=1e-12)

    # Online RTRL on a fixed sequence with targets everywhere: the error falls over repeated passes.
    mask[:] = 1.0
    errors, W_now = [], W
    for _ in range(30):
        errors.append(fr.total_error(W_now, x, d, mask, y0))
        _, _, W_now = rtrl(W_now, x, d, mask, y0, eta=0.3)
    assert errors[-1] < 0.7 * errors[0]


def test_bad_shapes_raise():
    W, x, y0, d, mask = problem(0, 2, 3, 4, 2)
    learner = RTRL(W, batch=2)
    with pytest.raises(ValueError, match=r"x must have shape \(2, 2\), got \(2, 3\)"):
        learner.step(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"d and mask must have shape \(2, 3\)"):
        learner.step(x[0], d[0, :, :2])
    with pytest.raises(ValueError, match=r"y0 must have shape \(2, 3\), got \(3,\)"):
        RTRL(W, batch=2, y0=np.zeros(3))
