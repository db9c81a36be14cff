"""Compiled CPU loops of ``rawkit.cfa`` (numba; private to this package).

Layout moves (pack/unpack), MIPI bit-packing and the bilinear demosaic are memory
bound: a fused loop that reads each input byte once and writes each output byte once
runs at the speed of ``np.copy``, which chains of strided torch ops cannot reach (each
op is one more pass over memory, and torch's strided copies do not vectorise).  These
loops are those single passes.  They run on one thread: a memory-bound pass gains
little from a second one (neither does ``np.copy`` or OpenCV's Bayer conversion), and
worker threads only lose time when other processes share the cores.  Every kernel
works on a range of rows ``[r0, r1)`` and releases the GIL, so a caller may still
split the rows over threads; numba's own thread pool is not used.

Arrays come in as NumPy views of torch tensors (no copy).  Layout kernels see the
values as unsigned integers of the same width, so they move the bits of any dtype
exactly (float32 as uint32, float16/bfloat16 as uint16, ...).  ``cache=True`` keeps
the compiled code on disk after the first call of a process.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = [
    "bilinear_rows",
    "pack_bits_rows",
    "pack_rows",
    "unpack_bits_rows",
    "unpack_rows",
]

_jit = numba.njit(nogil=True, cache=True, boundscheck=False)


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


@_jit
def _bilinear_pairs(p, c, n, own, g, other, x0, x1):  # type: ignore[no-untyped-def]
    """One inner row: chroma sites at ``x = x0, x0 + 2, ... < x1``, green sites at ``x + 1``.

    ``own`` is the colour sampled at the chroma sites of this row, ``other`` the
    chroma colour of the rows above and below; ``p``, ``c``, ``n`` are the rows
    above, here and below.  Sums are taken in the order of the taps (row-major over
    the 3x3 window), then scaled by the exact power of two ``1/n``.
    """
    for x in range(x0, x1, 2):
        own[x] = c[x]
        g[x] = (((p[x] + c[x - 1]) + c[x + 1]) + n[x]) * 0.25
        other[x] = (((p[x - 1] + p[x + 1]) + n[x - 1]) + n[x + 1]) * 0.25
        y = x + 1
        own[y] = (c[y - 1] + c[y + 1]) * 0.5
        g[y] = c[y]
        other[y] = (p[y] + n[y]) * 0.5


@_jit
def _bilinear_edge_pairs(c, n, own, g, other, x0, x1):  # type: ignore[no-untyped-def]
    """:func:`_bilinear_pairs` for the first or last row, whose only neighbour row is ``n``:
    the means of the neighbours that exist (3, 2 or 1 of them)."""
    for x in range(x0, x1, 2):
        own[x] = c[x]
        g[x] = ((c[x - 1] + c[x + 1]) + n[x]) / 3
        other[x] = (n[x - 1] + n[x + 1]) * 0.5
        y = x + 1
        own[y] = (c[y - 1] + c[y + 1]) * 0.5
        g[y] = c[y]
        other[y] = n[y]


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
def bilinear_rows(m, out, oy, ox, r0, r1):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` (over ``N * H``) of the bilinear demosaic ``out (N, 3, H, W)`` of
    ``m (N, H, W)``.

    ``(oy, ox)`` shifts the pattern onto RGGB: the site of pixel ``(y, x)`` is
    ``((y + oy) % 2, (x + ox) % 2)`` of an RGGB tile.  Inner pixels go through the
    vectorised pair loop; the one-pixel frame through :func:`_bilinear_pixel`.
    """
    h, w = m.shape[1], m.shape[2]
    for r in range(r0, r1):
        n, y = r // h, r % h
        mn, on = m[n], out[n]
        x0 = 1 if ((y + oy + ox) & 1) == 1 else 2  # first inner chroma column
        x1 = w - 2  # a pair (x, x + 1) is inner when x + 1 <= w - 2
        own, other = (0, 2) if ((y + oy) & 1) == 0 else (2, 0)  # R row or B row (RGGB terms)
        if y == 0 or y == h - 1:  # first or last row: one neighbour row
            nb = mn[1] if y == 0 else mn[h - 2]
            _bilinear_edge_pairs(mn[y], nb, on[own, y], on[1, y], on[other, y], x0, x1)
        else:
            _bilinear_pairs(mn[y - 1], mn[y], mn[y + 1], on[own, y], on[1, y], on[other, y], x0, x1)
        for x in range(0, x0):
            _bilinear_pixel(mn, on, y, x, oy, ox)
        for x in range(x0 + 2 * ((x1 - x0 + 1) // 2), w):
            _bilinear_pixel(mn, on, y, x, oy, ox)


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
