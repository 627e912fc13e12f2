"""The step API every NumPy model shares (lstmlab.numpy.recurrent): the same names and argument order,
a step equal to one step of the model's own sequence code, and a backward step checked against
central differences for the input, every state and every parameter."""

import inspect

import numpy as np
import pytest

from lstmlab.numpy import gru, lstm, lstm_cell, md_lstm, rnn
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error

B, D, H = 3, 2, 4


def torch_like(rng, gates, bias=True):
    params = {"w_ih": 0.6 * rng.normal(size=(gates * H, D)) + 0.1,
              "w_hh": 0.5 * rng.normal(size=(gates * H, H)) - 0.1}
    if bias:
        params.update(b_ih=rng.normal(size=gates * H) + 0.2, b_hh=rng.normal(size=gates * H) - 0.1)
    return params


def states(rng, n, shape=(B, H)):
    return tuple(rng.normal(size=shape) for _ in range(n))


# name: (module, options, params, state) made from a generator
CASES = {
    "rnn tanh": (rnn, {}, lambda r: torch_like(r, 1), lambda r: states(r, 1)),
    "rnn relu": (rnn, {"nonlinearity": "relu"}, lambda r: torch_like(r, 1), lambda r: states(r, 1)),
    "rnn no bias": (rnn, {}, lambda r: torch_like(r, 1, bias=False), lambda r: states(r, 1)),
    "gru": (gru, {}, lambda r: torch_like(r, 3), lambda r: states(r, 1)),
    "gru Cho": (gru, {"reset_after": False}, lambda r: torch_like(r, 3), lambda r: states(r, 1)),
    "lstm vanilla": (lstm, {}, lambda r: lstm.init_params(D, H, r), lambda r: states(r, 2)),
    "lstm NP": (lstm, {"variant": "NP"}, lambda r: torch_like(r, 4), lambda r: states(r, 2)),
    "lstm CIFG": (lstm, {"variant": "CIFG"}, lambda r: lstm.init_params(D, H, r, "CIFG"), lambda r: states(r, 2)),
    "lstm_cell": (lstm_cell, {}, lambda r: torch_like(r, 4), lambda r: states(r, 2)),
    "md_lstm 2-d": (md_lstm, {}, lambda r: md_lstm.init_params(D, H, 2, r), lambda r: states(r, 2, (2, B, H))),
}


@pytest.mark.parametrize("module", sorted({case[0] for case in CASES.values()}, key=lambda m: m.__name__),
                         ids=lambda m: m.__name__.rsplit(".", 1)[1])
def test_same_names_and_argument_order(module):
    assert list(inspect.signature(module.step).parameters)[:3] == ["x_t", "state", "params"]
    assert list(inspect.signature(module.step_backward).parameters) == ["d_state", "cache"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_step_and_backward_step(name):
    module, options, make_params, make_state = CASES[name]
    rng = np.random.default_rng(sorted(CASES).index(name))
    params, state = make_params(rng), make_state(rng)
    x_t = rng.normal(size=(B, D))
    new_state, cache = module.step(x_t, state, params, **options)
    assert isinstance(new_state, tuple) and len(new_state) == len(state)
    assert all(s.shape == (B, H) for s in new_state)
    weights = states(rng, len(state))

    def loss():
        out, _ = module.step(x_t, state, params, **options)
        return float(sum(np.sum(w * s) for w, s in zip(weights, out)))

    dx, d_state_prev, grads = module.step_backward(weights, cache)
    assert isinstance(d_state_prev, tuple) and set(grads) == set(params)
    checks = [("x_t", dx, x_t)] + [(f"state[{k}]", d, s) for k, (d, s) in enumerate(zip(d_state_prev, state))]
    checks += [(k, grads[k], params[k]) for k in params]
    for what, analytic, array in checks:
        assert analytic.shape == array.shape, what
        assert relative_error(analytic, numerical_gradient(loss, array)) <= 1e-7, what


@pytest.mark.parametrize("module,gates", [(rnn, 1), (gru, 3)])
def test_one_state_steps_are_one_step_of_the_layer(module, gates):
    rng = np.random.default_rng(11)
    params, (h0,) = torch_like(rng, gates), states(rng, 1)
    x = rng.normal(size=(1, B, D))
    out, final, _ = module.sequence_forward(x, (h0,), params["w_ih"], params["w_hh"], params["b_ih"],
                                            params["b_hh"])
    (h,), _ = module.step(x[0], (h0,), params)
    np.testing.assert_array_equal(h, out[0])
    np.testing.assert_array_equal(h, final[0])


@pytest.mark.parametrize("module,gates", [(rnn, 1), (gru, 3), (lstm, 4)])
def test_bad_shapes_name_expected_and_actual(module, gates):
    rng = np.random.default_rng(12)
    params = torch_like(rng, gates)
    state = states(rng, 2 if module is lstm else 1)
    options = {"variant": "NP"} if module is lstm else {}
    with pytest.raises(ValueError, match=r"\(B, D\), got \(2, 3, 2\)"):
        module.step(np.zeros((2, 3, D)), state, params, **options)
    with pytest.raises(ValueError, match=rf"w_ih must have shape \({gates * H}, 3\), got \({gates * H}, 2\)"):
        module.step(np.zeros((B, 3)), state, params, **options)
    with pytest.raises(ValueError, match=rf"\({B}, {H}\), got \({B}, 5\)"):
        module.step(np.zeros((B, D)), tuple(np.zeros((B, 5)) for _ in state), params, **options)
