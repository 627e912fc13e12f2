"""GRU against LSTM (Chapter 20): sizes, gradients, the sweep's settings, a tiny sweep end to end."""

import json

import numpy as np
import pytest

from lstmlab.experiments import gru_vs_lstm, run, runner, setup_of

TINY = dict(adding_T=20, lrs=[0.01, 0.1], trials=2, max_sequences=64, check_every=1, batch=16,
            n_valid=16, n_test=16)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_parameter_counts_match_torch(kind):
    import torch
    for n_in, hidden, n_out in ((2, 9, 1), (8, 7, 4)):
        modules = [getattr(torch.nn, kind)(n_in, hidden), torch.nn.Linear(hidden, n_out)]
        expected = sum(p.numel() for m in modules for p in m.parameters())
        assert gru_vs_lstm.count_parameters(kind, n_in, hidden, n_out) == expected
        net = gru_vs_lstm.Network(kind, n_in, hidden, n_out, seed=0)
        assert sum(v.size for v in net.params.values()) == expected


@pytest.mark.parametrize("task", ["adding", "temporal_order"])
@pytest.mark.parametrize("lstm_hidden", [4, 8, 20])
def test_equal_budget_sizes_have_the_nearest_parameter_count(task, lstm_hidden):
    count = gru_vs_lstm.count_parameters
    n_in, n_out = gru_vs_lstm.task_shapes()[task]
    setup = {**gru_vs_lstm.FULL, "lstm_hidden": lstm_hidden, "models": ["GRU", "LSTM", "LSTM b_f=1"]}
    nets = gru_vs_lstm.networks(setup, task)
    target = count("LSTM", n_in, lstm_hidden, n_out)
    gru = [n for n in nets.values() if n["model"] == "GRU"]
    by_rule = {size: n for n in gru for size in n["sizes"]}
    assert by_rule["equal hidden"]["hidden"] == lstm_hidden
    matched = by_rule["equal parameters"]
    # No GRU size comes nearer the LSTM's count, looking well beyond the searched range.
    gaps = [abs(count("GRU", n_in, h, n_out) - target) for h in range(1, 10 * lstm_hidden)]
    assert abs(matched["parameters"] - target) == min(gaps)
    assert matched["parameters"] == count("GRU", n_in, matched["hidden"], n_out)
    # An LSTM matches itself exactly: one network per LSTM model, under both rules.
    for model in ("LSTM", "LSTM b_f=1"):
        (lstm,) = [n for n in nets.values() if n["model"] == model]
        assert lstm["hidden"] == lstm_hidden and lstm["parameters"] == target
        assert lstm["sizes"] == ["equal hidden", "equal parameters"]


def test_the_full_sweep_meets_the_issue():
    """At least 4 rates over 2 decades, 5 seeds, both size rules, GRU against LSTM."""
    full = gru_vs_lstm.FULL
    gru_vs_lstm.check_setup(full)
    gru_vs_lstm.check_setup(gru_vs_lstm.REDUCED)
    assert len(full["lrs"]) >= 4 and full["lrs"][-1] / full["lrs"][0] >= 100
    assert full["trials"] >= 5 and set(full["sizes"]) == set(gru_vs_lstm.SIZES)
    assert {"GRU", "LSTM"} <= set(full["models"])


@pytest.mark.parametrize("change, message", [
    ({"lrs": []}, "lrs"), ({"lrs": [0.1, 0.01]}, "increasing"), ({"lrs": [0.01, -0.1]}, "positive"),
    ({"lrs": [0.01, 0.01]}, "increasing"), ({"lrs": 0.01}, "lrs"), ({"lrs": [0.01, float("inf")]}, "lrs"),
    ({"models": ["GRU", "RNN"]}, "models"), ({"models": []}, "models"), ({"models": ["GRU", "GRU"]}, "models"),
    ({"sizes": ["equal flops"]}, "sizes"), ({"tasks": ["copying"]}, "tasks"),
    ({"trials": 0}, "trials"), ({"trials": 2.5}, "trials"), ({"lstm_hidden": True}, "lstm_hidden"),
    ({"max_sequences": 31}, "max_sequences"), ({"solved_below": 0}, "solved_below"),
    ({"clip": 0}, "clip"), ({"adding_T": 10}, "adding_T"), ({"workers": 0}, "workers"),
])
def test_sweep_settings_are_checked(change, message):
    with pytest.raises(ValueError, match=message):
        gru_vs_lstm.check_setup({**gru_vs_lstm.REDUCED, **change})
    with pytest.raises(ValueError, match=message):
        run("gru_vs_lstm", reduced=True, quiet=True, **change)


