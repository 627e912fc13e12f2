"""The tutorial's misprinted equations, computed as printed: each test shows the printed form fail where
the corrected one, which lstmlab implements, passes. The appendix names these as the evidence."""

import numpy as np
import pytest
import torch

from lstmlab.numpy import feedforward as ff
from lstmlab.numpy import fully_recurrent as fr
from lstmlab.numpy import lstm, md_lstm, vanishing
from lstmlab.numpy import lstm_original as lo
from lstmlab.numpy.activations import sigmoid, sigmoid_prime
from lstmlab.numpy.gradcheck import numerical_gradient, relative_error
from lstmlab.numpy.rtrl import rtrl


def recurrent_problem(seed, n_in=2, n_units=3, steps=6):
    """One sequence with targets at intermediate steps; asymmetric recurrent weights."""
    rng = np.random.default_rng(seed)
    # W (n_units, n_in + n_units), drawn by columns: the weights these tests have always used
    W = (rng.normal(scale=1.2, size=(n_in + n_units, n_units)) + 0.1).T.copy()
    x = rng.normal(size=(steps, 1, n_in))
    y0 = rng.uniform(0.1, 0.9, size=(1, n_units))
    d = rng.uniform(size=(steps, 1, n_units))
    mask = np.ones((steps, 1, n_units))
    return W, x, y0, d, mask


@pytest.mark.equation(11, check="printed form fails")
def test_eq11_printed_theta_is_not_the_error_signal():
    W, x, y0, d, mask = recurrent_problem(0)
    _, theta, _ = fr.bptt(W, x, d, mask, y0)
    steps, n_units, eps = x.shape[0], W.shape[0], 1e-6

    def errors(j, u, shift):  # E(τ) of every step with z_u(j) shifted
        y, out = y0, []
        for t in range(steps):
            z = np.concatenate([x[t], y], axis=1) @ W.T
            z[0, u] += shift * (t == j)
            y = sigmoid(z)
            out.append(0.5 * np.sum(mask[t] * (d[t] - y) ** 2))
        return np.array(out)

    printed, corrected = np.empty((steps, n_units)), np.empty((steps, n_units))
    for j in range(steps):
        for u in range(n_units):
            slope = (errors(j, u, eps) - errors(j, u, -eps)) / (2 * eps)
            printed[j, u] = slope[j]  # ∂E(j)/∂z_u(j): one step's error, no minus sign
            corrected[j, u] = -slope.sum()  # -∂E_total/∂z_u(j)
    assert relative_error(corrected, theta[:, 0]) <= 1e-7
    assert relative_error(printed, theta[:, 0]) > 0.5
    assert relative_error(-printed, theta[:, 0]) > 0.1  # the sign alone does not repair it


@pytest.mark.equation(12, check="printed form fails")
def test_eq12_printed_recursion_drops_intermediate_targets():
    W, x, y0, d, mask = recurrent_problem(1)
    Y, X = fr.forward(W, x, y0)
    n_in = x.shape[2]
    e = fr.error(Y, d, mask)
    theta = [Y[-1] * (1 - Y[-1]) * e[-1]]  # printed: e enters at the final step only
    for j in reversed(range(x.shape[0] - 1)):
        theta.insert(0, Y[j] * (1 - Y[j]) * (theta[0] @ W[:, n_in:]))
    printed = -sum(theta[j].T @ X[j] for j in range(x.shape[0]))
    numeric = numerical_gradient(lambda: fr.total_error(W, x, d, mask, y0), W)
    corrected, _, _ = fr.bptt(W, x, d, mask, y0)
    assert relative_error(corrected, numeric) <= 1e-7
    assert relative_error(printed, numeric) > 0.1


@pytest.mark.equation(14, check="printed form fails")
def test_eq14_printed_sign_climbs_the_error():
    W, x, y0, d, mask = recurrent_problem(2)
    grad, _, _ = rtrl(W, x, d, mask, y0)  # Σ_τ ∂E(τ)/∂W = -Σ_τ Σ_k e_k p^k
    eta = 1e-3
    printed = -eta * -grad  # -η Σ_k (d_k - y_k) p^k: the sign as printed
    corrected = eta * -grad  # +η Σ_k e_k p^k
    before = fr.total_error(W, x, d, mask, y0)
    assert fr.total_error(W + corrected, x, d, mask, y0) < before
    assert fr.total_error(W + printed, x, d, mask, y0) > before


