"""The training engine of the 1997 experiments: :mod:`lstm_original`'s forward pass, truncated
gradient (Eqs. 24-46) and on-line update, compiled with numba, one trial after another.

:mod:`lstm_original` is the readable reference; this module computes the same numbers (the tests
compare them to 1e-12) for many independent networks, each with its own weights and its own
sequences. The per-step work of one small network is a few hundred multiply-adds, far too little
for NumPy's per-call overhead, so a compiled loop over trials, sequences and steps does it all. A
step without a target changes no weight (its error is zero), so it only moves the activations and
the RTRL partials on; a sequence stops at its own length.

Sequences are stored per trial: ``X (N, S, T, I)``, ``D (N, S, T, O)``, ``M (N, S, T)``, lengths
``L (N, S)``, and ``order (N, K)`` says which of its S sequences trial n reads k-th (-1: none).
"""

import math

import numpy as np
from numba import njit

from lstmlab.numpy import lstm_original as lo

_MATRICES = ("W_c", "W_in", "W_out", "W_phi", "W_h", "W_o")
FORWARD, ONLINE, ACCUMULATE = 0, 1, 2


def config(topo):
    """The topology as the integer and float arrays the compiled loops read."""
    icfg = np.array([topo.n_in, topo.n_blocks, topo.cells_per_block, topo.n_out, topo.n_hidden,
                     topo.forget_gate, topo.output_gate, topo.cell_output == "identity",
                     topo.input_to_output, topo.gate_feedback, topo.unit_biases, topo.gate_biases,
                     topo.recurrent, topo.current_gates], dtype=np.int64)
    fcfg = np.array([*topo.g_range, *topo.h_range], dtype=np.float64)
    return icfg, fcfg


def matrices(topo, params):
    """The six weight matrices in the compiled loops' order; absent ones as (N, 0, D) arrays."""
    n = params["W_o"].shape[0]
    out = []
    for name in _MATRICES:
        w = params.get(name)
        out.append(np.zeros((n, 0, topo.fan_in)) if w is None else w)
        if w is not None and not (w.flags.c_contiguous and w.dtype == np.float64):
            raise ValueError(f"{name} must be a C-contiguous float64 array (it is updated in place)")
    return out


@njit(cache=True, error_model="numpy", inline="always")
def _sigmoid(z):
    return 1.0 / (math.exp(-z) + 1.0)


@njit(cache=True, error_model="numpy", inline="always")
def _scaled(z, low, high):
    return (high - low) * _sigmoid(z) + low


@njit(cache=True, error_model="numpy", inline="always")
def _scaled_prime(y, low, high):
    sigma = (y - low) / (high - low)
    return (high - low) * sigma * (1.0 - sigma)


@njit(cache=True, error_model="numpy", inline="always")
def _dot(w, x, nz, count):
    """sum_v w[v] x[v] over the senders that are not zero (adding w * 0 would change nothing)."""
    total = 0.0
    for k in range(count):
        v = nz[k]
        total += w[v] * x[v]
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _nonzero(x, nz):
    count = 0
    for v in range(x.shape[0]):
        if x[v] != 0.0:
            nz[count] = v
            count += 1
    return count


@njit(cache=True, error_model="numpy", inline="always")
def _change(W, gW, i, v, delta, mode, lr):
    """One weight's share of Delta W = lr theta x: applied now (on-line, mode 1) or summed into the
    gradient -theta x (mode 2)."""
    if mode == 1:
        W[i, v] += lr * delta
    else:
        gW[i, v] -= delta


@njit(cache=True, error_model="numpy")
def _sizes(icfg):
    """(B*C, number of visible units, recurrent senders R, fan-in D, output fan-in) of a topology."""
    I, B, C, H = icfg[0], icfg[1], icfg[2], icfg[4]
    NV = B * C + H
    R = NV + (B * (1 + icfg[5] + icfg[6]) if icfg[9] else 0)
    return B * C, NV, R, 1 + I + R, 1 + NV + (I if icfg[8] else 0)


