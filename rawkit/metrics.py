"""Image quality metrics: PSNR, SSIM, MS-SSIM, AIM 2022 scoring and error maps.

Layout ``(*, C, H, W)``: every metric is computed per image over ``(C, H, W)`` and
returns one value per leading index, shape ``(*,)``.  NumPy in -> NumPy out.

**Scale.** ``data_range`` (the distance between the smallest and largest value the
data can take, e.g. ``1.0`` for normalised RAW, ``1023`` for 10-bit integers) is a
required keyword: nothing is guessed from the dtype and nothing is rescaled or
clipped.

**Dtypes.** ``float32`` and ``float64`` are computed in their own precision (the
wider of the two when they differ); ``float16``/``bfloat16`` are computed in
``float32``; integer inputs are computed in ``float64``.  Bool and complex raise
``TypeError``; NaN/Inf raise ``ValueError``.

**Two SSIM conventions.** :func:`ssim` follows Wang et al. (2004) as scikit-image
implements it (``gaussian_weights=True, use_sample_covariance=False``): an
11x11 Gaussian window of sigma 1.5 (radius ``int(3.5 * 1.5 + 0.5) = 5``), local
statistics filtered *same-size* with half-sample symmetric padding (scipy's
``mode='reflect'``: ``d c b a | a b c d | d c b a``), then a crop of
``(11 - 1) // 2 = 5`` pixels on each side before averaging.  :func:`ms_ssim`
follows ``pytorch_msssim`` (Wang, Simoncelli & Bovik 2003 as implemented there): the
same window applied as a *valid* convolution (no padding), so the SSIM/contrast
maps are smaller than the image.  For the mean of one scale the two conventions
coincide (the 5-pixel crop removes exactly the pixels whose window reaches the
padding), so ``ssim`` also equals ``pytorch_msssim.ssim``; they part ways in the
full map (:func:`ssim_map` keeps the padded border), with any window wider than
the crop (the AIM 2022 scorer, below), and in what MS-SSIM adds: the ReLU of the
contrast-structure terms, the 2x2 average pooling between scales (zero padding
counted for odd sizes) and the five-scale weighting.

References:
    Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality
    assessment: from error visibility to structural similarity", IEEE TIP 13(4), 2004.
    Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for
    image quality assessment", Asilomar 2003.
    M. V. Conde et al., "Reversed Image Signal Processing and RAW Reconstruction.
    AIM 2022 Challenge Report", ECCVW 2022 (``scoring/evaluation.py`` of its code).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from rawkit._checks import (
    check_bool,
    check_choice,
    check_dtype,
    check_finite,
    check_number,
    check_tensor_like,
)
from rawkit._ssim import (
    CROP,
    RADIUS,
    as_tensor,
    check_data_range,
    check_min_size,
    compute_dtype,
    crop,
    masked_mean,
    prepare_mask,
    prepare_pair,
    ssim_cs_maps,
)
from rawkit._tensor import Array, numpy_compat, to_tensor

__all__ = [
    "AIM22Score",
    "ImageScore",
    "MS_SSIM_WEIGHTS",
    "aim22_score",
    "error_map",
    "gamma_preview",
    "ms_ssim",
    "psnr",
    "ssim",
    "ssim_map",
]

#: Scale weights of MS-SSIM (Wang et al. 2003; also pytorch_msssim's default).
MS_SSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_AIM22_RADIUS = 6  # scipy's default truncate = 4.0 -> 13 taps (the challenge's myssim)
_AIM22_WHITE = 1024  # AIM22 .npy files hold uint16 RAW values in [0, 1024]
_AIM22_IDENTICAL_PSNR = 999.0  # what the challenge's scorer reports when MSE == 0


# ---------------------------------------------------------------------------- metrics


@numpy_compat
def psnr(x: Array, y: Array, *, data_range: float, mask: Array | None = None) -> Array:
    r"""Peak signal-to-noise ratio per image, :math:`10 \log_{10}(R^2 / \mathrm{MSE})`.

    The MSE is the mean over ``(C, H, W)`` of each image, or with ``mask`` the
    weighted mean ``sum(m * (x - y)**2) / sum(m)`` (a ``(*, 1, H, W)`` mask weighs
    every channel of its pixel).

    Args:
        x: ``(*, C, H, W)`` image, any value range.
        y: ``(*, C, H, W)`` image of the same shape.
        data_range: ``R``, the peak-to-peak range of the data (``1.0`` for [0, 1]).
        mask: optional weights ``>= 0`` of shape ``(*, 1, H, W)`` or ``(*, C, H, W)``
            (bool, integer or float), e.g. a confidence or overexposure mask.

    Returns:
        PSNR in dB, shape ``(*,)``.  Identical images give ``+inf`` (MSE = 0), as in
        scikit-image; an image whose mask weight is all zero gives ``nan`` (no pixel
        to measure).

    Raises:
        ValueError: shapes differ, fewer than 3 dims, an empty image (``C``, ``H`` or
            ``W`` of 0), NaN/Inf, ``data_range <= 0``, bad mask shape or negative mask weights.
        TypeError: not an array, bool/complex dtype, ``data_range`` not a number.

    Example:
        >>> import numpy as np
        >>> x = np.zeros((1, 4, 4))
        >>> round(float(psnr(x, x + 0.1, data_range=1.0)), 4)
        20.0
    """
    r = check_data_range(data_range)
    x, y = prepare_pair(x, y)
    err = (x - y) ** 2
    if mask is None:
        mse = err.mean(dim=(-3, -2, -1))
    else:
        mse = masked_mean(err, prepare_mask(mask, x), (-3, -2, -1), float("nan"))
    return 10 * torch.log10(r * r / mse)


@numpy_compat
def ssim_map(x: Array, y: Array, *, data_range: float) -> Array:
    """Local SSIM of Wang et al. (2004) at every pixel, borders included.

    The map scikit-image returns with ``full=True, gaussian_weights=True,
    use_sample_covariance=False``: Gaussian window of sigma 1.5 with 11 taps,
    half-sample symmetric padding, population (co)variances, ``K1 = 0.01``,
    ``K2 = 0.03``.  Its ``5``-pixel border depends on the padding; :func:`ssim`
    crops it before averaging.

    Args:
        x: ``(*, C, H, W)`` image, ``H, W >= 11``.
        y: ``(*, C, H, W)`` image of the same shape.
        data_range: peak-to-peak range of the data.

    Returns:
        ``(*, C, H, W)`` map in ``[-1, 1]``; differentiable.

    Raises:
        ValueError: shapes differ, image smaller than 11x11, NaN/Inf, ``data_range <= 0``.
        TypeError: not an array, bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(0, 1, 3 * 12 * 12).reshape(3, 12, 12)
        >>> ssim_map(x, x, data_range=1.0).shape
        (3, 12, 12)
    """
    r = check_data_range(data_range)
    x, y = prepare_pair(x, y)
    check_min_size(x, 2 * RADIUS + 1, "x", "the 11x11 SSIM window")
    return ssim_cs_maps(x, y, r, RADIUS, RADIUS)[0]


@numpy_compat
def ssim(
    x: Array,
    y: Array,
    *,
    data_range: float,
    mask: Array | None = None,
    per_channel: bool = False,
) -> Array:
    """Mean structural similarity (Wang et al. 2004) per image, as scikit-image.

    Equals ``skimage.metrics.structural_similarity(xc, yc, gaussian_weights=True,
    use_sample_covariance=False, data_range=data_range)`` for each channel ``xc``,
    averaged over channels: the :func:`ssim_map` cropped by 5 pixels on each side,
    then averaged.  (The same value as ``pytorch_msssim.ssim``, whose *valid*
    window yields exactly the cropped map; see the module notes.)

    With ``mask`` the cropped map is averaged with the cropped mask as weights: over
    ``(C, H, W)`` together (``sum(m * s) / sum(m)``, as :func:`psnr` and the masked
    losses), or per channel with ``per_channel``.  A mask of ones gives the unmasked
    value.

    Args:
        x: ``(*, C, H, W)`` image, ``H, W >= 11``.
        y: ``(*, C, H, W)`` image of the same shape.
        data_range: peak-to-peak range of the data (``1.0`` for [0, 1]).
        mask: optional weights ``>= 0``, ``(*, 1, H, W)`` or ``(*, C, H, W)``.
        per_channel: return one value per channel instead of the channel mean.

    Returns:
        SSIM, shape ``(*,)`` (or ``(*, C)`` with ``per_channel``); 1 for identical
        images.  ``nan`` where the mask weight inside the crop is all zero.
        Differentiable.

    Raises:
        ValueError: shapes differ, image smaller than 11x11, NaN/Inf, ``data_range <= 0``,
            bad mask.
        TypeError: not an array, bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(0, 1, 2 * 16 * 16).reshape(2, 16, 16)
        >>> float(ssim(x, x, data_range=1.0))
        1.0
    """
    r = check_data_range(data_range)
    check_bool(per_channel, "per_channel")
    x, y = prepare_pair(x, y)
    check_min_size(x, 2 * RADIUS + 1, "x", "the 11x11 SSIM window")
    s = ssim_cs_maps(x, y, r, RADIUS, RADIUS - CROP)[0]  # the cropped map
    if mask is None:
        per = s.mean(dim=(-2, -1))
        return per if per_channel else per.mean(dim=-1)
    m = crop(prepare_mask(mask, x), CROP)
    return masked_mean(s, m, (-2, -1) if per_channel else (-3, -2, -1), float("nan"))


@numpy_compat
def ms_ssim(
    x: Array, y: Array, *, data_range: float, weights: Sequence[float] = MS_SSIM_WEIGHTS
) -> Array:
    r"""Multi-scale SSIM per image, equal to ``pytorch_msssim.ms_ssim``.

    Per channel, :math:`\prod_{j<M} \mathrm{relu}(cs_j)^{w_j} \cdot
    \mathrm{relu}(ssim_M)^{w_M}`, then the mean over channels.  At each scale the
    11-tap Gaussian (sigma 1.5) is applied as a *valid* convolution and the maps are
    averaged; between scales both images are average-pooled 2x2 with stride 2, an odd
    side first padded by one zero on each end (the zeros count in the average).
    See the module notes for how this convention relates to :func:`ssim`.

    Args:
        x: ``(*, C, H, W)`` image with ``min(H, W) > 10 * 2**(len(weights) - 1)``
            (161 for the default five scales).
        y: ``(*, C, H, W)`` image of the same shape.
        data_range: peak-to-peak range of the data.
        weights: exponent of each scale, finest first.

    Returns:
        MS-SSIM, shape ``(*,)``; 1 for identical images.  Differentiable except where
        a contrast term is ``<= 0`` (the ReLU, then a fractional power of zero).

    Raises:
        ValueError: shapes differ, image too small for the scales, NaN/Inf,
            ``data_range <= 0``, empty, negative or all-zero ``weights``.
        TypeError: not an array, bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(0, 1, 176 * 176).reshape(1, 176, 176)
        >>> round(float(ms_ssim(x, x, data_range=1.0)), 6)
        1.0
    """
    r = check_data_range(data_range)
    x, y = prepare_pair(x, y)
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise TypeError(f"weights: expected a sequence of numbers, got {type(weights).__name__}")
    w = [check_number(v, f"weights[{i}]", minimum=0) for i, v in enumerate(weights)]
    if not w or not sum(w) > 0:
        raise ValueError(
            f"weights: expected a non-empty sequence of numbers >= 0 with a positive sum "
            f"(all-zero weights would score every pair 1), got {w}"
        )
    need = 2 * RADIUS * 2 ** (len(w) - 1) + 1
    check_min_size(x, need, "x", f"{len(w)} scales of an 11x11 window")
    lead = x.shape[:-2]
    xs, ys = x.reshape(-1, 1, *x.shape[-2:]), y.reshape(-1, 1, *y.shape[-2:])
    terms = []
    for j in range(len(w)):
        s, cs = ssim_cs_maps(xs, ys, r, RADIUS, 0)
        if j < len(w) - 1:
            terms.append(torch.relu(cs.mean(dim=(-2, -1))))
            pad = (xs.shape[-2] % 2, xs.shape[-1] % 2)
            xs = F.avg_pool2d(xs, kernel_size=2, padding=pad)
            ys = F.avg_pool2d(ys, kernel_size=2, padding=pad)
        else:
            terms.append(torch.relu(s.mean(dim=(-2, -1))))
    stacked = torch.stack(terms)  # (scales, B, 1)
    expo = torch.tensor(w, dtype=stacked.dtype, device=stacked.device).view(-1, 1, 1)
    per_channel = torch.prod(stacked**expo, dim=0).reshape(lead)
    return per_channel.mean(dim=-1)


# -------------------------------------------------------------------------- error maps


@numpy_compat
def gamma_preview(x: Array, *, data_range: float, gamma: float = 2.2) -> Array:
    """A display preview of linear data: ``clip(x / data_range, 0, 1) ** (1 / gamma)``.

    For figures only: unlike the rest of rawkit it clips, by design, since a display
    shows [0, 1].  Not a camera ISP (no white balance, no colour matrix); use a real
    render (e.g. ``rawkit.isp``) where colours matter.

    Args:
        x: ``(*, C, H, W)`` (or any shape) linear values.
        data_range: the value shown as white.
        gamma: display gamma ``> 0``.

    Returns:
        Same shape, values in [0, 1], computed dtype (see module notes).
        Differentiable except at 0.

    Raises:
        ValueError: ``data_range <= 0``, ``gamma <= 0``, NaN/Inf.
        TypeError: not an array, bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> gamma_preview(np.array([-0.5, 0.25, 2.0]), data_range=1.0, gamma=2.0)
        array([0. , 0.5, 1. ])
    """
    r = check_data_range(data_range)
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma > 0:
        raise ValueError(f"gamma: expected a number > 0, got {gamma!r}")
    check_tensor_like(x, "x")
    check_dtype(x, ["float", "integer"], "x")
    xt = as_tensor(x)
    xt = xt.to(compute_dtype(xt.dtype, xt.dtype))
    check_finite(xt, "x")
    return torch.clamp(xt / r, 0.0, 1.0) ** (1.0 / gamma)


@numpy_compat
def error_map(
    pred: Array,
    target: Array,
    *,
    render: Callable[[torch.Tensor], torch.Tensor] | None = None,
    reduce: Literal["mean", "max", "none"] = "mean",
) -> Array:
    """Absolute error per pixel, in RAW or in a rendered view, for figures.

    ``|render(pred) - render(target)|`` reduced over channels.  Without ``render`` the
    error is in the data's own units (e.g. packed RAW).  ``render`` is any function
    from a ``(*, C, H, W)`` tensor to a ``(*, C', H', W')`` tensor (e.g. a rawkit ISP,
    or ``lambda t: gamma_preview(t, data_range=1.0)`` for a quick preview); it gets
    torch tensors in the compute dtype (see module notes).

    Args:
        pred: ``(*, C, H, W)`` prediction.
        target: ``(*, C, H, W)`` ground truth of the same shape.
        render: optional view applied to both before the difference.
        reduce: ``"mean"`` or ``"max"`` over channels (``(*, 1, H', W')``), or
            ``"none"`` to keep them (``(*, C', H', W')``).

    Returns:
        Non-negative error map; differentiable where ``render`` is.

    Raises:
        ValueError: shapes differ, NaN/Inf, unknown ``reduce``, ``render`` output
            that is not a tensor of at least 3 dims.
        TypeError: not an array, bool/complex dtype.

    Example:
        >>> import numpy as np
        >>> p, t = np.full((4, 2, 2), 0.5), np.full((4, 2, 2), 0.25)
        >>> error_map(p, t)[0]
        array([[0.25, 0.25],
               [0.25, 0.25]])
    """
    check_choice(reduce, ["mean", "max", "none"], "reduce")
    pred, target = prepare_pair(pred, target, ("pred", "target"))
    if render is not None:
        pred, target = render(pred), render(target)
        for t in (pred, target):
            if not isinstance(t, torch.Tensor) or t.ndim < 3:
                raise ValueError(
                    "render: expected a function returning a (*, C, H, W) torch.Tensor, got "
                    f"{type(t).__name__} of shape {tuple(getattr(t, 'shape', ()))}"
                )
    err = (pred - target).abs()
    if reduce == "mean":
        return err.mean(dim=-3, keepdim=True)
    if reduce == "max":
        return err.amax(dim=-3, keepdim=True)
    return err


# ------------------------------------------------------------------------------- AIM22


class ImageScore(NamedTuple):
    """Score of one image pair: its name, PSNR (dB) and SSIM."""

    name: str
    psnr: float
    ssim: float


@dataclass(frozen=True)
class AIM22Score:
    """Result of :func:`aim22_score`: the means over images and each image's score."""

    psnr: float
    ssim: float
    n_images: int
    per_image: list[ImageScore] = field(default_factory=list)


_Source = Union[str, "os.PathLike[str]", np.ndarray, torch.Tensor, Sequence[np.ndarray]]


def _load_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def _aim22_items(src: _Source, name: str) -> dict[str, Callable[[], Any]]:
    """Name -> loader of each image of a folder, a stack or a sequence of arrays."""
    if isinstance(src, (str, os.PathLike)):
        folder = Path(src)
        if not folder.is_dir():
            raise FileNotFoundError(f"{name}: expected a folder of .npy files, got {str(folder)!r}")
        files = sorted(p for p in folder.iterdir() if p.suffix == ".npy" and p.is_file())
        return {p.name: functools.partial(_load_npy, p) for p in files}
    items: Sequence[Any]
    if isinstance(src, (np.ndarray, torch.Tensor)):
        if src.ndim not in (3, 4):
            raise ValueError(
                f"{name}: expected an (H, W, 4) array or an (N, H, W, 4) stack, "
                f"got shape {tuple(src.shape)}"
            )
        items = [src] if src.ndim == 3 else list(src)
    elif isinstance(src, Sequence):
        items = src
    else:
        raise TypeError(
            f"{name}: expected a folder path, an array or a sequence of arrays, "
            f"got {type(src).__name__}"
        )
    return {f"#{i}": functools.partial(_identity, a) for i, a in enumerate(items)}


def _identity(a: Any) -> Any:
    return a


def _aim22_load(loader: Callable[[], Any], label: str) -> torch.Tensor:
    """Load one AIM22 RAW ``(H, W, 4)`` and return it divided by 1024, as ``(4, H, W)``."""
    a = loader()
    if isinstance(a, np.ndarray):
        a = to_tensor(a)
    check_tensor_like(a, label)
    check_dtype(a, ["float", "integer"], label)
    if a.ndim != 3 or a.shape[-1] != 4:
        raise ValueError(f"{label}: expected an (H, W, 4) RAW array, got shape {tuple(a.shape)}")
    a = a.detach().to(device="cpu", dtype=torch.float64)
    check_finite(a, label)
    lo, hi = float(a.min()), float(a.max())
    if lo < 0 or hi > _AIM22_WHITE:
        raise ValueError(
            f"{label}: expected RAW values in [0, {_AIM22_WHITE}], got min {lo:g}, max {hi:g}"
        )
    return (a / _AIM22_WHITE).permute(2, 0, 1)


def aim22_score(
    results: _Source,
    ground_truth: _Source,
    *,
    window: Literal["challenge", "skimage"] = "challenge",
) -> AIM22Score:
    """Score RAW reconstructions exactly as the AIM 2022 Reversed ISP Challenge.

    The challenge's ``scoring/evaluation.py``: each ``(H, W, 4)`` RAW (uint16, white
    level 1024) is divided by 1024 in float64 and must lie in [0, 1];
    ``PSNR = 10 log10(1 / MSE)`` over the whole array (``999`` when the MSE is
    exactly 0, as the scorer does); SSIM is the mean over the four channels of
    Wang et al.'s SSIM with a Gaussian window (sigma 1.5), population covariance and
    ``data_range = 1``; both are averaged over images.

    ``window`` chooses the SSIM window.  The scorer imports ``myssim.compare_ssim``
    (a copy of scikit-image's old ``compare_ssim``), which filters with scipy's
    default Gaussian truncation (4 sigma: 13 taps) but crops ``(11 - 1) // 2 = 5``
    pixels, so one ring of border pixels near the symmetric padding is averaged:
    ``"challenge"`` (default) reproduces that; ``"skimage"`` uses today's
    scikit-image window (11 taps, as :func:`ssim`).  They differ by about 1e-4.

    Files are paired by name (the scorer pairs sorted lists by position); they are read
    with ``np.load(..., allow_pickle=False)``.

    Args:
        results: a folder of ``.npy`` files, an ``(H, W, 4)`` array, an
            ``(N, H, W, 4)`` stack or a sequence of ``(H, W, 4)`` arrays (integer or
            float RAW values in [0, 1024]).
        ground_truth: the same kind of source, with the same names/count.
        window: ``"challenge"`` or ``"skimage"`` (see above).

    Returns:
        :class:`AIM22Score` with mean ``psnr`` and ``ssim``, ``n_images`` and
        ``per_image`` (name, psnr, ssim) in name order (``"#0"``, ``"#1"``... for arrays).

    Raises:
        FileNotFoundError: a folder does not exist.
        ValueError: a missing or extra file (named), no images, a shape other than
            ``(H, W, 4)`` or a shape mismatch, values outside [0, 1024] or NaN (the
            file is named), an image smaller than 11x11.
        TypeError: a source of another kind, or a bool/complex array.

    Example:
        >>> import numpy as np
        >>> gt = np.full((16, 16, 4), 512, np.uint16)
        >>> s = aim22_score(gt + 32, gt)
        >>> round(s.psnr, 4), s.n_images
        (30.103, 1)
    """
    check_choice(window, ["challenge", "skimage"], "window")
    radius = _AIM22_RADIUS if window == "challenge" else RADIUS
    res = _aim22_items(results, "results")
    ref = _aim22_items(ground_truth, "ground_truth")
    missing = sorted(set(ref) - set(res))
    extra = sorted(set(res) - set(ref))
    if missing:
        raise ValueError(f"results: missing {missing[0]!r} ({len(missing)} missing in all)")
    if extra:
        raise ValueError(f"results: unexpected {extra[0]!r} not in ground_truth")
    if not ref:
        raise ValueError("ground_truth: expected at least one image, got none")
    scores = []
    for name in sorted(ref):
        g = _aim22_load(ref[name], f"ground_truth {name}")
        p = _aim22_load(res[name], f"results {name}")
        if p.shape != g.shape:
            raise ValueError(
                f"results {name}: expected shape {tuple(g.permute(1, 2, 0).shape)} of the "
                f"ground truth, got {tuple(p.permute(1, 2, 0).shape)}"
            )
        check_min_size(g, 2 * CROP + 1, f"ground_truth {name}", "the 11x11 SSIM window")
        mse = float(((g - p) ** 2).mean())
        ps = _AIM22_IDENTICAL_PSNR if mse == 0 else 10 * math.log10(1.0 / mse)
        s_map = ssim_cs_maps(g, p, 1.0, radius, radius - CROP)[0]  # cropped by 5
        ss = float(s_map.mean(dim=(-2, -1)).mean())
        scores.append(ImageScore(name, ps, ss))
    return AIM22Score(
        psnr=float(np.mean([s.psnr for s in scores])),
        ssim=float(np.mean([s.ssim for s in scores])),
        n_images=len(scores),
        per_image=scores,
    )