@pytest.mark.equation(21, 22, 23, check="printed form fails")
def test_eq21_printed_weight_order_is_not_the_error_flow():
    W, x, y0, _, _ = recurrent_problem(3)
    x, y0 = x[:, 0], y0[0]
    n_in = x.shape[1]
    Y = fr.forward(W, x[:, None], y0[None])[0][:, 0]
    slope = Y[-2] * (1 - Y[-2])  # f'_v(z_v(t - 1)) for every unit v
    for o in range(Y.shape[1]):
        measured = vanishing.measured_factor(W, x, o, y0)[-2]  # one step back: q = 1
        # W[u, v] is stored receiver first, as Eq. 20 prints it: y_v reached o through W[o, v].
        corrected = slope * W[o, n_in:]  # f'_v W_[o, v]
        printed = slope * W[:, n_in + o]  # W_[u_t, u_{t-1}] = W_[v, o]: the connection from o to v
        np.testing.assert_allclose(measured, corrected, rtol=1e-12)
        assert relative_error(printed, measured) > 0.1


@pytest.mark.equation(35, check="printed form fails")
def test_eq35_outputs_read_cells_and_hidden_units_of_the_same_step():
    topo = lo.Topology(n_in=2, n_blocks=2, cells_per_block=2, n_out=3, n_hidden=2)
    params = lo.init_params(topo, 1, np.random.default_rng(4), scale=0.5)
    x = np.random.default_rng(5).normal(size=(3, 1, 2))
    _, cache = lo.forward(topo, params, x)
    # U - G = cells, hidden units and the output units themselves; the output units can read only
    # what exists before them in the step: the bias, the cells and the hidden units.
    printed_senders = topo.n_cells + topo.n_hidden + topo.n_out
    assert topo.out_fan_in == 1 + topo.n_cells + topo.n_hidden < 1 + printed_senders
    for act in cache:
        z_o = params["W_o"][0] @ np.concatenate([[1.0], act["y_c"][0], act["y_h"][0]])
        np.testing.assert_allclose(act["y_o"][0], sigmoid(z_o), rtol=1e-14)
    # As printed, the outputs also read each other within the step: no order of evaluation is right,
    # two orders give two different networks.
    w_oo = np.random.default_rng(13).normal(size=(3, 3))
    rest = params["W_o"][0] @ np.concatenate([[1.0], cache[-1]["y_c"][0], cache[-1]["y_h"][0]])
    orders = []
    for order in ([0, 1, 2], [2, 1, 0]):
        y_o = np.zeros(3)
        for o in order:
            y_o[o] = sigmoid(rest[o] + w_oo[o] @ y_o)
        orders.append(y_o)
    assert relative_error(orders[0], orders[1]) > 0.01


@pytest.mark.equation(46, check="printed form fails")
def test_eq46_printed_derivative_leaves_out_the_forget_bias():
    topo = lo.Topology(n_in=2, n_blocks=1, cells_per_block=1, n_out=1, forget_gate=True)
    params = lo.init_params(topo, 1, np.random.default_rng(6), scale=0.8, phi_bias=[1.5])
    for name in ("W_in", "W_out", "W_phi", "W_c"):
        params[name][:, :, 1 + topo.n_in:] = 0.0  # no recurrent paths: the truncated partial is exact
    x = np.random.default_rng(7).normal(size=(5, 1, 2))
    _, cache = lo.forward(topo, params, x)
    b_phi = params["W_phi"][0, 0, 0]
    corrected = printed = np.zeros(topo.fan_in)
    for act in cache:
        y_phi, s_prev, x_u = act["y_phi"][0, 0], act["s_prev"][0, 0], act["x_units"][0]
        z_without_bias = params["W_phi"][0, 0] @ x_u - b_phi  # Eq. 37's z, to which Eq. 36 adds b
        corrected = y_phi * corrected + s_prev * sigmoid_prime(y_phi) * x_u
        printed = y_phi * printed + s_prev * sigmoid_prime(sigmoid(z_without_bias)) * x_u
    numeric = numerical_gradient(lambda: lo.forward(topo, params, x)[1][-1]["s"][0, 0], params["W_phi"])
    assert relative_error(corrected, numeric[0, 0]) <= 1e-7
    assert relative_error(printed, numeric[0, 0]) > 0.05