@njit(cache=True, error_model="numpy")
def _buffers(icfg):
    """The state carried from step to step (activations and RTRL partials) and the scratch space of
    one step, allocated once per call of a compiled loop."""
    B, O, H = icfg[1], icfg[3], icfg[4]
    BC, NV, R, D, NOUT = _sizes(icfg)
    state = (np.zeros(BC), np.zeros(R), np.zeros((BC, D)), np.zeros((BC, D)),
             np.zeros((BC if icfg[5] else 0, D)))
    work = (np.zeros(BC), np.zeros(D), np.zeros(D), np.zeros(D), np.zeros(NOUT), np.zeros(B),
            np.ones(B), np.ones(B), np.zeros(BC), np.zeros(BC), np.zeros(BC), np.zeros(H),
            np.zeros(O), np.zeros(NV), np.zeros(BC), np.zeros(D, np.int64), np.zeros(D, np.int64),
            np.zeros(D, np.int64), np.zeros(NOUT, np.int64))
    return state, work


@njit(cache=True, error_model="numpy")
def _reset(state):
    """Activations and partials back to zero: the start of a sequence."""
    s, r, p_c, p_in, p_phi = state
    s[:] = 0.0
    r[:] = 0.0
    p_c[:] = 0.0
    p_in[:] = 0.0
    p_phi[:] = 0.0


