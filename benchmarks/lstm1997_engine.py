"""Training speed of the 1997 LSTM, sequences per second, for each experiment's setup:

* ``engine``: the compiled engine (lstmlab.numpy.lstm1997_engine), every trial its own sequence;
* ``lockstep``: lstm_original.learn_online on all trials at once, one NumPy step for the batch of
  trials (the engine the experiments used before);
* ``torch loop``: the same truncated on-line step written with torch tensor operations, batched
  over the trials, one step at a time (checked here to give lstm_original's weights).

All three run in the same process on the same sequences, one thread each, timed in CPU seconds of
the process; the ratios are against the lock-step engine and the torch loop.
``python benchmarks/lstm1997_engine.py [--seconds S] [--json FILE]``
"""

import argparse
import json
import os
import platform
import time

import numpy as np
import torch

from lstmlab.datasets import tasks
from lstmlab.experiments import adding, continual_reber, long_lag, reber, runner, setup_of, temporal_order
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo


def torch_learn_online(topo, W, x, d, mask, lr):
    """lstm_original.learn_online with torch tensors: W holds (N, rows, cols) float64 tensors."""
    n, c, bc = x.shape[1], topo.cells_per_block, topo.n_cells
    one, zero = torch.ones(n, 1, dtype=torch.float64), torch.zeros(n, 1, dtype=torch.float64)
    gate_bias = one if topo.gate_biases else zero
    unit_bias = one if topo.unit_biases else zero
    g_lo, g_hi = topo.g_range
    h_lo, h_hi = topo.h_range
    s = torch.zeros(n, bc, dtype=torch.float64)
    r = torch.zeros(n, topo.n_recurrent, dtype=torch.float64)
    p_c = torch.zeros(n, bc, topo.fan_in, dtype=torch.float64)
    p_in, p_phi = torch.zeros_like(p_c), torch.zeros_like(p_c)
    ones = torch.ones(n, topo.n_blocks, dtype=torch.float64)

    def net(w, v):
        return torch.bmm(w, v[:, :, None])[:, :, 0]

    for t in range(x.shape[0]):
        seen = r if topo.recurrent else torch.zeros_like(r)
        xu = torch.cat([gate_bias, x[t], seen], 1)
        xc = torch.cat([unit_bias, x[t], seen], 1)
        y_in = torch.sigmoid(net(W["W_in"], xu))
        y_out = torch.sigmoid(net(W["W_out"], xu)) if topo.output_gate else ones
        y_phi = torch.sigmoid(net(W["W_phi"], xu)) if topo.forget_gate else ones
        g = (g_hi - g_lo) * torch.sigmoid(net(W["W_c"], xc)) + g_lo
        rep = lambda a: a.repeat_interleave(c, 1)   # noqa: E731 - a block's value for each cell
        s_prev, s = s, rep(y_phi) * s + rep(y_in) * g
        h_s = s if topo.cell_output == "identity" else (h_hi - h_lo) * torch.sigmoid(s) + h_lo
        y_c = rep(y_out) * h_s
        xo = torch.cat([unit_bias, y_c] + ([x[t]] if topo.input_to_output else []), 1)
        y_o = torch.sigmoid(net(W["W_o"], xo))
        fed = [y_in] + ([y_out] if topo.output_gate else []) + ([y_phi] if topo.forget_gate else [])
        r = torch.cat([y_c] + (fed if topo.gate_feedback else []), 1)
        sig_g = (g - g_lo) / (g_hi - g_lo)
        p_c = rep(y_phi)[:, :, None] * p_c + (rep(y_in) * (g_hi - g_lo) * sig_g * (1 - sig_g))[:, :, None] * xc[:, None]
        p_in = rep(y_phi)[:, :, None] * p_in + (g * rep(y_in * (1 - y_in)))[:, :, None] * xu[:, None]
        if topo.forget_gate:
            p_phi = rep(y_phi)[:, :, None] * p_phi + (s_prev * rep(y_phi * (1 - y_phi)))[:, :, None] * xu[:, None]
        theta_o = mask[t][:, None] * y_o * (1 - y_o) * (d[t] - y_o)
        e_c = torch.bmm(W["W_o"][:, :, 1:1 + bc].transpose(1, 2), theta_o[:, :, None])[:, :, 0]
        W["W_o"] += lr * theta_o[:, :, None] * xo[:, None]
        if topo.output_gate:
            theta_out = y_out * (1 - y_out) * (h_s * e_c).view(n, -1, c).sum(2)
            W["W_out"] += lr * theta_out[:, :, None] * xu[:, None]
        if topo.cell_output == "identity":
            h_prime = torch.ones_like(h_s)
        else:
            sig_h = (h_s - h_lo) / (h_hi - h_lo)
            h_prime = (h_hi - h_lo) * sig_h * (1 - sig_h)
        eps = (rep(y_out) * h_prime * e_c)[:, :, None]
        W["W_c"] += lr * eps * p_c
        W["W_in"] += lr * (eps * p_in).view(n, -1, c, topo.fan_in).sum(2)
        if topo.forget_gate:
            W["W_phi"] += lr * (eps * p_phi).view(n, -1, c, topo.fan_in).sum(2)


