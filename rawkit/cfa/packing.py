"""Mosaicing and 4-channel packing of Bayer RAW.

Layouts (DESIGN.md):

* RGB image ``(*, 3, H, W)``
* Bayer mosaic ``(*, 1, H, W)``, ``H`` and ``W`` even
* packed RAW ``(*, 4, H/2, W/2)`` with channels ``[R, Gr, Gb, B]`` for every pattern

All three functions only move values, so they are exact for every dtype (float,
uint16, ...), and differentiable for floating inputs.  NumPy in -> NumPy out.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from rawkit._checks import check_dtype, check_even_hw, check_shape, check_tensor_like
from rawkit._tensor import Array, empty_output, numpy_compat
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern

__all__ = ["mosaic", "pack", "unpack"]

_RGB_OF_CHANNEL = (0, 1, 1, 2)  # packed [R, Gr, Gb, B] -> RGB index


def _check_values(x: torch.Tensor, name: str) -> None:
    check_dtype(x, ["float", "integer"], name)


#: Unsigned integer dtype of each element size: the compiled loops move bits, not values.
_BITS = {1: torch.uint8, 2: torch.uint16, 4: torch.uint32, 8: torch.uint64}


def _compiled(x: torch.Tensor) -> bool:
    """Whether the compiled CPU loop serves ``x``: on the CPU and not recording autograd.

    Elsewhere (GPU tensors, inputs that need gradients) the strided torch copies of
    :func:`_copy_sites` do the same moves on the input's device and under autograd.
    """
    return x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled())


def _as_bits(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of ``t``'s memory as unsigned integers of the same size (no copy)."""
    return t.detach().view(_BITS[t.element_size()]).numpy()


