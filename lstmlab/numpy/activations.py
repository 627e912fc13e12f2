"""Squashing functions and their derivatives, shared by every model in the course."""

import numpy as np


def sigmoid(s, l=1.0, out=None):
    """Logistic sigmoid 1 / (1 + exp(-l s)) of Sec. 3.4 and Eq. (1); never overflows.

    ``out`` (an array shaped like ``s``) receives the result, so a time loop can reuse one buffer.

    Implements: Eqs. 1, 28.
    """
    # This function sits in the inner loop of every model: four passes over the data, each in place.
    # For a steep unit, l s may exceed the float range; +-inf is the right limit there, and both
    # formulas below take it to the right value, so that overflow is silenced, not avoided.
    if np.result_type(l, s) == np.float32:
        # float32: the half-angle form (1 + tanh(l s / 2)) / 2, the same function. NumPy's float32
        # tanh is several times faster than its float32 exp; the price is an absolute rather than
        # relative error, at most one float32 step of 1 (6e-8), so values below that round to 0.
        with np.errstate(over="ignore"):
            t = np.tanh(np.multiply(0.5 * l, s, out=out), out=out)
        return np.add(np.multiply(t, 0.5, out=out), 0.5, out=out)
    # The textbook formula term by term; exp(-l s) = inf for very negative l s gives 1 / inf = 0.
    # Every step keeps full relative precision (float64 is what the course checks gradients in),
    # unlike 1 - 1 / (1 + exp(l s)), which cancels to 0 long before sigma(l s) underflows.
    with np.errstate(over="ignore"):
        e = np.exp(np.multiply(-l, s, out=out), out=out)
    return np.reciprocal(np.add(e, 1.0, out=out), out=out)


def sigmoid_prime(y, l=1.0):
    """Derivative of the sigmoid written through its output y: l y (1 - y)."""
    return l * y * (1.0 - y)


def tanh(s):
    """Hyperbolic tangent, the squashing of torch.nn.RNN / LSTM / GRU."""
    return np.tanh(s)


def tanh_prime(y):
    """Derivative of tanh written through its output y: 1 - y^2."""
    return 1.0 - y * y


def scaled_sigmoid(s, low, high):
    """A logistic sigmoid stretched to [low, high]: (high - low) sigma(s) + low (g and h of 1997)."""
    return (high - low) * sigmoid(s) + low


def scaled_sigmoid_prime(y, low, high):
    """Derivative of the stretched sigmoid through its output y: (high - low) sigma (1 - sigma)."""
    sigma = (y - low) / (high - low)
    return (high - low) * sigma * (1.0 - sigma)


def g_squash(s):
    """Cell input squashing g of the 1997 LSTM (Eq. 31): a sigmoid scaled to [-2, 2].

    Implements: Eq. 31.
    """
    return scaled_sigmoid(s, -2.0, 2.0)


def g_squash_prime(y):
    """Derivative of g through its output y: 4 sigma (1 - sigma) with sigma = (y + 2) / 4."""
    return scaled_sigmoid_prime(y, -2.0, 2.0)


def h_squash(s):
    """Cell output squashing h of the 1997 LSTM (Eq. 33): a sigmoid scaled to [-1, 1].

    Implements: Eq. 33.
    """
    return scaled_sigmoid(s, -1.0, 1.0)


def h_squash_prime(y):
    """Derivative of h through its output y: 2 sigma (1 - sigma) with sigma = (y + 1) / 2."""
    return scaled_sigmoid_prime(y, -1.0, 1.0)


def identity(s):
    """The identity squashing (used for linear units and the 'no activation' LSTM variants)."""
    return s


def identity_prime(y):
    """Derivative of the identity: one everywhere."""
    return np.ones_like(y)
