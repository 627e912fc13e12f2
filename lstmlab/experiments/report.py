"""Tables and figures of the experiments chapter: recorded results next to the published ones."""

import json
import os
from pathlib import Path

import numpy as np
from matplotlib.ticker import EngFormatter

from lstmlab.experiments import adding

# Records live outside the package, in the repository's results/experiments (LSTMLAB_RESULTS overrides).
RESULTS = Path(os.environ.get("LSTMLAB_RESULTS", Path(__file__).resolve().parents[2] / "results")) / "experiments"


def engine_speed():
    """Markdown table of the engine benchmark's record (benchmarks/results/lstm1997_engine.json)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "lstm1997_engine.json"
    if not path.exists():
        return "The engine benchmark has not been recorded."
    rows = []
    for row in json.loads(path.read_text())["rows"]:
        sps = row["sequences_per_second"]
        rows.append([row["setup"], row["trials"], row["weights"], f"{sps['engine']:,.0f}",
                     f"{sps['lockstep']:,.0f}", f"{sps['torch loop']:,.0f}",
                     f"{row['engine_over_lockstep']:.1f}×", f"{row['engine_over_torch_loop']:.1f}×"])
    return table(["setup", "networks", "weights", "engine", "lock-step NumPy", "torch loop",
                  "engine / lock-step", "engine / torch"], rows)


def load(name):
    """The recorded full-size result of an experiment, or None if none was recorded."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _num(value, digits=0):
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _pct(value):
    return "—" if value is None else f"{100 * value:.0f}"


def table(header, rows):
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _run_note(r):
    """How much was run and why it stopped, for the table's last column."""
    presented = r.get("sequences_presented")
    stop = {"all solved": "all networks succeeded", "max_seconds": "time budget used up",
            "max_sequences": "sequence cap reached"}.get(r.get("stopped_by"), r.get("stopped_by"))
    return f"{_num(presented)} sequences presented; {stop}"


def reber_table(r):
    header = ["", "networks", "weights", "lr", "% success", "mean (median) sequences", "run"]
    rows = [["paper (Table 1, 3 blocks × 2 cells)", 30, 276, 0.5, 100, "8,440", "—"]]
    if r:
        rows.append(["ours", r["trials"], r["weights_per_network"], r["setup"]["lr"],
                     _pct(r["success_rate"]),
                     f"{_num(r['mean_sequences'])} ({_num(r['median_sequences'])})", _run_note(r)])
    else:
        rows.append(["ours", "not run", "", "", "", "", ""])
    return table(header, rows)


def long_lag_table(r):
    header = ["", "networks", "p", "lr", "% success", "mean (median) sequences", "run"]
    rows = [["paper (Table 2, LSTM)", 18, 100, 1.0, 100, "5,040", "stop at 5,000,000"]]
    if r:
        rows.append(["ours", r["trials"], r["setup"]["p"], r["setup"]["lr"], _pct(r["success_rate"]),
                     f"{_num(r['mean_sequences'])} ({_num(r['median_sequences'])})", _run_note(r)])
    else:
        rows.append(["ours", "not run", "", "", "", "", ""])
    return table(header, rows)


#: a block of training sequences with a mean absolute error below this has learnt the adding task
#: (the error of always answering the mean target is 1/6; a correct sequence is below 0.04)
LEARNT = 0.02


def learnt_at(r, bound=LEARNT):
    """Per network of a record of Experiment 4 or 6a: the sequences seen at the end of the first
    recorded block whose mean absolute error was below ``bound``, None for a network that never got
    there. A network stops recording when it meets the stop rule."""
    seen = [entry["sequences"] for entry in r["history"]]
    errors = np.array([[np.nan if v is None else v for v in entry["mean_abs_error"]]
                       for entry in r["history"]])
    return [int(seen[np.argmax(column < bound)]) if (column < bound).any() else None
            for column in errors.T]


