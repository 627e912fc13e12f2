"""The compiled 1997 engine computes what lstm_original computes: outputs, truncated gradients and
on-line weight updates agree to 1e-12 in float64, on random non-zero weights, for every topology of
the experiments and every option of the reference."""

import numpy as np
import pytest

from lstmlab.experiments import runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo

from test_lstm_original import TOPOLOGIES as OPTIONS
from test_lstm_original import make_problem as problem

TABLE10 = {"g_range": (-1.0, 1.0), "h_range": (-2.0, 2.0)}
EXPERIMENTS = {
    "exp1 3x2 text ranges": lo.Topology(n_in=7, n_blocks=3, cells_per_block=2, n_out=7,
                                        gate_feedback=True, unit_biases=False),
    "exp1 4x1 Table 10 ranges": lo.Topology(n_in=7, n_blocks=4, cells_per_block=1, n_out=7,
                                            gate_feedback=True, unit_biases=False, **TABLE10),
    "exp1 3x2 Table 10 ranges, current gates": lo.Topology(n_in=7, n_blocks=3, cells_per_block=2,
                                                           n_out=7, gate_feedback=True,
                                                           unit_biases=False, current_gates=True,
                                                           **TABLE10),
    "exp2a paper": lo.Topology(n_in=11, n_blocks=1, cells_per_block=1, n_out=11, output_gate=False,
                               cell_output="identity", input_to_output=True, unit_biases=False,
                               gate_biases=False, recurrent=False, g_range=(0.0, 1.0)),
    "exp4 adding": lo.Topology(n_in=2, n_blocks=2, cells_per_block=2, n_out=1, gate_feedback=True),
    "exp6a temporal order": lo.Topology(n_in=8, n_blocks=2, cells_per_block=2, n_out=4,
                                        gate_feedback=True),
    "gers2000 forget gates": lo.Topology(n_in=7, n_blocks=4, cells_per_block=2, n_out=7,
                                         forget_gate=True),
}
TOPOLOGIES = {**OPTIONS, **EXPERIMENTS}


def copy(params):
    return {k: v.copy() for k, v in params.items()}


def assert_close(a, b, what):
    scale = max(1.0, float(np.abs(b).max()))
    assert float(np.abs(a - b).max()) <= 1e-12 * scale, what


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_forward_and_truncated_gradient_equal_the_reference(name):
    topo = TOPOLOGIES[name]
    params, x, d, mask = problem(topo, seed=1)
    assert_close(engine.forward(topo, params, x), lo.forward(topo, params, x)[0], "outputs")
    loss, grads = engine.truncated_gradient(topo, params, x, d, mask)
    ref_loss, ref = lo.truncated_gradient(topo, params, x, d, mask)
    assert abs(loss - ref_loss) <= 1e-12 * ref_loss
    assert set(grads) == set(ref)
    for key in ref:
        assert np.abs(ref[key]).max() > 0, key     # a real gradient, not two zero arrays
        assert_close(grads[key], ref[key], key)


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_online_learning_equals_the_reference(name):
    """Three sequences of on-line learning, per-trial learning rates (one trial frozen): the outputs
    seen while learning and every weight afterwards agree."""
    topo = TOPOLOGIES[name]
    params, _, _, _ = problem(topo, seed=2)
    ours, ref = copy(params), copy(params)
    lr = np.array([0.5, 0.0, 1.3])
    for seed in (3, 4, 5):
        _, x, d, mask = problem(topo, seed=seed, steps=6 + seed)
        assert_close(engine.learn_online(topo, ours, x, d, mask, lr),
                     lo.learn_online(topo, ref, x, d, mask, lr), "outputs")
    for key in params:
        assert_close(ours[key], ref[key], key)
        assert not np.array_equal(ours[key][0], params[key][0]), key   # it did learn
        np.testing.assert_array_equal(ours[key][1], params[key][1])     # lr 0: unchanged


