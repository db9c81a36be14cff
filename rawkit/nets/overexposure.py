r"""Overexposure mask fusion (Kim, Jiang & Gu, AIM 2022 reversed-ISP entry, ``003_*``).

The poster redefines RAW reconstruction as an RGB -> RGB mapping: two U-Nets map the
sRGB image to a *demosaiced* RAW (3 channels, full resolution), one trained on the
overexposed pixels ("OE"), one on the others ("NOE"); at inference their outputs are
blended by the overexposure mask :math:`M` and the blend is re-mosaiced to a Bayer
mosaic and packed::

    srgb --+--> U-Net(OE)  --> D_oe  --+
           |                           +--> D = M * D_oe + (1 - M) * D_noe --> mosaic --> pack
           +--> U-Net(NOE) --> D_noe --+
           +--> M = overexposure(srgb)

Because the target is RGB-like, losses beyond L2 become usable; the poster names
perceptual losses without saying which.  rawkit uses one that needs **no downloaded
weights**: :func:`laplacian_pyramid_loss`, the L1 distance between Laplacian pyramids
(Burt & Adelson 1983) with a fixed binomial filter, the "Lap1" loss of Bojanowski et al.
(2018, "Optimizing the latent space of generative networks", Eq. 3), which compares
images band by band (edges and textures at each scale) the way feature losses do, but
with nothing learned: it is deterministic, cheap, and identical on every machine.

What the poster leaves open, and what rawkit chose (each said again where it applies):

* **The mask**: :func:`rawkit.masks.overexposure` with its defaults (channel maximum,
  threshold 0.95, a smooth 0.05 ramp below it); the smooth ramp avoids seams where
  the branches meet.
* **The blend**: ``torch.lerp(d_noe, d_oe, m)``, i.e. :math:`M D_{oe} + (1 - M)
  D_{noe}`, exact at both ends (an all-zero mask gives the NOE output bit for bit).
* **The branch networks**: :class:`rawkit.nets.UNet` twice, "U-Nets for objective
  comparisons" as the poster says.  ``resolution="half"`` (default) runs each U-Net
  at the packed RAW's resolution (pixel-unshuffle stem, 12 outputs, pixel-shuffle to
  ``(3, H, W)``), so one branch costs what the single sRGB -> packed-RAW U-Net costs;
  ``resolution="full"`` is the plain full-resolution U-Net (``UNet(output="rgb")``,
  four times the compute per branch).
* **What a branch predicts** (``base``): the poster's branches map sRGB straight to
  the demosaiced RAW (``base="none"``: a sigmoid head, values in (0, 1)).  rawkit's
  default, ``base="generic"``, makes each branch a *correction of the blind generic
  inverse* :math:`B` (:func:`rawkit.isp.unprocess` with the camera's colour matrix and
  LibRaw's generic settings, ``layout="rgb"``: the demosaiced form of
  :func:`rawkit.data.generic_inverse`) scaled by a global exposure gain :math:`G(x)`:

  .. math:: D_{b} = G(x)\, B \odot e^{g_b} + r_b, \qquad b \in \{oe, noe\},

  with a per-pixel, per-channel log-gain :math:`g_b = 1.5 \tanh(u_b / 1.5)` and an
  offset :math:`r_b = 0.1 \tanh(v_b / 0.1)`, where :math:`(u_b, v_b)` is the branch
  U-Net's output, whose last 1x1 convolution starts at **zero**.  The bounds (a gain
  within :math:`e^{\pm 1.5}`, an offset within ``+-0.1``) keep a branch from blowing
  up on inputs larger than its training crops, where a U-Net whose receptive field
  exceeds the crop meets pixels that never saw the padding (measured: an unbounded
  head trained on 64-pixel crops returned values up to 38 on a 192 x 128 image).  The untrained fusion is therefore exactly the analytic inverse, and
  training only learns what it misses: a gain (the unknown exposure and white
  balance are multiplicative in a linear RAW) and a small offset (the camera look's
  tone curve).  Inside the clipped region :math:`B` sits at the clipping level and
  the OE branch's gain is what lifts it to the highlight the RAW still holds: it has
  to be inferred from context (the shape and size of the clipped area, the colours
  around it), which the U-Net's receptive field (the whole crop at depth 4) sees.
  The output is unbounded (no sigmoid: a sigmoid's vanishing gradient near 1 is
  where the highlights live); the pipeline clamps the packed RAW to ``[0, 1]``.
* **Global exposure gain** :math:`G(x) = e^{\ell(x)}` (:meth:`OverexposureFusionNet.log_gain`):
  :math:`\ell = p\, w^\top f + (1 - p)\, c`, from 9 whole-image statistics :math:`f`
  (clipped shares, brightness percentiles): a constant :math:`c` for normally
  exposed images and a regression :math:`w^\top f` for overexposed ones, mixed by a
  logistic gate :math:`p = \sigma(u^\top f)`, all fitted to the mean PSNR of the gained
  base when the pipeline trains (buffers, zero until then;
  ``rawkit.nets._overexposure_gain``).  An sRGB image does not say which exposure it was rendered
  with, and crops cannot tell an overexposed image from a normal one; whole-image
  statistics can, in part.  It is computed on what ``forward`` is given: the
  whole image, or each tile when the pipeline reconstructs tile by tile.
* **Seeds**: the OE branch is initialised from ``seed``, the NOE branch from
  ``seed + 1``.

Example:
    >>> import torch
    >>> net = OverexposureFusionNet(width=4, depth=1, seed=0)
    >>> out = net(torch.rand(2, 3, 16, 20))
    >>> out.fused.shape, out.mask.shape
    (torch.Size([2, 3, 16, 20]), torch.Size([2, 1, 16, 20]))
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, cast

import torch
from torch import nn

from rawkit._checks import check_choice
from rawkit._tensor import Array, numpy_compat
from rawkit.cfa import Pattern, mosaic, pack
from rawkit.isp import BUILTIN_CAMERAS, builtin_camera, default_params, unprocess
from rawkit.masks import overexposure
from rawkit.nets._overexposure_gain import (
    FEATURES,
    exposure_features,
    fit_gated_gain,
    gated_log_gain,
    log_gain_target,
    psnr_table,
)
from rawkit.nets._pyramid import (
    _check_float_image,
    laplacian_pyramid,
    laplacian_pyramid_loss,
)
from rawkit.nets.unet import UNet, check_image, check_int

# Public here (documented, listed and tested as this module's): their home is private.
for _f in (laplacian_pyramid, laplacian_pyramid_loss):
    _f.__module__ = __name__

__all__ = [
    "BRANCH_BASES",
    "RESOLUTIONS",
    "BranchBase",
    "FusionOutput",
    "OverexposureFusionNet",
    "Resolution",
    "fuse",
    "laplacian_pyramid",
    "laplacian_pyramid_loss",
    "remosaic_pack",
]

#: Where a branch U-Net works: at the packed RAW's resolution or at full resolution.
Resolution = Literal["half", "full"]
RESOLUTIONS: tuple[str, ...] = ("half", "full")
#: What a branch predicts: the demosaiced RAW itself, or a correction of the blind generic inverse.
BranchBase = Literal["none", "generic"]
BRANCH_BASES: tuple[str, ...] = ("none", "generic")
#: Bounds of the residual branches' log-gain (a factor of e**1.5 ~ 4.5 either way) and offset.
_MAX_LOG_GAIN = 1.5
_MAX_OFFSET = 0.1

# --------------------------------------------------------------------- blend and pack


@numpy_compat
def fuse(oe: Array, noe: Array, mask: Array) -> Array:
    r"""Blend the two branches by the overexposure mask: :math:`M D_{oe} + (1 - M) D_{noe}`.

    Computed as ``torch.lerp(noe, oe, mask)``, which is exact at both ends: where
    ``mask == 0`` the result is ``noe`` bit for bit, where ``mask == 1`` it is ``oe``.

    Args:
        oe: ``(*, C, H, W)`` float, the overexposed branch's output.
        noe: ``(*, C, H, W)`` float, the non-overexposed branch's output, same shape.
        mask: ``(*, 1, H, W)`` (or ``(*, C, H, W)``) float weights in ``[0, 1]``,
            broadcast over channels (:func:`rawkit.masks.overexposure`).

    Returns:
        ``(*, C, H, W)``, same dtype and device; differentiable in all three.

    Raises:
        TypeError: not floating arrays.
        ValueError: shapes that do not match, NaN/Inf, mask values outside ``[0, 1]``.

    Example:
        >>> import numpy as np
        >>> a, b = np.full((3, 2, 2), 0.8), np.full((3, 2, 2), 0.2)
        >>> fuse(a, b, np.array([[[0.0, 1.0], [0.5, 0.25]]]))[0].tolist()
        [[0.2, 0.8], [0.5, 0.35]]
    """
    oe = _check_float_image(oe, "oe", "C")
    noe = _check_float_image(noe, "noe", "C")
    mask = _check_float_image(mask, "mask", "K")
    if oe.shape != noe.shape:
        raise ValueError(f"noe: expected the shape of oe {tuple(oe.shape)}, got {tuple(noe.shape)}")
    k = mask.shape[-3]
    if (
        k not in (1, oe.shape[-3])
        or mask.shape[:-3] != oe.shape[:-3]
        or (mask.shape[-2:] != oe.shape[-2:])
    ):
        raise ValueError(
            f"mask: expected shape {(*oe.shape[:-3], 1, *oe.shape[-2:])} (or C channels), "
            f"got {tuple(mask.shape)}"
        )
    if bool((mask < 0).any()) or bool((mask > 1).any()):
        raise ValueError("mask: expected weights in [0, 1], got values outside")
    return torch.lerp(noe, oe, mask.to(oe.dtype))


@numpy_compat
def remosaic_pack(rgb: Array, *, pattern: Pattern) -> Array:
    """Re-mosaic a demosaiced RAW with the camera's pattern and pack it to ``[R, Gr, Gb, B]``.

    ``rawkit.cfa.pack(rawkit.cfa.mosaic(rgb, pattern=pattern), pattern=pattern)``: each
    packed channel keeps the one colour the camera's filter passes at its site of the
    2x2 quad (the last step of the poster's pipeline).  Only moves values: exact for
    every dtype and differentiable.

    Args:
        rgb: ``(*, 3, H, W)``, ``H, W`` even (a demosaiced RAW, camera RGB).
        pattern: the camera's Bayer pattern, ``"RGGB" "GRBG" "GBRG" "BGGR"``.

    Returns:
        ``(*, 4, H/2, W/2)`` packed RAW, channels ``[R, Gr, Gb, B]``.

    Raises:
        ValueError: wrong shape, odd ``H``/``W``, unknown pattern.
        TypeError: not an array.

    Example:
        >>> import numpy as np
        >>> rgb = np.stack([np.full((2, 2), v) for v in (0.1, 0.5, 0.9)])
        >>> remosaic_pack(rgb, pattern="GBRG")[:, 0, 0].tolist()
        [0.1, 0.5, 0.5, 0.9]
    """
    return pack(mosaic(rgb, pattern=pattern), pattern=pattern)


# ---------------------------------------------------------------------------- network


class FusionOutput(NamedTuple):
    """What :class:`OverexposureFusionNet` returns, every field ``(B, C, H, W)``-like.

    Attributes:
        oe: ``(*, 3, H, W)`` the overexposed branch's demosaiced RAW.
        noe: ``(*, 3, H, W)`` the non-overexposed branch's demosaiced RAW.
        mask: ``(*, 1, H, W)`` the overexposure mask in ``[0, 1]``.
        fused: ``(*, 3, H, W)`` the blend :func:`fuse` ``(oe, noe, mask)``.
        base: ``(*, 3, H, W)`` the blind generic inverse both branches correct
            (``base="generic"``), ``None`` for ``base="none"``.
    """

    oe: torch.Tensor
    noe: torch.Tensor
    mask: torch.Tensor
    fused: torch.Tensor
    base: torch.Tensor | None = None


class _Branch(nn.Module):
    """One branch: sRGB ``(B, 3, H, W)`` -> demosaiced RAW ``(B, 3, H, W)``.

    Without a base: a sigmoid head, values in (0, 1).  With a base ``B``: six outputs
    ``(u, v)`` whose 1x1 head starts at zero, ``B * exp(a tanh(u / a)) + c tanh(v / c)``
    with ``a = 1.5``, ``c = 0.1``: identity at zero with unit slope, and bounded, so
    that a branch met with an input unlike its training crops cannot blow up.
    """

    def __init__(
        self, *, width: int, depth: int, resolution: str, residual: bool, seed: int | None
    ) -> None:
        super().__init__()
        self.resolution, self.residual = resolution, residual
        out, head = (6, None) if residual else (3, "sigmoid")
        if resolution == "half":
            self.unet = UNet(
                3, 4 * out, width=width, depth=depth, output="packed", head=head, seed=seed
            )  # type: ignore[arg-type]
            self.shuffle: nn.Module = nn.PixelShuffle(2)
        else:
            self.unet = UNet(3, out, width=width, depth=depth, output="rgb", head=head, seed=seed)  # type: ignore[arg-type]
            self.shuffle = nn.Identity()
        if residual:
            nn.init.zeros_(self.unet.head.weight)
            nn.init.zeros_(cast(torch.Tensor, self.unet.head.bias))

    def forward(self, srgb: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        y = cast(torch.Tensor, self.shuffle(self.unet(srgb)))
        if base is None:
            return y
        g = _MAX_LOG_GAIN * torch.tanh(y[:, :3] / _MAX_LOG_GAIN)
        r = _MAX_OFFSET * torch.tanh(y[:, 3:] / _MAX_OFFSET)
        return base * torch.exp(g) + r


def _starts(n: int, tile: int, step: int) -> list[int]:
    """Window starts covering ``0 .. n`` (even, the last one flush with the end)."""
    if n <= tile:
        return [0]
    return sorted(set(range(0, n - tile, step)) | {n - tile})


def _windowed(
    branch: nn.Module, x: torch.Tensor, base: torch.Tensor | None, tile: int | None
) -> torch.Tensor:
    """``branch(x, base)`` on overlapping ``tile`` windows blended by a sine window."""
    h, w = x.shape[-2:]
    if tile is None or (h <= tile and w <= tile):
        return cast(torch.Tensor, branch(x, base))
    step = max(2, (tile - tile // 4) // 2 * 2)
    th, tw = min(tile, h), min(tile, w)
    k = torch.arange(tile, dtype=x.dtype, device=x.device)
    win = torch.sin(torch.pi * (k + 0.5) / tile)
    out = x.new_zeros(x.shape[0], 3, h, w)
    total = x.new_zeros(1, 1, h, w)
    for y in _starts(h, tile, step):
        for x0 in _starts(w, tile, step):
            wy = win[:th] if h > tile else torch.ones(th, dtype=x.dtype, device=x.device)
            wx = win[:tw] if w > tile else torch.ones(tw, dtype=x.dtype, device=x.device)
            ww = wy[:, None] * wx[None, :]
            sl = (..., slice(y, y + th), slice(x0, x0 + tw))
            out[sl] += branch(x[sl], None if base is None else base[sl]) * ww
            total[sl] += ww
    return out / total


class OverexposureFusionNet(nn.Module):
    r"""Two U-Nets (overexposed / not) from sRGB to demosaiced RAW, blended by the mask.

    The network of the overexposure-fusion poster (``003_*``, "Method"): U-Net (OE)
    and U-Net (NOE) both take the whole sRGB image and output a demosaiced RAW; the
    mask :math:`M` = :func:`rawkit.masks.overexposure` ``(srgb, threshold, softness)``
    blends them, :math:`D = M D_{oe} + (1 - M) D_{noe}` (:func:`fuse`).  Training
    computes each branch's loss on its own pixels (weights :math:`M` and
    :math:`1 - M`; :mod:`rawkit.pipelines.overexposure`).  With ``base="generic"``
    (default) each branch corrects the blind generic inverse :math:`B` times a global
    exposure gain :math:`G`, :math:`D_b = G B e^{g_b} + r_b` with zero-initialised
    heads, so that the untrained network returns :math:`B` everywhere (module notes).

    Shapes:
        - input: sRGB ``(*, 3, H, W)`` float in ``[0, 1]``, ``H, W`` even for
          ``resolution="half"``.
        - output: :class:`FusionOutput` of ``(*, 3, H, W)`` branches, blend and base
          and the ``(*, 1, H, W)`` mask; branches in ``(0, 1)`` for ``base="none"``
          (sigmoid heads), unbounded for ``"generic"``.

    Args:
        width, depth: of each branch's :class:`rawkit.nets.UNet`.
        resolution: ``"half"`` (default: each U-Net at ``H/2 x W/2`` with a
            pixel-unshuffle stem and a pixel-shuffle output, the cost of the single
            sRGB -> packed-RAW U-Net) or ``"full"`` (``UNet(output="rgb")``).
        threshold, softness: of :func:`rawkit.masks.overexposure` (defaults 0.95 and
            0.05: a smooth ramp from 8-bit code 230 to 243 and 1 above).
        base: ``"generic"`` (residual over the blind generic inverse) or ``"none"``
            (the poster's plain branches).
        camera: the built-in camera whose colour matrix the generic inverse uses
            (:data:`rawkit.isp.BUILTIN_CAMERAS`); only read with ``base="generic"``.
        seed: initialise the OE branch from ``seed`` and the NOE branch from
            ``seed + 1`` (``None``: from the global generator).

    Raises:
        TypeError, ValueError: bad settings; in ``forward``, an input that is not a
            floating ``(*, 3, H, W)`` tensor (odd ``H``/``W`` with ``"half"``).

    Example:
        >>> import torch
        >>> net = OverexposureFusionNet(width=4, depth=1, seed=0)
        >>> out = net(torch.zeros(3, 8, 8))           # a dark image: empty mask
        >>> bool((out.mask == 0).all()), bool(torch.equal(out.fused, out.noe))
        (True, True)
        >>> x = torch.rand(3, 8, 8)                   # untrained: the generic inverse
        >>> bool(torch.equal(net(x).fused, net(x).base))
        True
    """

    def __init__(
        self,
        *,
        width: int = 16,
        depth: int = 3,
        resolution: Resolution = "half",
        threshold: float = 0.95,
        softness: float = 0.05,
        base: BranchBase = "generic",
        camera: str = "nikon_d5100",
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_choice(resolution, RESOLUTIONS, "resolution")
        check_choice(base, BRANCH_BASES, "base")
        check_choice(camera, BUILTIN_CAMERAS, "camera")
        check_int(width, "width", minimum=1)
        check_int(depth, "depth", minimum=0)
        # validate the mask settings once, on a dummy pixel, through the mask itself
        overexposure(torch.zeros(1, 1, 1), threshold=threshold, softness=softness)
        self.width, self.depth, self.resolution = width, depth, resolution
        self.threshold, self.softness = float(threshold), float(softness)
        self.base_kind, self.camera = base, camera
        kw: dict[str, Any] = {"width": width, "depth": depth, "resolution": resolution}
        kw["residual"] = base == "generic"
        self.oe = _Branch(**kw, seed=seed)
        self.noe = _Branch(**kw, seed=None if seed is None else seed + 1)
        # the global log-gain p w.f + (1 - p) c, p = sigmoid(u.f) (:meth:`log_gain`): ``w``,
        # ``u`` and ``c``, zero (gain 1) until the pipeline's fit sets them
        self.register_buffer("gain_weights", torch.zeros(len(FEATURES)))
        self.register_buffer("gain_gate", torch.zeros(len(FEATURES)))
        self.register_buffer("gain_normal", torch.zeros(()))

    @property
    def config(self) -> dict[str, Any]:
        """Constructor settings (``OverexposureFusionNet(**net.config)`` rebuilds it)."""
        return {
            "width": self.width,
            "depth": self.depth,
            "resolution": self.resolution,
            "threshold": self.threshold,
            "softness": self.softness,
            "base": self.base_kind,
            "camera": self.camera,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())

    def mask(self, srgb: torch.Tensor) -> torch.Tensor:
        """The overexposure mask ``(*, 1, H, W)`` of ``srgb`` with this network's settings."""
        return cast(
            torch.Tensor,
            overexposure(srgb, threshold=self.threshold, softness=self.softness),
        )

    def log_gain(self, srgb: torch.Tensor) -> torch.Tensor:
        r"""The global log-gain ``(N,)`` of each image of ``srgb`` ``(N, 3, H, W)``, in float64.

        :math:`\ell = p\, w^\top f + (1 - p)\, c` with the gate :math:`p = \sigma(u^\top f)`
        (``rawkit.nets._overexposure_gain``): ``f`` are 9 whole-image statistics of the
        brightness and of the clipped share, ``w``, ``u``, ``c`` the buffers
        ``gain_weights``, ``gain_gate`` and ``gain_normal`` that :meth:`fit_gain` sets
        (zero, i.e. gain 1, until then).  A gate at ``+inf`` (folders saved before the
        gate existed load with ``u_0 = 40``) gives the plain regression ``w . f``.
        """
        f = exposure_features(srgb)
        w, u, c = (t.to(device=f.device, dtype=torch.float64)
                   for t in (self.gain_weights, self.gain_gate, self.gain_normal))  # fmt: skip
        return gated_log_gain(f, w, u, c)

    def fit_gain(self, images: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> int:
        """Fit the global exposure gain on ``(srgb, truth, weight)`` triples (module notes).

        For each image: ``srgb`` ``(3, H, W)``, its demosaiced RAW truth ``(3, H, W)``
        and pixel weights ``(1, H, W)`` (the pipeline uses 1 outside the hard
        overexposure mask, 0 inside).  The weighted least-squares log-gain between the
        ungained base and the truth of each image initialises the fit; ``w``, ``u``,
        ``c`` then maximise the mean PSNR of the clamped gained base against the truth
        over all pixels of the training images
        (``rawkit.nets._overexposure_gain.fit_gated_gain``).  Sets the buffers (left as
        they are when no image has a usable target, or for ``base="none"``).

        Returns:
            The number of images the fit used.
        """
        if self.base_kind == "none":
            return 0
        feats, targets, tables = [], [], []
        for srgb, truth, weight in images:
            base = cast(torch.Tensor, self.base(srgb[None], gain=False))[0]
            t = log_gain_target(base, truth, weight)
            if t is not None:
                feats.append(exposure_features(srgb[None]))
                targets.append(t)
                tables.append(psnr_table(base, truth))
        if targets:
            w, u, c = fit_gated_gain(torch.cat(feats), torch.stack(tables), torch.stack(targets))
            with torch.no_grad():
                self.gain_weights.copy_(w.to(self.gain_weights))
                self.gain_gate.copy_(u.to(self.gain_gate))
                self.gain_normal.copy_(c.to(self.gain_normal))
        return len(targets)

    def base(self, srgb: torch.Tensor, *, gain: bool = True) -> torch.Tensor | None:
        """The base the branches correct, ``(N, 3, H, W)`` (``None`` for ``base="none"``).

        The blind generic inverse: :func:`rawkit.isp.unprocess` with
        :func:`rawkit.isp.default_params` of the camera (D65 white balance, no gain, no
        tone curve), ``layout="rgb"``, in ``[0, 1]``; times the global exposure gain
        :math:`e^{w^\top f(x)}` of :meth:`log_gain` unless ``gain=False``.  Computed in
        float64, returned in ``srgb``'s dtype.
        """
        if self.base_kind == "none":
            return None
        cam = builtin_camera(self.camera)  # type: ignore[arg-type]
        raw, _ = unprocess(srgb.double(), camera=cam, params=default_params(cam), layout="rgb")
        raw = cast(torch.Tensor, raw)
        if gain:
            raw = raw * torch.exp(self.log_gain(srgb)).view(-1, 1, 1, 1)
        return raw.to(srgb.dtype)

    def forward(
        self, srgb: torch.Tensor, *, base: torch.Tensor | None = None, tile: int | None = None
    ) -> FusionOutput:
        """Both branches, the mask and the blend.

        Args:
            srgb: ``(*, 3, H, W)`` float sRGB in ``[0, 1]``.
            base: the precomputed :meth:`base` of ``srgb`` (saves its cost), or ``None``.
            tile: run the *branches* on ``tile x tile`` windows overlapping by a quarter
                (even sizes), blended with a separable sine window, while the mask, the
                base and its exposure gain see the whole input.  The pipeline passes its
                training crop size: a U-Net whose receptive field exceeds its training
                crops behaves differently on pixels far from any border (measured on the
                shipped weights, 192 x 128 test images: 26.71 dB whole, 30.22 dB in
                64-pixel windows, normal split).  ``None``: the whole input at once.
        """
        check_image(srgb, "srgb", channels=3, even=self.resolution == "half")
        if tile is not None:
            check_int(tile, "tile", minimum=2)
            if tile % 2:
                raise ValueError(f"tile: expected an even size, got {tile}")
        lead = tuple(srgb.shape[:-3])
        x = srgb.reshape(-1, *srgb.shape[-3:])
        b = None
        if self.base_kind == "generic":
            if base is not None and tuple(base.shape) != tuple(srgb.shape):
                raise ValueError(
                    f"base: expected the shape of srgb {tuple(srgb.shape)}, got {tuple(base.shape)}"
                )
            b = self.base(x) if base is None else base.reshape(x.shape).to(x.dtype)
        oe, noe = _windowed(self.oe, x, b, tile), _windowed(self.noe, x, b, tile)
        m = self.mask(x).to(oe.dtype)
        fused = torch.lerp(noe, oe, m)
        o, n, mk, f = (t.reshape(*lead, *t.shape[-3:]) for t in (oe, noe, m, fused))
        return FusionOutput(o, n, mk, f, None if b is None else b.reshape(*lead, *b.shape[-3:]))
