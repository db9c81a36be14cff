r"""Learned compact metadata (R2LCM, Wang et al., IJCV 2024, ``001_*``): a latent codec
that stores a few hundred bytes beside the sRGB so that the RAW can be recovered.

Everything the decoder sees besides the bytes is the sRGB image and a *blind* packed-RAW
estimate ``b`` made from it (e.g. :func:`rawkit.data.generic_inverse`).  Shapes: sRGB
``x`` ``(B, 3, H, W)``, packed RAW ``r`` and ``b`` ``(B, 4, h, w)`` with ``h = H/2``,
local latent ``y`` ``(B, C, h/8, w/8)`` (one vector per 16 x 16 sRGB pixels), global
latent ``z`` ``(B, C_g, 1, 1)`` (one vector per image).

**Asymmetric, hybrid resolutions** (the abstract's backbone).  *Asymmetric*: the encoder
is the deep part, three stride-2 convolutions from RAW + sRGB down to the 1/16 latent,
while the decoder is light and works at full packed resolution, where it has the sRGB.
*Hybrid*: the metadata lives at two resolutions, a global vector ``z`` (mean-pooled
encoder features: what is the same everywhere, such as the white balance the camera
applied) and the local grid ``y`` (clipped highlights, local colour); the decoder mixes
them with features at the latent resolution and at full resolution.  At the latent
resolution :math:`\hat y`, :math:`\hat z` and sRGB context give a field of per-pixel
affine colour transforms :math:`A` (4 x 5), upsampled bilinearly; at full resolution sRGB
features give a residual:

.. math::  \hat r = A\!\uparrow \cdot [\,b;\,1\,] + g(\phi(x),\,F(\hat y, \hat z)\!\uparrow)

so the latents only carry what the sRGB lacks, at a low resolution, while edges come
from the full-resolution sRGB.

**sRGB-guided adaptive precision.**  A per-position, per-channel step size is predicted
from the sRGB context :math:`c = \psi(x, b) + \lambda(\hat z)` (at the latent resolution)
and the rate index :math:`t` through monotone per-channel gains :math:`\gamma_t`:

.. math::  \log_2 \Delta = \mathrm{round}_{1/8}\big(f_\Delta(c) - \log_2 \gamma_t\big),
           \quad s = \mathrm{round}\big((y - \mu)/\Delta\big), \quad \hat y = \mu + \Delta s

with the step snapped to the fixed table :data:`STEP_TABLE` (1/8-octave spacing).

**sRGB-guided context model** (three passes).  First :math:`\hat z` with
:math:`(\mu, \sigma, \Delta)` from the pooled sRGB context; then the checkerboard anchors
of ``y`` (:math:`(i + j)` even) from the sRGB context and :math:`\hat z`; then the others
from the sRGB context, :math:`\hat z` and the decoded anchors (a 5 x 5 convolution over
the anchor grid).  Each symbol's probability is a discretised Gaussian in step units,

.. math::  p(s) = \Phi\!\big(\tfrac{s + 1/2}{\sigma_q}\big) - \Phi\!\big(\tfrac{s - 1/2}{\sigma_q}\big),
           \quad \sigma_q = \mathrm{SCALE\_TABLE}[\mathrm{nearest}(\sigma/\Delta)]

where the scale is snapped to :data:`SCALE_TABLE` (as CompressAI's scale tables do) so
that the encoder and the decoder use identical probabilities; the bits are
:math:`-\sum \log_2 p(s)` (the estimated rate) and :meth:`MetadataCodecNet.compress` codes the symbols
with ``constriction``'s ANS coder (:class:`constriction.stream.stack.AnsCoder`,
:class:`constriction.stream.model.QuantizedGaussian`).

**Variable rate from one model.**  ``rates`` rate indices select the gains
:math:`\gamma_t = \exp(\sum_{k \le t} \mathrm{softplus}(\beta_k))` (strictly increasing in
``t``, so the step shrinks and the rate grows with ``t``); training draws ``t`` per image
with the loss ``bpp + lambda_t * MSE`` (:data:`LAMBDAS`).

Example:
    >>> import torch
    >>> net = MetadataCodecNet(latent_channels=4, width=8, guide_width=4, seed=0)
    >>> x, b, r = torch.rand(1, 3, 32, 48), torch.rand(1, 4, 16, 24), torch.rand(1, 4, 16, 24)
    >>> out = net(r, x, b, rate=torch.tensor([2]))
    >>> out.raw.shape, out.bits.shape
    (torch.Size([1, 4, 16, 24]), torch.Size([1]))
    >>> code = net.compress(r, x, b, rate=2)
    >>> rec = net.decompress(code.payload, x, b, rate=2, check=code.check)
    >>> torch.equal(rec.y_hat, code.y_hat) and torch.equal(rec.z_hat, code.z_hat)
    True
"""

