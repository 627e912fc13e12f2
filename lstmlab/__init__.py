"""lstmlab: recurrent networks from the perceptron to the LSTM and GRU, written out by hand.

Subpackages: ``lstmlab.numpy`` (reference implementations with hand-written backward passes),
``lstmlab.torch`` (PyTorch implementations that run on any device) and ``lstmlab.grading``
(the nbgrader integration). This file stays import-free: the grading sandbox lets a student's
kernel read it and ``lstmlab/checking.py`` and nothing else of the package.
"""

__version__ = "0.1.0"
