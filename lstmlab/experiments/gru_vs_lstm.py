"""GRU against LSTM, each at its own best learning rate (Chapter 20, Sec. 10.3 of the tutorial).

A sweep: every network is trained at every learning rate of ``lrs`` from ``trials`` seeds, and the
two models are compared at the rate that suits each best. The networks are the NumPy torch-compatible
layers (``lstmlab.numpy.GRU`` and ``LSTM``, full BPTT) with a linear read-out of the hidden state at
each sequence's last step, trained with Adam on minibatches of fresh sequences. The LSTM of
``lstm_hidden`` units is the reference; every model is trained at the sizes that ``sizes`` asks for:

* ``"equal hidden"``: the same number of hidden units as the reference;
* ``"equal parameters"``: the hidden size whose parameter count (read-out included) is nearest the
  reference's.

Two tasks of Part III can be chosen:

* the adding problem (Experiment 4 of Hochreiter & Schmidhuber 1997): squared error on the one
  target 0.5 + (X1 + X2) / 4; a sequence is wrong if its absolute error is 0.04 or more;
* temporal order 6a (Experiment 6a): softmax cross-entropy over the four classes; misclassified.

Trial k of every network and learning rate uses the same seed, hence the same stream of training
batches (and, for one network, the same initial weights): the comparison is paired. Every
``check_every`` batches the error on a fixed validation set is measured; a network whose error falls
below ``solved_below`` is *solved* and stops; the others stop after ``max_sequences``.
"""

import contextlib
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from lstmlab.datasets import tasks
from lstmlab.experiments.report import table as markdown_table
from lstmlab.numpy import GRU, LSTM, optim, softmax
from lstmlab.numpy.init import uniform

SIZES = ("equal hidden", "equal parameters")

FULL = {"tasks": ["adding"], "adding_T": 50, "lstm_hidden": 8, "models": ["GRU", "LSTM", "LSTM b_f=1", "LSTM b_f=3"],
        "sizes": list(SIZES), "lrs": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3], "trials": 5, "batch": 32,
        "clip": 1.0, "max_sequences": 96_000, "check_every": 50, "solved_below": 0.05,
        "n_valid": 256, "n_test": 1024, "max_seconds": None, "workers": 1}
REDUCED = {**FULL, "adding_T": 30, "models": ["GRU", "LSTM"], "lrs": [0.001, 0.01, 0.1], "trials": 2,
           "max_sequences": 12_800, "check_every": 25, "n_valid": 128, "n_test": 256}

PAPER = {"source": "Jozefowicz, Zaremba & Sutskever (2015), cited by the tutorial as [47]",
         "claim": "the GRU outperformed the LSTM on nearly all tasks, except language modelling "
                  "with naive initialisation"}

MODELS = {"GRU": GRU, "LSTM": LSTM, "LSTM b_f=1": LSTM, "LSTM b_f=3": LSTM}
#: the forget gate's total bias b_ih + b_hh at the start, for the LSTMs that set it: 1 as Jozefowicz et al.
#: recommend; 3, a memory time constant 1 / (1 - sigmoid(3)) of about 21 steps, near the task's lags
FORGET_BIAS = {"LSTM b_f=1": 1.0, "LSTM b_f=3": 3.0}


def task_shapes():
    """Inputs and outputs per step of each task."""
    return {"adding": (2, 1), "temporal_order": (len(tasks.TEMPORAL_SYMBOLS), 4)}


