"""Experiment 6a of Hochreiter & Schmidhuber (1997): temporal order.

A sequence of 100-110 symbols opens with E and closes with the trigger B; X or Y appears at one
position in 10-20 and one in 50-60, the rest are random a-d. The class (XX, XY, YX, YY) is the target
of 4 output units at the last step only; a sequence is correct when every output's absolute error
is below 0.3. Training (a fresh random sequence every time, activations reset between sequences)
stops once the 2,000 most recent sequences were correct and their average error is below 0.1 (we
average each sequence's largest output error, the stricter reading); the network is then tested on
2,560 fresh sequences.

Network (156 weights): 2 blocks of 2 cells; every gate and cell sees a bias, the 8 inputs and all
8 hidden units of the previous step (cells and gates); 4 output units see a bias and the cells.
Weights uniform in [-0.1, 0.1], input-gate biases -2 and -4, output-gate biases random, lr 0.5.
"""

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments import adding, reber
from lstmlab.numpy import lstm_original as lo

FULL = {"blocks": 2, "cells_per_block": 2, "lr": 0.5, "init_scale": 0.1, "in_bias": [-2.0, -4.0],
        "trials": 20, "window": 2000, "correct_bound": 0.3, "mean_bound": 0.1, "n_test": 2560,
        "max_sequences": 1_000_000, "max_seconds": None, "record_every": 1000,
        "squashing": "text"}
REDUCED = {**FULL, "trials": 3, "window": 500, "n_test": 512, "max_sequences": 30_000,
           "record_every": 500}

PAPER = {"table": "Table 9", "row": "6a, 2 relevant symbols, 4 classes", "weights": 156,
         "trials": 20, "success_rate": None, "mean_sequences": 31_390, "wrong_of_2560": 1}


def topology(setup):
    return lo.Topology(n_in=8, n_blocks=setup["blocks"], cells_per_block=setup["cells_per_block"],
                       n_out=4, gate_feedback=True, **reber.SQUASHING[setup["squashing"]])


def run(setup, seed, progress=None, checkpoint=None):
    rng = np.random.default_rng(seed)
    topo = topology(setup)
    params = lo.init_params(topo, setup["trials"], rng, scale=setup["init_scale"],
                            in_bias=setup["in_bias"])
    return adding.train_to_stop_rule(topo, params, setup, lambda m: tasks.temporal_order(m, rng),
                                     "temporal order 6a", progress, checkpoint)
