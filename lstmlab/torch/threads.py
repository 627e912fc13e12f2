"""How many CPU threads torch uses, for the length of a ``with`` block."""

from contextlib import contextmanager

import torch


@contextmanager
def cpu_threads(n):
    """Run the block with ``n`` torch CPU threads (None: leave the setting alone), then restore it.

    The course's matrices are small: on busy cores, several torch threads spin waiting for one another
    and a step takes many times longer than on one thread.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