@njit(cache=True, error_model="numpy")
def _steps(n, Wc3, Win3, Wout3, Wphi3, Wh3, Wo3, icfg, fcfg, x, d, m, length, lr, joined, mode, y,
           gWc3, gWin3, gWout3, gWphi3, gWh3, gWo3, state, work):
    """Steps 0..length-1 of x (T, I) for trial n, continuing from ``state``: forward (mode 0),
    on-line learning (1) or the truncated gradient at fixed weights summed into gW* (2). Writes the
    outputs into y (T, O) and returns (0.5 sum of squared errors at the target steps, their largest
    absolute error).

    ``joined`` 0 hides the cells from the output units (Experiment 2a before its cell is added):
    they then neither send activation to the outputs nor receive their error."""
    I, B, C, O, H = icfg[0], icfg[1], icfg[2], icfg[3], icfg[4]
    fg, og, linear, in2out, gf = icfg[5], icfg[6], icfg[7], icfg[8], icfg[9]
    g_lo, g_hi, h_lo, h_hi = fcfg[0], fcfg[1], fcfg[2], fcfg[3]
    BC, NV, R, D, NOUT = _sizes(icfg)
    gate_bias = 1.0 if icfg[11] else 0.0
    unit_bias = 1.0 if icfg[10] else 0.0
    rec = icfg[12]
    Wc, Win, Wout, Wphi, Wh, Wo = Wc3[n], Win3[n], Wout3[n], Wphi3[n], Wh3[n], Wo3[n]
    gWc, gWin, gWout, gWphi, gWh, gWo = gWc3[n], gWin3[n], gWout3[n], gWphi3[n], gWh3[n], gWo3[n]
    s, r, p_c, p_in, p_phi = state
    (s_prev, xu, xg, xc, xo, y_in, y_out, y_phi, g, h_s, y_c, y_h, theta_o, e, eps,
     nz_u, nz_g, nz_c, nz_o) = work
    cur = icfg[13]
    loss, worst = 0.0, 0.0
    for t in range(length):
        # X[v, u](tau): bias, y_i(tau), y_v(tau - 1) (zero where a unit is not connected; see
        # below for current_gates)
        xu[0] = gate_bias
        xc[0] = unit_bias
        for i in range(I):
            xu[1 + i] = x[t, i]
            xc[1 + i] = x[t, i]
        for k in range(R):
            v = r[k] if rec else 0.0
            xu[1 + I + k] = v
            xc[1 + I + k] = v
        n_u = _nonzero(xu, nz_u)
        # Eqs. 24-38 in the paper's order: input gates, output gates, cells; with current_gates
        # (cur) the output gates read this step's input gates through xg, the cells and hidden
        # units this step's input and output gates through xc
        for b in range(B):
            y_in[b] = _sigmoid(_dot(Win[b], xu, nz_u, n_u))
            if fg:
                y_phi[b] = _sigmoid(_dot(Wphi[b], xu, nz_u, n_u))
        # what the output gates read: xu itself, or its copy with this step's input gates
        x_og, nz_og, n_og = xu, nz_u, n_u
        if cur:
            for v in range(D):
                xg[v] = xu[v]
            for b in range(B):
                xg[1 + I + NV + b] = y_in[b]
                xc[1 + I + NV + b] = y_in[b]
            x_og, nz_og, n_og = xg, nz_g, _nonzero(xg, nz_g)
        if og:
            for b in range(B):
                y_out[b] = _sigmoid(_dot(Wout[b], x_og, nz_og, n_og))
                if cur:
                    xc[1 + I + NV + B + b] = y_out[b]
        n_c = _nonzero(xc, nz_c)
        for j in range(BC):
            b = j // C
            g[j] = _scaled(_dot(Wc[j], xc, nz_c, n_c), g_lo, g_hi)
            s_prev[j] = s[j]
            s[j] = y_phi[b] * s[j] + y_in[b] * g[j]
            h_s[j] = s[j] if linear else _scaled(s[j], h_lo, h_hi)
            y_c[j] = y_out[b] * h_s[j]
        for k in range(H):
            y_h[k] = _sigmoid(_dot(Wh[k], xc, nz_c, n_c))
        xo[0] = unit_bias
        for j in range(BC):
            xo[1 + j] = y_c[j] * joined
        for k in range(H):
            xo[1 + BC + k] = y_h[k]
        if in2out:
            for i in range(I):
                xo[1 + NV + i] = x[t, i]
        n_o = _nonzero(xo, nz_o)
        for o in range(O):
            y[t, o] = _sigmoid(_dot(Wo[o], xo, nz_o, n_o))
        # the recurrent senders of the next step: cells, hidden units, (gates: in, out, phi)
        for j in range(BC):
            r[j] = y_c[j]
        for k in range(H):
            r[BC + k] = y_h[k]
        if gf:
            for b in range(B):
                r[NV + b] = y_in[b]
                if og:
                    r[NV + B + b] = y_out[b]
                if fg:
                    r[NV + B * (1 + og) + b] = y_phi[b]
        if m[t] != 0.0:
            for o in range(O):
                diff = d[t, o] - y[t, o]
                loss += 0.5 * m[t] * diff * diff
                worst = max(worst, abs(diff))
        if mode == 0:
            continue
        # RTRL partials ds_c/dW of Eqs. 44-46, carried through the forget gate; without one the
        # old partial is kept as it is and only the non-zero senders add to it
        for j in range(BC):
            b = j // C
            a_c = y_in[b] * _scaled_prime(g[j], g_lo, g_hi)
            a_in = g[j] * (y_in[b] * (1.0 - y_in[b]))
            if fg:
                a_phi = s_prev[j] * (y_phi[b] * (1.0 - y_phi[b]))
                for v in range(D):
                    p_c[j, v] = y_phi[b] * p_c[j, v] + a_c * xc[v]
                    p_in[j, v] = y_phi[b] * p_in[j, v] + a_in * xu[v]
                    p_phi[j, v] = y_phi[b] * p_phi[j, v] + a_phi * xu[v]
            else:
                for k in range(n_c):
                    v = nz_c[k]
                    p_c[j, v] += a_c * xc[v]
                for k in range(n_u):
                    v = nz_u[k]
                    p_in[j, v] += a_in * xu[v]
        if m[t] == 0.0:
            continue   # no target: every gradient of this step is zero
        # Eq. 40 and the error at cells and hidden units from this step's outputs only
        for o in range(O):
            theta_o[o] = m[t] * (y[t, o] * (1.0 - y[t, o])) * (d[t, o] - y[t, o])
        for v in range(NV):
            total = 0.0
            for o in range(O):
                total += Wo[o, 1 + v] * theta_o[o]
            e[v] = total * joined if v < BC else total
        # Delta W = lr theta X (mode 1) or the gradient -theta X summed (mode 2); W_o's change
        # waits until its error has reached the cells
        for o in range(O):
            for k in range(n_o):
                v = nz_o[k]
                _change(Wo, gWo, o, v, theta_o[o] * xo[v], mode, lr)
        for k in range(H):
            theta_h = (y_h[k] * (1.0 - y_h[k])) * e[BC + k]
            for q in range(n_c):
                v = nz_c[q]
                _change(Wh, gWh, k, v, theta_h * xc[v], mode, lr)
        if og:
            for b in range(B):
                total = 0.0
                for c in range(C):
                    total += h_s[b * C + c] * e[b * C + c]
                theta_out = (y_out[b] * (1.0 - y_out[b])) * total
                for k in range(n_og):
                    v = nz_og[k]
                    _change(Wout, gWout, b, v, theta_out * x_og[v], mode, lr)
        for j in range(BC):
            b = j // C
            h_prime = 1.0 if linear else _scaled_prime(h_s[j], h_lo, h_hi)
            eps[j] = y_out[b] * h_prime * e[j]
            for v in range(D):
                _change(Wc, gWc, j, v, eps[j] * p_c[j, v], mode, lr)
        for b in range(B):
            for v in range(D):
                total = 0.0
                for c in range(C):
                    total += eps[b * C + c] * p_in[b * C + c, v]
                _change(Win, gWin, b, v, total, mode, lr)
                if fg:
                    total = 0.0
                    for c in range(C):
                        total += eps[b * C + c] * p_phi[b * C + c, v]
                    _change(Wphi, gWphi, b, v, total, mode, lr)
    return loss, worst


