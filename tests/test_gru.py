"""GRU on the recurrent contract: against torch.nn.GRU (float64), central differences for both reset
placements, an independent torch autograd reference for Cho et al.'s placement, and the two differ."""

import itertools

import numpy as np
import pytest
import torch
from torch_parity import (assert_gradients_match_central_differences, assert_matches_torch, loss_weights,
                          random_torch_module)

from lstmlab.grading import adapters
from lstmlab.numpy import GRU
from lstmlab.numpy import gru
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error

T, B, D, H = 5, 3, 4, 3


def random_torch_gru(num_layers, bidirectional, bias, seed=0, **kw):
    return random_torch_module("GRU", D, H, seed=seed, num_layers=num_layers, bias=bias,
                               bidirectional=bidirectional, **kw)


@pytest.mark.equation("57-66", check="torch.nn parity")
@pytest.mark.parametrize("num_layers,bidirectional,bias,with_state",
                         list(itertools.product([1, 2], [False, True], [False, True], [False, True])))
def test_matches_torch_forward_and_all_gradients(num_layers, bidirectional, bias, with_state):
    module = random_torch_gru(num_layers, bidirectional, bias, seed=num_layers + 10 * bias)
    model = GRU.from_torch(module)
    assert model.reset_after
    rng = np.random.default_rng(7)
    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(num_layers * model.num_directions, B, H)) if with_state else None
    assert_matches_torch(module, model, x, h0)


def test_batch_first_and_float32_match_torch():
    module = random_torch_gru(2, True, True, seed=5, batch_first=True).float()
    model = GRU.from_torch(module)
    assert model.batch_first and model.dtype == np.float32
    x = np.random.default_rng(1).normal(size=(B, T, D)).astype(np.float32)
    out_t, hn_t = module(torch.tensor(x))
    out, hn = model.forward(x)
    assert out.dtype == np.float32
    # float32 round-off over a few products and squashings of O(1) numbers: a few ulps of 1.
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(hn, hn_t.detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("reset_after,bidirectional,bias",
                         [(True, False, True), (False, False, True), (True, True, False),
                          (False, True, True), (False, False, False)])
def test_gradcheck_params_input_and_state(reset_after, bidirectional, bias):
    model = GRU(D, H, num_layers=2, bias=bias, bidirectional=bidirectional, seed=4,
                reset_after=reset_after)
    rng = np.random.default_rng(0)
    for key in model.params:
        model.params[key] = 0.6 * rng.normal(size=model.params[key].shape) + 0.1
    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(2 * model.num_directions, B, H))
    assert_gradients_match_central_differences(model, x, h0)


def cho_reference(x, h0, w_ih, w_hh, b_ih, b_hh):
    """Cho et al.'s GRU one gate at a time in torch: the reset gate scales h(t-1) before W_hn."""
    h = h0
    outs = []
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate("rzn")}
    for t in range(x.shape[0]):
        def net(gate, h_in):
            return (x[t] @ w_ih[rows[gate]].T + b_ih[rows[gate]]
                    + h_in @ w_hh[rows[gate]].T + b_hh[rows[gate]])
        r = torch.sigmoid(net("r", h))
        z = torch.sigmoid(net("z", h))
        n = torch.tanh(net("n", r * h))
        h = z * h + (1 - z) * n
        outs.append(h)
    return torch.stack(outs), h


