"""NumPy implementations: every model with its forward and hand-written backward pass."""
