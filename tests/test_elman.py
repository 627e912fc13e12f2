"""Elman network: full BPTT and Elman's context-as-input gradient against central differences."""

import numpy as np
import pytest

from lstmlab.numpy.elman import Elman
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error


def data(net, seed, steps=6, batch=2):
    rng = np.random.default_rng(seed)
    n_in, _, n_out = net.sizes
    x = rng.normal(size=(steps, batch, n_in))
    d = rng.uniform(size=(steps, batch, n_out))
    mask = (rng.uniform(size=d.shape) < 0.5).astype(float)
    mask[-1] = 1.0
    c0 = rng.uniform(size=(batch, net.n_context))
    return x, d, mask, c0


def shifted(net, seed):
    """Move the parameters off the symmetric initial distribution (non-zero biases, asymmetric)."""
    rng = np.random.default_rng(seed)
    for value in net.params.values():
        value += rng.normal(scale=0.5, size=value.shape) + 0.1
    return net


@pytest.mark.parametrize("seed", [0, 1])
def test_full_bptt_gradcheck(seed):
    net = shifted(Elman(3, 4, 2, seed=seed), seed)
    x, d, mask, c0 = data(net, seed)
    _, cache = net.forward(x, c0)
    grads, d_c0 = net.backward(d, mask, cache)
    errors = check_gradients(lambda: net.loss(x, d, mask, c0), net.params, grads)
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(d_c0, numerical_gradient(lambda: net.loss(x, d, mask, c0), c0)) <= 1e-7


def test_context_as_input_is_the_gradient_with_frozen_context():
    net = shifted(Elman(2, 3, 2, seed=5), 5)
    x, d, mask, c0 = data(net, 5)
    _, cache = net.forward(x, c0)
    context = cache[1].copy()  # the context values this sequence produced, now held fixed
    grads, _ = net.backward(d, mask, cache, through_context=False)
    errors = check_gradients(lambda: net.loss(x, d, mask, context=context), net.params, grads)
    assert max(errors.values()) <= 1e-7, errors
    full, _ = net.backward(d, mask, cache)
    assert relative_error(full["W_IH"], grads["W_IH"]) > 1e-4


def test_context_cells_hold_previous_hidden_outputs():
    net = Elman(2, 3, 1, seed=2)
    x, _, _, c0 = data(net, 2)
    _, (_, C, YH, _) = net.forward(x, c0)
    np.testing.assert_array_equal(C[0], c0)
    np.testing.assert_array_equal(C[1:], YH[:-1])


def test_bad_shapes_raise():
    net = Elman(2, 3, 1)
    with pytest.raises(ValueError, match=r"x must have shape \(T, B, 2\), got \(4, 1, 3\)"):
        net.forward(np.zeros((4, 1, 3)))
    with pytest.raises(ValueError, match=r"c0 must have shape \(1, 3\), got \(1, 1\)"):
        net.forward(np.zeros((4, 1, 2)), np.zeros((1, 1)))
    with pytest.raises(TypeError, match="float32"):
        net.forward(np.zeros((4, 1, 2), dtype=np.float32))


def test_weights_are_stored_receiver_first_like_torch_linear():
    """Every weight matrix is (receiving units, sending units): torch's linear reads it as it is."""
    import torch
    from torch.nn.functional import linear

    net = shifted(Elman(3, 4, 2, seed=3), 3)
    assert [net.params[k].shape for k in ("W_IH", "W_CH", "W_HO")] == [(4, 3), (4, 4), (2, 4)]
    x, _, _, c0 = data(net, 3)
    p = {k: torch.tensor(v) for k, v in net.params.items()}
    c, outputs = torch.tensor(c0), []
    for x_t in torch.tensor(x):
        y_h = torch.sigmoid(linear(x_t, p["W_IH"], p["b_H"]) + linear(c, p["W_CH"]))
        outputs.append(torch.sigmoid(linear(y_h, p["W_HO"], p["b_O"])))
        c = y_h
    np.testing.assert_allclose(net.forward(x, c0)[0], torch.stack(outputs).numpy(), rtol=1e-13)
