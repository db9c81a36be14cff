"""MIPI CSI-2 bit-packing of integer sensor data (RAW10, RAW12, RAW14).

Camera sensors send each line of a mosaic over MIPI CSI-2 with no padding bits
between pixels: a *group* of ``n`` consecutive pixels (4 for RAW10 and RAW14, 2 for
RAW12) fills a whole number of bytes.  The group starts with ``n`` bytes, byte ``i``
holding the 8 most significant bits of pixel ``i``; the trailing bytes hold the
remaining ``k = bit_depth - 8`` low bits of every pixel, concatenated from the first
pixel up and stored least significant byte first::

    L = P1[k-1:0] | P2[k-1:0] << k | P3[k-1:0] << 2k | P4[k-1:0] << 3k

(that is the table in :func:`pack_bits`, written as one integer).  Reference: MIPI
Alliance, *Specification for Camera Serial Interface 2 (CSI-2)*, "RAW10", "RAW12" and
"RAW14" data types; the same byte layouts are the Linux V4L2 formats
``V4L2_PIX_FMT_SRGGB10P``, ``SRGGB12P`` and ``SRGGB14P``.

Each line (the last axis) is packed on its own, so the line width must fill whole
groups.  The functions move integer bits: they are exact and not differentiable.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, cast

import numpy as np
import torch

from rawkit._checks import check_shape, check_tensor_like
from rawkit._tensor import Array, empty_output, numpy_compat

__all__ = ["BitDepth", "BIT_DEPTHS", "pack_bits", "unpack_bits"]

BitDepth = Literal[10, 12, 14]
#: Bit depths with a MIPI CSI-2 packed format.
BIT_DEPTHS: tuple[int, ...] = (10, 12, 14)


class _Layout(NamedTuple):
    pixels: int  # pixels per group
    nbytes: int  # bytes per group


_LAYOUTS: dict[int, _Layout] = {10: _Layout(4, 5), 12: _Layout(2, 3), 14: _Layout(4, 7)}


def _check_bit_depth(bit_depth: object) -> int:
    if isinstance(bit_depth, (int, np.integer)) and not isinstance(bit_depth, bool):
        if int(bit_depth) in BIT_DEPTHS:
            return int(bit_depth)
    raise ValueError(f"bit_depth: expected one of {list(BIT_DEPTHS)}, got {bit_depth!r}")


def _check_range(v: torch.Tensor, bit_depth: int, name: str) -> None:
    """Raise unless every uint16 value (seen through the int16 view ``v``) is < 2**bit_depth.

    Values >= 2**15 appear negative in the int16 view, so both ends are checked.
    """
    if v.numel() == 0:
        return
    lo, hi = torch.aminmax(v)
    limit = 1 << bit_depth
    if int(lo) >= 0 and int(hi) < limit:
        return
    values = (v.to(torch.int32) & 0xFFFF).flatten()  # the uint16 values, for the message
    first = int((values >= limit).to(torch.uint8).argmax())
    index = tuple(int(i) for i in np.unravel_index(first, tuple(v.shape)))
    raise ValueError(
        f"{name}: expected values < 2**{bit_depth} = {limit} for bit_depth={bit_depth}, "
        f"got max {int(values.max())} (first offending value {int(values[first])} "
        f"at index {index})"
    )


def _run(kernel_name: str, src: torch.Tensor, out: torch.Tensor, depth: int) -> object:
    """Run a line kernel of :mod:`rawkit.cfa._kernels` from ``src (n, *)`` into ``out (n, *)``.

    The compiled loop runs on the CPU; tensors elsewhere make a round trip (this is the
    I/O boundary, where the bytes go to or come from a file or a sensor anyway).
    Returns what the kernel returns (for packing: the OR of every value), and writes
    ``out`` only when that is not above the bit depth.
    """
    from rawkit.cfa import _kernels

    kernel = getattr(_kernels, kernel_name)
    cpu = torch.device("cpu")
    dst = out if out.device == cpu else torch.empty(out.shape, dtype=out.dtype)
    seen = kernel(src.cpu().numpy(), dst.numpy(), depth, 0, src.shape[0])
    if dst is not out and not (isinstance(seen, int) and seen >> depth):
        out.copy_(dst)
    return seen


@numpy_compat
def pack_bits(x: Array, *, bit_depth: BitDepth) -> Array:
    r"""Pack unsigned integer sensor lines into MIPI CSI-2 RAW10/RAW12/RAW14 bytes.

    Every line (last axis) of ``x`` is cut into groups of consecutive pixels
    ``P1, P2, ...`` (the first pixel of the line is ``P1`` of the first group), each
    group written as whole bytes.  ``P2[3:0]`` means bits 3 down to 0 of pixel 2, and
    ``a<<4 | b`` puts ``a`` in the high bits of the byte:

    ========  ======  =====  ======================================================
    format    pixels  bytes  bytes of one group
    ========  ======  =====  ======================================================
    RAW10     4       5      ``P1[9:2] P2[9:2] P3[9:2] P4[9:2]``,
                             ``P4[1:0]<<6 | P3[1:0]<<4 | P2[1:0]<<2 | P1[1:0]``
    RAW12     2       3      ``P1[11:4] P2[11:4]``, ``P2[3:0]<<4 | P1[3:0]``
    RAW14     4       7      ``P1[13:6] P2[13:6] P3[13:6] P4[13:6]``,
                             ``P2[1:0]<<6 | P1[5:0]``, ``P3[3:0]<<4 | P2[5:2]``,
                             ``P4[5:0]<<2 | P3[5:4]``
    ========  ======  =====  ======================================================

    This is the layout of the MIPI CSI-2 specification (RAW10/12/14 data types) and of
    the V4L2 formats ``V4L2_PIX_FMT_S*10P/12P/14P``.

    Args:
        x: ``(*, W)`` unsigned sensor values, dtype ``uint16`` only (``torch.uint16`` or
            ``np.uint16``), every value in ``[0, 2**bit_depth - 1]``.  Any leading
            dimensions, e.g. a mosaic ``(*, 1, H, W)``; each line of ``W`` pixels is packed
            on its own, so ``W`` must be a multiple of the group size (4 for RAW10 and
            RAW14, 2 for RAW12).  Other integer dtypes are refused rather than cast, so
            that negative or too-large values cannot wrap silently.
        bit_depth: 10, 12 or 14.

    Returns:
        ``(*, W * bit_depth // 8)`` ``uint8`` on the device of ``x``.  NumPy in -> NumPy
        out.  Not differentiable (an integer bit operation).

    Raises:
        TypeError: ``x`` is not an array, or its dtype is not ``uint16``.
        ValueError: ``x`` is 0-d; ``W`` does not fill whole groups; a value is
            ``>= 2**bit_depth`` (the message gives the maximum and the first offending
            index); ``bit_depth`` is not one of ``[10, 12, 14]``.

    Example:
        >>> import numpy as np
        >>> x = np.array([0x3FF, 0x000, 0x155, 0x2AA], dtype=np.uint16)
        >>> [hex(b) for b in pack_bits(x, bit_depth=10)]
        ['0xff', '0x0', '0x55', '0xaa', '0x93']
        >>> pack_bits(np.zeros((2, 1, 3, 8), np.uint16), bit_depth=12).shape
        (2, 1, 3, 12)
    """
    check_tensor_like(x, "x")
    depth = _check_bit_depth(bit_depth)
    t = cast(torch.Tensor, x)  # numpy_compat has wrapped NumPy input
    if t.dtype != torch.uint16:
        raise TypeError(
            f"x: expected dtype uint16 (torch.uint16 or np.uint16), got {t.dtype}; "
            "check the value range, then cast explicitly"
        )
    check_shape(t, ["*", "W"], "x")
    layout = _LAYOUTS[depth]
    *batch, w = t.shape
    if w % layout.pixels:
        raise ValueError(
            f"x: line width W={w} is not a multiple of the RAW{depth} group size "
            f"({layout.pixels} pixels)"
        )
    groups = w // layout.pixels
    out = empty_output((*batch, groups * layout.nbytes), like=t, dtype=torch.uint8)
    n = int(np.prod(batch, dtype=np.int64))
    if n and groups:
        # The values are checked while they are packed (one pass over the input): a value
        # above the bit depth discards the fresh output and raises, naming the first one.
        seen = _run("pack_bits_rows", t.reshape(n, w), out.view(n, groups * layout.nbytes), depth)
        if int(seen) >> depth:  # type: ignore[call-overload]
            _check_range(t.view(torch.int16), depth, "x")
    return out


@numpy_compat
def unpack_bits(data: Array, *, bit_depth: BitDepth, width: int | None = None) -> Array:
    r"""Unpack MIPI CSI-2 RAW10/RAW12/RAW14 lines into ``uint16`` pixel values.

    The exact inverse of :func:`pack_bits` (see its table for the byte layout):
    ``unpack_bits(pack_bits(x, bit_depth=b), bit_depth=b)`` equals ``x`` bit for bit.

    Args:
        data: ``(*, nbytes)`` ``uint8`` packed lines (``torch.uint8`` or ``np.uint8``).
            Without ``width``, ``nbytes`` must be a multiple of the group size in bytes
            (5 for RAW10, 3 for RAW12, 7 for RAW14).
        bit_depth: 10, 12 or 14.
        width: pixels per line, optional.  When given it must be a multiple of the
            group size in pixels and need at most ``nbytes`` bytes; bytes after the first
            ``width * bit_depth // 8`` are treated as line padding (a line stride larger
            than the packed line, as in V4L2's ``bytesperline``) and ignored.

    Returns:
        ``(*, W)`` ``uint16`` with values in ``[0, 2**bit_depth - 1]``, on the device of
        ``data``; ``W = width`` or ``nbytes * 8 // bit_depth``.  NumPy in -> NumPy out.
        Not differentiable (an integer bit operation).

    Raises:
        TypeError: ``data`` is not an array or not ``uint8``; ``width`` is not an int.
        ValueError: ``data`` is 0-d; ``nbytes`` does not hold whole groups; ``width`` is
            negative, not a multiple of the group size or needs more than ``nbytes``
            bytes; ``bit_depth`` is not one of ``[10, 12, 14]``.

    Example:
        >>> import numpy as np
        >>> data = np.array([0xFF, 0x00, 0x55, 0xAA, 0x93], dtype=np.uint8)
        >>> [hex(v) for v in unpack_bits(data, bit_depth=10)]
        ['0x3ff', '0x0', '0x155', '0x2aa']
        >>> unpack_bits(np.zeros((3, 8), np.uint8), bit_depth=12, width=4).shape
        (3, 4)
    """
    check_tensor_like(data, "data")
    depth = _check_bit_depth(bit_depth)
    d = cast(torch.Tensor, data)  # numpy_compat has wrapped NumPy input
    if d.dtype != torch.uint8:
        raise TypeError(f"data: expected dtype uint8 (torch.uint8 or np.uint8), got {d.dtype}")
    check_shape(d, ["*", "nbytes"], "data")
    layout = _LAYOUTS[depth]
    *batch, nbytes = d.shape
    if width is None:
        if nbytes % layout.nbytes:
            raise ValueError(
                f"data: line length {nbytes} bytes is not a multiple of the RAW{depth} "
                f"group size ({layout.nbytes} bytes = {layout.pixels} pixels); pass width= "
                "if the lines carry padding"
            )
        groups = nbytes // layout.nbytes
    else:
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)):
            raise TypeError(f"width: expected an int or None, got {type(width).__name__}")
        width = int(width)
        if width < 0 or width % layout.pixels:
            raise ValueError(
                f"width: expected a non-negative multiple of the RAW{depth} group size "
                f"({layout.pixels} pixels), got width={width}"
            )
        groups = width // layout.pixels
        if groups * layout.nbytes > nbytes:
            raise ValueError(
                f"width: {width} pixels need {groups * layout.nbytes} bytes per line at "
                f"RAW{depth} (group size {layout.pixels} pixels = {layout.nbytes} bytes), "
                f"but data has {nbytes}"
            )
        d = d[..., : groups * layout.nbytes]
    out = empty_output((*batch, groups * layout.pixels), like=d, dtype=torch.uint16)
    n = int(np.prod(batch, dtype=np.int64))
    if n and groups:
        _run("unpack_bits_rows", d.reshape(n, groups * layout.nbytes),
             out.view(n, groups * layout.pixels), depth)  # fmt: skip
    return out
