"""Triton kernels for the pointwise part of torch.nn's LSTM and GRU steps, forward and backward.

One program handles ``BLOCK`` (batch, unit) pairs and reads that unit's gate rows from the stacked
(B, G*H) net inputs, so a step's pointwise work is one kernel launch instead of a dozen. Arithmetic
is in float32 (float64 for float64 tensors); bfloat16 / float16 tensors are read and written as such.
``triton`` is optional: without it :data:`AVAILABLE` is False and nothing here may be called. With
``TRITON_INTERPRET=1`` in the environment before the import, the kernels also run, slowly, on CPU
tensors (how the tests check them on machines without a GPU).
"""

import torch

try:
    import triton
    import triton.language as tl
except ImportError as error:  # CPU-only machines and CI: the torch step is used instead
    triton = tl = None
    AVAILABLE, IMPORT_ERROR = False, repr(error)
else:
    AVAILABLE, IMPORT_ERROR = True, None

BLOCK = 512

if AVAILABLE:
    @triton.jit
    def _sigmoid(x):
        # exp(-x) overflows to inf for very negative x, and 1 / inf = 0 is the right limit.
        return 1.0 / (1.0 + tl.exp(-x))

    @triton.jit
    def _tanh(x):
        # exp of a non-positive number cannot overflow; the sign is restored afterwards.
        e = tl.exp(-2.0 * tl.abs(x))
        t = (1.0 - e) / (1.0 + e)
        return tl.where(x >= 0, t, -t)

    @triton.jit
    def _lstm_forward_kernel(a_ptr, c_prev_ptr, h_ptr, c_ptr, gates_ptr, n, H,
                             COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
        idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = idx < n
        row = (idx // H) * 4 * H + idx % H  # unit j of batch b: column j of each gate block
        i = _sigmoid(tl.load(a_ptr + row, mask=mask).to(COMPUTE))
        f = _sigmoid(tl.load(a_ptr + row + H, mask=mask).to(COMPUTE))
        g = _tanh(tl.load(a_ptr + row + 2 * H, mask=mask).to(COMPUTE))
        o = _sigmoid(tl.load(a_ptr + row + 3 * H, mask=mask).to(COMPUTE))
        c = f * tl.load(c_prev_ptr + idx, mask=mask).to(COMPUTE) + i * g
        tl.store(c_ptr + idx, c, mask=mask)
        tl.store(h_ptr + idx, o * _tanh(c), mask=mask)
        tl.store(gates_ptr + row, i, mask=mask)
        tl.store(gates_ptr + row + H, f, mask=mask)
        tl.store(gates_ptr + row + 2 * H, g, mask=mask)
        tl.store(gates_ptr + row + 3 * H, o, mask=mask)

    @triton.jit
    def _lstm_backward_kernel(dh_ptr, dc_ptr, gates_ptr, c_ptr, c_prev_ptr, da_ptr, dc_prev_ptr, n, H,
                              COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
        idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = idx < n
        row = (idx // H) * 4 * H + idx % H
        i = tl.load(gates_ptr + row, mask=mask).to(COMPUTE)
        f = tl.load(gates_ptr + row + H, mask=mask).to(COMPUTE)
        g = tl.load(gates_ptr + row + 2 * H, mask=mask).to(COMPUTE)
        o = tl.load(gates_ptr + row + 3 * H, mask=mask).to(COMPUTE)
        c = tl.load(c_ptr + idx, mask=mask).to(COMPUTE)
        c_prev = tl.load(c_prev_ptr + idx, mask=mask).to(COMPUTE)
        dh = tl.load(dh_ptr + idx, mask=mask).to(COMPUTE)
        hc = _tanh(c)
        dc = tl.load(dc_ptr + idx, mask=mask).to(COMPUTE) + dh * o * (1.0 - hc * hc)
        tl.store(da_ptr + row, dc * g * i * (1.0 - i), mask=mask)
        tl.store(da_ptr + row + H, dc * c_prev * f * (1.0 - f), mask=mask)
        tl.store(da_ptr + row + 2 * H, dc * i * (1.0 - g * g), mask=mask)
        tl.store(da_ptr + row + 3 * H, dh * hc * o * (1.0 - o), mask=mask)
        tl.store(dc_prev_ptr + idx, dc * f, mask=mask)

    @triton.jit
    def _gru_forward_kernel(a_x_ptr, a_h_ptr, h_prev_ptr, h_ptr, saved_ptr, n, H,
                            COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
        idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = idx < n
        row = (idx // H) * 3 * H + idx % H
        r = _sigmoid(tl.load(a_x_ptr + row, mask=mask).to(COMPUTE)
                     + tl.load(a_h_ptr + row, mask=mask).to(COMPUTE))
        z = _sigmoid(tl.load(a_x_ptr + row + H, mask=mask).to(COMPUTE)
                     + tl.load(a_h_ptr + row + H, mask=mask).to(COMPUTE))
        nn_ = _tanh(tl.load(a_x_ptr + row + 2 * H, mask=mask).to(COMPUTE)
                    + r * tl.load(a_h_ptr + row + 2 * H, mask=mask).to(COMPUTE))
        h_prev = tl.load(h_prev_ptr + idx, mask=mask).to(COMPUTE)
        tl.store(h_ptr + idx, nn_ + z * (h_prev - nn_), mask=mask)
        tl.store(saved_ptr + row, r, mask=mask)
        tl.store(saved_ptr + row + H, z, mask=mask)
        tl.store(saved_ptr + row + 2 * H, nn_, mask=mask)

    @triton.jit
    def _gru_backward_kernel(dh_ptr, h_prev_ptr, saved_ptr, a_h_ptr, da_x_ptr, da_h_ptr, dh_prev_ptr,
                             n, H, COMPUTE: tl.constexpr, BLOCK: tl.constexpr):
        idx = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
        mask = idx < n
        row = (idx // H) * 3 * H + idx % H
        r = tl.load(saved_ptr + row, mask=mask).to(COMPUTE)
        z = tl.load(saved_ptr + row + H, mask=mask).to(COMPUTE)
        nn_ = tl.load(saved_ptr + row + 2 * H, mask=mask).to(COMPUTE)
        h_n = tl.load(a_h_ptr + row + 2 * H, mask=mask).to(COMPUTE)
        h_prev = tl.load(h_prev_ptr + idx, mask=mask).to(COMPUTE)
        dh = tl.load(dh_ptr + idx, mask=mask).to(COMPUTE)
        da_n = dh * (1.0 - z) * (1.0 - nn_ * nn_)
        da_z = dh * (h_prev - nn_) * z * (1.0 - z)
        da_r = da_n * h_n * r * (1.0 - r)
        tl.store(da_x_ptr + row, da_r, mask=mask)
        tl.store(da_x_ptr + row + H, da_z, mask=mask)
        tl.store(da_x_ptr + row + 2 * H, da_n, mask=mask)
        tl.store(da_h_ptr + row, da_r, mask=mask)
        tl.store(da_h_ptr + row + H, da_z, mask=mask)
        tl.store(da_h_ptr + row + 2 * H, da_n * r, mask=mask)
        tl.store(dh_prev_ptr + idx, dh * z, mask=mask)


def _empty(like):
    # Contiguous whatever the layout of ``like``: the kernels index rows as (b, unit) flat offsets.
    return torch.empty(like.shape, dtype=like.dtype, device=like.device)


def _launch(kernel, like, *tensors):
    """Run ``kernel`` over the (B, H) elements of ``like`` on contiguous copies of ``tensors``."""
    batch, hidden = like.shape
    n = batch * hidden
    compute = tl.float64 if like.dtype == torch.float64 else tl.float32
    kernel[(triton.cdiv(n, BLOCK),)](*(t.contiguous() for t in tensors), n, hidden,
                                     COMPUTE=compute, BLOCK=BLOCK)


def lstm_forward(a, c_prev):
    """torch.nn.LSTM's pointwise step: ``(h, c, gates)`` with gates the activations i, f, g, o."""
    h, c, gates = _empty(c_prev), _empty(c_prev), _empty(a)
    _launch(_lstm_forward_kernel, c_prev, a, c_prev, h, c, gates)
    return h, c, gates


def lstm_backward(dh, dc, gates, c, c_prev):
    """Backward of :func:`lstm_forward`: ``(da, dc_prev)``."""
    da, dc_prev = _empty(gates), _empty(c)
    _launch(_lstm_backward_kernel, c, dh, dc, gates, c, c_prev, da, dc_prev)
    return da, dc_prev


def gru_forward(a_x, a_h, h_prev):
    """torch.nn.GRU's pointwise step: ``(h, saved)`` with saved the activations r, z, n."""
    h, saved = _empty(h_prev), _empty(a_x)
    _launch(_gru_forward_kernel, h_prev, a_x, a_h, h_prev, h, saved)
    return h, saved


def gru_backward(dh, h_prev, saved, a_h):
    """Backward of :func:`gru_forward`: ``(da_x, da_h, dh_prev)``."""
    da_x, da_h, dh_prev = _empty(saved), _empty(saved), _empty(h_prev)
    _launch(_gru_backward_kernel, h_prev, dh, h_prev, saved, a_h, da_x, da_h, dh_prev)
    return da_x, da_h, dh_prev
