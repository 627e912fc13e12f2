"""SGD and Adam against torch.optim on the same parameters and gradient sequence."""

import numpy as np
import pytest
import torch

from lstmlab.numpy.optim import SGD, Adam, clip_grad_norm


def run(ours_cls, torch_cls, steps=6, **kwargs):
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=4) + 0.5}
    t_params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours, theirs = ours_cls(params, **kwargs), torch_cls(list(t_params.values()), **kwargs)
    for _ in range(steps):
        # Gradients of a loss with varying scale per weight, so Adam's per-weight scaling matters.
        grads = {k: rng.normal(size=v.shape) * np.arange(1, v.size + 1).reshape(v.shape)
                 for k, v in params.items()}
        ours.step(grads)
        for k, p in t_params.items():
            p.grad = torch.tensor(grads[k])
        theirs.step()
    for k, v in params.items():
        np.testing.assert_allclose(v, t_params[k].detach().numpy(), rtol=1e-12, atol=1e-14)
    return params


def test_sgd_matches_torch():
    run(SGD, torch.optim.SGD, lr=0.1)


def test_adam_matches_torch():
    run(Adam, torch.optim.Adam, lr=0.05, betas=(0.8, 0.99), eps=1e-6)


def test_adam_first_step_is_lr_times_sign():
    # With bias correction, the first step is lr * g / (|g| + eps): lr in the direction of -sign(g).
    params = {"w": np.zeros(3)}
    Adam(params, lr=0.1, eps=0.0).step({"w": np.array([2.0, -0.5, 7.0])})
    np.testing.assert_allclose(params["w"], [-0.1, 0.1, -0.1])


def test_bad_grads_are_named():
    opt = Adam({"w": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"keys \['w'\], got \['v'\]"):
        opt.step({"v": np.zeros((2, 2))})
    with pytest.raises(ValueError, match=r"\(2, 2\), got \(2,\)"):
        opt.step({"w": np.zeros(2)})
    with pytest.raises(ValueError, match="lr"):
        SGD({}, lr=0.0)


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(5)
    grads = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=4)}
    leaves = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for leaf, g in zip(leaves, grads.values()):
        leaf.grad = torch.tensor(g)
    expected = torch.nn.utils.clip_grad_norm_(leaves, max_norm)
    assert clip_grad_norm(grads, max_norm) == pytest.approx(float(expected), rel=1e-12)
    for leaf, g in zip(leaves, grads.values()):
        np.testing.assert_allclose(g, leaf.grad.numpy(), rtol=1e-6)