@pytest.mark.equation(65, check="independent reference")
def test_reset_before_matches_independent_torch_reference():
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(T, B, D)), rng.normal(size=(B, H)),
              0.6 * rng.normal(size=(3 * H, D)) + 0.1, 0.6 * rng.normal(size=(3 * H, H)) + 0.1,
              0.6 * rng.normal(size=3 * H) + 0.1, 0.6 * rng.normal(size=3 * H) + 0.1]
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t, hn_t = cho_reference(*leaves)
    g_out, g_hn = loss_weights((T, B, H), (B, H), 4)
    ((out_t * torch.tensor(g_out)).sum() + (hn_t * torch.tensor(g_hn)).sum()).backward()

    x, h0, w_ih, w_hh, b_ih, b_hh = arrays
    out, (hn,), cache = gru.sequence_forward(x, (h0,), w_ih, w_hh, b_ih, b_hh, reset_after=False)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    dx, (dh0,), *dparams = gru.sequence_backward(g_out, (g_hn,), cache)
    for ours, leaf in zip([dx, dh0, *dparams], leaves):
        np.testing.assert_allclose(ours, leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.equation(65, check="measurement")
def test_the_two_reset_placements_differ():
    after = GRU(D, H, seed=2)
    before = GRU(D, H, seed=2, reset_after=False)
    assert after.params.keys() == before.params.keys()
    for key in after.params:
        assert np.array_equal(after.params[key], before.params[key])
    x = np.random.default_rng(5).normal(size=(T, B, D))
    h0 = np.random.default_rng(6).normal(size=(1, B, H))
    out_after, _ = after.forward(x, h0)
    out_before, _ = before.forward(x, h0)
    # Same parameters, same input: the outputs differ by far more than round-off, from the first step.
    assert np.abs(out_after[0] - out_before[0]).max() > 1e-3
    assert relative_error(out_after, out_before) > 1e-3
    # With the reset gate saturated at 1 both are W_hn h + b_hn, whatever b_hn: they agree.
    for model in (after, before):
        model.params["bias_ih_l0"][:H] = 50.0
    np.testing.assert_allclose(after.forward(x, h0)[0], before.forward(x, h0)[0], rtol=1e-12, atol=1e-14)


def chung_reference(x, h0, w_ih, w_hh, b_ih, b_hh):
    """The GRU as Chung et al. (2014) write its update, h = (1 - z) h_prev + z n, the reset gate after the
    recurrent product as torch: written out here without the module's code."""
    a_x = x @ w_ih.T + b_ih
    h, out = h0, []
    for a_xt in a_x:
        a_h = h @ w_hh.T + b_hh
        r = 1 / (1 + np.exp(-(a_xt[:, :H] + a_h[:, :H])))
        z = 1 / (1 + np.exp(-(a_xt[:, H:2 * H] + a_h[:, H:2 * H])))
        n = np.tanh(a_xt[:, 2 * H:] + r * a_h[:, 2 * H:])
        h = (1 - z) * h + z * n
        out.append(h)
    return np.stack(out)


@pytest.mark.equation(66, check="independent reference")
def test_chung_orientation_is_the_update_gate_negated():
    # Cho et al. let z keep the old activation (Eq. 66), Chung et al. let z take the candidate; since
    # 1 - sigmoid(a) = sigmoid(-a), negating the update gate's weights and bias turns one into the other.
    rng = np.random.default_rng(11)
    x, h0 = rng.normal(size=(T, B, D)), rng.normal(size=(B, H))
    w_ih, w_hh = 0.6 * rng.normal(size=(3 * H, D)) + 0.1, 0.6 * rng.normal(size=(3 * H, H)) + 0.1
    b_ih, b_hh = 0.6 * rng.normal(size=3 * H) + 0.1, 0.6 * rng.normal(size=3 * H) + 0.1
    chung = chung_reference(x, h0, w_ih, w_hh, b_ih, b_hh)
    ours, _, _ = gru.sequence_forward(x, (h0,), w_ih, w_hh, b_ih, b_hh)
    assert relative_error(ours, chung) > 1e-2
    flip = np.ones(3 * H)
    flip[H:2 * H] = -1.0
    negated, _, _ = gru.sequence_forward(x, (h0,), w_ih * flip[:, None], w_hh * flip[:, None], b_ih * flip,
                                         b_hh * flip)
    np.testing.assert_allclose(negated, chung, rtol=1e-12, atol=1e-14)


def placements_after_and_before(edit):
    """Outputs and gradients of both placements on the same random parameters, edited by ``edit``."""
    rng = np.random.default_rng(8)
    params = {k: 0.6 * rng.normal(size=v.shape) + 0.1 for k, v in GRU(D, H).params.items()}
    edit(params)
    x, g_out = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, H))
    results = []
    for reset_after in (True, False):
        model = GRU(D, H, reset_after=reset_after)
        model.params = {k: v.copy() for k, v in params.items()}
        out, _ = model.forward(x)
        results.append((out, model.backward(g_out), model.grads))
    return results


