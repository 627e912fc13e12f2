"""Experiment 1 of Hochreiter & Schmidhuber (1997): the embedded Reber grammar.

Every trial is its own network with its own 256 training and 256 test strings. Training strings are
presented in a fresh random order each epoch, one weight update after every symbol. After every
``check_every`` sequences each unsolved network is frozen and tested: it has succeeded when, for
every symbol of every training and test string, the legal next symbols are its most active outputs.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm_original as lo

FULL = {"blocks": 3, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.2,
        "out_bias": [-1.0, -2.0, -3.0], "n_train": 256, "n_test": 256, "trials": 30,
        "max_sequences": 100_000, "check_every": 256,
        "max_seconds": None, "gate_feedback": True, "unit_biases": True}
REDUCED = {**FULL, "trials": 3, "max_sequences": 12_288, "check_every": 512}

PAPER = {"table": "Table 1", "row": "LSTM, 3 blocks x 2 cells, lr 0.5", "weights": 276,
         "trials": 30, "success_rate": 1.00, "mean_sequences": 8440}


def topology(setup):
    # the 1997 hidden layer is fully connected: gates and cells also see the gates of tau - 1;
    # unit_biases=False biases the gates only, as the paper's weight counts imply
    return lo.Topology(n_in=7, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=7, gate_feedback=setup.get("gate_feedback", False),
                       unit_biases=setup.get("unit_biases", True))


def strings_predicted(topo, params, x, legal, per_trial):
    """Per network and string: are the legal next symbols the most active outputs at every step?

    x, legal: (T, N * per_trial, 7), each network's strings side by side (trial-major).
    Returns a bool array (N, per_trial).
    """
    n = params["W_o"].shape[0]
    y, _ = lo.forward(topo, runner.tile_params(params, per_trial), x)
    return np.all(runner.legal_most_active(y, legal), axis=0).reshape(n, per_trial)


def all_predicted(topo, params, x, legal, per_trial):
    """Per network: the 1997 success criterion, every string of its own set predicted."""
    return strings_predicted(topo, params, x, legal, per_trial).all(axis=1)


def run(setup, seed, progress=None):
    """Train ``setup["trials"]`` networks in lock-step; returns the outcome dict for the record."""
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n, n_train = setup["trials"], setup["n_train"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], out_bias=setup["out_bias"])
    train = tasks.embedded_reber(n * n_train, rng)
    test = tasks.embedded_reber(n * setup["n_test"], rng)
    x, legal = _check_set(train, test, n)
    per_trial = n_train + setup["n_test"]

    solved_at = [None] * n
    start, seen, stopped_by = time.perf_counter(), 0, "max_sequences"
    active = np.ones(n, dtype=bool)
    fraction, history = np.zeros(n), []
    bar = progress(setup["max_sequences"], "reber") if progress else None
    while seen < setup["max_sequences"] and active.any():
        perm = np.stack([k * n_train + rng.permutation(n_train) for k in range(n)])
        for j in range(n_train):
            cols = perm[:, j]
            steps = int(train.lengths[cols].max())
            rate = np.where(active, setup["lr"], 0.0)
            lo.learn_online(topo, params, train.x[:steps, cols], train.d[:steps, cols],
                            train.mask[:steps, cols], rate)
            seen += 1
            if seen % setup["check_every"] == 0:
                idx = np.flatnonzero(active)
                cols_chk = (idx[:, None] * per_trial + np.arange(per_trial)).ravel()
                ok = strings_predicted(topo, runner.select(params, idx), x[:, cols_chk],
                                       legal[:, cols_chk], per_trial)
                fraction[idx] = ok.mean(axis=1)
                history.append({"sequences": seen, "fraction_strings_correct": fraction.tolist()})
                done = ok.all(axis=1)
                for k in idx[done]:
                    solved_at[k] = seen
                active[idx[done]] = False
            if bar:
                bar.update(1, solved=n - int(active.sum()))
            if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
                stopped_by = "max_seconds"
            if seen >= setup["max_sequences"] or not active.any() or stopped_by == "max_seconds":
                break
        if stopped_by == "max_seconds":
            break
    if bar:
        bar.close(solved=n - int(active.sum()))
    return runner.outcome(solved_at, setup, seen, active, stopped_by, topo, history)


def _check_set(train, test, n):
    """Inputs and legal sets of every network's training and test strings, trial-major, padded."""
    steps = max(train.x.shape[0], test.x.shape[0])

    def per_trial(m):
        m = np.pad(m, ((0, steps - m.shape[0]), (0, 0), (0, 0)))
        return m.reshape(steps, n, -1, m.shape[2])

    x = np.concatenate([per_trial(train.x), per_trial(test.x)], axis=2)
    legal = np.concatenate([per_trial(train.legal), per_trial(test.legal)], axis=2)
    return x.reshape(steps, -1, 7), legal.reshape(steps, -1, 7)
