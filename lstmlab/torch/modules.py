"""RNN, LSTM and GRU as torch.nn.Modules with torch.nn's constructor, parameter names and results.

Written from the step equations (see :mod:`lstmlab.torch.functions`) with the time loop in Python, so
every speed-up is a switch that can be turned off to measure what it buys:

``input_projection``
    W_ih x(t) + b for all T steps in one matrix product before the loop (it has no recurrence);
    off, each step does its own small product.
``fused``
    the pointwise part of an LSTM / GRU step as one autograd node with a hand-written backward
    (:class:`~lstmlab.torch.functions.LSTMStep`, :class:`~lstmlab.torch.functions.GRUStep`).
``triton``
    on CUDA, those fused steps as Triton kernels: ``None`` uses them where ``triton`` imports,
    ``True`` insists, ``False`` never. Only the torch.nn step (LSTM variant NP, GRU); needs ``fused``.
``cuda_graphs``
    on CUDA, the whole unrolled forward and backward captured once per input shape with
    ``torch.cuda.make_graphed_callables`` and replayed: one launch instead of thousands.
"""

import math

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from lstmlab.torch import functions as F
from lstmlab.torch import triton_kernels


class _Recurrent(nn.Module):
    """Shared machinery: parameters, layers, directions, checks, the options above."""

    num_gates = 1
    num_states = 1

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, proj_size=0,
                 input_projection=True, fused=True, triton=None, cuda_graphs=False):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if proj_size and self.num_states == 1:
            raise ValueError(f"proj_size={proj_size!r}: projections exist for LSTM only (as in torch.nn); "
                             f"use lstmlab.torch.LSTM(..., proj_size=...) or a linear layer after the "
                             f"{type(self).__name__}")
        if not isinstance(proj_size, int) or isinstance(proj_size, bool) or not 0 <= proj_size < hidden_size:
            raise ValueError(f"proj_size must be an integer in [0, hidden_size={hidden_size}), "
                             f"got {proj_size!r}")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout!r}")
        if triton and not fused:
            raise ValueError("triton=True needs fused=True: the kernels implement the fused step")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.proj_size = proj_size
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1
        self.input_projection, self.fused = bool(input_projection), bool(fused)
        self.triton, self.cuda_graphs = triton, bool(cuda_graphs)
        self._graphed = {}
        if triton and self._triton_refusal():
            raise ValueError(f"triton=True: {self._triton_refusal()}; use triton=None or False")
        factory = {"device": device, "dtype": dtype}
        rows = self.num_gates * hidden_size
        out_size = proj_size or hidden_size  # the width of h(t): projected, if proj_size is set
        # Registered in torch.nn's order, so state_dict keys and order are the same; the names
        # per layer and direction are nn.RNNBase's _all_weights.
        self._all_weights = []
        for layer in range(num_layers):
            width = input_size if layer == 0 else out_size * self.num_directions
            for direction in range(self.num_directions):
                shapes = {"weight_ih": (rows, width), "weight_hh": (rows, out_size)}
                if self.bias:
                    shapes.update(bias_ih=(rows,), bias_hh=(rows,))
                shapes.update(self._extra_shapes())
                names = [f"{name}_{self._suffix(layer, direction)}" for name in shapes]
                for name, shape in zip(names, shapes.values()):
                    self.register_parameter(name, nn.Parameter(torch.empty(shape, **factory)))
                self._all_weights.append(names)
        self._flat_weights_names = [name for names in self._all_weights for name in names]
        self.reset_parameters()

    @staticmethod
    def _suffix(layer, direction):
        return f"l{layer}" + ("_reverse" if direction == 1 else "")

    def _extra_shapes(self):
        """Parameters after torch.nn's four per layer and direction (the LSTM's projection, peepholes)."""
        return {}

    # ------------------------------------------------------------------ nn.RNNBase's attributes
    # Code written for torch.nn reads these; here they are views of the registered parameters.
    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op: cuDNN's single weight buffer does not exist here (torch.nn's calls it on CUDA)."""

    def __prepare_scriptable__(self):
        # torch.jit.script calls this first: refuse before TorchScript fails on the Python loop.
        raise TypeError(f"torch.jit.script cannot compile lstmlab.torch.{type(self).__name__} (a Python "
                        f"loop over autograd Functions); use torch.compile(model), or "
                        f"torch.nn.{type(self).__name__} (same state_dict) for TorchScript")

    def reset_parameters(self):
        """torch.nn's initialisation: every parameter uniform in [-1/sqrt(H), 1/sqrt(H)]."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def _layer_params(self, layer, direction):
        sfx = self._suffix(layer, direction)
        return (getattr(self, f"weight_ih_{sfx}"), getattr(self, f"weight_hh_{sfx}"),
                getattr(self, f"bias_ih_{sfx}", None), getattr(self, f"bias_hh_{sfx}", None),
                {name: getattr(self, f"{name}_{sfx}") for name in self._extra_shapes()})

    def _backend(self, tensor):
        """'triton' where the options and the device allow the kernels, else 'torch'."""
        if self.triton is False or not (self.fused and tensor.is_cuda) or self._triton_refusal():
            return "torch"  # triton=True off CUDA too: the kernels are CUDA's, the torch step is exact
        if not triton_kernels.AVAILABLE:
            if self.triton:
                raise RuntimeError(f"triton=True but triton does not import: {triton_kernels.IMPORT_ERROR}")
            return "torch"
        return "triton"

    def _triton_refusal(self):
        """Why the Triton kernels cannot compute this model's step, or None."""
        return None

    # ------------------------------------------------------------------ checks
    def _check_input(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor or a PackedSequence, got {type(x).__name__}")
        layout = "(B, T, D)" if self.batch_first else "(T, B, D)"
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"input must be {layout} or unbatched (T, D) with D={self.input_size}, "
                             f"got shape {tuple(x.shape)}")
        self._check_dtype("input", x)
        if x.shape[0 if x.dim() == 2 or not self.batch_first else 1] == 0:
            raise ValueError("input must have at least one time step, got T=0")

    def _check_dtype(self, name, x):
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise TypeError(f"{name} dtype {x.dtype} differs from the parameters' {w.dtype}")

    def _states(self, hx, batch, unbatched, like):
        """Initial states as a tuple of (L*dirs, B, H) tensors (zeros for None), checked; with
        proj_size, h's last dimension is proj_size."""
        layers = self.num_layers * self.num_directions
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:self.num_states]
        if hx is None:
            return tuple(torch.zeros((layers, batch, size), dtype=like.dtype, device=like.device)
                         for size in sizes)
        if self.num_states == 1:
            hx = (hx,)
        elif not isinstance(hx, (tuple, list)) or len(hx) != self.num_states:
            shapes = " and ".join(str((layers, batch, size)) for size in sizes)
            raise TypeError(f"the initial state must be a tuple (h_0, c_0) of tensors {shapes}")
        out = []
        for name, s, size in zip(("h_0", "c_0"), hx, sizes):
            expected = (layers, size) if unbatched else (layers, batch, size)
            if not isinstance(s, torch.Tensor) or tuple(s.shape) != expected:
                got = tuple(s.shape) if isinstance(s, torch.Tensor) else type(s).__name__
                raise ValueError(f"{name} must have shape {expected}, got {got}")
            if s.dtype != like.dtype:
                raise TypeError(f"{name} dtype {s.dtype} differs from the input's {like.dtype}")
            out.append(s.unsqueeze(1) if unbatched else s)
        return tuple(out)

    # ------------------------------------------------------------------ passes
    def forward(self, input, hx=None):
        """``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``) exactly as the torch.nn module returns;
        a PackedSequence in gives a PackedSequence out."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input)
        unbatched = input.dim() == 2
        x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if self.batch_first else input)
        steps, batch = x.shape[:2]
        states = self._states(hx, batch, unbatched, x)
        out, finals = self._dispatch(x.reshape(steps * batch, -1), (batch,) * steps, states)
        out = out.view(steps, batch, -1)
        if unbatched:
            out, finals = out.squeeze(1), tuple(s.squeeze(1) for s in finals)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (finals[0] if self.num_states == 1 else finals)

    def _forward_packed(self, packed, hx):
        """torch.nn's packed contract: sorted by length inside, h_0 and h_n in the caller's order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if data.dim() != 2 or data.shape[1] != self.input_size:
            raise ValueError(f"a PackedSequence's data must be (N, D) with D={self.input_size}, "
                             f"got shape {tuple(data.shape)}")
        self._check_dtype("input", data)
        sizes = tuple(batch_sizes.tolist())  # how many sequences are still running at each step
        states = self._states(hx, sizes[0], False, data)
        if sorted_indices is not None:
            states = tuple(s.index_select(1, sorted_indices) for s in states)
        out, finals = self._dispatch(data, sizes, states)
        if unsorted_indices is not None:
            finals = tuple(s.index_select(1, unsorted_indices) for s in finals)
        out = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        return out, (finals[0] if self.num_states == 1 else finals)

    def _dispatch(self, data, batch_sizes, states):
        """The eager loop, or its CUDA graphs replayed: ``(packed output, final states)``."""
        if self.cuda_graphs and data.is_cuda and not torch.cuda.is_current_stream_capturing():
            results = self._graphed_run(data, batch_sizes, states)
        else:
            results = self._run(data, batch_sizes, *states)
        return results[0], results[1:]

    def _run(self, data, batch_sizes, *states0):
        """All layers and directions on a sequence in the packed layout: ``data`` (N, D) holds step t's
        ``batch_sizes[t]`` rows after those of the steps before (a dense (T, B, D) input is T blocks of
        B rows). Returns the flat tuple ``(output (N, dirs * H), *final states)``."""
        finals = [[] for _ in range(self.num_states)]
        backend = self._backend(data)
        layer_input = data
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                layer_input = nn.functional.dropout(layer_input, self.dropout, training=True)
            outs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                out, final = self._direction(layer_input, batch_sizes, tuple(s[index] for s in states0),
                                             self._layer_params(layer, direction), backend,
                                             reverse=direction == 1)
                outs.append(out)
                for k in range(self.num_states):
                    finals[k].append(final[k])
            layer_input = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
        return (layer_input, *(torch.stack(f) for f in finals))

    def _input_bias(self, b_ih, b_hh):
        """The bias that joins the input product: both biases sum there for the RNN and LSTM."""
        return None if b_ih is None else b_ih + b_hh

    def _direction(self, x, batch_sizes, state, params, backend, reverse):
        """One layer, one direction over a packed sequence: ``(out (N, H), final state tuple)``.

        The sequences are sorted longest first, so the ones running at step t are the first
        ``batch_sizes[t]`` rows of the state. Forwards, the rows of sequences that have ended are set
        aside with their final state; backwards (``reverse``), each sequence starts from its initial
        state at its own last step, as rows join the state.
        """
        w_ih, w_hh, b_ih, b_hh, extra = params
        bias = self._input_bias(b_ih, b_hh)

        def project(rows):
            return torch.addmm(bias, rows, w_ih.t()) if bias is not None else rows @ w_ih.t()

        # One split for all steps: a single autograd node, where a slice per step would add one each.
        blocks = (project(x) if self.input_projection else x).split(batch_sizes)
        order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        running = batch_sizes[order[0]]
        live = tuple(s[:running] for s in state) if running < state[0].shape[0] else state
        ended = []  # forwards: the final states of the rows that stopped, the last rows first
        outs = [None] * len(batch_sizes)
        for t in order:
            size = batch_sizes[t]
            if size < running:
                ended.append(tuple(s[size:] for s in live))
                live = tuple(s[:size] for s in live)
            elif size > running:
                live = tuple(torch.cat([s, s0[running:size]]) for s, s0 in zip(live, state))
            running = size
            a_t = blocks[t] if self.input_projection else project(blocks[t])
            live = self._step(a_t, live, w_hh, b_hh, extra, backend)
            outs[t] = live[0]
        final = tuple(torch.cat([s, *(e[k] for e in reversed(ended))]) if ended else s
                      for k, s in enumerate(live))
        return torch.cat(outs), final

    def _step(self, a_x, state, w_hh, b_hh, extra, backend):
        raise NotImplementedError

    # ------------------------------------------------------------------ CUDA graphs
    def _graphed_run(self, data, batch_sizes, states):
        if self.dropout > 0 and self.training and self.num_layers > 1:
            raise ValueError("cuda_graphs=True cannot replay random dropout masks; set dropout=0, "
                             "or cuda_graphs=False to train with dropout")
        grad = torch.is_grad_enabled()
        key = (tuple(data.shape), batch_sizes, data.dtype, data.device, grad, self.training,
               data.requires_grad, tuple(s.requires_grad for s in states))
        if key not in self._graphed:
            # Captured once per shape (and, packed, per pattern of lengths): warm-up, forward and
            # backward graphs. The parameters are read in place on every replay, so optimiser steps
            # between replays are seen.
            runner = _Unrolled(self, batch_sizes)
            sample = tuple(t.detach().clone().requires_grad_(t.requires_grad) for t in (data, *states))
            if grad:
                self._graphed[key] = torch.cuda.make_graphed_callables(runner, sample)
            else:
                self._graphed[key] = _forward_graph(runner, sample)
        # A replay overwrites the captured outputs in place: clone, so earlier results stay valid.
        return tuple(o.clone() for o in self._graphed[key](data, *states))

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False), ("proj_size", 0), ("input_projection", True),
                              ("fused", True), ("triton", None), ("cuda_graphs", False)):
            if getattr(self, name) != default:
                s += f", {name}={getattr(self, name)}"
        return s


