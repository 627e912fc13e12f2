"""The bidirectional wrapper on its own: central differences for RNN, LSTM (two variants) and GRU
layers, and torch.nn parity for a one-layer bidirectional LSTM, GRU and RNN."""

from functools import partial

import numpy as np
import pytest
import torch
from torch_parity import torch_reference

from lstmlab.numpy import bidirectional, gru, lstm, rnn
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

T, B, D, H = 5, 2, 3, 4

# name -> (layer_forward, layer_backward, gate blocks, number of state arrays)
LAYERS = {
    "rnn": (rnn.sequence_forward, rnn.sequence_backward, 1, 1),
    "lstm": (lstm.sequence_forward, lstm.sequence_backward, 4, 2),
    "gru": (gru.sequence_forward, gru.sequence_backward, 3, 1),
}


def chain_params(rng, gates, width, hidden):
    """Non-zero, asymmetric weights and biases of one chain (offsets keep them off zero-symmetry)."""
    rows = gates * hidden
    return (0.5 * rng.normal(size=(rows, width)) + 0.1, 0.4 * rng.normal(size=(rows, hidden)) - 0.05,
            0.3 * rng.normal(size=rows) + 0.2, 0.3 * rng.normal(size=rows) - 0.1)


def states(rng, n):
    return tuple(0.5 * rng.normal(size=(B, H)) for _ in range(n))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_gradients_match_central_differences(name):
    f, b, gates, n_states = LAYERS[name]
    rng = np.random.default_rng(3)
    x = rng.normal(size=(T, B, D))
    p_fwd, p_bwd = chain_params(rng, gates, D, H), chain_params(rng, gates, D, H)
    s0 = (states(rng, n_states), states(rng, n_states))
    g_y = rng.normal(size=(T, B, 2 * H))
    g_final = (states(rng, n_states), states(rng, n_states))

    def loss():
        y, finals, _ = bidirectional.forward(f, x, s0, p_fwd, p_bwd)
        return float((y * g_y).sum() + sum((s * g).sum() for fin, gf in zip(finals, g_final)
                                           for s, g in zip(fin, gf)))

    _, _, cache = bidirectional.forward(f, x, s0, p_fwd, p_bwd)
    dx, (ds_fwd, ds_bwd), dp_fwd, dp_bwd = bidirectional.backward(b, g_y, g_final, cache)
    params = {f"fwd{k}": v for k, v in enumerate(p_fwd)} | {f"bwd{k}": v for k, v in enumerate(p_bwd)}
    grads = {f"fwd{k}": v for k, v in enumerate(dp_fwd)} | {f"bwd{k}": v for k, v in enumerate(dp_bwd)}
    errors = check_gradients(loss, params, grads)
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7
    for analytic, state in zip(ds_fwd + ds_bwd, s0[0] + s0[1]):
        assert relative_error(analytic, numerical_gradient(loss, state)) <= 1e-7


@pytest.mark.parametrize("variant", ["vanilla", "CIFG"])
def test_wraps_a_layer_whose_parameters_are_one_dict(variant):
    # lstm.forward takes its parameters as one dict and returns its gradients as one dict.
    rng = np.random.default_rng(4)
    f = partial(lstm.forward, variant=variant)
    shapes = lstm.param_shapes(D, H, variant)
    p_fwd = ({k: 0.4 * rng.normal(size=s) + 0.05 for k, s in shapes.items()},)
    p_bwd = ({k: 0.4 * rng.normal(size=s) - 0.05 for k, s in shapes.items()},)
    x = rng.normal(size=(T, B, D))
    s0 = (states(rng, 2), states(rng, 2))
    g_y = rng.normal(size=(T, B, 2 * H))
    zero = (np.zeros((B, H)), np.zeros((B, H)))

    def loss():
        return float((bidirectional.forward(f, x, s0, p_fwd, p_bwd)[0] * g_y).sum())

    _, _, cache = bidirectional.forward(f, x, s0, p_fwd, p_bwd)
    dx, _, (g_fwd,), (g_bwd,) = bidirectional.backward(lstm.backward, g_y, (zero, zero), cache)
    for p, g in ((p_fwd[0], g_fwd), (p_bwd[0], g_bwd)):
        errors = check_gradients(loss, p, g)
        assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7


