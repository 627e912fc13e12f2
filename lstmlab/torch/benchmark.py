"""Timing lstmlab.torch's optimisation levels against torch.nn (cuDNN on a GPU) and recording the run.

Each level adds one switch of :mod:`lstmlab.torch.modules` to the one before, so the difference
between two neighbouring rows of a record is what that one optimisation buys:

``naive``       a product per step for the input, autograd through every pointwise op;
``projection``  the input product for all steps at once;
``fused``       the pointwise step as one autograd node with a hand-written backward;
``triton``      that node as one Triton kernel each way (CUDA, where triton imports);
``graphs``      the unrolled forward and backward captured as CUDA graphs and replayed (CUDA).

With ``compile=True`` one more level, ``compiled``, is the ``fused`` level (torch's pointwise step)
under ``torch.compile`` (inductor), which writes fused kernels of its own; the first calls, which
compile, are the warm-up and not timed.

:func:`run` measures every model, shape, level and pass (forward without autograd; forward and
backward) against the torch.nn module with the same parameters, in the same process, and returns a
JSON-ready record of the machine, versions, settings and numbers; with ``packed=True`` the input is a
ragged batch as a PackedSequence (:func:`ragged_lengths`), for torch.nn and us alike.
``benchmarks/lstm_gpu.py`` is its command line; the chapter "LSTMs on the GPU" reads the records it
writes.
"""

import datetime
import os
import platform
import re
import statistics
import sys
import time

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from lstmlab.torch import threads, triton_kernels
from lstmlab.torch.modules import GRU, LSTM

