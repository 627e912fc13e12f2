"""The NumPy LSTM against torch.nn.LSTM on the CPU: forward and forward+backward, float32 and float64,
batch 1 and a larger batch. Prints time ratios (ours / torch) and writes a JSON record.

torch has two CPU LSTMs: where oneDNN is built in (the PyPI wheels), float32 runs oneDNN's fused
LSTM primitive, one compiled kernel for the whole sequence; float64, and float32 with oneDNN off,
run ATen's loop of a product and pointwise kernels per step, like ours. Both are timed: the ratio
to torch.nn.LSTM as it comes, and ``ratio_aten`` to ATen's loop (the same numbers for float64).

    python benchmarks/numpy_cpu.py [--threads 1] [--steps 100] [--size 128] [--batch 32]
                                   [--json benchmarks/results/numpy_cpu.json]

Both libraries get the same number of threads (BLAS for NumPy, intra-op for torch), set before the
imports. Each run is timed twice: by the wall clock and by the CPU time of the calling thread, which
does all the work with one thread (both libraries run their kernels, and torch its backward pass, in
the caller's thread). On a shared machine the wall clock also counts the time the process waited
for a core, more of it the longer a run lasts; CPU time does not, so the ratios use CPU time. The
time of a case is the minimum over repeats, the least disturbed run.
"""

import argparse
import json
import os
import sys
import time


def parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100, help="sequence length T")
    parser.add_argument("--size", type=int, default=128, help="input and hidden size D = H")
    parser.add_argument("--batch", type=int, default=32, help="the batch > 1")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="where to write the record")
    return parser.parse_args()


def best_times(fns, repeats):
    """Minimum (thread CPU time, wall time) of each function; they take turns, so a burst of load
    hits both alike."""
    for fn in fns:
        fn()  # warm-up: first-call allocations and lazy initialisation
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times):
            cpu, wall = time.thread_time(), time.perf_counter()
            fn()
            record.append((time.thread_time() - cpu, time.perf_counter() - wall))
    return [(min(c for c, _ in t), min(w for _, w in t)) for t in times]


def without_onednn(fn):
    """``fn`` run with torch's oneDNN kernels switched off: torch.nn.LSTM then takes ATen's loop."""
    import torch

    def run():
        before, torch.backends.mkldnn.enabled = torch.backends.mkldnn.enabled, False
        try:
            fn()
        finally:
            torch.backends.mkldnn.enabled = before
    return run


def main():
    args = parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    from lstmlab.numpy import LSTM
    from lstmlab.torch import benchmark

    torch.set_num_threads(args.threads)
    rows = []
    print(f"T={args.steps}, D=H={args.size}, threads={args.threads}; ratio = NumPy time / torch time "
          "(thread CPU time; then the wall-clock ratio, and torch's ATen loop with oneDNN off)")
    print(f"{'dtype':8} {'B':>4} {'pass':17} {'numpy ms':>9} {'torch ms':>9} {'ratio':>6} {'wall':>6} "
          f"{'ATen ms':>9} {'ratio':>6}")
    for dtype_name in ("float32", "float64"):
        np_dtype, torch_dtype = np.dtype(dtype_name), getattr(torch, dtype_name)
        for batch in (1, args.batch):
            module = torch.nn.LSTM(args.size, args.size, dtype=torch_dtype)
            model = LSTM.from_torch(module)
            x = np.random.default_rng(0).normal(size=(args.steps, batch, args.size)).astype(np_dtype)
            g_out = np.ones((args.steps, batch, args.size), dtype=np_dtype)
            xt = torch.tensor(x, requires_grad=True)

            def np_forward():
                model.forward(x)

            def np_both():
                model.forward(x)
                model.backward(g_out)

            def torch_forward():
                with torch.no_grad():
                    module(xt)

            def torch_both():
                module(xt)[0].sum().backward()

            for name, ours, theirs in (("forward", np_forward, torch_forward),
                                       ("forward+backward", np_both, torch_both)):
                (t_np, wall_np), (t_torch, wall_torch), (t_aten, _) = best_times(
                    (ours, theirs, without_onednn(theirs)), args.repeats)
                rows.append({"dtype": dtype_name, "batch": batch, "pass": name, "numpy_s": t_np,
                             "torch_s": t_torch, "ratio": t_np / t_torch, "numpy_wall_s": wall_np,
                             "torch_wall_s": wall_torch, "wall_ratio": wall_np / wall_torch,
                             "torch_aten_s": t_aten, "ratio_aten": t_np / t_aten})
                print(f"{dtype_name:8} {batch:4d} {name:17} {1e3 * t_np:9.2f} {1e3 * t_torch:9.2f} "
                      f"{t_np / t_torch:6.2f} {wall_np / wall_torch:6.2f} {1e3 * t_aten:9.2f} "
                      f"{t_np / t_aten:6.2f}")
    record = {
        "benchmark": "numpy_cpu",
        "config": {"T": args.steps, "D": args.size, "H": args.size, "threads": args.threads,
                   "repeats": args.repeats, "statistic": "minimum",
                   "clock": "CPU time of the calling thread (wall clock in *_wall_s)"},
        "machine": benchmark.machine(torch.device("cpu")),
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "torch": torch.__version__,
                     "onednn_built_in": torch.backends.mkldnn.is_available()},
        "results": rows,
    }
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
