"""NumPy implementations: every model with its forward and hand-written backward pass."""

from lstmlab.numpy.rnn import RNN  # noqa: F401
from lstmlab.numpy.lstm import LSTM  # noqa: F401
from lstmlab.numpy.gru import GRU  # noqa: F401
