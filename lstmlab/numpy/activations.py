"""Squashing functions and their derivatives, shared by every model in the course."""

import numpy as np


def sigmoid(s, l=1.0):
    """Logistic sigmoid 1 / (1 + exp(-l s)) of Sec. 3.4 and Eq. (1); never overflows."""
    # l s may exceed the float range for a steep unit; inf is the right limit there.
    with np.errstate(over="ignore"):
        z = np.multiply(l, s)
    # exp of a non-positive number is at most 1, so neither branch can overflow.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_prime(y, l=1.0):
    """Derivative of the sigmoid written through its output y: l y (1 - y)."""
    return l * y * (1.0 - y)


def tanh(s):
    """Hyperbolic tangent, the squashing of torch.nn.RNN / LSTM / GRU."""
    return np.tanh(s)


def tanh_prime(y):
    """Derivative of tanh written through its output y: 1 - y^2."""
    return 1.0 - y * y


def g_squash(s):
    """Cell input squashing g of the 1997 LSTM (Eq. 29): a sigmoid scaled to [-2, 2]."""
    return 4.0 * sigmoid(s) - 2.0


def g_squash_prime(y):
    """Derivative of g through its output y: 4 sigma (1 - sigma) with sigma = (y + 2) / 4."""
    sigma = (y + 2.0) / 4.0
    return 4.0 * sigma * (1.0 - sigma)


def h_squash(s):
    """Cell output squashing h of the 1997 LSTM (Eq. 32): a sigmoid scaled to [-1, 1]."""
    return 2.0 * sigmoid(s) - 1.0


def h_squash_prime(y):
    """Derivative of h through its output y: 2 sigma (1 - sigma) with sigma = (y + 1) / 2."""
    sigma = (y + 1.0) / 2.0
    return 2.0 * sigma * (1.0 - sigma)


def identity(s):
    """The identity squashing (used for linear units and the 'no activation' LSTM variants)."""
    return s


def identity_prime(y):
    """Derivative of the identity: one everywhere."""
    return np.ones_like(y)
