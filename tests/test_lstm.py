"""The modern LSTM and its Greff et al. variants: central differences, an independent torch autograd
reference written from the equations, and LSTM against torch.nn.LSTM (float64)."""

import itertools

import numpy as np
import pytest
import torch

from lstmlab.numpy import LSTM
from lstmlab.numpy import lstm
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

T, B, D, H = 5, 3, 4, 3


def problem(variant, seed, bias=True):
    """Random non-zero asymmetric parameters, inputs, initial state and loss weights."""
    rng = np.random.default_rng(seed)
    params = {k: 0.6 * rng.normal(size=s) + 0.1
              for k, s in lstm.param_shapes(D, H, variant, bias).items()}
    x = rng.normal(size=(T, B, D))
    state0 = (rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    weights = (rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H)))
    return params, x, state0, weights


def scalar_loss(out, final, weights):
    w_out, w_h, w_c = weights
    return float(np.sum(out * w_out) + np.sum(final[0] * w_h) + np.sum(final[1] * w_c))


def torch_step_reference(x, state0, params, name):
    """The LSTM step for each named variant, one gate at a time, written independently with torch."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = torch.tensor(x, requires_grad=True)
    h = torch.tensor(state0[0], requires_grad=True)
    c = torch.tensor(state0[1], requires_grad=True)
    leaves = (xt, h, c)
    rows = {gate: slice(k * H, (k + 1) * H) for k, gate in enumerate("ifgo")}

    def net(gate, h_prev):
        z = xt[t] @ p["w_ih"][rows[gate]].T + h_prev @ p["w_hh"][rows[gate]].T
        if "b_ih" in p:
            z = z + p["b_ih"][rows[gate]] + p["b_hh"][rows[gate]]
        return z

    peep = name != "NP"
    previous = None  # (i, f, o) of the previous step for FGR
    outs = []
    for t in range(x.shape[0]):
        z = {gate: net(gate, h) for gate in "ifgo"}
        if name == "FGR" and previous is not None:
            stacked = torch.cat(previous, dim=1)
            for k, gate in enumerate("ifo"):
                z[gate] = z[gate] + stacked @ p["w_gg"][k * H:(k + 1) * H].T
        if peep:
            z["i"] = z["i"] + p["w_peep"][0] * c
            z["f"] = z["f"] + p["w_peep"][1] * c
        f = torch.ones_like(c) if name == "NFG" else torch.sigmoid(z["f"])
        if name == "CIFG":
            i = 1 - f
        elif name == "NIG":
            i = torch.ones_like(c)
        else:
            i = torch.sigmoid(z["i"])
        g = z["g"] if name == "NIAF" else torch.tanh(z["g"])
        c = f * c + i * g
        if peep:
            z["o"] = z["o"] + p["w_peep"][2] * c
        o = torch.ones_like(c) if name == "NOG" else torch.sigmoid(z["o"])
        h = o * (c if name == "NOAF" else torch.tanh(c))
        outs.append(h)
        previous = (i, f, o)
    return torch.stack(outs), (h, c), p, leaves


@pytest.mark.parametrize("name", list(lstm.VARIANTS))
def test_variant_central_differences(name):
    params, x, state0, weights = problem(name, seed=1)
    out, final, cache = lstm.forward(x, state0, params, name)
    dx, (dh0, dc0), grads = lstm.backward(weights[0], weights[1:], cache)

    def f():
        o, fin, _ = lstm.forward(x, state0, params, name)
        return scalar_loss(o, fin, weights)

    errors = check_gradients(f, params, grads)
    errors["x"] = relative_error(dx, numerical_gradient(f, x))
    errors["h0"] = relative_error(dh0, numerical_gradient(f, state0[0]))
    errors["c0"] = relative_error(dc0, numerical_gradient(f, state0[1]))
    assert max(errors.values()) <= 1e-7, errors


@pytest.mark.parametrize("name", list(lstm.VARIANTS))
def test_variant_matches_independent_torch_reference(name):
    params, x, state0, weights = problem(name, seed=2)
    out, final, cache = lstm.forward(x, state0, params, name)
    dx, d_state0, grads = lstm.backward(weights[0], weights[1:], cache)
    out_t, (h_t, c_t), p, (xt, h0t, c0t) = torch_step_reference(x, state0, params, name)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(final[1], c_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    w_out, w_h, w_c = (torch.tensor(w) for w in weights)
    ((out_t * w_out).sum() + (h_t * w_h).sum() + (c_t * w_c).sum()).backward()
    for key in params:
        assert relative_error(grads[key], p[key].grad.numpy()) <= 1e-12, key
    assert relative_error(dx, xt.grad.numpy()) <= 1e-12
    assert relative_error(d_state0[0], h0t.grad.numpy()) <= 1e-12
    assert relative_error(d_state0[1], c0t.grad.numpy()) <= 1e-12


def test_variants_differ_and_unused_rows_get_no_gradient():
    params, x, state0, weights = problem("vanilla", seed=3)
    outs = {}
    for name in ("vanilla", "NIG", "NFG", "NOG", "NIAF", "NOAF", "CIFG"):
        outs[name], _, cache = lstm.forward(x, state0, params, name)
        _, _, grads = lstm.backward(weights[0], weights[1:], cache)
        unused = {"NIG": 0, "CIFG": 0, "NFG": 1, "NOG": 3}.get(name)
        if unused is not None:
            assert np.all(grads["w_ih"][unused * H:(unused + 1) * H] == 0)
    for a, b in itertools.combinations(outs, 2):
        assert not np.allclose(outs[a], outs[b]), (a, b)


def random_torch_lstm(num_layers, bidirectional, bias, seed=0, **kw):
    """A float64 torch.nn.LSTM with random, non-zero, asymmetric parameters (biases included)."""
    torch.manual_seed(seed)
    module = torch.nn.LSTM(D, H, num_layers=num_layers, bias=bias, bidirectional=bidirectional,
                           dtype=torch.float64, **kw)
    with torch.no_grad():
        for prm in module.parameters():
            prm.copy_(0.6 * torch.randn_like(prm) + 0.1)
    return module


@pytest.mark.equation("24-27", 29, "36-38", 50, 51, check="torch.nn parity")
@pytest.mark.parametrize("num_layers,bidirectional,bias,with_state",
                         list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True])))
def test_matches_torch_lstm(num_layers, bidirectional, bias, with_state):
    module = random_torch_lstm(num_layers, bidirectional, bias, seed=num_layers + 10 * bias)
    model = LSTM.from_torch(module)
    dirs = 2 if bidirectional else 1
    rng = np.random.default_rng(5)
    x = rng.normal(size=(T, B, D))
    shape = (num_layers * dirs, B, H)
    h0, c0 = (rng.normal(size=shape), rng.normal(size=shape)) if with_state else (None, None)

    xt = torch.tensor(x, requires_grad=True)
    if with_state:
        h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
        out_t, (hn_t, cn_t) = module(xt, (h0t, c0t))
    else:
        out_t, (hn_t, cn_t) = module(xt)
    g_out, g_h, g_c = rng.normal(size=out_t.shape), rng.normal(size=shape), rng.normal(size=shape)
    ((out_t * torch.tensor(g_out)).sum() + (hn_t * torch.tensor(g_h)).sum()
     + (cn_t * torch.tensor(g_c)).sum()).backward()

    out, (hn, cn) = model.forward(x, (h0, c0) if with_state else None)
    assert out.shape == tuple(out_t.shape) and hn.shape == cn.shape == shape
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(hn, hn_t.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cn, cn_t.detach().numpy(), rtol=1e-12, atol=1e-13)

    dx = model.backward(g_out, (g_h, g_c))
    assert relative_error(dx, xt.grad.numpy()) <= 1e-12
    if with_state:
        assert relative_error(model.grad_state[0], h0t.grad.numpy()) <= 1e-12
        assert relative_error(model.grad_state[1], c0t.grad.numpy()) <= 1e-12
    torch_grads = {name: prm.grad.numpy() for name, prm in module.named_parameters()}
    assert set(model.grads) == set(torch_grads)
    for name, g in torch_grads.items():
        assert relative_error(model.grads[name], g) <= 1e-12, name


def test_lstm_class_central_differences():
    module = random_torch_lstm(2, True, True, seed=4)
    model = LSTM.from_torch(module)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(4, 2, D))
    w = rng.normal(size=(4, 2, 2 * H))

    def f():
        return float(np.sum(model.forward(x)[0] * w))

    model.forward(x)
    model.backward(w)
    grads = {k: v.copy() for k, v in model.grads.items()}
    errors = check_gradients(f, model.params, grads)
    assert max(errors.values()) <= 1e-7, errors


def test_bad_input_raises_naming_shapes():
    params, x, state0, _ = problem("vanilla", seed=7)
    with pytest.raises(ValueError, match=r"w_peep must have shape \(3, 3\), got \(2, 3\)"):
        lstm.forward(x, state0, dict(params, w_peep=params["w_peep"][:2]))
    with pytest.raises(ValueError, match=r"h0 must have shape \(3, 3\), got \(2, 3\)"):
        lstm.forward(x, (state0[0][:2], state0[1]), params)
    with pytest.raises(ValueError, match=r"\(T, B, D\), got \(5, 3\)"):
        lstm.forward(x[:, :, 0], state0, params)
    with pytest.raises(ValueError, match="expected parameters"):
        lstm.forward(x, state0, params, "NP")
    with pytest.raises(ValueError, match="variant must be"):
        lstm.forward(x, state0, params, "GRU")
    model = LSTM(D, H)
    with pytest.raises(ValueError, match=r"shape \(5, 3, 4\), got \(5, 3, 2\)|D=4"):
        model.forward(np.zeros((5, 3, 2)))


def test_float32_and_batch_first_follow_torch():
    torch.manual_seed(8)
    module = torch.nn.LSTM(D, H, num_layers=2, batch_first=True, dtype=torch.float32)
    with torch.no_grad():
        for prm in module.parameters():
            prm.copy_(0.6 * torch.randn_like(prm) + 0.1)
    model = LSTM.from_torch(module)
    x = np.random.default_rng(9).normal(size=(B, T, D)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    out_t, (hn_t, cn_t) = module(xt)
    out_t.sum().backward()
    out, (hn, cn) = model.forward(x)
    assert out.dtype == hn.dtype == cn.dtype == np.float32 and out.shape == (B, T, H)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cn, cn_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    dx = model.backward(np.ones_like(out))
    assert dx.dtype == np.float32 and dx.shape == x.shape
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, prm in module.named_parameters():
        assert model.grads[name].dtype == np.float32
        np.testing.assert_allclose(model.grads[name], prm.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_param_shapes_and_init():
    shapes = lstm.param_shapes(D, H, "FGR")
    assert shapes == {"w_ih": (4 * H, D), "w_hh": (4 * H, H), "b_ih": (4 * H,), "b_hh": (4 * H,),
                      "w_peep": (3, H), "w_gg": (3 * H, 3 * H)}
    assert set(lstm.param_shapes(D, H, "NP", bias=False)) == {"w_ih", "w_hh"}
    params = lstm.init_params(D, H, np.random.default_rng(0), "vanilla")
    assert all(np.all(np.abs(p) <= 1 / np.sqrt(H)) and np.any(p != 0) for p in params.values())
    with pytest.raises(ValueError, match="CIFG"):
        lstm.Variant(coupled=True, forget_gate=False)
