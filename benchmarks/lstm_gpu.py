"""lstmlab.torch's LSTM and GRU at each optimisation level against torch.nn (cuDNN), in the same run.

For each model, shape and level: forward (no autograd) and forward+backward. Prints each time and
its ratio to torch.nn's (ours / torch.nn: 1.0 is parity, larger is slower) and writes the JSON record
of :func:`lstmlab.torch.benchmark.run` (machine, versions, settings, numbers) to
``<out-dir>/lstm_gpu_<gpu-name>.json`` (``lstm_gpu_cpu.json`` for ``--device cpu``); ``--packed`` times
a ragged batch as a PackedSequence instead (lengths from T down to T/4) and adds ``_packed`` to the name;
``--compile`` adds the level ``compiled`` (the fused level under torch.compile; compiling a long
unrolled loop takes minutes, so the GPU session leaves it out).

    python benchmarks/lstm_gpu.py [--dtype float32|bfloat16] [--repeats 20] [--tf32] [--packed] [--compile]
                                  [--out-dir benchmarks/results]
    python benchmarks/lstm_gpu.py --device cpu --quick --out-dir /tmp/x   # the code path, on a CPU

On a machine without CUDA, ``--device cuda`` (the default) says so and exits with status 0.
"""

import argparse
import json
import os
import sys

import torch

from lstmlab.torch import benchmark


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--quick", action="store_true",
                        help=f"one small shape {benchmark.QUICK_SHAPES}, 3 repeats: checks the code path")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float64"])
    parser.add_argument("--models", nargs="+", default=list(benchmark.MODELS), choices=list(benchmark.MODELS))
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per case (20; 3 with --quick)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed runs first (3; 1 with --quick)")
    parser.add_argument("--tf32", action="store_true",
                        help="float32 products on TF32 tensor cores, for cuDNN and for us alike")
    parser.add_argument("--packed", action="store_true",
                        help="a ragged batch as a PackedSequence (lengths T down to T/4), "
                             "for torch.nn and us")
    parser.add_argument("--compile", action="store_true",
                        help="add the level 'compiled': the fused level under torch.compile (inductor)")
    parser.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("lstm_gpu.py: no CUDA device here (torch.cuda.is_available() is False); nothing measured. "
              "Use --device cpu --quick to exercise the code path.")
        return 0
    os.makedirs(args.out_dir, exist_ok=True)

    def save(record):  # after every model and shape: a run stopped by a time limit keeps its data
        with open(benchmark.record_path(record, args.out_dir), "w") as f:
            json.dump(record, f, indent=2)

    record = benchmark.run(
        device=args.device, dtype=getattr(torch, args.dtype),
        shapes=benchmark.QUICK_SHAPES if args.quick else benchmark.GPU_SHAPES, models=args.models,
        repeats=args.repeats or (3 if args.quick else 20), warmup=args.warmup or (1 if args.quick else 3),
        precision="tf32" if args.tf32 else "ieee", quick=args.quick, save=save, packed=args.packed,
        compile=args.compile)
    for name, reason in record["config"]["skipped_levels"].items():
        print(f"level {name} skipped: {reason}")
    print(f"wrote {benchmark.record_path(record, args.out_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
