"""The torch-compatible recurrent model contract shared by RNN, LSTM and GRU.

A concrete model subclasses :class:`RecurrentModel` and supplies four things:

``num_gates``
    how many blocks of ``hidden_size`` rows the weight matrices stack: 1 for the RNN, 4 for the
    LSTM (order i, f, g, o) and 3 for the GRU (order r, z, n), exactly as ``torch.nn`` does;
``num_states``
    how many state tensors a layer carries: 1 (``h``) or 2 (``h, c``);
``sequence_forward(x, state0, w_ih, w_hh, b_ih, b_hh) -> (out, final_state, cache)``
    one layer, one direction, the whole sequence: ``x`` is ``(T, B, D)``, ``state0`` a tuple of
    ``num_states`` arrays ``(B, H)``, ``w_ih`` is ``(G*H, D)``, ``w_hh`` is ``(G*H, H)``, the biases
    ``(G*H,)`` or ``None``; ``out`` is ``(T, B, H)`` and ``final_state`` a tuple like ``state0``;
``sequence_backward(d_out, d_final_state, cache) -> (dx, d_state0, dw_ih, dw_hh, db_ih, db_hh)``
    the matching hand-written backward pass (``d_state0`` a tuple, ``db_*`` ``None`` where the
    bias is ``None``).

Both may be plain functions wrapped in ``staticmethod`` or methods; they must not modify ``self``.

The step API. Every NumPy model with a recurrent cell (:mod:`~lstmlab.numpy.rnn`,
:mod:`~lstmlab.numpy.lstm`, :mod:`~lstmlab.numpy.lstm_cell`, :mod:`~lstmlab.numpy.gru`,
:mod:`~lstmlab.numpy.md_lstm`) exposes one step and its backward step the same way:

``step(x_t, state, params, **options) -> (state, cache)``
    ``x_t`` is ``(B, D)``, ``state`` a tuple (``(h,)``, or ``(h, c)`` for the LSTMs), ``params`` a
    dict keyed like the module's parameters (``w_ih``, ``w_hh``, ``b_ih``, ``b_hh``...), options
    keyword arguments of the model (the LSTM's ``variant``, the GRU's ``reset_after``...); the new
    state is a tuple like the old one (its first entry is the step's output), and ``cache`` holds
    what the backward step needs (the caller only passes it on);
``step_backward(d_state, cache) -> (dx, d_state_prev, grads)``
    ``d_state`` the gradients of the loss with respect to the new state (everything that reaches
    it: from the layer above and from step t + 1), ``d_state_prev`` a tuple like the state, ``grads``
    a dict keyed like ``params``, summed over the batch.

The exercises ask for other signatures (separate arrays, a cache the student fills in); those are
adapters in :mod:`lstmlab.grading.adapters`, built on this API.
Everything else lives here: parameters with torch's names and initialisation, ``from_torch``,
input checks, and the bookkeeping between torch's flat layout (one entry per layer and direction)
and the two wrappers that do the work: :mod:`lstmlab.numpy.bidirectional` (the reverse direction,
Sec. 10.1) and :mod:`lstmlab.numpy.stacked` (layers on top of each other, Eq. 52).
"""

from functools import partial

import numpy as np

from lstmlab.numpy import bidirectional, stacked
from lstmlab.numpy.init import uniform

_DTYPES = (np.float64, np.float32)