def learnt(r, bound=LEARNT):
    """The networks of a record that learnt (:func:`learnt_at`, in network order, None dropped) and
    the range of sequences at which they did, e.g. "538,000–996,000" (None if none did)."""
    done = [x for x in learnt_at(r, bound) if x is not None]
    return done, (f"{min(done):,}–{max(done):,}" if done else None)


def _learnt_cell(r):
    done, span = learnt(r)
    return f"{len(done)} of {r['trials']}: {span}" if span else "none"


def adding_table(r, r500=None):
    """Table 7's rows T = 100 and T = 500, each with our record of it (``r``, ``r500``)."""
    header = ["", "networks; weights", "T", "learnt after", "% met the stop rule",
              "mean (median) sequences to the stop", "wrong of 2,560 at the end (median, range)", "run"]
    rows = []
    for T, rec in ((100, r), (500, r500)):
        paper_wrong, paper_mean = adding.PAPER_ROWS[T]
        rows.append(["paper (Table 7)", f"{adding.PAPER['trials']}; {adding.PAPER['weights']}", T, "—",
                     "—", f"{paper_mean:,}", paper_wrong, "—"])
        if rec:
            wrong = rec["test_wrong"]    # None while the run is still going
            rows.append(["ours", f"{rec['trials']}; {rec['weights_per_network']}", rec["setup"]["T"],
                         _learnt_cell(rec), _pct(rec["success_rate"]),
                         f"{_num(rec['mean_sequences'])} ({_num(rec['median_sequences'])})",
                         f"{_num(np.median(wrong))} ({min(wrong)}–{max(wrong)})" if wrong else "—",
                         _run_note(rec)])
        else:
            rows.append(["ours", "not run", T, "", "", "", "", ""])
    return table(header, rows) + (f"\n\n*Learnt after*: the first block of 1,000 training sequences "
                                  f"whose mean absolute error was below {LEARNT}.")


def continual_table(r):
    header = ["", "networks", "% perfect", "mean streams to perfect", "% good", "% rest",
              "test streams", "run"]
    rows = [["paper, standard LSTM with external reset", 100, 74, "7,441", 0, 26, "10 × 100,000", "—"],
            ["paper, standard LSTM", 100, 0, "—", 1, 99, "10 × 100,000", "—"],
            ["paper, forget gates", 100, 18, "18,889", 29, 53, "10 × 100,000", "—"]]
    if r:
        setup = r["setup"]
        for name, v in r["variants"].items():
            stop = {"max_seconds": "time budget used up", "max_symbols": "symbol cap reached",
                    "interrupted": "stopped from outside"}.get(v["stopped_by"], v["stopped_by"])
            rows.append([f"ours, {name}", v["networks"], _pct(v["perfect"]),
                         _num(v["mean_sequences"]), _pct(v["good"]), _pct(v["rest"]),
                         f"{setup['n_test']} × {setup['test_length']:,}",
                         f"{v['symbols_per_network']:,} training symbols per network; {stop}"])
    else:
        rows.append(["ours", "not run", "", "", "", "", "", ""])
    return table(header, rows)


def temporal_order_table(r):
    header = ["", "networks", "weights", "% stopped by the criterion", "mean (median) sequences",
              "wrong of 2,560 at the end (median, range)", "run"]
    rows = [["paper (Table 9, 6a)", 20, 156, "—", "31,390", "1 (never more than 3)", "—"]]
    if r:
        wrong = r["test_wrong"]
        rows.append(["ours", r["trials"], r["weights_per_network"], _pct(r["success_rate"]),
                     f"{_num(r['mean_sequences'])} ({_num(r['median_sequences'])})",
                     f"{_num(np.median(wrong))} ({min(wrong)}–{max(wrong)})", _run_note(r)])
    else:
        rows.append(["ours", "not run", "", "", "", "", ""])
    return table(header, rows)


TABLES = {"reber": reber_table, "long_lag": long_lag_table, "adding": adding_table,
          "temporal_order": temporal_order_table, "continual_reber": continual_table}

