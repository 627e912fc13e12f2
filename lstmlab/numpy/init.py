"""Weight initialisers, shared by every model."""

import numpy as np


def uniform(shape, scale, rng, dtype=np.float64):
    """Weights drawn uniformly from [-scale, scale] (the 1997 experiments use 0.1 or 0.2)."""
    return rng.uniform(-scale, scale, size=shape).astype(dtype, copy=False)


def uniform_params(shapes, scale, rng, dtype=np.float64):
    """A parameter dict: for every ``name: shape`` of ``shapes``, weights uniform in [-scale, scale]."""
    return {name: uniform(shape, scale, rng, dtype) for name, shape in shapes.items()}
