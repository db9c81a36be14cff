"""Pipeline tests run their small networks on one intra-op thread (see tests/nets/conftest.py)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
