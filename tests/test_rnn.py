"""RNN on the recurrent contract: against torch.nn.RNN (float64) and against central differences."""

import itertools

import numpy as np
import pytest
import torch
from torch_parity import assert_gradients_match_central_differences, assert_matches_torch, random_torch_module

from lstmlab.numpy import RNN

T, B, D, H = 5, 3, 4, 3


def random_torch_rnn(num_layers, bidirectional, bias, nonlinearity="tanh", seed=0, **kw):
    return random_torch_module("RNN", D, H, seed=seed, num_layers=num_layers, nonlinearity=nonlinearity,
                               bias=bias, bidirectional=bidirectional, **kw)


@pytest.mark.equation(6, 7, check="torch.nn parity")
@pytest.mark.parametrize("num_layers,bidirectional,bias,with_state",
                         list(itertools.product([1, 2, 3], [False, True], [False, True], [False, True])))
def test_matches_torch_forward_and_all_gradients(num_layers, bidirectional, bias, with_state):
    module = random_torch_rnn(num_layers, bidirectional, bias, seed=num_layers)
    model = RNN.from_torch(module)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(num_layers * model.num_directions, B, H)) if with_state else None
    assert_matches_torch(module, model, x, h0)


def test_relu_and_batch_first_match_torch():
    module = random_torch_rnn(2, True, True, nonlinearity="relu", batch_first=True)
    model = RNN.from_torch(module)
    assert model.nonlinearity == "relu" and model.batch_first
    assert_matches_torch(module, model, np.random.default_rng(1).normal(size=(B, T, D)), seed=5)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_params_input_and_state(bidirectional):
    model = RNN(D, H, num_layers=2, bidirectional=bidirectional, seed=4)
    for key in model.params:
        model.params[key] += 0.2  # move away from torch's symmetric initial distribution
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(2 * model.num_directions, B, H))
    assert_gradients_match_central_differences(model, x, h0)


def test_init_follows_torch_bounds_and_names():
    model = RNN(D, 8, num_layers=2, bidirectional=True, seed=1)
    module = torch.nn.RNN(D, 8, num_layers=2, bidirectional=True)
    assert {k: v.shape for k, v in model.params.items()} == \
        {k: tuple(v.shape) for k, v in module.named_parameters()}
    for value in model.params.values():
        assert value.dtype == np.float64
        assert np.abs(value).max() <= 1 / np.sqrt(8)
        assert np.abs(value).max() > 0.5 / np.sqrt(8)
    assert RNN(D, 8, dtype=np.float32).params["weight_ih_l0"].dtype == np.float32


def test_float32_forward_is_close_to_float64():
    m64 = RNN(D, H, num_layers=2, seed=3)
    m32 = RNN(D, H, num_layers=2, seed=3, dtype=np.float32)
    x = np.random.default_rng(2).normal(size=(T, B, D))
    out32, _ = m32.forward(x.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, m64.forward(x)[0], atol=1e-5)


def test_bad_inputs_raise_clear_errors():
    model = RNN(D, H, num_layers=2)
    good = np.zeros((T, B, D))
    with pytest.raises(ValueError, match=r"\(5, 3, 4\).*\(5, 3, 7\)"):
        model.forward(np.zeros((T, B, 7)))
    with pytest.raises(ValueError, match="3-d"):
        model.forward(np.zeros((T, D)))
    with pytest.raises(TypeError, match="float64.*float32"):
        model.forward(good.astype(np.float32))
    with pytest.raises(ValueError, match=r"initial state.*\(2, 3, 3\).*\(1, 3, 3\)"):
        model.forward(good, np.zeros((1, B, H)))
    with pytest.raises(RuntimeError, match="forward"):
        RNN(D, H).backward(np.zeros((T, B, H)))
    model.forward(good)
    with pytest.raises(ValueError, match=r"grad_output.*\(5, 3, 3\).*\(5, 3, 6\)"):
        model.backward(np.zeros((T, B, 2 * H)))
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(D, H, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="torch.nn.RNN.*GRU"):
        RNN.from_torch(torch.nn.GRU(D, H))
    with pytest.raises(ValueError, match="dropout"):
        RNN.from_torch(torch.nn.RNN(D, H, num_layers=2, dropout=0.5))


def test_ensemble_axes_run_independent_networks():
    """sequence_forward/backward with leading ensemble axes equal K separate torch-shaped calls."""
    from lstmlab.numpy.rnn import sequence_backward, sequence_forward
    rng = np.random.default_rng(8)
    K = 3
    x = rng.normal(size=(T, K, B, D))
    h0 = rng.normal(size=(K, B, H))
    w_ih, w_hh = rng.normal(size=(K, H, D)), rng.normal(size=(K, H, H))
    b_ih, b_hh = rng.normal(size=(K, 1, H)), rng.normal(size=(K, 1, H))
    g_out, g_h = rng.normal(size=(T, K, B, H)), rng.normal(size=(K, B, H))
    out, (hn,), cache = sequence_forward(x, (h0,), w_ih, w_hh, b_ih, b_hh)
    grads = sequence_backward(g_out, (g_h,), cache)
    for k in range(K):
        out_k, (hn_k,), cache_k = sequence_forward(x[:, k], (h0[k],), w_ih[k], w_hh[k], b_ih[k, 0], b_hh[k, 0])
        grads_k = sequence_backward(g_out[:, k], (g_h[k],), cache_k)
        np.testing.assert_allclose(out[:, k], out_k, rtol=1e-13)
        np.testing.assert_allclose(hn[k], hn_k, rtol=1e-13)
        np.testing.assert_allclose(grads[0][:, k], grads_k[0], rtol=1e-12)  # dx
        np.testing.assert_allclose(grads[1][0][k], grads_k[1][0], rtol=1e-12)  # dh0
        for a, b in zip(grads[2:], grads_k[2:]):
            np.testing.assert_allclose(a[k].reshape(b.shape), b, rtol=1e-12)


def test_from_torch_float32_module():
    module = random_torch_rnn(2, True, True).float()
    model = RNN.from_torch(module)
    assert model.dtype == np.float32 and model.params["weight_hh_l1_reverse"].dtype == np.float32
    x = np.random.default_rng(4).normal(size=(T, B, D)).astype(np.float32)
    out, hn = model.forward(x)
    out_t, hn_t = module(torch.tensor(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(hn, hn_t.detach().numpy(), rtol=1e-5, atol=1e-5)