def test_per_trial_sequences_lengths_and_order():
    """run(): each trial reads its own sequences in its own order and stops at each one's length;
    that equals lstm_original on the unpadded sequences one after another."""
    topo = EXPERIMENTS["exp4 adding"]
    rng = np.random.default_rng(6)
    n, s, steps = 2, 3, 9
    params = lo.init_params(topo, n, rng, scale=0.5)
    X = rng.normal(size=(n, s, steps, 2))
    D = rng.uniform(size=(n, s, steps, 1))
    M = (rng.uniform(size=(n, s, steps)) < 0.5).astype(float)
    L = np.array([[9, 4, 6], [7, 9, 3]])
    M[np.arange(steps)[None, None] >= L[:, :, None]] = 1.0    # beyond its length: must be ignored
    order = np.array([[2, 0, 1, 2], [1, -1, 0, 2]])
    ours, ref = copy(params), copy(params)
    losses, worst, _, _, _ = engine.run(topo, ours, X, D, M, L, order, lr=0.7)
    for trial in range(n):
        one = {k: v[trial:trial + 1].copy() for k, v in ref.items()}
        for k, q in enumerate(order[trial]):
            if q < 0:
                assert losses[trial, k] == 0.0
                continue
            length = L[trial, q]
            xs, ds, ms = (a[trial, q, :length, None] for a in (X, D, M))
            y = lo.learn_online(topo, one, xs, ds, ms, 0.7)
            err = np.where(ms[:, :, None] > 0, ds - y, 0.0)
            assert abs(losses[trial, k] - 0.5 * np.sum(err ** 2)) <= 1e-12
            assert abs(worst[trial, k] - np.abs(err).max()) <= 1e-12
        for key in one:
            assert_close(ours[key][trial], one[key][0], key)


def test_legal_predicted_is_the_reber_criterion():
    topo = EXPERIMENTS["exp1 3x2 text ranges"]
    rng = np.random.default_rng(7)
    params = lo.init_params(topo, 2, rng, scale=2.0)
    n, s, steps = 2, 6, 6
    X = np.eye(7)[rng.integers(7, size=(n, s, steps))]
    L = rng.integers(2, steps + 1, size=(n, s))
    legal = (rng.uniform(size=(n, s, steps, 7)) < 0.3).astype(float)
    for trial in range(n):   # even strings: the legal set is the top-two outputs, so it is predicted
        one = {k: v[trial:trial + 1] for k, v in params.items()}
        for q in range(0, s, 2):
            y = lo.forward(topo, one, X[trial, q, :, None])[0][:, 0]
            legal[trial, q] = 0.0
            np.put_along_axis(legal[trial, q], np.argsort(y, axis=1)[:, -2:], 1.0, axis=1)
    order = np.tile(np.arange(s), (n, 1))
    got = engine.legal_predicted(topo, params, X, legal, L, order)
    for trial in range(n):
        one = {k: v[trial:trial + 1] for k, v in params.items()}
        for q in range(s):
            y = lo.forward(topo, one, X[trial, q, :L[trial, q], None])[0]
            want = runner.legal_most_active(y, legal[trial, q, :L[trial, q], None]).all()
            assert got[trial, q] == int(want)
    assert np.all(got[:, ::2] == 1) and (got == 0).sum() > 0
    # stop_at_first: after a trial's first wrong string nothing more is run
    first = engine.legal_predicted(topo, params, X, legal, L, order, stop_at_first=True)
    for trial in range(n):
        wrong = np.flatnonzero(got[trial] == 0)[0]
        np.testing.assert_array_equal(first[trial, :wrong + 1], got[trial, :wrong + 1])
        assert np.all(first[trial, wrong + 1:] == -1)


def test_hidden_cells_neither_send_nor_learn():
    """joined=0 (Experiment 2a before its cell is added): the outputs equal those of the network
    whose output weights from the cells are zero, and the cell and gate weights do not change."""
    topo = EXPERIMENTS["exp2a paper"]
    params, x, d, mask = problem(topo, seed=8)
    ours = copy(params)
    X, D, M = (engine._per_trial(a) for a in (x, d, mask))
    _, _, y, _, _ = engine.run(topo, ours, X, D, M, np.full((3, 1), x.shape[0]), np.zeros((3, 1)),
                            lr=0.5, keep_outputs=True, joined=np.zeros(3))
    # the reference: lstm_original's steps with the cells' output weights at zero and the cell,
    # its gate and those output weights left out of every update
    cut = copy(params)
    cells = slice(1, 1 + topo.n_cells)
    cut["W_o"][:, :, cells] = 0.0
    state = lo.init_hybrid_state(topo, 3)
    for t in range(x.shape[0]):
        y_t, grads, state = lo.hybrid_step(topo, cut, state, x[t], d[t], mask[t])
        assert_close(y[:, 0, t], y_t, "outputs")
        grads["W_o"][:, :, cells] = 0.0
        cut["W_o"] -= 0.5 * grads["W_o"]
    assert_close(ours["W_o"][:, :, 2:], cut["W_o"][:, :, 2:], "output weights")
    for key in ("W_c", "W_in"):
        np.testing.assert_array_equal(ours[key], params[key])
    np.testing.assert_array_equal(ours["W_o"][:, :, 1], params["W_o"][:, :, 1])
    assert not np.array_equal(ours["W_o"], params["W_o"])