def diagonal_w_hn(params, b_hn):
    w_hn = params["weight_hh_l0"][2 * H:]
    params["weight_hh_l0"][2 * H:] = np.diag(np.diag(w_hn))
    params["bias_hh_l0"][2 * H:] = b_hn


def test_placements_agree_with_diagonal_w_hn_only_without_b_hn_and_not_in_every_gradient():
    # r * (W_hn h) = W_hn (r * h) for every r exactly when W_hn is diagonal; b_hn must vanish as well,
    # since r scales it in one placement only.
    (out_a, _, _), (out_b, _, _) = placements_after_and_before(lambda p: diagonal_w_hn(p, 0.3))
    assert np.abs(out_a - out_b).max() > 1e-3
    (out_a, dx_a, g_a), (out_b, dx_b, g_b) = placements_after_and_before(lambda p: diagonal_w_hn(p, 0.0))
    np.testing.assert_allclose(out_a, out_b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx_a, dx_b, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(g_a["weight_ih_l0"], g_b["weight_ih_l0"], rtol=1e-10, atol=1e-13)
    # The same function on this set of parameters, but not nearby: the gradients wrt the off-diagonal
    # entries of W_hn and wrt b_hn differ, so one training step takes the two apart.
    dw_a, dw_b = g_a["weight_hh_l0"][2 * H:], g_b["weight_hh_l0"][2 * H:]
    np.testing.assert_allclose(np.diag(dw_a), np.diag(dw_b), rtol=1e-10, atol=1e-13)
    off = ~np.eye(H, dtype=bool)
    assert np.abs(dw_a[off] - dw_b[off]).min() > 0 and relative_error(dw_a[off], dw_b[off]) > 1e-2
    assert relative_error(g_a["bias_hh_l0"][2 * H:], g_b["bias_hh_l0"][2 * H:]) > 1e-2


def test_init_names_and_bad_inputs():
    model = GRU(D, 8, num_layers=2, bidirectional=True, seed=1)
    module = torch.nn.GRU(D, 8, num_layers=2, bidirectional=True)
    assert {k: v.shape for k, v in model.params.items()} == \
        {k: tuple(v.shape) for k, v in module.named_parameters()}
    assert all(np.abs(v).max() <= 1 / np.sqrt(8) for v in model.params.values())
    assert "reset_after=False" in repr(GRU(D, H, reset_after=False))
    with pytest.raises(ValueError, match=r"\(5, 3, 4\).*\(5, 3, 7\)"):
        GRU(D, H).forward(np.zeros((T, B, 7)))
    with pytest.raises(TypeError, match="torch.nn.GRU.*LSTM"):
        GRU.from_torch(torch.nn.LSTM(D, H))


def step_problem(seed, batch=3, d=4, hid=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(batch, d)), rng.normal(size=(batch, hid)),
            0.6 * rng.normal(size=(3 * hid, d)) + 0.1, 0.5 * rng.normal(size=(3 * hid, hid)) - 0.1,
            rng.normal(size=3 * hid), rng.normal(size=3 * hid))