def check_setup(setup):
    """Raise ValueError naming the first setting of a sweep that cannot be run."""
    def names(key, allowed):
        value = setup[key]
        if not isinstance(value, list) or not value or len(set(value)) != len(value) \
                or not set(value) <= set(allowed):
            raise ValueError(f"{key} must be a non-empty list of distinct names from {sorted(allowed)}, "
                             f"got {value!r}")

    names("tasks", task_shapes())
    names("models", MODELS)
    names("sizes", SIZES)
    lrs = setup["lrs"]
    if not isinstance(lrs, list) or not lrs or not all(
            isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr < math.inf for lr in lrs) \
            or any(a >= b for a, b in zip(lrs, lrs[1:])):
        raise ValueError(f"lrs must be a non-empty, increasing list of positive learning rates, got {lrs!r}")
    for key in ("lstm_hidden", "trials", "batch", "check_every", "n_valid", "n_test", "max_sequences", "workers"):
        if not isinstance(setup[key], int) or isinstance(setup[key], bool) or setup[key] < 1:
            raise ValueError(f"{key} must be a positive integer, got {setup[key]!r}")
    if setup["max_sequences"] < setup["batch"] * setup["check_every"]:
        raise ValueError(f"max_sequences ({setup['max_sequences']}) must allow one check: at least "
                         f"batch x check_every = {setup['batch'] * setup['check_every']}")
    if not 0 < setup["solved_below"] <= 1:
        raise ValueError(f"solved_below must lie in (0, 1], got {setup['solved_below']!r}")
    if not setup["clip"] > 0:
        raise ValueError(f"clip must be positive, got {setup['clip']!r}")
    if "adding" in setup["tasks"] and setup["adding_T"] < 20:
        raise ValueError(f"adding_T must be at least 20, got {setup['adding_T']!r}")


def count_parameters(kind, n_in, hidden, n_out):
    """Trainable numbers of a one-layer network of this kind with its linear read-out (torch's two
    bias vectors counted, as ``sum(p.numel())`` would)."""
    gates = MODELS[kind].num_gates
    return gates * hidden * (n_in + hidden + 2) + n_out * (hidden + 1)


def matched_hidden(kind, n_in, lstm_hidden, n_out):
    """The hidden size of ``kind`` whose parameter count is nearest that of an LSTM of ``lstm_hidden``
    (the smaller size on a tie)."""
    target = count_parameters("LSTM", n_in, lstm_hidden, n_out)
    return min(range(1, 2 * lstm_hidden + 2),
               key=lambda h: (abs(count_parameters(kind, n_in, h, n_out) - target), h))


def networks(setup, task):
    """The networks a sweep trains on ``task``: per model, one for each distinct hidden size that the
    size rules give, named like ``"GRU 9"``, with their sizes, parameter counts and rules."""
    n_in, n_out = task_shapes()[task]
    found = {}
    for model in setup["models"]:
        for size in setup["sizes"]:
            h = setup["lstm_hidden"] if size == "equal hidden" else \
                matched_hidden(model, n_in, setup["lstm_hidden"], n_out)
            entry = found.setdefault(f"{model} {h}", {"model": model, "hidden": h, "sizes": [],
                                                      "parameters": count_parameters(model, n_in, h, n_out)})
            entry["sizes"].append(size)
    return found


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
    """Adding: the fraction of sequences with absolute error >= 0.04. Temporal order: 1 - accuracy.
    An output that is not finite (a diverged network) counts as wrong."""
    finite = np.isfinite(y).all(axis=1)
    if task == "adding":
        right = np.abs(y[:, 0] - (batch.info["sum"] / 4.0 + 0.5)) < 0.04
    else:
        right = y.argmax(axis=1) == batch.info["labels"]
    return float(1.0 - np.mean(right & finite))


def make_batch(task, setup, n, rng):
    if task == "adding":
        return tasks.adding(setup["adding_T"], n, rng)
    return tasks.temporal_order(n, rng)


