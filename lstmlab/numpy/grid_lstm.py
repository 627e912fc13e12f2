"""2-D Grid LSTM along time and depth (Kalchbrenner, Danihelka & Graves 2015; tutorial Eqs. 55-56).

The block at (t, l) (step t, layer l) reads the hidden vectors arriving along both dimensions,

    X = [h_time(t-1, l); h_depth(t, l-1)]                                                (Eq. 55)

and applies one LSTM transform per dimension, each with its own weights and its own memory (Eq. 56):

    (X, m_time(t-1, l))  --W_time_l-->  (h_time(t, l),  m_time(t, l))
    (X, m_depth(t, l-1)) --W_depth_l--> (h_depth(t, l), m_depth(t, l))

Each transform is an ordinary LSTM step along its own dimension (:func:`lstmlab.numpy.lstm.forward`,
the NP variant): its recurrent input ``w_hh`` reads the hidden vector of its own dimension, its
input ``w_ih`` that of the other one, so W_d X = w_hh h_d + w_ih h_other. At the bottom,
h_depth(t, -1) = P x(t) and m_depth(t, -1) = 0; before t = 0 the time states are zero. The output is
h_depth(t, L-1). With ``depth="copy"`` the depth transform is removed and h_depth(t, l) = h_time(t, l):
the network is then exactly a stacked LSTM (Eq. 52) whose first layer reads P x.

Order of computation: layer by layer. Within layer l, the time transform is an LSTM over the whole
sequence (its inputs h_depth(., l-1) are all known), and then the depth transforms of all steps are
independent of each other and run as one batched step.
"""

import numpy as np

from lstmlab.numpy import lstm
from lstmlab.numpy.init import uniform_params

DEPTH_MODES = ("lstm", "copy")
_NAMES = ("w_ih", "w_hh", "b_ih", "b_hh")


def _dims(depth):
    if depth not in DEPTH_MODES:
        raise ValueError(f"depth must be one of {DEPTH_MODES}, got {depth!r}")
    return ("time", "depth") if depth == "lstm" else ("time",)


def param_shapes(input_size, hidden_size, num_layers, depth="lstm"):
    """Name and shape of every parameter: ``proj`` (P) and ``{dim}.{w_ih,w_hh,b_ih,b_hh}_l{l}``."""
    shapes = {"proj": (hidden_size, input_size)}
    one = lstm.param_shapes(hidden_size, hidden_size, "NP")
    for layer in range(num_layers):
        for dim in _dims(depth):
            shapes.update({f"{dim}.{k}_l{layer}": one[k] for k in _NAMES})
    return shapes


def init_params(input_size, hidden_size, num_layers, rng, depth="lstm", scale=None):
    """Parameters uniform in [-scale, scale], by default 1/sqrt(hidden_size) as torch.nn.LSTM."""
    scale = 1.0 / np.sqrt(hidden_size) if scale is None else scale
    return uniform_params(param_shapes(input_size, hidden_size, num_layers, depth), scale, rng)


def _transform(params, dim, layer):
    return {k: params[f"{dim}.{k}_l{layer}"] for k in _NAMES}


def _check(x, params, depth):
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be an array (T, B, D), got {got}")
    if not isinstance(params, dict) or "proj" not in params:
        raise ValueError(f"params need 'proj' (H, D), got {sorted(params) if isinstance(params, dict) else params}")
    num_layers = sum(name.startswith("time.w_ih_l") for name in params)
    hidden = params["proj"].shape[0]
    expected = param_shapes(x.shape[2], hidden, num_layers, depth)
    if num_layers == 0 or set(params) != set(expected):
        raise ValueError(f"expected parameters {sorted(expected)} (depth={depth!r}), got {sorted(params)}")
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {params[name].shape}")
    return num_layers, hidden


def forward(x, params, depth="lstm"):
    """Eqs. 55-56 over the (time, depth) grid of a (T, B, D) sequence; returns ``(h_top (T, B, H), cache)``.

    Implements: Eqs. 55-56.
    """
    dims = _dims(depth)
    num_layers, hid = _check(x, params, depth)
    steps, batch = x.shape[:2]
    zeros = np.zeros((batch, hid), dtype=x.dtype)
    h_depth = x @ params["proj"].T
    m_depth = np.zeros_like(h_depth)
    caches, m_depths = [], []
    for layer in range(num_layers):
        h_time, _, time_cache = lstm.forward(h_depth, (zeros, zeros), _transform(params, "time", layer), "NP")
        depth_cache = None
        if "depth" in dims:
            # The block at (t, l) reads h_time(t - 1, l), the time transform's output one step earlier.
            h_time_prev = np.concatenate([zeros[None], h_time[:-1]])
            flat = (steps * batch, hid)
            _, (h_new, m_new), depth_cache = lstm.forward(
                h_time_prev.reshape((1,) + flat), (h_depth.reshape(flat), m_depth.reshape(flat)),
                _transform(params, "depth", layer), "NP")
            h_depth, m_depth = h_new.reshape(h_depth.shape), m_new.reshape(h_depth.shape)
            m_depths.append(m_depth)
        else:
            h_depth = h_time
        caches.append((time_cache, depth_cache))
    return h_depth, (x, params, dims, caches, m_depths)


def backward(d_out, cache):
    """Backpropagation through :func:`forward`, top layer first; returns ``(dx, grads)``."""
    x, params, _, caches, _ = cache
    steps, batch = x.shape[:2]
    hid = params["proj"].shape[0]
    if d_out.shape != (steps, batch, hid):
        raise ValueError(f"d_out must have shape {(steps, batch, hid)}, got {d_out.shape}")
    zeros = np.zeros((batch, hid), dtype=d_out.dtype)
    flat = (steps * batch, hid)
    grads = {}
    dh_depth, dm_depth = d_out, np.zeros_like(d_out)
    for layer in reversed(range(len(caches))):
        time_cache, depth_cache = caches[layer]
        if depth_cache is not None:
            d_time_prev, (dh_below, dm_below), g = lstm.backward(
                dh_depth.reshape((1,) + flat), (np.zeros(flat, dtype=d_out.dtype), dm_depth.reshape(flat)), depth_cache)
            grads.update({f"depth.{k}_l{layer}": g[k] for k in _NAMES})
            d_h_time = np.zeros_like(d_out)
            d_h_time[:-1] = d_time_prev.reshape(d_out.shape)[1:]
            dh_below, dm_depth = dh_below.reshape(d_out.shape), dm_below.reshape(d_out.shape)
        else:
            d_h_time, dh_below = dh_depth, 0.0
        d_in, _, g = lstm.backward(d_h_time, (zeros, zeros), time_cache)
        grads.update({f"time.{k}_l{layer}": g[k] for k in _NAMES})
        dh_depth = dh_below + d_in
    grads["proj"] = dh_depth.reshape(-1, hid).T @ x.reshape(-1, x.shape[2])
    return dh_depth @ params["proj"], grads



def depth_memories(cache):
    """The depth memories m_depth(t, l) of every block, (L, T, B, H), from :func:`forward`'s cache."""
    if cache[2] != ("time", "depth"):
        raise ValueError("depth='copy' (a stacked LSTM) has no memory along depth")
    return np.stack(cache[4])