def setups():
    """(name, topology, trials, lr, init, a maker of n sequences as a task batch) per experiment."""
    rng = np.random.default_rng(0)
    r1 = setup_of("reber")
    r10 = {**r1, "squashing": "table10"}
    ll = setup_of("long_lag")
    ad, to = setup_of("adding"), setup_of("temporal_order")
    cr = setup_of("continual_reber")
    out = [
        ("Exp. 1 embedded Reber, 3x2, text ranges", reber.topology(r1), 30, 0.5,
         lambda m: tasks.embedded_reber(m, rng)),
        ("Exp. 1 embedded Reber, 3x2, Table 10 ranges", reber.topology(r10), 30, 0.5,
         lambda m: tasks.embedded_reber(m, rng)),
        ("Exp. 2a long lag, p = 100, paper's conditions", long_lag.topology(ll), 18, 1.0,
         lambda m: tasks.long_lag(100, m, rng)),
        ("Exp. 4 adding, T = 100", adding.topology(ad), 10, 0.5,
         lambda m: tasks.adding(100, m, rng)),
        ("Exp. 6a temporal order", temporal_order.topology(to), 20, 0.5,
         lambda m: tasks.temporal_order(m, rng)),
        ("Gers 2000 continual Reber, forget gates (strings)", continual_reber.topology(cr, True),
         10, 0.5, lambda m: tasks.embedded_reber(m, rng)),
    ]
    return out


def rate(fn, seconds, sequences_per_call):
    """Sequences per CPU second of this process (the machine is shared: wall time would measure the
    other users' load): calls fn until ``seconds`` of CPU time have passed, at least twice."""
    fn()   # warm-up (compilation, caches)
    calls, start = 0, time.process_time()
    while calls < 2 or time.process_time() - start < seconds:
        fn()
        calls += 1
    return calls * sequences_per_call / (time.process_time() - start)


def measure(name, topo, n, lr, make, seconds):
    rng = np.random.default_rng(1)
    params = lo.init_params(topo, n, rng, scale=0.2)
    k = 200   # sequences per trial per engine call
    batch = make(n * k)
    X, D, M, L = runner.per_trial(batch, n)
    order = np.tile(np.arange(k), (n, 1))
    one = make(n)   # the lock-step engines read one sequence per trial per call

    # the torch loop computes lstm_original's numbers (checked on this setup's own data)
    ref = {key: w.copy() for key, w in params.items()}
    W = {key: torch.tensor(w) for key, w in params.items()}
    xt, dt, mt = (torch.tensor(a) for a in (one.x, one.d, one.mask))
    torch_learn_online(topo, W, xt, dt, mt, lr)
    lo.learn_online(topo, ref, one.x, one.d, one.mask, lr)
    gap = max(float(np.abs(W[key].numpy() - ref[key]).max()) for key in ref)
    assert gap < 1e-12, f"torch loop differs from lstm_original by {gap}"

    eng = {key: w.copy() for key, w in params.items()}
    lock = {key: w.copy() for key, w in params.items()}
    torch.set_num_threads(1)
    result = {
        "engine": rate(lambda: engine.run(topo, eng, X, D, M, L, order, lr), seconds, n * k),
        "lockstep": rate(lambda: lo.learn_online(topo, lock, one.x, one.d, one.mask, lr), seconds, n),
        "torch loop": rate(lambda: torch_learn_online(topo, W, xt, dt, mt, lr), seconds, n),
    }
    return {"setup": name, "trials": n, "weights": topo.n_weights,
            "mean_steps": float(batch.lengths.mean()), "sequences_per_second": result,
            "engine_over_lockstep": result["engine"] / result["lockstep"],
            "engine_over_torch_loop": result["engine"] / result["torch loop"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--json", help="write the record here")
    args = parser.parse_args()
    rows = []
    print(f"{'setup':52s} {'trials':>6s} {'engine':>10s} {'lockstep':>10s} {'torch':>10s} "
          f"{'vs lockstep':>12s} {'vs torch':>9s}   (sequences per CPU second, one thread)")
    for name, topo, n, lr, make in setups():
        row = measure(name, topo, n, lr, make, args.seconds)
        sps = row["sequences_per_second"]
        print(f"{name:52s} {n:6d} {sps['engine']:10.0f} {sps['lockstep']:10.1f} {sps['torch loop']:10.1f} "
              f"{row['engine_over_lockstep']:11.1f}x {row['engine_over_torch_loop']:8.1f}x", flush=True)
        rows.append(row)
    record = {"benchmark": "lstm1997_engine", "rows": rows,
              "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(),
                          "load_average": os.getloadavg()},
              "versions": {"numpy": np.__version__, "torch": torch.__version__}}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
