"""cpu_threads sets torch's thread count inside the block and restores it afterwards, errors included."""

import pytest
import torch

from lstmlab.torch.threads import cpu_threads


def test_sets_inside_and_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with cpu_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_none_leaves_the_setting_alone():
    before = torch.get_num_threads()
    with cpu_threads(None):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before
