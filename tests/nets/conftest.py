"""Nets tests run their many small convolutions on one intra-op thread.

On a busy 2-core machine, OpenMP's second thread mostly waits for a core: small
convolutions then run tens of times slower than on one thread (measured 50x).
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
