"""The delta rule (Sec. 3.3): its gradient, its fixed point (least squares) and its step-size limit."""

import numpy as np
import pytest

from lstmlab.numpy import delta_rule as dr
from lstmlab.numpy import perceptron
from lstmlab.numpy.gradcheck import check_gradients


def _lstsq(X, d):
    A = np.column_stack([X, np.ones(len(X))])
    sol = np.linalg.lstsq(A, d, rcond=None)[0]
    return sol[:-1], sol[-1]


def _eta_limit(X):
    A = np.column_stack([X, np.ones(len(X))])
    return 2.0 / np.linalg.eigvalsh(A.T @ A).max()


def test_output_and_loss_by_hand():
    W, b = np.array([2.0, -1.0]), 0.5
    X = np.array([[1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_array_equal(dr.output(W, b, X), [1.5, -1.5])
    assert dr.loss(W, b, X, np.array([1.0, 1.0])) == pytest.approx(0.5 * (0.25 + 6.25))


def test_gradients_by_hand():
    W, b = np.array([2.0, -1.0]), 0.5
    X = np.array([[1.0, 1.0], [0.0, 2.0]])
    g = dr.gradients(W, b, X, np.array([1.0, 1.0]))  # errors e = d - y = (-0.5, 2.5)
    np.testing.assert_allclose(g["W"], [0.5, -(-0.5 + 5.0)])
    assert g["b"] == pytest.approx(-2.0)
    dW, db = dr.update(W, b, X, np.array([1.0, 1.0]), 0.1)
    np.testing.assert_allclose(dW, [-0.05, 0.45])
    assert db == pytest.approx(0.2)


@pytest.mark.parametrize("seed", [0, 1])
def test_gradients_match_central_differences(seed):
    rng = np.random.default_rng(seed)
    params = {"W": rng.normal(size=4), "b": np.array(rng.normal() + 0.3), "X": rng.normal(size=(6, 4))}
    d = rng.normal(size=6)

    def loss():
        return dr.loss(params["W"], params["b"], params["X"], d)

    errors = check_gradients(loss, params, dr.gradients(params["W"], params["b"], params["X"], d))
    assert max(errors.values()) <= 1e-7, errors


@pytest.mark.parametrize("name", ["XOR", "AND"])
def test_converges_to_the_least_squares_solution(name):
    X, d = perceptron.truth_table(name)
    fit = dr.train(X, d, eta=0.5 * _eta_limit(X), epochs=2000, rng=np.random.default_rng(3))
    W_ls, b_ls = _lstsq(X, d)
    np.testing.assert_allclose(fit.W, W_ls, atol=1e-9)
    assert fit.b == pytest.approx(b_ls, abs=1e-9)
    assert fit.losses[-1] == pytest.approx(dr.loss(W_ls, b_ls, X, d), rel=1e-12)


def test_converges_on_noisy_non_separable_data():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 3))
    d = np.where(X @ np.array([1.0, -2.0, 0.5]) + 0.3 + rng.normal(scale=1.5, size=60) > 0, 1.0, -1.0)
    fit = dr.train(X, d, eta=0.5 * _eta_limit(X), epochs=3000, rng=rng)
    W_ls, b_ls = _lstsq(X, d)
    np.testing.assert_allclose(np.append(fit.W, fit.b), np.append(W_ls, b_ls), atol=1e-8)
    assert perceptron.train(X, d, max_epochs=200, rng=rng).converged is False


def test_loss_never_increases_below_the_step_limit_and_explodes_above_it():
    X, d = perceptron.truth_table("OR")
    limit = _eta_limit(X)
    slow = dr.train(X, d, eta=0.9 * limit, epochs=60, rng=np.random.default_rng(1))
    assert np.all(np.diff(slow.losses) <= 1e-12)
    fast = dr.train(X, d, eta=1.1 * limit, epochs=60, rng=np.random.default_rng(1))
    assert fast.losses[-1] > 100 * fast.losses[0]


def test_thresholded_delta_rule_classifies_and_counts_errors():
    X, d = perceptron.truth_table("AND")
    fit = dr.train(X, d, eta=0.1, epochs=500)
    assert fit.errors[-1] == 0 and dr.misclassified(fit.W, fit.b, X, d) == 0
    # XOR's least-squares fit is y = 0 on all four inputs, and no line gets all four right.
    X, d = perceptron.truth_table("XOR")
    fit = dr.train(X, d, eta=0.1, epochs=2000)
    np.testing.assert_allclose(dr.output(fit.W, fit.b, X), 0.0, atol=1e-6)
    assert min(fit.errors) >= 1 and len(fit.errors) == len(fit.losses) == 2000


def test_bad_shapes_name_expected_and_actual():
    X, d = perceptron.truth_table("OR")
    with pytest.raises(ValueError, match=r"d must have shape \(4,\).*got shape \(4, 1\)"):
        dr.gradients(np.ones(2), 0.0, X, d[:, None])
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\).*got shape \(4, 3\)"):
        dr.loss(np.ones(2), 0.0, np.ones((4, 3)), d)
    with pytest.raises(ValueError, match=r"X must have shape \(N, n\), got shape \(4,\)"):
        dr.train(np.ones(4), d)


def test_compare_rules_on_separable_and_non_separable_data():
    X, d = perceptron.truth_table("NAND")
    runs = dr.compare_rules(X, d, epochs=300, rng=np.random.default_rng(5))
    assert len(runs["perceptron"]) == len(runs["delta"]) == 300
    assert runs["perceptron"][-1] == 0 and runs["delta"][-1] == 0
    X, d = perceptron.truth_table("XOR")
    runs = dr.compare_rules(X, d, epochs=300, rng=np.random.default_rng(5))
    assert min(runs["perceptron"]) >= 1 and min(runs["delta"][-50:]) >= 1
    # The counts are those of the returned runs' weights, recounted here from the recorded history.
    p_fit, d_fit = runs["perceptron_fit"], runs["delta_fit"]
    assert runs["perceptron"] == [dr.misclassified(W, b, X, d) for W, b in p_fit.history]
    assert runs["delta"][-1] == dr.misclassified(d_fit.W, d_fit.b, X, d)
    with pytest.raises(ValueError, match=r"X must have shape \(N, n\), got shape \(4,\)"):
        dr.compare_rules(np.ones(4), d, epochs=3)
