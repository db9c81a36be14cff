"""Compiled CPU loops of ``rawkit.cfa`` (numba; private to this package).

Layout moves (pack/unpack), MIPI bit-packing and the bilinear demosaic are memory
bound: a fused loop that reads each input byte once and writes each output byte once
runs at the speed of ``np.copy``, which chains of strided torch ops cannot reach (each
op is one more pass over memory, and torch's strided copies do not vectorise).  These
loops are those single passes.  Every kernel works on a range of rows ``[r0, r1)``
and releases the GIL, so :func:`run_rows` can split the rows over Python threads
(numba's own thread pool is not used: no second OpenMP runtime next to torch's).

Arrays come in as NumPy views of torch tensors (no copy).  Layout kernels see the
values as unsigned integers of the same width, so they move the bits of any dtype
exactly (float32 as uint32, float16/bfloat16 as uint16, ...).  ``cache=True`` keeps
the compiled code on disk after the first call of a process.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = [
    "bilinear_rows",
    "pack_bits_rows",
    "pack_rows",
    "run_rows",
    "unpack_bits_rows",
    "unpack_rows",
]

_jit = numba.njit(nogil=True, cache=True, boundscheck=False)

_POOL: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    """In a forked child the parent's worker threads do not exist: start a new pool there."""
    global _POOL
    _POOL = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def run_rows(
    kernel: Callable[..., object],
    args: tuple[object, ...],
    rows: int,
    threads: int,
    *,
    grain: int = 64,
) -> bool:
    """Call ``kernel(*args, r0, r1)`` over the rows ``[0, rows)`` on ``threads`` threads.

    Returns whether any call returned a true value (a kernel's flag, e.g. "not finite").

    One thread (or fewer than ``2 * grain`` rows): a single call.  Otherwise the rows are
    cut into several bands per thread (of at least ``grain`` rows), and the calling thread
    and ``threads - 1`` workers each take the next band until none is left, so a thread
    that the machine's other work starves simply takes fewer bands (a fixed split would
    wait for the slowest half).  The kernels release the GIL; each band writes rows of
    the output no other band writes.
    """
    if threads <= 1 or rows < 2 * grain:
        return bool(kernel(*args, 0, rows))
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1, thread_name_prefix="rawkit-rows"
        )
    bands = min(rows // grain, 8 * threads)
    bounds = [rows * i // bands for i in range(bands + 1)]
    ticket = itertools.count()  # next() on it is atomic under the GIL

    def work() -> bool:
        flag = False
        while (i := next(ticket)) < bands:
            flag |= bool(kernel(*args, bounds[i], bounds[i + 1]))
        return flag

    futures = [_POOL.submit(work) for _ in range(threads - 1)]
    flag = work()
    return any([f.result() for f in futures]) or flag


# --- 4-channel packing ------------------------------------------------------------


@_jit
def pack_rows(m, out, lo, hi, r0, r1):  # type: ignore[no-untyped-def]
    """Tile rows ``[r0, r1)`` (over ``N * h``) of ``out (N, 4, h, w)`` from ``m (N, h, 2, 2w)``.

    ``lo[dy]`` / ``hi[dy]`` is the channel sampled at the even / odd columns of the
    tile's row ``dy``.  Both column parities are written in one loop with constant
    offsets, which the compiler vectorises (a runtime offset would not be).
    """
    h = out.shape[2]
    for r in range(r0, r1):
        n, i = r // h, r % h
        for dy in range(2):
            src = m[n, i, dy]
            a = out[n, lo[dy], i]
            b = out[n, hi[dy], i]
            for j in range(a.shape[0]):
                a[j] = src[2 * j]
                b[j] = src[2 * j + 1]


@_jit
def unpack_rows(p, out, lo, hi, r0, r1):  # type: ignore[no-untyped-def]
    """Tile rows ``[r0, r1)`` of ``out (N, h, 2, 2w)`` from ``p (N, 4, h, w)``."""
    h = p.shape[2]
    for r in range(r0, r1):
        n, i = r // h, r % h
        for dy in range(2):
            a = p[n, lo[dy], i]
            b = p[n, hi[dy], i]
            dst = out[n, i, dy]
            for j in range(a.shape[0]):
                dst[2 * j] = a[j]
                dst[2 * j + 1] = b[j]


# --- MIPI CSI-2 bit-packing ---------------------------------------------------------


@_jit
def _pack10(s, d):  # type: ignore[no-untyped-def]
    seen = 0  # OR of every value: the caller checks the bit depth from it
    for g in range(s.shape[0] // 4):
        p0, p1, p2, p3 = s[4 * g], s[4 * g + 1], s[4 * g + 2], s[4 * g + 3]
        seen |= p0 | p1 | p2 | p3
        d[5 * g] = p0 >> 2
        d[5 * g + 1] = p1 >> 2
        d[5 * g + 2] = p2 >> 2
        d[5 * g + 3] = p3 >> 2
        d[5 * g + 4] = (p0 & 3) | ((p1 & 3) << 2) | ((p2 & 3) << 4) | ((p3 & 3) << 6)
    return seen


@_jit
def _unpack10(s, o):  # type: ignore[no-untyped-def]
    for g in range(o.shape[0] // 4):
        low = np.uint16(s[5 * g + 4])
        o[4 * g] = (np.uint16(s[5 * g]) << 2) | (low & 3)
        o[4 * g + 1] = (np.uint16(s[5 * g + 1]) << 2) | ((low >> 2) & 3)
        o[4 * g + 2] = (np.uint16(s[5 * g + 2]) << 2) | ((low >> 4) & 3)
        o[4 * g + 3] = (np.uint16(s[5 * g + 3]) << 2) | ((low >> 6) & 3)


@_jit
def _pack12(s, d):  # type: ignore[no-untyped-def]
    seen = 0  # OR of every value: the caller checks the bit depth from it
    for g in range(s.shape[0] // 2):
        p0, p1 = s[2 * g], s[2 * g + 1]
        seen |= p0 | p1
        d[3 * g] = p0 >> 4
        d[3 * g + 1] = p1 >> 4
        d[3 * g + 2] = (p0 & 15) | ((p1 & 15) << 4)
    return seen


@_jit
def _unpack12(s, o):  # type: ignore[no-untyped-def]
    for g in range(o.shape[0] // 2):
        low = np.uint16(s[3 * g + 2])
        o[2 * g] = (np.uint16(s[3 * g]) << 4) | (low & 15)
        o[2 * g + 1] = (np.uint16(s[3 * g + 1]) << 4) | (low >> 4)


@_jit
def _pack14(s, d):  # type: ignore[no-untyped-def]
    seen = 0  # OR of every value: the caller checks the bit depth from it
    for g in range(s.shape[0] // 4):
        p0, p1, p2, p3 = s[4 * g], s[4 * g + 1], s[4 * g + 2], s[4 * g + 3]
        seen |= p0 | p1 | p2 | p3
        d[7 * g] = p0 >> 6
        d[7 * g + 1] = p1 >> 6
        d[7 * g + 2] = p2 >> 6
        d[7 * g + 3] = p3 >> 6
        low = (
            np.uint32(p0 & 63)
            | (np.uint32(p1 & 63) << 6)
            | (np.uint32(p2 & 63) << 12)
            | (np.uint32(p3 & 63) << 18)
        )
        d[7 * g + 4] = low & 255
        d[7 * g + 5] = (low >> 8) & 255
        d[7 * g + 6] = (low >> 16) & 255
    return seen


@_jit
def _unpack14(s, o):  # type: ignore[no-untyped-def]
    for g in range(o.shape[0] // 4):
        low = np.uint32(s[7 * g + 4]) | (np.uint32(s[7 * g + 5]) << 8)
        low |= np.uint32(s[7 * g + 6]) << 16
        o[4 * g] = (np.uint16(s[7 * g]) << 6) | np.uint16(low & 63)
        o[4 * g + 1] = (np.uint16(s[7 * g + 1]) << 6) | np.uint16((low >> 6) & 63)
        o[4 * g + 2] = (np.uint16(s[7 * g + 2]) << 6) | np.uint16((low >> 12) & 63)
        o[4 * g + 3] = (np.uint16(s[7 * g + 3]) << 6) | np.uint16((low >> 18) & 63)


@_jit
def pack_bits_rows(x, out, depth, r0, r1):  # type: ignore[no-untyped-def]
    """Lines ``[r0, r1)`` of ``x (N, W)`` uint16 into ``out (N, W * depth / 8)`` uint8.

    Returns the bitwise OR of every value read, so that the caller can check the bit
    depth without a second pass over the input.
    """
    seen = 0
    for r in range(r0, r1):
        if depth == 10:
            seen |= _pack10(x[r], out[r])
        elif depth == 12:
            seen |= _pack12(x[r], out[r])
        else:
            seen |= _pack14(x[r], out[r])
    return seen


@_jit
def unpack_bits_rows(data, out, depth, r0, r1):  # type: ignore[no-untyped-def]
    """Lines ``[r0, r1)`` of ``data (N, nbytes)`` uint8 into ``out (N, W)`` uint16."""
    for r in range(r0, r1):
        if depth == 10:
            _unpack10(data[r], out[r])
        elif depth == 12:
            _unpack12(data[r], out[r])
        else:
            _unpack14(data[r], out[r])


# --- bilinear demosaic ------------------------------------------------------------------

# Exact scale factors as float32 scalars: float32 sums stay float32, float64 stay float64.
_HALF = np.float32(0.5)
_QUARTER = np.float32(0.25)
_THREE = np.float32(3)


@_jit
def _bilinear_inner(pl, pm, pr, cl, cm, cr, nl, nm, nr, own, g, other, xc):  # type: ignore[no-untyped-def]
    """One inner row, pixel by pixel with contiguous loads and stores (the compiler vectorises it).

    ``cl, cm, cr`` are the row itself shifted by -1, 0, +1 columns, ``p*`` / ``n*`` the
    rows above / below, all of the length of the outputs; index ``x`` is a chroma site
    where ``x + xc`` is even, a green site elsewhere.  ``own`` receives the colour
    sampled at this row's chroma sites, ``other`` the chroma colour of the rows above and
    below.  Every candidate is computed at every pixel and one is selected (no branch),
    which is what lets the loop run on vector registers.  Sums are taken in the order of
    the taps (row-major over the 3x3 window), then scaled by the exact ``1/2`` or ``1/4``.
    """
    for x in range(own.shape[0]):
        here = cm[x]
        row = (cl[x] + cr[x]) * _HALF
        col = (pm[x] + nm[x]) * _HALF
        cross = (((pm[x] + cl[x]) + cr[x]) + nm[x]) * _QUARTER
        diag = (((pl[x] + pr[x]) + nl[x]) + nr[x]) * _QUARTER
        chroma = ((x + xc) & 1) == 0
        own[x] = here if chroma else row
        g[x] = cross if chroma else here
        other[x] = diag if chroma else col


@_jit
def _bilinear_edge(cl, cm, cr, nl, nm, nr, own, g, other, xc):  # type: ignore[no-untyped-def]
    """:func:`_bilinear_inner` for the first or last row, whose only neighbour row is ``n*``:
    the means of the neighbours that exist (3, 2 or 1 of them)."""
    for x in range(own.shape[0]):
        here = cm[x]
        row = (cl[x] + cr[x]) * _HALF
        cross = ((cl[x] + cr[x]) + nm[x]) / _THREE
        diag = (nl[x] + nr[x]) * _HALF
        chroma = ((x + xc) & 1) == 0
        own[x] = here if chroma else row
        g[x] = cross if chroma else here
        other[x] = diag if chroma else nm[x]


@_jit
def _bilinear_pixel(m, out, y, x, oy, ox):  # type: ignore[no-untyped-def]
    """One pixel by the definition: the sample itself, or the mean of the same-colour
    neighbours that exist in its 3x3 window (the border rule)."""
    h, w = m.shape
    for c in range(3):
        s = m[y, x] * 0  # zero of the array's dtype
        k = 0
        own = False
        for yy in range(max(0, y - 1), min(h, y + 2)):
            for xx in range(max(0, x - 1), min(w, x + 2)):
                sy, sx = (yy + oy) & 1, (xx + ox) & 1
                colour = 0 if sy + sx == 0 else (2 if sy + sx == 2 else 1)
                if colour != c:
                    continue
                if yy == y and xx == x:
                    own = True
                s += m[yy, xx]
                k += 1
        out[c, y, x] = m[y, x] if own else s / k


@_jit
def _nonfinite(bits, expo):  # type: ignore[no-untyped-def]
    """Whether a row of floats seen as unsigned ints ``bits`` holds a NaN or an Inf: its
    largest exponent field is all ones (``expo``, the exponent mask of the float type)."""
    acc = bits[0] & expo
    for x in range(1, bits.shape[0]):
        acc = max(acc, bits[x] & expo)  # an integer max: vectorised, no float compare
    return acc == expo


@_jit
def bilinear_rows(m, bits, expo, out, oy, ox, r0, r1):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` (over ``N * H``) of the bilinear demosaic ``out (N, 3, H, W)`` of
    ``m (N, H, W)``; returns whether any of these rows of ``m`` holds a NaN or an Inf.

    ``bits`` is ``m`` seen as unsigned integers of its width and ``expo`` the exponent
    mask of its float type: each row is checked while it is in the cache (the caller
    discards the output and raises when a row is not finite, so no separate pass over
    the input is needed).  ``(oy, ox)`` shifts the pattern onto RGGB: the site of pixel
    ``(y, x)`` is ``((y + oy) % 2, (x + ox) % 2)`` of an RGGB tile.  Columns
    ``1 .. W - 2`` go through the vectorised row loops (as shifted views, so that every
    load is at the loop index); the first and last column through :func:`_bilinear_pixel`.
    """
    h, w = m.shape[1], m.shape[2]
    bad = False
    for r in range(r0, r1):
        n, y = r // h, r % h
        mn, on = m[n], out[n]
        xc = (y + oy + ox + 1) & 1  # inner index x is pixel x + 1: chroma where x + xc is even
        own, other = (0, 2) if ((y + oy) & 1) == 0 else (2, 0)  # R row or B row (RGGB terms)
        c = mn[y]
        o, g, t = on[own, y, 1 : w - 1], on[1, y, 1 : w - 1], on[other, y, 1 : w - 1]
        if y == 0 or y == h - 1:  # first or last row: one neighbour row
            nb = mn[1] if y == 0 else mn[h - 2]
            _bilinear_edge(c[: w - 2], c[1 : w - 1], c[2:], nb[: w - 2], nb[1 : w - 1], nb[2:],
                           o, g, t, xc)  # fmt: skip
        else:
            p, nb = mn[y - 1], mn[y + 1]
            _bilinear_inner(p[: w - 2], p[1 : w - 1], p[2:], c[: w - 2], c[1 : w - 1], c[2:],
                            nb[: w - 2], nb[1 : w - 1], nb[2:], o, g, t, xc)  # fmt: skip
        _bilinear_pixel(mn, on, y, 0, oy, ox)
        _bilinear_pixel(mn, on, y, w - 1, oy, ox)
        bad |= _nonfinite(bits[n, y], expo)
    return bad


# --- Malvar-He-Cutler (2004) ------------------------------------------------------------


@_jit
def _malvar_chroma(a, b, c, d, e, x):  # type: ignore[no-untyped-def]
    """At a red or blue site (padded column ``x``; rows ``a..e`` from two above to two
    below): green (Fig. 2 "G at R/B") and the other chroma colour (diagonal)."""
    cross = (b[x] + d[x]) + (c[x - 1] + c[x + 1])
    far = (a[x] + e[x]) + (c[x - 2] + c[x + 2])
    diag = (b[x - 1] + b[x + 1]) + (d[x - 1] + d[x + 1])
    g = (4.0 * c[x] + 2.0 * cross - far) * 0.125
    other = (6.0 * c[x] + 2.0 * diag - 1.5 * far) * 0.125
    return g, other


@_jit
def _malvar_green(a, b, c, d, e, x):  # type: ignore[no-untyped-def]
    """At a green site: the chroma colour of its row (horizontal neighbours) and the
    one of its column (vertical neighbours)."""
    diag = (b[x - 1] + b[x + 1]) + (d[x - 1] + d[x + 1])
    row = (5.0 * c[x] + 4.0 * (c[x - 1] + c[x + 1]) - (c[x - 2] + c[x + 2]) - diag
           + 0.5 * (a[x] + e[x])) * 0.125  # fmt: skip
    col = (5.0 * c[x] + 4.0 * (b[x] + d[x]) - (a[x] + e[x]) - diag
           + 0.5 * (c[x - 2] + c[x + 2])) * 0.125  # fmt: skip
    return row, col


@_jit
def malvar_rows(p, out, oy, ox, r0, r1):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` (over ``N * H``) of the Malvar demosaic ``out (N, 3, H, W)`` of the
    mosaic padded by two pixels on every side, ``p (N, H + 4, W + 4)``.

    ``(oy, ox)`` as in :func:`bilinear_rows`.  The padding (whole-sample symmetric, which
    keeps the CFA phase) makes every pixel an inner one.
    """
    h, w = out.shape[2], out.shape[3]
    for r in range(r0, r1):
        n, y = r // h, r % h
        a, b, c, d, e = p[n, y], p[n, y + 1], p[n, y + 2], p[n, y + 3], p[n, y + 4]
        red_row = ((y + oy) & 1) == 0  # a row of R sites (in RGGB terms)
        own = out[n, 0, y] if red_row else out[n, 2, y]
        other = out[n, 2, y] if red_row else out[n, 0, y]
        g = out[n, 1, y]
        xc = (y + oy + ox) & 1  # column parity of the chroma sites of this row
        if xc == 1:  # a green site first
            own[0], other[0] = _malvar_green(a, b, c, d, e, 2)
            g[0] = c[2]
        for x in range(xc, w - 1, 2):  # chroma site at x, green site at x + 1
            g[x], other[x] = _malvar_chroma(a, b, c, d, e, x + 2)
            own[x] = c[x + 2]
            own[x + 1], other[x + 1] = _malvar_green(a, b, c, d, e, x + 3)
            g[x + 1] = c[x + 3]
        if xc == 1:  # a chroma site last
            g[w - 1], other[w - 1] = _malvar_chroma(a, b, c, d, e, w + 1)
            own[w - 1] = c[w + 1]