@njit(cache=True, error_model="numpy")
def _push(window, info, value, bound, mean_bound):
    """Append a sequence's error to a trial's window of recent ones (info: count, number >= bound);
    True when the window is full, every error in it is below ``bound`` and their mean below
    ``mean_bound`` (the stop rule of Experiments 4 and 6)."""
    size = window.shape[0]
    slot = info[0] % size
    if info[0] >= size and window[slot] >= bound:
        info[1] -= 1
    window[slot] = value
    if value >= bound:
        info[1] += 1
    info[0] += 1
    return info[0] >= size and info[1] == 0 and window.mean() < mean_bound


@njit(cache=True, error_model="numpy")
def _run(Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X, Dt, M, L, order, lr, joined, mode, Y, keep,
         losses, worst, gWc, gWin, gWout, gWphi, gWh, gWo, window, info, bound, mean_bound, stopped):
    """Every trial n reads its sequences order[n, 0], order[n, 1], ... (-1: skip) in ``mode``,
    each from reset activations. With a window (N, W > 0) each sequence's largest error is pushed
    and a trial stops at the first sequence where the stop rule holds (stopped[n] = k, else -1)."""
    scratch = np.zeros((X.shape[2], icfg[3]))
    state, work = _buffers(icfg)
    for n in range(order.shape[0]):
        stopped[n] = -1
        for k in range(order.shape[1]):
            q = order[n, k]
            if q < 0:
                continue
            _reset(state)
            y = Y[n, k] if keep else scratch
            losses[n, k], worst[n, k] = _steps(
                n, Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X[n, q], Dt[n, q], M[n, q], L[n, q],
                lr[n], joined[n], mode, y, gWc, gWin, gWout, gWphi, gWh, gWo, state, work)
            if window.shape[1] and _push(window[n], info[n], worst[n, k], bound, mean_bound):
                stopped[n] = k
                break


@njit(cache=True, error_model="numpy", inline="always")
def _predicted(y, legal):
    """The legal next symbols are exactly the most active outputs (true where none is marked)."""
    lowest_legal, highest_other, any_legal = np.inf, -np.inf, False
    for o in range(y.shape[0]):
        if legal[o] > 0:
            any_legal = True
            lowest_legal = min(lowest_legal, y[o])
        else:
            highest_other = max(highest_other, y[o])
    return not any_legal or lowest_legal > highest_other


