"""Part III experiment runner: success criteria on hand-made outputs, the Reber check against an
independent automaton, the continual stream reader, and tiny runs that write valid JSON."""

import json

import numpy as np
import pytest

from lstmlab.datasets import tasks
from lstmlab.experiments import __main__ as cli
from lstmlab.experiments import continual_reber, long_lag, reber, run, runner, setup_of
from lstmlab.numpy import lstm_original as lo

SYMBOLS = "BTSXPVE"

# The inner Reber grammar as node -> successors, written out independently of lstmlab.datasets.tasks.
INNER = {"n0": [("T", "n1"), ("P", "n2")], "n1": [("S", "n1"), ("X", "n3")],
         "n2": [("T", "n2"), ("V", "n4")], "n3": [("X", "n2"), ("S", "n5")],
         "n4": [("P", "n3"), ("V", "n5")], "n5": [("E", "done")]}


def successors(string):
    """For every symbol of an embedded Reber string but the last, the set of legal next symbols."""
    out = [{"T", "P"}, {"B"}, {s for s, _ in INNER["n0"]}]   # outer B, branch, inner B
    node = "n0"
    for symbol in string[3:-2]:                 # the inner string after its B, up to its E
        node = dict(INNER[node])[symbol]
        out.append({string[1]} if node == "done" else {s for s, _ in INNER[node]})
    assert node == "done"
    return out + [{"E"}]                        # after the repeated branch symbol


def one_hot(sets, steps):
    m = np.zeros((steps, 7))
    for t, allowed in enumerate(sets):
        for s in allowed:
            m[t, SYMBOLS.index(s)] = 1.0
    return m


def test_independent_successors_match_the_generator():
    batch = tasks.embedded_reber(40, np.random.default_rng(3))
    for k, string in enumerate(batch.info["strings"]):
        assert np.array_equal(one_hot(successors(string), batch.x.shape[0]), batch.legal[:, k])


def top_k_is_legal(y, allowed):
    """Independent form of the criterion: sort the outputs, the k largest are the legal symbols."""
    order = np.argsort(-y, kind="stable")
    k = len(allowed)
    top = {SYMBOLS[i] for i in order[:k]}
    return top == allowed and (k == 7 or y[order[k - 1]] > y[order[k]])


def test_reber_criterion_agrees_with_an_independent_legality_check():
    rng = np.random.default_rng(5)
    batch = tasks.embedded_reber(60, rng)
    # outputs near the legal pattern, so that some strings pass and some fail
    y = batch.legal + rng.normal(scale=0.35, size=batch.legal.shape)
    ours = np.all(runner.legal_most_active(y, batch.legal), axis=0)
    independent = np.array([all(top_k_is_legal(y[t, k], allowed)
                                for t, allowed in enumerate(successors(s)))
                            for k, s in enumerate(batch.info["strings"])])
    assert 0 < independent.sum() < len(independent)
    assert np.array_equal(ours, independent)
    assert np.array_equal(ours, tasks.legal_symbols_most_active(y, batch))


def test_legal_most_active_on_hand_made_outputs():
    legal = np.zeros((3, 1, 7))
    legal[0, 0, [1, 4]] = 1          # T or P
    legal[1, 0, 0] = 1               # B
    y = np.full((3, 1, 7), 0.1)
    y[0, 0, [1, 4]] = [0.6, 0.5]
    y[1, 0, 0] = 0.9
    assert runner.legal_most_active(y, legal).tolist() == [[True], [True], [True]]  # padding ok
    y[0, 0, 2] = 0.55                # an illegal S beats the legal P
    assert runner.legal_most_active(y, legal)[:, 0].tolist() == [False, True, True]
    y[0, 0, 2] = 0.5                 # a tie is not "most active"
    assert not runner.legal_most_active(y, legal)[0, 0]


def test_max_abs_error_criterion():
    d = np.zeros((2, 3, 1))
    y = np.array([[[0.1], [0.3], [0.9]], [[0.2], [0.0], [0.0]]])
    mask = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    # sequence 2's large error sits at a step without a target
    assert runner.max_abs_error_below(y, d, mask, 0.25).tolist() == [True, False, True]


