"""The course's experiments: the 1997 LSTM experiments and the 2000 continual grammar (Part III), GRU
against LSTM and the character-level language model (Part IV).

``python -m lstmlab.experiments NAME [--trials N] [--reduced] [--seed S] [--out FILE]`` runs one;
:func:`run` does the same from Python (the book calls it with ``reduced=True``).
"""

import importlib
import inspect
import sys
import time

from lstmlab.experiments import runner

NAMES = ("reber", "long_lag", "adding", "temporal_order", "continual_reber", "gru_vs_lstm", "charlm")


def module(name):
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; expected one of {', '.join(NAMES)}")
    return importlib.import_module(f"lstmlab.experiments.{name}")


def setup_of(name, reduced=False, **overrides):
    """The setup dict of an experiment (full size or reduced), with overrides applied."""
    mod = module(name)
    setup = dict(mod.REDUCED if reduced else mod.FULL)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(overrides) - set(setup)
    if unknown:
        raise ValueError(f"{name} has no setting {sorted(unknown)}; settings: {sorted(setup)}")
    setup.update(overrides)
    return setup


def run(name, reduced=False, seed=0, progress_file=None, quiet=False, argv=None, out=None,
        **overrides):
    """Run one experiment and return its JSON-ready record (see :func:`runner.record`). With ``out``
    a long run also saves its record so far to that file every minute (``stopped_by: running``)."""
    mod = module(name)
    setup = setup_of(name, reduced, **overrides)

    def progress(total, desc):
        return runner.Progress(total, desc, file=progress_file or sys.stderr, disable=quiet)

    start, cpu = time.perf_counter(), time.process_time()

    def result_of(outcome):
        result = runner.record(name, setup, outcome, time.perf_counter() - start, seed, reduced, argv)
        # the machine is shared: the CPU time says what the run itself cost
        result["cpu_time_s"] = round(time.process_time() - cpu, 2)
        # an experiment with several rows in the paper picks the row of its setup
        result["paper"] = mod.paper(setup) if hasattr(mod, "paper") else mod.PAPER
        return result

    extra = {}
    if "checkpoint" in inspect.signature(mod.run).parameters:
        extra["checkpoint"] = runner.Checkpoint(
            (lambda outcome: runner.write(result_of(outcome), out)) if out else None)
    return result_of(mod.run(setup, seed, progress, **extra))
