"""Helpers shared by the ISP ops (private module): parameters as tensors, layout checks."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from rawkit._checks import check_dtype, check_finite, check_shape, check_tensor_like

__all__ = ["Layout", "LAYOUTS", "as_param", "check_image", "check_layout_shape"]

#: How a RAW is laid out: Bayer mosaic ``(*, 1, H, W)``, packed ``(*, 4, H/2, W/2)`` or a
#: demosaiced camera-RGB image ``(*, 3, H, W)``.
Layout = Literal["mosaic", "packed", "rgb"]
#: Every value of ``Layout``: Bayer mosaic, packed RAW or RGB.
LAYOUTS: tuple[str, ...] = ("mosaic", "packed", "rgb")
_CHANNELS = {"mosaic": "1", "packed": "4", "rgb": "3"}


def as_param(
    value: Any, like: torch.Tensor, name: str, *, tail: tuple[int, ...] = ()
) -> torch.Tensor:
    """A scalar, sequence, ndarray or tensor as a finite tensor on ``like``'s device and dtype.

    ``tail`` is the required trailing shape (``()`` for a scalar, ``(3,)`` for RGB gains,
    ``(3, 3)`` for a matrix); leading dims are allowed and broadcast with the batch dims.
    Tensors keep their autograd graph (so gradients flow into parameters).
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        raise TypeError(f"{name}: expected a number, sequence or array, got {type(value).__name__}")
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(np.ascontiguousarray(value))
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool or value.is_complex():
            raise TypeError(f"{name}: expected a real dtype, got {value.dtype}")
        t = value.to(dtype=like.dtype, device=like.device)
    else:
        try:
            t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
        except (TypeError, ValueError, RuntimeError) as e:
            raise TypeError(f"{name}: expected numbers, got {value!r}") from e
    if tuple(t.shape[t.ndim - len(tail) :]) != tail or t.ndim < len(tail):
        want = ", ".join(["*", *map(str, tail)]) if tail else "a scalar"
        raise ValueError(f"{name}: expected shape ({want}), got {tuple(t.shape)}")
    check_finite(t, name)
    return t


def check_image(x: Any, name: str, channels: str, *, min_side: int = 1) -> None:
    """A floating, finite ``(*, channels, H, W)`` array with ``H, W >= min_side``."""
    check_tensor_like(x, name)
    check_shape(x, ["*", channels, "H", "W"], name)
    check_dtype(x, ["float"], name)
    h, w = x.shape[-2:]
    if h < min_side or w < min_side:
        raise ValueError(f"{name}: expected H and W >= {min_side}, got H={h}, W={w}")
    check_finite(x, name)


def check_layout_shape(x: Any, layout: str, name: str) -> None:
    """Check that ``x`` has the channel count of ``layout`` (with a hint if not)."""
    want = _CHANNELS[layout]
    got = x.shape[-3] if x.ndim >= 3 else None
    if x.ndim < 3 or str(got) != want:
        guess = {v: k for k, v in _CHANNELS.items()}.get(str(got))
        hint = f" (this looks like layout={guess!r})" if guess else ""
        raise ValueError(
            f"{name}: layout={layout!r} expects shape (*, {want}, H, W), got {tuple(x.shape)}{hint}"
        )
