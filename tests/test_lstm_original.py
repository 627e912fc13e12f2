"""Tests of the 1997 LSTM: forward pass, exact BPTT gradient and the truncated hybrid gradient.

The reference is an independent torch implementation written unit by unit from Eqs. 24-39; the
truncated gradient must equal torch autograd on that network with exactly the truncated paths cut
by ``.detach()`` (the previous step's cell outputs, hidden activations and, with gate feedback,
gate activations where they enter the net inputs of gates, cells and hidden units), nothing else.
"""

import numpy as np
import pytest
import torch

from lstmlab.numpy import lstm_original as lo
from lstmlab.numpy.gradcheck import check_gradients, relative_error

TOPOLOGIES = {
    "plain": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2),
    "forget": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2, forget_gate=True),
    "hidden+forget+in2out": lo.Topology(n_in=2, n_blocks=2, cells_per_block=3, n_out=3, n_hidden=2,
                                        forget_gate=True, input_to_output=True),
    "no-outgate+linear": lo.Topology(n_in=3, n_blocks=1, cells_per_block=2, n_out=2,
                                     output_gate=False, cell_output="identity"),
    "feedback+forget": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2, forget_gate=True,
                                   gate_feedback=True),
    "feedback+hidden+no-outgate": lo.Topology(n_in=2, n_blocks=3, cells_per_block=1, n_out=2,
                                              n_hidden=1, output_gate=False, gate_feedback=True,
                                              input_to_output=True),
    "gates-only-bias+feedback+hidden": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2,
                                                   n_hidden=1, gate_feedback=True, unit_biases=False),
    # Table 10's reading of the squashing ranges (h in [-2, 2], g in [-1, 1])
    "table10-ranges+feedback": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2,
                                           gate_feedback=True, unit_biases=False,
                                           g_range=(-1.0, 1.0), h_range=(-2.0, 2.0)),
    # Experiment 2a as the paper counts it: no biases, cell and gate see the inputs only, g logistic
    "no-bias+inputs-only+logistic-g": lo.Topology(n_in=3, n_blocks=1, cells_per_block=1, n_out=3,
                                                  output_gate=False, cell_output="identity",
                                                  input_to_output=True, unit_biases=False,
                                                  gate_biases=False, recurrent=False,
                                                  g_range=(0.0, 1.0)),
    # output gates read this step's input gates, cells and hidden units this step's gates
    "current-gates+hidden": lo.Topology(n_in=3, n_blocks=2, cells_per_block=2, n_out=2, n_hidden=1,
                                        gate_feedback=True, current_gates=True),
    "current-gates+table10+gates-only-bias": lo.Topology(n_in=3, n_blocks=3, cells_per_block=1,
                                                         n_out=2, gate_feedback=True,
                                                         current_gates=True, unit_biases=False,
                                                         g_range=(-1.0, 1.0), h_range=(-2.0, 2.0)),
    "current-gates+no-outgate": lo.Topology(n_in=2, n_blocks=2, cells_per_block=2, n_out=2,
                                            output_gate=False, gate_feedback=True,
                                            current_gates=True, input_to_output=True),
}


def make_problem(topo, seed, steps=7, trials=3, scale=0.8):
    """Random non-zero weights (biases included), inputs, targets in (0, 1) and a sparse mask."""
    rng = np.random.default_rng(seed)
    params = lo.init_params(topo, trials, rng, scale=scale)
    x = rng.normal(size=(steps, trials, topo.n_in))
    d = rng.uniform(0.05, 0.95, size=(steps, trials, topo.n_out))
    mask = (rng.uniform(size=(steps, trials)) < 0.6).astype(np.float64)
    mask[-1] = 1.0
    mask[0, 0] = 0.0
    return params, x, d, mask