def torch_gru_cell(w_ih, w_hh, b_ih, b_hh):
    cell = torch.nn.GRUCell(w_ih.shape[1], w_hh.shape[1], dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(cell, name).copy_(torch.tensor(value))
    return cell


@pytest.mark.equation("57-66", check="torch.nn parity")
def test_step_matches_torch_gru_cell_gate_by_gate():
    x_t, h_prev, w_ih, w_hh, b_ih, b_hh = step_problem(0)
    with torch.no_grad():
        expected = torch_gru_cell(w_ih, w_hh, b_ih, b_hh)(torch.tensor(x_t), torch.tensor(h_prev)).numpy()
    h, cache = adapters.gru_step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    np.testing.assert_allclose(h, expected, rtol=1e-12)
    # The gates one at a time, written out from Eqs. (57)-(65) without the module's code.
    a_x, a_h = x_t @ w_ih.T + b_ih, h_prev @ w_hh.T + b_hh
    np.testing.assert_allclose(cache["r"], 1 / (1 + np.exp(-(a_x[:, :H] + a_h[:, :H]))), rtol=1e-12)
    np.testing.assert_allclose(cache["z"], 1 / (1 + np.exp(-(a_x[:, H:2 * H] + a_h[:, H:2 * H]))), rtol=1e-12)
    np.testing.assert_allclose(cache["hn"], a_h[:, 2 * H:], rtol=1e-12)
    np.testing.assert_allclose(cache["n"], np.tanh(a_x[:, 2 * H:] + cache["r"] * a_h[:, 2 * H:]), rtol=1e-12)
    np.testing.assert_allclose(h, cache["z"] * h_prev + (1 - cache["z"]) * cache["n"], rtol=1e-12)
    assert cache["x"] is x_t and cache["h_prev"] is h_prev and cache["w_hh"] is w_hh


def test_step_backward_matches_torch_autograd_and_central_differences():
    x_t, h_prev, w_ih, w_hh, b_ih, b_hh = step_problem(1, batch=2, d=3, hid=4)
    dh = np.random.default_rng(2).normal(size=h_prev.shape)
    cell = torch_gru_cell(w_ih, w_hh, b_ih, b_hh)
    leaves = [torch.tensor(a, requires_grad=True) for a in (x_t, h_prev)]
    (cell(*leaves) * torch.tensor(dh)).sum().backward()

    _, cache = adapters.gru_step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)
    dx, dh_prev, grads = adapters.gru_step_backward(dh, cache)
    assert set(grads) == {"w_ih", "w_hh", "b_ih", "b_hh"}
    np.testing.assert_allclose(dx, leaves[0].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dh_prev, leaves[1].grad.numpy(), rtol=1e-10)
    for name, param in (("w_ih", cell.weight_ih), ("w_hh", cell.weight_hh), ("b_ih", cell.bias_ih),
                        ("b_hh", cell.bias_hh)):
        np.testing.assert_allclose(grads[name], param.grad.numpy(), rtol=1e-10, err_msg=name)
    arrays = {"x": x_t, "h_prev": h_prev, "w_ih": w_ih, "w_hh": w_hh, "b_ih": b_ih, "b_hh": b_hh}

    def loss():
        return float(np.sum(dh * adapters.gru_step(x_t, h_prev, w_ih, w_hh, b_ih, b_hh)[0]))

    analytic = {"x": dx, "h_prev": dh_prev, **grads}
    for name, array in arrays.items():
        assert relative_error(analytic[name], numerical_gradient(loss, array)) <= 1e-7, name


def test_step_rejects_mismatched_shapes():
    x_t, h_prev, w_ih, w_hh, b_ih, b_hh = step_problem(3)
    with pytest.raises(ValueError, match=r"w_ih must have shape \(9, 5\), got \(9, 4\)"):
        adapters.gru_step(np.zeros((3, 5)), h_prev, w_ih, w_hh, b_ih, b_hh)
    with pytest.raises(ValueError, match=r"shape \(B, H\) = \(3, 3\), got \(3, 2\)"):
        adapters.gru_step(x_t, np.zeros((3, 2)), w_ih, w_hh, b_ih, b_hh)