from __future__ import annotations

import hashlib
import math
import zlib
from typing import Any, NamedTuple

import constriction
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rawkit.io.bitstream import BitstreamError
from rawkit.nets.unet import check_image, check_int, init_weights, seeded_init

__all__ = [
    "LAMBDAS",
    "SCALE_TABLE",
    "STEP_TABLE",
    "SYMBOL_BOUND",
    "CodecOutput",
    "Compressed",
    "Decompressed",
    "MetadataCodecNet",
    "checkerboard",
]

#: Scales (in step units) of the discretised Gaussians: 64 log-spaced values 0.11 .. 64.
SCALE_TABLE = np.exp(np.linspace(math.log(0.11), math.log(64.0), 64))
_LOG_SCALES = torch.from_numpy(np.log(SCALE_TABLE))
#: Quantisation steps: 2**(k/8) for k = -96 .. 32 (1/8-octave spacing, 2**-12 .. 16).
STEP_TABLE = 2.0 ** (np.arange(-96, 33) / 8.0)
_STEP_K0 = -96
_STEPS_F32 = torch.from_numpy(STEP_TABLE.astype(np.float32))
#: Symbols are clamped to [-SYMBOL_BOUND, SYMBOL_BOUND] (part of the quantiser).
SYMBOL_BOUND = 1024
#: Default lambda of each rate index (loss = bits per pixel + lambda * MSE).
LAMBDAS = tuple(float(v) for v in np.geomspace(1000.0, 100000.0, 8))
_LIKELIHOOD_FLOOR = 2.0**-24  # constriction's leaky quantiser: no symbol costs more than 24 bits
_DOWN = 8  # latent stride on the packed grid


class CodecOutput(NamedTuple):
    """What :meth:`MetadataCodecNet.forward` returns (training and rate estimates).

    Attributes:
        raw: ``(B, 4, h, w)`` reconstructed packed RAW.
        bits: ``(B,)`` estimated bits of each image's latent.
        y_hat: ``(B, C, h', w')`` dequantised latent.
        step: ``(B, C, h', w')`` quantisation steps :math:`\\Delta`.
    """

    raw: torch.Tensor
    bits: torch.Tensor
    y_hat: torch.Tensor
    step: torch.Tensor


class Compressed(NamedTuple):
    """An entropy-coded latent (:meth:`MetadataCodecNet.compress`).

    Attributes:
        payload: the ANS words as bytes.
        check: CRC-32 of the decoder-side index maps (steps and scales).
        bits: estimated bits :math:`-\\sum \\log_2 p(s)` under the coded probabilities.
        y_hat: ``(1, C, h', w')`` the local latent the decoder will reproduce.
        z_hat: ``(1, C_g, 1, 1)`` the global latent the decoder will reproduce.
        symbols: ``(N,)`` int32 coded symbols in coding order (global, anchors, others).
        scale_index: ``(N,)`` int64 index into :data:`SCALE_TABLE` of each symbol's
            Gaussian.
        latent_shape: ``(h', w')``.
    """

    payload: bytes
    check: int
    bits: float
    y_hat: torch.Tensor
    z_hat: torch.Tensor
    symbols: torch.Tensor
    scale_index: torch.Tensor
    latent_shape: tuple[int, int]


class Decompressed(NamedTuple):
    """A decoded latent and the RAW it gives (:meth:`MetadataCodecNet.decompress`)."""

    raw: torch.Tensor
    y_hat: torch.Tensor
    z_hat: torch.Tensor
    symbols: torch.Tensor


