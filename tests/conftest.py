"""Shared pytest configuration: hypothesis profiles sized for a 2-core CI machine."""

import os

import torch
from hypothesis import HealthCheck, settings

# Under pytest-xdist every worker is a process of its own: one intra-op thread each
# avoids oversubscribing the cores (2 workers x 2 threads on 2 cores ran small nets
# many times slower here).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# colour-science and colour-demosaicing set NumPy's legacy (1.13) print style when first imported, which
# would change how doctest outputs print depending on test order: import it once
# here and restore the defaults.
import colour  # noqa: E402,F401
import colour_demosaicing  # noqa: E402,F401  (it sets the legacy style too)
import numpy as np  # noqa: E402

np.set_printoptions(legacy=False)

# ``--doctest-modules`` would collect every .py under tests/ as a module, and the
# conftest.py files of different folders share one module name: skip them (pytest still
# loads them as conftests) and the private helper modules.
collect_ignore_glob = ["conftest.py", "*/conftest.py", "*/_*.py"]
