r"""Alg. 3 of PriorRAW: the prior-metadata based reconstructor, trained with Eq. 9.

The paper's box, line by line, and where each line is here (:func:`reconstruct_tile`)::

    1: procedure RECONSTRUCTOR(sRGB_t, prior, Encoder, Decoder)
    2:   f_t <- Encoder(sRGB_t)                         the _frozen Alg. 1 encoder
    3:   A_s <- affinityMatrix(f_t, prior)              rawkit.nets.assemble_prior
    4:   FsRGB_t, FRAW_t <- assemble(A_s, prior)        (Eq. 4, chunked over the bank)
    5:   diff <- abs(FsRGB_t - sRGB_t)                  rawkit.nets.PriorRAWNet: Eq. 5
    6:   f_p <- Conv_fuse([diff, sRGB_t, FRAW_t])       Eq. 6
    7:   f_c <- f_p . Sigmoid(Conv_cont(f_p))           Eq. 7 (reliable attention)
    8:   f_o <- FFN(MHA(f_c, prior))                    Eq. 8 (attention over the bank)
    9:   Output <- UNet(f_o, sRGB_t)                    U-Net to 1/16, sigmoid head

:func:`train_reconstructor` trains it with ``alpha L2 + beta (1 - SSIM)`` (Eq. 9) on
random crops while the encoder and the bank stay fixed, so Eq. 4 is computed once per
training image and cropped with it.  :func:`reconstruct` runs it on any image size,
tiled with overlap (:func:`rawkit.pipelines.tiling.tiled_apply`).  Table 1's rows switch
lines 5-8 off (:data:`rawkit.nets.ABLATIONS`).

Example:
    >>> import torch
    >>> from rawkit.nets import PriorRAWNet
    >>> from rawkit.pipelines.priorraw.alg1 import build_encoder
    >>> from rawkit.prior import PriorBank
    >>> enc = build_encoder(dim=8, width=8, blocks=1)
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

import os
from typing import Any, Literal

import torch
from torch import nn

from rawkit._checks import check_choice, check_int
from rawkit._tensor import Array
from rawkit.data.pairs import PairSet
from rawkit.metrics import psnr
from rawkit.nets import (
    ABLATIONS,
    BankTensors,
    PixelSearchEncoder,
    PriorRAWNet,
    UNet,
    assemble_prior,
)
from rawkit.pipelines._common import (
    RandomCrops,
    TrainResult,
    crops_length,
    eq9_loss,
    lr_scheduler,
    train_on_crops,
)
from rawkit.pipelines.base import check_srgb
from rawkit.pipelines.priorraw.alg1 import _check_encoder, _device_of, _frozen
from rawkit.pipelines.priorraw.config import DEFAULTS
from rawkit.pipelines.tiling import tiled_apply

__all__ = ["assemble_raw", "reconstruct", "reconstruct_tile", "train_reconstructor"]


def _uses_prior(model: nn.Module) -> bool:
    """Whether ``model`` is a reconstructor row that searches the prior (lines 2-8)."""
    return isinstance(model, PriorRAWNet) and model.use_prior


def reconstruct_tile(
    net: nn.Module,
    x: torch.Tensor,
    *,
    encoder: PixelSearchEncoder | None,
    bank: BankTensors | None,
    search: BankTensors | None,
) -> torch.Tensor:
    """Lines 2-9 of Alg. 3 on one batch of tiles ``(B, 3, h, w) -> (B, 4, h/2, w/2)``.

    ``search`` is what Eq. 4 searches (the bank, or the full reference set); ``bank``
    is what Eq. 8 attends over.  A ``net`` of ``None`` returns the assembled RAW of
    line 4 (Table 1's "Pixel Searching" / "Clustering and Grouping" rows).
    """
    if net is not None and not _uses_prior(net):
        return net(x)
    tau = net.temperature if net is not None else float(encoder.temperature.detach())  # type: ignore[union-attr]
    fs, fr = assemble_prior(encoder(x), search, temperature=tau)  # type: ignore[misc,arg-type]  # lines 2-4
    if net is None:
        return fr
    return net(x, None, bank, assembled=(fs, fr))  # lines 5-9


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
    enc = _frozen(_check_encoder(encoder), _device_of(device, encoder))
    dev = _device_of(device, enc)
    bank_t = BankTensors.from_bank(bank, device=dev)
    tau = float(enc.temperature.detach())

    def fn(t: torch.Tensor) -> torch.Tensor:
        fs, fr = assemble_prior(enc(t.to(dev, torch.float32)), bank_t, temperature=tau)
        out = {"raw": fr, "srgb": fs, "both": torch.cat([fs, fr], dim=1)}[which]
        return out.to(t.device)

    return tiled_apply(fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2)


def train_reconstructor(
    data: Any,
    *,
    encoder: PixelSearchEncoder | None = None,
    bank: Any = None,
    ablation: str = "non_local",
    model: PriorRAWNet | None = None,
    image_banks: Any = None,
    width: int = DEFAULTS.width,
    depth: int = DEFAULTS.depth,
    heads: int = DEFAULTS.heads,
    steps: int = DEFAULTS.steps,
    batch_size: int = DEFAULTS.batch_size,
    crop: int = DEFAULTS.crop,
    lr: float = DEFAULTS.lr,
    schedule: str = DEFAULTS.schedule,
    alpha: float = DEFAULTS.alpha,
    beta: float = DEFAULTS.beta,
    l2: str = DEFAULTS.l2,
    base: str = DEFAULTS.base,
    camera: str | None = DEFAULTS.camera,
    seed: int = 0,
    device: torch.device | str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    val_data: Any = None,
    val_every: int = 250,
) -> TrainResult:
    r"""Alg. 3: train PriorRAW's reconstructor with the loss of Eq. 9.

    ``loss = alpha * MSE(y, Y) + beta * (1 - SSIM(y, Y))`` on packed RAW crops
    (:func:`rawkit.losses.l2_ssim_loss`, ``data_range=1``).  The encoder is _frozen
    (``requires_grad_(False)``) and its temperature passed to the network, and Eq. 4
    is computed once per training image against ``bank`` (whole image, tiled) and
    cropped with it, so a step costs the network only.

    Args:
        data: training images (a :class:`rawkit.data.PairSet` or what it takes).
        encoder: the Alg. 1 encoder (not needed for ``ablation="srgb"``).
        bank: the Alg. 2 bank (:class:`rawkit.prior.PriorBank`); not needed for
            ``"srgb"``.
        ablation: the Table 1 row (:data:`rawkit.nets.ABLATIONS`): ``"srgb"``,
            ``"prior_raw"``, ``"reliable_attention"`` or ``"non_local"`` (full PriorRAW).
        model: a network to train instead of building one (its switches win over
            ``ablation``); its ``temperature`` must be the encoder's.
        image_banks: one bank per training pair, the one its Eq. 4 map is assembled
            from (default: ``bank`` for every pair).  :class:`PriorRAW` passes banks
            built without the pair's own scene (``holdout_folds``), so that the prior
            is as good in training as on a new photo, where the bank never saw the
            scene; Eq. 8 still attends over ``bank``.
        width, depth, heads: of the network built (:class:`rawkit.nets.PriorRAWNet`).
        steps, batch_size, lr, seed, device, checkpoint_dir, progress: as
            :func:`rawkit.engine.train` (Adam); defaults from
            :class:`PriorRAWConfig`.
        schedule: ``"cosine"`` (decay to 0 over ``steps``) or ``"constant"``.
        crop: side of the random sRGB crops (even, >= 22 for the SSIM window).
        alpha, beta: the weights of Eq. 9.
        l2: its L2 term: ``"mse"`` (the paper's) or ``"psnr"`` (minus each crop's PSNR;
            :func:`rawkit.losses.l2_ssim_loss`).
        base, camera: what the network built adds its output to
            (:mod:`rawkit.nets.base`): the generic inverse of the built-in ``camera``
            (rawkit's default) or ``"none"`` (the paper's sigmoid head; ``camera``
            ignored).
        val_data: validation pairs (whole images; :class:`rawkit.data.PairSet` or what
            it takes), or None.  Every ``val_every`` steps (and at the end) the PSNR
            (dB, packed RAW, ``data_range=1``, output clipped to [0, 1]) of the whole
            image, its Eq. 4 map assembled from ``bank`` as at inference, is averaged
            over them (``history.val``, key ``"psnr"``), and the network returned holds
            the weights of the best of these validations (its step:
            ``max(history.val, key=lambda v: v["psnr"])["step"]``; :func:`rawkit.engine.train`'s
            ``keep_best``).
        val_every: steps between validations.

    Returns:
        :class:`~rawkit.pipelines.TrainResult` with the trained :class:`PriorRAWNet`.

    Raises:
        TypeError, ValueError: bad data or settings; a missing encoder/bank for a row
            that uses the prior.
    """
    check_choice(ablation, list(ABLATIONS), "ablation")
    pairs = PairSet.from_any(data)
    if model is None:
        temperature = float(encoder.temperature.detach()) if encoder is not None else 0.1
        dim = encoder.dim if encoder is not None else 32
        model = PriorRAWNet.from_ablation(
            ablation, feature_dim=dim, width=width, depth=depth, heads=heads,  # type: ignore[arg-type]
            temperature=temperature, seed=seed, base=base,
            camera=None if base == "none" else camera,
        )  # fmt: skip
    elif not isinstance(model, PriorRAWNet):
        raise TypeError(f"model: expected a rawkit.nets.PriorRAWNet, got {type(model).__name__}")
    val_pairs = None if val_data is None else PairSet.from_any(val_data)
    val_every = check_int(val_every, "val_every", minimum=1)
    dev = _device_of(device, model)
    crop_len = crops_length(steps, batch_size)
    RandomCrops(pairs, crop=crop, length=crop_len, seed=seed)  # checks crop before any work
    lr_scheduler(schedule, steps)
    loss_of = eq9_loss(alpha, beta, l2)
    extras: dict[str, list[torch.Tensor]] = {}
    bank_t: BankTensors | None = None
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
        if image_banks is None:
            per_image = [bank_t] * len(pairs)
        else:
            if not isinstance(image_banks, (list, tuple)) or len(image_banks) != len(pairs):
                raise ValueError(
                    f"image_banks: expected one bank per training pair ({len(pairs)}), got "
                    f"{len(image_banks) if isinstance(image_banks, (list, tuple)) else type(image_banks).__name__}"
                )
            on_dev: dict[int, BankTensors] = {}
            per_image = [on_dev.setdefault(id(b), BankTensors.from_bank(b, device=dev))
                         for b in image_banks]  # fmt: skip
        both = [
            torch.as_tensor(assemble_raw(p.srgb, encoder=enc, bank=b, which="both", device=dev))
            for p, b in zip(pairs, per_image, strict=True)
        ]  # Eq. 4 once per image (lines 2-4), cropped with the image
        extras = {"fs": [m[:3].cpu() for m in both], "fr": [m[3:].cpu() for m in both]}
    crops = RandomCrops(pairs, crop=crop, length=crop_len, seed=seed, extras=extras)

    def forward(net: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        if "fs" in batch:
            return net(batch["srgb"], None, bank_t, assembled=(batch["fs"], batch["fr"]))  # type: ignore[no-any-return]
        return net(batch["srgb"])  # type: ignore[no-any-return]

    def step(net: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return loss_of(forward(net, batch), batch["packed"])  # Eq. 9

    if val_pairs is None:
        return train_on_crops(
            model, step, crops, steps=steps, batch_size=batch_size, lr=lr, schedule=schedule,
            seed=seed, device=dev, checkpoint_dir=checkpoint_dir, progress=progress,
            desc=f"Alg. 3 {model.ablation}",
        )  # fmt: skip
    val_set = _ValImages(val_pairs, enc if model.use_prior else None, bank_t, dev)

    def val_fn(net: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        v = psnr(forward(net, batch).clamp(0, 1), batch["packed"], data_range=1.0)
        return {"psnr": v}  # type: ignore[dict-item]

    return train_on_crops(
        model, step, crops, steps=steps, batch_size=batch_size, lr=lr, schedule=schedule,
        seed=seed, device=dev, checkpoint_dir=checkpoint_dir, progress=progress,
        desc=f"Alg. 3 {model.ablation}", val_data=val_set, val_fn=val_fn, val_every=val_every,
        keep_best="psnr",
    )  # fmt: skip


class _ValImages(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """Whole validation images (batches of one), their Eq. 4 maps assembled once."""

    def __init__(self, pairs: PairSet, enc: Any, bank_t: Any, dev: torch.device) -> None:
        self.items = []
        for p in pairs:
            item = {"srgb": torch.as_tensor(p.srgb), "packed": torch.as_tensor(p.packed)}
            if enc is not None:
                m = torch.as_tensor(
                    assemble_raw(p.srgb, encoder=enc, bank=bank_t, which="both", device=dev)
                )
                item |= {"fs": m[:3].cpu(), "fr": m[3:].cpu()}
            self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.items[i]


def reconstruct(
    srgb: Array,
    *,
    model: nn.Module,
    encoder: PixelSearchEncoder | None = None,
    bank: Any = None,
    search: Any = None,
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
        tile: tile side in sRGB pixels (even).
        overlap: overlap between tiles in sRGB pixels (even, < tile).
        device: where to compute (default: the model's device); the output is on
            ``srgb``'s device.
        progress: a tqdm bar over the tiles.

    Returns:
        Packed RAW ``(*, 4, H/2, W/2)`` float32 in ``[0, 1]``, channels ``[R, Gr, Gb,
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
    dev = _device_of(device, model)
    net = model.to(dev).eval()
    enc: PixelSearchEncoder | None = None
    bank_t: BankTensors | None = None
    search_t: BankTensors | None = None
    if _uses_prior(net):
        if (
            encoder is None
            or (bank is None and search is None)
            or (bank is None and net.use_nonlocal)
        ):
            raise ValueError(
                "encoder, bank: this reconstructor uses the prior and needs the encoder and "
                f"the prior bank, got encoder={type(encoder).__name__}, bank={type(bank).__name__}"
            )
        enc = _frozen(_check_encoder(encoder), dev)
        if bank is not None:
            bank_t = BankTensors.from_bank(bank, device=dev)
        search_t = bank_t if search is None else BankTensors.from_bank(search, device=dev)

    def fn(t: torch.Tensor) -> torch.Tensor:
        x = t.to(dev, torch.float32)
        return reconstruct_tile(net, x, encoder=enc, bank=bank_t, search=search_t).to(t.device)

    return tiled_apply(
        fn, srgb, tile=tile, overlap=overlap, downsample=2, multiple=2, progress=progress
    )
