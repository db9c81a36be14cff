"""rawkit: composable NumPy/PyTorch reverse image signal processing.

Subpackages are imported on first access, so ``import rawkit`` stays light::

    import rawkit
    rawkit.cfa.pack(mosaic, pattern="RGGB")

Dependency order (nothing imports "up"): ``cfa -> isp -> io -> data ->
{search, prior, flow, masks, metrics, losses} -> engine -> nets -> pipelines -> {bench, cli}``
(``engine`` is the generic training loop);
``testing`` uses only ``cfa`` and ``isp``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "cfa",
    "isp",
    "io",
    "data",
    "search",
    "prior",
    "flow",
    "masks",
    "metrics",
    "losses",
    "engine",
    "nets",
    "pipelines",
    "testing",
    "bench",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"rawkit.{name}")
    raise AttributeError(f"module 'rawkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