@njit(cache=True, error_model="numpy")
def _legal_predicted(Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X, legal, L, order, stop_at_first,
                     joined, correct):
    """Forward only: correct[n, k] = 1 when at every step of sequence order[n, k] the legal next
    symbols are exactly the most active outputs (the 1997 Reber criterion), else 0; -1 not run.
    With ``stop_at_first`` a trial stops at its first wrong sequence (the rest stay -1)."""
    O = icfg[3]
    y = np.zeros((X.shape[2], O))
    no_target = np.zeros(X.shape[2])
    state, work = _buffers(icfg)
    for n in range(order.shape[0]):
        for k in range(order.shape[1]):
            correct[n, k] = -1
        for k in range(order.shape[1]):
            q = order[n, k]
            if q < 0:
                continue
            _reset(state)
            _steps(n, Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X[n, q], legal[n, q], no_target,
                   L[n, q], 0.0, joined[n], FORWARD, y, Wc, Win, Wout, Wphi, Wh, Wo, state, work)
            ok = 1
            for t in range(L[n, q]):
                if not _predicted(y[t], legal[n, q, t]):
                    ok = 0
                    break
            correct[n, k] = ok
            if stop_at_first and ok == 0:
                break


@njit(cache=True, error_model="numpy")
def _stream(Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X, Dt, legal, starts, limit, pos, budget, lr,
            reset_at_starts, s, r, p_c, p_in, p_phi, done, errors):
    """Continual on-line learning on unbroken symbol streams (Gers et al. 2000). Trial n reads
    X[n, pos[n]], X[n, pos[n] + 1], ... with its activations and partials carried over (s, r, p_*
    hold them per trial) until it has read ``budget`` symbols (done[n] counts them) or reached
    limit[n]. A wrong prediction ends the training stream: the network is reset and goes on at the
    next string's opening B (errors[n] counts these). ``reset_at_starts`` also resets it at every
    B (the external reset of the paper's standard LSTM variant)."""
    _, work = _buffers(icfg)
    y = np.zeros((1, icfg[3]))
    target = np.ones(1)
    for n in range(X.shape[0]):
        state = (s[n], r[n], p_c[n], p_in[n], p_phi[n])
        while done[n] < budget and pos[n] < limit[n]:
            q = pos[n]
            if reset_at_starts and starts[n, q]:
                _reset(state)
            _steps(n, Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X[n, q:q + 1], Dt[n, q:q + 1],
                   target, 1, lr[n], 1.0, ONLINE, y, Wc, Win, Wout, Wphi, Wh, Wo, state, work)
            done[n] += 1
            pos[n] += 1
            if not _predicted(y[0], legal[n, q]):
                errors[n] += 1
                _reset(state)
                while pos[n] < limit[n] and not starts[n, pos[n]]:
                    pos[n] += 1


@njit(cache=True, error_model="numpy")
def _error_free(Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X, legal, starts, reset_at_starts, length):
    """Frozen networks on shared test streams X (S, L, I): length[n, k] = symbols of stream k that
    network n predicts before its first error (L if none)."""
    state, work = _buffers(icfg)
    y = np.zeros((1, icfg[3]))
    no_target = np.zeros(1)
    for n in range(length.shape[0]):
        for k in range(X.shape[0]):
            _reset(state)
            length[n, k] = X.shape[1]
            for t in range(X.shape[1]):
                if reset_at_starts and starts[k, t]:
                    _reset(state)
                _steps(n, Wc, Win, Wout, Wphi, Wh, Wo, icfg, fcfg, X[k, t:t + 1], legal[k, t:t + 1],
                       no_target, 1, 0.0, 1.0, FORWARD, y, Wc, Win, Wout, Wphi, Wh, Wo, state, work)
                if not _predicted(y[0], legal[k, t]):
                    length[n, k] = t
                    break