def torch_reference(topo, params, x, d, mask, truncate):
    """Eqs. 24-39 for each trial and unit separately; with ``truncate`` the recurrent inputs are detached.

    Returns the total error, the leaf weight tensors, and per trial the per-step errors E(tau) and
    cell-state tensors (lists) for the erratum test.
    """
    weights = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    xt, dt, mt = (torch.tensor(a, dtype=torch.float64) for a in (x, d, mask))
    steps, trials = x.shape[:2]
    B, C, H = topo.n_blocks, topo.cells_per_block, topo.n_hidden
    one = torch.ones(1, dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    unit_bias = one if topo.unit_biases else zero  # cells, hidden, outputs
    gate_bias = one if topo.gate_biases else zero

    def squash(z, lo_, hi):
        return lo_ + (hi - lo_) / (1.0 + torch.exp(-z))

    total = torch.zeros((), dtype=torch.float64)
    per_trial = []
    for n in range(trials):
        states = [torch.zeros((), dtype=torch.float64) for _ in range(B * C)]
        cells_prev = torch.zeros(B * C, dtype=torch.float64)
        hidden_prev = torch.zeros(H, dtype=torch.float64)
        gates_prev = torch.zeros(topo.n_gates if topo.gate_feedback else 0, dtype=torch.float64)
        errors, s_history = [], []
        for t in range(steps):
            recurrent = torch.cat([cells_prev, hidden_prev, gates_prev])
            if truncate:
                recurrent = recurrent.detach()
            if not topo.recurrent:
                recurrent = torch.zeros_like(recurrent)
            signal = torch.cat([gate_bias, xt[t, n], recurrent])
            cell_signal = torch.cat([unit_bias, xt[t, n], recurrent])

            def now(sig, kind, values):
                """current_gates: the columns of the gates of ``kind`` hold this step's values."""
                if not topo.current_gates:
                    return sig
                start = 1 + topo.n_in + topo.n_visible + (0 if kind == "in" else B)
                fresh = torch.stack(values)
                fresh = fresh.detach() if truncate else fresh
                return torch.cat([sig[:start], fresh, sig[start + B:]])

            # the paper's order within a step: input gates, output gates, memory cells
            gate_values = {"in": [squash(weights["W_in"][n, m] @ signal, 0.0, 1.0) for m in range(B)]}
            signal_out = now(signal, "in", gate_values["in"])
            gate_values["out"] = [squash(weights["W_out"][n, m] @ signal_out, 0.0, 1.0)
                                  if topo.output_gate else 1.0 for m in range(B)]
            gate_values["phi"] = [squash(weights["W_phi"][n, m] @ signal, 0.0, 1.0)
                                  if topo.forget_gate else 1.0 for m in range(B)]
            cell_signal = now(cell_signal, "in", gate_values["in"])
            if topo.output_gate:
                cell_signal = now(cell_signal, "out", gate_values["out"])
            cell_outputs = []
            new_states = []
            for m in range(B):
                y_in, y_out, y_phi = (gate_values[kind][m] for kind in ("in", "out", "phi"))
                for k in range(C):
                    j = m * C + k
                    g = squash(weights["W_c"][n, j] @ cell_signal, *topo.g_range)
                    s = y_phi * states[j] + y_in * g
                    new_states.append(s)
                    h = squash(s, *topo.h_range) if topo.cell_output == "h" else s
                    cell_outputs.append(y_out * h)
            states = new_states
            s_history.append(states)
            cells_prev = torch.stack(cell_outputs)
            # Sender order of the fully connected layer: input gates, output gates, forget gates.
            kinds = (["in"] + (["out"] if topo.output_gate else [])
                     + (["phi"] if topo.forget_gate else []))
            gates_prev = (torch.stack([v for kind in kinds for v in gate_values[kind]])
                          if topo.gate_feedback else gates_prev)
            hidden_prev = (torch.stack([squash(weights["W_h"][n, j] @ cell_signal, 0.0, 1.0)
                                        for j in range(H)]) if H else torch.zeros(0, dtype=torch.float64))
            parts = [unit_bias, cells_prev, hidden_prev] + ([xt[t, n]] if topo.input_to_output else [])
            y_o = squash(weights["W_o"][n] @ torch.cat(parts), 0.0, 1.0)
            e_t = 0.5 * mt[t, n] * torch.sum((dt[t, n] - y_o) ** 2)
            errors.append(e_t)
            total = total + e_t
        per_trial.append((errors, s_history))
    return total, weights, per_trial


def torch_grads(topo, params, x, d, mask, truncate):
    total, weights, _ = torch_reference(topo, params, x, d, mask, truncate)
    total.backward()
    return float(total.detach()), {k: w.grad.numpy() for k, w in weights.items()}


@pytest.mark.equation("24-39", check="independent reference")
@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_forward_matches_torch_reference(name):
    topo = TOPOLOGIES[name]
    params, x, d, mask = make_problem(topo, seed=1)
    ref = float(torch_reference(topo, params, x, d, mask, truncate=False)[0].detach())
    assert abs(lo.loss(topo, params, x, d, mask) - ref) <= 1e-12 * ref


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_full_gradient_central_differences(name):
    topo = TOPOLOGIES[name]
    params, x, d, mask = make_problem(topo, seed=2, steps=5, trials=2)
    _, grads = lo.full_gradient(topo, params, x, d, mask)
    errors = check_gradients(lambda: lo.loss(topo, params, x, d, mask), params, grads)
    assert max(errors.values()) <= 1e-7, errors


@pytest.mark.parametrize("name", list(TOPOLOGIES))
@pytest.mark.parametrize("seed", [3, 4])
def test_full_gradient_matches_torch_autograd(name, seed):
    topo = TOPOLOGIES[name]
    params, x, d, mask = make_problem(topo, seed=seed)
    err, grads = lo.full_gradient(topo, params, x, d, mask)
    ref_err, ref = torch_grads(topo, params, x, d, mask, truncate=False)
    assert abs(err - ref_err) <= 1e-12 * ref_err
    for key in params:
        assert relative_error(grads[key], ref[key]) <= 1e-12, key


@pytest.mark.equation("40-46", check="torch autograd")
@pytest.mark.parametrize("name", list(TOPOLOGIES))
@pytest.mark.parametrize("seed", [5, 6, 7])
def test_truncated_gradient_equals_detached_autograd(name, seed):
    topo = TOPOLOGIES[name]
    params, x, d, mask = make_problem(topo, seed=seed, steps=9)
    err, grads = lo.truncated_gradient(topo, params, x, d, mask)
    ref_err, ref = torch_grads(topo, params, x, d, mask, truncate=True)
    assert abs(err - ref_err) <= 1e-12 * ref_err
    for key in params:
        assert relative_error(grads[key], ref[key]) <= 1e-12, key
    # The truncation is real: the exact gradient differs in the gate and cell weights (without
    # recurrent connections nothing is cut and the two agree).
    _, full = lo.full_gradient(topo, params, x, d, mask)
    if topo.recurrent:
        assert relative_error(grads["W_in"], full["W_in"]) > 1e-4
    else:
        assert relative_error(grads["W_in"], full["W_in"]) <= 1e-12
    # Output units see no truncated path: both gradients agree there.
    assert relative_error(grads["W_o"], full["W_o"]) <= 1e-12


def test_online_steps_sum_to_sequence_gradient():
    """Each hybrid step yields dE(tau)/dW of that step alone: the per-step gradients of a
    one-step-longer sequence differ from the shorter one's total by exactly the last step's."""
    topo = TOPOLOGIES["forget"]
    params, x, d, mask = make_problem(topo, seed=8, steps=6)
    state = lo.init_hybrid_state(topo, x.shape[1])
    for t in range(5):
        _, last, state = lo.hybrid_step(topo, params, state, x[t], d[t], mask[t])
    _, g5 = lo.truncated_gradient(topo, params, x[:5], d[:5], mask[:5])
    _, g6 = lo.truncated_gradient(topo, params, x, d, mask)
    _, step6, _ = lo.hybrid_step(topo, params, state, x[5], d[5], mask[5])
    for key in params:
        np.testing.assert_allclose(g5[key] + step6[key], g6[key], rtol=1e-12, atol=1e-15)
    # Without a target at the last step, its gradient vanishes although the partials move on.
    _, none6, new = lo.hybrid_step(topo, params, state, x[5], d[5], np.zeros(x.shape[1]))
    assert all(np.all(g == 0) for g in none6.values())
    assert not np.allclose(new["p_in"], state["p_in"])


@pytest.mark.equation(41, 42, 43, check="printed form fails")
def test_printed_eq41_error_times_rtrl_partials_double_counts():
    """Erratum check: Eq. 41's theta (with the carry theta(tau+1) y_phi(tau+1)) times the carried
    partials ds(tau)/dW of Eqs. 42/44 counts later errors twice; the local -dE(tau)/ds(tau) is right."""
    topo = lo.Topology(n_in=2, n_blocks=1, cells_per_block=2, n_out=2, forget_gate=True)
    params, x, d, mask = make_problem(topo, seed=9, steps=6, trials=1)
    total, weights, per_trial = torch_reference(topo, params, x, d, mask, truncate=True)
    errors, s_hist = per_trial[0]
    w = weights["W_c"]
    printed = torch.zeros_like(w)
    local = torch.zeros_like(w)
    for t in range(len(errors)):
        for j in range(topo.n_cells):
            s = s_hist[t][j]
            # ds_j(tau)/dW_c with the inputs detached: exactly the RTRL partial of Eq. 44.
            (ds_dw,) = torch.autograd.grad(s, w, retain_graph=True)
            (theta41,) = torch.autograd.grad(total, s, retain_graph=True)
            (eps,) = torch.autograd.grad(errors[t], s, retain_graph=True, allow_unused=True)
            printed -= theta41 * ds_dw
            if eps is not None:
                local -= eps * ds_dw
    (ref,) = torch.autograd.grad(total, w)
    # Signs: theta = -dE/ds, so the gradient dE/dW is minus the sum of theta ds/dW.
    assert relative_error(-local.numpy(), ref.numpy()) <= 1e-12
    assert relative_error(-printed.numpy(), ref.numpy()) > 1e-2


@pytest.mark.equation(44, 45, 46, check="printed form fails")
def test_eq44_new_term_uses_this_steps_inputs():
    """Erratum check: the increment of ds_c/dW[c, v] from tau - 1 to tau (no forget gate, so the
    old partial is carried with weight 1) is y_in g' X[v, c](tau): for an input unit v that is
    y_v(tau), the input of the same step (Eq. 29), not y_v(tau - 1) as Eq. 44 prints."""
    topo = lo.Topology(n_in=3, n_blocks=1, cells_per_block=2, n_out=1)
    params, x, d, mask = make_problem(topo, seed=12, steps=5, trials=1)
    _, weights, per_trial = torch_reference(topo, params, x, d, mask, truncate=True)
    s_hist = per_trial[0][1]
    w = weights["W_c"]
    partials = [torch.autograd.grad(s_hist[t][1], w, retain_graph=True)[0][0, 1].numpy()
                for t in range(len(s_hist))]
    for t in range(1, len(s_hist)):
        step = partials[t] - partials[t - 1]
        ratio = step[1:1 + topo.n_in] / step[0]   # column 0 is the bias, whose signal is 1
        np.testing.assert_allclose(ratio, x[t, 0], rtol=1e-9)
        assert not np.allclose(ratio, x[t - 1, 0], rtol=1e-3)


def test_truncation_difference_report():
    topo = TOPOLOGIES["hidden+forget+in2out"]
    params, x, d, mask = make_problem(topo, seed=10, trials=2)
    report = lo.truncation_difference(topo, params, x, d, mask)
    assert set(report) == set(params)
    np.testing.assert_allclose(report["W_o"]["all"]["relative"], 0.0, atol=1e-12)
    np.testing.assert_allclose(report["W_o"]["all"]["cosine"], 1.0, atol=1e-12)
    rel = report["W_in"]["recurrent"]["relative"]
    assert rel.shape == (2,) and np.all(rel > 1e-4)
    # Independent computation of one entry from the torch references.
    _, tr = torch_grads(topo, params, x, d, mask, truncate=True)
    _, full = torch_grads(topo, params, x, d, mask, truncate=False)
    a, b = tr["W_c"][1], full["W_c"][1]
    expected = np.linalg.norm(a - b) / np.linalg.norm(b)
    assert report["W_c"]["all"]["relative"][1] == pytest.approx(expected, rel=1e-9)


def test_learn_online_updates_after_every_step():
    """Online learning equals stepping by hand with the update applied between steps, per-trial
    learning rates act per trial, and repeated presentations lower the error."""
    topo = TOPOLOGIES["forget"]
    params, x, d, mask = make_problem(topo, seed=13, steps=6, trials=2, scale=0.3)
    by_hand = {k: v.copy() for k, v in params.items()}
    state = lo.init_hybrid_state(topo, 2)
    rates = np.array([0.5, 0.0])
    for t in range(6):
        _, grads, state = lo.hybrid_step(topo, by_hand, state, x[t], d[t], mask[t])
        for k in by_hand:
            by_hand[k] = by_hand[k] - rates[:, None, None] * grads[k]
    learned = {k: v.copy() for k, v in params.items()}
    lo.learn_online(topo, learned, x, d, mask, rates)
    for k in params:
        np.testing.assert_allclose(learned[k], by_hand[k], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(learned[k][1], params[k][1])

    def first_trial_error():
        return lo.loss(topo, {k: v[:1] for k, v in learned.items()}, x[:, :1], d[:, :1], mask[:, :1])

    before = first_trial_error()
    for _ in range(30):
        lo.learn_online(topo, learned, x, d, mask, rates)
    assert first_trial_error() < 0.9 * before


def test_gate_biases_and_init():
    topo = lo.Topology(n_in=7, n_blocks=3, cells_per_block=2, n_out=7)
    params = lo.init_params(topo, 4, np.random.default_rng(0), scale=0.1, out_bias=[-1, -2, -3])
    np.testing.assert_array_equal(params["W_out"][:, :, 0], np.tile([-1.0, -2.0, -3.0], (4, 1)))
    assert np.all(np.abs(params["W_c"]) <= 0.1)
    # Column counts: bias + 7 inputs + 6 cell outputs.
    assert params["W_in"].shape == (4, 3, 14) and params["W_o"].shape == (4, 7, 7)


def test_bad_input_raises_naming_shapes():
    topo = TOPOLOGIES["plain"]
    params, x, d, mask = make_problem(topo, seed=11)
    with pytest.raises(ValueError, match=r"\(T, N, 3\), got \(7, 3, 4\)"):
        lo.forward(topo, params, np.zeros((7, 3, 4)))
    with pytest.raises(ValueError, match=r"\(7, 3, 2\), got \(7, 3, 1\)"):
        lo.full_gradient(topo, params, x, d[:, :, :1], mask)
    with pytest.raises(ValueError, match=r"mask must have shape \(7, 3\), got \(7,\)"):
        lo.truncated_gradient(topo, params, x, d, mask[:, 0])
    bad = dict(params, W_in=params["W_in"][:2])
    with pytest.raises(ValueError, match=r"W_in must have shape \(3, 2, 8\), got \(2, 2, 8\)"):
        lo.forward(topo, bad, x)
    state = lo.init_hybrid_state(topo, 3)
    with pytest.raises(ValueError, match=r"m_t must have shape \(3,\), got \(3, 1\)"):
        lo.hybrid_step(topo, params, state, x[0], d[0], mask[0][:, None])
    with pytest.raises(ValueError, match=r"x_t must be an array \(N, 3\), got \(3,\)"):
        lo.hybrid_step(topo, params, state, x[0, 0], d[0], mask[0])
    with pytest.raises(ValueError, match="cell_output"):
        lo.Topology(1, 1, 1, 1, cell_output="tanh")


def test_gate_feedback_columns_and_weight_counts():
    plain = lo.Topology(n_in=2, n_blocks=2, cells_per_block=2, n_out=1)
    fed = lo.Topology(n_in=2, n_blocks=2, cells_per_block=2, n_out=1, gate_feedback=True)
    # Experiment 4 of 1997: 4 cells and 4 gates, each with a bias, 2 inputs and 8 recurrent
    # senders; one output unit with a bias and the 4 cells: 8 * 11 + 5 = 93 weights.
    assert fed.n_weights == 93
    assert plain.n_weights == 8 * 7 + 5
    assert fed.fan_in == 1 + 2 + 4 + 4 and fed.out_fan_in == plain.out_fan_in == 5
    forget = lo.Topology(n_in=7, n_blocks=3, cells_per_block=2, n_out=7, forget_gate=True,
                         gate_feedback=True)
    assert forget.n_recurrent == 6 + 3 * 3
    # The fed-back gate activations are the previous step's y_in, y_out, y_phi, in that order.
    params, x, d, mask = make_problem(forget, seed=12, steps=3)
    _, cache = lo.forward(forget, params, x)
    np.testing.assert_array_equal(cache[2]["x_units"][:, 1 + 7 + 6:],
                                  np.concatenate([cache[1]["y_in"], cache[1]["y_out"],
                                                  cache[1]["y_phi"]], axis=1))
    np.testing.assert_array_equal(cache[0]["x_units"][:, 1 + 7:], 0.0)


def test_gate_feedback_off_is_the_old_network():
    """Without gate feedback the recurrent senders are only cells and hidden units, as before."""
    topo = TOPOLOGIES["hidden+forget+in2out"]
    assert topo.n_recurrent == topo.n_cells + topo.n_hidden == topo.n_visible
    params, x, d, mask = make_problem(topo, seed=13)
    _, cache = lo.forward(topo, params, x)
    np.testing.assert_array_equal(cache[1]["x_units"][:, 1 + topo.n_in:],
                                  np.concatenate([cache[0]["y_c"], cache[0]["y_h"]], axis=1))


def test_gates_only_bias_disconnects_the_other_biases():
    """unit_biases=False: the bias columns of cells, hidden and output units are zero at init, have
    no effect whatever their value, get a zero gradient (so learning leaves them alone) and are not
    counted; the gates keep theirs."""
    topo = TOPOLOGIES["gates-only-bias+feedback+hidden"]
    params, x, d, mask = make_problem(topo, seed=14)
    unbiased = ("W_c", "W_h", "W_o")
    for name in unbiased:
        np.testing.assert_array_equal(params[name][:, :, 0], 0.0)
    assert np.all(params["W_in"][:, :, 0] != 0) and np.all(params["W_out"][:, :, 0] != 0)
    assert topo.n_weights == sum(w[0].size for w in params.values()) - (4 + 1 + 2)
    before = lo.loss(topo, params, x, d, mask)
    for name in unbiased:
        params[name][:, :, 0] = 5.0
    assert lo.loss(topo, params, x, d, mask) == before
    _, full = lo.full_gradient(topo, params, x, d, mask)
    _, truncated = lo.truncated_gradient(topo, params, x, d, mask)
    for name in unbiased:
        np.testing.assert_array_equal(full[name][:, :, 0], 0.0)
        np.testing.assert_array_equal(truncated[name][:, :, 0], 0.0)
    assert np.all(np.abs(full["W_in"][:, :, 0]) > 0)
    # The same network with every unit biased is a different function of the same weights.
    biased = lo.Topology(**{**topo.__dict__, "unit_biases": True})
    assert lo.loss(biased, params, x, d, mask) != before


def test_weight_counts_of_the_1997_papers_setups():
    """The weight counts the 1997 paper prints: 276 / 264 (Exp. 1, gates only biased), 10,504
    (Exp. 2a: no biases, cell and gate see the inputs only), 93 (Exp. 4), 156 (Exp. 6a)."""
    reber = dict(n_in=7, n_out=7, gate_feedback=True, unit_biases=False)
    assert lo.Topology(n_blocks=3, cells_per_block=2, **reber).n_weights == 276
    assert lo.Topology(n_blocks=4, cells_per_block=1, **reber).n_weights == 264
    long_lag = lo.Topology(n_in=101, n_blocks=1, cells_per_block=1, n_out=101, output_gate=False,
                           cell_output="identity", input_to_output=True, unit_biases=False,
                           gate_biases=False, recurrent=False)
    assert long_lag.n_weights == 101 * (101 + 1) + 2 * 101 == 10_504
    order = lo.Topology(n_in=8, n_blocks=2, cells_per_block=2, n_out=4, gate_feedback=True)
    assert order.n_weights == 8 * 16 + 12 + 4 * 4 == 156


def test_inputs_only_units_ignore_the_recurrent_columns():
    """recurrent=False, gate_biases=False: those columns are zero at init, have no effect and get a
    zero gradient, like the bias columns of unit_biases=False."""
    topo = TOPOLOGIES["no-bias+inputs-only+logistic-g"]
    params, x, d, mask = make_problem(topo, seed=15)
    np.testing.assert_array_equal(params["W_in"][:, :, 0], 0.0)
    np.testing.assert_array_equal(params["W_c"][:, :, 1 + topo.n_in:], 0.0)
    before = lo.loss(topo, params, x, d, mask)
    params["W_in"][:, :, 0] = 3.0
    params["W_c"][:, :, 1 + topo.n_in:] = -2.0
    assert lo.loss(topo, params, x, d, mask) == before
    _, truncated = lo.truncated_gradient(topo, params, x, d, mask)
    np.testing.assert_array_equal(truncated["W_in"][:, :, 0], 0.0)
    np.testing.assert_array_equal(truncated["W_c"][:, :, 1 + topo.n_in:], 0.0)


def test_current_gates_read_this_steps_gates():
    """current_gates: input gates read the previous step's gates, output gates this step's input
    gates (and the previous output gates), cells and hidden units both gates of this step; cell
    outputs and hidden units are always the previous step's. The weights are the same ones."""
    topo = TOPOLOGIES["current-gates+hidden"]
    params, x, d, mask = make_problem(topo, seed=16, steps=3)
    _, cache = lo.forward(topo, params, x)
    now, before = cache[2], cache[1]
    first_gate = 1 + topo.n_in + topo.n_visible
    np.testing.assert_array_equal(now["x_units"][:, first_gate:],
                                  np.concatenate([before["y_in"], before["y_out"]], axis=1))
    np.testing.assert_array_equal(now["x_out_gate"][:, first_gate:],
                                  np.concatenate([now["y_in"], before["y_out"]], axis=1))
    np.testing.assert_array_equal(now["x_cells"][:, first_gate:],
                                  np.concatenate([now["y_in"], now["y_out"]], axis=1))
    for key in ("x_units", "x_out_gate", "x_cells"):
        np.testing.assert_array_equal(now[key][:, 1 + topo.n_in:first_gate],
                                      np.concatenate([before["y_c"], before["y_h"]], axis=1))
    previous = lo.Topology(**{**topo.__dict__, "current_gates": False})
    assert previous.n_weights == topo.n_weights
    assert lo.loss(previous, params, x, d, mask) != lo.loss(topo, params, x, d, mask)
    with pytest.raises(ValueError, match="gate_feedback"):
        lo.Topology(n_in=2, n_blocks=1, cells_per_block=1, n_out=1, current_gates=True)
    with pytest.raises(ValueError, match="no forget gate"):
        lo.Topology(n_in=2, n_blocks=1, cells_per_block=1, n_out=1, forget_gate=True,
                    gate_feedback=True, current_gates=True)
