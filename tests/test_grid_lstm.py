"""2-D Grid LSTM (time x depth): central differences, an independent torch autograd reference written
block by block from Eqs. 55-56, the stacked mode against torch.nn.LSTM, and shape errors."""

import numpy as np
import pytest
import torch

from lstmlab.numpy import grid_lstm
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

T, B, D, H = 4, 2, 3, 2


def problem(num_layers, depth, seed):
    """Random non-zero asymmetric parameters, input sequence and loss weights."""
    rng = np.random.default_rng(seed)
    params = {k: 0.6 * rng.normal(size=s) + 0.1
              for k, s in grid_lstm.param_shapes(D, H, num_layers, depth).items()}
    return params, rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))


def torch_reference(x, params, num_layers, depth):
    """The grid block by block in torch: X = [h_time(t-1, l); h_depth(t, l-1)] and one LSTM per dimension."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    zero = torch.zeros(B, H, dtype=torch.float64)

    def transform(dim, layer, X, m):
        # X lists time before depth; each transform's w_hh reads its own dimension, w_ih the other.
        own, other = p[f"{dim}.w_hh_l{layer}"], p[f"{dim}.w_ih_l{layer}"]
        W = torch.cat([own, other] if dim == "time" else [other, own], dim=1)
        a = X @ W.T + p[f"{dim}.b_ih_l{layer}"] + p[f"{dim}.b_hh_l{layer}"]
        i, f, g, o = (a[:, k * H:(k + 1) * H] for k in range(4))
        m_new = torch.sigmoid(f) * m + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(m_new), m_new

    time_state = [(zero, zero)] * num_layers
    outputs = []
    for t in range(T):
        h_up, m_up = xt[t] @ p["proj"].T, zero
        for layer in range(num_layers):
            X = torch.cat([time_state[layer][0], h_up], dim=1)
            h_time, m_time = transform("time", layer, X, time_state[layer][1])
            if depth == "lstm":
                h_up, m_up = transform("depth", layer, X, m_up)
            else:
                h_up = h_time
            time_state[layer] = (h_time, m_time)
        outputs.append(h_up)
    return torch.stack(outputs), p, xt


@pytest.mark.equation(55, 56, check="independent reference")
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("depth", ["lstm", "copy"])
def test_forward_and_gradients_match_torch_autograd(num_layers, depth):
    params, x, w = problem(num_layers, depth, seed=num_layers)
    out, cache = grid_lstm.forward(x, params, depth)
    ref, p, xt = torch_reference(x, params, num_layers, depth)
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-13)
    torch.sum(ref * torch.tensor(w)).backward()
    dx, grads = grid_lstm.backward(w, cache)
    assert relative_error(dx, xt.grad.numpy()) < 1e-12
    assert set(grads) == set(params)
    for k in params:
        assert relative_error(grads[k], p[k].grad.numpy()) < 1e-12, k


@pytest.mark.parametrize("depth", ["lstm", "copy"])
def test_gradients_match_central_differences(depth):
    params, x, w = problem(2, depth, seed=11)

    def loss():
        return float(np.sum(grid_lstm.forward(x, params, depth)[0] * w))

    dx, grads = grid_lstm.backward(w, grid_lstm.forward(x, params, depth)[1])
    errors = check_gradients(loss, params, grads)
    errors["x"] = relative_error(dx, numerical_gradient(loss, x))
    assert max(errors.values()) <= 1e-7, errors
    assert all(np.abs(g).max() > 1e-4 for g in grads.values())


@pytest.mark.equation(55, 56, check="torch.nn parity")
def test_copy_depth_is_torch_stacked_lstm():
    """depth="copy" is a stacked LSTM: torch.nn.LSTM(num_layers=L) with layer 0 reading W_ih P x."""
    num_layers = 3
    params, x, _ = problem(num_layers, "copy", seed=5)
    net = torch.nn.LSTM(D, H, num_layers=num_layers).double()
    with torch.no_grad():
        for layer in range(num_layers):
            w_ih = params[f"time.w_ih_l{layer}"]
            if layer == 0:
                w_ih = w_ih @ params["proj"]
            getattr(net, f"weight_ih_l{layer}").copy_(torch.tensor(w_ih))
            for k in ("w_hh", "b_ih", "b_hh"):
                torch_name = {"w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh"}[k]
                getattr(net, f"{torch_name}_l{layer}").copy_(torch.tensor(params[f"time.{k}_l{layer}"]))
    ref, _ = net(torch.tensor(x))
    out, _ = grid_lstm.forward(x, params, "copy")
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=1e-12, atol=1e-13)


def test_depth_memory_carries_information_up_when_its_forget_gate_is_open():
    """With the depth forget gates saturated open and nothing written, m_depth passes up unchanged;
    the copy mode (a stacked LSTM) has no memory along depth at all. B != H catches a transposed layout."""
    params, x, _ = problem(4, "lstm", seed=2)
    x = np.concatenate([x, x[:, :1]], axis=1)   # B = 3
    for layer in range(4):
        params[f"depth.b_ih_l{layer}"][H:2 * H] = 60.0   # f = 1
        params[f"depth.b_ih_l{layer}"][:H] = -60.0       # i = 0
    params["depth.b_ih_l0"][:H] = 60.0                    # the bottom layer writes
    m_depth = grid_lstm.depth_memories(grid_lstm.forward(x, params, "lstm")[1])
    assert m_depth.shape == (4, T, B + 1, H)
    assert np.abs(m_depth[0]).min() > 1e-3
    np.testing.assert_allclose(m_depth[3], m_depth[0], atol=1e-20)
    copy_params, _, _ = problem(4, "copy", seed=2)
    with pytest.raises(ValueError, match="no memory along depth"):
        grid_lstm.depth_memories(grid_lstm.forward(x, copy_params, "copy")[1])


def test_shape_errors_name_expected_and_actual():
    params, x, w = problem(2, "lstm", seed=1)
    with pytest.raises(ValueError, match=r"\(T, B, D\), got \(2, 3\)"):
        grid_lstm.forward(x[0], params)
    with pytest.raises(ValueError, match=r"proj must have shape \(2, 5\), got \(2, 3\)"):
        grid_lstm.forward(np.zeros((T, B, 5)), params)
    with pytest.raises(ValueError, match=r"time.w_hh_l1 must have shape \(8, 2\), got \(8, 3\)"):
        grid_lstm.forward(x, dict(params, **{"time.w_hh_l1": np.zeros((8, 3))}))
    with pytest.raises(ValueError, match="expected parameters .*depth='copy'"):
        grid_lstm.forward(x, params, "copy")
    with pytest.raises(ValueError, match="depth must be one of"):
        grid_lstm.forward(x, params, "gru")
    _, cache = grid_lstm.forward(x, params)
    with pytest.raises(ValueError, match=r"d_out must have shape \(4, 2, 2\), got \(4, 2, 3\)"):
        grid_lstm.backward(np.zeros((T, B, 3)), cache)
