"""Experiment 4 of Hochreiter & Schmidhuber (1997): the adding problem.

Each step is a pair (value in [-1, 1], marker); two pairs are marked and the single target, at the
last step, is 0.5 + (X1 + X2) / 4. A sequence is correct if its absolute error is below 0.04.
Training stops once the 2,000 most recent sequences were all correct and their mean absolute
error is below 0.01 (checked after every sequence, inside the compiled loop); the trained network
is then tested on 2,560 fresh sequences. The paper sets no cap; ``max_sequences`` is ours.
"""

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import reber, runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo
from lstmlab.numpy.activations import sigmoid

FULL = {"T": 100, "blocks": 2, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.1,
        "in_bias": [-3.0, -6.0], "trials": 10, "window": 2000, "correct_bound": 0.04,
        "mean_bound": 0.01, "n_test": 2560, "max_sequences": 3_000_000, "max_seconds": None,
        "record_every": 1000, "gate_feedback": True, "squashing": "text",
        "unit_biases": True}
REDUCED = {**FULL, "T": 20, "trials": 3, "window": 500, "n_test": 512, "max_sequences": 6000,
           "record_every": 250}

#: what Table 7 says for every T; :func:`paper` adds the row of one T
PAPER = {"table": "Table 7", "weights": 93, "trials": 10, "success_rate": None}
#: Table 7, every row: T -> (wrong of 2,560, mean sequences to success)
PAPER_ROWS = {100: (1, 74_000), 500: (0, 209_000), 1000: (1, 853_000)}


def paper(setup):
    """The paper's numbers for the setup's T (Table 7), None for a T the paper did not run."""
    if setup["T"] not in PAPER_ROWS:
        return None
    wrong, mean = PAPER_ROWS[setup["T"]]
    return {**PAPER, "row": f"T = {setup['T']} (minimal lag {setup['T'] // 2})",
            "mean_sequences": mean, "wrong_of_2560": wrong}


def expected_wait(q, window):
    """Expected training sequences until ``window`` sequences in a row are correct when each is wrong
    with probability ``q``, independently: (1 - p^n) / (q p^n) with p = 1 - q, n = ``window``. Once a
    network has learnt the task, this is how long the stop rule keeps it training."""
    q = np.asarray(q, dtype=float)
    p = (1.0 - q) ** window
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(q > 0, (1.0 - p) / np.where(q > 0, q * p, 1.0), float(window))


def sum_density(grid):
    """Density of X1 + X2 on ``grid``: triangular on [-2, 2], except that X1 = 0 when the first
    pair is marked (probability 1/10), which leaves X2 alone, uniform on [-1, 1]."""
    triangle = np.clip(2.0 - np.abs(grid), 0.0, None) / 4.0
    uniform = (np.abs(grid) <= 1.0) / 2.0
    return 0.9 * triangle + 0.1 * uniform


def linear_readout_floor(bound=0.04, n=4001):
    """The smallest share of sequences that an output sigma(c (X1 + X2) + b) gets wrong, over all c
    and b: what a network that stores the sum and reads it out through a fixed linear map must
    miss, because the target 0.5 + (X1 + X2) / 4 bends away from the sigmoid near 0 and 1.
    Returns (share, c, b)."""
    grid = np.linspace(-2.0, 2.0, n)
    weight = sum_density(grid) * (grid[1] - grid[0])
    target = 0.5 + grid / 4.0
    best = (np.inf, None, None)
    for c in np.linspace(0.5, 3.0, 251):
        for b in np.linspace(-0.5, 0.5, 101):
            wrong = np.abs(sigmoid(c * grid + b) - target) >= bound
            share = float(weight[wrong].sum())
            if share < best[0]:
                best = (share, float(c), float(b))
    return best

def topology(setup):
    # the fully connected hidden layer of 1997 (93 weights): gates and cells see tau - 1's gates
    return lo.Topology(n_in=2, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=1, gate_feedback=setup.get("gate_feedback", False),
                       unit_biases=setup.get("unit_biases", True),
                       **reber.SQUASHING[setup.get("squashing", "text")])


def test_wrong(topo, params, batch, bound):
    """Per network: how many sequences of ``batch`` (the same for all) have an error >= ``bound``."""
    n, m = params["W_o"].shape[0], len(batch.lengths)
    X, D, M, L = runner.per_trial(batch, 1)
    _, worst, _, _, _ = engine.run(topo, params, *(np.repeat(a, n, axis=0) for a in (X, D, M, L)),
                                   np.tile(np.arange(m), (n, 1)), mode=engine.FORWARD)
    return (worst >= bound).sum(axis=1)


def train_to_stop_rule(topo, params, setup, make, desc, progress=None, checkpoint=None):
    """On-line training on fresh sequences (``make(count)`` -> a task batch) until each network
    meets the stop rule of Experiments 4 and 6; then ``n_test`` fresh sequences test it. Returns
    the outcome dict; the curve holds, per block of ``record_every`` sequences and network, the
    mean largest error and the fraction of sequences wrong."""
    n, chunk = setup["trials"], setup["record_every"]
    window = engine.Window(n, setup["window"], setup["correct_bound"], setup["mean_bound"])
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    history = []

    def outcome(seen, stop, test=None):
        return runner.outcome(solved_at, setup, seen, active, stop, topo, history,
                              test_wrong=test, recent_mean_abs_error=runner.nan_to_none(
                                  np.nanmean(window.recent(), axis=1)))

    def block(seen):
        k = min(chunk, setup["max_sequences"] - seen)
        *data, order = runner.fresh(make, n, k, active)
        _, worst, _, _, stopped = engine.run(topo, params, *data, order, setup["lr"], window=window)
        for trial in np.flatnonzero(stopped >= 0):
            solved_at[trial] = seen + int(stopped[trial]) + 1
            worst[trial, stopped[trial] + 1:] = np.nan
        wrong = np.where(np.isnan(worst), np.nan, worst >= setup["correct_bound"])
        history.append({"sequences": seen + k, **{key: runner.nan_to_none(
            np.where(active, np.nanmean(values, axis=1), np.nan))
            for key, values in (("mean_abs_error", worst), ("fraction_wrong", wrong))}})
        active[stopped >= 0] = False
        return k

    seen, stopped_by = runner.train_in_blocks(block, active, setup["max_sequences"], desc, setup,
                                              progress, checkpoint, outcome)
    test = test_wrong(topo, params, make(setup["n_test"]), setup["correct_bound"])
    return outcome(seen, stopped_by, test.tolist())


def run(setup, seed, progress=None, checkpoint=None):
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    params = lo.init_params(topo, setup["trials"], rng, scale=setup["init_scale"],
                            in_bias=setup["in_bias"])
    return train_to_stop_rule(topo, params, setup, lambda m: tasks.adding(setup["T"], m, rng),
                              f"adding T={setup['T']}", progress, checkpoint)