@pytest.mark.equation(44, 45, 46, check="printed form fails")
def test_eq44_46_printed_inputs_of_the_previous_step_miss_the_partials():
    topo = lo.Topology(n_in=2, n_blocks=1, cells_per_block=1, n_out=1, forget_gate=True)
    params = lo.init_params(topo, 1, np.random.default_rng(14), scale=0.8)
    for name in ("W_in", "W_out", "W_phi", "W_c"):
        params[name][:, :, 1 + topo.n_in:] = 0.0  # no recurrent paths: the truncated partial is exact
    x = np.random.default_rng(15).normal(size=(5, 1, 2))
    _, cache = lo.forward(topo, params, x)
    p = {k: np.zeros((1, 1, topo.fan_in)) for k in ("c", "in", "phi")}
    printed = {k: np.zeros((1, 1, topo.fan_in)) for k in ("c", "in", "phi")}
    x_prev = np.zeros_like(cache[0]["x_units"])
    for act in cache:
        for partials, signal in ((p, act["x_units"]), (printed, x_prev)):
            signal = np.concatenate([act["x_units"][:, :1], signal[:, 1:]], axis=1)  # the bias stays 1
            partials["c"] = lo.cell_partials(partials["c"], act["y_phi"], act["y_in"], act["g"], signal)
            partials["in"] = lo.input_gate_partials(partials["in"], act["y_phi"], act["y_in"], act["g"], signal)
            partials["phi"] = lo.forget_gate_partials(partials["phi"], act["y_phi"], act["s_prev"], signal)
        x_prev = act["x_units"]
    final_state = lambda: lo.forward(topo, params, x)[1][-1]["s"][0, 0]  # noqa: E731
    for key, name in (("c", "W_c"), ("in", "W_in"), ("phi", "W_phi")):
        numeric = numerical_gradient(final_state, params[name])[0, 0]
        assert relative_error(p[key][0, 0], numeric) <= 1e-7, name
        assert relative_error(printed[key][0, 0], numeric) > 0.05, name


@pytest.mark.equation(47, check="closed form")
def test_eq47_counts_the_rtrl_partials_and_the_output_gate_weights():
    B, C = 3, 2
    topo = lo.Topology(n_in=4, n_blocks=B, cells_per_block=C, n_out=2, forget_gate=True)
    state = lo.init_hybrid_state(topo, 1)
    cells = slice(1 + topo.n_in, 1 + topo.n_in + topo.n_cells)  # sender columns of the cell outputs
    partials = sum(state[k][0, :, cells].size for k in ("p_c", "p_in", "p_phi"))
    output_gates = lo.init_params(topo, 1, np.random.default_rng(0))["W_out"][0, :, cells].size
    assert partials + output_gates == B * (C * (B * C + B * C + B * C) + B * C)


@pytest.mark.equation(48, 49, check="closed form")
def test_eq48_49_count_input_to_cell_and_cell_to_output_weights():
    B, C, n_in, n_out = 2, 3, 5, 4  # B != C, so the count tells which one S must be
    topo = lo.Topology(n_in=n_in, n_blocks=B, cells_per_block=C, n_out=n_out)
    params = lo.init_params(topo, 1, np.random.default_rng(0))
    input_to_cell = params["W_c"][0, :, 1:1 + n_in].size
    cell_to_output = params["W_o"][0, :, 1:1 + topo.n_cells].size
    assert input_to_cell == n_in * B * C != n_in * B * B
    assert cell_to_output == n_out * B * C != n_out * B * B


