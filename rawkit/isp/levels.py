"""Black and white levels: integer sensor values <-> linear RAW in [0, 1].

A sensor reports ``black_level`` for no light and saturates at ``white_level``.  The
linear RAW that every other rawkit op works on is

.. math::  x = (v - b) / (w - b),

so black maps to 0 and saturation to 1 (DESIGN.md "Values").  ``b`` may differ per
channel (cameras often store four black levels, one per CFA site); pass one value per
channel of the input (4 for a packed RAW ``[R, Gr, Gb, B]``; pack a mosaic first to use
per-site levels).

Nothing is clipped when normalising: sensor noise gives values below black, and those
stay slightly negative (LibRaw clips them at 0; do that yourself if you want it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from rawkit._checks import (
    check_bool,
    check_dtype,
    check_dtype_capacity,
    check_finite,
    check_tensor_like,
)
from rawkit._tensor import Array, numpy_compat

__all__ = ["MAX_WHITE_LEVEL", "check_levels", "denormalize_levels", "normalize_levels"]

#: Largest white level accepted: 32-bit sensor values (no camera records more).
MAX_WHITE_LEVEL = 2**32 - 1

LevelLike = float | Sequence[float] | Array


def check_levels(black_level: LevelLike, white_level: float) -> None:
    """Raise ``ValueError`` unless ``0 <= black_level < white_level <= MAX_WHITE_LEVEL``.

    Every channel's black level is checked; ``white_level`` must be a finite number
    ``> 0`` and at most :data:`MAX_WHITE_LEVEL` (``2**32 - 1``).

    Example:
        >>> check_levels([64, 64, 64, 64], 1023)
    """
    if isinstance(white_level, bool) or not isinstance(white_level, (int, float)):
        raise TypeError(f"white_level: expected a number, got {type(white_level).__name__}")
    b = torch.as_tensor(black_level, dtype=torch.float64).reshape(-1)
    if b.numel() == 0:
        raise ValueError("black_level: expected a number or one number per channel, got nothing")
    if not bool(torch.isfinite(b).all()) or not torch.isfinite(torch.tensor(float(white_level))):
        raise ValueError(
            f"black_level, white_level: expected finite numbers, got {black_level}, {white_level}"
        )
    if not 0 < white_level <= MAX_WHITE_LEVEL:
        raise ValueError(
            f"white_level: expected a number > 0 and <= {MAX_WHITE_LEVEL} (32-bit sensor data), "
            f"got {white_level}"
        )
    if bool((b < 0).any()):
        raise ValueError(f"black_level: expected >= 0, got {b.tolist()}")
    if bool((b >= white_level).any()):
        raise ValueError(
            f"black_level: expected every black level < white_level={white_level}, got {b.tolist()}"
        )


def _level_tensor(black_level: LevelLike, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    b = torch.as_tensor(black_level, dtype=dtype, device=x.device)
    if b.ndim == 0:
        return b
    if b.ndim != 1 or b.numel() not in (1, x.shape[-3]):
        raise ValueError(
            f"black_level: expected a scalar or {x.shape[-3]} values (one per channel of shape "
            f"{tuple(x.shape)}), got shape {tuple(b.shape)}"
        )
    return b.reshape(-1, 1, 1)


@numpy_compat
def normalize_levels(
    raw: Array,
    *,
    black_level: LevelLike,
    white_level: float,
    dtype: torch.dtype | None = None,
) -> Array:
    r"""Sensor values to linear RAW: ``(raw - black_level) / (white_level - black_level)``.

    Args:
        raw: ``(*, C, H, W)`` sensor values ``>= 0``, integer (e.g. uint16) or float,
            finite.  Negative values raise (a sensor count cannot be negative), and so do
            integer values above ``white_level`` (they cannot come from the sensor).
        black_level: scalar, or ``C`` values (one per channel), ``0 <= b < white_level``.
        white_level: saturation value, e.g. ``2**bit_depth - 1``.
        dtype: floating output dtype; default ``raw``'s dtype if floating, else float32.

    Returns:
        ``(*, C, H, W)`` float, 0 at black and 1 at saturation; **not clipped** (values
        below black stay negative).  Differentiable for floating ``raw``.

    Raises:
        ValueError: ``black_level >= white_level``, negative ``black_level``, ``white_level``
            not in ``(0, 2**32 - 1]``, wrong number of black levels, NaN/Inf, negative
            values, integer values above ``white_level``.
        TypeError: ``raw`` is not an array, or is bool/complex; ``dtype`` not floating.

    Example:
        >>> import numpy as np
        >>> normalize_levels(np.array([[[64, 1023]]], np.uint16), black_level=64, white_level=1023).tolist()
        [[[0.0, 1.0]]]
    """
    check_tensor_like(raw, "raw")
    check_dtype(raw, ["float", "integer"], "raw")
    if raw.ndim < 3:
        raise ValueError(f"raw: expected shape (*, C, H, W), got {tuple(raw.shape)}")
    check_levels(black_level, white_level)
    if dtype is None:
        dtype = raw.dtype if raw.is_floating_point() else torch.float32
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype: expected a floating torch dtype, got {dtype}")
    x = raw.to(dtype)
    check_finite(x, "raw")
    if x.numel() and float(x.detach().min()) < 0:
        raise ValueError(
            f"raw: expected sensor values >= 0 (counts before black subtraction), got a "
            f"minimum of {float(x.detach().min())}"
        )
    if not raw.is_floating_point() and x.numel() and float(x.detach().max()) > white_level:
        raise ValueError(
            f"raw: integer sensor values must be <= white_level={white_level}, got {float(x.max())}"
        )
    b = _level_tensor(black_level, x, dtype)
    return (x - b) / (white_level - b)


@numpy_compat
def denormalize_levels(
    x: Array,
    *,
    black_level: LevelLike,
    white_level: float,
    dtype: torch.dtype = torch.uint16,
    clip: bool = False,
) -> Array:
    r"""Linear RAW to integer sensor values: ``round(x * (white - black) + black)``.

    The inverse of :func:`normalize_levels` for integer sensor data:
    ``denormalize_levels(normalize_levels(v)) == v`` exactly for every integer ``v`` in
    ``[0, white_level]`` (float64, or float32 up to 24-bit levels).  **Not
    differentiable** (it rounds).

    Args:
        x: ``(*, C, H, W)`` floating linear RAW, finite.
        black_level, white_level: as in :func:`normalize_levels`.
        dtype: integer output dtype (default ``torch.uint16``) that holds
            ``[0, white_level]`` (``white_level=70000`` with uint16 raises rather than
            wrapping around).
        clip: if False (default), values that round outside ``[0, white_level]`` raise;
            if True they are clamped there (what a saturating sensor and ADC do).

    Returns:
        ``(*, C, H, W)`` integers of ``dtype``.

    Raises:
        ValueError: out-of-range values with ``clip=False``; bad levels; NaN/Inf;
            ``white_level`` above what ``dtype`` holds.
        TypeError: ``x`` not floating; ``dtype`` not an integer dtype; ``clip`` not a bool.

    Example:
        >>> import torch
        >>> denormalize_levels(torch.tensor([[[0.0, 0.5, 1.0]]]), black_level=64, white_level=1023)
        tensor([[[  64,  544, 1023]]], dtype=torch.uint16)
    """
    check_tensor_like(x, "x")
    check_dtype(x, ["float"], "x")
    if x.ndim < 3:
        raise ValueError(f"x: expected shape (*, C, H, W), got {tuple(x.shape)}")
    check_finite(x, "x")
    check_levels(black_level, white_level)
    check_bool(clip, "clip")
    if (
        not isinstance(dtype, torch.dtype)
        or dtype.is_floating_point
        or dtype.is_complex
        or dtype == torch.bool
    ):
        raise TypeError(f"dtype: expected an integer torch dtype, got {dtype}")
    check_dtype_capacity(dtype, white_level, "dtype")
    work = torch.float64
    b = _level_tensor(black_level, x, work)
    v = torch.round(x.detach().to(work) * (white_level - b) + b)
    if clip:
        v = v.clamp(0, white_level)
    elif v.numel() and (float(v.min()) < 0 or float(v.max()) > white_level):
        raise ValueError(
            f"x: values map to sensor range [{float(v.min())}, {float(v.max())}], outside "
            f"[0, white_level={white_level}]; pass clip=True to saturate them"
        )
    return v.to(dtype)