def checkerboard(h: int, w: int, *, device: torch.device | None = None) -> torch.Tensor:
    """``(1, 1, h, w)`` float mask, 1 at anchors (``(i + j)`` even), 0 elsewhere.

    Example:
        >>> checkerboard(2, 3)[0, 0].tolist()
        [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    i = torch.arange(h, device=device).view(h, 1)
    j = torch.arange(w, device=device).view(1, w)
    return ((i + j) % 2 == 0).float().view(1, 1, h, w)


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


def _round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def _ndtr(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def _gauss_bits(s: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Bits of integer-domain values ``s`` under a zero-mean discretised Gaussian."""
    upper = _ndtr((0.5 - s.abs()) / scale)
    lower = _ndtr((-0.5 - s.abs()) / scale)
    return -torch.log2((upper - lower).clamp_min(_LIKELIHOOD_FLOOR))


class MetadataCodecNet(nn.Module):
    """The R2LCM-style codec: encoder, sRGB-guided entropy model, decoder (module notes).

    Args:
        latent_channels: ``C``, channels of the local latent (1/8 of the packed grid).
        global_channels: channels of the global latent (one vector per image).
        width: channels of the encoder, the sRGB context and the latent decoder.
        guide_width: channels of the full-resolution sRGB branch.
        rates: number of rate indices (>= 2).
        seed: seed of the initialisation (None: global generator).
    """

    def __init__(
        self,
        *,
        latent_channels: int = 12,
        global_channels: int = 8,
        width: int = 32,
        guide_width: int = 16,
        rates: int = 8,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        c = check_int(latent_channels, "latent_channels", minimum=1)
        cg = check_int(global_channels, "global_channels", minimum=1)
        w = check_int(width, "width", minimum=2)
        g = check_int(guide_width, "guide_width", minimum=2)
        n = check_int(rates, "rates", minimum=2)
        self.config = {
            "latent_channels": c, "global_channels": cg, "width": w, "guide_width": g,
            "rates": n, "seed": seed,
        }  # fmt: skip
        gin = 12 + 4  # space-to-depth sRGB + blind estimate
        with seeded_init(seed):
            self.guide = nn.Sequential(_conv(gin, g), _act(), _conv(g, g), _act())
            self.context = nn.Sequential(
                _conv(gin, w, 3, 2), _act(), _conv(w, w, 3, 2), _act(),
                _conv(w, w, 3, 2), _act(), _conv(w, w), _act(),
            )  # fmt: skip
            self.encoder = nn.Sequential(
                _conv(4 + gin, w, 3, 2), _act(), _conv(w, w, 3, 2), _act(),
                _conv(w, w, 3, 2), _act(),
            )  # fmt: skip
            self.encoder_out = _conv(w, c)
            self.global_encoder = nn.Sequential(_conv(w, w, 1), _act(), _conv(w, cg, 1))
            self.global_head = _conv(w, 3 * cg, 1)  # mu, log sigma, log2 step
            self.global_lift = _conv(cg, w, 1)
            self.step_head = _conv(w, c, 1)
            self.anchor_head = nn.Sequential(_conv(w, w), _act(), _conv(w, 2 * c, 1))
            self.anchor_context = _conv(c, w, 5)
            self.nonanchor_head = nn.Sequential(_conv(2 * w, w), _act(), _conv(w, 2 * c, 1))
            self.latent_decoder = nn.Sequential(_conv(c + w, w), _act(), _conv(w, w), _act())
            self.affine_head = _conv(w, 20, 1)
            self.latent_affine = _conv(c, 20, 1)
            self.global_affine = _conv(cg, 20, 1)
            self.lift = _conv(w, g, 1)
            self.refine = nn.Sequential(_conv(2 * g, g), _act(), _conv(g, 4))
            init_weights(self)
            # Start as the blind estimate: identity affine map, no residual.
            nn.init.zeros_(self.affine_head.weight)
            with torch.no_grad():
                self.affine_head.bias.copy_(torch.eye(4, 5).flatten())
                self.latent_affine.weight.mul_(0.1)
                self.global_affine.weight.mul_(0.1)
            nn.init.zeros_(self.latent_affine.bias)
            nn.init.zeros_(self.global_affine.bias)
            nn.init.zeros_(self.refine[-1].weight)
            # Start fine (rate 0: gain e^3, step about 1/20 of the head's) so that the
            # latents carry signal from the first steps; then one octave per rate index.
            self.rate_base = nn.Parameter(torch.full((c + cg,), 3.0))
            self.rate_increments = nn.Parameter(torch.zeros(n - 1, c + cg))
        self._tag: int | None = None

    # ------------------------------------------------------------------ pieces

    @property
    def rates(self) -> int:
        """Number of rate indices."""
        return int(self.config["rates"])

    def log2_gain(self, rate: torch.Tensor) -> torch.Tensor:
        """``(B, C + C_g)`` :math:`\\log_2 \\gamma_t` of rate indices ``rate`` ``(B,)``
        (strictly increasing in ``t``; local channels first)."""
        inc = F.softplus(self.rate_increments)
        cum = torch.cat([torch.zeros_like(inc[:1]), inc.cumsum(0)], 0) + self.rate_base
        return cum[rate] / math.log(2.0)

    def _guides(self, srgb: torch.Tensor, blind: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g = torch.cat([F.pixel_unshuffle(srgb, 2), blind], 1)
        h, w = g.shape[-2:]
        ph, pw = (-h) % _DOWN, (-w) % _DOWN
        gp = F.pad(g, (0, pw, 0, ph), mode="replicate") if ph or pw else g
        return g, gp, self.context(gp)

    @staticmethod
    def _to_step(log2_step: torch.Tensor, *, hard: bool) -> torch.Tensor:
        k = (8.0 * log2_step).clamp(_STEP_K0, _STEP_K0 + len(STEP_TABLE) - 1)
        if hard:  # a table lookup: the same float32 bits on every machine
            i = (torch.round(k) - _STEP_K0).long()
            return _STEPS_F32.to(k.device)[i]
        return torch.exp2(_round_ste(k) / 8.0)

    def _step(self, ctx: torch.Tensor, rate: torch.Tensor, *, hard: bool) -> torch.Tensor:
        c = int(self.config["latent_channels"])
        gain = self.log2_gain(rate)[:, :c, None, None]
        return self._to_step(self.step_head(ctx) - gain, hard=hard)

    def _global_params(
        self, ctx: torch.Tensor, rate: torch.Tensor, *, hard: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        c = int(self.config["latent_channels"])
        mu, log_sigma, log2_step = self.global_head(ctx.mean((2, 3), keepdim=True)).chunk(3, 1)
        step = self._to_step(log2_step - self.log2_gain(rate)[:, c:, None, None], hard=hard)
        return mu, log_sigma.clamp(-20.0, 20.0).exp(), step

    def _params(
        self, ctx: torch.Tensor, y_hat_anchor: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if y_hat_anchor is None:
            mu, log_sigma = self.anchor_head(ctx).chunk(2, 1)
        else:
            feats = torch.cat([ctx, self.anchor_context(y_hat_anchor)], 1)
            mu, log_sigma = self.nonanchor_head(feats).chunk(2, 1)
        return mu, log_sigma.clamp(-20.0, 20.0).exp()

    def synthesize(
        self, y_hat: torch.Tensor, z_hat: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor
    ) -> torch.Tensor:
        """Decoder: dequantised latents (local ``y_hat``, global ``z_hat``) + sRGB + blind
        estimate -> ``(B, 4, h, w)`` RAW."""
        g, _, ctx = self._guides(srgb, blind)
        return self._decode(y_hat, z_hat, g, ctx + self.global_lift(z_hat), blind)

    def _decode(
        self,
        y_hat: torch.Tensor,
        z_hat: torch.Tensor,
        g: torch.Tensor,
        ctx: torch.Tensor,
        blind: torch.Tensor,
    ) -> torch.Tensor:
        h, w = blind.shape[-2:]
        f = self.latent_decoder(torch.cat([y_hat, ctx], 1))
        up = lambda t: F.interpolate(t, scale_factor=_DOWN, mode="bilinear")[..., :h, :w]  # noqa: E731
        coef = self.affine_head(f) + self.latent_affine(y_hat) + self.global_affine(z_hat)
        a = up(coef).unflatten(1, (4, 5))
        basis = torch.cat([blind, torch.ones_like(blind[:, :1])], 1)
        affine = (a * basis[:, None]).sum(2)
        return affine + self.refine(torch.cat([self.guide(g), up(self.lift(f))], 1))

    def _analyse(self, raw: torch.Tensor, gp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rp = F.pad(
            raw,
            (0, gp.shape[-1] - raw.shape[-1], 0, gp.shape[-2] - raw.shape[-2]),
            mode="replicate",
        )
        feat = self.encoder(torch.cat([rp, gp], 1))
        return self.encoder_out(feat), self.global_encoder(feat.mean((2, 3), keepdim=True))

    # ------------------------------------------------------------------ training

    def forward(
        self, raw: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor, *, rate: torch.Tensor
    ) -> CodecOutput:
        """Estimated bits and reconstruction.  In training mode additive uniform noise
        stands for the rounding (Balle et al. 2017), :math:`\\tilde s = (y - \\mu)/\\Delta + u`,
        :math:`u \\sim U(-1/2, 1/2)`, for the rate and for the decoder; in eval mode the
        symbols are rounded as in :meth:`compress`.

        Args:
            raw: ``(B, 4, h, w)`` packed RAW in ``[0, 1]``.
            srgb: ``(B, 3, 2h, 2w)`` sRGB in ``[0, 1]``.
            blind: ``(B, 4, h, w)`` blind RAW estimate from the sRGB.
            rate: ``(B,)`` int64 rate indices in ``[0, rates)``.
        """
        self._check(raw, srgb, blind)
        hard = not self.training
        g, gp, ctx = self._guides(srgb, blind)
        y, z = self._analyse(raw, gp)

        def quantise(u: torch.Tensor) -> torch.Tensor:
            if self.training:
                return u + (torch.rand_like(u) - 0.5)
            return torch.round(u).clamp(-SYMBOL_BOUND, SYMBOL_BOUND)

        mu_z, sig_z, step_z = self._global_params(ctx, rate, hard=hard)
        s_z = quantise((z - mu_z) / step_z)
        z_hat = mu_z + step_z * s_z
        ctx = ctx + self.global_lift(z_hat)
        step = self._step(ctx, rate, hard=hard)
        mask = checkerboard(*y.shape[-2:], device=y.device)
        mu_a, sig_a = self._params(ctx, None)
        s_a = quantise((y - mu_a) / step)
        y_hat_a = (mu_a + step * s_a) * mask
        mu_n, sig_n = self._params(ctx, y_hat_a)
        s_n = quantise((y - mu_n) / step)
        s = mask * s_a + (1 - mask) * s_n
        sig = mask * sig_a + (1 - mask) * sig_n
        y_hat = y_hat_a + (1 - mask) * (mu_n + step * s_n)
        lo, hi = float(SCALE_TABLE[0]), float(SCALE_TABLE[-1])
        bits = _gauss_bits(s, (sig / step).clamp(lo, hi)).flatten(1).sum(1)
        bits = bits + _gauss_bits(s_z, (sig_z / step_z).clamp(lo, hi)).flatten(1).sum(1)
        return CodecOutput(self._decode(y_hat, z_hat, g, ctx, blind), bits, y_hat, step)

    # ------------------------------------------------------------------ coding

    def _check(self, raw: torch.Tensor | None, srgb: torch.Tensor, blind: torch.Tensor) -> None:
        check_image(srgb, "srgb", channels=3, even=True, like=self)
        check_image(blind, "blind", channels=4, even=False, like=self)
        want = (srgb.shape[0], 4, srgb.shape[-2] // 2, srgb.shape[-1] // 2)
        if tuple(blind.shape) != want:
            raise ValueError(
                f"blind: expected shape {want} for srgb {tuple(srgb.shape)}, "
                f"got {tuple(blind.shape)}"
            )
        if raw is not None:
            check_image(raw, "raw", channels=4, even=False, like=self)
            if tuple(raw.shape) != want:
                raise ValueError(
                    f"raw: expected shape {want} for srgb {tuple(srgb.shape)}, "
                    f"got {tuple(raw.shape)}"
                )

    def _rate_index(self, rate: Any) -> int:
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)):
            raise TypeError(f"rate: expected an int, got {type(rate).__name__}")
        if not 0 <= int(rate) < self.rates:
            raise ValueError(f"rate: expected an int in [0, {self.rates - 1}], got {rate}")
        return int(rate)

    def model_tag(self) -> int:
        """16 bits of the SHA-256 of the architecture and weights (stored in every stream)."""
        if self._tag is None:
            arch = sorted((k, v) for k, v in self.config.items() if k != "seed")
            h = hashlib.sha256(repr(arch).encode())
            for name, t in self.state_dict().items():
                h.update(name.encode())
                h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
            self._tag = int.from_bytes(h.digest()[:2], "little")
        return self._tag

    def _load_from_state_dict(self, *args: Any, **kwargs: Any) -> None:
        self._tag = None
        super()._load_from_state_dict(*args, **kwargs)

    @staticmethod
    def _scale_index(sig: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        ratio = (sig / step).double().log().cpu()
        return (ratio.unsqueeze(-1) - _LOG_SCALES).abs().argmin(-1)

    def _passes(
        self,
        ctx: torch.Tensor,
        rate: int,
        code: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the three coding passes (global, anchors, others); ``code(mu, step, idx)``
        returns the symbols of a pass (quantise at the encoder, decode at the decoder)."""
        t = torch.tensor([rate], device=ctx.device)
        mu_z, sig_z, step_z = self._global_params(ctx, t, hard=True)
        idx_z = self._scale_index(sig_z, step_z)
        s_z = code("z", mu_z, step_z, idx_z)
        z_hat = mu_z + step_z * s_z
        ctx = ctx + self.global_lift(z_hat)
        step = self._step(ctx, t, hard=True)
        mask = checkerboard(*ctx.shape[-2:], device=ctx.device).bool()
        mask = mask.expand(1, int(self.config["latent_channels"]), -1, -1)
        mu_a, sig_a = self._params(ctx, None)
        idx_a = self._scale_index(sig_a, step)
        s_a = code("a", mu_a, step, idx_a, mask)
        y_hat_a = torch.where(mask, mu_a + step * s_a, torch.zeros_like(step))
        mu_n, sig_n = self._params(ctx, y_hat_a)
        idx_n = self._scale_index(sig_n, step)
        s_n = code("n", mu_n, step, idx_n, ~mask)
        y_hat = torch.where(mask, y_hat_a, mu_n + step * s_n)
        m = mask.cpu()
        steps_k = torch.cat([step_z.flatten(), step.flatten()])
        idx = torch.cat([idx_z.flatten(), idx_a[m], idx_n[~m]])
        return y_hat, z_hat, ctx, _consistency(steps_k, idx)

    @torch.no_grad()
    def compress(
        self, raw: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor, *, rate: int
    ) -> Compressed:
        """Quantise and entropy-code the latents of one image (batch of 1).

        Args:
            raw: ``(1, 4, h, w)`` packed RAW; srgb: ``(1, 3, 2h, 2w)``; blind: ``(1, 4, h, w)``.
            rate: rate index in ``[0, rates)``.

        Returns:
            :class:`Compressed` (payload, consistency check, estimated bits, latents).
        """
        t = self._rate_index(rate)
        self._check(raw, srgb, blind)
        if srgb.shape[0] != 1:
            raise ValueError(f"srgb: expected a batch of 1 image, got {srgb.shape[0]}")
        _, gp, ctx = self._guides(srgb, blind)
        y, z = self._analyse(raw, gp)
        groups: list[tuple[torch.Tensor, torch.Tensor]] = []

        def code(
            kind: str, mu: torch.Tensor, step: torch.Tensor, idx: torch.Tensor, sel: Any = None
        ) -> torch.Tensor:
            target = z if kind == "z" else y
            s = torch.round((target - mu) / step).clamp(-SYMBOL_BOUND, SYMBOL_BOUND)
            if sel is None:
                groups.append((s.flatten().to(torch.int32).cpu(), idx.flatten()))
                return s
            m = sel.cpu()
            groups.append((s.to(torch.int32).cpu()[m], idx[m]))
            return torch.where(sel, s, torch.zeros_like(s))

        y_hat, z_hat, _, check = self._passes(ctx, t, code)
        coder = constriction.stream.stack.AnsCoder()
        family = constriction.stream.model.QuantizedGaussian(-SYMBOL_BOUND, SYMBOL_BOUND)
        for s, idx in reversed(groups):  # a stack: the decoder reads the first group first
            coder.encode_reverse(s.numpy(), family, np.zeros(len(s)), SCALE_TABLE[idx.numpy()])
        payload = coder.get_compressed().astype("<u4").tobytes()
        sym = torch.cat([s for s, _ in groups])
        idx = torch.cat([i for _, i in groups])
        bits = float(_gauss_bits(sym.double(), torch.from_numpy(SCALE_TABLE)[idx]).sum())
        return Compressed(payload, check, bits, y_hat, z_hat, sym, idx, tuple(y.shape[-2:]))

    @torch.no_grad()
    def decompress(
        self,
        payload: bytes,
        srgb: torch.Tensor,
        blind: torch.Tensor,
        *,
        rate: int,
        check: int | None = None,
    ) -> Decompressed:
        """Decode a payload of :meth:`compress` and reconstruct the RAW.

        Args:
            payload: the bytes of :attr:`Compressed.payload`.
            srgb, blind: as for :meth:`compress`.
            rate: the rate index the payload was coded with.
            check: the :attr:`Compressed.check` to compare with (None: no comparison).

        Raises:
            rawkit.io.bitstream.BitstreamError: the payload is not a whole number of 32-bit words, cannot be
                decoded, or the decoder's index maps disagree with the encoder's.
        """
        t = self._rate_index(rate)
        self._check(None, srgb, blind)
        if len(payload) % 4:
            raise BitstreamError(f"payload: expected a multiple of 4 bytes, got {len(payload)}")
        g, _, ctx = self._guides(srgb, blind)
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        coder = constriction.stream.stack.AnsCoder(words)
        family = constriction.stream.model.QuantizedGaussian(-SYMBOL_BOUND, SYMBOL_BOUND)
        decoded: list[torch.Tensor] = []

        def code(
            kind: str, mu: torch.Tensor, step: torch.Tensor, idx: torch.Tensor, sel: Any = None
        ) -> torch.Tensor:
            out = torch.zeros(mu.shape, dtype=torch.int32)
            m = torch.ones(mu.shape, dtype=torch.bool) if sel is None else sel.cpu()
            vals = torch.from_numpy(_decode(coder, family, idx[m]))
            out[m] = vals
            decoded.append(vals)
            return out.to(mu.device, mu.dtype)

        y_hat, z_hat, ctx2, actual = self._passes(ctx, t, code)
        if check is not None and actual != check:
            raise BitstreamError(
                "metadata: the decoder's step and scale maps differ from the encoder's (another "
                "model, or floating-point results that differ between the two machines)"
            )
        raw = self._decode(y_hat, z_hat, g, ctx2, blind)
        return Decompressed(raw, y_hat, z_hat, torch.cat(decoded))


def _decode(coder: Any, family: Any, idx: torch.Tensor) -> np.ndarray:
    n = idx.numel()
    try:
        out = coder.decode(family, np.zeros(n), SCALE_TABLE[idx.numpy()])
    except Exception as e:  # constriction raises its own errors on exhausted streams
        raise BitstreamError(f"metadata: the payload cannot be decoded ({e})") from e
    return np.asarray(out, dtype=np.int32)


def _consistency(step: torch.Tensor, idx: torch.Tensor) -> int:
    k = torch.round(8.0 * torch.log2(step)).to(torch.int16).cpu().numpy()
    return zlib.crc32(idx.to(torch.int16).numpy().tobytes(), zlib.crc32(k.tobytes()))