def test_adding_stop_rule():
    """The engine's window of recent errors: full, all below the bound, mean below mean_bound."""
    from lstmlab.numpy import lstm1997_engine as engine
    window = engine.Window(4, 3, 0.04, 0.01)
    errors = np.array([0.001, 0.001, 0.05, 0.02])

    def push(values, where):
        return [bool(engine._push(window.values[k], window.info[k], values[k], 0.04, 0.01))
                if where[k] else None for k in range(4)]
    for _ in range(2):
        assert push(errors, [True] * 4) == [False] * 4   # two sequences are fewer than the window
    # trial 0: all correct, mean 0.001; trial 2: one wrong (0.05 >= 0.04); trial 3: all correct
    # but mean 0.02 >= 0.01
    assert push(errors, [True, False, True, True]) == [True, None, False, False]
    assert np.isnan(window.recent()[1, 2]) and window.recent()[0].tolist() == [0.001] * 3
    assert push(np.array([0.039, 0, 0, 0]), [True] * 4)[0] is False   # wraps round: mean 0.0137
    assert window.values[0].tolist() == [0.039, 0.001, 0.001]
    # a wrong sequence leaves the window only when it is pushed out
    assert push(np.zeros(4), [True] * 4)[2] is False
    assert push(np.zeros(4), [True] * 4)[2] is True


def test_a_window_stops_each_network_exactly_at_the_rule():
    """run() with a window stops a network right after the sequence where the rule holds: its
    weights are those after just the sequences up to that one."""
    from lstmlab.experiments import adding
    from lstmlab.numpy import lstm1997_engine as engine
    topo = adding.topology(setup_of("adding", reduced=True))
    rng = np.random.default_rng(3)
    params = lo.init_params(topo, 2, rng, scale=0.1)
    X, D, M, L = runner.per_trial(tasks.adding(20, 2 * 12, rng), 2)
    order = np.tile(np.arange(12), (2, 1))
    stopping, short = ({k: v.copy() for k, v in params.items()} for _ in range(2))
    window = engine.Window(2, 4, 1.0, 1.0)     # every error counts as correct: stops after 4
    _, _, _, _, stopped = engine.run(topo, stopping, X, D, M, L, order, 0.5, window=window)
    engine.run(topo, short, X, D, M, L, order[:, :4], 0.5)
    assert stopped.tolist() == [3, 3]
    for key in params:
        np.testing.assert_array_equal(stopping[key], short[key])
        assert not np.array_equal(stopping[key], params[key])


def test_long_lag_reduced_run_records_every_check():
    """The book's curve: one point per check until the last network is solved."""
    result = run("long_lag", reduced=True, seed=0, quiet=True, max_sequences=200, record_every=20)
    checks = [e["sequences"] for e in result["history"]]
    assert checks == list(range(20, result["sequences_presented"] + 1, 20))
    assert all(len(e["max_abs_error"]) == result["trials"] for e in result["history"])
    with pytest.raises(ValueError, match="multiples of check_every"):
        run("long_lag", reduced=True, quiet=True, record_every=30)


def test_long_lag_check_is_the_max_error_on_both_sequences():
    setup = setup_of("long_lag", p=6)
    topo = long_lag.topology(setup)
    rng = np.random.default_rng(0)
    params = lo.init_params(topo, 4, rng, scale=0.2)
    pair = long_lag.both_sequences(6, rng)
    assert sorted(pair.x[0].argmax(axis=1)) == [5, 6]
    # widen the bound around each network's own worst error: solved exactly when it lies inside
    worst = []
    for k in range(4):
        y, _ = lo.forward(topo, runner.select(params, [k] * 2), pair.x)
        worst.append(np.abs(y - pair.d).max())
    bound = np.sort(worst)[2]
    assert long_lag.solved(topo, params, pair, bound).tolist() == [w < bound for w in worst]
    # Table 11's reading: only the last step's outputs count
    end = long_lag.at_sequence_end(pair)
    assert end.mask.sum() == 2 and end.mask[-1].tolist() == [1.0, 1.0]
    last = []
    for k in range(4):
        y, _ = lo.forward(topo, runner.select(params, [k] * 2), pair.x)
        last.append(np.abs(y[-1] - pair.d[-1]).max())
    assert np.allclose(long_lag.worst_errors(topo, params, end), last, rtol=1e-12)
    assert not np.allclose(last, worst)
    with pytest.raises(ValueError, match="success_at"):
        run("long_lag", reduced=True, quiet=True, success_at="somewhere")


