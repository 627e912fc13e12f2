"""The stacking wrapper (Eq. 52) on its own: central differences for stacks of RNN, LSTM and GRU
layers, one- and two-directional, and torch.nn parity for num_layers 2 and 3."""

from functools import partial

import numpy as np
import pytest
import torch
from torch_parity import torch_reference

from lstmlab.numpy import bidirectional, gru, lstm, rnn, stacked
from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error

T, B, D, H = 4, 2, 3, 3

LAYERS = {
    "rnn": (rnn.sequence_forward, rnn.sequence_backward, 1, 1),
    "lstm": (lstm.sequence_forward, lstm.sequence_backward, 4, 2),
    "gru": (gru.sequence_forward, gru.sequence_backward, 3, 1),
}
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def chain_params(rng, gates, width):
    rows = gates * H
    return (0.5 * rng.normal(size=(rows, width)) + 0.1, 0.4 * rng.normal(size=(rows, H)) - 0.05,
            0.3 * rng.normal(size=rows) + 0.2, 0.3 * rng.normal(size=rows) - 0.1)


def stack_problem(name, n_layers, two_way, seed):
    """Layer functions, per-layer parameters and states of a seeded stack."""
    f, b, gates, n_states = LAYERS[name]
    rng = np.random.default_rng(seed)
    dirs = 2 if two_way else 1
    if two_way:
        f, b = partial(bidirectional.forward, f), partial(bidirectional.backward, b)
    params, s0 = [], []
    for layer in range(n_layers):
        width = D if layer == 0 else dirs * H
        chains = [chain_params(rng, gates, width) for _ in range(dirs)]
        chain_states = [tuple(0.5 * rng.normal(size=(B, H)) for _ in range(n_states)) for _ in range(dirs)]
        params.append(tuple(chains) if two_way else chains[0])
        s0.append(tuple(chain_states) if two_way else chain_states[0])
    return f, b, params, s0, rng


def flat(tree, prefix=""):
    """Every array in a nest of tuples / lists, keyed by its path."""
    if isinstance(tree, np.ndarray):
        return {prefix: tree}
    out = {}
    for k, item in enumerate(tree):
        out |= flat(item, f"{prefix}.{k}")
    return out


@pytest.mark.parametrize("name,n_layers,two_way", [("rnn", 3, False), ("lstm", 3, False), ("lstm", 2, True),
                                                   ("gru", 2, True), ("gru", 3, False)])
def test_gradients_match_central_differences(name, n_layers, two_way):
    f, b, params, s0, rng = stack_problem(name, n_layers, two_way, seed=10 + n_layers)
    x = rng.normal(size=(T, B, D))
    y, finals, _ = stacked.forward(f, x, s0, *params)
    g_y = rng.normal(size=y.shape)
    g_finals = [tuple(rng.normal(size=a.shape) for a in fin) if not two_way else
                tuple(tuple(rng.normal(size=a.shape) for a in chain) for chain in fin) for fin in finals]
    g_flat = flat(g_finals)

    def loss():
        y, finals, _ = stacked.forward(f, x, s0, *params)
        return float((y * g_y).sum() + sum((a * g_flat[k]).sum() for k, a in flat(finals).items()))

    _, _, cache = stacked.forward(f, x, s0, *params)
    dx, d_s0, *d_params = stacked.backward(b, g_y, g_finals, cache)
    errors = check_gradients(loss, flat(params), flat(d_params))
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7
    errors = check_gradients(loss, flat(s0), flat(d_s0))
    assert max(errors.values()) <= 1e-7, errors


@pytest.mark.equation(52, check="closed form")
def test_layer_i_reads_layer_i_minus_1_outputs():
    # Eq. 52: the top layer alone, fed the outputs of the layers below, gives the stack's output.
    f, b, params, s0, rng = stack_problem("lstm", 3, False, seed=20)
    x = rng.normal(size=(T, B, D))
    y, finals, _ = stacked.forward(f, x, s0, *params)
    below, _, _ = stacked.forward(f, x, s0[:2], *params[:2])
    top, final_top, _ = f(below, s0[2], *params[2])
    np.testing.assert_array_equal(y, top)
    np.testing.assert_array_equal(finals[2][1], final_top[1])


