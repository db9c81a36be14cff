"""The per-pixel ISP chain in one compiled pass (private to ``rawkit.isp``).

:func:`rawkit.isp.process` and :func:`rawkit.isp.unprocess` are compositions of
single-purpose ops; run op by op, a 12 MP image makes one pass over memory per op and
per intermediate image.  Here the per-pixel steps are fused into compiled loops (numba)
that run over bands of rows, so the image is read once and written once:

* forward: levels (integer input), white balance x exposure and clipping on the
  mosaic band (:func:`gain_rows`), then :func:`rawkit.cfa.demosaic_bilinear` on the
  band (in cache), then colour matrix, clipping, smoothstep and the sRGB curve written
  straight into the output (:func:`finish_rows`);
* inverse: sRGB curve, inverse smoothstep, colour matrix, the safe inverse white
  balance x exposure, clipping and mosaicing, pixel by pixel (:func:`unprocess_rows`).

The sRGB curve in both directions is a float32 table (of the exact curve, evaluated
in float64) with linear interpolation between the knee and 1 (:func:`srgb_tables`),
within 1e-6 of the exact curve (tested; interpolation error below 1e-7 even next to
the knee, where the encoding bends most, plus float32 rounding); below the knee the
linear segment is used, above 1 the power law itself.  Everything
else is the same arithmetic as the ops, in float64 inside a pixel and float32 in
memory, so the fused results are within float32 rounding of the op-by-op chain
(tested).  Used only where the pipeline module says (float32, CPU, no autograd, no
lens shading, bilinear demosaic, unbatched parameters, sRGB or linear transfer).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator

import numba
import numpy as np
import torch

from rawkit._tensor import empty_output
from rawkit.cfa import channel_sites, demosaic_bilinear, pack, pattern_after_crop, unpack
from rawkit.isp.camera import CameraModel
from rawkit.isp.levels import normalize_levels
from rawkit.isp.params import ISPParams, _matrix_rows, _total_gains

__all__ = ["fusable", "process_fused", "srgb_tables", "unprocess_fused"]

_jit = numba.njit(nogil=True, cache=True, boundscheck=False)

_L_KNEE = 0.0031308
_V_KNEE = 12.92 * _L_KNEE
#: Intervals of the tables between the knee and 1.  The encoding's curvature peaks at the
#: knee (about 2400), so its table needs 2**16 intervals for an interpolation error of
#: ``h**2 / 8 * 2400 < 1e-7``; the decoding bends at most 3.1 and needs far fewer.
_OETF_N = 1 << 16
_EOTF_N = 1 << 12


def _oetf_exact(x: np.ndarray) -> np.ndarray:
    return np.where(x <= _L_KNEE, 12.92 * x, 1.055 * np.maximum(x, _L_KNEE) ** (1 / 2.4) - 0.055)


def _eotf_exact(v: np.ndarray) -> np.ndarray:
    return np.where(v <= _V_KNEE, v / 12.92, ((np.maximum(v, _V_KNEE) + 0.055) / 1.055) ** 2.4)


@functools.cache
def srgb_tables() -> tuple[np.ndarray, np.ndarray]:
    """The encoding and decoding tables: the exact curves (evaluated in float64, stored
    as float32) on a uniform grid from the knee to 1, ``N + 1`` points each."""
    oetf = _oetf_exact(np.linspace(_L_KNEE, 1.0, _OETF_N + 1)).astype(np.float32)
    eotf = _eotf_exact(np.linspace(_V_KNEE, 1.0, _EOTF_N + 1)).astype(np.float32)
    oetf.flags.writeable = False
    eotf.flags.writeable = False
    return oetf, eotf


@_jit
def _curve(src, dst, t, x0, n, slope, power, scale, offset, wide):  # type: ignore[no-untyped-def]
    """One row through a piecewise sRGB curve: ``slope * v`` up to the knee ``x0``, the
    table ``t`` (``n`` intervals from ``x0`` to 1) up to 1, and, where ``wide`` (some
    value may exceed 1), ``(scale * v + offset) ** power``-type power law above 1.

    The table branch is written without calls or early exits, so the loop compiles to
    vector instructions (gathers from the table); the rare values above 1 are redone
    in a second, scalar loop only when the caller says there may be some.
    """
    k = np.float32(n / (1.0 - x0))
    lo = np.float32(x0)
    for x in range(src.shape[0]):
        v = src[x]
        f = (min(max(v, lo), np.float32(1.0)) - lo) * k
        i = min(np.int32(f), np.int32(n - 1))
        a = t[i]
        y = a + (f - np.float32(i)) * (t[i + 1] - a)
        dst[x] = v * np.float32(slope) if v <= lo else y
    if wide and _largest(src) > 1.0:
        for x in range(src.shape[0]):
            v = src[x]
            if v > 1.0:
                dst[x] = power_law(float(v), power, scale, offset)


@numba.njit(nogil=True, cache=True, boundscheck=False, fastmath=True)
def _largest(src):  # type: ignore[no-untyped-def]
    """The largest value of a row (finite values only: the inputs are checked)."""
    top = src[0]
    for x in range(1, src.shape[0]):
        top = max(top, src[x])
    return top


@_jit
def power_law(v, power, scale, offset):  # type: ignore[no-untyped-def]
    """The curve above 1: ``1.055 v^(1/2.4) - 0.055`` (encode: ``power = 1/2.4``,
    ``scale = 1.055``, ``offset = -0.055``) or ``((v + 0.055) / 1.055)^2.4`` (decode:
    ``power = 2.4``, ``scale = 1 / 1.055``, ``offset = 0.055 / 1.055``)."""
    if power < 1.0:
        return scale * math.exp(power * math.log(v)) + offset
    return math.exp(power * math.log(scale * v + offset))


def encode_row(src: np.ndarray, dst: np.ndarray, wide: bool = True) -> None:
    """``dst = srgb_oetf(src)`` for float32 rows (the table curve; for tests)."""
    _curve(src, dst, srgb_tables()[0], _L_KNEE, _OETF_N, 12.92, 1 / 2.4, 1.055, -0.055, wide)


def decode_row(src: np.ndarray, dst: np.ndarray, wide: bool = True) -> None:
    """``dst = srgb_eotf(src)`` for float32 rows (the table curve; for tests)."""
    _curve(src, dst, srgb_tables()[1], _V_KNEE, _EOTF_N, 1 / 12.92, 2.4, 1 / 1.055,
           0.055 / 1.055, wide)  # fmt: skip


@_jit
def _inverse_smoothstep(y):  # type: ignore[no-untyped-def]
    """As :func:`rawkit.isp.inverse_smoothstep`: the lower branch by the formula that is
    accurate near 0, the upper one by symmetry."""
    low = y <= 0.5
    z = y if low else 1.0 - y
    if z <= 0.0:
        f = 0.0
    else:
        t = (2.0 / 3.0) * math.asin(math.sqrt(z))
        s = math.sin(0.5 * t)
        f = s * s + (math.sqrt(3.0) / 2.0) * math.sin(t)
    return f if low else 1.0 - f


@_jit
def gain_rows(raw, out, a, black, span, gain, clip, r0, r1):  # type: ignore[no-untyped-def]
    """Rows ``[r0, r1)`` of the mosaic ``raw (H, W)`` into ``out`` rows ``[r0 - a, r1 - a)``:
    ``(raw - black) / span`` (levels; ``black = 0, span = 1`` for linear input), times
    the white-balance x exposure gain of the pixel's site, clipped to [0, 1] if ``clip``.

    ``black``, ``span`` and ``gain`` are float32 ``(2, 2)`` per site ``(y % 2, x % 2)``; the
    levels are computed in float32 as :func:`rawkit.isp.normalize_levels` does.
    """
    w = raw.shape[1]
    for y in range(r0, r1):
        src = raw[y]
        dst = out[y - a]
        for dx in range(2):
            b = black[y & 1, dx]
            s = span[y & 1, dx]
            g = gain[y & 1, dx]
            for x in range(dx, w, 2):
                v = ((np.float32(src[x]) - b) / s) * g
                if clip:
                    v = min(max(v, np.float32(0.0)), np.float32(1.0))
                dst[x] = v


@_jit
def _copy(a, out):  # type: ignore[no-untyped-def]
    for x in range(a.shape[0]):
        out[x] = a[x]


@_jit
def _matrix_row(m, a, b, c, oa, ob, oc):  # type: ignore[no-untyped-def]
    """``(oa, ob, oc) = m @ (a, b, c)`` per pixel (float64 sums, float32 rows)."""
    for x in range(a.shape[0]):
        u, v, w = float(a[x]), float(b[x]), float(c[x])
        oa[x] = m[0, 0] * u + m[0, 1] * v + m[0, 2] * w
        ob[x] = m[1, 0] * u + m[1, 1] * v + m[1, 2] * w
        oc[x] = m[2, 0] * u + m[2, 1] * v + m[2, 2] * w


@_jit
def finish_rows(rgb, out, r_out, m, tmp, t, matrix, clip, tone, srgb, n):  # type: ignore[no-untyped-def]
    """Camera RGB rows ``rgb (3, n, W)`` -> sRGB rows ``[r_out, r_out + n)`` of ``out (3, H, W)``:
    colour matrix ``m`` (if ``matrix``), clip to [0, 1] (if ``clip``), smoothstep (if
    ``tone``), sRGB curve (if ``srgb``, else linear).  ``tmp`` is a ``(3, W)`` float32 row
    buffer, ``t`` the encoding table; each step is its own loop over a row in cache, so
    each compiles to vector code.
    """
    for r in range(n):
        if matrix:
            _matrix_row(m, rgb[0, r], rgb[1, r], rgb[2, r], tmp[0], tmp[1], tmp[2])
        else:
            for c in range(3):
                _copy(rgb[c, r], tmp[c])
        if clip:
            for c in range(3):
                row = tmp[c]
                for x in range(row.shape[0]):
                    row[x] = min(max(row[x], np.float32(0.0)), np.float32(1.0))
        if tone:
            for c in range(3):
                row = tmp[c]
                for x in range(row.shape[0]):
                    v = row[x]
                    row[x] = v * v * (np.float32(3.0) - np.float32(2.0) * v)
        for c in range(3):
            if srgb:
                _curve(tmp[c], out[c, r_out + r], t, _L_KNEE, _OETF_N, 12.92, 1 / 2.4, 1.055,
                       -0.055, not clip)  # fmt: skip
            else:
                _copy(tmp[c], out[c, r_out + r])


@_jit
def unprocess_rows(  # type: ignore[no-untyped-def]
    srgb, out, colour, m, tmp, t, matrix, inv_gain, threshold, clip, tone, decode, r0, r1
):
    """Rows ``[r0, r1)`` of the linear mosaic ``out (H, W)`` from sRGB ``(3, H, W)``.

    Per pixel: sRGB curve (if ``decode``), inverse smoothstep (if ``tone``), colour
    matrix ``m`` (if ``matrix``), the safe inverse of white balance x exposure with
    ``inv_gain = 1 / gains`` (Brooks et al. 2019, :func:`rawkit.isp.safe_invert_white_balance`),
    clip to [0, 1] (if ``clip``); only the colour ``colour[y % 2, x % 2]`` of the site is
    written.  ``tmp`` is a ``(6, W)`` float32 row buffer, ``t`` the decoding table.
    """
    w = srgb.shape[2]
    for y in range(r0, r1):
        for c in range(3):
            if decode:
                _curve(srgb[c, y], tmp[c], t, _V_KNEE, _EOTF_N, 1 / 12.92, 2.4, 1 / 1.055,
                       0.055 / 1.055, False)  # fmt: skip
            else:
                _copy(srgb[c, y], tmp[c])
            if tone:
                row = tmp[c]
                for x in range(w):
                    row[x] = _inverse_smoothstep(min(max(float(row[x]), 0.0), 1.0))
        if matrix:
            _matrix_row(m, tmp[0], tmp[1], tmp[2], tmp[3], tmp[4], tmp[5])
            cam = tmp[3:6]
        else:
            cam = tmp[0:3]
        a, b, c = cam[0], cam[1], cam[2]
        dst = out[y]
        for dx in range(2):
            k = colour[y & 1, dx]
            g = inv_gain[k]
            here = cam[k]
            for x in range(dx, w, 2):
                gray = max((float(a[x]) + b[x] + c[x]) / 3.0 - threshold, 0.0) / (1.0 - threshold)
                mask = min(gray * gray, 1.0)
                v = here[x] * max(mask + (1.0 - mask) * g, g)
                if clip:
                    v = min(max(v, 0.0), 1.0)
                dst[x] = v


# --- band runner and entry points ---------------------------------------------------

#: Rows per band: a band's RGB (3 x rows x W float32) stays in L2/L3 for 4000-pixel rows.
_BAND_ROWS = 32


def _bands(fn: Callable[[int, int], None], rows: int) -> None:
    """``fn(r0, r1)`` over bands of :data:`_BAND_ROWS` rows, in the caller's thread.

    One thread on purpose: each band goes through a few Python calls between the compiled
    loops, and with two worker threads on a loaded machine every hand-over of the GIL
    waits for a descheduled thread (a 12 MP render measured 0.47 s on one thread and
    1.6 s on two under load; 0.16-0.3 s on two when the cores were free).
    """
    for r0 in range(0, rows, _BAND_ROWS):
        fn(r0, min(rows, r0 + _BAND_ROWS))


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch's intra-op threads held to one for the fused passes, then restored.

    The passes run in this thread anyway; the few small torch ops between them (the
    demosaic's input check on each band) would otherwise each open an OpenMP region,
    and on a loaded machine every region waits for a descheduled thread (a 12 MP render
    measured 2.4 s at two threads against 0.31 s at one).
    """
    n = torch.get_num_threads()
    if n == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def process_mosaic(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    pattern: str,
    black: np.ndarray,
    span: np.ndarray,
    gain: np.ndarray,
    matrix: np.ndarray | None,
    clip: bool,
    tone: bool,
    srgb: bool,
) -> None:
    """Render one mosaic ``src (H, W)`` (float32, or integer counts with ``black``/``span``)
    into sRGB ``dst (3, H, W)`` float32; per-site arrays are ``(2, 2)`` float32."""
    h, w = src.shape
    table = srgb_tables()[0]
    m = np.eye(3) if matrix is None else matrix
    buf = np.empty((_BAND_ROWS + 4, w), np.float32)  # one band of the balanced mosaic
    tmp = np.empty((3, w), np.float32)

    def band(r0: int, r1: int) -> None:
        # Rows of context each side: bilinear needs one, demosaic wants an even count.
        a, b = max(0, r0 - 2), min(h, r1 + 2)
        gain_rows(src, buf, a, black, span, gain, clip, a, b)
        band_pattern = pattern_after_crop(pattern, top=a, left=0)
        rgb = demosaic_bilinear(buf[None, : b - a], pattern=band_pattern)
        finish_rows(rgb[:, r0 - a :], dst, r0, m, tmp, table, matrix is not None, clip, tone,
                    srgb, r1 - r0)  # fmt: skip

    _bands(band, h)


