"""The pointwise part of one LSTM and one GRU step, as plain torch and as fused autograd Functions.

The matrix products of a step stay outside: these take the stacked net inputs ``a`` and the previous
state. :func:`lstm_pointwise` and :func:`gru_pointwise` are the equations in torch ops (autograd
differentiates them, one graph node per op); :class:`LSTMStep` and :class:`GRUStep` compute the same
numbers as one graph node with a hand-written backward pass, which saves the per-op autograd
bookkeeping and most of the saved intermediates. On CUDA with ``backend="triton"`` both passes run as
one Triton kernel each (:mod:`lstmlab.torch.triton_kernels`).
"""

import torch

from lstmlab.numpy.lstm import VARIANTS, Variant

#: torch.nn.LSTM's step: every gate, both activations, no peepholes.
TORCH_LSTM = VARIANTS["NP"]


def lstm_variant(variant):
    """A :class:`lstmlab.numpy.lstm.Variant` from itself or its Greff et al. name; FGR is refused."""
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be a Variant or one of {sorted(VARIANTS)}, got {variant!r}")
        variant = VARIANTS[variant]
    if not isinstance(variant, Variant):
        raise TypeError(f"variant must be a Variant or a name, got {type(variant).__name__}")
    if variant.full_gate_recurrence:
        # FGR feeds the previous step's gates through a (3H, 3H) matrix: a second recurrence that
        # does not fit the pointwise step; it lives in lstmlab.numpy.lstm only.
        raise ValueError("full gate recurrence (FGR) is not supported by lstmlab.torch; "
                         "use lstmlab.numpy.lstm.forward / backward with variant='FGR'")
    return variant


def lstm_pointwise(a, c_prev, peep=None, variant=TORCH_LSTM):
    """Eqs. of :mod:`lstmlab.numpy.lstm` after the products: ``a`` (B, 4H) -> ``(h, c, saved)``."""
    v = variant
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
    if peep is not None:
        a_i = a_i + peep[0] * c_prev
        a_f = a_f + peep[1] * c_prev
    ones = None if (v.input_gate and v.forget_gate and v.output_gate) else torch.ones_like(c_prev)
    f = torch.sigmoid(a_f) if v.forget_gate else ones
    i = (1.0 - f) if v.coupled else (torch.sigmoid(a_i) if v.input_gate else ones)
    g = torch.tanh(a_g) if v.input_activation else a_g
    c = f * c_prev + i * g
    if peep is not None:
        a_o = a_o + peep[2] * c
    o = torch.sigmoid(a_o) if v.output_gate else ones
    hc = torch.tanh(c) if v.output_activation else c
    return o * hc, c, (i, f, g, o, c, hc)


def _through_sigmoid(grad, y):
    """grad * y (1 - y), the error behind a sigmoid with output y, as one kernel (torch's own)."""
    return torch.ops.aten.sigmoid_backward(grad, y)


def _through_tanh(grad, y):
    """grad * (1 - y^2), the error behind a tanh with output y, as one kernel (torch's own)."""
    return torch.ops.aten.tanh_backward(grad, y)


def lstm_pointwise_backward(dh, dc, c_prev, peep, saved, variant):
    """Backward of :func:`lstm_pointwise`: ``(da (B, 4H), dc_prev, dpeep or None)``."""
    v = variant
    i, f, g, o, c, hc = saved
    zeros = None if (v.input_gate and v.forget_gate and v.output_gate and not v.coupled) \
        else torch.zeros_like(c)
    da_o = _through_sigmoid(dh * hc, o) if v.output_gate else zeros
    dc = dc + (_through_tanh(dh * o, hc) if v.output_activation else dh * o)
    if peep is not None:
        dc = dc + da_o * peep[2]
    di = dc * g
    df = dc * c_prev
    if v.coupled:
        df = df - di  # i = 1 - f: the input gate's error reaches f with the opposite sign
    da_i = _through_sigmoid(di, i) if (v.input_gate and not v.coupled) else zeros
    da_f = _through_sigmoid(df, f) if v.forget_gate else zeros
    da_g = _through_tanh(dc * i, g) if v.input_activation else dc * i
    dc_prev = dc * f
    dpeep = None
    if peep is not None:
        dc_prev = dc_prev + da_i * peep[0] + da_f * peep[1]
        dpeep = torch.stack([(da_i * c_prev).sum(0), (da_f * c_prev).sum(0), (da_o * c).sum(0)])
    return torch.cat([da_i, da_f, da_g, da_o], dim=1), dc_prev, dpeep