def test_stacks_of_a_dict_parameter_variant():
    # Peephole LSTM layers (params one dict per layer) stack the same way.
    rng = np.random.default_rng(21)
    f = partial(lstm.forward, variant="vanilla")
    params = [({k: 0.4 * rng.normal(size=s) + 0.05 for k, s in lstm.param_shapes(w, H).items()},)
              for w in (D, H)]
    s0 = [(0.3 * rng.normal(size=(B, H)), 0.3 * rng.normal(size=(B, H))) for _ in range(2)]
    x = rng.normal(size=(T, B, D))
    g_y = rng.normal(size=(T, B, H))
    zero = (np.zeros((B, H)), np.zeros((B, H)))

    def loss():
        return float((stacked.forward(f, x, s0, *params)[0] * g_y).sum())

    _, _, cache = stacked.forward(f, x, s0, *params)
    dx, _, (g0,), (g1,) = stacked.backward(lstm.backward, g_y, (zero, zero), cache)
    for p, g in ((params[0][0], g0), (params[1][0], g1)):
        errors = check_gradients(loss, p, g)
        assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7


TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


@pytest.mark.equation(52, check="torch.nn parity")
@pytest.mark.parametrize("name,n_layers,two_way", [("lstm", 2, True), ("lstm", 3, True), ("gru", 3, True),
                                                   ("rnn", 2, True), ("lstm", 3, False)])
def test_matches_torch_multilayer(name, n_layers, two_way):
    f, b, _, n_states = LAYERS[name]
    dirs = 2 if two_way else 1
    if two_way:
        f, b = partial(bidirectional.forward, f), partial(bidirectional.backward, b)
    torch.manual_seed(n_layers)
    module = TORCH[name](D, H, num_layers=n_layers, bidirectional=two_way, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.3 * torch.randn_like(p) - 0.05)
    tp = {k: v.detach().numpy() for k, v in module.named_parameters()}

    def chain(layer, d):
        return tuple(tp[f"{n}_l{layer}" + ("_reverse" if d else "")] for n in NAMES)

    rng = np.random.default_rng(30 + n_layers)
    x = rng.normal(size=(T, B, D))
    s0 = [rng.normal(size=(n_layers * dirs, B, H)) for _ in range(n_states)]
    g_y = rng.normal(size=(T, B, dirs * H))
    g_n = [rng.normal(size=(n_layers * dirs, B, H)) for _ in range(n_states)]

    def per_layer(arrays):
        # torch's row l * dirs + d is layer l, direction d.
        rows = [tuple(a[i] for a in arrays) for i in range(n_layers * dirs)]
        return [tuple(rows[l * dirs:(l + 1) * dirs]) if two_way else rows[l] for l in range(n_layers)]

    params = [tuple(chain(l, d) for d in range(dirs)) if two_way else chain(l, 0) for l in range(n_layers)]
    y, finals, cache = stacked.forward(f, x, per_layer(s0), *params)
    dx, d_s0, *d_params = stacked.backward(b, g_y, per_layer(g_n), cache)

    t_out, t_n, t_dx, t_ds0, tg = torch_reference(module, x, s0, g_y, g_n)

    np.testing.assert_allclose(y, t_out, rtol=1e-10, atol=1e-12)
    for ours, theirs in ((finals, t_n), (d_s0, t_ds0)):
        for key, value in flat(per_layer(theirs)).items():
            np.testing.assert_allclose(flat(ours)[key], value, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(dx, t_dx, rtol=1e-9, atol=1e-11)
    torch_grads = [tuple(tuple(tg[f"{n}_l{l}" + ("_reverse" if d else "")] for n in NAMES)
                         for d in range(dirs)) if two_way else tuple(tg[f"{n}_l{l}"] for n in NAMES)
                   for l in range(n_layers)]
    ours = flat(d_params)
    for key, value in flat(torch_grads).items():
        np.testing.assert_allclose(ours[key], value, rtol=1e-9, atol=1e-11)
    assert set(ours) == set(flat(torch_grads))


def test_bad_input_is_named():
    f, b, params, s0, _ = stack_problem("rnn", 2, False, seed=0)
    with pytest.raises(ValueError, match=r"one initial state per layer \(2\), got 1"):
        stacked.forward(f, np.zeros((T, B, D)), s0[:1], *params)
    with pytest.raises(ValueError, match="at least one layer"):
        stacked.forward(f, np.zeros((T, B, D)), [])
    _, _, cache = stacked.forward(f, np.zeros((T, B, D)), s0, *params)
    with pytest.raises(ValueError, match=r"one final-state gradient per layer \(2\), got 3"):
        stacked.backward(b, np.zeros((T, B, H)), s0 + s0[:1], cache)
