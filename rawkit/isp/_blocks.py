"""Row-blocked evaluation of :func:`process` / :func:`unprocess` (private to ``rawkit.isp``).

Every step of the ISP except lens shading is per pixel, and demosaicing looks at most
two rows away (bilinear: one, Malvar: two).  So a large image is rendered a band of
rows at a time: each band (plus a two-row halo, even so that the Bayer phase is kept)
goes through the same ops as the whole image would, the halo is dropped and the band
is written into the one output buffer.  The temporaries of a band stay in the CPU's
cache, so the image makes one pass over memory in and one out, instead of one per op
and per intermediate image.  The result is that of the unbanded chain (the same
functions on the same numbers); only the per-pixel colour solve may round a last bit
differently, as LAPACK's kernels depend on how many pixels one call gets.

Used only where it cannot change the result: no autograd graph is needed, lens
shading is off (its gain depends on the position in the whole frame), parameters are
not batched, and the demosaic is bilinear or Malvar (Menon looks further away).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

from rawkit._tensor import empty_output

#: Bytes of one band's RGB; a few MB keeps a band's temporaries in L2/L3 cache.
BAND_BYTES = 4 << 20
#: Rows of context each side of a band: Malvar's 5x5 reaches two rows, kept even.
HALO = 2


def band_rows(rgb_row_bytes: int) -> int:
    """Even number of rows per band so that one band's RGB is about :data:`BAND_BYTES`."""
    return max(8, (BAND_BYTES // max(1, rgb_row_bytes)) // 2 * 2)


def can_block(params: object, *tensors: torch.Tensor) -> bool:
    """Whether the banded path gives exactly the unbanded result (see the module notes)."""
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    p = params
    return (
        p.lens_shading == 0  # type: ignore[attr-defined]
        and p.demosaic in ("bilinear", "malvar")  # type: ignore[attr-defined]
        and p.wb_gains.ndim == 1  # type: ignore[attr-defined]
        and p.xyz_to_cam.ndim == 2  # type: ignore[attr-defined]
    )


def run_bands(
    x: torch.Tensor,
    fn: Callable[[torch.Tensor], torch.Tensor],
    *,
    rows: int,
    halo: int = 0,
    up: int = 1,
    down: int = 1,
) -> torch.Tensor:
    """``fn`` applied band by band to the rows of ``x``, assembled into one new tensor.

    Input row ``r`` gives output rows ``[r * up / down, (r + 1) * up / down)`` (``up=2``
    from packed planes to a full-resolution image, ``down=2`` the other way; band
    starts are multiples of ``rows``, which must keep them whole).  ``halo`` input rows
    of context each side are given to ``fn`` where they exist and their output rows
    are dropped.  The output buffer is allocated once, from the first band's dtype.
    """
    h = x.shape[-2]
    starts = list(range(0, h, rows))

    def band(r0: int) -> tuple[int, torch.Tensor]:
        a = max(0, r0 - halo)
        return r0, fn(x[..., a : min(h, r0 + rows + halo), :])

    # Grad and inference modes are per thread: workers run in the caller's.
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def in_worker(r0: int) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            put(out, *band(r0))

    def put(out: torch.Tensor, r0: int, y: torch.Tensor) -> None:
        r1 = min(h, r0 + rows)
        top, n = (r0 - max(0, r0 - halo)) * up // down, (r1 - r0) * up // down
        out[..., r0 * up // down : r0 * up // down + n, :] = y[..., top : top + n, :]

    r0, y = band(starts[0])
    out = empty_output((*y.shape[:-2], h * up // down, y.shape[-1]), like=x, dtype=y.dtype)
    put(out, r0, y)
    threads = torch.get_num_threads()
    if threads == 1 or x.device.type != "cpu" or len(starts) == 1:
        for r0 in starts[1:]:
            put(out, *band(r0))
        return out
    # Bands in parallel, each single-threaded: no OpenMP barrier per op, so one thread
    # descheduled on a loaded machine delays only its own band, not every op of all.
    torch.set_num_threads(1)
    try:
        # OpenMP's thread count is per thread: each worker sets its own to 1.
        one = lambda: torch.set_num_threads(1)  # noqa: E731
        with ThreadPoolExecutor(threads, initializer=one) as pool:  # each worker writes its bands
            list(pool.map(in_worker, starts[1:]))
    finally:
        torch.set_num_threads(threads)
    return out


def apply_matrix_rows(x: torch.Tensor, m: list[list[float]]) -> torch.Tensor:
    """``y[i] = sum_j m[i][j] x[j]`` over the colour axis ``-3``, as nine scaled adds.

    Used with a matrix computed once per render (float64 rows, rounded to ``x``'s dtype
    by the ops); within float rounding of :func:`rawkit.isp.camera_to_srgb`'s per-pixel
    solve, and several times faster than it on a band.
    """
    out = torch.empty_like(x)
    for i in range(3):
        o = out[..., i, :, :]
        torch.mul(x[..., 0, :, :], m[i][0], out=o)
        o.add_(x[..., 1, :, :], alpha=m[i][1])
        o.add_(x[..., 2, :, :], alpha=m[i][2])
    return out
