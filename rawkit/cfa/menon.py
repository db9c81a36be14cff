"""DDFAPD demosaicing: directional filtering and a-posteriori decision (Menon 2007).

Reference: D. Menon, S. Andriani and G. Calvagno, "Demosaicing With Directional
Filtering and a posteriori Decision", IEEE Trans. Image Processing 16(1), 132-141,
2007, doi:10.1109/TIP.2006.884928.

The algorithm, step by step (each step is one small function below):

1. **Directional green** (``_green_along``): at every red and blue site, green is
   interpolated twice, along the row and along the column, with the 5-tap filters
   ``h0 = [0, 1/2, 0, 1/2, 0]`` applied to the green neighbours plus
   ``h1 = [-1/4, 0, 1/2, 0, -1/4]`` applied to the site's own colour (a Laplacian
   correction).
2. **Classifier** (``_classifier``): the colour differences ``C = R - G`` (or
   ``B - G``) of each direction are differentiated along that direction, and the
   absolute gradients are summed over a 5x5 window (weights 1, 3, 1; diagonal
   neighbours of the other colour weigh 1).
3. **A-posteriori decision**: the direction with the smaller summed gradient wins
   (ties go to the horizontal one) and its green estimate is kept.
4. **Red and blue** (``_from_difference``): at green sites from the two
   neighbours along the row or column that carry the colour, at red/blue sites along
   the decided direction, each time as ``G + mean(colour) - mean(G)``.
5. **Refining** (optional): green at red/blue sites is re-estimated from the
   3-tap mean of ``R - G`` (``B - G``) along the decided direction, then red and blue
   at green sites from the updated differences, then red (blue) at blue (red) sites
   from the 3-tap mean of ``R - B``.

Conventions:

* **Borders** are handled by whole-sample symmetric reflection (``d c b | a b c d``,
  torch ``F.pad(mode="reflect")``, scipy ``mode="mirror"``) of every intermediate
  quantity.  A reflection about a pixel keeps the parity of every coordinate, so the
  Bayer phase is preserved and the result equals DDFAPD run on the infinite
  symmetric extension of the mosaic; a constant mosaic gives exactly that constant
  everywhere.  The filters reflect two pixels, hence the minimum size of 4x4.
* **Agreement with colour-demosaicing** (``demosaicing_CFA_Bayer_Menon2007``, 0.2.x):
  every sum is evaluated in the same order as there, so in float64 the interior is
  *equal bit for bit* (measured on x86-64; a platform whose scipy fuses
  multiply-adds could flip a few exact decision ties).  Near the border they
  differ: colour-demosaicing already filters with whole-sample reflection (its Menon
  keeps the Bayer phase, unlike its issue #8 about other methods), but pads the
  classifier's 5x5 window sum with zeros (``mode="constant"``), which drops the
  gradients beyond the border.  That changes decisions only in the outer 2 rows
  and columns (the window reaches 2 pixels); each later step reaches one pixel
  further, so the outputs differ only in the outer 4 rows and columns without the
  refining step and the outer 6 with it: crop that margin and they are identical.
  colour-demosaicing run on the mosaic padded by 8 pixels with
  ``numpy.pad(mode="reflect")`` and cropped back equals this function everywhere,
  borders included.  float32 input is
  computed in float32 (colour-demosaicing always uses float64): rounding then flips
  the odd near-tie decision (about one pixel per million on a noise mosaic), which
  changes a few outputs by up to the local contrast.
* **Values** are whatever the mosaic holds (no range is assumed); the output is not
  clipped and may leave the input's range near edges (the Laplacian correction
  overshoots).  The sampled values are kept: at every site the colour its filter
  passes equals the input, with or without the refining step.
* **Gradients**: the decision is a hard selection, so the output is piecewise linear
  in the mosaic; gradients flow through the chosen direction only and are undefined
  exactly at ties of the classifier (or zero colour-difference gradients).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from rawkit._checks import (
    check_bool,
    check_dtype,
    check_even_hw,
    check_finite,
    check_shape,
    check_tensor_like,
)
from rawkit._tensor import Array, empty_output, numpy_compat, to_tensor
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern

__all__ = ["demosaic_menon"]

#: Reflection width of every padded working buffer (the 5-tap filters reach 2 pixels).
_PAD = 2
#: Smallest height/width: a whole-sample reflection of 2 pixels needs 3, Bayer needs even.
_MIN_SIZE = 4

Site = tuple[int, int]
Neighbour = Callable[[int], torch.Tensor]

#: Classifier taps ``(dy, dx, weight)`` on ``|C(p) - C(p + 2)|``, in the summation order
#: of colour-demosaicing (scipy's ``convolve`` with its 5x5 kernel and the transpose).
_TAPS_H: tuple[tuple[int, int, int], ...] = (
    (-2, -2, 1), (-2, 0, 1), (-1, -1, 1), (0, -2, 3), (0, 0, 3), (1, -1, 1), (2, -2, 1), (2, 0, 1),
)  # fmt: skip
_TAPS_V: tuple[tuple[int, int, int], ...] = (
    (-2, -2, 1), (-2, 0, 3), (-2, 2, 1), (-1, -1, 1), (-1, 1, 1), (0, -2, 1), (0, 0, 3), (0, 2, 1),
)  # fmt: skip


@dataclass(frozen=True)
class _Grid:
    """Geometry of ``(N, C, H + 4, W + 4)`` buffers padded by ``_PAD`` on each side."""

    h: int
    w: int

    def new(self, like: torch.Tensor, channels: int = 1) -> torch.Tensor:
        """An uninitialised padded buffer on ``like``'s device and dtype."""
        shape = (like.shape[0], channels, self.h + 2 * _PAD, self.w + 2 * _PAD)
        return empty_output(shape, like=like)

    def at(self, buf: torch.Tensor, site: Site, dy: int = 0, dx: int = 0) -> torch.Tensor:
        """View ``(N, C, H/2, W/2)`` of pixels ``(y + dy, x + dx)`` for all ``(y, x)`` of a site."""
        y0, x0 = _PAD + site[0] + dy, _PAD + site[1] + dx
        return buf[..., y0 : y0 + self.h - 1 : 2, x0 : x0 + self.w - 1 : 2]

    def along(self, buf: torch.Tensor, site: Site, vertical: bool) -> Neighbour:
        """``k -> at(buf, site, ...)`` offset by ``k`` pixels down a column or along a row."""
        if vertical:
            return lambda k: self.at(buf, site, k, 0)
        return lambda k: self.at(buf, site, 0, k)

    def reflect_(self, buf: torch.Tensor) -> torch.Tensor:
        """Fill the padding of ``buf`` in place by whole-sample reflection of its interior."""
        p, h, w = _PAD, self.h, self.w
        for k in range(1, p + 1):  # rows first (interior columns), then whole columns
            buf[..., p - k, p : p + w] = buf[..., p + k, p : p + w]
            buf[..., p + h - 1 + k, p : p + w] = buf[..., p + h - 1 - k, p : p + w]
        for k in range(1, p + 1):
            buf[..., :, p - k] = buf[..., :, p + k]
            buf[..., :, p + w - 1 + k] = buf[..., :, p + w - 1 - k]
        return buf


