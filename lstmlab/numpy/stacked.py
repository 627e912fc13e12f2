"""Stacked recurrent layers (Sec. 10.2.1, Eq. 52): layer i reads layer i-1's hidden outputs as its input.

At every step t the first layer sees X_1(t) = [x(t); y_h1(t-1)] and layer i > 1 sees

    X_i(t) = [y_h(i-1)(t); y_hi(t-1)]                                              (Eq. 52)

(the hidden outputs of the layer below *at the same step*, and its own from the step before). Over
a whole sequence that is: layer i's input sequence is layer i-1's output sequence, so a stack is a
loop over layers, each running its whole sequence before the next starts. The backward pass runs
the same loop downwards: the gradient reaching layer i's inputs is the gradient on layer i-1's
outputs.

Every layer obeys the layer contract of :mod:`lstmlab.numpy.bidirectional`,

    layer_forward(x, state0, *params)           -> (out, final_state, cache)
    layer_backward(d_out, d_final_state, cache) -> (dx, d_state0, *d_params)

and so does the stack itself (its state is the tuple of the layers' states, its parameters one
tuple per layer), which is how :class:`lstmlab.numpy.recurrent.RecurrentModel` stacks bidirectional
layers. Any layer the bidirectional wrapper takes can be stacked: the RNN, LSTM (every variant) and
GRU, or bidirectional versions of them.
"""


def forward(layer_forward, x, states0, *layer_params):
    """Eq. 52 over a sequence: returns ``(y_top, finals, cache)`` with one final state per layer.

    ``states0`` holds one initial state per layer (what ``layer_forward`` takes); ``layer_params``
    is one tuple of parameters per layer, bottom layer first.

    Implements: Eq. 52.
    """
    if len(states0) != len(layer_params):
        raise ValueError(f"expected one initial state per layer ({len(layer_params)}), got {len(states0)}")
    if not layer_params:
        raise ValueError("a stack needs at least one layer, got 0")
    finals, caches = [], []
    y = x
    for state0, params in zip(states0, layer_params):
        y, final, cache = layer_forward(y, state0, *params)
        finals.append(final)
        caches.append(cache)
    return y, tuple(finals), tuple(caches)


def backward(layer_backward, d_y, d_finals, cache):
    """Backward pass of :func:`forward`: returns ``(dx, d_states0, *d_layer_params)``, one entry of
    ``d_states0`` and one tuple of parameter gradients per layer, bottom layer first."""
    if len(d_finals) != len(cache):
        raise ValueError(f"expected one final-state gradient per layer ({len(cache)}), got {len(d_finals)}")
    d_states0, d_params = [None] * len(cache), [None] * len(cache)
    for layer in reversed(range(len(cache))):
        # What reaches layer l's inputs is the gradient on layer l-1's outputs (on x for l = 0).
        d_y, d_states0[layer], *grads = layer_backward(d_y, d_finals[layer], cache[layer])
        d_params[layer] = tuple(grads)
    return (d_y, tuple(d_states0), *d_params)