def unprocess_mosaic(
    src: np.ndarray,
    dst: np.ndarray,
    *,
    colour: np.ndarray,
    matrix: np.ndarray | None,
    inv_gain: np.ndarray,
    threshold: float,
    clip: bool,
    tone: bool,
    decode: bool,
) -> None:
    """Unprocess one sRGB image ``src (3, H, W)`` float32 into the linear mosaic
    ``dst (H, W)``; ``colour`` ``(2, 2)`` is the colour index at each site, ``inv_gain``
    ``(3,)`` float64."""
    h, w = src.shape[1:]
    table = srgb_tables()[1]
    m = np.eye(3) if matrix is None else matrix
    tmp = np.empty((6, w), np.float32)

    def band(r0: int, r1: int) -> None:
        unprocess_rows(src, dst, colour, m, tmp, table, matrix is not None, inv_gain, threshold,
                       clip, tone, decode, r0, r1)  # fmt: skip

    _bands(band, h)


# --- when the fused chain serves a call, and its parameters -------------------------------


def fusable(x: torch.Tensor, params: ISPParams, layout: str) -> bool:
    """Whether the fused chain gives the op-by-op result (to float32 rounding) for ``x``.

    CPU, no autograd graph, float32 (or integer counts, forward only), a mosaic or
    packed RAW, bilinear demosaic, no lens shading (its gain depends on the position in
    the whole frame), unbatched parameters, the sRGB or linear transfer.
    """
    if x.device.type != "cpu" or layout not in ("mosaic", "packed"):
        return False
    tensors = (x, params.wb_gains, params.xyz_to_cam)
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    return (
        (x.dtype == torch.float32 or not x.is_floating_point())
        and params.demosaic == "bilinear"
        and params.lens_shading == 0
        and params.wb_gains.ndim == 1
        and params.xyz_to_cam.ndim == 2
        and params.transfer in ("srgb", "linear")
    )