def check_step(x_t, state, params, num_gates, num_states=1):
    """Clear errors for a step's inputs (the step API above); returns the hidden size H."""
    if not isinstance(x_t, np.ndarray) or x_t.ndim != 2:
        got = x_t.shape if isinstance(x_t, np.ndarray) else type(x_t).__name__
        raise ValueError(f"x_t must be an array (B, D), got {got}")
    if not isinstance(params, dict) or "w_hh" not in params or "w_ih" not in params:
        raise ValueError(f"params must be a dict with 'w_ih' and 'w_hh', got {params!r:.80}")
    batch, width = x_t.shape
    hid = params["w_hh"].shape[-1]
    expected = {"w_ih": (num_gates * hid, width), "w_hh": (num_gates * hid, hid),
                "b_ih": (num_gates * hid,), "b_hh": (num_gates * hid,)}
    for name, array in params.items():
        if name not in expected:
            raise ValueError(f"unknown parameter {name!r}: expected some of {sorted(expected)}")
        if array.shape != expected[name]:
            raise ValueError(f"{name} must have shape {expected[name]}, got {array.shape}")
    if not isinstance(state, tuple) or len(state) != num_states:
        got = f"{len(state)} arrays" if isinstance(state, tuple) else type(state).__name__
        raise ValueError(f"state must be a tuple of {num_states} arrays (B, H) = {(batch, hid)}, got {got}")
    for s in state:
        if s.shape != (batch, hid):
            raise ValueError(f"every state must have shape (B, H) = {(batch, hid)}, got {s.shape}")
    return hid


def sequence_step(sequence_forward, x_t, state, params, num_gates, *options):
    """The step API for a one-state layer in the contract above: its ``sequence_forward`` over one step."""
    check_step(x_t, state, params, num_gates)
    _, final, cache = sequence_forward(x_t[None], state, params["w_ih"], params["w_hh"], params.get("b_ih"),
                                       params.get("b_hh"), *options)
    return final, cache


def sequence_step_backward(sequence_backward, d_state, cache):
    """Backward step of :func:`sequence_step`: ``(dx, d_state_prev, grads)``, grads keyed like params."""
    dh = d_state[0]
    dx, d_state_prev, *d_params = sequence_backward(np.zeros((1,) + dh.shape, dtype=dh.dtype), d_state, cache)
    names = ("w_ih", "w_hh", "b_ih", "b_hh")
    return dx[0], d_state_prev, {k: g for k, g in zip(names, d_params) if g is not None}


