"""The perceptron (Sec. 3.1), its learning rule (Sec. 3.3) and the Boolean truth tables."""

import numpy as np
import pytest

from lstmlab.numpy import perceptron as p

SEPARABLE = ["AND", "OR", "NAND", "NOR"]


def test_truth_tables_spell_out_the_boolean_functions():
    X, _ = p.truth_table("AND")
    a, b = X[:, 0].astype(bool), X[:, 1].astype(bool)
    expected = {"AND": a & b, "OR": a | b, "NAND": ~(a & b), "NOR": ~(a | b), "XOR": a ^ b}
    for name, truth in expected.items():
        _, d = p.truth_table(name)
        np.testing.assert_array_equal(d, np.where(truth, 1.0, -1.0))


def test_truth_table_returns_copies_and_rejects_unknown_names():
    X, d = p.truth_table("or")
    X[0, 0], d[0] = 9.0, 9.0
    X2, d2 = p.truth_table("OR")
    assert X2[0, 0] == 0.0 and d2[0] == -1.0
    with pytest.raises(KeyError, match="XNOR"):
        p.truth_table("XNOR")


def test_output_fires_only_when_the_state_exceeds_zero():
    W, b = np.array([1.0, 1.0]), -1.5  # the textbook AND perceptron
    X, d = p.truth_table("AND")
    np.testing.assert_array_equal(p.state(W, b, X), [-1.5, -0.5, -0.5, 0.5])
    np.testing.assert_array_equal(p.output(W, b, X), d)
    # s = 0 is not above the threshold: the unit stays at -1.
    np.testing.assert_array_equal(p.output(np.array([1.0, -1.0]), 0.0, np.array([[2.0, 2.0]])), [-1.0])


def test_output_of_a_batch_with_three_inputs():
    W, b = np.array([0.5, -2.0, 1.0]), 0.25
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]])
    # states: 0.75, -1.75, -0.25, -0.25
    np.testing.assert_array_equal(p.output(W, b, X), [1.0, -1.0, -1.0, -1.0])


def test_update_of_a_misclassified_and_a_correct_sample():
    W, b, eta = np.array([0.2, -0.4]), 0.1, 0.3
    x = np.array([1.0, 1.0])  # s = -0.1, y = -1
    dW, db = p.update(W, b, x, 1.0, eta)
    np.testing.assert_allclose(dW, [0.6, 0.6])  # eta (d - y) x = 0.3 * 2 * x
    assert db == pytest.approx(0.6)
    dW, db = p.update(W, b, x, -1.0, eta)
    np.testing.assert_array_equal(dW, [0.0, 0.0])
    assert db == 0.0


@pytest.mark.parametrize("name", SEPARABLE)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_learns_the_separable_functions(name, seed):
    X, d = p.truth_table(name)
    fit = p.train(X, d, eta=0.1, max_epochs=100, rng=np.random.default_rng(seed))
    assert fit.converged and fit.errors[-1] == 0 and all(e > 0 for e in fit.errors[:-1])
    np.testing.assert_array_equal(p.output(fit.W, fit.b, X), d)


@pytest.mark.parametrize("eta", [1e-3, 1.0, 50.0])
def test_convergence_needs_no_small_learning_rate(eta):
    X, d = p.truth_table("NAND")
    fit = p.train(X, d, eta=eta, max_epochs=20000, rng=np.random.default_rng(7))
    assert fit.converged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_perceptron_never_converges_on_xor(seed):
    X, d = p.truth_table("XOR")
    fit = p.train(X, d, eta=0.1, max_epochs=500, rng=np.random.default_rng(seed))
    assert not fit.converged and fit.epochs == 500
    assert min(fit.errors) >= 1
    assert np.any(p.output(fit.W, fit.b, X) != d)


def test_train_leaves_the_starting_weights_alone():
    X, d = p.truth_table("OR")
    W0 = np.array([-0.3, 0.2])
    fit = p.train(X, d, W0=W0, b0=0.4)
    np.testing.assert_array_equal(W0, [-0.3, 0.2])
    assert fit.converged


def test_decision_line_is_where_the_state_vanishes():
    W, b = np.array([0.7, -1.3]), 0.4
    x1 = np.linspace(-1, 2, 7)
    x2 = p.decision_line(W, b, x1)
    np.testing.assert_allclose(p.state(W, b, np.column_stack([x1, x2])), 0.0, atol=1e-14)
    with pytest.raises(ValueError, match="vertical"):
        p.decision_line(np.array([1.0, 0.0]), 0.0, x1)


def test_bad_shapes_name_expected_and_actual():
    X, d = p.truth_table("AND")
    with pytest.raises(ValueError, match=r"W must have shape \(n,\), got shape \(2, 1\)"):
        p.output(np.ones((2, 1)), 0.0, X)
    with pytest.raises(ValueError, match=r"b must be a scalar.*got shape \(2,\)"):
        p.output(np.ones(2), np.ones(2), X)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\).*got shape \(4, 2\)"):
        p.output(np.ones(3), 0.0, X)
    with pytest.raises(ValueError, match=r"d must have shape \(4,\).*got shape \(3,\)"):
        p.train(X, d[:3])
    with pytest.raises(ValueError, match=r"x must be one sample of shape \(n,\), got shape \(1, 2\)"):
        p.update(np.ones(2), 0.0, X[:1], 1.0, 0.1)


def test_targets_must_be_plus_or_minus_one():
    X, _ = p.truth_table("AND")
    with pytest.raises(ValueError, match="1 or -1"):
        p.train(X, np.array([0.0, 0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="1 or -1"):
        p.update(np.ones(2), 0.0, X[0], 0.0, 0.1)


def test_history_records_the_weights_after_each_epoch():
    X, d = p.truth_table("XOR")
    fit = p.train(X, d, eta=0.1, max_epochs=30, rng=np.random.default_rng(1))
    assert len(fit.history) == fit.epochs == 30
    W_last, b_last = fit.history[-1]
    np.testing.assert_array_equal(W_last, fit.W)
    assert b_last == fit.b
    # On XOR the weights live on a bounded lattice and must come back to an earlier value.
    seen = [tuple(np.round(np.append(W, b), 9)) for W, b in fit.history]
    assert len(set(seen)) < len(seen)