def train(task, model, hidden, lr, setup, trial_seed, valid):
    """Train one network until it is solved or has seen ``max_sequences``; returns its learning curve,
    when it was solved (None: not within the budget), its final test error and the time taken."""
    n_in, n_out = task_shapes()[task]
    net = Network(model, n_in, hidden, n_out, seed=trial_seed)
    opt = optim.Adam(net.params, lr)
    data_rng = np.random.default_rng(trial_seed + 7)   # the same stream for every network and rate
    steps = setup["max_sequences"] // setup["batch"]
    curve, block, solved_at = [], [], None
    start = time.process_time()
    for step in range(1, steps + 1):
        batch = make_batch(task, setup, setup["batch"], data_rng)
        loss, dy = loss_and_grad(task, net.forward(batch), batch)
        grads = net.backward(dy)
        optim.clip_grad_norm(grads, setup["clip"])
        opt.step(grads)
        block.append(loss)
        if step % setup["check_every"] == 0:
            y = net.forward(valid)
            curve.append({"sequences": step * setup["batch"], "train_loss": float(np.mean(block)),
                          "valid_loss": loss_and_grad(task, y, valid)[0], "valid_error": error(task, y, valid)})
            block = []
            if curve[-1]["valid_error"] < setup["solved_below"]:
                solved_at = curve[-1]["sequences"]
                break
    test = make_batch(task, setup, setup["n_test"], np.random.default_rng(trial_seed + 11))
    y = net.forward(test)
    return {"solved_at": solved_at, "sequences": step * setup["batch"], "curve": curve,
            "test_loss": loss_and_grad(task, y, test)[0], "test_error": error(task, y, test),
            "cpu_time_s": round(time.process_time() - start, 2)}


def summarise(runs, cap):
    """Per network and learning rate: how many trials were solved, the median and range of the
    sequences they took, and the median and range of every trial's final test error."""
    solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
    errors = [r["test_error"] for r in runs]
    losses = [r["test_loss"] for r in runs]
    return {"trials": len(runs), "solved": len(solved), "cap_sequences": cap,
            "median_sequences": float(np.median(solved)) if solved else None,
            "sequences_range": [min(solved), max(solved)] if solved else None,
            "median_test_error": float(np.median(errors)), "test_error_range": [min(errors), max(errors)],
            # nan (a diverged network) sorts last
            "median_test_loss": float(np.median(np.nan_to_num(losses, nan=np.inf)))}


def best_rate(summaries):
    """The learning rate that suits a network best: most trials solved, then fewest median sequences
    to solve, then lowest median test loss. ``summaries`` maps rate -> :func:`summarise`'s dict."""
    def key(lr):
        s = summaries[lr]
        return (-s["solved"], s["median_sequences"] if s["solved"] else math.inf, s["median_test_loss"])
    return min(summaries, key=key)


def rate_key(lr):
    """A learning rate as a JSON key ("0.003")."""
    return f"{lr:g}"


def _train(job):
    return train(*job)


def run(setup, seed, progress=None):
    """The sweep; with ``workers`` > 1 the networks of a trial train in that many processes (a
    network's result does not depend on where it ran)."""
    check_setup(setup)
    start = time.perf_counter()
    outcome = {"tasks": {}, "stopped_by": "finished"}
    plan = {task: networks(setup, task) for task in setup["tasks"]}
    total = sum(len(nets) for nets in plan.values()) * len(setup["lrs"]) * setup["trials"]
    bar = progress(total, "networks trained") if progress else None
    if bar and not bar.disable:
        for task, nets in plan.items():
            sizes = ", ".join(f"{name} ({n['parameters']} parameters)" for name, n in nets.items())
            bar.file.write(f"{TASK_TITLES[task]}: {sizes}; {len(setup['lrs'])} learning rates x "
                           f"{setup['trials']} trials each\n")
    solved = done = 0
    parallel = ProcessPoolExecutor(setup["workers"]) if setup["workers"] > 1 else contextlib.nullcontext()
    with parallel as pool:
        for t_index, (task, nets) in enumerate(plan.items()):
            valid = make_batch(task, setup, setup["n_valid"], np.random.default_rng(10_000 + seed))
            runs = {name: {rate_key(lr): [] for lr in setup["lrs"]} for name in nets}
            # Trials outermost: a run cut short by max_seconds still has whole trials of every
            # network (at least one).
            for trial in range(setup["trials"]):
                if trial and setup["max_seconds"] is not None \
                        and time.perf_counter() - start > setup["max_seconds"]:
                    outcome["stopped_by"] = "max_seconds"
                    break
                trial_seed = 1000 * seed + 100 * t_index + trial
                jobs = [(name, lr) for lr in setup["lrs"] for name in nets]
                work = [(task, nets[name]["model"], nets[name]["hidden"], lr, setup, trial_seed, valid)
                        for name, lr in jobs]
                for (name, lr), r in zip(jobs, (pool.map if pool else map)(_train, work)):
                    runs[name][rate_key(lr)].append(r)
                    solved, done = solved + (r["solved_at"] is not None), done + 1
                    if bar:
                        bar.update(1, solved=f"{solved}/{done}")
            summary = {name: {lr: summarise(rs, setup["max_sequences"]) for lr, rs in by_rate.items() if rs}
                       for name, by_rate in runs.items()}
            entry = {"networks": nets, "runs": runs, "summary": summary,
                     "best_lr": {name: best_rate(s) for name, s in summary.items() if s}}
            if task == "adding":
                # The error of always answering the mean target, for scale.
                entry["constant_prediction_error"] = error(task, np.full((valid.x.shape[1], 1), 0.5), valid)
            outcome["tasks"][task] = entry
    # The networks' own CPU time: with workers it is not the main process's.
    outcome["training_cpu_time_s"] = round(sum(r["cpu_time_s"] for e in outcome["tasks"].values()
                                               for by_rate in e["runs"].values()
                                               for rs in by_rate.values() for r in rs), 2)
    if bar:
        bar.close(solved=f"{solved}/{done}")
    return outcome


