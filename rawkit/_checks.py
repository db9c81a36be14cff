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
    "check_bool",
    "check_choice",
    "check_dtype",
    "check_dtype_capacity",
    "check_even_hw",
    "check_finite",
    "check_generator",
    "check_int",
    "check_nonempty",
    "check_number",
    "check_positive",
    "check_seed",
    "check_shape",
    "check_tensor_like",
    "check_xy",
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


# Scalar arguments.  One rule per concept, one exception type per rule: a value of the
# wrong *type* raises TypeError, a value of the right type out of range raises ValueError.


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a bool; raise ``TypeError`` otherwise (``0``/``1`` too)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    even: bool = False,
) -> int:
    """Return ``value`` as an ``int`` after checking it.

    Raises ``TypeError`` unless it is an int (a NumPy integer counts; bool does not) and
    ``ValueError`` if it is below ``minimum``, above ``maximum`` or odd with ``even``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}")
    v = int(value)
    lo = "" if minimum is None else f" >= {minimum}"
    hi = "" if maximum is None else f" <= {maximum}"
    what = f"{'an even' if even else 'an'} int{lo}{' and' if lo and hi else ''}{hi}"
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name}: expected {what}, got {v}")
    if even and v % 2:
        raise ValueError(f"{name}: expected {what}, got {v}")
    return v


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed: an int ``>= 0`` (``TypeError`` for other types, ``ValueError`` if negative)."""
    return check_int(value, name, minimum=0)


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite ``float`` after checking it.

    Raises ``TypeError`` unless it is a real number (int or float, NumPy scalars
    included; bool excluded) and ``ValueError`` if it is NaN/Inf or outside
    ``[minimum, maximum]``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    lo = "" if minimum is None else f" >= {minimum}"
    hi = "" if maximum is None else f" <= {maximum}"
    if not np.isfinite(v):
        raise ValueError(f"{name}: expected a finite number{lo}{hi}, got {v}")
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{name}: expected a finite number{lo}{hi}, got {v}")
    return v


def check_positive(value: Any, name: str) -> float:
    """A finite number ``> 0`` (a learning rate, a temperature, a clipping norm...)."""
    v = check_number(value, name)
    if not v > 0:
        raise ValueError(f"{name}: expected a finite number > 0, got {v}")
    return v


def check_generator(generator: Any, name: str = "generator") -> torch.Generator:
    """Return ``generator`` if it is a ``torch.Generator``, else raise ``TypeError``.

    Functions that sample require one (DESIGN.md "Randomness"): ``None`` is refused, so
    that no result depends on the global random state.

    Example:
        >>> g = check_generator(torch.Generator().manual_seed(0))
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{name}: expected a torch.Generator (e.g. torch.Generator().manual_seed(0)), "
            f"got {type(generator).__name__}"
        )
    return generator


def check_xy(value: Any, name: str) -> tuple[float, float]:
    """Return a CIE 1931 chromaticity ``(x, y)``, checked: 2 finite numbers, ``x >= 0``,
    ``y > 0``, ``x + y <= 1``.

    Raises:
        TypeError: not a sequence of 2 real numbers (a string, a 3-tuple is a ValueError).
        ValueError: wrong length, NaN/Inf, or outside the chromaticity triangle.

    Example:
        >>> check_xy((0.3127, 0.329), "xy")
        (0.3127, 0.329)
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name}: expected a chromaticity (x, y), got {type(value).__name__}")
    if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim != 1:
        raise ValueError(f"{name}: expected a chromaticity (x, y), got shape {tuple(value.shape)}")
    if len(value) != 2:
        raise ValueError(f"{name}: expected a chromaticity (x, y) of 2 numbers, got {len(value)}")
    x = check_number(value[0], f"{name}[0] (x)")
    y = check_number(value[1], f"{name}[1] (y)")
    if x < 0 or y <= 0 or x + y > 1:
        raise ValueError(
            f"{name}: expected a chromaticity with x >= 0, y > 0 and x + y <= 1, got ({x}, {y})"
        )
    return x, y


def check_nonempty(x: torch.Tensor | np.ndarray, name: str, *, dims: int = 3) -> None:
    """Raise ``ValueError`` if one of the last ``dims`` dimensions has size 0.

    An empty batch (a leading dimension of 0) is allowed: it gives an empty result.

    Example:
        >>> check_nonempty(np.zeros((0, 3, 4, 4)), "x")
    """
    tail = tuple(x.shape[-dims:])
    if any(s == 0 for s in tail):
        raise ValueError(f"{name}: expected non-empty (C, H, W), got shape {tuple(x.shape)}")


_INT_RANGE = {
    torch.uint8: (0, 2**8 - 1),
    torch.int8: (-(2**7), 2**7 - 1),
    torch.int16: (-(2**15), 2**15 - 1),
    torch.int32: (-(2**31), 2**31 - 1),
    torch.int64: (-(2**63), 2**63 - 1),
    torch.uint16: (0, 2**16 - 1),
    torch.uint32: (0, 2**32 - 1),
    torch.uint64: (0, 2**64 - 1),
}


def check_dtype_capacity(
    dtype: torch.dtype, max_value: float, name: str, *, min_value: float = 0
) -> None:
    """Raise ``ValueError`` unless integer ``dtype`` holds every value of ``[min_value, max_value]``.

    Storing 70000 in uint16 would wrap around to 4464; this refuses it first.

    Example:
        >>> check_dtype_capacity(torch.uint16, 65535, "dtype")
    """
    lo, hi = _INT_RANGE.get(dtype, (None, None))
    if lo is None or hi is None:
        raise TypeError(f"{name}: expected an integer torch dtype, got {dtype}")
    if min_value < lo or max_value > hi:
        raise ValueError(
            f"{name}: {dtype} holds [{lo}, {hi}], too small for values up to {max_value}"
            f"{f' and down to {min_value}' if min_value < 0 else ''}"
        )
