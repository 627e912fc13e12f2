"""Experiment 1 of Hochreiter & Schmidhuber (1997): the embedded Reber grammar.

Every trial is its own network with its own 256 training and 256 test strings. Training strings are
presented in a fresh random order each epoch, one weight update after every symbol. After every
``check_every`` sequences each unsolved network is frozen and tested: it has succeeded when, for
every symbol of every training and test string, the legal next symbols are its most active outputs.
The test stops at a network's first wrong string and starts the next test with that string, which
gives the same verdict at a fraction of the cost, so that ``check_every=1`` (a test after every
string) is affordable; every ``record_every`` sequences all strings are counted for the curve.

Settings for the paper's open questions: ``squashing`` "text" (Sec. 5.1 and App. A.1: g in [-2, 2],
h in [-1, 1]) or "table10" (the legend of Table 10: h in [-2, 2], g in [-1, 1]); ``in_bias_scale``
draws the input-gate biases from [-s, s] instead of [-init_scale, init_scale]; ``current_gates``
computes a step in the order of the paper's Sec. 5 (input gates, output gates, cells), each unit
reading this step's activations of the gates before it (``Topology(current_gates=True)``).
"""

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo

SQUASHING = {"text": {"g_range": (-2.0, 2.0), "h_range": (-1.0, 1.0)},
             "table10": {"g_range": (-1.0, 1.0), "h_range": (-2.0, 2.0)}}

FULL = {"blocks": 3, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.2,
        "out_bias": [-1.0, -2.0, -3.0], "in_bias_scale": None, "n_train": 256, "n_test": 256,
        "trials": 30, "max_sequences": 100_000, "check_every": 256, "record_every": 2560,
        "max_seconds": None, "gate_feedback": True, "unit_biases": False, "squashing": "text",
        "current_gates": False}
REDUCED = {**FULL, "trials": 10, "max_sequences": 20_480, "record_every": 1024}

PAPER = {"table": "Table 1", "row": "LSTM, 3 blocks x 2 cells, lr 0.5", "weights": 276,
         "trials": 30, "success_rate": 1.00, "mean_sequences": 8440}
#: every LSTM row of Table 1: (blocks, cells per block, lr) -> (% success, mean sequences)
PAPER_ROWS = {(4, 1, 0.1): (100, 39_740), (3, 2, 0.1): (100, 21_730), (3, 2, 0.2): (97, 14_060),
              (4, 1, 0.5): (97, 9_500), (3, 2, 0.5): (100, 8_440)}


def topology(setup):
    # the 1997 hidden layer is fully connected: gates and cells also see the gates of tau - 1;
    # unit_biases=False biases the gates only, as the paper's weight counts imply
    return lo.Topology(n_in=7, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=7, gate_feedback=setup.get("gate_feedback", False),
                       unit_biases=setup.get("unit_biases", True),
                       current_gates=setup.get("current_gates", False),
                       **SQUASHING[setup.get("squashing", "text")])


def init(topo, setup, rng):
    n = setup["trials"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], out_bias=setup["out_bias"])
    if setup.get("in_bias_scale") is not None:
        params["W_in"][:, :, 0] = rng.uniform(-setup["in_bias_scale"], setup["in_bias_scale"],
                                              size=(n, topo.n_blocks))
    return params


def string_sets(setup, rng):
    """Each network's training strings and its check set (training then test strings), as engine
    arrays: (X, D, M, L, legal) with a leading trial axis."""
    n = setup["trials"]
    train = tasks.embedded_reber(n * setup["n_train"], rng)
    test = tasks.embedded_reber(n * setup["n_test"], rng)
    steps = max(train.x.shape[0], test.x.shape[0])
    sets = []
    for batch in (train, test):
        pad = ((0, steps - batch.x.shape[0]), (0, 0), (0, 0))
        padded = tasks.Batch(np.pad(batch.x, pad), np.pad(batch.d, pad), np.pad(batch.mask, pad[:2]),
                             batch.lengths, np.pad(batch.legal, pad))
        X, D, M, L = runner.per_trial(padded, n)
        legal = runner.per_trial(tasks.Batch(padded.legal, padded.d, padded.mask, padded.lengths), n)[0]
        sets.append((X, D, M, L, legal))
    check = tuple(np.concatenate(pair, axis=1) for pair in zip(*sets))
    return sets[0], check


def run(setup, seed, progress=None, checkpoint=None):
    """Train ``setup["trials"]`` networks; returns the outcome dict for the record."""
    if setup["record_every"] % setup["check_every"]:
        raise ValueError(f"record_every ({setup['record_every']}) must be a multiple of check_every "
                         f"({setup['check_every']})")
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n, n_train = setup["trials"], setup["n_train"]
    params = init(topo, setup, rng)
    (X, D, M, L, _), (cX, _, _, cL, c_legal) = string_sets(setup, rng)
    n_check = cX.shape[1]

    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    first_wrong = np.zeros(n, dtype=int)      # the string the next test starts with
    fraction, history = np.zeros(n), []
    perm, pos = None, n_train

    def outcome(seen, stop):
        return runner.outcome(solved_at, setup, seen, active, stop, topo, history)

    def block(seen):
        nonlocal perm, pos
        k = min(setup["check_every"], setup["max_sequences"] - seen)
        order = np.empty((n, k), dtype=int)
        for j in range(k):   # each network's strings in a fresh random order every epoch
            if pos == n_train:
                perm, pos = np.stack([rng.permutation(n_train) for _ in range(n)]), 0
            order[:, j] = perm[:, pos]
            pos += 1
        order[~active] = -1
        engine.run(topo, params, X, D, M, L, order, setup["lr"])
        seen += k
        if seen % setup["check_every"] == 0:
            test_networks(seen)
        return k

    def test_networks(seen):
        rest = np.arange(n_check)[None] != first_wrong[:, None]
        check = np.concatenate([first_wrong[:, None],
                                np.arange(n_check)[None].repeat(n, 0)[rest].reshape(n, -1)], 1)
        check[~active] = -1
        verdict = engine.legal_predicted(topo, params, cX, c_legal, cL, check, stop_at_first=True)
        wrong = verdict == 0
        has_wrong = wrong.any(axis=1)
        first_wrong[has_wrong] = check[has_wrong, wrong[has_wrong].argmax(axis=1)]
        done = active & ~has_wrong
        for trial in np.flatnonzero(done):
            solved_at[trial] = seen
        if seen % setup["record_every"] == 0 or done.any():
            every = np.where(active[:, None], np.arange(n_check)[None], -1)
            counted = engine.legal_predicted(topo, params, cX, c_legal, cL, every)
            fraction[active] = (counted[active] == 1).mean(axis=1)
            history.append({"sequences": seen, "fraction_strings_correct": fraction.tolist()})
        active[done] = False

    seen, stopped_by = runner.train_in_blocks(block, active, setup["max_sequences"], "reber", setup,
                                              progress, checkpoint, outcome)
    return outcome(seen, stopped_by)