class LSTMStep(torch.autograd.Function):
    """One LSTM step's pointwise work as a single autograd node: ``(a, c_prev, peep) -> (h, c)``."""

    @staticmethod
    def forward(ctx, a, c_prev, peep=None, variant=TORCH_LSTM, backend="torch"):
        ctx.variant, ctx.backend = variant, backend
        if backend == "triton":
            from lstmlab.torch import triton_kernels
            h, c, gates = triton_kernels.lstm_forward(a, c_prev)
            ctx.save_for_backward(gates, c, c_prev)
            return h, c
        h, c, saved = lstm_pointwise(a, c_prev, peep, variant)
        ctx.save_for_backward(c_prev, peep, *saved)
        return h, c

    @staticmethod
    def backward(ctx, dh, dc):
        if ctx.backend == "triton":
            from lstmlab.torch import triton_kernels
            gates, c, c_prev = ctx.saved_tensors
            da, dc_prev = triton_kernels.lstm_backward(dh, dc, gates, c, c_prev)
            return da, dc_prev, None, None, None
        c_prev, peep, *saved = ctx.saved_tensors
        da, dc_prev, dpeep = lstm_pointwise_backward(dh, dc, c_prev, peep, saved, ctx.variant)
        return da, dc_prev, dpeep, None, None


def gru_pointwise(a_x, a_h, h_prev):
    """torch.nn.GRU's step after the products (Eqs. 57-66, reset after W_hn): ``-> (h, saved)``."""
    x_r, x_z, x_n = a_x.chunk(3, dim=1)
    h_r, h_z, h_n = a_h.chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return n + z * (h_prev - n), (r, z, n, h_n)


def gru_pointwise_backward(dh, h_prev, saved):
    """Backward of :func:`gru_pointwise`: ``(da_x, da_h, dh_prev)``."""
    r, z, n, h_n = saved
    da_n = _through_tanh(dh * (1.0 - z), n)
    da_z = _through_sigmoid(dh * (h_prev - n), z)
    da_r = _through_sigmoid(da_n * h_n, r)
    return (torch.cat([da_r, da_z, da_n], dim=1), torch.cat([da_r, da_z, da_n * r], dim=1), dh * z)


class GRUStep(torch.autograd.Function):
    """One GRU step's pointwise work as a single autograd node: ``(a_x, a_h, h_prev) -> h``."""

    @staticmethod
    def forward(ctx, a_x, a_h, h_prev, backend="torch"):
        ctx.backend = backend
        if backend == "triton":
            from lstmlab.torch import triton_kernels
            h, saved = triton_kernels.gru_forward(a_x, a_h, h_prev)
            ctx.save_for_backward(h_prev, saved, a_h)
            return h
        h, saved = gru_pointwise(a_x, a_h, h_prev)
        ctx.save_for_backward(h_prev, *saved)
        return h

    @staticmethod
    def backward(ctx, dh):
        if ctx.backend == "triton":
            from lstmlab.torch import triton_kernels
            h_prev, saved, a_h = ctx.saved_tensors
            return (*triton_kernels.gru_backward(dh, h_prev, saved, a_h), None)
        h_prev, *saved = ctx.saved_tensors
        return (*gru_pointwise_backward(dh, h_prev, saved), None)
