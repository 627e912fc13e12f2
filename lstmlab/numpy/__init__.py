"""NumPy implementations: every model with its forward and hand-written backward pass."""

from lstmlab.numpy.rnn import RNN  # noqa: E402,F401
from lstmlab.numpy.lstm import LSTM  # noqa: E402,F401
from lstmlab.numpy.gru import GRU  # noqa: E402,F401
