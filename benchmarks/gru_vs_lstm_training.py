"""One training step of the GRU-vs-LSTM sweep's networks on the CPU: the NumPy networks it uses
(the anchor) against the same network built from lstmlab.torch's modules and from torch.nn's.

A step is what the sweep does per batch: forward over a batch of adding-problem sequences, squared
error at the last step, backward, gradient clipping, Adam. Prints the thread CPU time per step (the
minimum over repeats, the least disturbed run) and its ratio to NumPy's; above 1 is slower.

    python benchmarks/gru_vs_lstm_training.py [--T 50] [--batch 32] [--steps 20] [--repeats 3]
"""

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import lstmlab.torch as lt  # noqa: E402
from lstmlab.datasets import tasks  # noqa: E402
from lstmlab.experiments import gru_vs_lstm  # noqa: E402
from lstmlab.numpy import optim  # noqa: E402


def numpy_steps(kind, hidden, batches, lr=0.01):
    net = gru_vs_lstm.Network(kind, 2, hidden, 1, seed=0)
    opt = optim.Adam(net.params, lr)

    def run():
        for b in batches:
            _, dy = gru_vs_lstm.loss_and_grad("adding", net.forward(b), b)
            grads = net.backward(dy)
            optim.clip_grad_norm(grads, 1.0)
            opt.step(grads)
    return run


def torch_steps(module, batches, dtype, lr=0.01):
    rnn = module.to(dtype)
    readout = torch.nn.Linear(rnn.hidden_size, 1).to(dtype)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr)
    data = [(torch.tensor(b.x, dtype=dtype), torch.tensor(b.lengths - 1),
             torch.tensor(b.info["sum"] / 4 + 0.5, dtype=dtype)) for b in batches]

    def run():
        for x, last, d in data:
            out, _ = rnn(x)
            y = readout(out[last, torch.arange(x.shape[1])])[:, 0]
            loss = ((y - d) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=50)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    batches = [tasks.adding(args.T, args.batch, rng) for _ in range(args.steps)]
    print(f"adding T = {args.T}, batch {args.batch}, one thread; ms of thread CPU time per training step")
    for kind, hidden in (("GRU", 9), ("LSTM", 8)):
        cases = {"numpy float64 (the sweep)": numpy_steps(kind, hidden, batches),
                 "lstmlab.torch float64": torch_steps(getattr(lt, kind)(2, hidden), batches, torch.float64),
                 "lstmlab.torch float32": torch_steps(getattr(lt, kind)(2, hidden), batches, torch.float32),
                 "torch.nn float32": torch_steps(getattr(torch.nn, kind)(2, hidden), batches, torch.float32)}
        best = {}
        for _ in range(args.repeats):     # cases take turns, so a burst of load hits all alike
            for name, fn in cases.items():
                start = time.thread_time()
                fn()
                best[name] = min(best.get(name, np.inf), (time.thread_time() - start) / args.steps)
        anchor = best["numpy float64 (the sweep)"]
        for name, t in best.items():
            print(f"{kind} {hidden:>2} units  {name:<27} {1000 * t:7.2f} ms   ratio to numpy {t / anchor:5.2f}")


if __name__ == "__main__":
    main()
