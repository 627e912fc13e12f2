"""Shared squashing functions: values, derivatives against central differences, extreme inputs."""

import math
import warnings

import numpy as np
import pytest

from lstmlab.numpy import activations as act
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error

# (function, derivative through the output, the same function written with math for reference)
FUNCTIONS = {
    "sigmoid": (act.sigmoid, act.sigmoid_prime, lambda s: 1.0 / (1.0 + math.exp(-s))),
    "tanh": (act.tanh, act.tanh_prime, math.tanh),
    "g": (act.g_squash, act.g_squash_prime, lambda s: 4.0 / (1.0 + math.exp(-s)) - 2.0),
    "h": (act.h_squash, act.h_squash_prime, lambda s: 2.0 / (1.0 + math.exp(-s)) - 1.0),
    "identity": (act.identity, act.identity_prime, lambda s: s),
}
RANGES = {"sigmoid": (0, 1), "tanh": (-1, 1), "g": (-2, 2), "h": (-1, 1)}


def _extremes(dtype):
    info = np.finfo(dtype)
    return np.array([0.0, info.tiny, -info.tiny, 1e-3, -1e-3, 30.0, -30.0, 88.0, -88.0, 89.0, -89.0,
                     709.0, -709.0, 710.0, -710.0, 1e4, -1e4, info.max, -info.max, np.inf, -np.inf]
                    if dtype == np.float64 else
                    [0.0, info.tiny, -info.tiny, 1e-3, -1e-3, 30.0, -30.0, 88.0, -88.0, 89.0, -89.0,
                     1e4, -1e4, info.max, -info.max, np.inf, -np.inf], dtype=dtype)


@pytest.mark.equation(1, 28, 31, 33, check="closed form")
@pytest.mark.parametrize("name", FUNCTIONS)
def test_values_match_the_textbook_formula(name):
    f, _, ref = FUNCTIONS[name]
    s = np.random.default_rng(1).normal(scale=4.0, size=50)
    np.testing.assert_allclose(f(s), [ref(v) for v in s], rtol=1e-13, atol=1e-15)


def test_known_sigmoid_values_and_symmetry():
    assert act.sigmoid(np.array(0.0)) == 0.5
    np.testing.assert_allclose(act.sigmoid(np.array([math.log(3.0)])), [0.75], rtol=1e-15)
    s = np.linspace(-40, 40, 81)
    np.testing.assert_allclose(act.sigmoid(-s), 1.0 - act.sigmoid(s), atol=1e-16)


@pytest.mark.parametrize("l", [0.25, 1.0, 3.0])
def test_sigmoid_steepness_scales_the_state(l):
    s = np.linspace(-6, 6, 25)
    np.testing.assert_allclose(act.sigmoid(s, l), [1.0 / (1.0 + math.exp(-l * v)) for v in s],
                               rtol=1e-14)
    # l y (1 - y) is the slope of s -> sigma(l s): at s = 0 it is l / 4.
    assert act.sigmoid_prime(act.sigmoid(np.array(0.0), l), l) == pytest.approx(l / 4)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("l", [1.0, 2.5])
def test_derivatives_match_central_differences(name, l):
    f, fprime, _ = FUNCTIONS[name]
    s = np.random.default_rng(2).normal(scale=2.0, size=30)
    if name == "sigmoid":
        analytic = fprime(f(s, l), l)
        numeric = numerical_gradient(lambda: f(s, l).sum(), s)
    else:
        analytic = fprime(f(s))
        numeric = numerical_gradient(lambda: f(s).sum(), s)
    assert relative_error(analytic, numeric) <= 1e-7


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_extreme_inputs_give_finite_bounded_values_without_warnings(name, dtype):
    f, fprime, _ = FUNCTIONS[name]
    s = _extremes(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = f(s)
        dy = fprime(y)
    assert y.dtype == dtype and dy.dtype == dtype
    if name == "identity":
        np.testing.assert_array_equal(y, s)
        return
    lo, hi = RANGES[name]
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    assert np.all((y >= lo) & (y <= hi)) and np.all(dy >= 0)
    assert y[-2] == hi and y[-1] == lo  # +inf and -inf reach the limits exactly
    assert dy[-1] == 0 and dy[-2] == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("l", [1e-3, 7.0, 1e10])
def test_steep_sigmoid_never_overflows(dtype, l):
    s = _extremes(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = act.sigmoid(s, l)
        dy = act.sigmoid_prime(y, l)
    assert y.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1)) and np.all(np.isfinite(dy))
    assert y[s == np.inf] == 1 and y[s == -np.inf] == 0


@pytest.mark.parametrize("l", [1.0, 3.0])
def test_float32_sigmoid_is_within_one_float32_step_of_the_exact_value(l):
    # float32 uses the half-angle tanh form: its error is absolute, at most 2^-24 of rounding in
    # tanh and in each of the two affine steps, so below one float32 step of 1 (2^-23).
    s = np.linspace(-40, 40, 8001)
    exact = np.array([1.0 / (1.0 + math.exp(-l * v)) for v in s])
    y = act.sigmoid(s.astype(np.float32), l)
    assert y.dtype == np.float32
    assert np.max(np.abs(y.astype(np.float64) - exact)) <= 2.0 ** -23
    buffer = np.empty(s.shape, dtype=np.float32)
    assert act.sigmoid(s.astype(np.float32), l, out=buffer) is buffer
    np.testing.assert_array_equal(buffer, y)


def test_sigmoid_is_monotone_and_exact_near_zero():
    s = np.linspace(-50, 50, 10001)
    assert np.all(np.diff(act.sigmoid(s)) >= 0)
    # 1 / (1 + exp(-s)) keeps relative precision where 1 - sigma(-s) would cancel to zero.
    assert act.sigmoid(np.array(-700.0)) == pytest.approx(math.exp(-700.0), rel=1e-12)
