"""The exercises' functions (lstmlab.grading.adapters, and the 1997 partials the ch13 exercise uses):
each checked against torch (float64) or central differences, with random non-zero, asymmetric parameters."""

import numpy as np
import pytest
import torch

from lstmlab.grading import adapters
from lstmlab.numpy import lstm_original, rtrl
from lstmlab.numpy.activations import g_squash, sigmoid
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error

T, B, D, H = 4, 3, 2, 5


def rnn_problem(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(B, H))
    w_ih, w_hh = 0.7 * rng.normal(size=(H, D)) + 0.1, 0.5 * rng.normal(size=(H, H)) - 0.1
    b_ih, b_hh = rng.normal(size=H), rng.normal(size=H)
    return x, h0, w_ih, w_hh, b_ih, b_hh


def test_tanh_layer_matches_torch_rnn():
    x, h0, w_ih, w_hh, b_ih, b_hh = rnn_problem(0)
    net = torch.nn.RNN(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(net, name).copy_(torch.tensor(value))
        out, _ = net(torch.tensor(x), torch.tensor(h0)[None])
    np.testing.assert_allclose(adapters.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh), out.numpy(), rtol=1e-12)


def test_tanh_layer_backward_central_differences():
    x, h0, w_ih, w_hh, b_ih, b_hh = rnn_problem(1)
    weights = np.random.default_rng(2).normal(size=(T, B, H))
    arrays = {"x": x, "h0": h0, "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}

    def loss():
        return float(np.sum(weights * adapters.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh)))

    h = adapters.rnn_forward(x, h0, w_ih, w_hh, b_ih, b_hh)
    analytic = dict(zip(("x", "h0", "w_ih", "w_hh", "b_ih", "b_hh"),
                        adapters.rnn_bptt(weights, x, h0, h, w_ih, w_hh)))
    for name, array in arrays.items():
        assert relative_error(analytic[name], numerical_gradient(loss, array)) <= 1e-7, name


def test_rtrl_sensitivity_step_is_dy_dW_after_two_steps():
    rng = np.random.default_rng(3)
    n_in, n_units = 2, 3
    W = rng.normal(size=(n_units, n_in + n_units)) + 0.1
    x = rng.normal(size=(2, B, n_in))
    y0 = rng.uniform(0.1, 0.9, size=(B, n_units))
    p = np.zeros((B, n_units, n_in + n_units, n_units))
    y = y0
    for j in range(2):
        X = np.concatenate([x[j], y], axis=1)
        y = sigmoid(X @ W.T)
        p = rtrl.sensitivity_step(p, W, X, y)

    def output(b, k):
        out = y0
        for j in range(2):
            out = sigmoid(np.concatenate([x[j], out], axis=1) @ W.T)
        return float(out[b, k])

    for b in range(B):
        for k in range(n_units):
            numeric = numerical_gradient(lambda: output(b, k), W)
            assert relative_error(p[b, :, :, k], numeric) <= 1e-7


def test_rtrl_gradient_contracts_errors_with_sensitivities():
    rng = np.random.default_rng(4)
    e, p = rng.normal(size=(B, 3)), rng.normal(size=(B, 3, 5, 3))
    expected = -sum(e[b, k] * p[b, :, :, k] for b in range(B) for k in range(3))
    np.testing.assert_allclose(rtrl.gradient(e, p), expected, rtol=1e-12)


def lstm_problem(seed):
    rng = np.random.default_rng(seed)
    x_t = rng.normal(size=(B, D))
    h_prev, c_prev = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    w_ih, w_hh = 0.6 * rng.normal(size=(4 * H, D)) + 0.1, 0.5 * rng.normal(size=(4 * H, H)) - 0.1
    b_ih, b_hh = rng.normal(size=4 * H), rng.normal(size=4 * H)
    return x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh


def torch_cell(w_ih, w_hh, b_ih, b_hh):
    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih", w_ih), ("weight_hh", w_hh),
                            ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(cell, name).copy_(torch.tensor(value))
    return cell


