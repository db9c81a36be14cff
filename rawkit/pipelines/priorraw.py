r"""PriorRAW end to end (``000_*``): Alg. 1 encoder, Alg. 2 prior bank, Alg. 3 reconstructor.

Prior-metadata RAW reconstruction needs no per-image metadata: a bank of RAW values,
built offline from reference RAW images of the same camera, tells the reconstructor
what RAW usually lies behind a given sRGB context.  Three steps, one function each:

1. :func:`train_encoder` - **Alg. 1**, contrastive training of the
   :class:`~rawkit.nets.PixelSearchEncoder` by softmax assembly: for every target crop
   in a batch the other crops of the batch (from other scenes) are the references,
   ``FRAW_t = Softmax(f_t f_r^T / tau) RAW_r`` (Eq. 1-3, :func:`rawkit.search.assemble`)
   and the loss is the L2 distance (MSE) to the true ``RAW_t``; only the embeddings and
   the temperature ``tau`` learn, the reference RAW is fixed.
2. :func:`build_bank` - **Alg. 2**, the prior bank: the frozen encoder's features of
   every reference pixel, clustered (faiss spherical k-means) and grouped into
   ``n_clusters`` averaged entries of features, sRGB and RAW
   (:func:`rawkit.prior.build_prior_bank`).  :func:`reference_set` keeps every
   reference pixel instead, the "search the full reference set" comparison of Table 1.
3. :func:`train_reconstructor` - **Alg. 3**, the :class:`~rawkit.nets.PriorRAWNet`
   trained with the loss of **Eq. 9** (:func:`rawkit.losses.l2_ssim_loss`,
   ``alpha L2 + beta (1 - SSIM)`` on the packed RAW).  The encoder and the bank are
   fixed while it trains, so Eq. 4 (the assembly) is computed once per training image
   and cropped with it.  :func:`reconstruct` runs Alg. 3 on any image size: tiled with
   overlap (:func:`rawkit.pipelines.tiling.tiled_apply`), so a 24-megapixel photo needs
   memory for its input and output plus one tile's work.

:class:`PriorRAWPipeline` bundles the three trained parts with ``save``/``load`` (one
folder: ``encoder.pt``, ``bank.npz``, ``reconstructor.pt``), and
:func:`train_pipeline` runs Alg. 1-3 in one call.  Every trainer runs through
:func:`rawkit.nets.train` (seeded, resumable with ``checkpoint_dir``, DDP under
``torchrun``) and returns a :class:`~rawkit.pipelines.TrainResult`.

**Packed RAW.**  rawkit works on the packed grid ``(4, H/2, W/2)`` throughout (the
encoder's features, the bank's RAW and the output), where the paper's NUS experiments
use demosaiced RAW-RGB; the method is the same.

Example:
    >>> import torch
    >>> from rawkit.nets import PixelSearchEncoder, PriorRAWNet
    >>> from rawkit.prior import PriorBank
    >>> enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0)
    >>> g = torch.Generator().manual_seed(0)
    >>> bank = PriorBank(torch.randn(16, 8, generator=g).numpy(),
    ...                  torch.rand(16, 3, generator=g).numpy(), torch.rand(16, 4, generator=g).numpy())
    >>> net = PriorRAWNet(feature_dim=8, width=8, depth=2, seed=0)
    >>> raw = reconstruct(torch.rand(3, 40, 56, generator=g), model=net, encoder=enc, bank=bank,
    ...                   tile=32, overlap=8)
    >>> raw.shape
    torch.Size([4, 20, 28])
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rawkit._checks import check_choice
from rawkit._tensor import Array, to_tensor
from rawkit.io import load_checkpoint, load_weights, save_checkpoint
from rawkit.losses import l2_ssim_loss
from rawkit.nets import (
    ABLATIONS,
    BankTensors,
    PixelSearchEncoder,
    PriorRAWNet,
    PriorRAWOutput,
    UNet,
    assemble_prior,
    train,
)
from rawkit.pipelines._common import (
    Pair,
    RandomCrops,
    Timer,
    TrainResult,
    as_pairs,
    check_srgb,
    crops_length,
    lr_scheduler,
    module_id,
)
from rawkit.pipelines.tiling import tiled_apply
from rawkit.prior import PriorBank, build_prior_bank
from rawkit.search import assemble

__all__ = [
    "PIPELINE_FILES",
    "PriorRAWPipeline",
    "alg1_loss",
    "assemble_raw",
    "build_bank",
    "encode",
    "reconstruct",
    "reference_set",
    "train_encoder",
    "train_pipeline",
    "train_reconstructor",
]

#: Files of a saved :class:`PriorRAWPipeline` folder.
PIPELINE_FILES = {"model": "reconstructor.pt", "encoder": "encoder.pt", "bank": "bank.npz"}
_INFO = "pipeline.json"
_KIND = "rawkit.PriorRAWPipeline"


def _device(device: torch.device | str | None, module: nn.Module | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if module is not None:
        for p in module.parameters():
            return p.device
    return torch.device("cpu")


def _check_encoder(encoder: Any) -> PixelSearchEncoder:
    if not isinstance(encoder, PixelSearchEncoder):
        raise TypeError(
            f"encoder: expected a rawkit.nets.PixelSearchEncoder, got {type(encoder).__name__}"
        )
    return encoder


def _frozen(encoder: PixelSearchEncoder, device: torch.device) -> PixelSearchEncoder:
    """The encoder on ``device``, in eval mode, with its parameters frozen (so the bank stays valid)."""
    return encoder.to(device).eval().requires_grad_(False)


def _uses_prior(model: nn.Module) -> bool:
    return isinstance(model, PriorRAWNet) and model.use_prior


# --------------------------------------------------------------------------- Alg. 1


def alg1_loss(
    features: torch.Tensor, raw: torch.Tensor, groups: torch.Tensor, temperature: Any
) -> torch.Tensor:
    r"""Alg. 1's loss for a batch: every crop assembled from the others' RAW, L2 to its own.

    For target ``i``, the references are the pixels of every crop of another group
    (scene) in the batch (all other crops if the batch holds one group only):
    ``FRAW_i = Softmax(f_i f_r^T / tau) RAW_r`` (Eq. 2-3, chunked
    :func:`rawkit.search.assemble`), and the loss is the mean over targets of
    ``MSE(FRAW_i, RAW_i)``.  Differentiable w.r.t. the features and a tensor
    ``temperature``.

    Args:
        features: ``(B, C, h, w)`` encoder output for the batch, ``B >= 2``.
        raw: ``(B, R, h, w)`` the batch's packed RAW.
        groups: ``(B,)`` int group (scene) of each crop.
        temperature: ``tau`` (float or 0-d tensor, e.g. ``encoder.temperature``).

    Returns:
        The scalar loss.

    Example:
        >>> import torch
        >>> f = torch.nn.functional.normalize(torch.randn(3, 4, 2, 2), dim=1)
        >>> loss = alg1_loss(f, torch.rand(3, 4, 2, 2), torch.tensor([0, 1, 1]), 0.1)
        >>> loss.ndim, bool(loss >= 0)
        (0, True)
    """
    b, c = features.shape[:2]
    if b < 2:
        raise ValueError(f"features: Alg. 1 needs at least 2 crops per batch, got {b}")
    if raw.shape[0] != b or raw.shape[-2:] != features.shape[-2:]:
        raise ValueError(
            f"raw: expected ({b}, R, {features.shape[-2]}, {features.shape[-1]}), got {tuple(raw.shape)}"
        )
    f_pts = features.movedim(1, -1)  # (B, h, w, C)
    r_pts = raw.movedim(1, -1)
    ids = torch.arange(b, device=features.device)
    losses = []
    for i in range(b):
        ref = groups != groups[i]
        if not bool(ref.any()):
            ref = ids != i
        f_r = f_pts[ref].reshape(-1, c)
        v_r = r_pts[ref].reshape(-1, raw.shape[1])
        out = assemble(features[i] / temperature, f_r, v_r)  # Eq. 2-3
        losses.append(F.mse_loss(out, raw[i]))  # type: ignore[arg-type]
    return torch.stack(losses).mean()


def _alg1_step(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    enc = getattr(model, "module", model)  # the DDP wrapper holds the encoder as .module
    f = model(batch["srgb"])
    return alg1_loss(f, batch["packed"], batch["group"], enc.temperature)


def train_encoder(
    data: Any,
    *,
    encoder: PixelSearchEncoder | None = None,
    steps: int = 300,
    batch_size: int = 6,
    crop: int = 64,
    lr: float = 1e-3,
    schedule: str = "cosine",
    seed: int = 0,
    device: torch.device | str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Alg. 1: train the Pixel Searching Encoder by softmax assembly (see the module notes).

    Args:
        data: the training images (anything :func:`rawkit.pipelines.as_pairs` takes);
            crops of different groups (scenes) serve as each other's references.
        encoder: the network to train (in place); ``None`` builds
            ``PixelSearchEncoder(dim=32, width=32, blocks=2, seed=seed)``.
        steps, batch_size, lr, seed, device, checkpoint_dir, progress: as
            :func:`rawkit.nets.train` (Adam).
        schedule: ``"cosine"`` (decay to 0 over ``steps``) or ``"constant"``.
        crop: side of the random sRGB crops (even).

    Returns:
        :class:`~rawkit.pipelines.TrainResult` with the trained encoder (its learned
        temperature is ``encoder.temperature``).

    Raises:
        TypeError, ValueError: bad data or settings (``batch_size < 2``, crops larger
            than the images).
    """
    pairs = as_pairs(data)
    if encoder is None:
        encoder = PixelSearchEncoder(dim=32, width=32, blocks=2, seed=seed)
    _check_encoder(encoder)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size: Alg. 1 needs at least 2 crops per batch, got {batch_size!r}")
    crops = RandomCrops(pairs, crop=crop, length=crops_length(steps, batch_size), seed=seed)
    encoder.requires_grad_(True)
    with Timer() as t:
        hist = train(
            encoder, _alg1_step, crops, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
            scheduler=lr_scheduler(schedule, steps), device=device,
            checkpoint_dir=checkpoint_dir, progress=progress, desc="Alg. 1 encoder",
        )  # fmt: skip
    encoder.eval()
    return TrainResult(encoder, hist, t.seconds)