@pytest.mark.equation(52, check="printed form fails")
def test_eq52_layer_reads_the_new_outputs_of_the_layer_below():
    torch.manual_seed(8)
    net = torch.nn.LSTM(3, 4, num_layers=2).double()
    x = np.random.default_rng(9).normal(size=(6, 2, 3))
    with torch.no_grad():
        for weight in net.parameters():
            weight.mul_(3.0)  # torch's default scale makes every layer nearly linear and quiet
        expected = net(torch.tensor(x))[0].numpy()
    p = {k: v.detach().numpy() for k, v in net.named_parameters()}
    zeros = np.zeros((2, 4))
    state0 = (zeros, zeros)
    below, _, _ = lstm.sequence_forward(x, state0, *(p[f"{k}_l0"] for k in ("weight_ih", "weight_hh", "bias_ih",
                                                                               "bias_hh")))
    top = [p[f"{k}_l1"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    corrected, _, _ = lstm.sequence_forward(below, state0, *top)  # y'_{h_{i-1}}: this step's outputs
    previous = np.concatenate([zeros[None], below[:-1]])  # y_{h_{i-1}}: the outputs of step τ - 1
    printed, _, _ = lstm.sequence_forward(previous, state0, *top)
    np.testing.assert_allclose(corrected, expected, rtol=1e-10, atol=1e-12)
    assert relative_error(printed, expected) > 0.05


@pytest.mark.equation(54, check="printed form fails")
def test_eq54_printed_cell_input_is_not_the_lstm_for_one_dimension():
    rng = np.random.default_rng(10)
    D, H, B = 3, 2, 4
    params = {k: rng.normal(size=s) for k, s in md_lstm.param_shapes(D, H, 1).items()}
    x, h_prev, c_prev = rng.normal(size=(B, D)), rng.normal(size=(1, B, H)), rng.normal(size=(1, B, H))
    (_, c), cache = md_lstm.step(x, (h_prev, c_prev), params)
    # With N = 1 the gate rows are torch's i, f, g, o: Eq. 54 must reduce to Eq. 38, the LSTM step.
    one_d = {"w_ih": params["w_ih"], "w_hh": params["w_hh"], "b_ih": params["b"], "b_hh": np.zeros(4 * H)}
    (_, c_lstm), _ = lstm.step(x, (h_prev[0], c_prev[0]), one_d, "NP")
    np.testing.assert_allclose(c, c_lstm, rtol=1e-13)
    i, f, g = (cache[k] for k in ("i", "f", "g"))
    z = np.arctanh(g)  # the cell's weighted input, unsquashed
    printed = f[0] * c_prev[0] + i * z
    assert relative_error(printed, c_lstm) > 0.05


# Formulas the tutorial prints without a number (the appendix's second table).

def test_sec34_printed_squashing_has_a_pole_and_leaves_zero_one():
    s = np.array([-3.0, -0.5, 0.5, 3.0])
    printed = 1 / (1 - np.exp(-s))  # 1 / (1 - e^{-l s}) with l = 1
    assert np.all(printed[s < 0] < 0) and np.all(printed[s > 0] > 1)
    assert np.all((sigmoid(s) > 0) & (sigmoid(s) < 1))


def test_sec4_printed_sign_of_the_hidden_update_climbs_the_error():
    rng = np.random.default_rng(11)
    params = ff.init_params([2, 3, 1], rng, scale=1.0)
    X, d = rng.normal(size=(5, 2)), rng.uniform(size=(5, 1))
    ys = ff.forward(params, X)
    theta_o = (d - ys[2]) * ys[2] * (1 - ys[2])  # Eq. 5
    back = (theta_o @ params["W2"]) * ys[1] * (1 - ys[1])  # sum_o theta_o W_[h,o] y_h (1 - y_h)
    eta = 1e-3
    corrected = eta * back.T @ X  # the tutorial's second line, stored W1[h, i]
    printed = -corrected  # its first line, -eta sum_o (theta_o W_[h,o]) ...
    before = ff.loss(params, X, d)
    assert ff.loss({**params, "W1": params["W1"] + corrected}, X, d) < before
    assert ff.loss({**params, "W1": params["W1"] + printed}, X, d) > before


def test_sec61_printed_weight_gradient_has_the_wrong_sign():
    W, x, y0, d, mask = recurrent_problem(12)
    _, X = fr.forward(W, x, y0)
    _, theta, _ = fr.bptt(W, x, d, mask, y0)
    printed = sum(theta[j].T @ X[j] for j in range(x.shape[0]))  # +sum_τ ϑ_u(τ) X_[u,v](τ)
    numeric = numerical_gradient(lambda: fr.total_error(W, x, d, mask, y0), W)
    assert relative_error(-printed, numeric) <= 1e-7
    assert relative_error(printed, numeric) > 0.99  # the opposite vector: |a - b| / (|a| + |b|) = 1
