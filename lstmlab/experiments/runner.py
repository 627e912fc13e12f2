"""Shared machinery of the Part III experiments: progress bar, success criteria, result records."""

import functools
import json
import os
import platform
import sys
import time
from datetime import datetime, UTC

import numpy as np

import lstmlab

try:  # an optional nicety: the package never depends on tqdm
    from tqdm import tqdm as _tqdm
except ImportError:  # pragma: no cover - depends on the environment
    _tqdm = None


class Progress:
    """A progress bar over ``total`` units: tqdm when installed, otherwise a plain one.

    The plain bar redraws one line on a terminal and prints a new line every tenth of the way
    elsewhere (a notebook or a log file), so that a captured output stays short.
    """

    def __init__(self, total, desc, file=None, disable=False):
        self.total, self.desc, self.done = int(total), desc, 0
        self.file = sys.stderr if file is None else file
        self.disable = disable
        self.start = time.perf_counter()
        self._bar = None
        self._last_draw, self._last_tenth = 0.0, -1
        if not disable and _tqdm is not None:
            self._bar = _tqdm(total=self.total, desc=desc, file=self.file, mininterval=0.5)

    def update(self, n=1, **info):
        self.done += n
        if self.disable:
            return
        if self._bar is not None:
            self._bar.update(n)
            if info:
                self._bar.set_postfix(info, refresh=False)
            return
        now = time.perf_counter()
        interactive = getattr(self.file, "isatty", lambda: False)()
        tenth = 10 * self.done // max(self.total, 1)
        if interactive and now - self._last_draw > 0.5:
            self._draw("\r", info)
            self._last_draw = now
        elif not interactive and (tenth > self._last_tenth or now - self._last_draw > 60):
            self._draw("", info, end="\n")   # a log line every tenth and at least every minute
            self._last_tenth, self._last_draw = tenth, now

    def _draw(self, prefix, info, end=""):
        frac = self.done / max(self.total, 1)
        bar = "#" * int(20 * frac)
        extra = " ".join(f"{k}={v}" for k, v in info.items())
        self.file.write(f"{prefix}{self.desc}: [{bar:<20}] {self.done}/{self.total} "
                        f"{time.perf_counter() - self.start:.0f}s {extra}{end}")
        self.file.flush()

    def close(self, **info):
        if self.disable:
            return
        if self._bar is not None:
            if info:
                self._bar.set_postfix(info, refresh=False)
            self._bar.close()
        elif getattr(self.file, "isatty", lambda: False)():
            self._draw("\r", info, end="\n")
        elif self._last_tenth < 10 or self.done < self.total:   # the last line is not shown yet
            self._draw("", info, end="\n")


# --------------------------------------------------------------------------- success criteria

def legal_most_active(y, legal):
    """Per step and sequence: are the legal next symbols exactly the most active outputs?

    y, legal: (T, N, 7) outputs and multi-hot legal sets. Steps without a legal set (padding, the
    end of a string) count as correct. Returns a bool array (T, N).
    """
    lowest_legal = np.where(legal > 0, y, np.inf).min(axis=2)
    highest_other = np.where(legal > 0, -np.inf, y).max(axis=2)
    return (lowest_legal > highest_other) | (legal.sum(axis=2) == 0)


def max_abs_error(y, d, mask):
    """Per sequence (T, N, O arrays): the largest absolute output error at a step with a target."""
    return np.where(mask[:, :, None] > 0, np.abs(d - y), 0.0).max(axis=(0, 2))


def max_abs_error_below(y, d, mask, bound):
    """Per sequence: the Experiment 2 criterion, largest absolute error at a target step < bound."""
    return max_abs_error(y, d, mask) < bound


