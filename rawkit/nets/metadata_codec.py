r"""Learned compact metadata (R2LCM, Wang et al., IJCV 2024, ``001_*``): a latent codec
that stores a few hundred bytes beside the sRGB so that the RAW can be recovered.

Everything the decoder sees besides the bytes is the sRGB image and a *blind* packed-RAW
estimate ``b`` made from it (e.g. :func:`rawkit.pipelines.blind_unprocess`).  Shapes:
sRGB ``x`` ``(B, 3, H, W)``, packed RAW ``r`` and ``b`` ``(B, 4, h, w)`` with ``h = H/2``,
latent ``y`` ``(B, C, h/8, w/8)`` (one latent vector per 16 x 16 sRGB pixels).

**Asymmetric, hybrid resolutions** (the abstract's backbone).  The encoder is the deep
part: three stride-2 convolutions from RAW + sRGB to the 1/8 (packed) latent.  The
decoder is light and works at two resolutions at once: at the latent resolution it turns
:math:`\hat y` and sRGB context into a field of per-pixel affine colour transforms
:math:`A` (4 x 5), which is upsampled bilinearly; at full packed resolution sRGB
features and the upsampled latent features give a residual:

.. math::  \hat r = A\!\uparrow \cdot [\,b;\,1\,] + g(\phi(x),\,F(\hat y)\!\uparrow)

so the latent only has to carry what the sRGB lacks (the per-image white balance and
exposure, clipped highlights, the lens shading) at a low resolution, while edges come
from the full-resolution sRGB.

**sRGB-guided adaptive precision.**  A per-position, per-channel step size is predicted
from the sRGB context :math:`c = \psi(x, b)` (at the latent resolution) and the rate
index :math:`t` through monotone per-channel gains :math:`\gamma_t`:

.. math::  \log \Delta = \mathrm{round}_{1/8}\big(\log_2\text{-step}(c) - \log_2 \gamma_t\big),
           \quad s = \mathrm{round}\big((y - \mu)/\Delta\big), \quad \hat y = \mu + \Delta s

with the step snapped to the fixed table :data:`STEP_TABLE` (1/8-octave spacing).

**sRGB-guided context model** (checkerboard, two passes).  Anchors
(:math:`(i + j)` even) get :math:`(\mu, \sigma)` from the sRGB context only; the others
from the sRGB context and the decoded anchors (a 5 x 5 convolution over the anchor
grid).  Each symbol's probability is a discretised Gaussian in step units,

.. math::  p(s) = \Phi\!\big(\tfrac{s + 1/2}{\sigma_q}\big) - \Phi\!\big(\tfrac{s - 1/2}{\sigma_q}\big),
           \quad \sigma_q = \mathrm{SCALE\_TABLE}[\mathrm{nearest}(\sigma/\Delta)]

where the scale is snapped to :data:`SCALE_TABLE` (as CompressAI's scale tables do) so
that the encoder and the decoder use identical probabilities; the bits are
:math:`-\sum \log_2 p(s)` (the estimated rate) and :func:`compress` codes the symbols
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
    >>> torch.equal(rec.y_hat, code.y_hat)
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
LAMBDAS = tuple(float(v) for v in np.geomspace(300.0, 60000.0, 8))
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
        y_hat: ``(1, C, h', w')`` the latent the decoder will reproduce.
        symbols: ``(1, C, h', w')`` int32 coded symbols.
        scale_index: ``(1, C, h', w')`` int64 index into :data:`SCALE_TABLE` of each
            symbol's Gaussian.
        latent_shape: ``(h', w')``.
    """

    payload: bytes
    check: int
    bits: float
    y_hat: torch.Tensor
    symbols: torch.Tensor
    scale_index: torch.Tensor
    latent_shape: tuple[int, int]