TASK_TITLES = {"adding": "adding problem", "temporal_order": "temporal order 6a"}
ERROR_NAMES = {"adding": "fraction wrong (|error| ≥ 0.04)", "temporal_order": "fraction misclassified"}


def sequences_text(s):
    """The sequences to solve as "median (lowest–highest)"; "—" when no trial was solved."""
    if not s["solved"]:
        return "—"
    low, high = s["sequences_range"]
    return f"{s['median_sequences']:,.0f} ({low:,}–{high:,})"


def table(result, task):
    """A Markdown table of a sweep on one task: per network and learning rate, trials solved, the
    median (range) of sequences to solve and of the final test error; the best rate in bold."""
    entry = result["tasks"][task]
    rows = []
    for name, by_rate in entry["summary"].items():
        for lr, s in by_rate.items():
            mark = "**" if entry["best_lr"][name] == lr else ""
            low, high = s["test_error_range"]
            rows.append([f"{mark}{name}{mark}", entry["networks"][name]["parameters"], f"{mark}{lr}{mark}",
                         f"{s['solved']} / {s['trials']}", sequences_text(s),
                         f"{s['median_test_error']:.3f} ({low:.3f}–{high:.3f})"])
    n_test = result["setup"]["n_test"]
    return markdown_table(["network", "parameters", "learning rate", "solved",
                           "sequences to solve: median (range)",
                           f"test error at the end, {n_test:,} sequences: median (range)"], rows)


STYLES = {"GRU": ("#2b6cb0", "o"), "LSTM": ("#dd6b20", "s"), "LSTM b_f=1": ("#38a169", "^"),
          "LSTM b_f=3": ("#805ad5", "D")}


def _style(entry, name):
    """Colour and marker of a network: by model, lighter for a second size of the same model."""
    color, marker = STYLES[entry["networks"][name]["model"]]
    same = [n for n in entry["networks"] if entry["networks"][n]["model"] == entry["networks"][name]["model"]]
    return color, marker, ("-", "--", ":")[same.index(name)]


