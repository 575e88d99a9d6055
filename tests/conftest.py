"""Unit tests draw figures off-screen and run with the course's fixed thread count."""

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture
def one_thread():
    """Tiny tensors: waking a second OpenMP thread costs more than it saves, on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
