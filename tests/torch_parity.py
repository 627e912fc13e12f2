"""Checks shared by the tests of the recurrent models and their wrappers: a torch.nn module with random
parameters, the same model's forward and every gradient against it, and central differences."""

import numpy as np
import torch

from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error


def random_torch_module(kind, input_size, hidden_size, seed=0, **options):
    """A float64 ``torch.nn.<kind>`` whose parameters (biases included) are random, non-zero, asymmetric."""
    torch.manual_seed(seed)
    module = getattr(torch.nn, kind)(input_size, hidden_size, dtype=torch.float64, **options)
    with torch.no_grad():
        for p in module.parameters():
            # A shifted normal: non-zero mean breaks any accidental symmetry between rows.
            p.copy_(0.6 * torch.randn_like(p) + 0.1)
    return module


def loss_weights(out_shape, state_shape, seed):
    """Weights of the loss sum(w_out * output) + sum(w_state * h_n): its gradients are these weights."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=out_shape), rng.normal(size=state_shape)


def assert_matches_torch(module, model, x, h0=None, seed=3):
    """Output, final state, dL/dx, dL/dh_0 and every parameter gradient of ``model`` equal torch's."""
    xt = torch.tensor(x, requires_grad=True)
    h0t = None if h0 is None else torch.tensor(h0, requires_grad=True)
    out_t, hn_t = module(xt, h0t)
    g_out, g_hn = loss_weights(out_t.shape, hn_t.shape, seed)
    ((out_t * torch.tensor(g_out)).sum() + (hn_t * torch.tensor(g_hn)).sum()).backward()

    out, hn = model.forward(x, h0)
    assert out.shape == tuple(out_t.shape) and hn.shape == tuple(hn_t.shape)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hn, hn_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.backward(g_out, g_hn), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    if h0 is not None:
        np.testing.assert_allclose(model.grad_state, h0t.grad.numpy(), rtol=1e-10, atol=1e-12)
    torch_grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    assert set(model.grads) == set(torch_grads) == set(model.params)
    for name, g in torch_grads.items():
        np.testing.assert_allclose(model.grads[name], g, rtol=1e-10, atol=1e-12, err_msg=name)


def assert_gradients_match_central_differences(model, x, h0, seed=9):
    """Every parameter gradient, dL/dx and dL/dh_0 within 1e-7 of central differences (float64)."""
    g_out, g_hn = loss_weights(x.shape[:2] + (model.num_directions * model.hidden_size,), h0.shape, seed)

    def loss():
        out, hn = model.forward(x, h0)
        return float((out * g_out).sum() + (hn * g_hn).sum())

    loss()
    dx = model.backward(g_out, g_hn)
    grads, dh0 = dict(model.grads), model.grad_state
    errors = check_gradients(loss, model.params, grads)
    assert max(errors.values()) <= 1e-7, errors
    assert relative_error(dx, numerical_gradient(loss, x)) <= 1e-7
    assert relative_error(dh0, numerical_gradient(loss, h0)) <= 1e-7


def torch_reference(module, x, states0, g_out, g_states):
    """Run ``module`` from the initial states ``states0`` (a list: [h] or [h, c]) and backpropagate
    sum(g_out * output) + sum(g_state * final state); returns, as NumPy arrays, the output, the list
    of final states, dL/dx, the list of dL/d(initial state) and a dict of every parameter gradient."""
    tx = torch.tensor(x, requires_grad=True)
    ts0 = [torch.tensor(s, requires_grad=True) for s in states0]
    t_out, t_n = module(tx, tuple(ts0) if len(ts0) == 2 else ts0[0])
    t_n = t_n if len(ts0) == 2 else (t_n,)
    total = (t_out * torch.tensor(g_out)).sum() + sum((s * torch.tensor(g)).sum() for s, g in zip(t_n, g_states))
    total.backward()
    return (t_out.detach().numpy(), [s.detach().numpy() for s in t_n], tx.grad.numpy(),
            [s.grad.numpy() for s in ts0], {k: v.grad.numpy() for k, v in module.named_parameters()})
