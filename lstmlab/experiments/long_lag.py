"""Experiment 2a of Hochreiter & Schmidhuber (1997): noise-free sequences with long time lags.

Two sequences, (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each drawn with probability
1/2; next-symbol targets at every step. One memory cell with an input gate and no output gate, the
identity as cell output squashing; the output units also see the inputs (the a_k are predicted
from the current input, only the last target needs the memory).

Success: the maximal absolute output error over 10,000 random test sequences is below 0.25. Both
sequences are deterministic, so such a sample tests exactly the two sequences (it contains both
with probability 1 - 2^-9999); the check runs the frozen network on the two and is therefore the
full-size criterion at a fraction of the cost.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm_original as lo

# record_every: the learning curve keeps the errors of every such check (a multiple of check_every)
FULL = {"p": 100, "lr": 1.0, "init_scale": 0.2, "trials": 18, "max_sequences": 50_000,
        "check_every": 20, "record_every": 1000, "bound": 0.25, "max_seconds": None}
REDUCED = {**FULL, "p": 20, "trials": 3, "max_sequences": 6000, "record_every": 20}

PAPER = {"table": "Table 2", "row": "LSTM, p = 100, lr 1.0", "trials": 18, "success_rate": 1.00,
         "mean_sequences": 5040, "cap_sequences": 5_000_000}


def topology(setup):
    p = setup["p"]
    return lo.Topology(n_in=p + 1, n_blocks=1, cells_per_block=1, n_out=p + 1, output_gate=False,
                       cell_output="identity", input_to_output=True)


def both_sequences(p, rng):
    """A batch holding the two sequences of the task, x-first then y-first."""
    batch = tasks.long_lag(p, 64, rng)
    cols = [int(np.flatnonzero(batch.info["first"] == p - 1)[0]),
            int(np.flatnonzero(batch.info["first"] == p)[0])]
    return tasks.Batch(batch.x[:, cols], batch.d[:, cols], batch.mask[:, cols], batch.lengths[cols])


def worst_errors(topo, params, pair):
    """Per network: the largest absolute output error over both sequences, every output and step."""
    n = params["W_o"].shape[0]
    y, _ = lo.forward(topo, runner.tile_params(params, 2), np.tile(pair.x, (1, n, 1)))
    err = runner.max_abs_error(y, np.tile(pair.d, (1, n, 1)), np.tile(pair.mask, (1, n)))
    return err.reshape(n, 2).max(axis=1)


def solved(topo, params, pair, bound):
    """Per network: is the largest absolute output error on both sequences below ``bound``?"""
    return worst_errors(topo, params, pair) < bound


def run(setup, seed, progress=None):
    if setup["record_every"] % setup["check_every"]:
        raise ValueError(f"record_every ({setup['record_every']}) must be a multiple of check_every "
                         f"({setup['check_every']}): the errors are measured at the checks")
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n, p = setup["trials"], setup["p"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"])
    pair = both_sequences(p, rng)
    solved_at = [None] * n
    start, seen, stopped_by = time.perf_counter(), 0, "max_sequences"
    active = np.ones(n, dtype=bool)
    worst, history = np.full(n, np.inf), []
    bar = progress(setup["max_sequences"], "long_lag") if progress else None
    while seen < setup["max_sequences"] and active.any():
        batch = tasks.long_lag(p, n, rng)
        lo.learn_online(topo, params, batch.x, batch.d, batch.mask,
                        np.where(active, setup["lr"], 0.0))
        seen += 1
        if seen % setup["check_every"] == 0:
            idx = np.flatnonzero(active)
            worst[idx] = worst_errors(topo, runner.select(params, idx), pair)
            if seen % setup["record_every"] == 0:
                history.append({"sequences": seen, "max_abs_error": worst.tolist()})
            done = worst[idx] < setup["bound"]
            for k in idx[done]:
                solved_at[k] = seen
            active[idx[done]] = False
        if bar:
            bar.update(1, solved=n - int(active.sum()))
        if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
            stopped_by = "max_seconds"
            break
    if bar:
        bar.close(solved=n - int(active.sum()))
    return runner.outcome(solved_at, setup, seen, active, stopped_by, topo, history,
                          final_max_abs_error=worst.tolist())