# --------------------------------------------------------------------------- the Python side

def _per_trial(a):
    """(T, N, ...) as lstm_original takes it -> (N, 1, T, ...) contiguous, one sequence per trial."""
    return np.ascontiguousarray(np.moveaxis(a, 1, 0)[:, None])


class Window:
    """The errors of each trial's ``size`` most recent sequences, kept across calls of :func:`run`;
    the stop rule: all below ``bound`` and their mean below ``mean_bound``."""

    def __init__(self, n_trials, size, bound, mean_bound):
        self.values = np.zeros((n_trials, size))
        self.info = np.zeros((n_trials, 2), dtype=np.int64)   # sequences pushed, errors >= bound
        self.bound, self.mean_bound = float(bound), float(mean_bound)

    def recent(self):
        """Per trial: the errors in the window so far (NaN where it is not yet full)."""
        filled = np.arange(self.values.shape[1])[None] < self.info[:, :1]
        return np.where(filled, self.values, np.nan)


def run(topo, params, X, D, M, L, order, lr=0.0, mode=ONLINE, keep_outputs=False, joined=None,
        window=None):
    """Run every trial on its own sequences (see the module docstring) in ``mode``; weights change
    in place in mode ONLINE. Returns ``(losses (N, K), worst (N, K), outputs (N, K, T, O) or None,
    grads or None, stopped (N,))``: the per-sequence squared error and largest absolute error at
    target steps, the outputs (before each step's update), in mode ACCUMULATE the summed gradients,
    and with a :class:`Window` the position k at which each trial met the stop rule (-1: not)."""
    n, k = order.shape
    if X.shape[:2] != D.shape[:2] or X.shape[0] != n or M.shape != X.shape[:3] or L.shape != X.shape[:2]:
        raise ValueError(f"X {X.shape}, D {D.shape}, M {M.shape}, L {L.shape} and order {order.shape} "
                         "must share the trial and sequence axes")
    if X.shape[3] != topo.n_in or D.shape[3] != topo.n_out:
        raise ValueError(f"X must have {topo.n_in} inputs and D {topo.n_out} outputs per step, got "
                         f"{X.shape[3]} and {D.shape[3]}")
    if np.any(L > X.shape[2]):
        raise ValueError(f"a length exceeds the {X.shape[2]} stored steps")
    lo._check_params(topo, params, n)
    icfg, fcfg = config(topo)
    weights = matrices(topo, params)
    grads = [np.zeros_like(w) for w in weights]   # written in mode ACCUMULATE only
    rate = np.ascontiguousarray(np.broadcast_to(np.asarray(lr, dtype=np.float64), (n,)))
    seen = np.ones(n) if joined is None else np.asarray(joined, dtype=np.float64)
    losses, worst = np.zeros((n, k)), np.zeros((n, k))
    outputs = np.zeros((n, k, X.shape[2], topo.n_out)) if keep_outputs else np.zeros((n, 0, 0, 0))
    win = window or Window(n, 0, 0.0, 0.0)
    stopped = np.zeros(n, dtype=np.int64)
    X, D, M = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, D, M))
    _run(*weights, icfg, fcfg, X, D, M, L.astype(np.int64), order.astype(np.int64), rate, seen, mode,
         outputs, keep_outputs, losses, worst, *grads, win.values, win.info, win.bound,
         win.mean_bound, stopped)
    named = ({name: g for name, g in zip(_MATRICES, grads) if name in params}
             if mode == ACCUMULATE else None)
    return losses, worst, (outputs if keep_outputs else None), named, stopped


def legal_predicted(topo, params, X, legal, L, order, stop_at_first=False, joined=None):
    """Per trial and sequence of ``order``: 1 if every symbol is predicted (the legal next symbols
    are exactly the most active outputs), 0 if not, -1 not tested. Weights are not changed."""
    n = order.shape[0]
    lo._check_params(topo, params, n)
    icfg, fcfg = config(topo)
    correct = np.zeros(order.shape, dtype=np.int64)
    seen = np.ones(n) if joined is None else np.asarray(joined, dtype=np.float64)
    _legal_predicted(*matrices(topo, params), icfg, fcfg, X, legal, L.astype(np.int64),
                     order.astype(np.int64), stop_at_first, seen, correct)
    return correct


