"""The recurrent model contract, exercised by a two-state toy model written only for this test."""

import numpy as np
import pytest

from lstmlab.numpy.activations import sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error
from lstmlab.numpy.recurrent import RecurrentModel

T, B, D, H = 4, 2, 3, 2


def toy_forward(x, state0, w_ih, w_hh, b_ih, b_hh):
    """c(t) = c(t-1) + tanh(a) * sigmoid(g), h(t) = tanh(c(t)), with [a, g] = W_ih x + W_hh h + b."""
    h, c = state0
    steps, rows = [], w_hh.shape[0]
    out = np.empty(x.shape[:2] + (rows // 2,))
    for t in range(x.shape[0]):
        z = x[t] @ w_ih.T + h @ w_hh.T
        if b_ih is not None:
            z = z + b_ih + b_hh
        a, g = tanh(z[:, :rows // 2]), sigmoid(z[:, rows // 2:])
        h_prev = h
        c = c + a * g
        h = tanh(c)
        out[t] = h
        steps.append((x[t], h_prev, a, g, h))
    return out, (h, c), (steps, w_ih, w_hh, b_ih is not None)


def toy_backward(d_out, d_final, cache):
    steps, w_ih, w_hh, has_bias = cache
    dh, dc = d_final
    dx = np.empty((len(steps),) + steps[0][0].shape)
    dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
    db = np.zeros(w_hh.shape[0])
    for t in reversed(range(len(steps))):
        x, h_prev, a, g, h = steps[t]
        dc = dc + (dh + d_out[t]) * tanh_prime(h)
        dz = np.concatenate([dc * g * tanh_prime(a), dc * a * sigmoid_prime(g)], axis=1)
        dx[t] = dz @ w_ih
        dw_ih += dz.T @ x
        dw_hh += dz.T @ h_prev
        db += dz.sum(axis=0)
        dh = dz @ w_hh
    return dx, (dh, dc), dw_ih, dw_hh, (db if has_bias else None), (db.copy() if has_bias else None)


class Toy(RecurrentModel):
    num_gates = 2
    num_states = 2
    sequence_forward = staticmethod(toy_forward)
    sequence_backward = staticmethod(toy_backward)


@pytest.mark.parametrize("bidirectional,batch_first,bias", [(False, False, True), (True, False, True),
                                                            (True, True, False)])
def test_two_state_model_gradcheck(bidirectional, batch_first, bias):
    model = Toy(D, H, num_layers=2, bias=bias, bidirectional=bidirectional, batch_first=batch_first, seed=1)
    rng = np.random.default_rng(2)
    for value in model.params.values():
        value += rng.normal(scale=0.3, size=value.shape) + 0.1
    n = 2 * model.num_directions
    x = rng.normal(size=(B, T, D) if batch_first else (T, B, D))
    h0, c0 = rng.normal(size=(n, B, H)), rng.normal(size=(n, B, H))
    out_shape = (B, T, model.num_directions * H) if batch_first else (T, B, model.num_directions * H)
    g_out, g_h, g_c = rng.normal(size=out_shape), rng.normal(size=(n, B, H)), rng.normal(size=(n, B, H))

    def loss():
        out, (hn, cn) = model.forward(x, (h0, c0))
        assert out.shape == out_shape and hn.shape == cn.shape == (n, B, H)
        return float((out * g_out).sum() + (hn * g_h).sum() + (cn * g_c).sum())

    loss()
    dx = model.backward(g_out, (g_h, g_c))
    grads, (dh0, dc0) = dict(model.grads), model.grad_state
    assert set(grads) == set(model.params)
    errors = check_gradients(loss, model.params, grads)
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7
    assert relative_error(dh0, numerical_gradient(loss, h0)) <= 1e-7
    assert relative_error(dc0, numerical_gradient(loss, c0)) <= 1e-7


def test_missing_states_and_gradients_are_zeros():
    model = Toy(D, H, bidirectional=True)
    x = np.random.default_rng(0).normal(size=(T, B, D))
    zeros = np.zeros((2, B, H))
    out_a, (hn_a, cn_a) = model.forward(x)
    out_b, (hn_b, cn_b) = model.forward(x, (zeros, None))
    np.testing.assert_array_equal(out_a, out_b)
    g = np.ones_like(out_a)
    dx_a = model.backward(g)
    dx_b = model.backward(g, (None, zeros))
    np.testing.assert_array_equal(dx_a, dx_b)
    # The last step of the reverse direction is the first time step: its h_n is output[0]'s half.
    np.testing.assert_array_equal(hn_a[1], out_a[0, :, H:])
    np.testing.assert_array_equal(hn_a[0], out_a[-1, :, :H])


def test_state_errors_name_expected_and_actual():
    model = Toy(D, H, num_layers=2)
    x = np.zeros((T, B, D))
    with pytest.raises(TypeError, match="tuple of 2 arrays"):
        model.forward(x, np.zeros((2, B, H)))
    with pytest.raises(ValueError, match=r"initial state \(c\).*\(2, 2, 2\).*\(2, 2, 3\)"):
        model.forward(x, (None, np.zeros((2, B, 3))))
    with pytest.raises(TypeError, match="float64.*float32"):
        model.forward(x, (np.zeros((2, B, H), dtype=np.float32), None))
    with pytest.raises(TypeError, match="float64 or float32"):
        Toy(D, H, dtype=np.int32)
    with pytest.raises(ValueError, match="hidden_size"):
        Toy(D, 0)
    with pytest.raises(TypeError, match="no torch.nn counterpart"):
        Toy.from_torch(object())
