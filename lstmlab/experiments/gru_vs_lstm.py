"""GRU against LSTM with (nearly) the same number of parameters (Chapter 20, Sec. 10.3 of the tutorial).

Both networks are the NumPy torch-compatible layers (``lstmlab.numpy.GRU`` and ``LSTM``, full BPTT)
with a linear read-out of the hidden state at each sequence's last step, trained with Adam on
minibatches of fresh sequences. Two tasks of Part III:

* the adding problem (Experiment 4 of Hochreiter & Schmidhuber 1997): squared error on the one
  target 0.5 + (X1 + X2) / 4; a test sequence is wrong if its absolute error is 0.04 or more;
* temporal order 6a (Experiment 6a): softmax cross-entropy over the four classes; test accuracy.

Every trial k trains one GRU and one LSTM from their own initial weights on the same stream of
training batches, so the two networks of a trial see exactly the same data. The LSTM's hidden size is
set; the GRU's is the one whose parameter count (read-out included) comes closest to the LSTM's.
"""

import time

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments.report import table as markdown_table
from lstmlab.numpy import GRU, LSTM, optim, softmax
from lstmlab.numpy.init import uniform

FULL = {"adding_T": 100, "lstm_hidden": 8, "batch": 32, "lr": 0.03, "clip": 1.0, "trials": 3,
        "max_sequences": 96_000, "record_every": 50, "n_valid": 256, "n_test": 2048,
        "models": ["GRU", "LSTM", "LSTM b_f=1"]}
REDUCED = {**FULL, "adding_T": 30, "trials": 2, "max_sequences": 12_800, "record_every": 25,
           "n_valid": 128, "n_test": 512, "models": ["GRU", "LSTM"]}

PAPER = {"source": "Jozefowicz, Zaremba & Sutskever (2015), cited by the tutorial as [47]",
         "claim": "the GRU outperformed the LSTM on nearly all tasks, except language modelling "
                  "with naive initialisation"}

MODELS = {"GRU": GRU, "LSTM": LSTM, "LSTM b_f=1": LSTM}
#: the forget gate's total bias b_ih + b_hh at the start, for the LSTMs that set it (Jozefowicz et al.)
FORGET_BIAS = {"LSTM b_f=1": 1.0}


def task_shapes():
    """Inputs and outputs per step of each task, and a one-line description."""
    return {"adding": (2, 1), "temporal_order": (len(tasks.TEMPORAL_SYMBOLS), 4)}


def count_parameters(kind, n_in, hidden, n_out):
    """Trainable numbers of a one-layer network of this kind with its linear read-out (torch's two
    bias vectors counted, as ``sum(p.numel())`` would)."""
    gates = MODELS[kind].num_gates
    return gates * hidden * (n_in + hidden + 2) + n_out * (hidden + 1)


def matched_gru_hidden(n_in, lstm_hidden, n_out):
    """The GRU hidden size whose parameter count is closest to that of an LSTM of ``lstm_hidden``."""
    target = count_parameters("LSTM", n_in, lstm_hidden, n_out)
    sizes = range(1, 2 * lstm_hidden + 2)
    return min(sizes, key=lambda h: abs(count_parameters("GRU", n_in, h, n_out) - target))


class Network:
    """A GRU or LSTM layer and a linear read-out of the hidden state at each sequence's last step."""

    def __init__(self, kind, n_in, hidden, n_out, seed):
        self.rnn = MODELS[kind](n_in, hidden, seed=seed)
        if kind in FORGET_BIAS:
            # Rows H..2H-1 are the forget gate (order i, f, g, o); only the sum of the two biases acts.
            self.rnn.params["bias_ih_l0"][hidden:2 * hidden] = FORGET_BIAS[kind]
            self.rnn.params["bias_hh_l0"][hidden:2 * hidden] = 0.0
        rng = np.random.default_rng(seed + 1)
        bound = 1 / np.sqrt(hidden)
        # One dict holding the layer's arrays (shared, not copied) and the read-out: one optimiser for all.
        self.params = {**self.rnn.params, "w_out": uniform((n_out, hidden), bound, rng),
                       "b_out": uniform((n_out,), bound, rng)}

    def forward(self, batch):
        out, _ = self.rnn.forward(batch.x)
        self._last = (out.shape, batch.lengths - 1, np.arange(out.shape[1]))
        self._h = out[batch.lengths - 1, np.arange(out.shape[1])]
        return self._h @ self.params["w_out"].T + self.params["b_out"]

    def backward(self, dy):
        """Gradients of every parameter given dE/dy at the read-out."""
        shape, t_last, cols = self._last
        d_out = np.zeros(shape)
        d_out[t_last, cols] = dy @ self.params["w_out"]
        self.rnn.backward(d_out)
        grads = dict(self.rnn.grads)
        grads["w_out"], grads["b_out"] = dy.T @ self._h, dy.sum(axis=0)
        return grads


