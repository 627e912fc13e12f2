"""Weight initialisers, shared by every model."""

import numpy as np


def uniform(shape, scale, rng, dtype=np.float64):
    """Weights drawn uniformly from [-scale, scale] (the 1997 experiments use 0.1 or 0.2)."""
    return rng.uniform(-scale, scale, size=shape).astype(dtype, copy=False)
