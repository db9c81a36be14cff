"""One intra-op thread for the test folders that run many small networks.

On a busy 2-core machine, OpenMP's second thread mostly waits for a core: small
convolutions then run tens of times slower than on one thread (measured 50x).  The
conftest.py of such a folder imports :func:`one_intra_op_thread`, which makes it
autouse for every test below that folder.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_intra_op_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
