"""Small argument checkers shared by every public function (private module).

Each checker raises a :class:`ValueError` or :class:`TypeError` whose message names
the argument, what was expected and what came, e.g.::

    ValueError: mosaic: expected shape (*, 1, H, W), got (2, 3, 8, 8)

They never ``assert`` (assertions vanish under ``python -O``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "check_choice",
    "check_dtype",
    "check_even_hw",
    "check_finite",
    "check_shape",
    "check_tensor_like",
]


def check_tensor_like(x: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` is a ``torch.Tensor`` or ``numpy.ndarray``."""
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name}: expected a torch.Tensor or numpy.ndarray, got {type(x).__name__}")


def check_shape(x: torch.Tensor | np.ndarray, dims: Sequence[str], name: str) -> None:
    """Check ``x.shape`` against a kornia-style spec such as ``["*", "1", "H", "W"]``.

    ``"*"`` (first entry only) matches any number of leading dimensions, a digit string
    matches exactly that size and any other name matches any size.
    """
    shape = tuple(x.shape)
    spec = list(dims)
    star = bool(spec) and spec[0] == "*"
    fixed = spec[1:] if star else spec
    ok = len(shape) >= len(fixed) if star else len(shape) == len(fixed)
    if ok:
        tail = shape[len(shape) - len(fixed) :] if fixed else ()
        for size, want in zip(tail, fixed, strict=True):
            if want.isdigit() and size != int(want):
                ok = False
                break
    if not ok:
        raise ValueError(f"{name}: expected shape ({', '.join(spec)}), got {shape}")


def check_even_hw(x: torch.Tensor | np.ndarray, name: str) -> None:
    """Raise ``ValueError`` unless the last two dimensions (H, W) are both even."""
    h, w = x.shape[-2], x.shape[-1]
    if h % 2 or w % 2:
        raise ValueError(
            f"{name}: a Bayer mosaic needs even height and width, got H={h}, W={w} "
            "(crop one row/column; see rawkit.cfa.pattern_after_crop for the new pattern)"
        )


def check_finite(x: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` if a floating tensor holds NaN or Inf."""
    if x.is_floating_point() and x.numel() and not bool(torch.isfinite(x).all()):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int(torch.isinf(x).sum())
        raise ValueError(f"{name}: expected finite values, got {n_nan} NaN and {n_inf} Inf")


def check_dtype(x: torch.Tensor | np.ndarray, allowed: Sequence[Any], name: str) -> None:
    """Raise ``TypeError`` unless ``x.dtype`` is one of ``allowed``.

    ``allowed`` may hold torch dtypes, or the strings ``"float"`` (any floating dtype)
    and ``"integer"`` (any integer dtype, bool excluded).
    """
    t = x.dtype
    is_float = t.is_floating_point if isinstance(t, torch.dtype) else np.issubdtype(t, np.floating)
    if isinstance(t, torch.dtype):
        is_int = (not t.is_floating_point) and (not t.is_complex) and t != torch.bool
    else:
        is_int = np.issubdtype(t, np.integer)
    for a in allowed:
        if a == "float" and is_float:
            return
        if a == "integer" and is_int:
            return
        if isinstance(a, torch.dtype) and isinstance(t, torch.dtype) and t == a:
            return
    names = ", ".join(str(a) for a in allowed)
    raise TypeError(f"{name}: expected dtype in ({names}), got {t}")


def check_choice(value: Any, choices: Sequence[Any], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of a closed set of options."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