LEVELS = {
    "naive": dict(input_projection=False, fused=False, triton=False),
    "projection": dict(input_projection=True, fused=False, triton=False),
    "fused": dict(input_projection=True, fused=True, triton=False),
    "triton": dict(input_projection=True, fused=True, triton=True),
    "graphs": dict(input_projection=True, fused=True, triton=True, cuda_graphs=True),
}
MODELS = {"LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}
#: the two GPU configurations: a wide layer on short sequences, a narrow one on long sequences
GPU_SHAPES = [dict(T=100, B=64, D=512, H=512), dict(T=1024, B=8, D=256, H=256)]
#: small enough for a test or a book build on a loaded CPU
QUICK_SHAPES = [dict(T=16, B=4, D=32, H=32)]
PASSES = ("forward", "forward+backward")
#: 2: config["input"] ("padded" or "packed") and, packed, config["lengths"]
SCHEMA_VERSION = 2


def ragged_lengths(steps, batch):
    """The packed benchmark's lengths: spread evenly from T down to T/4, the shortest first (so the
    longest is not, and torch.nn and we both sort the batch)."""
    lengths = torch.linspace(steps, max(1, steps // 4), batch).round().long()
    return lengths.roll(1)


def levels_for(device):
    """The levels that can run on ``device`` (with the options actually used) and why others cannot."""
    levels, skipped = {}, {}
    for name, options in LEVELS.items():
        if device.type != "cuda" and (options.get("triton") or options.get("cuda_graphs")):
            skipped[name] = "needs CUDA"
        elif options.get("cuda_graphs") and not triton_kernels.AVAILABLE:
            levels[name] = dict(options, triton=False)  # graphs still apply to the torch step
        elif options.get("triton") and not triton_kernels.AVAILABLE:
            skipped[name] = f"triton does not import: {triton_kernels.IMPORT_ERROR}"
        else:
            levels[name] = dict(options)
    return levels, skipped


def float32_precision():
    """The float32 precision of matrix products (cuBLAS) and of cuDNN's RNNs now in force."""
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(cudnn, "rnn"):  # torch >= 2.9: per-backend fp32_precision ("ieee", "tf32", "none")
        return {"cuda_matmul": matmul.fp32_precision, "cudnn_rnn": cudnn.rnn.fp32_precision}
    return {"cuda_matmul": "tf32" if matmul.allow_tf32 else "ieee",  # older torch: one flag each
            "cudnn_rnn": "tf32" if cudnn.allow_tf32 else "ieee"}


def set_float32_precision(mode):
    """Matrix products (cuBLAS) and cuDNN's RNNs at the same float32 precision, "ieee" or "tf32";
    returns the settings now in force (a dict as :func:`float32_precision` gives, also accepted).

    torch's defaults differ (cuBLAS IEEE, cuDNN's RNNs TF32), which would compare cuDNN with
    tensor-core products against us without them.
    """
    modes = mode if isinstance(mode, dict) else {"cuda_matmul": mode, "cudnn_rnn": mode}
    matmul, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
    if hasattr(cudnn, "rnn"):
        matmul.fp32_precision = modes["cuda_matmul"]
        cudnn.rnn.fp32_precision = modes["cudnn_rnn"]
    else:
        matmul.allow_tf32 = modes["cuda_matmul"] == "tf32"
        cudnn.allow_tf32 = modes["cudnn_rnn"] == "tf32"
    return float32_precision()


def timer(device, repeats, warmup):
    """``time_ms(fn)``: on CUDA the median of CUDA-event times; on the CPU the minimum CPU time of
    the calling thread.

    On the CPU, torch runs on one thread (see :func:`run`), so the calling thread's CPU time is all
    the work, and unlike the wall clock it leaves out the time spent waiting for a core on a shared
    machine; the least disturbed run (the minimum) is the best estimate. A dedicated GPU's times
    scatter both ways, and the median resists outliers.
    """
    def time_ms(fn):
        for _ in range(warmup):  # lazy initialisation, cuDNN plans, Triton compilation, graph capture
            fn()
        times = []
        if device.type == "cuda":
            torch.cuda.synchronize()
            for _ in range(repeats):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            return statistics.median(times)
        for _ in range(repeats):
            start = time.thread_time()
            fn()
            times.append(1e3 * (time.thread_time() - start))
        return min(times)

    return time_ms


def passes(module, x):
    """The two timed passes: forward without autograd, and forward with backward of a sum."""
    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        out, _ = module(x)
        (out.data if isinstance(out, PackedSequence) else out).float().sum().backward()

    return {"forward": forward, "forward+backward": forward_backward}


def machine(device):
    """What the numbers were measured on."""
    info = {"device": device.type, "platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "load_average_1_5_15min": list(os.getloadavg())}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2 ** 30, 1),
                    compute_capability=f"{props.major}.{props.minor}")
    else:
        info.update(gpu=None, torch_threads=torch.get_num_threads())
    return info


def label(device):
    """A human label for the machine: the GPU's name, or "CPU" with the core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores)"


def slug(text):
    """``NVIDIA H200`` -> ``nvidia-h200``: the machine's part of a record's file name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def versions():
    out = {"python": sys.version.split()[0], "torch": torch.__version__, "cuda": torch.version.cuda,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}
    if triton_kernels.AVAILABLE:
        out["triton"] = triton_kernels.triton.__version__
    else:
        out["triton"] = None
    return out


def run(device="cuda", dtype=torch.float32, shapes=GPU_SHAPES, models=tuple(MODELS), repeats=20,
        warmup=3, precision="ieee", quick=False, progress=print, save=None, cpu_threads=1, packed=False,
        compile=False):
    """Measure every model x shape x level x pass against torch.nn; returns the record (a dict).
    ``packed``: the input is a ragged batch (:func:`ragged_lengths`) as a PackedSequence;
    ``compile``: add the level ``compiled`` (see above).

    On the CPU, torch runs on ``cpu_threads`` threads for the duration (restored afterwards): on a
    shared machine, small operators split over several busy cores wait for each other, and their
    times say more about the neighbours than about the code.

    ``save(record)``, if given, is called after each model and shape with the record so far
    (``"complete": False`` until the end), so a run cut short by a time limit still leaves data.
    """
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda asked for, but torch.cuda.is_available() is False")
    levels, skipped = levels_for(device)
    if compile:
        levels["compiled"] = dict(LEVELS["fused"], compile=True)
    settings = set_float32_precision(precision) if device.type == "cuda" else {}
    with threads.cpu_threads(cpu_threads if device.type == "cpu" else None):
        return _measure(device, dtype, shapes, models, repeats, warmup, quick, progress, save, levels,
                        skipped, settings, packed)


def _measure(device, dtype, shapes, models, repeats, warmup, quick, progress, save, levels, skipped,
             settings, packed):
    time_ms = timer(device, repeats, warmup)
    dtype_name = str(dtype).replace("torch.", "")
    rows = []
    record = {
        "benchmark": "lstm_gpu",
        "schema_version": SCHEMA_VERSION,
        "label": label(device),
        "device": device.type,
        "quick": quick,
        "complete": False,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reference": "cuDNN (torch.nn on CUDA)" if device.type == "cuda" else "torch.nn's CPU kernels",
        "config": {"dtype": dtype_name, "repeats": repeats, "warmup": warmup,
                   "statistic": "median" if device.type == "cuda" else "minimum",
                   "clock": "CUDA events" if device.type == "cuda" else "CPU time of the calling thread",
                   "float32_precision": settings, "shapes": list(shapes), "models": list(models),
                   "input": "packed" if packed else "padded",
                   "levels": levels, "skipped_levels": skipped, "passes": list(PASSES)},
        "machine": machine(device),
        "versions": versions(),
        "results": rows,
    }
    if packed:
        record["config"]["lengths"] = {f"T={s['T']} B={s['B']}": ragged_lengths(s["T"], s["B"]).tolist()
                                       for s in shapes}
    progress(f"{label(device)}, {dtype_name}, {record['config']['input']} input; "
             f"ratio = our time / torch.nn's "
             f"({'median' if device.type == 'cuda' else 'minimum'} of {repeats})")
    for model_name in models:
        ours_cls, reference_cls = MODELS[model_name]
        for shape in shapes:
            torch.manual_seed(0)
            reference = reference_cls(shape["D"], shape["H"], device=device, dtype=dtype)
            x = torch.randn(shape["T"], shape["B"], shape["D"], device=device, dtype=dtype)
            if packed:
                x = pack_padded_sequence(x, ragged_lengths(shape["T"], shape["B"]), enforce_sorted=False)
            name = f"{model_name} T={shape['T']} B={shape['B']} D=H={shape['H']}"
            base = {p: time_ms(fn) for p, fn in passes(reference, x).items()}
            for p, ms in base.items():
                rows.append({"model": model_name, **shape, "level": "torch.nn", "pass": p, "ms": ms,
                             "ratio": 1.0})
                progress(f"{name:32} {'torch.nn':11} {p:17} {ms:9.3f} ms")
            for level, options in levels.items():
                options = dict(options)
                compiled = options.pop("compile", False)
                ours = ours_cls(shape["D"], shape["H"], device=device, dtype=dtype, **options)
                ours.load_state_dict(reference.state_dict())
                for p, fn in passes(torch.compile(ours) if compiled else ours, x).items():
                    ms = time_ms(fn)
                    rows.append({"model": model_name, **shape, "level": level, "pass": p, "ms": ms,
                                 "ratio": ms / base[p]})
                    progress(f"{name:32} {level:11} {p:17} {ms:9.3f} ms  x{ms / base[p]:6.2f}")
                del ours
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            if save is not None:
                save(record)
    record["complete"] = True
    if save is not None:
        save(record)
    return record


def record_path(record, directory):
    """``<directory>/lstm_gpu_<machine>[_<dtype>][_tf32][_packed].json``, the machine ``cpu`` for a
    CPU run.

    The plain name is the float32 run at IEEE precision on padded batches; other settings get their
    own file.
    """
    name = slug(record["machine"]["gpu"]) if record["device"] == "cuda" else "cpu"
    config = record["config"]
    if config["dtype"] != "float32":
        name += f"_{config['dtype']}"
    elif "tf32" in config["float32_precision"].values():
        name += "_tf32"
    if config.get("input") == "packed":
        name += "_packed"
    return os.path.join(directory, f"lstm_gpu_{name}.json")


class _OpCounter(TorchDispatchMode):
    """Counts the operators that compute (views only relabel memory) and the bytes they touch."""

    MATMULS = ("aten.mm.", "aten.addmm.", "aten.bmm.", "aten.matmul.")

    def __init__(self):
        super().__init__()
        self.ops, self.matmuls, self.pointwise_bytes = 0, 0, 0
        self.by_op = {}  # operator name (aten.sigmoid, ...) -> how many times it ran

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view or str(func).startswith(("aten.detach", "aten.alias")):
            return out
        self.ops += 1
        name = str(func).split(".")[1]
        self.by_op[name] = self.by_op.get(name, 0) + 1
        if str(func).startswith(self.MATMULS):
            self.matmuls += 1
        else:  # every input read once and every output written once: the least traffic an op causes
            tensors = [t for t in tree_flatten((args, kwargs, out))[0] if isinstance(t, torch.Tensor)]
            self.pointwise_bytes += sum(t.numel() * t.element_size() for t in tensors)
        return out


def _autograd_nodes(tensor):
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
    return len(seen)


def op_counts(module, x):
    """Per time step of one forward and one backward of ``module`` on ``x`` (T, B, D): operators
    (kernel launches on a GPU), of them matrix products, bytes read and written by the others, the
    autograd nodes recorded, and (``forward_by_op``, ``backward_by_op``) the operators by name.
    Counted by intercepting every operator torch dispatches."""
    steps = x.shape[0]
    with _OpCounter() as forward:
        out, _ = module(x)
    loss = out.sum()
    nodes = _autograd_nodes(loss)
    with _OpCounter() as backward:
        loss.backward()
    counts = {"autograd_nodes": nodes / steps}
    for name, counter in (("forward", forward), ("backward", backward)):
        for what in ("ops", "matmuls", "pointwise_bytes"):
            counts[f"{name}_{what}"] = getattr(counter, what) / steps
        counts[f"{name}_by_op"] = {op: n / steps for op, n in sorted(counter.by_op.items())}
    return counts
