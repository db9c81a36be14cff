r"""FAGDN: the Frame Affinity Guided De-rendering Network (CVPR 2024, ``002_*``).

Zhang, Han, Zhou, Shen, Xu, Liu, "Leveraging Frame Affinity for sRGB-to-RAW Video
De-rendering", CVPR 2024.  One step of the chain (Fig. 3-4) maps the previous frame's
sRGB and RAW :math:`(x_t, y_t)`, the current sRGB :math:`x_{t+1}` and the flow
:math:`o_{t\to t+1}` (Eq. 4, computed outside: :func:`rawkit.flow.estimate_flow`, not
differentiable) to the current RAW :math:`\hat y_{t+1}`:

1. **Temporal affinity prior** -- :math:`\tilde y_{t+1} = \Omega(y_t, o)` (Eq. 5,
   :func:`rawkit.flow.warp_packed`), :math:`\tilde x_{t+1} = \Omega(x_t, o)` and the
   confidence map :math:`M = \sigma(\mathrm{conv}([\tilde x_{t+1}, x_{t+1}]))` (Eq. 6,
   :class:`ConfidenceHead`).
2. **Spatial feature fusion and mapping** -- two encoders of the same structure and
   separate weights, ``Encoder_cur`` on :math:`[x_{t+1}, \tilde y_{t+1}, M]` and
   ``Encoder_ref`` on :math:`[x_t, y_t]` (Eq. 7); a Global and Local feature
   Aggregation module (:class:`GLA`, Fig. 6) adds what the reference features hold to
   the current ones at every encoder level; a U-Net decoder with the current encoder's
   skips gives the RAW and, at each coarser decoder level, an auxiliary output for the
   multi-scale loss of Eq. (8) (:func:`rawkit.losses.multiscale_loss`).

**Resolution.**  Everything runs at the packed RAW's resolution ``H/2 x W/2``: sRGB
frames enter through a pixel-unshuffle (each 2x2 block becomes 12 channels, as in
:class:`rawkit.nets.UNet`), the confidence map is predicted per packed site, and the
flow, given on the sRGB grid, warps each Bayer plane at its own sites.

**Added to the paper: a base that cannot drift** (``base_input=True``).  In the
paper's formulation every step starts from the warped previous RAW, so an imperfect
step's error is carried into all later frames (rawkit's shipped weights, 12,000 CPU
steps: 38.4 dB at frame 2, 24.0 dB at frame 30 of the synthetic test videos).  With
``base_input=True`` the network also receives a per-frame estimate ``base`` of the
current RAW that does not depend on earlier outputs (the inverse ISP calibrated on the
stored keyframe, :mod:`rawkit.pipelines.video.calibrate`), as a fourth input of
``Encoder_cur``, and predicts a correction of it:
:math:`\hat y_{t+1} = b_{t+1} + \mathrm{head}(\cdot)`.  The paper's inputs (Eq. 5-7:
:math:`x_{t+1}`, :math:`\tilde y_{t+1}`, :math:`M`; :math:`x_t, y_t` in the reference
branch) are unchanged, so the network can still take from the warped reference what
the base lacks (clipped highlights).  The heads start at zero: an untrained network
returns the base exactly.  ``base_input=False`` is the paper's formulation.

**Choices the paper leaves open** (each stated where it is made):

* the output is the warped reference plus a learned correction,
  :math:`\hat y = \tilde y_{t+1} + \mathrm{head}(\cdot)` (the paper: "using the
  reference RAW as starting status ... repair pixels predicted inaccurately"); the
  auxiliary outputs likewise add to the area-downsampled :math:`\tilde y`; without
  warping the starting point is zero (with ``base_input=True`` it is ``base``).  The
  output is not clipped;
* GLA embeds each ``p x p`` patch with a ``p x p``-strided convolution (query from the
  current features, key and value from the reference ones), attends over all patches
  and broadcasts the result back over the patch's pixels (global); pixels attend to the
  ``p^2`` pixels of the co-located reference patch through 1x1 projections (local);
  both are added to the current features.  The patch side halves with every level
  (``patch, patch/2, ...``, at least 1) so that the number of patches stays the same;
  the output projections start at zero (GLA starts as the identity);
* LeakyReLU(0.2), He initialisation and bias, as :class:`rawkit.nets.UNet`.

**Ablations** (Table 3, in the paper's order): ``warping=False`` (``Encoder_cur`` sees
:math:`x_{t+1}` only: no :math:`\tilde y`, no :math:`M`), ``confidence=False`` (no
:math:`M`), ``gla=False`` (no ``Encoder_ref``, no GLA), and no auxiliary loss (a
training setting: the network still returns its auxiliary outputs, the trainer gives
them weight 0; see :mod:`rawkit.pipelines.video`).

Example:
    >>> import torch
    >>> net = FAGDN(width=8, depth=3, patch=4, seed=0)
    >>> x0, x1 = torch.rand(2, 1, 3, 32, 48).unbind(0)
    >>> out = net(x0, torch.rand(1, 4, 16, 24), x1, torch.zeros(1, 2, 32, 48))
    >>> out.raw.shape, [a.shape[-2:] for a in out.aux], out.confidence.shape
    (torch.Size([1, 4, 16, 24]), [torch.Size([4, 6]), torch.Size([8, 12])], torch.Size([1, 1, 16, 24]))
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from rawkit.cfa import Pattern, check_pattern
from rawkit.flow import warp, warp_packed
from rawkit.nets.unet import check_image, check_int, conv_block, init_weights, seeded_init

__all__ = ["GLA", "FAGDN", "ConfidenceHead", "FAGDNOutput"]

_SLOPE = 0.2


class ConfidenceHead(nn.Module):
    r"""The learned confidence map of Eq. (6): :math:`M = \sigma(\mathrm{conv}([\tilde x, x]))`.

    Three 3x3 convolutions (LeakyReLU between) on the pixel-unshuffled pair (24
    channels), a sigmoid; one value per packed RAW site.

    Shapes: ``warped_srgb``, ``srgb`` ``(B, 3, H, W)`` (even ``H, W``) ->
    ``(B, 1, H/2, W/2)`` in ``(0, 1)``; 1 = the warped reference can be trusted.

    Example:
        >>> import torch
        >>> ConfidenceHead(8)(torch.rand(2, 3, 8, 6), torch.rand(2, 3, 8, 6)).shape
        torch.Size([2, 1, 4, 3])
    """

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        check_int(width, "width", minimum=1)
        self.body = nn.Sequential(
            nn.PixelUnshuffle(2),
            nn.Conv2d(24, width, 3, padding=1),
            nn.LeakyReLU(_SLOPE),
            nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(_SLOPE),
            nn.Conv2d(width, 1, 3, padding=1),
        )

    def forward(self, warped_srgb: torch.Tensor, srgb: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.body(torch.cat([warped_srgb, srgb], dim=1)))


def _to_patches(t: torch.Tensor, p: int) -> torch.Tensor:
    """``(B, d, H, W)`` -> ``(B * N, p * p, d)`` with ``N = HW / p^2`` patches."""
    b, d, h, w = t.shape
    t = t.reshape(b, d, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return t.reshape(b * (h // p) * (w // p), p * p, d)


def _from_patches(t: torch.Tensor, b: int, h: int, w: int, p: int) -> torch.Tensor:
    """Inverse of :func:`_to_patches`."""
    d = t.shape[-1]
    t = t.reshape(b, h // p, w // p, p, p, d).permute(0, 5, 1, 3, 2, 4)
    return t.reshape(b, d, h, w)


class GLA(nn.Module):
    r"""Global and Local feature Aggregation (FAGDN Fig. 6).

    For current features ``cur`` and reference features ``ref`` ``(B, C, H, W)`` split
    into ``p x p`` patches (``H, W`` multiples of ``p``):

    * global -- each patch embedded as one vector (a ``p x p`` convolution of stride
      ``p``), current patches as queries, reference patches as keys and values;
      scaled dot-product attention over all ``HW/p^2`` patches; the result is projected
      back to ``C`` channels and repeated over the patch's pixels;
    * local -- each current pixel (query) attends to the ``p^2`` pixels of the
      co-located reference patch (keys, values), through 1x1 projections;

    and returns ``cur + global + local``.  Output projections start at zero.

    Example:
        >>> import torch
        >>> gla = GLA(8, patch=4)
        >>> cur = torch.rand(1, 8, 8, 12)
        >>> torch.equal(gla(cur, torch.rand(1, 8, 8, 12)), cur)  # zero-initialised outputs
        True
    """

    def __init__(self, channels: int, *, patch: int, dim: int | None = None) -> None:
        super().__init__()
        check_int(channels, "channels", minimum=1)
        self.patch = check_int(patch, "patch", minimum=1)
        d = check_int(channels if dim is None else dim, "dim", minimum=1)
        self.q_global = nn.Conv2d(channels, d, patch, stride=patch)
        self.k_global = nn.Conv2d(channels, d, patch, stride=patch)
        self.v_global = nn.Conv2d(channels, d, patch, stride=patch)
        self.out_global = nn.Conv2d(d, channels, 1)
        self.q_local = nn.Conv2d(channels, d, 1)
        self.k_local = nn.Conv2d(channels, d, 1)
        self.v_local = nn.Conv2d(channels, d, 1)
        self.out_local = nn.Conv2d(d, channels, 1)
        for m in (self.out_global, self.out_local):
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def extra_repr(self) -> str:
        return f"patch={self.patch}"

    def forward(self, cur: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        b, _, h, w = cur.shape
        p = self.patch
        if h % p or w % p:
            raise ValueError(f"cur: expected H, W multiples of patch={p}, got {(h, w)}")
        q = self.q_global(cur).flatten(2).transpose(1, 2)  # (B, N, d)
        k = self.k_global(ref).flatten(2).transpose(1, 2)
        v = self.v_global(ref).flatten(2).transpose(1, 2)
        g = F.scaled_dot_product_attention(q, k, v)  # (B, N, d)
        g = g.transpose(1, 2).reshape(b, -1, h // p, w // p)
        g = self.out_global(g).repeat_interleave(p, dim=-2).repeat_interleave(p, dim=-1)
        ql = _to_patches(self.q_local(cur), p)
        kl = _to_patches(self.k_local(ref), p)
        vl = _to_patches(self.v_local(ref), p)
        loc = _from_patches(F.scaled_dot_product_attention(ql, kl, vl), b, h, w, p)
        return cur + g + self.out_local(loc)


class FAGDNOutput(NamedTuple):
    """What one FAGDN step returns (all at packed resolution ``h = H/2, w = W/2``).

    Attributes:
        raw: ``(B, 4, h, w)`` the reconstructed RAW :math:`\\hat y_{t+1}` (not clipped).
        aux: decoder outputs from coarse to fine, ``(B, 4, h/2^n, w/2^n)`` for
            ``n = depth-1 .. 1`` (Eq. 8's :math:`\\hat y^n_{t+1}`).
        confidence: ``(B, 1, h, w)`` the map :math:`M` (Eq. 6), or None without it.
        warped_raw: ``(B, 4, h, w)`` the reference :math:`\\tilde y_{t+1}` (Eq. 5), or
            None without warping.
    """

    raw: torch.Tensor
    aux: tuple[torch.Tensor, ...]
    confidence: torch.Tensor | None
    warped_raw: torch.Tensor | None


class _Encoder(nn.Module):
    def __init__(self, in_channels: int, widths: list[int]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            conv_block(in_channels if i == 0 else widths[i - 1], c) for i, c in enumerate(widths)
        )

    def level(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return self.blocks[i](x if i == 0 else F.max_pool2d(x, 2))


class FAGDN(nn.Module):
    r"""Frame Affinity Guided De-rendering Network, one step of the chain (module notes).

    Shapes (``B`` frames pairs, ``H, W`` even):
        - ``srgb_prev`` :math:`x_t`, ``srgb_cur`` :math:`x_{t+1}`: ``(B, 3, H, W)`` float.
        - ``raw_prev`` :math:`y_t`: ``(B, 4, H/2, W/2)`` packed ``[R, Gr, Gb, B]``.
        - ``flow`` :math:`o_{t\to t+1}`: ``(B, 2, H, W)`` backward flow in sRGB pixels,
          ``srgb_cur(p) ~ srgb_prev(p + flow(p))`` (:func:`rawkit.flow.estimate_flow`).
        - ``base`` (keyword, only with ``base_input=True``): ``(B, 4, H/2, W/2)`` the
          drift-free estimate :math:`b_{t+1}` the output corrects.
        - returns :class:`FAGDNOutput`; same dtype and device as the parameters.

    Any ``H/2, W/2`` works: the working tensors are padded (replicate) to multiples of
    ``max(patch, 2**(depth-1))`` and cropped back.

    Args:
        width: channels of the first level; level ``l`` has ``width * 2**l``.
        depth: encoder levels (``depth - 1`` poolings; ``depth - 1`` auxiliary outputs,
            3 as in Eq. 8 for the default 4).
        patch: GLA patch side at the first level (halved per level, at least 1).
        confidence_width: channels of the confidence head.
        pattern: Bayer pattern of the packed RAW (where each plane's sites are).
        warping, confidence, gla: the Table 3 switches (module notes).
        base_input: take a drift-free per-frame estimate ``base`` ``(B, 4, H/2, W/2)``
            in ``forward`` and correct it (added to the paper, module notes); False:
            the paper's formulation (the warped reference is the starting point).
        seed: reproducible initialisation without touching the global generator.

    Raises:
        TypeError, ValueError: bad settings; in ``forward`` inputs of the wrong type,
            shape or size.
    """

    def __init__(
        self,
        *,
        width: int = 12,
        depth: int = 4,
        patch: int = 8,
        confidence_width: int = 16,
        pattern: Pattern = "RGGB",
        warping: bool = True,
        confidence: bool = True,
        gla: bool = True,
        base_input: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        check_int(width, "width", minimum=1)
        check_int(depth, "depth", minimum=1)
        check_int(patch, "patch", minimum=1)
        check_int(confidence_width, "confidence_width", minimum=1)
        check_pattern(pattern)
        switches = (("warping", warping), ("confidence", confidence), ("gla", gla),
                    ("base_input", base_input))  # fmt: skip
        for name, v in switches:
            if not isinstance(v, bool):
                raise TypeError(f"{name}: expected a bool, got {type(v).__name__}")
        self.width, self.depth, self.patch = width, depth, patch
        self.confidence_width, self.pattern = confidence_width, pattern
        self.warping, self.use_confidence, self.gla = warping, confidence and warping, gla
        self.base_input = base_input
        widths = [width * 2**i for i in range(depth)]
        self.patches = [max(patch // 2**i, 1) for i in range(depth)]
        cur_in = 12 + (4 if warping else 0) + (1 if self.use_confidence else 0)
        cur_in += 4 if base_input else 0
        with seeded_init(seed):
            self.confidence_head = ConfidenceHead(confidence_width) if self.use_confidence else None
            self.encoder_cur = _Encoder(cur_in, widths)
            self.encoder_ref = _Encoder(16, widths) if gla else None
            self.glas = (
                nn.ModuleList(GLA(c, patch=p) for c, p in zip(widths, self.patches, strict=True))
                if gla
                else None
            )
            self.ups = nn.ModuleList(
                nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth - 1)
            )
            self.decoders = nn.ModuleList(
                conv_block(2 * widths[i], widths[i]) for i in range(depth - 1)
            )
            self.heads = nn.ModuleList(nn.Conv2d(c, 4, 1) for c in widths)  # one per level
            init_weights(self)
            if self.glas is not None:
                for g in self.glas:
                    for m in (g.out_global, g.out_local):
                        nn.init.zeros_(m.weight)
                        nn.init.zeros_(m.bias)
            for hd in self.heads:  # start from the base (a zero correction)
                nn.init.zeros_(hd.weight)
                nn.init.zeros_(hd.bias)

    @property
    def config(self) -> dict[str, Any]:
        """Constructor settings as plain values (``FAGDN(**net.config)`` rebuilds it)."""
        return {
            "width": self.width,
            "depth": self.depth,
            "patch": self.patch,
            "confidence_width": self.confidence_width,
            "pattern": self.pattern,
            "warping": self.warping,
            "confidence": self.use_confidence,
            "gla": self.gla,
            "base_input": self.base_input,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())

    def forward(
        self,
        srgb_prev: torch.Tensor,
        raw_prev: torch.Tensor,
        srgb_cur: torch.Tensor,
        flow: torch.Tensor,
        *,
        base: torch.Tensor | None = None,
    ) -> FAGDNOutput:
        check_image(srgb_prev, "srgb_prev", channels=3, even=True)
        check_image(srgb_cur, "srgb_cur", channels=3, even=True)
        check_image(raw_prev, "raw_prev", channels=4, even=False)
        check_image(flow, "flow", channels=2, even=True)
        shape = srgb_cur.shape
        if (
            srgb_prev.ndim != 4
            or srgb_prev.shape != shape
            or flow.shape != (shape[0], 2, *shape[2:])
        ):
            raise ValueError(
                f"srgb_prev, srgb_cur, flow: expected (B, 3, H, W), (B, 3, H, W), (B, 2, H, W), "
                f"got {tuple(srgb_prev.shape)}, {tuple(shape)}, {tuple(flow.shape)}"
            )
        if raw_prev.shape != (shape[0], 4, shape[2] // 2, shape[3] // 2):
            raise ValueError(
                f"raw_prev: expected {(shape[0], 4, shape[2] // 2, shape[3] // 2)}, "
                f"got {tuple(raw_prev.shape)}"
            )
        if self.base_input:
            if base is None:
                raise ValueError(
                    "base: expected (B, 4, H/2, W/2) (the network has base_input=True)"
                )
            check_image(base, "base", channels=4, even=False)
            if base.shape != raw_prev.shape:
                raise ValueError(f"base: expected {tuple(raw_prev.shape)}, got {tuple(base.shape)}")
        elif base is not None:
            raise ValueError("base: expected None (the network has base_input=False)")
        h, w = shape[2] // 2, shape[3] // 2
        x_cur = F.pixel_unshuffle(srgb_cur, 2)
        cur_in = [x_cur]
        warped_raw = conf = None
        if self.warping:
            warped_raw = warp_packed(raw_prev, flow, pattern=self.pattern)
            cur_in.append(warped_raw)
            if self.confidence_head is not None:
                warped_srgb = warp(srgb_prev, flow)
                conf = self.confidence_head(warped_srgb, srgb_cur)
                cur_in.append(conf)
        if base is not None:
            cur_in.append(base)
        m = max(self.patches[0], 2 ** (self.depth - 1))
        ph, pw = (-h) % m, (-w) % m

        def pad(t: torch.Tensor) -> torch.Tensor:
            return F.pad(t, (0, pw, 0, ph), mode="replicate") if ph or pw else t

        cur = pad(torch.cat(cur_in, dim=1))
        ref = pad(torch.cat([F.pixel_unshuffle(srgb_prev, 2), raw_prev], 1)) if self.gla else None
        skips = []
        for i in range(self.depth):
            cur = self.encoder_cur.level(i, cur)
            if self.encoder_ref is not None and self.glas is not None and ref is not None:
                ref = self.encoder_ref.level(i, ref)
                cur = self.glas[i](cur, ref)
            skips.append(cur)
        start = base if base is not None else warped_raw
        start = pad(start) if start is not None else None
        outs = []
        x = skips[-1]
        for i in reversed(range(self.depth)):
            if i < self.depth - 1:
                x = self.decoders[i](torch.cat([self.ups[i](x), skips[i]], dim=1))
            y = self.heads[i](x)
            if start is not None:
                y = y + (F.avg_pool2d(start, 2**i) if i else start)
            outs.append(y)
        hh, ww = h + ph, w + pw
        crops = [
            o[..., : (h * o.shape[-2]) // hh, : (w * o.shape[-1]) // ww] for o in outs
        ]  # same fraction of the padded frame at every level
        return FAGDNOutput(crops[-1], tuple(crops[:-1]), conf, warped_raw)