def plot_sweep(result, task, axes):
    """Three panels on ``axes``: trials solved per learning rate; sequences to solve per trial and
    rate (unsolved trials on the line 'not solved'); every trial of each network at its best rate."""
    import matplotlib.pyplot as plt  # the book's figures only

    entry, setup = result["tasks"][task], result["setup"]
    cap, names = setup["max_sequences"], list(entry["networks"])
    width = 0.1 / max(len(names) - 1, 1)
    ax_share, ax_seq, ax_best = axes
    for k, name in enumerate(names):
        color, marker, ls = _style(entry, name)
        label = f"{name} ({entry['networks'][name]['parameters']} parameters)"
        lrs = list(entry["summary"][name])
        rates = np.array([float(lr) for lr in lrs])
        shift = 10 ** ((k - (len(names) - 1) / 2) * width)     # side by side on the log axis
        ax_share.plot(rates * shift, [entry["summary"][name][lr]["solved"] / entry["summary"][name][lr]["trials"]
                                      for lr in lrs], marker=marker, color=color, ls=ls, label=label)
        for lr, rate in zip(lrs, rates):
            at = [r["solved_at"] if r["solved_at"] is not None else 1.25 * cap for r in entry["runs"][name][lr]]
            ax_seq.scatter([rate * shift] * len(at), at, s=16, marker=marker, color=color, alpha=0.75)
        best = entry["best_lr"][name]
        at = [r["solved_at"] if r["solved_at"] is not None else 1.25 * cap for r in entry["runs"][name][best]]
        jitter = np.linspace(-0.15, 0.15, len(at))
        ax_best.scatter(k + jitter, at, marker=marker, color=color, s=24)
        solved = [a for a in at if a <= cap]
        if solved:
            ax_best.hlines(np.median(solved), k - 0.3, k + 0.3, color=color, lw=2)
    ax_share.set(ylabel="share of trials solved", ylim=(-0.05, 1.05), title="solved within the budget")
    ax_share.legend(fontsize=8, loc="best")
    ax_seq.set_title("every trial")
    for ax in (ax_share, ax_seq):
        ax.set_xscale("log")
        ax.set_xticks(setup["lrs"], [f"{lr:g}" for lr in setup["lrs"]], minor=False)
        ax.minorticks_off()
        ax.set_xlabel("learning rate (Adam)")
    for ax in (ax_seq, ax_best):
        ax.axhline(cap, color="k", lw=0.8, ls=":")
        ax.set_ylim(0, 1.35 * cap)
        ticks = np.linspace(0, cap, 5)
        ax.set_yticks(list(ticks) + [1.25 * cap], [f"{v / 1000:g}k" for v in ticks] + ["not solved"])
        ax.set_ylabel("training sequences to solve")
    ax_best.set_xticks(range(len(names)), [f"{n}\nlr {entry['best_lr'][n]}" for n in names], fontsize=9)
    ax_best.set_title("each network at its best rate (line: median of the solved)")
    plt.gcf().tight_layout()


def fisher_exact(solved_a, trials_a, solved_b, trials_b):
    """Two-sided Fisher exact test of two solved counts: the probability, if both networks had the same
    chance of solving, of a split of the solved trials at most as likely as the one observed."""
    total, n = solved_a + solved_b, trials_a + trials_b

    def p(k):   # probability that k of the ``total`` solved trials fall on network a
        return math.comb(trials_a, k) * math.comb(trials_b, total - k) / math.comb(n, total)

    observed = p(solved_a)
    ks = range(max(0, total - trials_b), min(trials_a, total) + 1)
    return min(1.0, sum(p(k) for k in ks if p(k) <= observed * (1 + 1e-9)))


def plot_curves(result, task, axes):
    """One panel per network on ``axes``: the validation error of every trial at the network's best
    rate against the training sequences; a curve ends where its network was solved or the budget."""
    entry, setup = result["tasks"][task], result["setup"]
    for ax, name in zip(axes, entry["networks"]):
        color, _, _ = _style(entry, name)
        lr = entry["best_lr"][name]
        for r in entry["runs"][name][lr]:
            ax.plot([c["sequences"] for c in r["curve"]], [c["valid_error"] for c in r["curve"]],
                    color=color, lw=1.2, alpha=0.8)
        ax.axhline(setup["solved_below"], color="k", lw=0.8, ls=":")
        ax.set(xlim=(0, setup["max_sequences"]), ylim=(-0.02, 1.02), title=f"{name}, lr {lr}",
               xlabel="training sequences", ylabel=ERROR_NAMES[task])
        ax.xaxis.set_major_formatter(lambda v, _: f"{v / 1000:g}k")