#: the rows of the overview: label, record name, the paper's networks solved of trained (None:
#: not tabulated) and mean sequences to success
OVERVIEW = [
    ("1, lr 0.5, text ranges", "reber_text_lr0.5", (30, 30), 8_440),
    ("1, lr 0.5, Table 10 ranges", "reber_table10_lr0.5", (30, 30), 8_440),
    ("1, lr 0.1, text ranges", "reber_text_lr0.1", (30, 30), 21_730),
    ("1, lr 0.1, Table 10 ranges", "reber_table10_lr0.1", (30, 30), 21_730),
    ("1, lr 0.5, Table 10, input-gate biases in [-0.1, 0.1]", "reber_table10_lr0.5_inbias0.1",
     (30, 30), 8_440),
    ("1, lr 0.5, Table 10, test after every string", "reber_table10_lr0.5_check1",
     (30, 30), 8_440),
    ("1, as above, units in the paper's order (current gates), to 300,000",
     "reber_table10_lr0.5_check1_current_gates", (30, 30), 8_440),
    ("1, as above, input-gate biases in [-0.1, 0.1] too: every reading in the paper's favour",
     "reber_table10_lr0.5_combined", (30, 30), 8_440),
    ("1, 4 blocks × 1 cell, lr 0.5, Table 10 ranges", "reber_4x1_table10_lr0.5", (29, 30), 9_500),
    ("1, 4 blocks × 1 cell, lr 0.1, Table 10 ranges", "reber_4x1_table10_lr0.1", (30, 30), 39_740),
    ("2a, p = 100", "long_lag", (18, 18), 5_040),
    ("4, adding, T = 100", "adding", (None, 10), 74_000),
    ("4, adding, T = 500", "adding_T500", (None, 10), 209_000),
    ("6a, temporal order", "temporal_order", (None, 20), 31_390),
]


def _stop(r):
    return {"all solved": "all solved", "max_sequences": "sequence cap",
            "max_seconds": "time budget", "running": "still running when read",
            "interrupted": "stopped from outside"}.get(r["stopped_by"], r["stopped_by"])


def overview():
    """Markdown table: every recorded row of the 1997 experiments next to the paper's numbers."""
    header = ["experiment", "paper: solved; mean sequences", "ours: solved; mean (median) sequences",
              "× paper", "wrong of 2,560: ours (paper)", "sequences per network; stop",
              "wall / CPU"]
    rows = []
    for label, name, (p_solved, p_trials), p_mean in OVERVIEW:
        r = load(name)
        paper = f"{p_solved if p_solved is not None else '—'} of {p_trials}; {p_mean:,}"
        if r is None:
            rows.append([label, paper, "not recorded", "", "", "", ""])
            continue
        wrong = r.get("test_wrong")
        wrong = (f"{_num(np.median(wrong))} ({min(wrong)}–{max(wrong)}) ({r['paper']['wrong_of_2560']})"
                 if wrong else "—")
        ratio = f"{r['mean_sequences'] / p_mean:.1f}" if r["mean_sequences"] else "—"
        rows.append([label, paper, f"{r['successes']} of {r['trials']}; "
                     f"{_num(r['mean_sequences'])} ({_num(r['median_sequences'])})", ratio, wrong,
                     f"{r['sequences_presented']:,}; {_stop(r)}",
                     f"{r['wall_time_s'] / 60:.0f} / {r.get('cpu_time_s', float('nan')) / 60:.1f} min"])
    return table(header, rows)


def solved_by(r, budgets):
    """Share of networks solved within each budget of sequences."""
    done = [s for s in r["sequences_to_success"] if s is not None]
    return [sum(s <= b for s in done) / r["trials"] for b in budgets]