def test_bad_input_names_shapes():
    topo = EXPERIMENTS["exp4 adding"]
    params, x, d, mask = problem(topo, seed=9)
    with pytest.raises(ValueError, match=r"\(T, N, 2\), got \(8, 3, 3\)"):
        engine.forward(topo, params, np.zeros((8, 3, 3)))
    X = np.zeros((3, 2, 5, 2))
    with pytest.raises(ValueError, match="must share the trial and sequence axes"):
        engine.run(topo, params, X, np.zeros((3, 2, 5, 1)), np.zeros((3, 2, 4)), np.ones((3, 2)),
                   np.zeros((3, 1)))
    with pytest.raises(ValueError, match="exceeds the 5 stored steps"):
        engine.run(topo, params, X, np.zeros((3, 2, 5, 1)), np.zeros((3, 2, 5)), np.full((3, 2), 6),
                   np.zeros((3, 1)))


def reference_streams(topo, params, x, legal, starts, limit, budget, lr, reset_at_starts):
    """lstm_original's steps on one network's stream, reset after a wrong prediction (then on to the
    next string's B) and, with ``reset_at_starts``, at every B."""
    state = lo.init_hybrid_state(topo, 1)
    pos, errors, ones = 0, 0, np.ones(1)
    for _ in range(budget):
        if pos >= limit:
            break
        if reset_at_starts and starts[pos]:
            state = lo.init_hybrid_state(topo, 1)
        y, grads, state = lo.hybrid_step(topo, params, state, x[pos][None], np.roll(x, -1, 0)[pos][None], ones)
        for name, g in grads.items():
            params[name] -= lr * g
        ok = runner.legal_most_active(y[None], legal[pos][None, None])[0, 0]
        pos += 1
        if not ok:
            errors += 1
            state = lo.init_hybrid_state(topo, 1)
            while pos < limit and not starts[pos]:
                pos += 1
    return pos, errors


@pytest.mark.parametrize("reset_at_starts", [False, True])
def test_stream_learning_equals_the_reference(reset_at_starts):
    from lstmlab.datasets import tasks
    topo = EXPERIMENTS["gers2000 forget gates"]
    rng = np.random.default_rng(10)
    n, length, budget = 2, 400, 300
    params = lo.init_params(topo, n, rng, scale=0.5)
    batches = [tasks.continual_embedded_reber(length, rng) for _ in range(n)]
    X = np.stack([b.x[:, 0] for b in batches])
    D = np.stack([b.d[:, 0] for b in batches])
    legal = np.stack([b.legal[:, 0] for b in batches])
    starts = np.stack([b.info["starts"][:, 0] > 0 for b in batches])
    limit = np.array([np.flatnonzero(s)[-1] for s in starts])
    ours, ref = copy(params), copy(params)
    pos, done, errors = np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, np.int64)
    engine.learn_streams(topo, ours, X, D, legal, starts, limit, pos, budget, 0.5,
                         engine.stream_state(topo, n), done, errors, reset_at_starts)
    for trial in range(n):
        one = {k: v[trial:trial + 1].copy() for k, v in ref.items()}
        # the target of each step is the next input symbol of the stream
        assert np.array_equal(D[trial, :-1], X[trial, 1:])
        want_pos, want_errors = reference_streams(topo, one, X[trial], legal[trial], starts[trial],
                                                  limit[trial], budget, 0.5, reset_at_starts)
        assert (pos[trial], errors[trial]) == (want_pos, want_errors)
        for key in one:
            assert_close(ours[key][trial], one[key][0], key)
    assert errors.sum() > 0     # the wrong-prediction path was taken


def test_error_free_lengths_equal_the_reference():
    from lstmlab.datasets import tasks
    topo = EXPERIMENTS["gers2000 forget gates"]
    rng = np.random.default_rng(11)
    params = lo.init_params(topo, 2, rng, scale=0.5)
    test = tasks.continual_embedded_reber(60, rng, 3)
    X, legal = np.moveaxis(test.x, 1, 0), np.moveaxis(test.legal, 1, 0)
    starts = test.info["starts"].T > 0
    got = engine.error_free_lengths(topo, params, X, legal, starts)
    for n in range(2):
        y, _ = lo.forward(topo, {k: v[[n] * 3] for k, v in params.items()}, test.x)
        ok = runner.legal_most_active(y, test.legal)
        want = [int(np.argmin(ok[:, k])) if not ok[:, k].all() else 60 for k in range(3)]
        assert got[n].tolist() == want
