"""Multidimensional LSTM (tutorial Sec. 10.2.2, Eqs. 53-54; Graves, Fernández & Schmidhuber 2007).

The input is a grid: ``x`` has shape ``(S_1, ..., S_N, B, D)``, one D-vector per grid point p and batch
element. The cell at p reads the hidden and cell states of its N predecessors p - e_d (one step back
along each dimension d) and has one forget gate per dimension:

    X    = [x(p); h(p - e_1); ...; h(p - e_N)]                                           (Eq. 53)
    a    = W_ih x(p) + W_hh [h(p - e_1); ...; h(p - e_N)] + b      ((N + 3) H rows: i, f_1..f_N, g, o)
    i    = sigma(a_i)    f_d = sigma(a_f_d)    g = tanh(a_g)    o = sigma(a_o)
    c(p) = sum_d f_d * c(p - e_d) + i * g                                  (Eq. 54, cell input squashed)
    h(p) = o * tanh(c(p))

States outside the grid are zero. The tutorial's projection P of Eq. 53 is folded into W_ih (W P is
one matrix), and one bias replaces torch's two. The scan visits the grid by anti-diagonals (wavefronts):
all points whose coordinates sum to k depend only on wavefront k - 1, so each wavefront is one batched
step of :func:`cell_forward`.
"""

import numpy as np

from lstmlab.numpy.activations import sigmoid, sigmoid_prime, tanh, tanh_prime
from lstmlab.numpy.init import uniform_params


def param_shapes(input_size, hidden_size, n_dims):
    """Name and shape of every parameter of an N-dimensional LSTM layer."""
    rows = (n_dims + 3) * hidden_size
    return {"w_ih": (rows, input_size), "w_hh": (rows, n_dims * hidden_size), "b": (rows,)}


def init_params(input_size, hidden_size, n_dims, rng, scale=None):
    """Parameters uniform in [-scale, scale], by default 1/sqrt(hidden_size) as torch.nn.LSTM."""
    scale = 1.0 / np.sqrt(hidden_size) if scale is None else scale
    return uniform_params(param_shapes(input_size, hidden_size, n_dims), scale, rng)


def _check_params(params, input_size, n_dims):
    if not isinstance(params, dict) or "w_ih" not in params:
        raise ValueError(f"params must be a dict with 'w_ih', 'w_hh', 'b', got {params!r:.80}")
    rows = params["w_ih"].shape[0]
    if rows % (n_dims + 3):
        raise ValueError(f"w_ih must have (N + 3) H = {n_dims + 3} H rows for N = {n_dims}, got {rows}")
    expected = param_shapes(input_size, rows // (n_dims + 3), n_dims)
    if set(params) != set(expected):
        raise ValueError(f"expected parameters {sorted(expected)}, got {sorted(params)}")
    for name, shape in expected.items():
        if params[name].shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {params[name].shape}")
    return rows // (n_dims + 3)


def wavefronts(grid_shape):
    """The scan order: list of (n_k, N) integer arrays, the points whose coordinates sum to k = 0, 1, ..."""
    points = np.indices(grid_shape).reshape(len(grid_shape), -1).T
    level = points.sum(axis=1)
    return [points[level == k] for k in range(int(level.max()) + 1)]


def cell_forward(x, h_prev, c_prev, params):
    """Eqs. 53-54 at M points at once: x (M, D), h_prev and c_prev (N, M, H); returns ``(h, c, cache)``.

    Implements: Eqs. 53-54.
    """
    n_dims, m, hid = h_prev.shape
    hcat = h_prev.transpose(1, 0, 2).reshape(m, n_dims * hid)
    a = x @ params["w_ih"].T + hcat @ params["w_hh"].T + params["b"]
    a = a.reshape(m, n_dims + 3, hid)
    i, f, g, o = sigmoid(a[:, 0]), sigmoid(a[:, 1:-2].transpose(1, 0, 2)), tanh(a[:, -2]), sigmoid(a[:, -1])
    c = np.sum(f * c_prev, axis=0) + i * g
    tc = tanh(c)
    h = o * tc
    cache = {"x": x, "hcat": hcat, "c_prev": c_prev, "i": i, "f": f, "g": g, "o": o, "tc": tc,
             "params": params}
    return h, c, cache


def cell_backward(dh, dc, cache):
    """Backward pass of :func:`cell_forward`; returns ``(dx, dh_prev, dc_prev, grads)``."""
    i, f, g, o, tc = (cache[k] for k in ("i", "f", "g", "o", "tc"))
    params = cache["params"]
    n_dims, m, hid = f.shape
    dc = dc + dh * o * tanh_prime(tc)
    da = np.concatenate([(dc * g * sigmoid_prime(i))[None],
                         dc * cache["c_prev"] * sigmoid_prime(f),
                         (dc * i * tanh_prime(g))[None],
                         (dh * tc * sigmoid_prime(o))[None]]).transpose(1, 0, 2).reshape(m, -1)
    # Each predecessor's cell state reaches c(p) only through its own forget gate.
    dc_prev = dc * f
    dh_prev = (da @ params["w_hh"]).reshape(m, n_dims, hid).transpose(1, 0, 2)
    grads = {"w_ih": da.T @ cache["x"], "w_hh": da.T @ cache["hcat"], "b": da.sum(axis=0)}
    return da @ params["w_ih"], dh_prev, dc_prev, grads


def _checked_cell(x, h_prev, c_prev, w_ih, w_hh, b):
    h_prev, c_prev = np.asarray(h_prev), np.asarray(c_prev)
    if h_prev.ndim != 3 or c_prev.shape != h_prev.shape or x.ndim != 2 or x.shape[0] != h_prev.shape[1]:
        raise ValueError(f"expected x (B, D) and h_prev, c_prev (N, B, H), got {x.shape}, {h_prev.shape}, "
                         f"{c_prev.shape}")
    params = {"w_ih": w_ih, "w_hh": w_hh, "b": b}
    _check_params(params, x.shape[1], h_prev.shape[0])
    return cell_forward(x, h_prev, c_prev, params)


def step(x, h_prev, c_prev, w_ih, w_hh, b):
    """One cell, Eqs. 53-54, for a batch: x (B, D), h_prev and c_prev (N, B, H); returns ``(h, c)``."""
    h, c, _ = _checked_cell(x, h_prev, c_prev, w_ih, w_hh, b)
    return h, c


def gates(x, h_prev, w_ih, w_hh, b):
    """The gate activations of one cell, ``(i, f, g, o)``: f is (N, B, H), one forget gate per dimension."""
    _, _, cache = _checked_cell(x, h_prev, np.zeros_like(np.asarray(h_prev)), w_ih, w_hh, b)
    return cache["i"], cache["f"], cache["g"], cache["o"]


def _interior(n_dims):
    return (slice(1, None),) * n_dims


def forward(x, params):
    """Eqs. 53-54 over the whole grid x (S_1..S_N, B, D); returns ``(h, c, cache)``, h and c (S_1..S_N, B, H)."""
    if not isinstance(x, np.ndarray) or x.ndim < 3:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"x must be an array (S_1, ..., S_N, B, D) with N >= 1, got {got}")
    n_dims = x.ndim - 2
    grid, (batch, width) = x.shape[:n_dims], x.shape[n_dims:]
    if min(grid) < 1:
        raise ValueError(f"every grid size must be at least 1, got grid {grid} in x of shape {x.shape}")
    hid = _check_params(params, width, n_dims)
    # One zero layer before the start of every dimension holds the boundary states, so that
    # predecessors are found by the same index arithmetic everywhere.
    padded = tuple(s + 1 for s in grid) + (batch, hid)
    hp, cp = np.zeros(padded, dtype=x.dtype), np.zeros(padded, dtype=x.dtype)
    unit = np.eye(n_dims, dtype=int)
    caches = []
    for points in wavefronts(grid):
        n = len(points)
        preds = [tuple((points + 1 - unit[d]).T) for d in range(n_dims)]
        h_prev = np.stack([hp[p] for p in preds]).reshape(n_dims, n * batch, hid)
        c_prev = np.stack([cp[p] for p in preds]).reshape(n_dims, n * batch, hid)
        h, c, cache = cell_forward(x[tuple(points.T)].reshape(n * batch, width), h_prev, c_prev, params)
        here = tuple((points + 1).T)
        hp[here], cp[here] = h.reshape(n, batch, hid), c.reshape(n, batch, hid)
        caches.append(cache)
    inner = _interior(n_dims)
    return hp[inner], cp[inner], (x.shape, caches, params)


