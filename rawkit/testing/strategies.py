"""Hypothesis strategies for Bayer data (public API).

Use them to property-test your own RAW pipeline against rawkit's conventions::

    from hypothesis import given
    from rawkit.testing import mosaics, patterns

    @given(m=mosaics(dtype="uint16", bit_depth=12), pattern=patterns())
    def test_my_packer(m, pattern):
        ...

Every strategy draws NumPy arrays by default; pass ``backend="torch"`` for tensors
(sharing memory with the drawn array).  Shapes follow DESIGN.md: mosaic
``(*, 1, H, W)``, packed ``(*, 4, h, w)``, RGB ``(*, 3, H, W)``, with ``H, W`` even and
between ``min_side`` and ``max_side``.  Floating values are finite and lie in
``[0, 1]`` unless ``max_value`` says otherwise; integer values lie in
``[0, 2**bit_depth - 1]``.  Keep ``max_side`` small (the default 32): hypothesis draws
every element, so large arrays make tests slow.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rawkit.cfa.pattern import PATTERNS

__all__ = [
    "batch_shapes",
    "bit_depths",
    "mosaics",
    "packed_raws",
    "patterns",
    "rgb_images",
]

DType = Literal["float32", "float64", "uint16"]
Backend = Literal["numpy", "torch"]


def patterns() -> st.SearchStrategy[str]:
    """One of the four Bayer patterns ``"RGGB" "GRBG" "GBRG" "BGGR"``."""
    return st.sampled_from(PATTERNS)


def bit_depths(*, min_depth: int = 8, max_depth: int = 16) -> st.SearchStrategy[int]:
    """A sensor bit depth between ``min_depth`` and ``max_depth`` (inclusive)."""
    if not 1 <= min_depth <= max_depth <= 16:
        raise ValueError(
            f"min_depth, max_depth: expected 1 <= min <= max <= 16, got {min_depth}, {max_depth}"
        )
    return st.integers(min_depth, max_depth)


def batch_shapes(*, max_dims: int = 2, max_size: int = 3) -> st.SearchStrategy[tuple[int, ...]]:
    """Leading batch dimensions ``*``: 0 to ``max_dims`` dims of size 1..``max_size``."""
    return hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_size)


def _even(lo: int, hi: int) -> st.SearchStrategy[int]:
    if lo < 2 or hi < lo:
        raise ValueError(f"min_side, max_side: expected 2 <= min_side <= max_side, got {lo}, {hi}")
    return st.integers((lo + 1) // 2, hi // 2).map(lambda n: 2 * n)


@st.composite
def _arrays(
    draw: st.DrawFn,
    channels: int,
    *,
    dtype: DType,
    bit_depth: int | None,
    max_value: float,
    batch: st.SearchStrategy[tuple[int, ...]] | None,
    min_side: int,
    max_side: int,
    halve: bool,
    backend: Backend,
) -> np.ndarray | torch.Tensor:
    if dtype not in ("float32", "float64", "uint16"):
        raise ValueError(f"dtype: expected one of ['float32', 'float64', 'uint16'], got {dtype!r}")
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend: expected one of ['numpy', 'torch'], got {backend!r}")
    lead = draw(batch if batch is not None else batch_shapes())
    h, w = draw(_even(min_side, max_side)), draw(_even(min_side, max_side))
    if halve:
        h, w = h // 2, w // 2
    shape = (*lead, channels, h, w)
    if dtype == "uint16":
        depth = draw(bit_depths()) if bit_depth is None else bit_depth
        elements = st.integers(0, 2**depth - 1)
    else:
        width = 32 if dtype == "float32" else 64
        elements = st.floats(0.0, max_value, width=width, allow_nan=False, allow_infinity=False)
    arr = draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))
    return torch.from_numpy(arr) if backend == "torch" else arr


def mosaics(
    *,
    dtype: DType = "float32",
    bit_depth: int | None = None,
    max_value: float = 1.0,
    batch: st.SearchStrategy[tuple[int, ...]] | None = None,
    min_side: int = 2,
    max_side: int = 32,
    backend: Backend = "numpy",
) -> st.SearchStrategy[np.ndarray | torch.Tensor]:
    """Bayer mosaics ``(*, 1, H, W)`` with even ``H, W`` in ``[min_side, max_side]``.

    Args:
        dtype: ``"float32"``, ``"float64"`` (values in ``[0, max_value]``) or
            ``"uint16"`` (values in ``[0, 2**bit_depth - 1]``).
        bit_depth: for ``uint16``; ``None`` draws one in 8..16.
        max_value: upper bound of float values (default 1, linear RAW).
        batch: strategy for the leading dims (default :func:`batch_shapes`).
        min_side, max_side: bounds of ``H`` and ``W`` (rounded to even).
        backend: ``"numpy"`` or ``"torch"``.
    """
    return _arrays(
        1, dtype=dtype, bit_depth=bit_depth, max_value=max_value, batch=batch,
        min_side=min_side, max_side=max_side, halve=False, backend=backend,
    )  # fmt: skip


def packed_raws(
    *,
    dtype: DType = "float32",
    bit_depth: int | None = None,
    max_value: float = 1.0,
    batch: st.SearchStrategy[tuple[int, ...]] | None = None,
    min_side: int = 2,
    max_side: int = 32,
    backend: Backend = "numpy",
) -> st.SearchStrategy[np.ndarray | torch.Tensor]:
    """Packed RAW ``(*, 4, H/2, W/2)`` (channels ``[R, Gr, Gb, B]``); options as :func:`mosaics`."""
    return _arrays(
        4, dtype=dtype, bit_depth=bit_depth, max_value=max_value, batch=batch,
        min_side=min_side, max_side=max_side, halve=True, backend=backend,
    )  # fmt: skip


def rgb_images(
    *,
    dtype: Literal["float32", "float64"] = "float32",
    max_value: float = 1.0,
    batch: st.SearchStrategy[tuple[int, ...]] | None = None,
    min_side: int = 2,
    max_side: int = 32,
    backend: Backend = "numpy",
) -> st.SearchStrategy[np.ndarray | torch.Tensor]:
    """RGB images ``(*, 3, H, W)``, float in ``[0, max_value]``, even ``H, W``."""
    return _arrays(
        3, dtype=dtype, bit_depth=None, max_value=max_value, batch=batch,
        min_side=min_side, max_side=max_side, halve=False, backend=backend,
    )  # fmt: skip