class RecurrentModel:
    """Multi-layer, optionally bidirectional recurrent model with torch.nn's API and parameter names."""

    num_gates = 1
    num_states = 1
    #: the torch.nn class name this model mirrors (checked by ``from_torch``)
    torch_name = None

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False,
                 batch_first=False, dtype=np.float64, seed=0):
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_layers", num_layers)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        dtype = np.dtype(dtype)
        if dtype not in [np.dtype(d) for d in _DTYPES]:
            raise TypeError(f"dtype must be float64 or float32, got {dtype}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bool(bias)
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.dtype = dtype
        self.num_directions = 2 if self.bidirectional else 1
        # torch draws every parameter from U(-1/sqrt(H), 1/sqrt(H)).
        rng = np.random.default_rng(seed)
        scale = 1.0 / np.sqrt(self.hidden_size)
        self.params = {name: uniform(shape, scale, rng, dtype)
                       for name, shape in self._param_shapes().items()}
        self.grads = {}
        self.grad_state = None
        self._tape = None

    # ------------------------------------------------------------------ parameters
    def _suffix(self, layer, direction):
        return f"l{layer}" + ("_reverse" if direction == 1 else "")

    def _param_shapes(self):
        """Torch's parameter names and shapes, in torch's order."""
        rows, h = self.num_gates * self.hidden_size, self.hidden_size
        shapes = {}
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else h * self.num_directions
            for direction in range(self.num_directions):
                sfx = self._suffix(layer, direction)
                shapes[f"weight_ih_{sfx}"] = (rows, width)
                shapes[f"weight_hh_{sfx}"] = (rows, h)
                if self.bias:
                    shapes[f"bias_ih_{sfx}"] = (rows,)
                    shapes[f"bias_hh_{sfx}"] = (rows,)
        return shapes

    def _chains(self):
        """(layer, direction) of every chain, in torch's order: index = layer * num_directions + direction."""
        return [(layer, direction) for layer in range(self.num_layers)
                for direction in range(self.num_directions)]

    def _layer_params(self):
        """Each chain's (w_ih, w_hh, b_ih, b_hh), biases None without bias, in torch's order."""
        p = self.params
        suffixes = [self._suffix(*chain) for chain in self._chains()]
        return [(p[f"weight_ih_{sfx}"], p[f"weight_hh_{sfx}"],
                 p.get(f"bias_ih_{sfx}"), p.get(f"bias_hh_{sfx}")) for sfx in suffixes]

    def _layer_functions(self):
        """The (forward, backward) pair of one layer of the stack: one chain, or two (bidirectional)."""
        if not self.bidirectional:
            return self.sequence_forward, self.sequence_backward
        return (partial(bidirectional.forward, self.sequence_forward),
                partial(bidirectional.backward, self.sequence_backward))

    def _by_layer(self, per_chain):
        """Group a per-chain list (torch's order) by layer: (forward, backward) pairs when bidirectional."""
        if not self.bidirectional:
            return list(per_chain)
        return [(per_chain[2 * layer], per_chain[2 * layer + 1]) for layer in range(self.num_layers)]

    def _by_chain(self, per_layer):
        """The inverse of :meth:`_by_layer`."""
        return [chain for item in per_layer for chain in (item if self.bidirectional else (item,))]

    def _chain_states(self, states):
        """num_states arrays (L * directions, B, H) as one state tuple per chain."""
        return [tuple(s[index] for s in states) for index in range(len(self._chains()))]

    def _stacked_states(self, per_layer):
        """Per-layer states back as num_states arrays (L * directions, B, H)."""
        per_chain = self._by_chain(per_layer)
        return [np.stack([chain[k] for chain in per_chain]) for k in range(self.num_states)]

    @classmethod
    def _extra_kwargs_from_torch(cls, module):
        """Constructor arguments beyond the common ones (e.g. the RNN's nonlinearity)."""
        return {}

    @classmethod
    def from_torch(cls, module):
        """A model with the same options and a float copy of every parameter of a torch.nn module."""
        name = type(module).__name__
        if cls.torch_name is None:
            raise TypeError(f"{cls.__name__} has no torch.nn counterpart to copy from")
        if name != cls.torch_name:
            raise TypeError(f"{cls.__name__}.from_torch expects a torch.nn.{cls.torch_name}, got {name}")
        if getattr(module, "proj_size", 0):
            raise ValueError(f"proj_size={module.proj_size} is not supported (expected 0)")
        if module.dropout and module.num_layers > 1:
            raise ValueError(f"dropout={module.dropout} is not supported (expected 0): "
                             "it makes the forward pass random")
        torch_params = dict(module.named_parameters())
        dtypes = sorted({str(p.dtype) for p in torch_params.values()})
        dtype = {"torch.float64": np.float64, "torch.float32": np.float32}.get(dtypes[0])
        if dtype is None or len(dtypes) > 1:
            raise TypeError(f"parameters must all be float64 or all float32, got {dtypes}")
        model = cls(module.input_size, module.hidden_size, num_layers=module.num_layers,
                    bias=module.bias, bidirectional=module.bidirectional,
                    batch_first=module.batch_first, dtype=dtype, **cls._extra_kwargs_from_torch(module))
        if set(torch_params) != set(model.params):
            raise ValueError(f"parameter names differ: torch has {sorted(torch_params)}, "
                             f"expected {sorted(model.params)}")
        for key, value in torch_params.items():
            array = value.detach().cpu().numpy()
            if array.shape != model.params[key].shape:
                raise ValueError(f"{key}: expected shape {model.params[key].shape}, got {array.shape}")
            model.params[key] = array.astype(dtype, copy=True)
        return model

    # ------------------------------------------------------------------ checks
    def _check_array(self, what, array, shape):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{what} must be a numpy array of shape {shape}, got {type(array).__name__}")
        if array.dtype != self.dtype:
            raise TypeError(f"{what} must have dtype {self.dtype} (the model's), got {array.dtype}")
        if array.shape != shape:
            raise ValueError(f"{what} must have shape {shape}, got {array.shape}")

    def _state_tuple(self, what, state, shape):
        """Normalise a user state (array, or tuple of arrays / None) to a tuple of arrays or None."""
        if self.num_states == 1:
            state = (state,)
        elif not isinstance(state, (tuple, list)) or len(state) != self.num_states:
            raise TypeError(f"{what} must be a tuple of {self.num_states} arrays of shape {shape}")
        names = ("h", "c")
        out = []
        for k, s in enumerate(state):
            if s is None:
                out.append(np.zeros(shape, dtype=self.dtype))
            else:
                self._check_array(f"{what} ({names[k]})", s, shape)
                out.append(s)
        return tuple(out)

    def _public_state(self, states):
        return states[0] if self.num_states == 1 else tuple(states)

    # ------------------------------------------------------------------ passes
    def forward(self, x, state=None):
        """Run every layer and direction; returns ``(output, h_n)`` or ``(output, (h_n, c_n))``.

        x: ``(T, B, input_size)`` (``(B, T, input_size)`` when ``batch_first``); state: ``h_0`` of
        shape ``(num_layers * num_directions, B, hidden_size)`` (a tuple ``(h_0, c_0)`` for two-state
        models), zeros when ``None``. ``output`` is ``(T, B, num_directions * hidden_size)``.
        """
        if not isinstance(x, np.ndarray) or x.ndim != 3:
            got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
            raise ValueError(f"input must be a 3-d array {'(B, T, D)' if self.batch_first else '(T, B, D)'}"
                             f" with D={self.input_size}, got {got}")
        if self.batch_first:
            x = np.ascontiguousarray(x.transpose(1, 0, 2))
        steps, batch = x.shape[:2]
        self._check_array("input", x, (steps, batch, self.input_size))
        if steps == 0:
            raise ValueError("input must have at least one time step, got T=0")
        state_shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            state = (None,) * self.num_states if self.num_states > 1 else None
        states0 = self._state_tuple("initial state", state, state_shape)

        layer_forward, _ = self._layer_functions()
        states0 = self._by_layer(self._chain_states(states0))
        params = self._by_layer(self._layer_params())
        output, finals, cache = stacked.forward(layer_forward, x, states0, *params)
        self._tape = (cache, steps, batch)
        output = output.transpose(1, 0, 2) if self.batch_first else output
        return output, self._public_state(self._stacked_states(finals))

    __call__ = forward

    def backward(self, grad_output, grad_state=None):
        """Gradients of the loss given dL/d output (and dL/d h_n, c_n); returns dL/dx.

        Fills ``self.grads`` (same keys and shapes as ``self.params``) and ``self.grad_state``
        (dL/dh_0, or the tuple (dL/dh_0, dL/dc_0)). ``grad_state`` may be ``None`` (zero), and for
        two-state models a tuple whose entries may be ``None``.
        """
        if self._tape is None:
            raise RuntimeError("backward() needs a forward() first")
        cache, steps, batch = self._tape
        out_shape = (steps, batch, self.num_directions * self.hidden_size)
        if self.batch_first:
            self._check_array("grad_output", grad_output, (batch, steps, out_shape[2]))
            grad_output = np.ascontiguousarray(grad_output.transpose(1, 0, 2))
        else:
            self._check_array("grad_output", grad_output, out_shape)
        state_shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if grad_state is None:
            grad_state = (None,) * self.num_states if self.num_states > 1 else None
        d_finals = self._state_tuple("grad_state", grad_state, state_shape)

        _, layer_backward = self._layer_functions()
        dx, d_states0, *d_params = stacked.backward(layer_backward, grad_output,
                                                    self._by_layer(self._chain_states(d_finals)), cache)
        grads = {}
        for chain, chain_grads in zip(self._chains(), self._by_chain(d_params)):
            sfx = self._suffix(*chain)
            for name, g in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), chain_grads):
                grads[f"{name}_{sfx}"] = g
        self.grads = {key: grads[key] for key in self.params}
        self.grad_state = self._public_state(self._stacked_states(d_states0))
        return dx.transpose(1, 0, 2) if self.batch_first else dx

    def __repr__(self):
        return (f"{type(self).__name__}({self.input_size}, {self.hidden_size}, "
                f"num_layers={self.num_layers}, bias={self.bias}, bidirectional={self.bidirectional}, "
                f"dtype={self.dtype})")