def backward(dh_out, cache, dc_out=None):
    """Backpropagation through :func:`forward` in reverse wavefront order; returns ``(dx, grads)``.

    dh_out (and optionally dc_out): dE/dh and dE/dc at every grid point, shaped like forward's h.
    """
    x_shape, caches, params = cache
    n_dims = len(x_shape) - 2
    grid, (batch, width) = x_shape[:n_dims], x_shape[n_dims:]
    hid = params["w_hh"].shape[1] // n_dims
    expected = grid + (batch, hid)
    for name, d in (("dh_out", dh_out), ("dc_out", dc_out)):
        if d is not None and d.shape != expected:
            raise ValueError(f"{name} must have shape {expected}, got {d.shape}")
    padded = tuple(s + 1 for s in grid) + (batch, hid)
    inner = _interior(n_dims)
    dhp, dcp = np.zeros(padded, dtype=dh_out.dtype), np.zeros(padded, dtype=dh_out.dtype)
    dhp[inner] = dh_out
    if dc_out is not None:
        dcp[inner] = dc_out
    dx = np.zeros(x_shape, dtype=dh_out.dtype)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    unit = np.eye(n_dims, dtype=int)
    for points, cell in zip(reversed(wavefronts(grid)), reversed(caches)):
        n = len(points)
        here = tuple((points + 1).T)
        dxc, dh_prev, dc_prev, g = cell_backward(dhp[here].reshape(n * batch, hid),
                                                 dcp[here].reshape(n * batch, hid), cell)
        dx[tuple(points.T)] = dxc.reshape(n, batch, width)
        # Within a wavefront the predecessors along one dimension are distinct points, so the
        # fancy-indexed += never adds twice into the same point.
        for d in range(n_dims):
            pred = tuple((points + 1 - unit[d]).T)
            dhp[pred] += dh_prev[d].reshape(n, batch, hid)
            dcp[pred] += dc_prev[d].reshape(n, batch, hid)
        for k in grads:
            grads[k] += g[k]
    return dx, grads


def scan(x, w_ih, w_hh, b):
    """:func:`forward` with the parameters as arguments; returns ``(h, c)``, each (S_1..S_N, B, H)."""
    h, c, _ = forward(x, {"w_ih": w_ih, "w_hh": w_hh, "b": b})
    return h, c
