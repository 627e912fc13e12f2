"""Central differences and relative errors: the tools every other backward-pass test relies on."""

import numpy as np
import pytest

from lstmlab.numpy.gradcheck import check_gradients, numerical_gradient, relative_error


def test_numerical_gradient_of_a_known_function():
    rng = np.random.default_rng(3)
    x, c = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    numeric = numerical_gradient(lambda: float(np.sum(c * np.sin(x))), x)
    assert relative_error(numeric, c * np.cos(x)) <= 1e-9


def test_numerical_gradient_leaves_x_unchanged():
    x = np.random.default_rng(4).normal(size=7)
    before = x.copy()
    numerical_gradient(lambda: float(np.sum(x ** 3)), x)
    np.testing.assert_array_equal(x, before)


def test_numerical_gradient_of_a_non_contiguous_view():
    # A transposed parameter: a flattened copy would never reach f and give all zeros.
    base = np.random.default_rng(5).normal(size=(2, 3))
    xt = base.T
    numeric = numerical_gradient(lambda: float(np.sum(xt ** 2 * np.arange(1.0, 7.0).reshape(3, 2))), xt)
    assert relative_error(numeric, 2 * xt * np.arange(1.0, 7.0).reshape(3, 2)) <= 1e-9


def test_numerical_gradient_of_a_scalar_array():
    x = np.array(1.5)
    assert numerical_gradient(lambda: float(x ** 3), x) == pytest.approx(3 * 1.5 ** 2, rel=1e-9)


def test_numerical_gradient_needs_float64():
    with pytest.raises(TypeError, match="float64.*float32"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))


def test_relative_error_values():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)
    assert relative_error([1.0], [-1.0]) == pytest.approx(1.0)
    assert relative_error([1.0 + 1e-8], [1.0]) == pytest.approx(1e-8 / (2 + 1e-8), rel=1e-6)


def test_relative_error_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))


def test_check_gradients_accepts_right_and_flags_wrong_gradients():
    rng = np.random.default_rng(6)
    params = {"a": rng.normal(size=(2, 2)), "b": rng.normal(size=3)}

    def loss():
        return float(np.sum(params["a"] ** 2) + np.sum(np.exp(params["b"])))

    right = {"a": 2 * params["a"], "b": np.exp(params["b"])}
    wrong = {"a": 2 * params["a"], "b": -np.exp(params["b"])}
    errors = check_gradients(loss, params, right)
    assert set(errors) == {"a", "b"} and max(errors.values()) <= 1e-8
    errors = check_gradients(loss, params, wrong)
    assert errors["a"] <= 1e-8 and errors["b"] == pytest.approx(1.0, abs=1e-6)