def per_trial(batch, n):
    """A task batch of n * k sequences (T, n * k, ...), trial-major, as the engine's per-trial arrays
    X (n, k, T, I), D (n, k, T, O), M (n, k, T), L (n, k)."""
    def split(a):
        a = np.moveaxis(a, 1, 0)
        return np.ascontiguousarray(a.reshape(n, a.shape[0] // n, *a.shape[1:]))
    return split(batch.x), split(batch.d), split(batch.mask), batch.lengths.reshape(n, -1)


def fresh(make, n, k, active):
    """Engine arrays of k fresh sequences for each active trial (``make(count)`` returns a task batch
    of count sequences), and the order that has the inactive trials skip them."""
    rows = np.flatnonzero(active)
    X, D, M, L = per_trial(make(len(rows) * k), len(rows))
    full = [np.zeros((n,) + a.shape[1:], dtype=a.dtype) for a in (X, D, M, L)]
    for f, a in zip(full, (X, D, M, L)):
        f[rows] = a
    order = np.where(active[:, None], np.arange(k)[None], -1)
    return (*full, order)


def nan_to_none(values):
    """A list for JSON, NaN (no value: a network no longer trained) written as null."""
    return [None if v is None or np.isnan(v) else float(v) for v in values]


def tile_params(params, repeats):
    """Repeat every trial's weights ``repeats`` times along the trial axis (trial-major), so that one
    forward pass evaluates each network on its own batch of sequences."""
    return {name: np.repeat(w, repeats, axis=0) for name, w in params.items()}


def select(params, trials):
    """The weights of a subset of trials."""
    return {name: w[trials] for name, w in params.items()}


class Checkpoint:
    """Saves a run's outcome so far (``make()`` builds it) at most every ``every`` seconds, so that a
    long run stopped from outside leaves a record of how far it got."""

    def __init__(self, save=None, every=60.0):
        self.save, self.every, self.last = save, every, time.perf_counter()

    def __call__(self, make):
        if self.save and time.perf_counter() - self.last > self.every:
            self.save(make())
            self.last = time.perf_counter()


def train_in_blocks(block, active, total, desc, setup, progress=None, checkpoint=None,
                    make_outcome=None, cap="max_sequences", label="solved"):
    """The loop every on-line experiment shares. ``block(done)`` trains and tests one block of
    sequences (or symbols) from ``done`` on, clears the networks it finished in ``active`` and
    returns how many it used. The loop ends at ``total``, when no network is active, when
    ``setup["max_seconds"]`` (if any) are spent, or when the run is stopped from outside (Ctrl-C,
    SIGTERM); between blocks it moves the progress bar and saves the record so far
    (``make_outcome(done, "running")``). Returns (done, why it stopped: ``cap``, "max_seconds" or
    "interrupted"); a stopped run is recorded as stopped, never as a failure."""
    bar = progress(total, desc) if progress else None
    start, done, stopped_by = time.perf_counter(), 0, cap
    try:
        while done < total and active.any():
            k = block(done)
            done += k
            if bar:
                bar.update(k, **{label: len(active) - int(active.sum())})
            if checkpoint:
                checkpoint(functools.partial(make_outcome, done, "running"))
            if setup["max_seconds"] and time.perf_counter() - start > setup["max_seconds"]:
                stopped_by = "max_seconds"
                break
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    if bar:
        bar.close(**{label: len(active) - int(active.sum())})
    return done, stopped_by


# --------------------------------------------------------------------------- results

def summarise(sequences, cap):
    """Success rate and median / mean sequences to success over the trials that succeeded."""
    solved = [s for s in sequences if s is not None]
    return {"trials": len(sequences), "successes": len(solved),
            "success_rate": len(solved) / len(sequences) if sequences else 0.0,
            "sequences_to_success": sequences,
            "median_sequences": float(np.median(solved)) if solved else None,
            "mean_sequences": float(np.mean(solved)) if solved else None,
            "cap_sequences": cap}


def outcome(solved_at, setup, seen, active, stopped_by, topo, history, **extra):
    """The common part of an online experiment's result: successes, how training stopped, the size of
    one network and the learning history, plus the experiment's own ``extra`` measurements."""
    result = summarise(solved_at, setup["max_sequences"])
    result["sequences_presented"] = seen
    result["stopped_by"] = "all solved" if not active.any() else stopped_by
    result.update(extra)
    result["weights_per_network"] = topo.n_weights
    result["history"] = history
    return result


def machine():
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "python": platform.python_version()}


def versions():
    return {"lstmlab": lstmlab.__version__, "numpy": np.__version__}


def record(name, setup, outcome, wall, seed, reduced, argv=None):
    """The JSON-ready record of one run."""
    return {"experiment": name, "reduced": reduced, "seed": seed, "setup": setup, **outcome,
            "wall_time_s": round(wall, 2), "finished_utc": datetime.now(UTC).isoformat(),
            "command": argv, "machine": machine(), "versions": versions()}


def write(result, path):
    with open(path, "w") as f:
        json.dump(result, f, indent=1, default=_jsonable)
        f.write("\n")


def _jsonable(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
