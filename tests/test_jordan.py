"""Jordan network: context fed by the output layer, with and without self-connection α."""

import numpy as np
import pytest

from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error
from lstmlab.numpy.jordan import Jordan


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_full_bptt_gradcheck(alpha):
    net = Jordan(3, 4, 2, alpha=alpha, seed=1)
    rng = np.random.default_rng(3)
    for value in net.params.values():
        value += rng.normal(scale=0.5, size=value.shape) + 0.1
    x = rng.normal(size=(6, 2, 3))
    d = rng.uniform(size=(6, 2, 2))
    mask = (rng.uniform(size=d.shape) < 0.5).astype(float)
    mask[-1] = 1.0
    c0 = rng.uniform(size=(2, 2))
    _, cache = net.forward(x, c0)
    grads, d_c0 = net.backward(d, mask, cache)
    errors = check_gradients(lambda: net.loss(x, d, mask, c0), net.params, grads)
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(d_c0, numerical_gradient(lambda: net.loss(x, d, mask, c0), c0)) <= 1e-7


def test_context_follows_outputs_with_decay():
    net = Jordan(2, 3, 2, alpha=0.5, seed=4)
    x = np.random.default_rng(0).normal(size=(5, 1, 2))
    YO, (_, C, _, _) = net.forward(x)
    assert net.n_context == 2
    np.testing.assert_array_equal(C[0], 0.0)
    for j in range(1, 5):
        np.testing.assert_allclose(C[j], 0.5 * C[j - 1] + YO[j - 1], rtol=1e-15)
