"""Experiment 2a of Hochreiter & Schmidhuber (1997): noise-free sequences with long time lags.

Two sequences, (y, a_1, ..., a_{p-1}, y) and (x, a_1, ..., a_{p-1}, x), each drawn with probability
1/2; next-symbol targets at every step. One memory cell with an input gate and no output gate, the
identity as cell output squashing; the output units also see the inputs (the a_k are predicted
from the current input, only the last target needs the memory).

The paper's conditions (the full setup): g is the logistic sigmoid, no unit has a bias, cell and
gate see the inputs only (10,504 weights at p = 100), and the cell is added "once the error has
stopped decreasing" (Sec. 4, the remedy for the abuse problem): with ``add_cell`` "when the error
stops decreasing" the output units do not see the cell (nor teach it) until the mean error of a
block of ``join_window`` training sequences is not below the block before; the paper gives no
more detail, this rule is ours.

Success: the maximal absolute output error over 10,000 random test sequences is below 0.25. Both
sequences are deterministic, so such a sample tests exactly the two sequences (it contains both
with probability 1 - 2^-9999); the check runs the frozen network on the two and is therefore the
full-size criterion at a fraction of the cost.
"""

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import runner
from lstmlab.numpy import lstm1997_engine as engine
from lstmlab.numpy import lstm_original as lo

ADD_CELL = ("from the start", "when the error stops decreasing")
#: where the success bound applies: Table 11 defines 2a's criterion ABS(0.25) as "absolute error of
#: all output units at sequence end"; the text of Sec. 5.2 says "always"
SUCCESS_AT = ("sequence end", "every step")

# record_every: the learning curve keeps the errors of every such check (a multiple of check_every)
FULL = {"p": 100, "lr": 1.0, "init_scale": 0.2, "trials": 18, "max_sequences": 5_000_000,
        "check_every": 20, "record_every": 1000, "bound": 0.25, "max_seconds": None,
        "g_range": [0.0, 1.0], "unit_biases": False, "gate_biases": False, "recurrent": False,
        "add_cell": "when the error stops decreasing", "join_window": 20, "success_at": "sequence end"}
REDUCED = {**FULL, "p": 20, "trials": 6, "max_sequences": 20_000, "record_every": 100}

PAPER = {"table": "Table 2", "row": "LSTM, p = 100, lr 1.0", "trials": 18, "success_rate": 1.00,
         "mean_sequences": 5040, "cap_sequences": 5_000_000, "weights": 10_504}


def topology(setup):
    p = setup["p"]
    return lo.Topology(n_in=p + 1, n_blocks=1, cells_per_block=1, n_out=p + 1, output_gate=False,
                       cell_output="identity", input_to_output=True,
                       unit_biases=setup.get("unit_biases", True),
                       gate_biases=setup.get("gate_biases", True),
                       recurrent=setup.get("recurrent", True),
                       g_range=tuple(setup.get("g_range", (-2.0, 2.0))))


def both_sequences(p, rng):
    """A batch holding the two sequences of the task, x-first then y-first."""
    batch = tasks.long_lag(p, 64, rng)
    cols = [int(np.flatnonzero(batch.info["first"] == p - 1)[0]),
            int(np.flatnonzero(batch.info["first"] == p)[0])]
    return tasks.Batch(batch.x[:, cols], batch.d[:, cols], batch.mask[:, cols], batch.lengths[cols])


def at_sequence_end(pair):
    """The pair with its targets masked to the last step: the success check of Table 11."""
    mask = np.zeros_like(pair.mask)
    mask[pair.lengths - 1, np.arange(len(pair.lengths))] = 1.0
    return tasks.Batch(pair.x, pair.d, mask, pair.lengths)


def worst_errors(topo, params, pair, joined=None):
    """Per network: the largest absolute output error over both sequences, every output and step."""
    n = params["W_o"].shape[0]
    data = (np.repeat(a, n, axis=0) for a in runner.per_trial(pair, 1))
    _, worst, _, _, _ = engine.run(topo, params, *data, np.tile([0, 1], (n, 1)),
                                   mode=engine.FORWARD, joined=joined)
    return worst.max(axis=1)


def solved(topo, params, pair, bound):
    """Per network: is the largest absolute output error on both sequences below ``bound``?"""
    return worst_errors(topo, params, pair) < bound


def run(setup, seed, progress=None, checkpoint=None):
    if setup["record_every"] % setup["check_every"] or setup["join_window"] % setup["check_every"]:
        raise ValueError(f"record_every ({setup['record_every']}) and join_window "
                         f"({setup['join_window']}) must be multiples of check_every "
                         f"({setup['check_every']}): the errors are measured at the checks")
    if setup["add_cell"] not in ADD_CELL:
        raise ValueError(f"add_cell must be one of {ADD_CELL}, got {setup['add_cell']!r}")
    # records made before the setting existed checked every step
    success_at = setup.get("success_at", "every step")
    if success_at not in SUCCESS_AT:
        raise ValueError(f"success_at must be one of {SUCCESS_AT}, got {success_at!r}")
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    n, p = setup["trials"], setup["p"]
    params = lo.init_params(topo, n, rng, scale=setup["init_scale"])
    pair = both_sequences(p, rng)
    data = [np.repeat(a, n, axis=0) for a in runner.per_trial(pair, 1)]
    checked = at_sequence_end(pair) if success_at == "sequence end" else pair
    late = setup["add_cell"] != ADD_CELL[0]
    joined = np.zeros(n) if late else np.ones(n)
    joined_at = [None if late else 0] * n
    # mean training error of the last join window
    block_error, previous = np.zeros(n), np.full(n, np.inf)
    solved_at = [None] * n
    active = np.ones(n, dtype=bool)
    worst, history = np.full(n, np.inf), []

    def outcome(seen, stop):
        return runner.outcome(solved_at, setup, seen, active, stop, topo, history,
                              final_max_abs_error=worst.tolist(), cell_added_at=joined_at)

    def block(seen):
        nonlocal previous, block_error
        k = setup["check_every"]
        order = np.where(active[:, None], rng.integers(2, size=(n, k)), -1)
        losses, _, _, _, _ = engine.run(topo, params, *data, order, setup["lr"], joined=joined)
        seen += k
        block_error += losses.sum(axis=1)
        if late and seen % setup["join_window"] == 0:
            mean = block_error / setup["join_window"]
            stalls = (joined == 0) & active & (mean >= previous)
            for trial in np.flatnonzero(stalls):
                joined_at[trial] = seen
            joined[stalls] = 1.0
            previous, block_error = mean, np.zeros(n)
        idx = np.flatnonzero(active)
        worst[idx] = worst_errors(topo, runner.select(params, idx), checked, joined[idx])
        if seen % setup["record_every"] == 0:
            history.append({"sequences": seen, "max_abs_error": worst.tolist()})
        done = worst[idx] < setup["bound"]
        for trial in idx[done]:
            solved_at[trial] = seen
        active[idx[done]] = False
        return k

    seen, stopped_by = runner.train_in_blocks(block, active, setup["max_sequences"], "long_lag",
                                              setup, progress, checkpoint, outcome)
    return outcome(seen, stopped_by)