@functools.cache
def _row_channels(pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Per tile row ``dy``: the channel at its even column and at its odd column."""
    lo, hi = np.zeros(2, np.int64), np.zeros(2, np.int64)
    for k, (dy, dx) in enumerate(channel_sites(pattern)):
        (hi if dx else lo)[dy] = k
    return lo, hi


def _copy_sites(
    planes: torch.Tensor, tiles: torch.Tensor, pattern: str, *, to_planes: bool
) -> None:
    """Copy between packed planes ``(*, 4, h, w)`` and a tile view ``(*, h, 2, w, 2)``.

    When R sits in the left column (RGGB, GBRG) the two sites of one tile row map to
    two consecutive channels in order, so one strided copy moves a whole row parity:
    two passes over memory instead of four (this keeps pack/unpack memory-bound).
    """
    sites = channel_sites(pattern)
    if sites[0][1] == 0:
        for k in (0, 2):  # channels (R, Gr) and (Gb, B) share a row parity
            dy = sites[k][0]
            pair = planes[..., k : k + 2, :, :]
            row = tiles[..., :, dy, :, :].movedim(-1, -3)  # (*, 2, h, w) view
            if to_planes:
                pair.copy_(row)
            else:
                row.copy_(pair)
        return
    for k, (dy, dx) in enumerate(sites):
        if to_planes:
            planes[..., k, :, :] = tiles[..., :, dy, :, dx]
        else:
            tiles[..., :, dy, :, dx] = planes[..., k, :, :]


@numpy_compat
def mosaic(rgb: Array, *, pattern: Pattern) -> Array:
    r"""Sample an RGB image through a Bayer colour filter array.

    Each output pixel keeps the one colour the filter at its site passes:
    ``out[..., 0, y, x] = rgb[..., c(y, x), y, x]`` with ``c`` given by ``pattern``.

    Args:
        rgb: ``(*, 3, H, W)``, any real dtype, any value range (nothing is rescaled);
            ``H`` and ``W`` even.
        pattern: Bayer pattern of the result, one of ``"RGGB" "GRBG" "GBRG" "BGGR"``.

    Returns:
        The mosaic ``(*, 1, H, W)``, same dtype and device as ``rgb``.

    Raises:
        ValueError: wrong shape, odd ``H``/``W``, unknown ``pattern``.
        TypeError: ``rgb`` is not an array, or is bool/complex.

    Example:
        >>> import numpy as np
        >>> rgb = np.stack([np.full((2, 2), v, np.float32) for v in (0.1, 0.5, 0.9)])
        >>> mosaic(rgb, pattern="RGGB")[0]
        array([[0.1, 0.5],
               [0.5, 0.9]], dtype=float32)
    """
    check_tensor_like(rgb, "rgb")
    check_pattern(pattern)
    check_shape(rgb, ["*", "3", "H", "W"], "rgb")
    check_even_hw(rgb, "rgb")
    _check_values(rgb, "rgb")
    *batch, _, h, w = rgb.shape
    out = empty_output((*batch, 1, h, w), like=rgb)
    for (dy, dx), c in zip(channel_sites(pattern), _RGB_OF_CHANNEL, strict=True):
        out[..., 0, dy::2, dx::2] = rgb[..., c, dy::2, dx::2]
    return out


@numpy_compat
def pack(mosaic: Array, *, pattern: Pattern) -> Array:
    r"""Pack a Bayer mosaic into four half-resolution planes ``[R, Gr, Gb, B]``.

    ``out[..., k, i, j] = mosaic[..., 0, 2i + dy_k, 2j + dx_k]`` where ``(dy_k, dx_k)``
    is the site of channel ``k`` in ``pattern`` (:func:`rawkit.cfa.channel_sites`).
    The canonical order makes packed RAW of different cameras line up (DESIGN.md).

    Args:
        mosaic: ``(*, 1, H, W)`` with even ``H`` and ``W``; any real dtype.
        pattern: Bayer pattern of ``mosaic``.

    Returns:
        ``(*, 4, H/2, W/2)``, same dtype and device.  Exact (values are only moved).

    Raises:
        ValueError: wrong shape, odd ``H``/``W``, unknown ``pattern``.
        TypeError: not an array, or bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> m = np.arange(16, dtype=np.uint16).reshape(1, 4, 4)
        >>> pack(m, pattern="RGGB")[:, 0, 0]
        array([0, 1, 4, 5], dtype=uint16)
        >>> pack(m, pattern="BGGR")[:, 0, 0]  # R sits at (1, 1) in BGGR
        array([5, 4, 1, 0], dtype=uint16)
    """
    check_tensor_like(mosaic, "mosaic")
    check_pattern(pattern)
    check_shape(mosaic, ["*", "1", "H", "W"], "mosaic")
    check_even_hw(mosaic, "mosaic")
    _check_values(mosaic, "mosaic")
    *batch, _, h, w = mosaic.shape
    out = empty_output((*batch, 4, h // 2, w // 2), like=mosaic)
    if _compiled(mosaic) and out.numel():
        from rawkit.cfa import _kernels

        n = out.numel() // (2 * w * (h // 2))
        src = _as_bits(mosaic.reshape(n, h // 2, 2, w))
        dst = _as_bits(out.view(n, 4, h // 2, w // 2))
        lo, hi = _row_channels(pattern)
        _kernels.pack_rows(src, dst, lo, hi, 0, n * (h // 2))
        return out
    src = mosaic[..., 0, :, :].reshape(*batch, h // 2, 2, w // 2, 2)
    _copy_sites(out, src, pattern, to_planes=True)
    return out


@numpy_compat
def unpack(packed: Array, *, pattern: Pattern) -> Array:
    r"""Inverse of :func:`pack`: four planes ``[R, Gr, Gb, B]`` back to a mosaic.

    Args:
        packed: ``(*, 4, h, w)``; any real dtype.
        pattern: Bayer pattern of the mosaic to produce.

    Returns:
        ``(*, 1, 2h, 2w)``, same dtype and device.  ``unpack(pack(m, pattern=p),
        pattern=p)`` equals ``m`` bit for bit.

    Raises:
        ValueError: wrong shape or unknown ``pattern``.
        TypeError: not an array, or bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> p = np.arange(4, dtype=np.float32).reshape(4, 1, 1)
        >>> unpack(p, pattern="GRBG")[0]
        array([[1., 0.],
               [3., 2.]], dtype=float32)
    """
    check_tensor_like(packed, "packed")
    check_pattern(pattern)
    check_shape(packed, ["*", "4", "h", "w"], "packed")
    _check_values(packed, "packed")
    *batch, _, h2, w2 = packed.shape
    out = empty_output((*batch, 1, 2 * h2, 2 * w2), like=packed)
    if _compiled(packed) and out.numel():
        from rawkit.cfa import _kernels

        n = out.numel() // (4 * h2 * w2)
        src = _as_bits(packed.reshape(n, 4, h2, w2))
        dst = _as_bits(out.view(n, h2, 2, 2 * w2))
        lo, hi = _row_channels(pattern)
        _kernels.unpack_rows(src, dst, lo, hi, 0, n * h2)
        return out
    tiles = out[..., 0, :, :].view(*batch, h2, 2, w2, 2)
    _copy_sites(packed, tiles, pattern, to_planes=False)
    return out
