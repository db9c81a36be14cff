r"""The AIM 2022 Reversed-ISP baseline (``004_*``): a U-Net from sRGB to packed RAW.

The challenge's starter kit trains a plain U-Net on ``(sRGB .jpg, RAW .npy)`` pairs and
submits one ``.npy`` per validation image.  Here:

* :func:`train_unet` trains :class:`rawkit.nets.UNet` (``output="packed"``, sigmoid
  head) on synthetic pairs in memory (random crops), on any map-style dataset of dicts
  with ``"srgb"`` and ``"packed"`` (e.g. :class:`rawkit.data.AIM22Pairs` with a crop),
  or directly on an AIM22 track folder (``<root>/train/<id>.jpg`` + ``<id>.npy``); the
  loss is PriorRAW's Eq. 9 (``alpha L2 + beta (1 - SSIM)``; ``beta=0`` for plain L2),
  so it is also the sRGB-only row of PriorRAW's Table 1 at equal settings;
* :func:`predict` reconstructs any image size, tiled with overlap;
* :func:`write_submission` writes ``<id>.npy`` files in the challenge's format
  (:func:`rawkit.io.write_aim22_raw`: ``(h, w, 4)`` uint16, white level 1024) for the
  ``val_rgb/*.jpg`` of a track folder or for given images, which
  :func:`rawkit.metrics.aim22_score` scores against the true RAW;
* :class:`SRGBUNet` is the registered pipeline ``"srgb_unet"`` around the same network
  and training (settings in :class:`SRGBUNetConfig`).

Example:
    >>> import torch
    >>> from rawkit.nets import UNet
    >>> net = UNet(width=4, depth=1, seed=0)
    >>> predict(torch.rand(3, 40, 24), net, tile=16, overlap=4).shape
    torch.Size([4, 20, 12])
"""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from rawkit._checks import check_bool
from rawkit._tensor import Array, to_numpy
from rawkit.data import AIM22Pairs
from rawkit.data.pairs import PairSet
from rawkit.io import aim22_val_rgb, check_writable, read_aim22_rgb, write_aim22_raw
from rawkit.nets import UNet
from rawkit.pipelines._common import (
    CropTrainingConfig,
    RandomCrops,
    TrainResult,
    crops_length,
    eq9_loss,
    train_on_crops,
)
from rawkit.pipelines.base import Pipeline, check_srgb, register, setting
from rawkit.pipelines.priorraw.alg3 import reconstruct

__all__ = ["SRGBUNet", "SRGBUNetConfig", "predict", "train_unet", "write_submission"]


@dataclasses.dataclass(frozen=True)
class SRGBUNetConfig(CropTrainingConfig):
    """Settings of the sRGB-only U-Net (the AIM22 baseline); its training settings are
    those of ``CropTrainingConfig``, as PriorRAW's Alg. 3."""

    width: int = setting(16, "U-Net width", minimum=1)
    depth: int = setting(4, "U-Net depth (4: down to 1/16)", minimum=1)


_D = SRGBUNetConfig()


def _training_set(data: Any, *, crop: int, length: int, seed: int) -> Dataset:
    """Random crops of in-memory pairs, an AIM22 folder, or a user's dataset as is."""
    if isinstance(data, (str, os.PathLike)):
        return AIM22Pairs(data, crop=crop, seed=seed)
    if isinstance(data, Dataset) and not isinstance(data, RandomCrops):
        first = data[0]
        if isinstance(first, Mapping) and "srgb" in first and "packed" in first:
            shapes = {tuple(data[i]["srgb"].shape) for i in range(min(len(data), 4))}  # type: ignore[arg-type]
            if len(shapes) == 1:
                return data  # equal-sized items (a cropped dataset): batch them as they are
        # items of different sizes: load them and crop at random
    return RandomCrops(PairSet.from_any(data), crop=crop, length=length, seed=seed)