@pytest.mark.parametrize("task", ["adding", "temporal_order"])
@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_network_gradients_central_differences(task, kind):
    from lstmlab.numpy.gradcheck import check_gradients
    n_in, n_out = gru_vs_lstm.task_shapes()[task]
    net = gru_vs_lstm.Network(kind, n_in, 3, n_out, seed=1)
    batch = gru_vs_lstm.make_batch(task, {"adding_T": 20}, 4, np.random.default_rng(2))
    # Sequences of different lengths: the read-out must take each one's own last step.
    assert len(set(batch.lengths)) > 1

    def loss():
        return gru_vs_lstm.loss_and_grad(task, net.forward(batch), batch)[0]

    _, dy = gru_vs_lstm.loss_and_grad(task, net.forward(batch), batch)
    errors = check_gradients(loss, net.params, net.backward(dy))
    assert max(errors.values()) <= 1e-7, errors


def test_error_counts_a_diverged_output_as_wrong():
    batch = gru_vs_lstm.make_batch("adding", {"adding_T": 20}, 4, np.random.default_rng(0))
    y = (batch.info["sum"] / 4 + 0.5)[:, None].copy()
    assert gru_vs_lstm.error("adding", y, batch) == 0.0
    y[1, 0], y[2, 0] = np.nan, np.inf
    assert gru_vs_lstm.error("adding", y, batch) == 0.5
    batch = gru_vs_lstm.make_batch("temporal_order", {}, 4, np.random.default_rng(0))
    y = np.eye(4)[batch.info["labels"]]
    y[0, 0] = np.nan
    assert gru_vs_lstm.error("temporal_order", y, batch) == 0.25


def test_best_rate_prefers_more_solved_then_fewer_sequences_then_lower_loss():
    def s(solved, median, loss):
        return {"solved": solved, "median_sequences": median, "median_test_loss": loss}
    assert gru_vs_lstm.best_rate({"0.001": s(2, 100.0, 0.1), "0.01": s(3, 900.0, 0.2)}) == "0.01"
    assert gru_vs_lstm.best_rate({"0.001": s(3, 100.0, 0.3), "0.01": s(3, 900.0, 0.2)}) == "0.001"
    assert gru_vs_lstm.best_rate({"0.001": s(0, None, 0.3), "0.01": s(0, None, 0.2)}) == "0.01"
    assert gru_vs_lstm.best_rate({"0.001": s(0, None, 0.3), "0.01": s(0, None, np.inf)}) == "0.001"


def test_a_tiny_sweep_runs_end_to_end(tmp_path):
    result = run("gru_vs_lstm", reduced=True, seed=1, quiet=True, **TINY)
    path = tmp_path / "sweep.json"
    runner.write(result, path)
    back = json.loads(path.read_text())
    assert back["setup"] == setup_of("gru_vs_lstm", reduced=True, **TINY)
    assert back["stopped_by"] == "finished"
    entry = back["tasks"]["adding"]
    assert list(entry["networks"]) == ["GRU 8", "GRU 9", "LSTM 8"]
    for name, by_rate in entry["runs"].items():
        assert list(by_rate) == ["0.01", "0.1"] and entry["best_lr"][name] in by_rate
        for lr, runs in by_rate.items():
            assert len(runs) == 2
            summary = entry["summary"][name][lr]
            assert summary["solved"] == sum(r["solved_at"] is not None for r in runs)
            errors = sorted(r["test_error"] for r in runs)
            assert summary["test_error_range"] == [errors[0], errors[-1]]
            for r in runs:
                assert r["sequences"] == 16 * len(r["curve"]) <= 64
                assert (r["solved_at"] is None) == (r["curve"][-1]["valid_error"] >= 0.05)
    # Trial k of every network and rate trains on the same batches: the first batch's loss of one
    # network at two rates is the same (same weights, same data); GRU 8 and GRU 9 differ.
    first = {(n, lr): [r["curve"][0]["train_loss"] for r in runs]
             for n, by_rate in entry["runs"].items() for lr, runs in by_rate.items()}
    assert first[("LSTM 8", "0.01")] == first[("LSTM 8", "0.1")]
    assert first[("GRU 8", "0.01")] != first[("GRU 9", "0.01")]
    text = gru_vs_lstm.table(back, "adding")
    assert text.count("\n") == 2 + 3 * 2 and "| 0.1 |" in text or "**0.1**" in text


