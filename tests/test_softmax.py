"""Softmax read-out: stable softmax, cross-entropy and all gradients against torch.nn (float64) and
central differences, and clear errors for bad targets and shapes."""

import numpy as np
import pytest
import torch

from lstmlab.numpy import softmax
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

K, H = 5, 4


def random_readout(seed, shape=(3, 2)):
    rng = np.random.default_rng(seed)
    weight = 0.7 * rng.normal(size=(K, H)) + 0.1
    bias = 0.5 * rng.normal(size=K) - 0.2
    h = rng.normal(size=shape + (H,))
    targets = rng.integers(0, K, size=shape)
    return h, weight, bias, targets


def test_softmax_sums_to_one_and_survives_huge_logits():
    z = np.array([[1000.0, 999.0, -1000.0], [-5.0, 0.0, 5.0]])
    p = softmax.softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-15)
    # exp(1) : exp(0) : exp(-2000) written out for the first row, e^-5 : 1 : e^5 for the second
    e = np.exp(1.0)
    np.testing.assert_allclose(p[0], [e / (e + 1), 1 / (e + 1), 0.0], atol=1e-300)
    np.testing.assert_allclose(p[1], np.array([np.exp(-5), 1, np.exp(5)]) / (np.exp(-5) + 1 + np.exp(5)))


def test_temperature_sharpens_and_flattens():
    z = np.array([2.0, 1.0, 0.0])
    cold, warm = softmax.softmax(z, 0.1), softmax.softmax(z, 10.0)
    assert cold[0] > 0.9999 and np.ptp(warm) < 0.1
    np.testing.assert_allclose(softmax.softmax(z, 2.0), softmax.softmax(z / 2.0))
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature must be positive"):
            softmax.softmax(z, bad)


def test_loss_and_gradients_match_torch():
    h, weight, bias, targets = random_readout(1, shape=(4, 3))
    loss, cache = softmax.forward(h, weight, bias, targets)
    dh, dw, db = softmax.backward(cache)

    ht, wt, bt = (torch.tensor(a, requires_grad=True) for a in (h, weight, bias))
    zt = torch.nn.functional.linear(ht, wt, bt)
    lt = torch.nn.functional.cross_entropy(zt.reshape(-1, K), torch.tensor(targets).reshape(-1))
    lt.backward()
    assert loss == pytest.approx(lt.item(), rel=1e-14)
    np.testing.assert_allclose(dh, ht.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dw, wt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax.logits(h, weight, bias), zt.detach().numpy(), rtol=1e-14)


def test_gradients_match_central_differences():
    h, weight, bias, targets = random_readout(2)
    params = {"h": h, "weight": weight, "bias": bias}

    def loss():
        return softmax.forward(params["h"], params["weight"], params["bias"], targets)[0]

    _, cache = softmax.forward(h, weight, bias, targets)
    dh, dw, db = softmax.backward(cache)
    errors = check_gradients(loss, params, {"h": dh, "weight": dw, "bias": db})
    assert max(errors.values()) <= 1e-7, errors


def test_one_readout_per_row_and_a_single_vector():
    h, weight, bias, targets = random_readout(3, shape=(6,))
    loss, cache = softmax.forward(h, weight, bias, targets)
    dh, dw, db = softmax.backward(cache)
    assert dh.shape == (6, H) and dw.shape == (K, H) and db.shape == (K,)
    # the mean over rows: the loss is the mean of the six one-row losses
    singles = [softmax.forward(h[k], weight, bias, targets[k:k + 1].reshape(()))[0] for k in range(6)]
    assert loss == pytest.approx(np.mean(singles), rel=1e-14)
    numeric = numerical_gradient(lambda: softmax.forward(h, weight, bias, targets)[0], h)
    assert relative_error(dh, numeric) <= 1e-7


@pytest.mark.parametrize("change,message", [
    (lambda a: {**a, "targets": a["targets"].astype(float)}, "integer array"),
    (lambda a: {**a, "targets": a["targets"][:, :1]}, r"targets must have shape \(3, 2\)"),
    (lambda a: {**a, "targets": a["targets"] + K}, r"targets must lie in \[0, 4\]"),
    (lambda a: {**a, "bias": a["bias"][:-1]}, r"bias must have shape \(5,\)"),
    (lambda a: {**a, "h": a["h"][..., :-1]}, r"h must be an array \(\.\.\., 4\)"),
    (lambda a: {**a, "weight": a["weight"][0]}, r"weight must be an array \(K, H\)"),
])
def test_bad_input_is_named(change, message):
    h, weight, bias, targets = random_readout(4)
    args = change({"h": h, "weight": weight, "bias": bias, "targets": targets})
    with pytest.raises((ValueError, TypeError), match=message):
        softmax.forward(args["h"], args["weight"], args["bias"], args["targets"])