def train_unet(
    data: Any,
    *,
    model: UNet | None = None,
    width: int = _D.width,
    depth: int = _D.depth,
    steps: int = _D.steps,
    batch_size: int = _D.batch_size,
    crop: int = _D.crop,
    lr: float = _D.lr,
    schedule: str = _D.schedule,
    alpha: float = _D.alpha,
    beta: float = _D.beta,
    l2: str = _D.l2,
    base: str = _D.base,
    camera: str | None = _D.camera,
    seed: int = 0,
    device: torch.device | str | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train the sRGB-only U-Net (the AIM22 baseline) with the loss of PriorRAW's Eq. 9.

    Args:
        data: a sequence of pairs (a :class:`rawkit.data.PairSet` or what it takes;
            random ``crop x crop`` crops are drawn), a map-style dataset whose items
            are equal-sized dicts with ``"srgb"`` and ``"packed"`` (used as is), or
            the path of an AIM22 track folder (read with
            :class:`rawkit.data.AIM22Pairs` and cropped to ``crop``).
        model: the network to train (in place); ``None`` builds
            ``UNet(width=width, depth=depth, seed=seed)`` with packed output.
        width, depth: of the network built.
        base, camera: what the network built adds its output to
            (:mod:`rawkit.nets.base`): ``"generic_inverse"`` of the built-in ``camera``
            (a linear head; rawkit's default) or ``"none"`` (a sigmoid head, the
            challenge baseline; ``camera`` is then ignored).
        steps, batch_size, lr, seed, device, checkpoint_dir, progress: as
            :func:`rawkit.engine.train` (Adam); defaults from
            :class:`SRGBUNetConfig`.
        schedule: ``"cosine"`` (decay to 0 over ``steps``) or ``"constant"``.
        crop: side of the sRGB crops (even, >= 22 for the SSIM window).
        alpha, beta, l2: ``alpha * L2 + beta * (1 - SSIM)``, the L2 term the MSE or minus
            the PSNR (:func:`rawkit.losses.l2_ssim_loss`).

    Returns:
        :class:`~rawkit.pipelines.TrainResult` with the trained :class:`rawkit.nets.UNet`.

    Raises:
        TypeError, ValueError: bad data or settings.
        FileNotFoundError: an AIM22 folder without ``train/``.
    """
    if model is None:
        model = _build(width=width, depth=depth, base=base, camera=camera, seed=seed)
    if not isinstance(model, UNet) or model.output != "packed":
        raise TypeError(f"model: expected a rawkit.nets.UNet with packed output, got {model!r}")
    ds = _training_set(data, crop=crop, length=crops_length(steps, batch_size), seed=seed)

    loss_of = eq9_loss(alpha, beta, l2)

    def step(net: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return loss_of(net(batch["srgb"]), batch["packed"])

    return train_on_crops(
        model, step, ds, steps=steps, batch_size=batch_size, lr=lr, schedule=schedule,
        seed=seed, device=device, checkpoint_dir=checkpoint_dir, progress=progress,
        desc="U-Net (sRGB only)", collate_fn=_collate,
    )  # fmt: skip


def _build(*, width: int, depth: int, base: str, camera: str | None, seed: int) -> UNet:
    """The U-Net of these settings: a sigmoid head, or a linear one over the base."""
    if base == "none":
        return UNet(width=width, depth=depth, seed=seed)
    return UNet(width=width, depth=depth, head=None, base=base, camera=camera, seed=seed)


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the image tensors; keep other entries as lists (patterns, ids)."""
    out: dict[str, Any] = {}
    for k in items[0]:
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(vals[0], torch.Tensor) else vals
    return out


def predict(
    srgb: Array,
    model: UNet,
    *,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> Array:
    """Packed RAW ``(*, 4, H/2, W/2)`` from sRGB ``(*, 3, H, W)`` with a U-Net, tiled.

    :func:`rawkit.pipelines.priorraw.reconstruct` for a model without prior: tiles of
    ``tile`` pixels overlapping by ``overlap``, blended.  NumPy in -> NumPy out.
    """
    if not isinstance(model, UNet):
        raise TypeError(f"model: expected a rawkit.nets.UNet, got {type(model).__name__}")
    return reconstruct(
        srgb, model=model, tile=tile, overlap=overlap, device=device, progress=progress
    )


@register
class SRGBUNet(Pipeline):
    """The sRGB-only U-Net (AIM22 baseline; PriorRAW's "sRGB+UNet" row) as a pipeline.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> data = [(torch.rand(3, 32, 32, generator=g), torch.rand(4, 16, 16, generator=g))]
        >>> cfg = SRGBUNetConfig(width=4, depth=1, steps=2, batch_size=1, crop=24)
        >>> pipe = SRGBUNet.fit(data, cfg, progress=False)
        >>> pipe.reconstruct(torch.rand(3, 40, 24)).shape
        torch.Size([4, 20, 12])
    """

    name = "srgb_unet"
    Config = SRGBUNetConfig
    learned = True
    description = "sRGB-only U-Net, the AIM 2022 reversed-ISP baseline"
    config: SRGBUNetConfig

    def __init__(self, config: SRGBUNetConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.net = _build(width=c.width, depth=c.depth, seed=0, **c.net_base()).eval()

    def check_training_data(self, data: PairSet | None) -> None:
        if data is not None and self.config.crop > data.min_side:
            raise ValueError(
                f"crop: {self.config.crop} is larger than the smallest training image side "
                f"({data.min_side}); use a smaller crop or larger images"
            )

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        c = self.config
        res = train_unet(
            data, width=c.width, depth=c.depth, steps=c.steps, batch_size=c.batch_size,
            crop=c.crop, lr=c.lr, schedule=c.schedule, alpha=c.alpha, beta=c.beta, l2=c.l2,
            seed=seed, progress=progress, **c.net_base(),
        )  # fmt: skip
        self.net = res.model.eval()  # type: ignore[assignment]
        self.info["seconds"] = {"unet": res.seconds}

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        return self.net(srgb)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.net.state_dict())

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self.net.load_state_dict(dict(tensors))
        self.net.eval()


def _inputs(inputs: Any) -> list[tuple[str, Any]]:
    if isinstance(inputs, (str, os.PathLike)):
        return [(p.stem, p) for p in aim22_val_rgb(inputs)]
    if isinstance(inputs, Mapping):
        return [(str(k), v) for k, v in inputs.items()]
    if isinstance(inputs, Sequence) and all(
        isinstance(i, (tuple, list)) and len(i) == 2 for i in inputs
    ):
        return [(str(k), v) for k, v in inputs]
    raise TypeError(
        "inputs: expected an AIM22 track folder (with val_rgb/), a mapping name -> sRGB, or "
        f"a sequence of (name, sRGB) pairs, got {type(inputs).__name__}"
    )


def write_submission(
    folder: str | os.PathLike[str],
    model: UNet | Pipeline,
    inputs: Any,
    *,
    tile: int = 512,
    overlap: int = 32,
    device: torch.device | str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> list[Path]:
    """Write an AIM22 submission: one ``<name>.npy`` RAW per input image.

    Every input, name and destination is checked before anything is created or
    written: in-memory images for shape and values, image paths for existence, names
    for clashes (two inputs of one name) and the ``.npy`` files for ``overwrite``.

    Args:
        folder: the submission folder (created if missing).
        model: the trained U-Net, or any trained pipeline (e.g. :class:`SRGBUNet`).
        inputs: an AIM22 track folder (its ``val_rgb/<id>.jpg`` are read), a mapping
            ``name -> sRGB`` or a sequence of ``(name, sRGB)``; an sRGB is a ``(3, H,
            W)`` array/tensor in ``[0, 1]`` or the path of a ``.jpg``.
        tile, overlap, device, progress: as :func:`predict` (``device`` for a U-Net).
        overwrite: replace existing ``.npy`` files.

    Returns:
        The paths written, in input order.  :func:`rawkit.metrics.aim22_score` scores
        the folder against a folder (or arrays) of true RAW ``.npy`` of the same names.

    Raises:
        FileExistsError: a file exists and ``overwrite`` is false (nothing is written).
        TypeError, ValueError, FileNotFoundError: a bad input (nothing is written).
    """
    if not isinstance(model, (UNet, Pipeline)):
        raise TypeError(
            f"model: expected a rawkit.nets.UNet or a Pipeline, got {type(model).__name__}"
        )
    check_bool(overwrite, "overwrite")
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder: expected a str or os.PathLike, got {type(folder).__name__}")
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "expected a folder", os.fspath(out))
    items = _inputs(inputs)
    names = [n for n, _ in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"inputs: names must be unique, got {dup} more than once")
    for name, src in items:
        if isinstance(src, (str, os.PathLike)):
            if not Path(src).is_file():
                raise FileNotFoundError(errno.ENOENT, "no such sRGB image", os.fspath(src))
        else:
            check_srgb(src, f"inputs[{name!r}]")
        dest = out / f"{name}.npy"
        if dest.exists() and not overwrite:
            check_writable(dest, overwrite=overwrite)  # raises FileExistsError
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, src in items:
        if isinstance(src, (str, os.PathLike)):
            src = read_aim22_rgb(src)
        if isinstance(model, UNet):
            raw = predict(src, model, tile=tile, overlap=overlap, device=device, progress=progress)
        else:
            tiles = {"tile": tile, "overlap": overlap} if model.tileable else {}
            raw = model.reconstruct(src, progress=progress, **tiles)
        arr = to_numpy(raw) if isinstance(raw, torch.Tensor) else raw
        written.append(write_aim22_raw(out / f"{name}.npy", arr, overwrite=overwrite))
    return written