def learn_online(topo, params, x, d, mask, lr):
    """:func:`lstm_original.learn_online` compiled: same arguments, same outputs, same weights."""
    lo._check_data(topo, params, x, d, mask)
    steps, n = x.shape[:2]
    _, _, y, _, _ = run(topo, params, _per_trial(x), _per_trial(d), _per_trial(mask),
                     np.full((n, 1), steps), np.zeros((n, 1)), lr, ONLINE, keep_outputs=True)
    return np.moveaxis(y[:, 0], 0, 1)


def forward(topo, params, x):
    """The outputs y_o (T, N, O) of :func:`lstm_original.forward`, compiled."""
    lo._check_data(topo, params, x)
    steps, n = x.shape[:2]
    d = np.zeros((steps, n, topo.n_out))
    _, _, y, _, _ = run(topo, params, _per_trial(x), _per_trial(d), _per_trial(np.zeros((steps, n))),
                     np.full((n, 1), steps), np.zeros((n, 1)), 0.0, FORWARD, keep_outputs=True)
    return np.moveaxis(y[:, 0], 0, 1)


def truncated_gradient(topo, params, x, d, mask):
    """:func:`lstm_original.truncated_gradient` compiled: ``(loss, grads)`` at fixed weights."""
    lo._check_data(topo, params, x, d, mask)
    steps, n = x.shape[:2]
    losses, _, _, grads, _ = run(topo, params, _per_trial(x), _per_trial(d), _per_trial(mask),
                              np.full((n, 1), steps), np.zeros((n, 1)), 0.0, ACCUMULATE)
    return float(losses.sum()), grads


def stream_state(topo, n_trials):
    """Zero activations and partials for n_trials networks reading streams (kept across calls)."""
    bc, d = topo.n_cells, topo.fan_in
    return {"s": np.zeros((n_trials, bc)), "r": np.zeros((n_trials, topo.n_recurrent)),
            "p_c": np.zeros((n_trials, bc, d)), "p_in": np.zeros((n_trials, bc, d)),
            "p_phi": np.zeros((n_trials, bc if topo.forget_gate else 0, d))}


def learn_streams(topo, params, X, D, legal, starts, limit, pos, budget, lr, state, done, errors,
                  reset_at_starts=False):
    """Continual on-line learning (see ``_stream``): each trial n reads its stream X[n] (S, I) from
    pos[n] until done[n] reaches ``budget`` or pos[n] reaches limit[n]; pos, done, errors (int64)
    and the ``state`` of :func:`stream_state` are updated in place, the weights too."""
    n = X.shape[0]
    lo._check_params(topo, params, n)
    icfg, fcfg = config(topo)
    rate = np.ascontiguousarray(np.broadcast_to(np.asarray(lr, dtype=np.float64), (n,)))
    _stream(*matrices(topo, params), icfg, fcfg, X, D, legal, starts.astype(np.bool_),
            limit.astype(np.int64), pos, int(budget), rate, reset_at_starts, state["s"], state["r"],
            state["p_c"], state["p_in"], state["p_phi"], done, errors)


def error_free_lengths(topo, params, X, legal, starts, reset_at_starts=False):
    """Frozen networks on shared test streams X (S, L, I): per network and stream the symbols
    predicted before the first error, (N, S)."""
    n = params["W_o"].shape[0]
    lo._check_params(topo, params, n)
    icfg, fcfg = config(topo)
    length = np.zeros((n, X.shape[0]), dtype=np.int64)
    _error_free(*matrices(topo, params), icfg, fcfg, np.ascontiguousarray(X), np.ascontiguousarray(legal),
                starts.astype(np.bool_), reset_at_starts, length)
    return length