def _mean2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The two-neighbour mean ``[1/2, 0, 1/2]``."""
    return (a + b) * 0.5


def _mean3(x: Neighbour) -> torch.Tensor:
    """The 3-tap mean ``[1/3, 1/3, 1/3]`` of the refining step."""
    third = 1.0 / 3.0
    return x(0) * third + (x(-1) + x(1)) * third


def _green_along(x: Neighbour) -> torch.Tensor:
    """Directional green at a red/blue site: ``h0`` on the greens plus ``h1`` on the site.

    ``x(k)`` is the mosaic ``k`` pixels away along the direction (``x(+-1)`` green).
    """
    h0 = _mean2(x(-1), x(1))
    h1 = x(0) * 0.5 + (x(-2) + x(2)) * -0.25
    return h0 + h1


def _from_difference(base: torch.Tensor, c: Neighbour, base_n: Neighbour) -> torch.Tensor:
    """Missing colour ``c`` at a site from the difference ``c - base`` of its two neighbours.

    ``base + mean(c) - mean(base)`` over the neighbours ``+-1`` along one direction;
    ``base`` is green at green sites and the site's own colour at red/blue sites.
    """
    return base + _mean2(c(-1), c(1)) - _mean2(base_n(-1), base_n(1))


def _classifier(d: torch.Tensor, grid: _Grid, site: Site, *, vertical: bool) -> torch.Tensor:
    """Summed colour-difference gradients of one direction at the pixels of ``site``.

    ``d`` holds ``|C(p) - C(p + 2)|`` along the direction at every pixel ``p`` (and two
    pixels before the start).  The window covers ``C`` two pixels either side, its
    three rows (columns) weighted 1, 3, 1, plus the two diagonal neighbours.
    """
    taps = _TAPS_V if vertical else _TAPS_H
    terms = [
        grid.at(d, site, dy, dx) * float(wt) if wt != 1 else grid.at(d, site, dy, dx)
        for dy, dx, wt in taps
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _check_mosaic(mosaic: Array) -> None:
    check_tensor_like(mosaic, "mosaic")
    check_shape(mosaic, ["*", "1", "H", "W"], "mosaic")
    check_even_hw(mosaic, "mosaic")
    check_dtype(mosaic, ["float"], "mosaic")
    h, w = mosaic.shape[-2:]
    if h < _MIN_SIZE or w < _MIN_SIZE:
        raise ValueError(
            f"mosaic: DDFAPD needs H and W >= {_MIN_SIZE} (its filters reflect 2 pixels "
            f"at the border), got H={h}, W={w}"
        )


@numpy_compat
def demosaic_menon(mosaic: Array, *, pattern: Pattern, refining_step: bool = True) -> Array:
    r"""Demosaic a Bayer mosaic with DDFAPD (Menon, Andriani & Calvagno, 2007).

    Directional filtering and a-posteriori decision: green is interpolated along rows
    and along columns, a classifier on the colour-difference gradients summed over a
    5x5 window keeps the direction that varies less, red and blue follow from the
    colour differences, and an optional refining step re-estimates all three along the
    decided direction.  See the module docstring for the steps, the border convention
    (whole-sample reflection, phase-correct: a constant mosaic stays constant) and
    the agreement with colour-demosaicing (bit for bit in float64 except in the
    outer 4 rows and columns, 6 with the refining step, where colour-demosaicing
    zero-pads its classifier).

    Args:
        mosaic: ``(*, 1, H, W)`` floating Bayer mosaic, any value range (nothing is
            rescaled), finite, ``H`` and ``W`` even and at least 4.
        pattern: its Bayer pattern, one of ``"RGGB" "GRBG" "GBRG" "BGGR"``.
        refining_step: run the paper's refining step (default ``True``, as the paper
            and colour-demosaicing).

    Returns:
        RGB ``(*, 3, H, W)``, same dtype and device as ``mosaic``.  Not clipped: values
        can overshoot the input's range near edges.  The input sample is kept at
        every site (the colour its filter passes).  Differentiable almost everywhere:
        the directional decision is a hard selection, so gradients flow through the
        chosen direction only (the map is piecewise linear, with kinks at decision
        ties and at zero colour-difference gradients).

    Raises:
        TypeError: ``mosaic`` is not an array or not floating point; ``pattern`` is
            not a string.
        ValueError: wrong shape, odd ``H``/``W``, ``H`` or ``W`` below 4, NaN/Inf
            values, unknown ``pattern``.

    Example:
        >>> import torch
        >>> m = torch.full((1, 4, 4), 0.25, dtype=torch.float64)
        >>> rgb = demosaic_menon(m, pattern="GRBG")
        >>> tuple(rgb.shape), bool((rgb == 0.25).all())
        ((3, 4, 4), True)
    """
    check_bool(refining_step, "refining_step")
    _check_mosaic(mosaic)
    check_pattern(pattern)
    t = mosaic if isinstance(mosaic, torch.Tensor) else to_tensor(mosaic)
    check_finite(t, "mosaic")
    *batch, _, h, w = t.shape
    m = t.reshape(-1, 1, h, w)
    out = empty_output((m.shape[0], 3, h, w), like=m)
    if m.shape[0]:
        out.copy_(_ddfapd(m, pattern, refining_step))
    return out.reshape(*batch, 3, h, w)


def _ddfapd(m: torch.Tensor, pattern: Pattern, refining_step: bool) -> torch.Tensor:
    """DDFAPD on ``(N, 1, H, W)``; returns the interior view of a padded RGB buffer."""
    grid = _Grid(m.shape[-2], m.shape[-1])
    at, along = grid.at, grid.along
    r, _, _, b = channel_sites(pattern)
    gr = (r[0], b[1])  # green on red rows: red left/right, blue above/below
    gb = (b[0], r[1])  # green on blue rows: blue left/right, red above/below
    mp = grid.new(m)
    mp[..., _PAD:-_PAD, _PAD:-_PAD] = m
    grid.reflect_(mp)

    # 1. Directional green at the red and blue sites.
    g_h = {s: _green_along(along(mp, s, vertical=False)) for s in (r, b)}
    g_v = {s: _green_along(along(mp, s, vertical=True)) for s in (r, b)}

    # 2. Classifier on the colour differences of each direction.
    d_h = _summed_gradients(mp, g_h, grid, (r, gr, gb, b), vertical=False)
    d_v = _summed_gradients(mp, g_v, grid, (r, gr, gb, b), vertical=True)

    # 3. A-posteriori decision (ties go to the horizontal estimate).
    horizontal = {s: d_v[s] >= d_h[s] for s in (r, b)}
    rgb = grid.new(m, channels=3)
    rp, gp, bp = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    for s in (gr, gb):
        at(gp, s).copy_(at(mp, s))
    for s in (r, b):
        at(gp, s).copy_(torch.where(horizontal[s], g_h[s], g_v[s]))
    grid.reflect_(gp)

    # 4. Red and blue: first at the green sites, then at the blue (red) sites.
    at(rp, r).copy_(at(mp, r))
    at(bp, b).copy_(at(mp, b))
    for cp, s_row, s_col in ((rp, gr, gb), (bp, gb, gr)):
        for s, vertical in ((s_row, False), (s_col, True)):
            est = _from_difference(at(gp, s), along(mp, s, vertical), along(gp, s, vertical))
            at(cp, s).copy_(est)
    grid.reflect_(rp)
    grid.reflect_(bp)
    for cp, op, s in ((rp, bp, b), (bp, rp, r)):  # red at blue sites, blue at red sites
        est_h = _from_difference(at(mp, s), along(cp, s, False), along(op, s, False))
        est_v = _from_difference(at(mp, s), along(cp, s, True), along(op, s, True))
        at(cp, s).copy_(torch.where(horizontal[s], est_h, est_v))

    if refining_step:
        grid.reflect_(rp)
        grid.reflect_(bp)
        _refine(rp, gp, bp, mp, grid, horizontal, sites=(r, gr, gb, b))
    return rgb[..., _PAD:-_PAD, _PAD:-_PAD]


def _summed_gradients(
    mp: torch.Tensor,
    g_dir: dict[Site, torch.Tensor],
    grid: _Grid,
    sites: tuple[Site, Site, Site, Site],
    *,
    vertical: bool,
) -> dict[Site, torch.Tensor]:
    """Classifier input of one direction at the red and blue sites.

    The colour difference ``C = mosaic - G_dir`` is zero at green sites; its absolute
    difference two pixels apart along the direction goes to :func:`_classifier`.
    """
    r, gr, gb, b = sites
    c = grid.new(mp)
    for s in (gr, gb):
        grid.at(c, s).zero_()
    for s in (r, b):
        grid.at(c, s).copy_(grid.at(mp, s) - g_dir[s])
    grid.reflect_(c)
    d = (c[..., :-2, :] - c[..., 2:, :]) if vertical else (c[..., :-2] - c[..., 2:])
    d = d.abs()  # row (column) p holds |C(p) - C(p + 2)|, p from -2
    return {s: _classifier(d, grid, s, vertical=vertical) for s in (r, b)}


def _refine(
    rp: torch.Tensor,
    gp: torch.Tensor,
    bp: torch.Tensor,
    mp: torch.Tensor,
    grid: _Grid,
    horizontal: dict[Site, torch.Tensor],
    *,
    sites: tuple[Site, Site, Site, Site],
) -> None:
    """The refining step, in place on the padded planes (borders reflected on entry)."""
    at, along = grid.at, grid.along
    r, gr, gb, b = sites

    def decided(buf: torch.Tensor, s: Site) -> torch.Tensor:
        """3-tap mean of ``buf`` at ``s`` along the decided direction."""
        mean_h = _mean3(along(buf, s, vertical=False))
        mean_v = _mean3(along(buf, s, vertical=True))
        return torch.where(horizontal[s], mean_h, mean_v)

    # Green at red (blue) sites from the mean of R - G (B - G), both taken before updating.
    diffs = [(cp - gp, s) for cp, s in ((rp, r), (bp, b))]
    for diff, s in diffs:
        at(gp, s).copy_(at(mp, s) - decided(diff, s))
    del diffs
    grid.reflect_(gp)

    # Red and blue at green sites from the updated differences of the two neighbours.
    for cp, s_row, s_col in ((rp, gr, gb), (bp, gb, gr)):
        for s, vertical in ((s_col, True), (s_row, False)):
            c, g = along(cp, s, vertical), along(gp, s, vertical)
            at(cp, s).copy_(at(gp, s) + _mean2(c(-1) - g(-1), c(1) - g(1)))
    grid.reflect_(rp)
    grid.reflect_(bp)

    # Red (blue) at blue (red) sites from the mean of R - B.
    r_minus_b = rp - bp
    at(rp, b).copy_(at(mp, b) + decided(r_minus_b, b))
    at(bp, r).copy_(at(mp, r) - decided(r_minus_b, r))
