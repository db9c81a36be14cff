"""Exposure scaling and highlight clipping.

Exposure is a plain gain on linear values, exactly invertible.  Clipping at the white
level is **the one step of the ISP that loses information**: every value above the level
becomes the level.  Its "inverse" therefore cannot restore anything; it returns the
clipped values (a lower bound of the truth) together with the exact mask of the values
that may have been clipped.
"""

from __future__ import annotations

from typing import Any

import torch

from rawkit._checks import check_dtype, check_finite, check_number, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = ["apply_exposure", "clip_highlights", "invert_clip_highlights", "invert_exposure"]


def _check(x: object, name: str) -> None:
    check_tensor_like(x, name)
    check_dtype(x, ["float"], name)  # type: ignore[arg-type]
    check_finite(x, name)  # type: ignore[arg-type]


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)


@numpy_compat
def apply_exposure(x: Array, *, gain: float) -> Array:
    """Scale linear values by an exposure gain (``2**ev`` for ``ev`` stops).

    Args:
        x: any shape, floating, finite, linear.  Not clipped.
        gain: positive finite factor.

    Returns:
        ``gain * x``, same shape/dtype/device.  Differentiable.

    Raises:
        ValueError: ``gain <= 0`` or not finite, NaN/Inf.  TypeError: not floating.

    Example:
        >>> import numpy as np
        >>> apply_exposure(np.array([0.25, 0.5]), gain=2.0).tolist()
        [0.5, 1.0]
    """
    _check(x, "x")
    return x * _positive(gain, "gain")


@numpy_compat
def invert_exposure(x: Array, *, gain: float) -> Array:
    """The inverse of :func:`apply_exposure`: ``x / gain``.  Same arguments and errors.

    Example:
        >>> import numpy as np
        >>> invert_exposure(np.array([0.5, 1.0]), gain=2.0).tolist()
        [0.25, 0.5]
    """
    _check(x, "x")
    return x / _positive(gain, "gain")


@numpy_compat
def clip_highlights(x: Array, *, white_level: float = 1.0) -> Array:
    """Saturate values above ``white_level`` (sensor or output saturation).  Lossy.

    Args:
        x: any shape, floating, finite.
        white_level: the saturation level (1 for linear RAW and sRGB).

    Returns:
        ``min(x, white_level)``; values below are untouched (negatives too).
        Differentiable almost everywhere (gradient 0 where clipped).

    Raises:
        ValueError: NaN/Inf in ``x``; ``white_level`` not a finite number > 0.
        TypeError: not floating.

    Example:
        >>> import numpy as np
        >>> clip_highlights(np.array([0.5, 1.0, 1.7])).tolist()
        [0.5, 1.0, 1.0]
    """
    _check(x, "x")
    level = _finite(white_level)
    return torch.clamp(x, max=level)


def _finite(value: Any) -> float:
    v = check_number(value, "white_level")
    if not v > 0:
        raise ValueError(f"white_level: expected a finite number > 0, got {v}")
    return v


@numpy_compat
def invert_clip_highlights(y: Array, *, white_level: float = 1.0) -> tuple[Array, Array]:
    """The best "inverse" of :func:`clip_highlights`: the values and where they were lost.

    Args:
        y: clipped values, any shape, floating, finite.
        white_level: the level used for clipping.

    Returns:
        ``(y, lost)``: ``y`` itself (the true value is ``y`` where ``lost`` is False and
        only known to be ``>= white_level`` where it is True) and the bool mask
        ``y >= white_level``.  For ``y = clip_highlights(x)``, ``lost`` equals
        ``x >= white_level`` exactly and ``y == x`` wherever ``lost`` is False.

    Raises:
        ValueError: NaN/Inf.  TypeError: not floating.

    Example:
        >>> import numpy as np
        >>> invert_clip_highlights(np.array([0.5, 1.0]))[1].tolist()
        [False, True]
    """
    _check(y, "y")
    level = _finite(white_level)
    return y, y >= level