def test_stream_buffers_hold_one_grammatical_stream():
    """Refilled at the opening B of their last string, the buffers read as unbroken streams."""
    rng = np.random.default_rng(1)
    streams = continual_reber.Streams(3, 64, rng)
    for k in range(3):
        sym = streams.x[k].argmax(axis=1)
        assert sym[0] == 0 and streams.starts[k, streams.limit[k]] and streams.x[k, streams.limit[k]].argmax() == 0
        assert np.all(streams.legal[k, np.arange(63), sym[1:]] == 1)   # every next symbol legal
    streams.pos[:] = [streams.limit[0], 5, streams.limit[2] + 1]
    old = streams.x[1].copy()
    streams.refill_spent()
    assert streams.pos.tolist() == [0, 5, 0] and np.array_equal(streams.x[1], old)


def tiny(name):
    return {"reber": dict(trials=2, n_train=4, n_test=4, max_sequences=8, check_every=4),
            "long_lag": dict(trials=2, p=5, max_sequences=6, check_every=3, record_every=3, join_window=3),
            "adding": dict(trials=2, T=20, window=3, n_test=8, max_sequences=5),
            "temporal_order": dict(trials=2, window=3, n_test=8, max_sequences=6, record_every=3),
            "continual_reber": dict(trials=2, n_test=2, test_length=40, test_every=100,
                                    max_symbols=150, buffer=128)}[name]


@pytest.mark.parametrize("name", ["reber", "long_lag", "adding", "temporal_order", "continual_reber"])
def test_a_tiny_run_writes_valid_json(name, tmp_path):
    result = run(name, reduced=True, seed=2, quiet=True, **tiny(name))
    path = tmp_path / f"{name}.json"
    runner.write(result, path)
    back = json.loads(path.read_text())
    assert back["experiment"] == name and back["reduced"] is True
    assert back["machine"]["cpu_count"] >= 1 and back["wall_time_s"] >= 0
    assert back["versions"]["numpy"] == np.__version__
    if name == "continual_reber":
        for variant in back["variants"].values():
            assert variant["perfect"] + variant["good"] + variant["rest"] == pytest.approx(1.0)
    else:
        assert len(back["sequences_to_success"]) == 2 and 0 <= back["success_rate"] <= 1


# the clock varies from run to run; the seed is left out so that two seeds compare by their numbers
VARYING = ("wall_time_s", "finished_utc", "cpu_time_s", "seed")