# --------------------------------------------------------------------------- Alg. 2


def encode(
    srgb: Array,
    *,
    encoder: PixelSearchEncoder,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
) -> Array:
    """The (frozen) encoder's features of an image, tiled: ``(*, 3, H, W) -> (*, C, H/2, W/2)``.

    Not differentiable (inference).  NumPy in -> NumPy out.

    Example:
        >>> import torch
        >>> enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0)
        >>> encode(torch.rand(3, 36, 44), encoder=enc, tile=24, overlap=8).shape
        torch.Size([8, 18, 22])
    """
    check_srgb(srgb)
    enc = _frozen(_check_encoder(encoder), _device(device, encoder))
    dev = _device(device, enc)

    def fn(t: torch.Tensor) -> torch.Tensor:
        return enc(t.to(dev, torch.float32)).to(t.device)

    return tiled_apply(fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2)


def _reference_batches(
    pairs: Sequence[Pair], encoder: PixelSearchEncoder, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """``(features, srgb, packed)`` of every reference image, one image at a time."""
    for p in pairs:
        f = encode(p.srgb, encoder=encoder, device=device)
        yield f[None].cpu(), p.srgb[None], p.packed[None]


def build_bank(
    encoder: PixelSearchEncoder,
    data: Any,
    *,
    n_clusters: int = 5000,
    group_size: int = 1000,
    niter: int = 10,
    seed: int = 0,
    n_threads: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> PriorBank:
    """Alg. 2: the prior bank of a reference set, with the frozen encoder.

    Every reference image is encoded whole (tiled), its sRGB averaged over 2x2 blocks
    onto the feature grid, its packed RAW taken as is; then
    :func:`rawkit.prior.build_prior_bank` clusters and groups the pixels.  The bank
    records the encoder's fingerprint (``encoder_id``), which
    :meth:`PriorRAWPipeline.load` checks.

    Args:
        encoder: the trained encoder (frozen here).
        data: the reference images (anything :func:`rawkit.pipelines.as_pairs` takes).
        n_clusters: bank entries (the paper: 5,000); at most the number of reference
            pixels (``H/2 x W/2`` per image).
        group_size: reference pixels averaged per entry (the paper: 1,000 of
            26 million pixels; scale it with the reference set).
        niter, seed, n_threads, progress: as :func:`rawkit.prior.build_prior_bank`.
        device: where to run the encoder (default: its device).

    Returns:
        :class:`rawkit.prior.PriorBank` with ``K = n_clusters`` entries.
    """
    pairs = as_pairs(data)
    enc = _check_encoder(encoder)
    dev = _device(device, enc)
    return build_prior_bank(
        _reference_batches(pairs, enc, dev), niter=niter, seed=seed, n_clusters=n_clusters,
        group_size=group_size, encoder_id=module_id(enc), n_threads=n_threads, progress=progress,
    )  # fmt: skip


def reference_set(
    encoder: PixelSearchEncoder, data: Any, *, device: torch.device | str | None = None
) -> PriorBank:
    """Every reference pixel as a bank entry: the full reference set that Alg. 2 compresses.

    Searching it (:func:`reconstruct` or :func:`assemble_raw` with it as the bank) is
    the "Pixel Searching" row of Table 1.  Memory: ``N x (C + 7) x 4`` bytes for ``N``
    reference pixels, and every target pixel is compared with all ``N``.

    Example:
        >>> import torch
        >>> enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0)
        >>> full = reference_set(enc, [(torch.rand(3, 8, 12), torch.rand(4, 4, 6))])
        >>> len(full), full.dim
        (24, 8)
    """
    pairs = as_pairs(data)
    enc = _check_encoder(encoder)
    dev = _device(device, enc)
    feats, srgb, raw = [], [], []
    for f, s, r in _reference_batches(pairs, enc, dev):
        feats.append(f[0].flatten(1).T)
        srgb.append(F.avg_pool2d(s, 2)[0].flatten(1).T)
        raw.append(r[0].flatten(1).T)
    n = sum(len(f) for f in feats)
    return PriorBank(
        torch.cat(feats).numpy(), torch.cat(srgb).numpy(), torch.cat(raw).numpy(),
        encoder_id=module_id(enc), n_reference=n,
    )  # fmt: skip


# --------------------------------------------------------------------------- Alg. 3


def assemble_raw(
    srgb: Array,
    *,
    encoder: PixelSearchEncoder,
    bank: Any,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
    which: Literal["raw", "srgb", "both"] = "raw",
) -> Array:
    """Eq. 4 alone: the RAW (and/or sRGB) assembled from the bank for an image, tiled.

    ``Softmax(f_t f_r^T / tau) [sRGB_r, RAW_r]`` with the encoder's temperature, chunked
    over the bank (:func:`rawkit.nets.assemble_prior`): the prior before any network,
    the "assembled RAW" rows of Table 1.

    Args:
        srgb: ``(*, 3, H, W)``, even ``H, W``.
        encoder: the encoder that made the bank.
        bank: a :class:`rawkit.prior.PriorBank` (or :class:`rawkit.nets.BankTensors`).
        tile, overlap: tiling in sRGB pixels.
        device: where to compute (default: the encoder's device).
        which: ``"raw"`` -> ``(*, R, H/2, W/2)``; ``"srgb"`` -> ``(*, 3, H/2, W/2)``;
            ``"both"`` -> ``(*, 3 + R, H/2, W/2)`` (sRGB channels first).

    Returns:
        The assembled map; NumPy for NumPy input.
    """
    check_srgb(srgb)
    check_choice(which, ["raw", "srgb", "both"], "which")
    enc = _frozen(_check_encoder(encoder), _device(device, encoder))
    dev = _device(device, enc)
    bank_t = BankTensors.from_bank(bank, device=dev)
    tau = float(enc.temperature.detach())

    def fn(t: torch.Tensor) -> torch.Tensor:
        fs, fr = assemble_prior(enc(t.to(dev, torch.float32)), bank_t, temperature=tau)
        out = {"raw": fr, "srgb": fs, "both": torch.cat([fs, fr], dim=1)}[which]
        return out.to(t.device)

    return tiled_apply(fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2)


def _eq9(alpha: float, beta: float) -> Any:
    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return l2_ssim_loss(pred, target, data_range=1.0, alpha=alpha, beta=beta)  # type: ignore[return-value]

    return loss


def train_reconstructor(
    data: Any,
    *,
    encoder: PixelSearchEncoder | None = None,
    bank: Any = None,
    ablation: str = "non_local",
    model: PriorRAWNet | None = None,
    width: int = 16,
    depth: int = 4,
    heads: int = 1,
    steps: int = 500,
    batch_size: int = 8,
    crop: int = 96,
    lr: float = 1e-3,
    schedule: str = "cosine",
    alpha: float = 1.0,
    beta: float = 1.0,
    seed: int = 0,
    device: torch.device | str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    r"""Alg. 3: train PriorRAW's reconstructor with the loss of Eq. 9.

    ``loss = alpha * MSE(y, Y) + beta * (1 - SSIM(y, Y))`` on packed RAW crops
    (:func:`rawkit.losses.l2_ssim_loss`, ``data_range=1``).  The encoder is frozen
    (``requires_grad_(False)``) and its temperature passed to the network, and Eq. 4
    is computed once per training image against ``bank`` (whole image, tiled) and
    cropped with it, so a step costs the network only.

    Args:
        data: training images (anything :func:`rawkit.pipelines.as_pairs` takes).
        encoder: the Alg. 1 encoder (not needed for ``ablation="srgb"``).
        bank: the Alg. 2 bank (:class:`rawkit.prior.PriorBank`); not needed for
            ``"srgb"``.
        ablation: the Table 1 row (:data:`rawkit.nets.ABLATIONS`): ``"srgb"``,
            ``"prior_raw"``, ``"reliable_attention"`` or ``"non_local"`` (full PriorRAW).
        model: a network to train instead of building one (its switches win over
            ``ablation``); its ``temperature`` must be the encoder's.
        width, depth, heads: of the network built (:class:`rawkit.nets.PriorRAWNet`).
        steps, batch_size, lr, seed, device, checkpoint_dir, progress: as
            :func:`rawkit.nets.train` (Adam).
        schedule: ``"cosine"`` (decay to 0 over ``steps``) or ``"constant"``.
        crop: side of the random sRGB crops (even, >= 22 for the SSIM window).
        alpha, beta: the weights of Eq. 9.

    Returns:
        :class:`~rawkit.pipelines.TrainResult` with the trained :class:`PriorRAWNet`.

    Raises:
        TypeError, ValueError: bad data or settings; a missing encoder/bank for a row
            that uses the prior.
    """
    check_choice(ablation, list(ABLATIONS), "ablation")
    pairs = as_pairs(data)
    if model is None:
        temperature = float(encoder.temperature.detach()) if encoder is not None else 0.1
        dim = encoder.dim if encoder is not None else 32
        model = PriorRAWNet.from_ablation(
            ablation, feature_dim=dim, width=width, depth=depth, heads=heads,  # type: ignore[arg-type]
            temperature=temperature, seed=seed,
        )  # fmt: skip
    elif not isinstance(model, PriorRAWNet):
        raise TypeError(f"model: expected a rawkit.nets.PriorRAWNet, got {type(model).__name__}")
    dev = _device(device, model)
    crop_len = crops_length(steps, batch_size)
    loss_of = _eq9(alpha, beta)
    extras: dict[str, list[torch.Tensor]] = {}
    bank_t: BankTensors | None = None
    with Timer() as t:
        if model.use_prior:
            if encoder is None or bank is None:
                raise ValueError(
                    f"encoder, bank: the {model.ablation!r} row uses the prior and needs the "
                    "trained encoder and its bank"
                )
            enc = _frozen(_check_encoder(encoder), dev)
            if abs(float(enc.temperature.detach()) - model.temperature) > 1e-6 * model.temperature:
                raise ValueError(
                    f"model: its temperature {model.temperature:g} is not the encoder's "
                    f"{float(enc.temperature.detach()):g} (build it with temperature=float(encoder.temperature.detach()))"
                )
            bank_t = BankTensors.from_bank(bank, device=dev)
            both = [
                torch.as_tensor(
                    assemble_raw(p.srgb, encoder=enc, bank=bank_t, which="both", device=dev)
                )
                for p in pairs
            ]  # Eq. 4 once per image
            extras = {"fs": [m[:3].cpu() for m in both], "fr": [m[3:].cpu() for m in both]}
        crops = RandomCrops(pairs, crop=crop, length=crop_len, seed=seed, extras=extras)

        def step(net: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            if "fs" in batch:
                pred = net(batch["srgb"], None, bank_t, assembled=(batch["fs"], batch["fr"]))
            else:
                pred = net(batch["srgb"])
            return loss_of(pred, batch["packed"])

        hist = train(
            model, step, crops, steps=steps, batch_size=batch_size, lr=lr, seed=seed, device=dev,
            scheduler=lr_scheduler(schedule, steps), checkpoint_dir=checkpoint_dir,
            progress=progress, desc=f"Alg. 3 {model.ablation}",
        )  # fmt: skip
    model.eval()
    return TrainResult(model, hist, t.seconds)


def reconstruct(
    srgb: Array,
    *,
    model: nn.Module,
    encoder: PixelSearchEncoder | None = None,
    bank: Any = None,
    search: Any = None,
    assembled: tuple[Array, Array] | None = None,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> Array:
    """Alg. 3: reconstruct packed RAW from sRGB, tiled with overlap (bounded memory).

    Every tile runs the encoder (Eq. 1), the assembly against the bank (Eq. 4) and the
    reconstructor (Eq. 5-8 and the U-Net); tiles are blended
    (:func:`rawkit.pipelines.tiling.tiled_apply`).  Models that do not use the prior
    (a :class:`rawkit.nets.UNet`, the ``"srgb"`` row) need no encoder or bank.
    Inference only (``torch.no_grad``).

    Memory: the input and the output, plus one tile's activations (``O(tile^2)``,
    with the assembly chunked to ``O(chunk x K)``); ``tile=512`` needs a few hundred
    MB for the small reference networks.

    Args:
        srgb: ``(*, 3, H, W)`` float sRGB in ``[0, 1]``, even ``H, W``.
        model: a trained :class:`rawkit.nets.PriorRAWNet` or :class:`rawkit.nets.UNet`
            (packed output).
        encoder, bank: the encoder and prior bank (for models using the prior).
        search: what Eq. 4 searches, if not ``bank`` (e.g. the full reference set of
            :func:`reference_set`, while Eq. 8 attends over the compact bank).
        assembled: precomputed Eq. 4 maps ``(FsRGB (*, 3, H/2, W/2), FRAW (*, R, H/2,
            W/2))`` for the whole image (e.g. from :func:`assemble_raw` with
            ``which="both"``), cropped per tile instead of searching.
        tile: tile side in sRGB pixels (even).
        overlap: overlap between tiles in sRGB pixels (even, < tile).
        device: where to compute (default: the model's device); the output is on
            ``srgb``'s device.
        progress: a tqdm bar over the tiles.

    Returns:
        Packed RAW ``(*, 4, H/2, W/2)`` float32 in ``(0, 1)``, channels ``[R, Gr, Gb,
        B]``; NumPy for NumPy input.

    Raises:
        TypeError, ValueError: bad input, a model of another kind, a missing
            encoder/bank, a bank of another feature size.
    """
    check_srgb(srgb)
    if not isinstance(model, (PriorRAWNet, UNet)):
        raise TypeError(
            f"model: expected a rawkit.nets.PriorRAWNet or UNet, got {type(model).__name__}"
        )
    if isinstance(model, UNet) and model.output != "packed":
        raise ValueError(f"model: expected a UNet with output='packed', got {model.output!r}")
    dev = _device(device, model)
    net = model.to(dev).eval()
    enc: PixelSearchEncoder | None = None
    bank_t: BankTensors | None = None
    search_t: BankTensors | None = None
    maps: tuple[torch.Tensor, torch.Tensor] | None = None
    if _uses_prior(net):
        if (encoder is None and assembled is None) or (bank is None and net.use_nonlocal):
            raise ValueError(
                "encoder, bank: this reconstructor uses the prior and needs the encoder and "
                f"the prior bank, got encoder={type(encoder).__name__}, bank={type(bank).__name__}"
            )
        if encoder is not None:
            enc = _frozen(_check_encoder(encoder), dev)
        if bank is not None:
            bank_t = BankTensors.from_bank(bank, device=dev)
        search_t = bank_t if search is None else BankTensors.from_bank(search, device=dev)
        if search_t is None and assembled is None:
            raise ValueError("bank, search: expected a bank to search (Eq. 4), got None")
        if assembled is not None:
            fs, fr = (torch.as_tensor(a) for a in assembled)
            half = (*srgb.shape[:-3], srgb.shape[-2] // 2, srgb.shape[-1] // 2)
            if (
                fs.shape != (*half[:-2], 3, *half[-2:])
                or fr.shape[:-3] != half[:-2]
                or fr.shape[-2:] != half[-2:]
            ):
                raise ValueError(
                    f"assembled: expected maps (*, 3|R, H/2, W/2) for srgb {tuple(srgb.shape)}, "
                    f"got {tuple(fs.shape)} and {tuple(fr.shape)}"
                )
            maps = (fs.reshape(-1, *fs.shape[-3:]), fr.reshape(-1, *fr.shape[-3:]))

    def fn(t: torch.Tensor, at: tuple[int, int]) -> torch.Tensor:
        x = t.to(dev, torch.float32)
        if not _uses_prior(net):
            return net(x).to(t.device)
        if maps is not None:
            y0, x0 = at[0] // 2, at[1] // 2
            h, w = x.shape[-2] // 2, x.shape[-1] // 2
            fs, fr = (m[:, :, y0 : y0 + h, x0 : x0 + w].to(dev, torch.float32) for m in maps)
        else:
            fs, fr = assemble_prior(enc(x), search_t, temperature=net.temperature)  # type: ignore[misc]
        return net(x, None, bank_t, assembled=(fs, fr)).to(t.device)

    return tiled_apply(
        fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2, with_offset=True,
        progress=progress,
    )  # fmt: skip


# --------------------------------------------------------------------------- pipeline


def _write_json(path: Path, obj: Any, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))
    os.replace(tmp, path)


@dataclasses.dataclass
class PriorRAWPipeline:
    """A trained reconstruction pipeline: reconstructor, encoder and prior bank.

    ``model`` is a :class:`rawkit.nets.PriorRAWNet` (any Table 1 row) or, for the
    sRGB-only baseline, a :class:`rawkit.nets.UNet`; ``encoder`` and ``bank`` are None
    when the model does not use the prior.  ``info`` holds free JSON-able notes
    (camera, render, training steps...).

    Example:
        >>> import tempfile, torch
        >>> from rawkit.nets import UNet
        >>> pipe = PriorRAWPipeline(UNet(width=4, depth=1, seed=0), info={"camera": "nikon_d5100"})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = pipe.save(d)
        ...     again = PriorRAWPipeline.load(d)
        >>> again.reconstruct(torch.rand(3, 8, 8)).shape, again.info["camera"]
        (torch.Size([4, 4, 4]), 'nikon_d5100')
    """

    model: nn.Module
    encoder: PixelSearchEncoder | None = None
    bank: PriorBank | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.model, (PriorRAWNet, UNet)):
            raise TypeError(
                f"model: expected a rawkit.nets.PriorRAWNet or UNet, got {type(self.model).__name__}"
            )
        if _uses_prior(self.model):
            _check_encoder(self.encoder)
            if not isinstance(self.bank, PriorBank):
                raise TypeError(
                    f"bank: expected a rawkit.prior.PriorBank for a model that uses the prior, "
                    f"got {type(self.bank).__name__}"
                )
            if self.bank.dim != self.model.feature_dim:  # type: ignore[union-attr]
                raise ValueError(
                    f"bank: expected {self.model.feature_dim}-dim features, got {self.bank.dim}"
                )

    @property
    def name(self) -> str:
        """``"srgb_unet"`` for a :class:`UNet`, else the model's Table 1 row."""
        return "srgb_unet" if isinstance(self.model, UNet) else str(self.model.ablation)

    def reconstruct(
        self,
        srgb: Array,
        *,
        tile: int = 512,
        overlap: int = 32,
        device: torch.device | str | None = None,
        progress: bool = False,
    ) -> Array:
        """:func:`reconstruct` with this pipeline's parts."""
        return reconstruct(
            srgb, model=self.model, encoder=self.encoder, bank=self.bank, tile=tile,
            overlap=overlap, device=device, progress=progress,
        )  # fmt: skip

    def intermediates(self, srgb: Array) -> PriorRAWOutput:
        """Alg. 3 on a whole (small) image with the maps of Eq. 4, 5 and 7, for figures.

        Returns a :class:`rawkit.nets.PriorRAWOutput` of tensors (``None`` for maps the
        row does not compute); no tiling, so keep the image small.
        """
        check_srgb(srgb)
        x = to_tensor(srgb) if isinstance(srgb, np.ndarray) else srgb
        dev = _device(None, self.model)
        x = x.to(dev, torch.float32)
        with torch.no_grad():
            if isinstance(self.model, UNet):
                return PriorRAWOutput(self.model.eval()(x), None, None, None, None)
            net = self.model.eval()
            if not net.use_prior:
                return net.intermediates(x)
            enc = _frozen(self.encoder, dev)  # type: ignore[arg-type]
            return net.intermediates(x, enc(x), BankTensors.from_bank(self.bank, device=dev))

    def to(self, device: torch.device | str) -> PriorRAWPipeline:
        """Move the networks to ``device`` (in place); returns ``self``."""
        self.model.to(device)
        if self.encoder is not None:
            self.encoder.to(device)
        return self

    def save(self, folder: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the pipeline to ``folder`` (created if missing), atomically per file.

        Files: ``reconstructor.pt`` and ``encoder.pt`` (:func:`rawkit.io.save_checkpoint`,
        with the networks' configs), ``bank.npz`` (:meth:`rawkit.prior.PriorBank.save`)
        and ``pipeline.json`` (what is there, and ``info``).

        Raises:
            FileExistsError: a file exists and ``overwrite`` is false.
        """
        d = Path(folder)
        d.mkdir(parents=True, exist_ok=True)
        files = [PIPELINE_FILES["model"], _INFO]
        if self.encoder is not None:
            files.append(PIPELINE_FILES["encoder"])
        if self.bank is not None:
            files.append(PIPELINE_FILES["bank"])
        if not overwrite:
            there = [f for f in files if (d / f).exists()]
            if there:
                raise FileExistsError(
                    f"folder: {d} already holds {there}; pass overwrite=True to replace them"
                )
        model_class = type(self.model).__name__
        save_checkpoint(
            d / PIPELINE_FILES["model"], self.model,
            config={"class": model_class, "net": self.model.config}, overwrite=overwrite,
        )  # fmt: skip
        if self.encoder is not None:
            save_checkpoint(
                d / PIPELINE_FILES["encoder"], self.encoder,
                config={"class": "PixelSearchEncoder", "net": self.encoder.config,
                        "id": module_id(self.encoder)},
                overwrite=overwrite,
            )  # fmt: skip
        if self.bank is not None:
            self.bank.save(d / PIPELINE_FILES["bank"], overwrite=overwrite)
        meta = {
            "format": _KIND,
            "version": 1,
            "model": model_class,
            "name": self.name,
            "encoder": self.encoder is not None,
            "bank": self.bank is not None,
            "info": self.info,
        }
        _write_json(d / _INFO, meta, overwrite=overwrite)
        return d

    @classmethod
    def load(
        cls, folder: str | os.PathLike[str], *, device: torch.device | str = "cpu"
    ) -> PriorRAWPipeline:
        """Read a pipeline written by :meth:`save`; checks that the bank fits the encoder.

        Raises:
            FileNotFoundError: the folder or a file is missing.
            ValueError: a folder of another kind, or a bank built with another encoder.
            rawkit.io.FileFormatError, rawkit.prior.PriorBankFileError: corrupt files.
        """
        d = Path(folder)
        info_path = d / _INFO
        if not info_path.is_file():
            raise FileNotFoundError(2, f"not a saved PriorRAWPipeline (no {_INFO})", str(d))
        meta = json.loads(info_path.read_text())
        if meta.get("format") != _KIND:
            raise ValueError(f"folder: {info_path} is not a {_KIND} description")
        ck = load_checkpoint(d / PIPELINE_FILES["model"])
        cfg = dict(ck.config.get("net", {}))
        kind = ck.config.get("class")
        model: nn.Module
        if kind == "UNet":
            model = UNet(**cfg)
        elif kind == "PriorRAWNet":
            model = PriorRAWNet(**cfg)
        else:
            raise ValueError(f"folder: unknown reconstructor class {kind!r} in {ck.path}")
        load_weights(model, ck)
        encoder = bank = None
        if meta.get("encoder"):
            eck = load_checkpoint(d / PIPELINE_FILES["encoder"])
            encoder = PixelSearchEncoder(**eck.config["net"])
            load_weights(encoder, eck)
            encoder.eval().requires_grad_(False)
        if meta.get("bank"):
            bank = PriorBank.load(
                d / PIPELINE_FILES["bank"],
                encoder_id=module_id(encoder) if encoder is not None else None,
            )
        pipe = cls(model.eval(), encoder, bank, dict(meta.get("info") or {}))
        return pipe.to(device)


def train_pipeline(
    data: Any,
    *,
    ablation: str = "non_local",
    encoder: PixelSearchEncoder | None = None,
    encoder_steps: int = 300,
    encoder_batch_size: int = 6,
    encoder_crop: int = 64,
    n_clusters: int = 5000,
    group_size: int = 1000,
    niter: int = 10,
    steps: int = 500,
    batch_size: int = 8,
    crop: int = 96,
    width: int = 16,
    depth: int = 4,
    heads: int = 1,
    lr: float = 1e-3,
    seed: int = 0,
    reference: Any = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> PriorRAWPipeline:
    """Alg. 1, 2 and 3 in one call: encoder, bank, reconstructor -> a :class:`PriorRAWPipeline`.

    Args:
        data: training images (anything :func:`rawkit.pipelines.as_pairs` takes).
        ablation: the Table 1 row of the reconstructor.
        encoder: an already trained encoder (skips Alg. 1), or None.
        encoder_steps, encoder_batch_size, encoder_crop: Alg. 1 settings.
        n_clusters, group_size, niter: Alg. 2 settings.
        steps, batch_size, crop, width, depth, heads, lr: Alg. 3 settings.
        seed: seeds everything.
        reference: the reference images of the bank (default: ``data``).
        device, progress: as the trainers.

    Returns:
        The trained pipeline; ``info`` records the settings and times.
    """
    pairs = as_pairs(data)
    info: dict[str, Any] = {"ablation": ablation, "seed": seed}
    if ablation == "srgb":
        res = train_reconstructor(
            pairs, ablation="srgb", steps=steps, batch_size=batch_size, crop=crop, width=width,
            depth=depth, lr=lr, seed=seed, device=device, progress=progress,
        )  # fmt: skip
        info.update(steps=steps, seconds=res.seconds)
        return PriorRAWPipeline(res.model, info=info)
    if encoder is None:
        enc_res = train_encoder(
            pairs, steps=encoder_steps, batch_size=encoder_batch_size, crop=encoder_crop,
            seed=seed, device=device, progress=progress,
        )  # fmt: skip
        encoder = enc_res.model  # type: ignore[assignment]
        info.update(encoder_steps=encoder_steps, encoder_seconds=enc_res.seconds)
    enc = _check_encoder(encoder)
    bank = build_bank(
        enc, pairs if reference is None else reference, n_clusters=n_clusters,
        group_size=group_size, niter=niter, seed=seed, device=device, progress=progress,
    )  # fmt: skip
    res = train_reconstructor(
        pairs, encoder=enc, bank=bank, ablation=ablation, steps=steps, batch_size=batch_size,
        crop=crop, width=width, depth=depth, heads=heads, lr=lr, seed=seed, device=device,
        progress=progress,
    )  # fmt: skip
    info.update(steps=steps, seconds=res.seconds, n_clusters=len(bank), group_size=group_size)
    return PriorRAWPipeline(res.model, enc, bank, info)