def test_each_half_sees_only_its_side_of_the_sequence():
    # Changing x(t) moves forward-chain outputs from t on and backward-chain outputs up to t, no others.
    f = LAYERS["lstm"][0]
    rng = np.random.default_rng(5)
    p_fwd, p_bwd = chain_params(rng, 4, D, H), chain_params(rng, 4, D, H)
    x = rng.normal(size=(T, B, D))
    s0 = (states(rng, 2), states(rng, 2))
    y0 = bidirectional.forward(f, x, s0, p_fwd, p_bwd)[0]
    t = 2
    x[t] += 1.0
    changed = np.abs(bidirectional.forward(f, x, s0, p_fwd, p_bwd)[0] - y0).max(axis=(1,)) > 0
    assert np.array_equal(changed[:, :H].all(axis=1), np.arange(T) >= t)
    assert np.array_equal(changed[:, H:].all(axis=1), np.arange(T) <= t)
    assert not changed[:t, :H].any() and not changed[t + 1:, H:].any()


TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matches_torch_bidirectional_layer(name):
    f, b, gates, n_states = LAYERS[name]
    torch.manual_seed(6)
    module = TORCH[name](D, H, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p) + 0.05)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(T, B, D))
    s0 = [rng.normal(size=(2, B, H)) for _ in range(n_states)]
    g_y = rng.normal(size=(T, B, 2 * H))
    g_n = [rng.normal(size=(2, B, H)) for _ in range(n_states)]

    tp = {k: v.detach().numpy() for k, v in module.named_parameters()}
    names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    p_fwd = tuple(tp[k] for k in names)
    p_bwd = tuple(tp[k + "_reverse"] for k in names)
    ours_s0 = tuple(tuple(s[d] for s in s0) for d in range(2))
    y, finals, cache = bidirectional.forward(f, x, ours_s0, p_fwd, p_bwd)
    d_finals = tuple(tuple(g[d] for g in g_n) for d in range(2))
    dx, d_s0, dp_fwd, dp_bwd = bidirectional.backward(b, g_y, d_finals, cache)

    t_out, t_n, t_dx, t_ds0, tg = torch_reference(module, x, s0, g_y, g_n)

    np.testing.assert_allclose(y, t_out, rtol=1e-10, atol=1e-12)
    for k in range(n_states):
        for d in range(2):
            np.testing.assert_allclose(finals[d][k], t_n[k][d], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(d_s0[d][k], t_ds0[k][d], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-9, atol=1e-11)
    for k, name_ in enumerate(names):
        np.testing.assert_allclose(dp_fwd[k], tg[name_], rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(dp_bwd[k], tg[name_ + "_reverse"], rtol=1e-9, atol=1e-11)


def test_bad_input_is_named():
    f, b = LAYERS["rnn"][:2]
    p = chain_params(np.random.default_rng(0), 1, D, H)
    s0 = ((np.zeros((B, H)),), (np.zeros((B, H)),))
    with pytest.raises(ValueError, match=r"\(T, B, D\).*\(2, 3\)"):
        bidirectional.forward(f, np.zeros((2, 3)), s0, p, p)
    with pytest.raises(TypeError, match="pair"):
        bidirectional.forward(f, np.zeros((T, B, D)), s0[0], p, p)
    _, _, cache = bidirectional.forward(f, np.zeros((T, B, D)), s0, p, p)
    with pytest.raises(ValueError, match=rf"\(T, B, {2 * H}\).*\(5, 2, {H}\)"):
        bidirectional.backward(b, np.zeros((T, B, H)), s0, cache)
