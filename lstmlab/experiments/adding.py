"""Experiment 4 of Hochreiter & Schmidhuber (1997): the adding problem.

Each step is a pair (value in [-1, 1], marker); two pairs are marked and the single target, at the
last step, is 0.5 + (X1 + X2) / 4. A sequence is correct if its absolute error is below 0.04.
Training stops once the 2,000 most recent sequences were all correct and their mean absolute
error is below 0.01; the trained network is then tested on 2,560 fresh sequences.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm_original as lo

FULL = {"T": 100, "blocks": 2, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.1,
        "in_bias": [-3.0, -6.0], "trials": 10, "window": 2000, "correct_bound": 0.04,
        "mean_bound": 0.01, "n_test": 2560, "max_sequences": 300_000, "max_seconds": None,
        "record_every": 1000, "gate_feedback": True}
REDUCED = {**FULL, "T": 20, "trials": 3, "window": 500, "n_test": 512, "max_sequences": 6000,
           "record_every": 250}

PAPER = {"table": "Table 7", "row": "T = 100 (minimal lag 50)", "weights": 93, "trials": 10,
         "success_rate": None, "mean_sequences": 74_000, "wrong_of_2560": 1}


def topology(setup):
    # the fully connected hidden layer of 1997 (93 weights): gates and cells see tau - 1's gates
    return lo.Topology(n_in=2, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=1, gate_feedback=setup.get("gate_feedback", False))


def final_errors(y, batch):
    """Absolute error at each sequence's last step (its only target)."""
    cols = np.arange(batch.x.shape[1])
    return np.abs(y[batch.lengths - 1, cols, 0] - batch.d[batch.lengths - 1, cols, 0])


def test_wrong(topo, params, setup, rng):
    """Per network: how many of ``n_test`` fresh sequences have an absolute error >= 0.04."""
    n, m = params["W_o"].shape[0], setup["n_test"]
    batch = tasks.adding(setup["T"], m, rng)
    y, _ = lo.forward(topo, runner.tile_params(params, m), np.tile(batch.x, (1, n, 1)))
    err = np.abs(y[np.tile(batch.lengths, n) - 1, np.arange(n * m), 0]
                 - np.tile(batch.info["sum"] / 4.0 + 0.5, n))
    return (err >= setup["correct_bound"]).reshape(n, m).sum(axis=1)


def run(setup, seed, progress=None):
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n = setup["trials"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], in_bias=setup["in_bias"])
    window = runner.RecentWindow(n, setup["window"])
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    start, seen, stopped_by = time.perf_counter(), 0, "max_sequences"
    block_sum, history = np.zeros(n), []
    bar = progress(setup["max_sequences"], f"adding T={setup['T']}") if progress else None
    while seen < setup["max_sequences"] and active.any():
        batch = tasks.adding(setup["T"], n, rng)
        y = lo.learn_online(topo, params, batch.x, batch.d, batch.mask,
                            np.where(active, setup["lr"], 0.0))
        seen += 1
        errors = final_errors(y, batch)
        window.push(errors, active)
        block_sum += errors
        if seen % setup["record_every"] == 0:
            history.append({"sequences": seen,
                            "mean_abs_error": (block_sum / setup["record_every"]).tolist()})
            block_sum[:] = 0.0
        done = active & runner.adding_stop(window.values, window.full(), setup["correct_bound"],
                                           setup["mean_bound"])
        for k in np.flatnonzero(done):
            solved_at[k] = seen
        active &= ~done
        if bar:
            bar.update(1, solved=n - int(active.sum()))
        if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
            stopped_by = "max_seconds"
            break
    if bar:
        bar.close(solved=n - int(active.sum()))
    return runner.outcome(solved_at, setup, seen, active, stopped_by, topo, history,
                          test_wrong=test_wrong(topo, params, setup, rng).tolist(),
                          recent_mean_abs_error=np.nanmean(window.values, axis=1).tolist())