class _Unrolled(nn.Module):
    """The owner's eager time loop as a module whose parameters are the owner's (for graph capture)."""

    def __init__(self, owner, batch_sizes):
        super().__init__()
        self.owner, self.batch_sizes = owner, batch_sizes

    def forward(self, data, *states):
        return self.owner._run(data, self.batch_sizes, *states)


def _forward_graph(runner, sample):
    """Inference only: capture the forward once on static buffers and replay it."""
    static_in = tuple(t.detach().clone() for t in sample)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(2):  # warm-up: lazy initialisation and kernel selection must not be captured
            runner(*static_in)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_out = runner(*static_in)

    def replay(*args):
        for buffer, value in zip(static_in, args):
            buffer.copy_(value)
        graph.replay()
        return static_out

    return replay


class RNN(_Recurrent):
    """Elman RNN with torch.nn.RNN's API: h(t) = f(W_ih x(t) + b_ih + W_hh h(t-1) + b_hh).

    One activation per step leaves nothing to fuse: ``fused`` has no effect and ``triton`` is refused.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None, **options):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype, **options)

    @property
    def mode(self):
        return "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"

    def _triton_refusal(self):
        return "the RNN step is one activation: there is nothing to fuse"

    def _step(self, a_x, state, w_hh, b_hh, extra, backend):
        a = torch.addmm(a_x, state[0], w_hh.t())
        return (torch.tanh(a) if self.nonlinearity == "tanh" else torch.relu(a),)


class LSTM(_Recurrent):
    """LSTM with torch.nn.LSTM's API; ``variant`` picks a Greff et al. variant (default NP = torch.nn).

    ``proj_size`` > 0 projects each output, h(t) = W_hr (o(t) * tanh(s(t))), as torch.nn does: h(t)
    and h_0 have proj_size units, the cell state keeps hidden_size. Variants with peepholes add a
    parameter ``weight_peep_l{k}[_reverse]`` of shape (3, H) (p_i, p_f, p_o); load a torch.nn.LSTM's
    state dict into them with ``strict=False``.
    """

    mode = "LSTM"
    num_gates = 4
    num_states = 2

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None, *,
                 variant="NP", **options):
        self.variant = F.lstm_variant(variant)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype, proj_size=proj_size, **options)

    def _extra_shapes(self):
        shapes = {"weight_peep": (3, self.hidden_size)} if self.variant.peepholes else {}
        if self.proj_size:
            shapes["weight_hr"] = (self.proj_size, self.hidden_size)
        return shapes

    def _triton_refusal(self):
        if self.variant != F.TORCH_LSTM:
            return f"the kernels compute torch.nn.LSTM's step (variant NP), not {self.variant}"
        return None

    def _step(self, a_x, state, w_hh, b_hh, extra, backend):
        h, c = state
        a = torch.addmm(a_x, h, w_hh.t())
        peep = extra.get("weight_peep")
        if self.fused:
            h, c = F.LSTMStep.apply(a, c, peep, self.variant, backend)
        else:
            h, c = F.lstm_pointwise(a, c, peep, self.variant)[:2]
        w_hr = extra.get("weight_hr")
        return (h, c) if w_hr is None else (h @ w_hr.t(), c)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.variant == F.TORCH_LSTM else s + f", variant={self.variant}"


class GRU(_Recurrent):
    """GRU with torch.nn.GRU's API (the reset gate scales W_hn h(t-1) + b_hn, Eq. 65)."""

    mode = "GRU"
    num_gates = 3

    def _input_bias(self, b_ih, b_hh):
        return b_ih  # b_hn sits inside the reset gate's product, so b_hh stays on the recurrent side

    def _step(self, a_x, state, w_hh, b_hh, extra, backend):
        h = state[0]
        a_h = torch.addmm(b_hh, h, w_hh.t()) if b_hh is not None else h @ w_hh.t()
        if self.fused:
            return (F.GRUStep.apply(a_x, a_h, h, backend),)
        return (F.gru_pointwise(a_x, a_h, h)[0],)
