r"""Tiled inference with overlap and blending: any image size in bounded memory.

A network that maps sRGB ``(*, C, H, W)`` to packed RAW ``(*, C', H/2, W/2)`` needs
memory proportional to the pixels it sees at once.  :func:`tiled_apply` runs it on
overlapping tiles of at most ``tile x tile`` input pixels, one tile at a time, and
blends the tiles' outputs into one preallocated output, so that the working memory is
``O(tile^2)`` whatever the image size (only the input and the output themselves grow
with the image).  Every pipeline in :mod:`rawkit.pipelines` reconstructs through it.

**Tiles.**  :func:`tile_starts` places tiles of ``tile`` pixels with a stride of
``tile - overlap`` from the top-left corner; the last tile of a row (column) is moved
back to end exactly at the image's edge, so it overlaps its neighbour by at least
``overlap`` pixels.  Tile corners and sizes are multiples of ``multiple`` (2 by default:
a tile then starts on the same Bayer phase as the image, and its packed output lines
up with the packed grid).  An image no larger than ``tile`` is one tile.

**Blending.**  Near a tile's edge a convolutional network sees padding instead of the
image, so its output there is wrong.  Each tile's output is weighted by a separable
window (:func:`blend_weights`): on every side that has a neighbour, over the ``ramp =
overlap / downsample`` output pixels they share, the outer quarter gets weight 0 (the
tile's edge pixels), the middle half a linear ramp, the inner quarter 1; the weight is
1 elsewhere and on sides at the image border.  The output is the weighted sum of the
tiles divided by the sum of the weights.  Where two tiles overlap by exactly
``overlap`` their ramps sum to 1 (a linear cross-fade between points ``overlap / 4``
inside each tile).  So a pointwise function comes back exactly, and so does any
network whose receptive-field radius is at most ``overlap / 4`` input pixels; deeper
networks come back up to their (faded) border effects (the tests check all three).

Example:
    >>> import torch
    >>> x = torch.rand(1, 3, 100, 130)
    >>> y = tiled_apply(lambda t: t[:, :, ::2, ::2] * 2, x, tile=48, overlap=16, downsample=2)
    >>> y.shape, bool(torch.allclose(y, x[:, :, ::2, ::2] * 2))
    (torch.Size([1, 3, 50, 65]), True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from tqdm import tqdm  # text bars: tqdm.auto warns in Jupyter without ipywidgets

from rawkit._checks import check_int, check_tensor_like
from rawkit._tensor import Array, to_numpy, to_tensor

__all__ = ["blend_weights", "tile_starts", "tiled_apply"]


def tile_starts(size: int, *, tile: int, overlap: int, multiple: int = 2) -> list[int]:
    """Start offsets of the tiles covering ``size`` pixels along one axis.

    Tiles are ``min(tile, size)`` long, ``tile - overlap`` apart; the last one ends at
    ``size``.  Offsets are multiples of ``multiple`` (``size`` must be one too).

    Args:
        size: pixels along the axis (a multiple of ``multiple``).
        tile: tile length, a multiple of ``multiple``, ``> overlap``.
        overlap: minimum overlap between neighbours, a multiple of ``multiple``, ``>= 0``.
        multiple: grid the offsets and lengths keep to (2: the Bayer 2x2 grid).

    Returns:
        Increasing offsets, the first 0, the last ``size - min(tile, size)``.

    Raises:
        ValueError: sizes that are not multiples of ``multiple``, ``overlap >= tile``.

    Example:
        >>> tile_starts(100, tile=48, overlap=16)
        [0, 32, 52]
        >>> tile_starts(40, tile=48, overlap=16)
        [0]
    """
    size = check_int(size, "size", minimum=1)
    multiple = check_int(multiple, "multiple", minimum=1)
    tile = check_int(tile, "tile", minimum=multiple)
    overlap = check_int(overlap, "overlap", minimum=0)
    for name, v in (("size", size), ("tile", tile), ("overlap", overlap)):
        if v % multiple:
            raise ValueError(f"{name}: expected a multiple of {multiple}, got {v}")
    if overlap >= tile:
        raise ValueError(f"overlap: expected less than tile ({tile}), got {overlap}")
    if size <= tile:
        return [0]
    step = tile - overlap
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def blend_weights(
    length: int, *, ramp_before: int, ramp_after: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """One axis of a tile's blending window (module notes): zero margin, ramp, then 1.

    For a side with a ramp of ``r > 0`` pixels and margin ``m = r // 4``, the ``i``-th
    pixel from that edge gets ``clip((i + 0.5 - m) / (r - 2 m), 0, 1)``; the window is
    the minimum over both sides (``r = 0``: no ramp, a side at the image border).

    Example:
        >>> blend_weights(10, ramp_before=8, ramp_after=0).tolist()
        [0.0, 0.0, 0.125, 0.375, 0.625, 0.875, 1.0, 1.0, 1.0, 1.0]
    """
    i = torch.arange(length, dtype=torch.float64) + 0.5
    w = torch.ones(length, dtype=torch.float64)
    for r, pos in ((ramp_before, i), (ramp_after, length - i)):
        if r > 0:
            m = r // 4
            w = torch.minimum(w, ((pos - m) / (r - 2 * m)).clamp(0.0, 1.0))
    return w.to(dtype)


def _ramps(starts: list[int], size: int, tile: int) -> list[tuple[int, int]]:
    """Input-pixel overlap of each tile with its previous and next neighbour."""
    out = []
    for k, s in enumerate(starts):
        length = min(tile, size)
        before = starts[k - 1] + length - s if k > 0 else 0
        after = s + length - starts[k + 1] if k + 1 < len(starts) else 0
        out.append((max(before, 0), max(after, 0)))
    return out


def tiled_apply(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: Array,
    *,
    tile: int,
    overlap: int,
    downsample: int = 1,
    multiple: int = 2,
    out_dtype: torch.dtype = torch.float32,
    with_offset: bool = False,
    progress: bool = False,
) -> Array:
    """Apply ``fn`` to overlapping tiles of ``x`` and blend the results (module notes).

    Runs under :func:`torch.no_grad` (inference only, not differentiable).  Each tile is
    handed to ``fn`` as a contiguous ``(B, C, th, tw)`` tensor on ``x``'s device (NumPy
    input is wrapped without a copy), with all leading dimensions of ``x`` flattened
    into ``B``; ``fn`` must return ``(B, C', th / downsample, tw / downsample)``.

    Args:
        fn: the per-tile function (e.g. a network).
        x: ``(*, C, H, W)`` input; ``H, W`` multiples of ``multiple``.
        tile: tile side in input pixels (``H, W`` larger than this are tiled).
        overlap: overlap between neighbouring tiles in input pixels; a network's
            receptive-field radius is a good choice.
        downsample: input pixels per output pixel along each axis (2 for sRGB ->
            packed RAW).
        multiple: tile offsets and sizes are multiples of ``multiple`` input pixels, itself
            a multiple of ``downsample`` (default 2: tiles start on the image's Bayer
            phase, and with ``downsample=2`` on whole packed sites).
        out_dtype: dtype of the output.
        with_offset: call ``fn(tile, (top, left))`` with the tile's offset in input
            pixels (to crop other per-pixel maps alongside), instead of ``fn(tile)``.
        progress: show a tqdm bar over the tiles.

    Returns:
        ``(*, C', H / downsample, W / downsample)``: a tensor on ``x``'s device, or
        NumPy for NumPy input.

    Raises:
        TypeError: ``x`` not a tensor or array, ``fn`` not callable.
        ValueError: sizes not on the grid, ``overlap >= tile``, ``fn`` returning a shape
            other than the tile's scaled shape or non-finite values.

    Example:
        >>> import numpy as np
        >>> y = tiled_apply(lambda t: t + 1, np.zeros((3, 64, 64), np.float32), tile=32, overlap=8)
        >>> y.shape, float(y.min()), float(y.max())
        ((3, 64, 64), 1.0, 1.0)
    """
    if not callable(fn):
        raise TypeError(f"fn: expected a callable, got {type(fn).__name__}")
    check_tensor_like(x, "x")
    if x.ndim < 3:
        raise ValueError(f"x: expected shape (*, C, H, W), got {tuple(x.shape)}")
    downsample = check_int(downsample, "downsample", minimum=1)
    grid = check_int(multiple, "multiple", minimum=1)
    if grid % downsample:
        raise ValueError(f"multiple: expected a multiple of downsample ({downsample}), got {grid}")
    is_np = isinstance(x, np.ndarray)
    t = to_tensor(x) if is_np else x
    lead, (c, h, w) = tuple(t.shape[:-3]), tuple(t.shape[-3:])
    if h % grid or w % grid:
        raise ValueError(
            f"x: expected H and W that are multiples of {grid} (multiple), got H={h}, W={w}"
        )
    tile = check_int(tile, "tile", minimum=grid)
    overlap = check_int(overlap, "overlap", minimum=0)
    ys = tile_starts(h, tile=tile, overlap=overlap, multiple=grid)
    xs = tile_starts(w, tile=tile, overlap=overlap, multiple=grid)
    th, tw = min(tile, h), min(tile, w)
    ry, rx = _ramps(ys, h, tile), _ramps(xs, w, tile)
    flat = t.reshape(-1, c, h, w)
    b, d = flat.shape[0], downsample
    out: torch.Tensor | None = None
    weight = torch.zeros((1, 1, h // d, w // d), dtype=out_dtype, device=t.device)
    bar = tqdm(total=len(ys) * len(xs), desc="tiles", disable=not progress, leave=False)
    with torch.no_grad():
        for y0, (ya, yb) in zip(ys, ry, strict=True):
            wy = blend_weights(th // d, ramp_before=ya // d, ramp_after=yb // d, dtype=out_dtype)
            for x0, (xa, xb) in zip(xs, rx, strict=True):
                part = flat[:, :, y0 : y0 + th, x0 : x0 + tw].contiguous()
                res = fn(part, (y0, x0)) if with_offset else fn(part)  # type: ignore[call-arg]
                want = (b, th // d, tw // d)
                if (
                    not isinstance(res, torch.Tensor)
                    or res.ndim != 4
                    or (res.shape[0], res.shape[2], res.shape[3]) != want
                ):
                    got = tuple(res.shape) if isinstance(res, torch.Tensor) else type(res).__name__
                    raise ValueError(
                        f"fn: expected a tensor (B={b}, C', {th // d}, {tw // d}) for a tile "
                        f"(B, {c}, {th}, {tw}), got {got}"
                    )
                if not bool(torch.isfinite(res).all()):
                    raise ValueError(f"fn: returned NaN or Inf on the tile at ({y0}, {x0})")
                if out is None:
                    shape = (b, res.shape[1], h // d, w // d)
                    out = torch.zeros(shape, dtype=out_dtype, device=t.device)
                wx = blend_weights(
                    tw // d, ramp_before=xa // d, ramp_after=xb // d, dtype=out_dtype
                )
                wt = (wy[:, None] * wx[None, :]).to(t.device)
                sy, sx = slice(y0 // d, (y0 + th) // d), slice(x0 // d, (x0 + tw) // d)
                out[:, :, sy, sx] += res.to(out_dtype) * wt
                weight[:, :, sy, sx] += wt
                bar.update(1)
    bar.close()
    if out is None:  # pragma: no cover - there is always at least one tile
        raise RuntimeError("no tiles")
    out /= weight
    out = out.reshape(*lead, out.shape[1], h // d, w // d)
    return to_numpy(out) if is_np else out
