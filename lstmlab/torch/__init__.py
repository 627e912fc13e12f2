"""PyTorch implementations that run on any device: RNN, LSTM and GRU as drop-in torch.nn modules.

``from lstmlab.torch import LSTM`` takes torch.nn.LSTM's arguments and state dict; the keyword-only
options ``input_projection``, ``fused``, ``triton`` and ``cuda_graphs`` switch each speed-up on or off
(see :mod:`lstmlab.torch.modules`), and ``variant`` picks a Greff et al. LSTM variant.
"""

from lstmlab.torch.functions import GRUStep, LSTMStep  # noqa: F401
from lstmlab.torch.modules import GRU, LSTM, RNN  # noqa: F401
