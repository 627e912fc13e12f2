"""lstmlab.torch's LSTM and GRU against cuDNN (torch.nn.LSTM / GRU) on one GPU, in the same run.

For each model, shape and optimisation level: forward (inference, no autograd) and forward+backward,
timed with CUDA events (median of repeats after warm-up). Prints each time and its ratio to cuDNN's
(ours / cuDNN: 1.0 is parity, larger is slower) and writes a JSON record of machine, versions and
numbers. On a machine without CUDA it says so and exits with status 0.

    python benchmarks/lstm_gpu.py [--dtype float32|bfloat16] [--repeats 20]
                                  [--json benchmarks/results/lstm_gpu.json]
"""

import argparse
import json
import os
import platform
import statistics
import sys

import torch

from lstmlab.torch import GRU, LSTM

SHAPES = [dict(T=100, B=64, D=512, H=512), dict(T=1024, B=8, D=256, H=256)]
# Each level adds one optimisation to the one before (the same table as tests/test_torch_models.py).
LEVELS = {
    "naive": dict(input_projection=False, fused=False, triton=False),
    "projection": dict(input_projection=True, fused=False, triton=False),
    "fused": dict(input_projection=True, fused=True, triton=False),
    "triton": dict(input_projection=True, fused=True, triton=True),
    "graphs": dict(input_projection=True, fused=True, triton=True, cuda_graphs=True),
}
MODELS = {"LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}


def parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", default="benchmarks/results/lstm_gpu.json")
    return parser.parse_args()


def median_ms(fn, repeats, warmup):
    for _ in range(warmup):  # lazy initialisation, cuDNN plans, Triton compilation, graph capture
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def passes(module, x):
    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        out, _ = module(x)
        out.float().sum().backward()

    return {"forward": forward, "forward+backward": forward_backward}


def versions():
    out = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version()}
    try:
        import triton
        out["triton"] = triton.__version__
    except ImportError:
        out["triton"] = None
    return out


def main():
    args = parse()
    if not torch.cuda.is_available():
        print("lstm_gpu.py: no CUDA device here (torch.cuda.is_available() is False); nothing measured.")
        return 0
    from lstmlab.torch import triton_kernels
    levels = dict(LEVELS)
    if not triton_kernels.AVAILABLE:
        print(f"triton does not import ({triton_kernels.IMPORT_ERROR}): the triton levels are skipped")
        levels = {k: v for k, v in levels.items() if not v.get("triton")}
    dtype = getattr(torch, args.dtype)
    device = torch.device("cuda")
    rows = []
    print(f"{torch.cuda.get_device_name()}, {args.dtype}; ratio = our time / cuDNN time (median of "
          f"{args.repeats})")
    for model_name, (ours_cls, cudnn_cls) in MODELS.items():
        for shape in SHAPES:
            torch.manual_seed(0)
            reference = cudnn_cls(shape["D"], shape["H"], device=device, dtype=dtype)
            x = torch.randn(shape["T"], shape["B"], shape["D"], device=device, dtype=dtype)
            base = {name: median_ms(fn, args.repeats, args.warmup)
                    for name, fn in passes(reference, x).items()}
            label = f"{model_name} T={shape['T']} B={shape['B']} D=H={shape['H']}"
            for name, ms in base.items():
                rows.append({"model": model_name, **shape, "level": "cudnn", "pass": name, "ms": ms,
                             "ratio_to_cudnn": 1.0})
                print(f"{label:32} {'cudnn':11} {name:17} {ms:9.3f} ms")
            for level, options in levels.items():
                ours = ours_cls(shape["D"], shape["H"], device=device, dtype=dtype, **options)
                ours.load_state_dict(reference.state_dict())
                for name, fn in passes(ours, x).items():
                    ms = median_ms(fn, args.repeats, args.warmup)
                    rows.append({"model": model_name, **shape, "level": level, "pass": name, "ms": ms,
                                 "ratio_to_cudnn": ms / base[name]})
                    print(f"{label:32} {level:11} {name:17} {ms:9.3f} ms  x{ms / base[name]:6.2f}")
                del ours
                torch.cuda.empty_cache()
    record = {
        "benchmark": "lstm_gpu",
        "config": {"dtype": args.dtype, "repeats": args.repeats, "warmup": args.warmup,
                   "statistic": "median", "levels": levels},
        "machine": {"gpu": torch.cuda.get_device_name(), "platform": platform.platform(),
                    "cpu_count": os.cpu_count()},
        "versions": versions(),
        "results": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