def test_a_solved_network_stops_and_a_time_cap_keeps_whole_trials():
    # Temporal order has four balanced classes: any network misclassifies about 3/4 of 512 sequences
    # at the start, so with solved_below = 0.9 it is solved at the first check and stops there.
    result = run("gru_vs_lstm", reduced=True, quiet=True, **{**TINY, "tasks": ["temporal_order"],
                                                            "solved_below": 0.9, "check_every": 2, "n_valid": 512})
    for by_rate in result["tasks"]["temporal_order"]["runs"].values():
        for runs in by_rate.values():
            assert [(r["solved_at"], r["sequences"]) for r in runs] == [(32, 32)] * 2
    capped = run("gru_vs_lstm", reduced=True, quiet=True, **{**TINY, "max_seconds": 0})
    assert capped["stopped_by"] == "max_seconds"
    for name, by_rate in capped["tasks"]["adding"]["runs"].items():
        assert [len(runs) for runs in by_rate.values()] == [1, 1]
        assert all(s["trials"] == 1 for s in capped["tasks"]["adding"]["summary"][name].values())


def test_the_sweep_plot_draws_every_network(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    result = run("gru_vs_lstm", reduced=True, seed=3, quiet=True, **TINY)
    fig, axes = plt.subplots(1, 3)
    gru_vs_lstm.plot_sweep(result, "adding", axes)
    assert len(axes[0].lines) == 3                    # solved share: one line per network
    assert len(axes[1].collections) == 3 * 2          # every trial: per network and rate
    assert [t.get_text().split("\n")[0] for t in axes[2].get_xticklabels()] == ["GRU 8", "GRU 9", "LSTM 8"]
    fig.savefig(tmp_path / "sweep.png")
    plt.close(fig)
    fig, axes = plt.subplots(1, 3)
    gru_vs_lstm.plot_curves(result, "adding", axes)
    entry = result["tasks"]["adding"]
    for ax, name in zip(axes, entry["networks"]):     # one curve per trial at the best rate
        runs = entry["runs"][name][entry["best_lr"][name]]
        assert [len(line.get_xdata()) for line in ax.lines[:-1]] == [len(r["curve"]) for r in runs]
    plt.close(fig)


def test_forget_bias_variant_changes_only_the_forget_gate_biases():
    plain = gru_vs_lstm.Network("LSTM", 2, 4, 1, seed=3)
    biased = gru_vs_lstm.Network("LSTM b_f=1", 2, 4, 1, seed=3)
    total = biased.params["bias_ih_l0"] + biased.params["bias_hh_l0"]
    np.testing.assert_array_equal(total[4:8], np.ones(4))
    for name, value in plain.params.items():
        if name.startswith("bias"):
            keep = np.r_[0:4, 8:16]
            np.testing.assert_array_equal(value[keep], biased.params[name][keep])
        else:
            np.testing.assert_array_equal(value, biased.params[name])
    assert gru_vs_lstm.count_parameters("LSTM b_f=1", 2, 4, 1) == gru_vs_lstm.count_parameters("LSTM", 2, 4, 1)


def test_fisher_exact_on_hand_counted_splits():
    # 5 of 5 against 0 of 5: of the C(10, 5) = 252 equally likely ways to place 5 successes among
    # 10 trials, only "all on a" and "all on b" are as extreme: 2 / 252.
    assert gru_vs_lstm.fisher_exact(5, 5, 0, 5) == pytest.approx(2 / 252)
    # 4 of 5 against 1 of 5: P(k) = C(5,k) C(5,5-k) / 252 for k = 0..5 is 1, 25, 100, 100, 25, 1
    # (over 252); the splits at most as likely as k = 4 are k = 0, 1, 4, 5: 52 / 252.
    assert gru_vs_lstm.fisher_exact(4, 5, 1, 5) == pytest.approx(52 / 252)
    assert gru_vs_lstm.fisher_exact(3, 5, 3, 5) == pytest.approx(1.0)
    assert gru_vs_lstm.fisher_exact(0, 5, 0, 5) == 1.0


def test_workers_give_the_same_sweep():
    def runs(result):
        return {name: {lr: [{k: v for k, v in r.items() if k != "cpu_time_s"} for r in rs]
                       for lr, rs in by_rate.items()}
                for name, by_rate in result["tasks"]["adding"]["runs"].items()}
    one = run("gru_vs_lstm", reduced=True, seed=4, quiet=True, **TINY)
    two = run("gru_vs_lstm", reduced=True, seed=4, quiet=True, **{**TINY, "workers": 2})
    assert runs(one) == runs(two)
    assert two["training_cpu_time_s"] > 0
