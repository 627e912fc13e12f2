"""The Jordan network of Sec. 5.1: like Elman's, but the context cells are fed by the output layer.

Jordan's context (state) cells also keep a fraction α of their own previous value,
c(τ) = α c(τ-1) + y_O(τ-1), a self-connection that makes them a decaying memory of past outputs;
α = 0 gives the plain copy the tutorial describes. Everything else is
:class:`lstmlab.numpy.elman.ContextNetwork`.
"""

from lstmlab.numpy.elman import ContextNetwork


class Jordan(ContextNetwork):
    """Jordan network: one context cell per output unit, c(τ) = α c(τ-1) + y_O(τ-1)."""

    source = "output"
