"""Experiment 4 of Hochreiter & Schmidhuber (1997): the adding problem.

Each step is a pair (value in [-1, 1], marker); two pairs are marked and the single target, at the
last step, is 0.5 + (X1 + X2) / 4. A sequence is correct if its absolute error is below 0.04.
Training stops once the 2,000 most recent sequences were all correct and their mean absolute
error is below 0.01 (checked after every sequence, inside the compiled loop); the trained network
is then tested on 2,560 fresh sequences. The paper sets no cap; ``max_sequences`` is ours.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo

FULL = {"T": 100, "blocks": 2, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.1,
        "in_bias": [-3.0, -6.0], "trials": 10, "window": 2000, "correct_bound": 0.04,
        "mean_bound": 0.01, "n_test": 2560, "max_sequences": 3_000_000, "max_seconds": None,
        "record_every": 1000, "gate_feedback": True}
REDUCED = {**FULL, "T": 20, "trials": 3, "window": 500, "n_test": 512, "max_sequences": 6000,
           "record_every": 250}

PAPER = {"table": "Table 7", "row": "T = 100 (minimal lag 50)", "weights": 93, "trials": 10,
         "success_rate": None, "mean_sequences": 74_000, "wrong_of_2560": 1}


def topology(setup):
    # the fully connected hidden layer of 1997 (93 weights): gates and cells see tau - 1's gates
    return lo.Topology(n_in=2, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=1, gate_feedback=setup.get("gate_feedback", False))


def test_wrong(topo, params, setup, rng):
    """Per network: how many of ``n_test`` fresh sequences (the same for all) have |error| >= 0.04."""
    n = params["W_o"].shape[0]
    X, D, M, L = runner.per_trial(tasks.adding(setup["T"], setup["n_test"], rng), 1)
    order = np.tile(np.arange(setup["n_test"]), (n, 1))
    _, worst, _, _, _ = engine.run(topo, params, *(np.repeat(a, n, axis=0) for a in (X, D, M, L)),
                                   order, mode=engine.FORWARD)
    return (worst >= setup["correct_bound"]).sum(axis=1)


def run(setup, seed, progress=None, checkpoint=None):
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n, chunk = setup["trials"], setup["record_every"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], in_bias=setup["in_bias"])
    window = engine.Window(n, setup["window"], setup["correct_bound"], setup["mean_bound"])
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    start, seen, stopped_by = time.perf_counter(), 0, "max_sequences"
    history = []
    bar = progress(setup["max_sequences"], f"adding T={setup['T']}") if progress else None

    def outcome(stop, test=None):
        return runner.outcome(solved_at, setup, seen, active, stop, topo, history,
                              test_wrong=test, recent_mean_abs_error=runner.nan_to_none(
                                  np.nanmean(window.recent(), axis=1)))
    try:
        while seen < setup["max_sequences"] and active.any():
            k = min(chunk, setup["max_sequences"] - seen)
            *data, order = runner.fresh(lambda m: tasks.adding(setup["T"], m, rng), n, k, active)
            _, worst, _, _, stopped = engine.run(topo, params, *data, order, setup["lr"],
                                                 window=window)
            for trial in np.flatnonzero(stopped >= 0):
                solved_at[trial] = seen + int(stopped[trial]) + 1
                worst[trial, stopped[trial] + 1:] = np.nan
            seen += k
            history.append({"sequences": seen,
                            "mean_abs_error": runner.nan_to_none(
                                np.where(active, np.nanmean(worst, axis=1), np.nan))})
            active &= stopped < 0
            if bar:
                bar.update(k, solved=n - int(active.sum()))
            if checkpoint:
                checkpoint(lambda: outcome("running"))
            if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
                stopped_by = "max_seconds"
                break
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    if bar:
        bar.close(solved=n - int(active.sum()))
    return outcome(stopped_by, test_wrong(topo, params, setup, rng).tolist())