def plot_solved_at(rows, ax):
    """One line of dots per record: the sequences each network needed (unsolved ones at the right,
    counted), and the paper's mean as a red bar. rows: (label, record, paper mean)."""
    for i, (_label, r, paper_mean) in enumerate(rows):
        done = np.array([s for s in r["sequences_to_success"] if s is not None], dtype=float)
        jitter = np.random.default_rng(i).uniform(-0.15, 0.15, size=len(done))
        ax.scatter(done, i + jitter, s=12, color="C0", alpha=0.7)
        if len(done):
            ax.plot([np.mean(done)] * 2, [i - 0.3, i + 0.3], color="C0", lw=2)
        ax.plot([paper_mean] * 2, [i - 0.3, i + 0.3], color="C3", lw=2)
        failed = r["trials"] - len(done)
        ax.annotate(f"{len(done)}/{r['trials']} solved; {failed} not by {r['sequences_presented']:,}",
                    (1.01, i), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [label for label, _, _ in rows], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("training sequences to success (dots: our networks, blue bar: our mean, "
                  "red bar: the paper's mean)")
    ax.invert_yaxis()


def comparison(name):
    """Markdown table: the published numbers and our recorded full-size run."""
    if name == "adding":   # two rows of Table 7, one record each
        return adding_table(load("adding"), load("adding_T500"))
    return TABLES[name](load(name))


def summary(result):
    """One line about a run: successes, sequences, time."""
    if result["experiment"] == "continual_reber":
        parts = [f"{name}: {_pct(v['perfect'])}% perfect, {_pct(v['good'])}% good, "
                 f"mean error-free test length {np.mean(v['mean_error_free_test_length']):,.0f}"
                 for name, v in result["variants"].items()]
        body = "; ".join(parts)
    else:
        done = [s for s in result["sequences_to_success"] if s is not None]
        body = (f"{result['successes']} of {result['trials']} networks succeeded"
                + (f", after {', '.join(f'{s:,}' for s in sorted(done))} sequences" if done else "")
                + f" ({result['sequences_presented']:,} presented)")
    return (f"{body}. Wall time {result['wall_time_s']:.0f} s, CPU time "
            f"{result.get('cpu_time_s', float('nan')):.0f} s.")


def plot_history(result, ax):
    """The learning curve the run recorded, one line per network."""
    name = result["experiment"]
    # 200k, 1.2M: full counts of a long run collide on the axis
    ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    if name == "continual_reber":
        for i, (variant, v) in enumerate(result["variants"].items()):
            h = v["test_history"]
            if h:
                x = [e["symbols"] for e in h]
                y = np.array([e["mean_error_free_length"] for e in h])
                ax.plot(x, y, color=f"C{i}", alpha=0.7)
                ax.plot([], [], color=f"C{i}", label=variant)
        ax.set(xlabel="training symbols", ylabel="mean error-free test length", yscale="log")
        ax.legend()
        return
    key, label = {"reber": ("fraction_strings_correct", "fraction of strings predicted"),
                  "long_lag": ("max_abs_error", "max |error| on the two sequences"),
                  "adding": ("mean_abs_error", "mean |error| (block of sequences)"),
                  "temporal_order": ("fraction_wrong", "fraction of sequences wrong (block)")}[name]
    h = result["history"]
    if not h:
        return
    x = [e["sequences"] for e in h]
    # null: a network already solved and no longer trained
    y = np.array([[np.nan if v is None else v for v in e[key]] for e in h], dtype=float)
    ax.plot(x, y, alpha=0.8)
    ax.set(xlabel="training sequences", ylabel=label)
    if name == "long_lag":
        ax.axhline(result["setup"]["bound"], color="k", ls="--", lw=1)
        ax.set_yscale("log")
    if name == "reber":
        ax.axhline(0.5, color="k", ls=":", lw=1)
        ax.set_ylim(-0.02, 1.02)
    if name == "adding":
        ax.axhline(result["setup"]["correct_bound"], color="k", ls="--", lw=1)
        # E|X1 + X2| / 4 = 1/6: the error of always answering 0.5, the mean target
        ax.axhline(1 / 6, color="k", ls=":", lw=1)
        ax.set_ylim(0, 0.2)