def loss_and_grad(task, y, batch):
    """Mean loss over the batch and its gradient wrt the read-out ``y`` (N, outputs)."""
    n = y.shape[0]
    if task == "adding":
        d = batch.info["sum"][:, None] / 4.0 + 0.5
        return float(np.mean((y - d) ** 2)), 2.0 * (y - d) / n
    log_p = softmax.log_softmax(y)
    labels = batch.info["labels"]
    dy = np.exp(log_p)
    dy[np.arange(n), labels] -= 1.0
    return float(-log_p[np.arange(n), labels].mean()), dy / n


def error(task, y, batch):
    """Adding: the fraction of sequences with absolute error >= 0.04. Temporal order: 1 - accuracy."""
    if task == "adding":
        return float(np.mean(np.abs(y[:, 0] - (batch.info["sum"] / 4.0 + 0.5)) >= 0.04))
    return float(np.mean(y.argmax(axis=1) != batch.info["labels"]))


def make_batch(task, setup, n, rng):
    if task == "adding":
        return tasks.adding(setup["adding_T"], n, rng)
    return tasks.temporal_order(n, rng)


def train(task, kind, hidden, setup, trial_seed, valid, progress=None):
    """Train one network; returns its learning curve, final test error and time taken."""
    n_in, n_out = task_shapes()[task]
    net = Network(kind, n_in, hidden, n_out, seed=trial_seed)
    opt = optim.Adam(net.params, setup["lr"])
    data_rng = np.random.default_rng(trial_seed + 7)   # the same stream for the GRU and the LSTM
    steps = setup["max_sequences"] // setup["batch"]
    curve, block = [], []
    start = time.process_time()
    for step in range(1, steps + 1):
        batch = make_batch(task, setup, setup["batch"], data_rng)
        loss, dy = loss_and_grad(task, net.forward(batch), batch)
        grads = net.backward(dy)
        optim.clip_grad_norm(grads, setup["clip"])
        opt.step(grads)
        block.append(loss)
        if step % setup["record_every"] == 0:
            y = net.forward(valid)
            curve.append({"sequences": step * setup["batch"], "train_loss": float(np.mean(block)),
                          "valid_loss": loss_and_grad(task, y, valid)[0], "valid_error": error(task, y, valid)})
            block = []
        if progress:
            progress.update(1)
    test = make_batch(task, setup, setup["n_test"], np.random.default_rng(trial_seed + 11))
    y = net.forward(test)
    return {"curve": curve, "test_loss": loss_and_grad(task, y, test)[0], "test_error": error(task, y, test),
            "cpu_time_s": round(time.process_time() - start, 2)}


def run(setup, seed, progress=None):
    steps = setup["max_sequences"] // setup["batch"]
    outcome = {"tasks": {}}
    for t_index, task in enumerate(("adding", "temporal_order")):
        n_in, n_out = task_shapes()[task]
        gru_hidden = matched_gru_hidden(n_in, setup["lstm_hidden"], n_out)
        hidden = {k: gru_hidden if k == "GRU" else setup["lstm_hidden"] for k in setup["models"]}
        valid = make_batch(task, setup, setup["n_valid"], np.random.default_rng(10_000 + seed))
        entry = {"hidden": hidden,
                 "parameters": {k: count_parameters(k, n_in, h, n_out) for k, h in hidden.items()},
                 "runs": {k: [] for k in setup["models"]}}
        if task == "adding":
            # The error of always answering the mean target, for scale.
            d = valid.info["sum"] / 4.0 + 0.5
            entry["constant_prediction_mse"] = float(np.var(d))
        bar = progress(steps * len(setup["models"]) * setup["trials"], task) if progress else None
        for trial in range(setup["trials"]):
            trial_seed = 1000 * seed + 100 * t_index + trial
            for kind in setup["models"]:
                entry["runs"][kind].append(train(task, kind, hidden[kind], setup, trial_seed, valid, bar))
        if bar:
            bar.close()
        outcome["tasks"][task] = entry
    return outcome


TASK_TITLES = {"adding": "adding problem", "temporal_order": "temporal order 6a"}
ERROR_NAMES = {"adding": "fraction wrong (|error| ≥ 0.04)", "temporal_order": "fraction misclassified"}


def table(result):
    """A Markdown table of a run: per task and network, size, parameters and every trial's test error."""
    rows = []
    for task, entry in result["tasks"].items():
        for kind, runs in entry["runs"].items():
            errors = [r["test_error"] for r in runs]
            rows.append([TASK_TITLES[task], kind, entry["hidden"][kind], entry["parameters"][kind],
                         ", ".join(f"{e:.3f}" for e in errors), f"{np.median(errors):.3f}"])
    n_test = result["setup"]["n_test"]
    return markdown_table(["task", "network", "hidden units", "parameters",
                           f"test error per trial ({n_test:,} sequences)", "median"], rows)
