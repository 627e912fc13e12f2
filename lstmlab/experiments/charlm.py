"""A character-level LSTM language model of Shakespeare's Coriolanus (Chapter 21, Sec. 11 of the tutorial).

The shipped text (``lstmlab/data/tinyshakespeare.txt``, about 112,000 characters) is split into a
training part and a held-out tail; a :class:`lstmlab.apps.charlm.TorchCharLM` is trained on the first by
truncated BPTT (Adam, gradient-norm clipping) on the CPU, its validation cross-entropy and perplexity
are recorded along the way, and the parameters with the lowest validation error are kept. Samples
are then drawn from their NumPy twin at several temperatures.
"""

import numpy as np
import torch

from lstmlab.apps import charlm
from lstmlab.datasets import text

FULL = {"text": "shakespeare", "valid_fraction": 0.1, "hidden": 256, "layers": 2, "dropout": 0.25,
        "steps": 100, "batch": 32, "lr": 0.002, "clip": 5.0, "epochs": 60, "eval_every": 16,
        "threads": 1, "max_seconds": 1080, "prime": "CORIOLANUS:\n", "sample_length": 400,
        "temperatures": [0.5, 1.0, 1.5]}
# The short run takes larger steps (lr) to get far in eight passes.
REDUCED = {**FULL, "hidden": 128, "layers": 1, "dropout": 0.0, "steps": 64, "lr": 0.01, "epochs": 8,
           "eval_every": 40, "max_seconds": 90, "sample_length": 300}

PAPER = {"section": "11.2 (cognitive learning tasks: text generation)",
         "references": ["[67] Sutskever, Martens & Hinton (2011), Generating text with recurrent "
                        "neural networks", "[24] Graves, Generating sequences with recurrent neural "
                        "networks"],
         "note": "no published numbers to reproduce: a small model of a 112 kB excerpt"}


def run(setup, seed, progress=None):
    source = text.load(setup["text"])
    vocab = text.Vocabulary(source)
    train_ids, valid_ids = text.split(vocab.encode(source), setup["valid_fraction"])
    model, history = charlm.train(train_ids, valid_ids, vocab.size, setup, seed, progress)
    for entry in history:
        entry["valid_perplexity"] = float(np.exp(entry["valid_loss"]))
    best = min(history, key=lambda e: e["valid_loss"])
    twin = charlm.CharLM.from_torch(model)
    rng = np.random.default_rng(seed)
    samples = {str(tau): charlm.sample(twin, vocab, setup["prime"], setup["sample_length"], tau, rng)
               for tau in setup["temperatures"]}
    per_epoch = text.streams(train_ids, setup["batch"])[0].size   # characters predicted per epoch
    unigram = charlm.unigram_cross_entropy(train_ids, valid_ids, vocab.size)
    return {"vocab_size": vocab.size, "train_characters": len(train_ids),
            "valid_characters": len(valid_ids),
            "parameters": sum(p.numel() for p in model.parameters()),
            "iterations": history[-1]["iteration"], "epochs_started": history[-1]["epoch"] + 1,
            "stopped_by": "epochs" if history[-1]["characters"] == setup["epochs"] * per_epoch
                          else "max_seconds",
            "best": best, "final": history[-1],
            "unigram_valid_loss": unigram, "unigram_valid_perplexity": float(np.exp(unigram)),
            "uniform_perplexity": vocab.size,
            "samples": samples, "history": history, "torch": torch.__version__}