def _sites(pattern: str, per_channel: list[float]) -> np.ndarray:
    """``(2, 2)`` float32: the value of each site's packed channel ``[R, Gr, Gb, B]``."""
    out = np.zeros((2, 2), np.float32)
    for k, (dy, dx) in enumerate(channel_sites(pattern)):
        out[dy, dx] = per_channel[k]
    return out


def process_fused(
    raw: torch.Tensor, camera: CameraModel, params: ISPParams, convention: str, layout: str
) -> torch.Tensor:
    """:func:`rawkit.isp.process` of a checked ``raw`` where :func:`fusable` holds."""
    pattern = camera.pattern
    if layout == "packed":
        raw = unpack(raw, pattern=pattern)
    *batch, _, h, w = raw.shape
    if raw.is_floating_point():
        black, span = _sites(pattern, [0.0] * 4), _sites(pattern, [1.0] * 4)
    else:
        counts = raw.detach().numpy()  # NumPy's min/max cover every integer dtype
        if counts.size and (counts.min() < 0 or counts.max() > camera.white_level):
            normalize_levels(raw, black_level=camera.black_level, white_level=camera.white_level)
        b = camera.black_level
        per = list(b) if isinstance(b, tuple) else [float(b)] * 4
        black = _sites(pattern, per)
        span = _sites(pattern, [camera.white_level - v for v in per])
    g = _total_gains(params, torch.empty(0, dtype=torch.float32)).tolist()  # as the ops have them
    gain = _sites(pattern, [g[0], g[1], g[1], g[2]])
    matrix = None
    if params.color_correction:
        matrix = np.array(_matrix_rows(params, convention, inverse=True), np.float64)
    kw = dict(pattern=pattern, black=black, span=span, gain=gain, matrix=matrix,
              clip=params.clip, tone=params.tone, srgb=params.transfer == "srgb")  # fmt: skip
    src = raw.detach().reshape(-1, h, w).numpy()
    out = empty_output((*batch, 3, h, w), like=raw, dtype=torch.float32)
    dst = out.detach().view(-1, 3, h, w).numpy()
    with _one_thread():
        for i in range(src.shape[0]):
            process_mosaic(src[i], dst[i], **kw)  # type: ignore[arg-type]
    return out


