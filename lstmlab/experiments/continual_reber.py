"""Gers, Schmidhuber & Cummins (2000): the continual embedded Reber grammar, with and without
forget gates.

One unbroken stream of embedded Reber strings, no reset between strings. As in the paper, a
training stream ends at the network's first wrong prediction (the legal next symbols are not its
most active outputs); the network is then reset and a new training stream starts with a fresh
string. Weights change after every symbol (the truncated hybrid gradient). Every ``test_every``
training symbols each unsolved network is frozen and run on ``n_test`` test streams of
``test_length`` symbols: it is "perfect" when it predicts all of them without an error, "good"
when its mean error-free length exceeds 1,000 symbols.

The paper's perfect solution means 10 test streams of 100,000 symbols. The same variant is trained
twice, without and with forget gates, in two batches of networks.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm_original as lo

FULL = {"blocks": 4, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.2,
        "in_bias": [-0.5, -1.0, -1.5, -2.0], "out_bias": [-0.5, -1.0, -1.5, -2.0],
        "phi_bias": [0.5, 1.0, 1.5, 2.0], "trials": 10, "n_test": 10, "test_length": 100_000,
        "test_every": 20_000, "max_symbols": 2_000_000, "max_seconds": None, "good_length": 1000,
        "buffer": 4096}
REDUCED = {**FULL, "trials": 3, "n_test": 2, "test_length": 2000, "test_every": 10_000,
           "max_symbols": 80_000}

PAPER = {"table": "Gers et al. 2000, Table 2", "networks": 100,
         "standard LSTM": {"perfect": 0.0, "good": 0.01, "rest": 0.99},
         "LSTM with forget gates": {"perfect": 0.18, "good": 0.29, "rest": 0.53,
                                    "mean_streams": 18_889}}

VARIANTS = {"standard LSTM": False, "LSTM with forget gates": True}


def topology(setup, forget_gate):
    return lo.Topology(n_in=7, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=7, forget_gate=forget_gate)


class Streams:
    """One endless continual-Reber training stream per network, read one symbol at a time.

    Each column is refilled with a fresh stream when its reader reaches the opening B of the last
    (possibly cut) string, so that the symbols read are always one unbroken grammatical stream.
    """

    def __init__(self, n, length, rng):
        self.length, self.rng = length, rng
        self.x = np.zeros((length, n, 7))
        self.d = np.zeros((length, n, 7))
        self.legal = np.zeros((length, n, 7))
        self.starts = np.zeros((length, n), dtype=bool)
        self.limit = np.zeros(n, dtype=int)
        self.pos = np.zeros(n, dtype=int)
        for k in range(n):
            self._refill(k)

    def _refill(self, k):
        batch = tasks.continual_embedded_reber(self.length, self.rng)
        self.x[:, k], self.d[:, k], self.legal[:, k] = batch.x[:, 0], batch.d[:, 0], batch.legal[:, 0]
        self.starts[:, k] = batch.info["starts"][:, 0] > 0
        self.limit[k] = np.flatnonzero(self.starts[:, k])[-1]
        self.pos[k] = 0

    def current(self):
        cols = np.arange(len(self.pos))
        return self.x[self.pos, cols], self.d[self.pos, cols], self.legal[self.pos, cols]

    def advance(self, restart):
        """Step every reader by one symbol; those in ``restart`` jump to the next string's B."""
        self.pos += 1
        for k in np.flatnonzero(restart):
            later = np.flatnonzero(self.starts[self.pos[k]:, k])
            self.pos[k] += later[0] if len(later) else self.length
        for k in np.flatnonzero(self.pos >= self.limit):
            self._refill(k)


def error_free_lengths(topo, params, x, legal):
    """Frozen networks (N) on shared test streams x, legal (L, S, 7): symbols predicted before the
    first error of each stream, (N, S). Stops early once every stream has had its error."""
    n, n_streams = params["W_o"].shape[0], x.shape[1]
    tiled = runner.tile_params(params, n_streams)
    length = np.full(n * n_streams, x.shape[0])
    alive = np.ones(n * n_streams, dtype=bool)
    s, r = np.zeros((n * n_streams, topo.n_cells)), np.zeros((n * n_streams, topo.n_recurrent))
    for t in range(x.shape[0]):
        act = lo.step_forward(topo, tiled, np.tile(x[t], (n, 1)), s, r)
        s, r = act["s"], act["r"]
        ok = runner.legal_most_active(act["y_o"][None], np.tile(legal[t], (n, 1))[None])[0]
        wrong = alive & ~ok
        length[wrong] = t
        alive &= ok
        if not alive.any():
            break
    return length.reshape(n, n_streams)


def train_variant(setup, forget_gate, rng, bar, start):
    topo = topology(setup, forget_gate)
    n = setup["trials"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"], in_bias=setup["in_bias"],
                            out_bias=setup["out_bias"],
                            phi_bias=setup["phi_bias"] if forget_gate else None)
    test_set = tasks.continual_embedded_reber(setup["test_length"], rng, setup["n_test"])
    streams = Streams(n, setup["buffer"], rng)
    state = lo.init_hybrid_state(topo, n)
    finished = np.zeros(n, dtype=int)     # training streams ended by an error so far
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    lengths = np.zeros((n, setup["n_test"]), dtype=int)
    symbols, stopped_by = 0, "max_symbols"
    history = []
    ones = np.ones(n)

    def test(idx):
        lengths[idx] = error_free_lengths(topo, runner.select(params, idx), test_set.x, test_set.legal)
        perfect = np.all(lengths[idx] == setup["test_length"], axis=1)
        for k in idx[perfect]:
            solved_at[k] = int(finished[k]) + 1   # streams presented, the current one included
        active[idx[perfect]] = False
        history.append({"symbols": symbols, "mean_error_free_length": lengths.mean(axis=1).tolist()})

    while symbols < setup["max_symbols"] and active.any():
        x_t, d_t, legal_t = streams.current()
        y, grads, state = lo.hybrid_step(topo, params, state, x_t, d_t, ones)
        rate = np.where(active, setup["lr"], 0.0)[:, None, None]
        for name, g in grads.items():
            params[name] -= rate * g
        wrong = ~runner.legal_most_active(y[None], legal_t[None])[0]
        finished += wrong & active
        for value in state.values():   # a new training stream starts from a reset network
            value[wrong] = 0.0
        streams.advance(wrong)
        symbols += 1
        if symbols % setup["test_every"] == 0:
            test(np.flatnonzero(active))
        if bar:
            bar.update(1, perfect=sum(v is not None for v in solved_at))
        if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
            stopped_by = "max_seconds"
            break
    if symbols % setup["test_every"] and active.any():
        test(np.flatnonzero(active))
    return topo, solved_at, lengths, finished, symbols, stopped_by, history


def run(setup, seed, progress=None):
    rng = np.random.default_rng(seed)
    outcome = {"variants": {}}
    for name, forget_gate in VARIANTS.items():
        bar = progress(setup["max_symbols"], name) if progress else None
        start = time.perf_counter()
        topo, solved_at, lengths, finished, symbols, stopped_by, history = train_variant(
            setup, forget_gate, rng, bar, start)
        if bar:
            bar.close(perfect=sum(v is not None for v in solved_at))
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
    return outcome
