"""The benchmark scripts: the GPU benchmark's code path and record on the CPU, record names, and the
NumPy-vs-torch record that benchmarks/README.md quotes."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lstmlab.torch import benchmark

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "lstm_gpu.py"


def run_script(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def cpu_session(tmp_path_factory):
    """benchmarks/gpu_session.sh --cpu-check: the GPU session's commands on the CPU (its test
    selection collected, both benchmark runs --quick), records in a fresh folder."""
    out = tmp_path_factory.mktemp("gpu_session")
    result = subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_session.sh"), "--cpu-check"],
                            capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env=dict(os.environ, OUT=str(out), PYTHON=sys.executable))
    return result, out


# One xdist worker for both tests, so that the session runs once (make test uses --dist loadgroup).
@pytest.mark.xdist_group("gpu_session")
def test_gpu_session_runs_its_commands_on_the_cpu(cpu_session):
    result, out = cpu_session
    assert result.returncode == 0, result.stdout + result.stderr
    log = (out / "gpu_session.log").read_text()
    # The CUDA tests it would run exist (collected, not run), padded and packed among them.
    collected = int(re.search(r"(\d+)/\d+ tests collected", log).group(1))
    assert collected >= 30 and "test_packed_and_projected_match_torch_nn_at_every_level" in log
    assert sorted(p.name for p in out.iterdir()) == ["gpu_session.log", "lstm_gpu_cpu.json",
                                                     "lstm_gpu_cpu_packed.json"]


@pytest.mark.xdist_group("gpu_session")
@pytest.mark.parametrize("name,packed", [("lstm_gpu_cpu.json", False), ("lstm_gpu_cpu_packed.json", True)])
def test_quick_cpu_run_writes_a_complete_record(cpu_session, name, packed):
    record = json.loads((cpu_session[1] / name).read_text())

    assert record["benchmark"] == "lstm_gpu" and record["schema_version"] == benchmark.SCHEMA_VERSION
    assert record["device"] == "cpu" and record["quick"] is True and record["complete"] is True
    assert record["label"].startswith("CPU")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["created_utc"])
    machine = record["machine"]
    assert machine["gpu"] is None and machine["cpu_count"] >= 1 and machine["torch_threads"] >= 1
    assert len(machine["load_average_1_5_15min"]) == 3
    assert record["versions"]["torch"] == torch.__version__
    assert set(record["versions"]) >= {"python", "torch", "cuda", "cudnn", "triton"}
    config = record["config"]
    assert config["dtype"] == "float32" and config["statistic"] == "minimum"
    assert config["shapes"] == benchmark.QUICK_SHAPES
    assert config["input"] == ("packed" if packed else "padded")
    if packed:  # T down to T/4, the longest not first
        assert config["lengths"] == {"T=16 B=4": [4, 16, 12, 8]}
    else:
        assert "lengths" not in config
    # On a CPU the CUDA-only levels are skipped, with the reason, and every other level runs.
    assert config["skipped_levels"] == {"triton": "needs CUDA", "graphs": "needs CUDA"}
    assert list(config["levels"]) == ["naive", "projection", "fused"]
    for level, options in config["levels"].items():
        assert options == benchmark.LEVELS[level]

    # Exactly one row per model x shape x level x pass, the torch.nn row first with ratio 1.
    rows = record["results"]
    expected = [(m, level, p) for m in ("LSTM", "GRU") for level in ["torch.nn", *config["levels"]]
                for p in benchmark.PASSES]
    assert [(r["model"], r["level"], r["pass"]) for r in rows] == expected
    for row in rows:
        assert {k: row[k] for k in "TBDH"} == benchmark.QUICK_SHAPES[0]
        assert math.isfinite(row["ms"]) and row["ms"] > 0
        base = next(r for r in rows if (r["model"], r["pass"], r["level"]) ==
                    (row["model"], row["pass"], "torch.nn"))
        assert row["ratio"] == pytest.approx(row["ms"] / base["ms"], rel=1e-12)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_without_cuda_the_gpu_run_says_so_and_writes_nothing(tmp_path):
    result = run_script("--out-dir", str(tmp_path))
    assert result.returncode == 0 and "no CUDA device" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_record_names_carry_machine_dtype_and_precision():
    assert benchmark.slug("NVIDIA H200") == "nvidia-h200"
    assert benchmark.slug("NVIDIA A100-SXM4-80GB") == "nvidia-a100-sxm4-80gb"

    def record(device, gpu, dtype, precision):
        return {"device": device, "machine": {"gpu": gpu},
                "config": {"dtype": dtype, "float32_precision": precision}}

    ieee = {"cuda_matmul": "ieee", "cudnn_rnn": "ieee"}
    tf32 = {"cuda_matmul": "tf32", "cudnn_rnn": "tf32"}
    assert benchmark.record_path(record("cuda", "NVIDIA H200", "float32", ieee), "d") == \
        str(Path("d", "lstm_gpu_nvidia-h200.json"))
    assert benchmark.record_path(record("cuda", "NVIDIA H200", "float32", tf32), "d").endswith("_tf32.json")
    assert benchmark.record_path(record("cuda", "NVIDIA H200", "bfloat16", ieee), "d").endswith(
        "lstm_gpu_nvidia-h200_bfloat16.json")
    assert benchmark.record_path(record("cpu", None, "float32", {}), "d").endswith("lstm_gpu_cpu.json")
    packed = record("cuda", "NVIDIA H200", "float32", ieee)
    packed["config"]["input"] = "packed"
    assert benchmark.record_path(packed, "d").endswith("lstm_gpu_nvidia-h200_packed.json")


def test_numpy_cpu_record_is_complete_and_quoted_in_the_readme():
    record = json.loads((ROOT / "benchmarks" / "results" / "numpy_cpu.json").read_text())
    assert record["benchmark"] == "numpy_cpu" and record["config"]["statistic"] == "minimum"
    assert set(record["versions"]) >= {"python", "numpy", "torch"}
    rows = record["results"]
    cases = [(r["dtype"], r["batch"], r["pass"]) for r in rows]
    assert len(cases) == len(set(cases)) == 8
    for row in rows:
        assert row["ratio"] == pytest.approx(row["numpy_s"] / row["torch_s"], rel=1e-12)
        assert row["ratio_aten"] == pytest.approx(row["numpy_s"] / row["torch_aten_s"], rel=1e-12)
    # The README's table must show this record's ratios (two decimals), not an older run's.
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    for dtype in ("float32", "float64"):
        for batch in sorted({r["batch"] for r in rows}):
            case = {r["pass"]: r for r in rows if (r["dtype"], r["batch"]) == (dtype, batch)}
            ratios = [case[p][k] for k in ("ratio", "ratio_aten") for p in ("forward", "forward+backward")]
            line = f"| {dtype} | {batch} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |"
            assert line in readme, f"README table lacks {line!r}"


def test_op_counts_show_what_each_level_removes():
    from lstmlab.torch import LSTM

    steps = 10
    x = torch.randn(steps, 3, 8)
    counts = {level: benchmark.op_counts(LSTM(8, 8, **benchmark.LEVELS[level]), x)
              for level in ("naive", "projection", "fused")}
    # The naive loop multiplies by W_ih and W_hh at every step; hoisted, W_ih is one product in all.
    assert counts["naive"]["forward_matmuls"] == 2
    assert counts["projection"]["forward_matmuls"] == pytest.approx(1 + 1 / steps)
    # The fused step is one autograd node where autograd records one per pointwise operator.
    assert counts["fused"]["autograd_nodes"] < counts["projection"]["autograd_nodes"] / 3
    assert counts["fused"]["forward_ops"] == counts["projection"]["forward_ops"]
    for c in counts.values():  # the operators by name add up to the totals
        assert sum(c["forward_by_op"].values()) == pytest.approx(c["forward_ops"])
        assert sum(c["backward_by_op"].values()) == pytest.approx(c["backward_ops"])
    # Three sigmoids and two tanh per LSTM step, at every level.
    assert counts["naive"]["forward_by_op"]["sigmoid"] == counts["fused"]["forward_by_op"]["sigmoid"] == 3
    assert counts["fused"]["forward_by_op"]["tanh"] == 2
    # The smallest traffic of an op is its inputs and outputs: at least the 4H net inputs read and
    # h, c written, (4 + 2) * B * H float32 values per step.
    assert counts["fused"]["forward_pointwise_bytes"] >= 6 * 3 * 8 * 4


def test_lstm1997_engine_record_and_torch_loop():
    """The recorded engine benchmark covers every experiment and shows the issue's target on the
    adding problem (>= 30x the lock-step engine); its torch loop computes lstm_original's weights."""
    import importlib.util

    import numpy as np

    from lstmlab.datasets import tasks
    from lstmlab.numpy import lstm_original as lo
    record = json.loads((ROOT / "benchmarks" / "results" / "lstm1997_engine.json").read_text())
    rows = {row["setup"]: row for row in record["rows"]}
    assert len(rows) == 6 and all(row["engine_over_lockstep"] > 1 for row in rows.values())
    assert rows["Exp. 4 adding, T = 100"]["engine_over_lockstep"] >= 30
    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "lstm1997_engine.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    topo = lo.Topology(n_in=7, n_blocks=2, cells_per_block=2, n_out=7, forget_gate=True,
                       gate_feedback=True, g_range=(-1.0, 1.0), h_range=(-2.0, 2.0))
    rng = np.random.default_rng(0)
    params = lo.init_params(topo, 3, rng, scale=0.5)
    batch = tasks.embedded_reber(3, rng)
    weights = {k: torch.tensor(v) for k, v in params.items()}
    bench.torch_learn_online(topo, weights, *(torch.tensor(a) for a in (batch.x, batch.d, batch.mask)), 0.5)
    lo.learn_online(topo, params, batch.x, batch.d, batch.mask, 0.5)
    for key in params:
        np.testing.assert_allclose(weights[key].numpy(), params[key], rtol=0, atol=1e-12)