def unprocess_fused(
    srgb: torch.Tensor, camera: CameraModel, params: ISPParams, convention: str, layout: str
) -> torch.Tensor:
    """:func:`rawkit.isp.unprocess`'s RAW for a checked ``srgb`` where :func:`fusable` holds."""
    pattern = camera.pattern
    *batch, _, h, w = srgb.shape
    colour = np.array([["RGB".index(pattern[2 * dy + dx]) for dx in range(2)] for dy in range(2)])
    g = _total_gains(params, torch.empty(0, dtype=torch.float32))
    matrix = None
    if params.color_correction:
        matrix = np.array(_matrix_rows(params, convention, inverse=False), np.float64)
    kw = dict(colour=colour, matrix=matrix, inv_gain=(1.0 / g).double().numpy(),
              threshold=params.safe_gain_threshold, clip=params.clip, tone=params.tone,
              decode=params.transfer == "srgb")  # fmt: skip
    src = srgb.detach().reshape(-1, 3, h, w).numpy()
    out = empty_output((*batch, 1, h, w), like=srgb, dtype=torch.float32)
    dst = out.detach().view(-1, h, w).numpy()
    with _one_thread():
        for i in range(src.shape[0]):
            unprocess_mosaic(src[i], dst[i], **kw)  # type: ignore[arg-type]
    return pack(out, pattern=pattern) if layout == "packed" else out