def test_lstm_step_and_gates_match_torch_lstm_cell():
    x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh = lstm_problem(5)
    with torch.no_grad():
        state = (torch.tensor(h_prev), torch.tensor(c_prev))
        h, c = torch_cell(w_ih, w_hh, b_ih, b_hh)(torch.tensor(x_t), state)
    got_h, got_c = adapters.lstm_step(x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(got_h, h.numpy(), rtol=1e-12)
    np.testing.assert_allclose(got_c, c.numpy(), rtol=1e-12)
    i, f, g, o = adapters.lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(f * c_prev + i * g, got_c, rtol=1e-12)
    np.testing.assert_allclose(o * np.tanh(got_c), got_h, rtol=1e-12)
    a = x_t @ w_ih.T + b_ih + h_prev @ w_hh.T + b_hh
    np.testing.assert_allclose(g, np.tanh(a[:, 2 * H:3 * H]), rtol=1e-12)



def test_lstm_layer_matches_torch_lstm():
    x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh = lstm_problem(11)
    x = np.random.default_rng(12).normal(size=(T, B, D))
    net = torch.nn.LSTM(D, H, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh),
                            ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(net, name).copy_(torch.tensor(value))
        out, (h_n, c_n) = net(torch.tensor(x), (torch.tensor(h_prev)[None], torch.tensor(c_prev)[None]))
    hs, (h_T, c_T) = adapters.lstm_layer(x, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(hs, out.numpy(), rtol=1e-12)
    np.testing.assert_allclose(h_T, h_n[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(c_T, c_n[0].numpy(), rtol=1e-12)

def test_lstm_step_backward_matches_torch_autograd():
    x_t, h_prev, c_prev, w_ih, w_hh, b_ih, b_hh = lstm_problem(6)
    rng = np.random.default_rng(7)
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    cell = torch_cell(w_ih, w_hh, b_ih, b_hh)
    leaves = [torch.tensor(a, requires_grad=True) for a in (x_t, h_prev, c_prev)]
    h, c = cell(leaves[0], (leaves[1], leaves[2]))
    (h * torch.tensor(dh) + c * torch.tensor(dc)).sum().backward()

    i, f, g, o = adapters.lstm_gates(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    c_new = f * c_prev + i * g
    cache = {"x": x_t, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "g": g, "o": o, "c": c_new,
             "w_ih": w_ih, "w_hh": w_hh}
    dx, (dh_prev, dc_prev), grads = adapters.lstm_step_backward(dh, dc, cache)
    for got, leaf in zip((dx, dh_prev, dc_prev), leaves):
        np.testing.assert_allclose(got, leaf.grad.numpy(), rtol=1e-10)
    for name, param in (("w_ih", cell.weight_ih), ("w_hh", cell.weight_hh), ("b_ih", cell.bias_ih),
                        ("b_hh", cell.bias_hh)):
        np.testing.assert_allclose(grads[name], param.grad.numpy(), rtol=1e-10)
    assert set(grads) == {"w_ih", "w_hh", "b_ih", "b_hh"}


@pytest.mark.parametrize("which", ["cell", "input", "forget"])
def test_truncated_partials_are_one_step_derivatives_plus_decayed_carry(which):
    """From a fixed s(tau - 1) the new term is exactly ds/dW of one step; the carry is y_phi * p."""
    rng = np.random.default_rng({"cell": 8, "input": 9, "forget": 10}[which])
    n, cells, width = 2, 3, 4
    x_units = rng.normal(size=(n, width))
    weights = {k: rng.normal(size=(n, cells, width)) for k in ("c", "in", "phi")}
    s_prev = rng.normal(size=(n, cells))

    def activations():
        z = {k: np.einsum("nuv,nv->nu", w, x_units) for k, w in weights.items()}
        return sigmoid(z["phi"]), sigmoid(z["in"]), g_squash(z["c"])

    def partials(p):
        y_phi, y_in, g = activations()
        if which == "cell":
            return lstm_original.cell_partials(p, y_phi, y_in, g, x_units)
        if which == "input":
            return lstm_original.input_gate_partials(p, y_phi, y_in, g, x_units)
        return lstm_original.forget_gate_partials(p, y_phi, s_prev, x_units)

    w = weights[{"cell": "c", "input": "in", "forget": "phi"}[which]]
    direct = partials(np.zeros((n, cells, width)))
    for trial in range(n):
        for cell in range(cells):
            def state():
                y_phi, y_in, g = activations()
                return float((y_phi * s_prev + y_in * g)[trial, cell])
            numeric = numerical_gradient(state, w)
            # Each cell's state depends only on its own row of weights.
            assert relative_error(direct[trial, cell], numeric[trial, cell]) <= 1e-7
    p = rng.normal(size=(n, cells, width))
    np.testing.assert_allclose(partials(p) - direct, activations()[0][:, :, None] * p, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("forget_gate", [True, False])
def test_partial_weight_gradients_sum_each_blocks_cells(forget_gate):
    rng = np.random.default_rng(13)
    n, blocks, cells, width = 2, 2, 3, 4
    eps_s = rng.normal(size=(n, blocks * cells))
    p = {k: rng.normal(size=(n, blocks * cells, width)) for k in ("c", "in", "phi")}
    p_phi = p["phi"] if forget_gate else None
    grads = lstm_original.partial_weight_gradients(eps_s, p["c"], p["in"], p_phi, cells)
    assert set(grads) == ({"W_c", "W_in", "W_phi"} if forget_gate else {"W_c", "W_in"})
    np.testing.assert_allclose(grads["W_c"], -eps_s[:, :, None] * p["c"], rtol=1e-12)
    for name, key in (("W_in", "in"), ("W_phi", "phi")) if forget_gate else (("W_in", "in"),):
        for m in range(blocks):
            own = slice(m * cells, (m + 1) * cells)
            expected = -np.einsum("nc,ncd->nd", eps_s[:, own], p[key][:, own])
            np.testing.assert_allclose(grads[name][:, m], expected, rtol=1e-12)