class Decompressed(NamedTuple):
    """A decoded latent and the RAW it gives (:meth:`MetadataCodecNet.decompress`)."""

    raw: torch.Tensor
    y_hat: torch.Tensor
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
        latent_channels: ``C``, channels of the latent.
        width: channels of the encoder, the sRGB context and the latent decoder.
        guide_width: channels of the full-resolution sRGB branch.
        rates: number of rate indices (>= 2).
        seed: seed of the initialisation (None: global generator).
    """

    def __init__(
        self,
        *,
        latent_channels: int = 12,
        width: int = 32,
        guide_width: int = 16,
        rates: int = 8,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        c = check_int(latent_channels, "latent_channels", minimum=1)
        w = check_int(width, "width", minimum=2)
        g = check_int(guide_width, "guide_width", minimum=2)
        n = check_int(rates, "rates", minimum=2)
        self.config = {
            "latent_channels": c, "width": w, "guide_width": g, "rates": n, "seed": seed,
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
                _conv(w, w, 3, 2), _act(), _conv(w, c),
            )  # fmt: skip
            self.step_head = _conv(w, c, 1)
            self.anchor_head = nn.Sequential(_conv(w, w), _act(), _conv(w, 2 * c, 1))
            self.anchor_context = _conv(c, w, 5)
            self.nonanchor_head = nn.Sequential(_conv(2 * w, w), _act(), _conv(w, 2 * c, 1))
            self.latent_decoder = nn.Sequential(_conv(c + w, w), _act(), _conv(w, w), _act())
            self.affine_head = _conv(w, 20, 1)
            self.lift = _conv(w, g, 1)
            self.refine = nn.Sequential(_conv(2 * g, g), _act(), _conv(g, 4))
            init_weights(self)
            # Start as the blind estimate: identity affine map, no residual.
            nn.init.zeros_(self.affine_head.weight)
            with torch.no_grad():
                self.affine_head.bias.copy_(torch.eye(4, 5).flatten())
            nn.init.zeros_(self.refine[-1].weight)
            nn.init.constant_(self.step_head.bias, 0.0)
            self.rate_base = nn.Parameter(torch.zeros(c))
            self.rate_increments = nn.Parameter(torch.full((n - 1, c), 0.5))
        self._tag: int | None = None

    # ------------------------------------------------------------------ pieces

    @property
    def rates(self) -> int:
        """Number of rate indices."""
        return int(self.config["rates"])

    def log2_gain(self, rate: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` :math:`\\log_2 \\gamma_t` of rate indices ``rate`` ``(B,)``
        (strictly increasing in ``t``)."""
        inc = F.softplus(self.rate_increments)
        cum = torch.cat([torch.zeros_like(inc[:1]), inc.cumsum(0)], 0) + self.rate_base
        return cum[rate] / math.log(2.0)

    def _guides(self, srgb: torch.Tensor, blind: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g = torch.cat([F.pixel_unshuffle(srgb, 2), blind], 1)
        h, w = g.shape[-2:]
        ph, pw = (-h) % _DOWN, (-w) % _DOWN
        gp = F.pad(g, (0, pw, 0, ph), mode="replicate") if ph or pw else g
        return g, gp, self.context(gp)

    def _step(self, ctx: torch.Tensor, rate: torch.Tensor, *, hard: bool) -> torch.Tensor:
        log2_step = self.step_head(ctx) - self.log2_gain(rate)[:, :, None, None]
        k = (8.0 * log2_step).clamp(_STEP_K0, _STEP_K0 + len(STEP_TABLE) - 1)
        if hard:  # a table lookup: the same float32 bits on every machine
            i = (torch.round(k) - _STEP_K0).long()
            return _STEPS_F32.to(k.device)[i]
        return torch.exp2(_round_ste(k) / 8.0)

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
        self, y_hat: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor
    ) -> torch.Tensor:
        """Decoder: dequantised latent + sRGB + blind estimate -> ``(B, 4, h, w)`` RAW."""
        g, _, ctx = self._guides(srgb, blind)
        return self._decode(y_hat, g, ctx, blind)

    def _decode(
        self, y_hat: torch.Tensor, g: torch.Tensor, ctx: torch.Tensor, blind: torch.Tensor
    ) -> torch.Tensor:
        h, w = blind.shape[-2:]
        f = self.latent_decoder(torch.cat([y_hat, ctx], 1))
        up = lambda t: F.interpolate(t, scale_factor=_DOWN, mode="bilinear")[..., :h, :w]  # noqa: E731
        a = up(self.affine_head(f)).unflatten(1, (4, 5))
        basis = torch.cat([blind, torch.ones_like(blind[:, :1])], 1)
        affine = (a * basis[:, None]).sum(2)
        return affine + self.refine(torch.cat([self.guide(g), up(self.lift(f))], 1))

    # ------------------------------------------------------------------ training

    def forward(
        self, raw: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor, *, rate: torch.Tensor
    ) -> CodecOutput:
        """Training pass with estimated bits (rounding with straight-through gradients
        for the decoder, additive uniform noise for the rate).

        Args:
            raw: ``(B, 4, h, w)`` packed RAW in ``[0, 1]``.
            srgb: ``(B, 3, 2h, 2w)`` sRGB in ``[0, 1]``.
            blind: ``(B, 4, h, w)`` blind RAW estimate from the sRGB.
            rate: ``(B,)`` int64 rate indices in ``[0, rates)``.
        """
        self._check(raw, srgb, blind)
        g, gp, ctx = self._guides(srgb, blind)
        rp = F.pad(
            raw,
            (0, gp.shape[-1] - raw.shape[-1], 0, gp.shape[-2] - raw.shape[-2]),
            mode="replicate",
        )
        y = self.encoder(torch.cat([rp, gp], 1))
        step = self._step(ctx, rate, hard=False)
        mask = checkerboard(*y.shape[-2:], device=y.device)
        mu_a, sig_a = self._params(ctx, None)
        u_a = (y - mu_a) / step
        y_hat_a = (mu_a + step * _round_ste(u_a)) * mask
        mu_n, sig_n = self._params(ctx, y_hat_a)
        mu = mask * mu_a + (1 - mask) * mu_n
        sig = mask * sig_a + (1 - mask) * sig_n
        u = (y - mu) / step
        y_hat = mu + step * _round_ste(u)
        noisy = u + (torch.rand_like(u) - 0.5) if self.training else torch.round(u)
        scale = (sig / step).clamp(float(SCALE_TABLE[0]), float(SCALE_TABLE[-1]))
        bits = _gauss_bits(noisy, scale).flatten(1).sum(1)
        return CodecOutput(self._decode(y_hat, g, ctx, blind), bits, y_hat, step)

    # ------------------------------------------------------------------ coding

    def _check(self, raw: torch.Tensor | None, srgb: torch.Tensor, blind: torch.Tensor) -> None:
        check_image(srgb, "srgb", channels=3, even=True, like=self)
        check_image(blind, "blind", channels=4, even=False, like=self)
        want = (srgb.shape[0], 4, srgb.shape[-2] // 2, srgb.shape[-1] // 2)
        if tuple(blind.shape) != want:
            raise ValueError(
                f"blind: expected shape {want} for srgb {tuple(srgb.shape)}, got {tuple(blind.shape)}"
            )
        if raw is not None:
            check_image(raw, "raw", channels=4, even=False, like=self)
            if tuple(raw.shape) != want:
                raise ValueError(
                    f"raw: expected shape {want} for srgb {tuple(srgb.shape)}, got {tuple(raw.shape)}"
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

    def _pass(
        self, ctx: torch.Tensor, step: torch.Tensor, y_hat_anchor: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mu, sig = self._params(ctx, y_hat_anchor)
        ratio = (sig / step).double().log().cpu()
        idx = (ratio.unsqueeze(-1) - _LOG_SCALES).abs().argmin(-1)
        return mu, idx

    @torch.no_grad()
    def compress(
        self, raw: torch.Tensor, srgb: torch.Tensor, blind: torch.Tensor, *, rate: int
    ) -> Compressed:
        """Quantise and entropy-code the latent of one image (batch of 1).

        Args:
            raw: ``(1, 4, h, w)`` packed RAW; srgb: ``(1, 3, 2h, 2w)``; blind: ``(1, 4, h, w)``.
            rate: rate index in ``[0, rates)``.

        Returns:
            :class:`Compressed` (payload, consistency check, estimated bits, latent).
        """
        t = self._rate_index(rate)
        self._check(raw, srgb, blind)
        if srgb.shape[0] != 1:
            raise ValueError(f"srgb: expected a batch of 1 image, got {srgb.shape[0]}")
        _, gp, ctx = self._guides(srgb, blind)
        rp = F.pad(
            raw,
            (0, gp.shape[-1] - raw.shape[-1], 0, gp.shape[-2] - raw.shape[-2]),
            mode="replicate",
        )
        y = self.encoder(torch.cat([rp, gp], 1))
        step = self._step(ctx, torch.tensor([t], device=y.device), hard=True)
        mask = checkerboard(*y.shape[-2:], device=y.device).bool()
        mu_a, idx_a = self._pass(ctx, step, None)
        s_a = torch.round((y - mu_a) / step).clamp(-SYMBOL_BOUND, SYMBOL_BOUND)
        y_hat_a = torch.where(mask, mu_a + step * s_a, torch.zeros_like(y))
        mu_n, idx_n = self._pass(ctx, step, y_hat_a)
        s_n = torch.round((y - mu_n) / step).clamp(-SYMBOL_BOUND, SYMBOL_BOUND)
        y_hat = torch.where(mask, y_hat_a, mu_n + step * s_n)
        m = mask.expand_as(y).cpu()
        sym = torch.where(mask, s_a, s_n).to(torch.int32).cpu()
        idx = torch.where(m, idx_a, idx_n)
        coder = constriction.stream.stack.AnsCoder()
        family = constriction.stream.model.QuantizedGaussian(-SYMBOL_BOUND, SYMBOL_BOUND)
        for sel in (~m, m):  # the stack decodes the anchors first
            s = sym[sel].numpy()
            coder.encode_reverse(s, family, np.zeros(len(s)), SCALE_TABLE[idx[sel].numpy()])
        payload = coder.get_compressed().astype("<u4").tobytes()
        scale = torch.from_numpy(SCALE_TABLE)[idx]
        bits = float(_gauss_bits(sym.double(), scale).sum())
        check = _consistency(step, idx)
        return Compressed(payload, check, bits, y_hat, sym, idx, tuple(y.shape[-2:]))

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
            BitstreamError: the payload is not a whole number of 32-bit words, cannot be
                decoded, or the decoder's index maps disagree with the encoder's.
        """
        t = self._rate_index(rate)
        self._check(None, srgb, blind)
        if len(payload) % 4:
            raise BitstreamError(f"payload: expected a multiple of 4 bytes, got {len(payload)}")
        g, _, ctx = self._guides(srgb, blind)
        step = self._step(ctx, torch.tensor([t], device=ctx.device), hard=True)
        c = int(self.config["latent_channels"])
        mask = checkerboard(*ctx.shape[-2:], device=ctx.device).bool().expand(1, c, -1, -1)
        m = mask.cpu()
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        coder = constriction.stream.stack.AnsCoder(words)
        family = constriction.stream.model.QuantizedGaussian(-SYMBOL_BOUND, SYMBOL_BOUND)
        sym = torch.zeros(m.shape, dtype=torch.int32)
        mu_a, idx_a = self._pass(ctx, step, None)
        sym[m] = torch.from_numpy(_decode(coder, family, idx_a[m]))
        s = sym.to(step.device, step.dtype)
        y_hat_a = torch.where(mask, mu_a + step * s, torch.zeros_like(step))
        mu_n, idx_n = self._pass(ctx, step, y_hat_a)
        sym[~m] = torch.from_numpy(_decode(coder, family, idx_n[~m]))
        s = sym.to(step.device, step.dtype)
        y_hat = torch.where(mask, y_hat_a, mu_n + step * s)
        if check is not None and _consistency(step, torch.where(m, idx_a, idx_n)) != check:
            raise BitstreamError(
                "metadata: the decoder's step and scale maps differ from the encoder's (another "
                "model, or floating-point results that differ between the two machines)"
            )
        return Decompressed(self._decode(y_hat, g, ctx, blind), y_hat, sym)


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
