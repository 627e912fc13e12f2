"""Gers, Schmidhuber & Cummins (2000): the continual embedded Reber grammar: the standard LSTM,
the standard LSTM with an external reset at every string, and the LSTM with forget gates.

One unbroken stream of embedded Reber strings, no reset between strings (except in the external
reset variant, which is reset at every string's opening B: the task then falls apart into the
strings of Experiment 1). As in the paper, a training stream ends at the network's first wrong
prediction (the legal next symbols are not its most active outputs); the network is then reset
and a new training stream starts with a fresh string. Weights change after every symbol (the
truncated hybrid gradient, compiled: lstmlab.numpy.lstm1997_engine). Every ``test_every`` training
symbols each unsolved network is frozen and run on ``n_test`` test streams of ``test_length``
symbols: it is "perfect" when it predicts all of them without an error, "good" when its mean
error-free length exceeds 1,000 symbols.

The paper's perfect solution means 10 test streams of 100,000 symbols.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo

FULL = {"blocks": 4, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.2,
        "in_bias": [-0.5, -1.0, -1.5, -2.0], "out_bias": [-0.5, -1.0, -1.5, -2.0],
        "phi_bias": [0.5, 1.0, 1.5, 2.0], "trials": 10, "n_test": 10, "test_length": 100_000,
        "test_every": 20_000, "max_symbols": 2_000_000, "max_seconds": None, "good_length": 1000,
        "buffer": 4096}
REDUCED = {**FULL, "trials": 3, "n_test": 2, "test_length": 2000, "test_every": 10_000,
           "max_symbols": 80_000}

PAPER = {"table": "Gers et al. 2000, Table 2", "networks": 100,
         "standard LSTM with external reset": {"perfect": 0.74, "good": 0.0, "rest": 0.26,
                                               "mean_streams": 7_441},
         "standard LSTM": {"perfect": 0.0, "good": 0.01, "rest": 0.99},
         "LSTM with forget gates": {"perfect": 0.18, "good": 0.29, "rest": 0.53,
                                    "mean_streams": 18_889}}

#: name -> (forget gates, reset at every string)
VARIANTS = {"LSTM with forget gates": (True, False), "standard LSTM with external reset": (False, True),
            "standard LSTM": (False, False)}


def topology(setup, forget_gate):
    return lo.Topology(n_in=7, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=7, forget_gate=forget_gate)


class Streams:
    """One endless continual-Reber training stream per network, in buffers of ``length`` symbols.

    A buffer is refilled with a fresh stream when its reader reaches the opening B of its last
    (possibly cut) string, so that the symbols read are always one unbroken grammatical stream.
    """

    def __init__(self, n, length, rng):
        self.length, self.rng = length, rng
        self.x = np.zeros((n, length, 7))
        self.d = np.zeros((n, length, 7))
        self.legal = np.zeros((n, length, 7))
        self.starts = np.zeros((n, length), dtype=bool)
        self.limit = np.zeros(n, dtype=np.int64)
        self.pos = np.zeros(n, dtype=np.int64)
        for k in range(n):
            self._refill(k)

    def _refill(self, k):
        batch = tasks.continual_embedded_reber(self.length, self.rng)
        self.x[k], self.d[k], self.legal[k] = batch.x[:, 0], batch.d[:, 0], batch.legal[:, 0]
        self.starts[k] = batch.info["starts"][:, 0] > 0
        self.limit[k] = np.flatnonzero(self.starts[k])[-1]
        self.pos[k] = 0

    def refill_spent(self):
        for k in np.flatnonzero(self.pos >= self.limit):
            self._refill(k)


def train_variant(setup, forget_gate, reset, rng, name, progress, checkpoint, record_so_far):
    topo = topology(setup, forget_gate)
    n = setup["trials"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], in_bias=setup["in_bias"],
                            out_bias=setup["out_bias"],
                            phi_bias=setup["phi_bias"] if forget_gate else None)
    test_set = tasks.continual_embedded_reber(setup["test_length"], rng, setup["n_test"])
    test_x, test_legal = (np.moveaxis(a, 1, 0) for a in (test_set.x, test_set.legal))
    test_starts = test_set.info["starts"].T > 0
    streams = Streams(n, setup["buffer"], rng)
    state = engine.stream_state(topo, n)
    finished = np.zeros(n, dtype=np.int64)     # training streams ended by an error so far
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    lengths = np.zeros((n, setup["n_test"]), dtype=int)
    history = []

    def test(symbols, idx):
        lengths[idx] = engine.error_free_lengths(topo, runner.select(params, idx), test_x,
                                                 test_legal, test_starts, reset)
        perfect = np.all(lengths[idx] == setup["test_length"], axis=1)
        for k in idx[perfect]:
            solved_at[k] = int(finished[k]) + 1   # streams presented, the current one included
        active[idx[perfect]] = False
        history.append({"symbols": symbols, "mean_error_free_length": lengths.mean(axis=1).tolist()})

    def block(symbols):
        budget = min(setup["test_every"] - symbols % setup["test_every"],
                     setup["max_symbols"] - symbols)
        done = np.where(active, 0, budget).astype(np.int64)
        while (done < budget).any():
            engine.learn_streams(topo, params, streams.x, streams.d, streams.legal,
                                 streams.starts, streams.limit, streams.pos, budget,
                                 setup["lr"], state, done, finished, reset)
            streams.refill_spent()
        if (symbols + budget) % setup["test_every"] == 0:
            test(symbols + budget, np.flatnonzero(active))
        return budget

    symbols, stopped_by = runner.train_in_blocks(block, active, setup["max_symbols"], name, setup,
                                                 progress, checkpoint, record_so_far, "max_symbols",
                                                 label="perfect")
    if symbols % setup["test_every"] and active.any():
        test(symbols, np.flatnonzero(active))
    return topo, solved_at, lengths, finished, symbols, stopped_by, history


def run(setup, seed, progress=None, checkpoint=None):
    rng = np.random.default_rng(seed)
    outcome = {"variants": {}, "stopped_by": "running"}
    for name, (forget_gate, reset) in VARIANTS.items():
        start = time.perf_counter()
        topo, solved_at, lengths, finished, symbols, stopped_by, history = train_variant(
            setup, forget_gate, reset, rng, name, progress, checkpoint, lambda *_: outcome)
        mean_length = lengths.mean(axis=1)
        perfect = np.array([v is not None for v in solved_at])
        good = ~perfect & (mean_length > setup["good_length"])
        n = len(solved_at)
        result = runner.summarise(solved_at, None)
        result.update({
            "streams_to_solution": solved_at,
            "perfect": float(perfect.mean()), "good": float(good.mean()),
            "rest": float(1.0 - perfect.mean() - good.mean()),
            "mean_error_free_test_length": mean_length.tolist(),
            "training_streams": finished.tolist(), "symbols_per_network": symbols,
            "stopped_by": "all perfect" if perfect.all() else stopped_by,
            "wall_time_s": round(time.perf_counter() - start, 2),
            "weights_per_network": topo.n_weights, "networks": n,
            "test_history": history})
        del result["sequences_to_success"], result["cap_sequences"]
        outcome["variants"][name] = result
        if checkpoint:   # a record after each variant, in case the run is stopped
            checkpoint.last = -np.inf
            checkpoint(lambda: outcome)
        if stopped_by == "interrupted":
            break
    outcome["stopped_by"] = "interrupted" if stopped_by == "interrupted" else "done"
    return outcome
