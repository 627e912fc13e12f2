"""The plain reference LSTM cell against torch.nn.LSTMCell and central differences, and the fast layer
(lstmlab.numpy.lstm) against the reference cell stepped through a sequence (float64)."""

import numpy as np
import pytest
import torch

from lstmlab.numpy import lstm, lstm_cell
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error

T, B, D, H = 5, 3, 2, 4


def problem(seed, bias=True):
    """Random non-zero, asymmetric parameters (non-zero means: a transposed index would show)."""
    rng = np.random.default_rng(seed)
    params = {"w_ih": 0.6 * rng.normal(size=(4 * H, D)) + 0.1, "w_hh": 0.5 * rng.normal(size=(4 * H, H)) - 0.1}
    if bias:
        params.update(b_ih=rng.normal(size=4 * H) + 0.2, b_hh=rng.normal(size=4 * H) - 0.1)
    x = rng.normal(size=(T, B, D))
    state0 = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    return params, x, state0


def test_cell_matches_torch_lstm_cell_forward_and_backward():
    params, x, (h0, c0) = problem(0)
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name in ("ih", "hh"):
            getattr(cell, f"weight_{name}").copy_(torch.tensor(params[f"w_{name}"]))
            getattr(cell, f"bias_{name}").copy_(torch.tensor(params[f"b_{name}"]))
    leaves = [torch.tensor(a, requires_grad=True) for a in (x[0], h0, c0)]
    h_t, c_t = cell(leaves[0], (leaves[1], leaves[2]))
    rng = np.random.default_rng(1)
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    ((h_t * torch.tensor(dh)).sum() + (c_t * torch.tensor(dc)).sum()).backward()

    (h, c), cache = lstm_cell.step(x[0], (h0, c0), params)
    np.testing.assert_allclose(h, h_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c, c_t.detach().numpy(), rtol=1e-12)
    dx, (dh0, dc0), grads = lstm_cell.step_backward((dh, dc), cache)
    for got, leaf in zip((dx, dh0, dc0), leaves):
        np.testing.assert_allclose(got, leaf.grad.numpy(), rtol=1e-10)
    for name in ("ih", "hh"):
        np.testing.assert_allclose(grads[f"w_{name}"], getattr(cell, f"weight_{name}").grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(grads[f"b_{name}"], getattr(cell, f"bias_{name}").grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("bias", [True, False])
def test_cell_backward_central_differences(bias):
    params, x, (h0, c0) = problem(2, bias)
    rng = np.random.default_rng(3)
    wh, wc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    x_t = x[0]

    def loss():
        (h, c), _ = lstm_cell.step(x_t, (h0, c0), params)
        return float(np.sum(wh * h) + np.sum(wc * c))

    _, cache = lstm_cell.step(x_t, (h0, c0), params)
    dx, (dh0, dc0), grads = lstm_cell.step_backward((wh, wc), cache)
    assert set(grads) == set(params)
    for name, analytic, array in [("x", dx, x_t), ("h0", dh0, h0), ("c0", dc0, c0)] + \
            [(k, grads[k], params[k]) for k in params]:
        assert relative_error(analytic, numerical_gradient(loss, array)) <= 1e-7, name


def reference_layer(x, state0, params):
    """The reference cell stepped through the sequence, and its full BPTT (loss weights given)."""
    state, caches, out = state0, [], []
    for t in range(len(x)):
        state, cache = lstm_cell.step(x[t], state, params)
        caches.append(cache)
        out.append(state[0])
    return np.stack(out), state, caches


def reference_backward(d_out, d_final, caches):
    d_state, dx, total = d_final, [], None
    for t in reversed(range(len(caches))):
        step_dx, d_state, grads = lstm_cell.step_backward((d_state[0] + d_out[t], d_state[1]), caches[t])
        dx.append(step_dx)
        total = grads if total is None else {k: total[k] + grads[k] for k in total}
    return np.stack(dx[::-1]), d_state, total


@pytest.mark.parametrize("bias", [True, False])
def test_fast_layer_equals_the_reference_cell_over_a_sequence(bias):
    params, x, state0 = problem(4, bias)
    rng = np.random.default_rng(5)
    d_out, d_final = rng.normal(size=(T, B, H)), (rng.normal(size=(B, H)), rng.normal(size=(B, H)))

    out, final, cache = lstm.forward(x, state0, params, "NP")
    ref_out, ref_final, ref_caches = reference_layer(x, state0, params)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12)
    for got, want in zip(final, ref_final):
        np.testing.assert_allclose(got, want, rtol=1e-12)

    dx, d_state0, grads = lstm.backward(d_out, d_final, cache)
    ref_dx, ref_d_state0, ref_grads = reference_backward(d_out, d_final, ref_caches)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-13)
    for got, want in zip(d_state0, ref_d_state0):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    assert set(grads) == set(ref_grads)
    for k in grads:
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-10, atol=1e-13, err_msg=k)


def test_fast_step_equals_the_reference_step():
    params, x, state0 = problem(6)
    (h, c), cache = lstm.step(x[0], state0, params, "NP")
    (ref_h, ref_c), ref_cache = lstm_cell.step(x[0], state0, params)
    np.testing.assert_allclose(h, ref_h, rtol=1e-12)
    np.testing.assert_allclose(c, ref_c, rtol=1e-12)
    d_state = (np.random.default_rng(7).normal(size=(B, H)), np.random.default_rng(8).normal(size=(B, H)))
    got, want = lstm.step_backward(d_state, cache), lstm_cell.step_backward(d_state, ref_cache)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-10)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    for k in want[2]:
        np.testing.assert_allclose(got[2][k], want[2][k], rtol=1e-10, err_msg=k)