def numbers_of(record):
    """A record as JSON text without the VARYING fields."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items() if k not in VARYING}
        return [strip(v) for v in x] if isinstance(x, list) else x
    return json.dumps(strip(json.loads(json.dumps(record, default=runner._jsonable))), sort_keys=True)


@pytest.mark.parametrize("name", ["reber", "long_lag", "adding", "temporal_order", "continual_reber"])
def test_a_run_with_a_fixed_seed_is_deterministic(name):
    """The same seed gives the same record, number for number; another seed another one."""
    # reber: long enough that some strings are predicted (the tiny run's curve is all zeros)
    size = (dict(trials=2, n_train=16, n_test=16, max_sequences=2048, check_every=64,
                 record_every=256) if name == "reber" else tiny(name))
    same = [numbers_of(run(name, reduced=True, seed=3, quiet=True, **size)) for _ in range(2)]
    assert same[0] == same[1]
    assert numbers_of(run(name, reduced=True, seed=4, quiet=True, **size)) != same[0]


def test_command_line_writes_the_result(tmp_path, capsys):
    out = tmp_path / "r.json"
    cli.main(["long_lag", "--reduced", "--trials", "2", "--max-sequences", "4", "--quiet",
              "--out", str(out)])
    assert json.loads(out.read_text())["setup"]["trials"] == 2
    with pytest.raises(ValueError, match="no setting"):
        setup_of("reber", T=3)
    # Any other setting by --set, its value in JSON, recorded in the setup and the command.
    cli.main(["reber", "--reduced", "--trials", "1", "--max-sequences", "1", "--quiet",
              "--set", "unit_biases=false", "--set", "out_bias=[-1, -2, -4]", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["setup"]["unit_biases"] is False and record["setup"]["out_bias"] == [-1, -2, -4]
    assert record["weights_per_network"] == 276 and "unit_biases=false" in record["command"]
    for bad in ("unit_biases", "unit_biases=no"):
        with pytest.raises(SystemExit):
            cli.main(["reber", "--set", bad])
    assert "SETTING=VALUE" in capsys.readouterr().err


def test_plain_progress_bar_prints_few_lines(monkeypatch):
    import io
    monkeypatch.setattr(runner, "_tqdm", None)
    buf = io.StringIO()
    bar = runner.Progress(1000, "demo", file=buf)
    for _ in range(1000):
        bar.update(1)
    bar.close()
    assert 10 <= buf.getvalue().count("\n") <= 13 and "1000/1000" in buf.getvalue()


def test_reber_check_set_is_each_networks_own_strings():
    """Network k trains on its own 256 strings and is checked on those and its own test strings;
    the engine's verdict per string equals lstm_original's forward pass and the 1997 criterion."""
    from lstmlab.numpy import lstm1997_engine as engine
    setup = {**setup_of("reber", reduced=True), "trials": 2, "n_train": 3, "n_test": 2}
    rng = np.random.default_rng(0)
    (X, D, M, L, legal), (cX, _, _, cL, c_legal) = reber.string_sets(setup, rng)
    again = np.random.default_rng(0)
    train, test = tasks.embedded_reber(6, again), tasks.embedded_reber(4, again)
    for k in range(2):
        for j in range(3):
            col = 3 * k + j
            np.testing.assert_array_equal(X[k, j, :L[k, j]], train.x[:train.lengths[col], col])
            np.testing.assert_array_equal(cX[k, j], X[k, j])
        for j in range(2):
            col = 2 * k + j
            np.testing.assert_array_equal(cX[k, 3 + j, :cL[k, 3 + j]], test.x[:test.lengths[col], col])
    topo = reber.topology(setup)
    params = lo.init_params(topo, 2, rng, scale=1.0)
    verdict = engine.legal_predicted(topo, params, cX, c_legal, cL, np.tile(np.arange(5), (2, 1)))
    for k in range(2):
        for j in range(5):
            y, _ = lo.forward(topo, runner.select(params, [k]), cX[k, j, :cL[k, j], None])
            assert verdict[k, j] == int(runner.legal_most_active(y, c_legal[k, j, :cL[k, j], None]).all())


@pytest.mark.parametrize("name", ["reber", "long_lag", "adding", "temporal_order", "continual_reber"])
def test_report_tables_with_and_without_a_recorded_run(name, monkeypatch):
    from lstmlab.experiments import report
    result = json.loads(json.dumps(run(name, reduced=True, seed=4, quiet=True, **tiny(name)),
                                   default=runner._jsonable))
    for recorded, marker in ((None, "not run"), (result, "ours")):
        monkeypatch.setattr(report, "load", lambda _: recorded)
        text = report.comparison(name)
        assert text.count("\n") >= 3 and "paper" in text and marker in text
    assert "CPU time" in report.summary(result)


# ------------------------------------------------------------------ Part IV (GRU against LSTM: test_gru_vs_lstm.py)

def test_charlm_tiny_run_records_curve_and_samples():
    result = json.loads(json.dumps(run("charlm", reduced=True, seed=1, quiet=True, epochs=1, hidden=16,
                                       steps=32, eval_every=40, sample_length=30,
                                       temperatures=[0.5, 1.5]), default=runner._jsonable))
    assert result["experiment"] == "charlm" and result["stopped_by"] == "epochs"
    # 100,433 training characters (90 % of 111,592) make 32 streams of 3,138 steps: 99 windows of 32
    assert result["train_characters"] == 100_433 and result["iterations"] == 99
    assert [e["iteration"] for e in result["history"]] == [40, 80, 99]
    assert result["history"][-1]["characters"] == 32 * 3138
    # one epoch of even a tiny LSTM beats guessing among the 61 characters
    assert result["best"]["valid_perplexity"] < result["uniform_perplexity"] == 61
    assert set(result["samples"]) == {"0.5", "1.5"} and all(len(s) == 30 for s in result["samples"].values())
    assert result["unigram_valid_perplexity"] == pytest.approx(26.53, abs=0.01)


def test_reber_and_adding_use_the_fully_connected_hidden_layer():
    from lstmlab.experiments import adding
    for mod in (reber, adding):
        assert mod.FULL["gate_feedback"] and mod.REDUCED["gate_feedback"]
        assert mod.topology(mod.FULL).gate_feedback
    # Experiment 4: 8 units (4 cells, 4 gates) x (bias + 2 inputs + 8 senders) + 1 x (bias + 4 cells).
    assert adding.topology(adding.FULL).n_weights == adding.PAPER["weights"] == 93
    # Experiment 1: 12 units x (bias + 7 inputs + 12 senders) + 7 x (bias + 6 cells) = 289; the
    # paper's 276 (the default) is this minus the 6 cell and 7 output biases.
    assert reber.topology({**reber.FULL, "unit_biases": True}).n_weights == 289
    gates_only = reber.FULL
    assert reber.topology(gates_only).n_weights == reber.PAPER["weights"] == 276
    assert reber.topology({**gates_only, "blocks": 4, "cells_per_block": 1}).n_weights == 264
    # records made before the options existed read as the old topology
    assert not reber.topology({**reber.FULL, "gate_feedback": False}).gate_feedback
    old = {k: v for k, v in reber.FULL.items() if k not in ("gate_feedback", "unit_biases")}
    assert reber.topology(old).n_weights == 217 and reber.topology(old).unit_biases


def test_adding_records_carry_the_paper_row_of_their_T():
    from lstmlab.experiments import adding
    assert adding.paper(setup_of("adding"))["mean_sequences"] == 74_000
    row = adding.paper(setup_of("adding", T=500))
    assert (row["row"], row["mean_sequences"], row["wrong_of_2560"]) == ("T = 500 (minimal lag 250)", 209_000, 0)
    assert adding.paper(setup_of("adding", reduced=True)) is None      # T = 20: not in Table 7
    record = run("adding", reduced=True, seed=0, quiet=True, T=500, trials=1, max_sequences=2, n_test=2)
    assert record["paper"]["mean_sequences"] == 209_000


def test_adding_comparison_shows_table7_rows_t100_and_t500(monkeypatch):
    from lstmlab.experiments import report
    monkeypatch.setattr(report, "load", lambda _: None)
    text = report.comparison("adding")
    assert text.count("paper (Table 7) | 10; 93 |") == 2 and "| 500 |" in text
    assert "209,000" in text and text.count("not run") == 2


def test_expected_wait_for_a_run_of_correct_sequences_matches_simulation():
    from lstmlab.experiments import adding
    assert adding.expected_wait(0.2, 1) == pytest.approx(1 / 0.8)       # one success: 1 / p
    assert adding.expected_wait(0.0, 2000) == 2000                       # never wrong: the window
    rng = np.random.default_rng(3)
    q, window, waits = 0.1, 10, []
    for _ in range(20_000):
        run_length = seen = 0
        while run_length < window:
            seen += 1
            run_length = 0 if rng.random() < q else run_length + 1
        waits.append(seen)
    assert np.mean(waits) == pytest.approx(adding.expected_wait(q, window), rel=0.03)


def test_sum_density_is_the_distribution_of_the_marked_sum():
    from lstmlab.experiments import adding
    grid = np.linspace(-2, 2, 4001)
    assert np.sum(adding.sum_density(grid)) * (grid[1] - grid[0]) == pytest.approx(1.0, abs=1e-3)
    sums = tasks.adding(100, 40_000, np.random.default_rng(0)).info["sum"]
    cdf = np.cumsum(adding.sum_density(grid)) * (grid[1] - grid[0])
    for point in (-1.8, -1.0, -0.3, 0.0, 0.7, 1.5, 1.9):
        assert np.mean(sums <= point) == pytest.approx(np.interp(point, grid, cdf), abs=0.01)


def test_no_linear_sigmoid_readout_of_the_sum_beats_the_computed_floor():
    from lstmlab.experiments import adding
    share, c, b = adding.linear_readout_floor()
    assert 0.006 < share < 0.01           # about 20 of 2,560 test sequences
    sums = tasks.adding(100, 200_000, np.random.default_rng(1)).info["sum"]

    def wrong(c, b):
        return np.mean(np.abs(1 / (1 + np.exp(-(c * sums + b))) - (0.5 + sums / 4)) >= 0.04)

    assert wrong(c, b) == pytest.approx(share, abs=0.001)
    rng = np.random.default_rng(2)
    others = [wrong(rng.uniform(0.2, 4.0), rng.uniform(-1.0, 1.0)) for _ in range(200)]
    assert min(others) > share - 0.001
    # the misses are the extreme sums, near 0 and 1
    missed = np.abs(1 / (1 + np.exp(-(c * sums + b))) - (0.5 + sums / 4)) >= 0.04
    assert np.abs(sums[missed]).min() > 1.7


def test_learnt_at_finds_each_networks_first_block_below_the_bound():
    from lstmlab.experiments import report
    record = {"history": [{"sequences": 1000, "mean_abs_error": [0.16, 0.17, 0.15]},
                          {"sequences": 2000, "mean_abs_error": [0.019, 0.10, 0.16]},
                          {"sequences": 3000, "mean_abs_error": [None, 0.015, 0.16]}]}
    assert report.learnt_at(record) == [2000, 3000, None]      # None: stopped, or never learnt
    assert report.learnt_at(record, bound=0.12) == [2000, 2000, None]
