r"""Learned compact metadata (R2LCM; Wang et al., "Beyond Learned Metadata-Based Raw Image
Reconstruction", IJCV 132, 2024, ``001_*``): the registered pipeline ``"learned_metadata"``.

The camera stores a few hundred bytes beside its JPEG; the decoder recovers the RAW from
the sRGB and those bytes.  The network is :class:`rawkit.nets.MetadataCodecNet` (its
module notes give the equations); this module adds what a pipeline needs around it:

* the blind estimate it is conditioned on (no per-image information), for the configured
  camera: ``blind="generic"``: :func:`rawkit.data.generic_inverse` (LibRaw's generic
  render inverted: D65 white balance, no gain, no tone curve); ``blind="typical"``:
  :func:`rawkit.pipelines.blind_unprocess` (the average render of
  :func:`rawkit.isp.random_params` inverted);
* the stream: :func:`rawkit.io.bitstream.pack_metadata` (magic, format version, shape,
  rate index, model tag, consistency check, CRC-32) around the ANS payload, so that a
  truncated, corrupt or foreign stream raises :class:`rawkit.io.bitstream.BitstreamError` instead
  of decoding to a wrong image;
* training (:meth:`LearnedMetadataPipeline.fit`) with :func:`rawkit.nets.train`: random
  Bayer-aligned crops, a rate index drawn per crop, the loss

  .. math::  L = \frac{\text{bits}}{H W} + \lambda_t \,\mathrm{MSE}(\hat r, r)

  with :math:`\lambda_t` from ``config.lambdas`` (one model for every rate);
* variable rate: :meth:`~LearnedMetadataPipeline.encode` takes ``rate=`` (0 = fewest
  bytes); :meth:`~Pipeline.encode_metadata` uses ``config.rate``; the rate travels in
  the header, so :meth:`~Pipeline.reconstruct` needs only the bytes.

Example:
    >>> import numpy as np
    >>> from rawkit.pipelines.base import Pipeline
    >>> rng = np.random.default_rng(0)
    >>> srgb = rng.random((3, 32, 48)).astype(np.float32)
    >>> raw = rng.random((4, 16, 24)).astype(np.float32)
    >>> cfg = LearnedMetadataConfig(steps=2, batch_size=1, crop=32, latent_channels=4, width=8,
    ...                             guide_width=4)
    >>> pipe = LearnedMetadataPipeline.fit([(srgb, raw)], cfg, progress=False)
    >>> meta = pipe.encode(raw, srgb, rate=3)
    >>> meta[:4], pipe.reconstruct(srgb, metadata=meta).shape
    (b'RKLM', (4, 16, 24))
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from rawkit._checks import check_choice, check_int
from rawkit._tensor import Array
from rawkit.cfa import pack
from rawkit.data import generic_inverse
from rawkit.data.pairs import PairSet
from rawkit.io import atomic_write, check_writable, read_image, read_raw
from rawkit.io.bitstream import BitstreamError, MetadataHeader, pack_metadata, unpack_metadata
from rawkit.io.dng_colour import write_reconstruction_dng
from rawkit.isp import builtin_camera
from rawkit.nets import train
from rawkit.nets.metadata_codec import LAMBDAS, MetadataCodecNet
from rawkit.pipelines._common import RandomCrops, crops_length, lr_scheduler
from rawkit.pipelines.base import (
    Pipeline,
    PipelineConfig,
    _as_batch,
    _check_packed_for,
    check_srgb,
    register,
    setting,
)
from rawkit.pipelines.baselines import blind_unprocess

__all__ = ["LearnedMetadataConfig", "LearnedMetadataPipeline", "decode_files", "encode_files"]


@dataclasses.dataclass(frozen=True)
class LearnedMetadataConfig(PipelineConfig):
    """Settings of the learned-metadata codec and its training."""

    camera: str = setting("nikon_d5100", "built-in camera model of the blind estimate")
    blind: str = setting(
        "generic", "blind estimate the codec refines", choices=("generic", "typical")
    )
    rate: int = setting(4, "rate index of encode_metadata (0 = fewest bytes)")
    rates: int = setting(8, "number of rate indices of the one model")
    latent_channels: int = setting(12, "channels of the latent (one vector per 16x16 pixels)")
    global_channels: int = setting(8, "channels of the global latent (one vector per image)")
    width: int = setting(32, "channels of the encoder, sRGB context and latent decoder")
    guide_width: int = setting(16, "channels of the full-resolution sRGB branch")
    lambdas: tuple[float, ...] = setting(LAMBDAS, "lambda of each rate index (bpp + lambda*MSE)")
    steps: int = setting(4000, "optimiser steps")
    batch_size: int = setting(4, "crops per step")
    crop: int = setting(128, "sRGB crop side in pixels (even)")
    lr: float = setting(2e-3, "Adam learning rate (cosine decay to 0)")

    def __post_init__(self) -> None:
        super().__post_init__()
        builtin_camera(self.camera)
        check_choice(self.blind, ("generic", "typical"), "blind")
        for name in (
            "rates", "latent_channels", "global_channels", "width", "guide_width", "steps",
            "batch_size",
        ):  # fmt: skip
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.rate, "rate", minimum=0)
        check_int(self.crop, "crop", minimum=16)
        if self.crop % 16:
            raise ValueError(f"crop: expected a multiple of 16, got {self.crop}")
        if self.rate >= self.rates:
            raise ValueError(f"rate: expected 0..{self.rates - 1}, got {self.rate}")
        if len(self.lambdas) != self.rates or not all(
            isinstance(v, (int, float)) and v > 0 for v in self.lambdas
        ):
            raise ValueError(
                f"lambdas: expected {self.rates} positive numbers (one per rate), got {self.lambdas!r}"
            )
        if list(self.lambdas) != sorted(self.lambdas):
            raise ValueError(f"lambdas: expected increasing values, got {self.lambdas!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")


@register
class LearnedMetadataPipeline(Pipeline):
    """sRGB + a few hundred bytes of learned metadata -> packed RAW (module notes)."""

    name = "learned_metadata"
    Config = LearnedMetadataConfig
    learned = True
    stores_metadata = True
    tileable = False
    description = "learned compact metadata (R2LCM): latent codec with a real bitstream"

    def __init__(self, config: LearnedMetadataConfig | None = None) -> None:
        super().__init__(config)
        c: LearnedMetadataConfig = self.config  # type: ignore[assignment]
        self.camera = builtin_camera(c.camera)
        self.net = MetadataCodecNet(
            latent_channels=c.latent_channels,
            global_channels=c.global_channels, width=c.width, guide_width=c.guide_width,
            rates=c.rates, seed=0,
        )  # fmt: skip
        self.net.eval()

    # ------------------------------------------------------------------ pieces

    def blind(self, srgb: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` sRGB -> ``(B, 4, H/2, W/2)`` blind estimate the codec conditions on."""
        x = srgb.detach().to("cpu", torch.float32)
        if self.config.blind == "typical":  # type: ignore[attr-defined]
            out = blind_unprocess(x, camera=self.camera)
        else:
            out = generic_inverse(x, camera=self.camera)
        return out.to(srgb.device, torch.float32)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return dict(self.net.state_dict())

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        self.net.load_state_dict(dict(tensors))
        self.net.eval()

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:
        c: LearnedMetadataConfig = self.config  # type: ignore[assignment]
        blinds = [self.blind(p.srgb[None])[0] for p in data]
        crops = RandomCrops(
            list(data), crop=c.crop, length=crops_length(c.steps, c.batch_size), seed=seed,
            extras={"blind": blinds},
        )  # fmt: skip
        lam = torch.tensor(c.lambdas, dtype=torch.float32)
        pixels = float(c.crop * c.crop)

        def loss_fn(model: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            r = batch["packed"]
            t = torch.randint(0, c.rates, (r.shape[0],))
            out = model(r, batch["srgb"], batch["blind"], rate=t.to(r.device))
            mse = (out.raw - r).square().flatten(1).mean(1)
            return (out.bits / pixels + lam.to(r.device)[t] * mse).mean()

        self.net.train()
        hist = train(
            self.net, loss_fn, crops, steps=c.steps, batch_size=c.batch_size, lr=c.lr,
            scheduler=lr_scheduler("cosine", c.steps), grad_clip=1.0, seed=seed,
            progress=progress, desc="learned metadata",
        )  # fmt: skip
        self.net.eval()
        self.net._tag = None
        tail = hist.train_loss[-100:]
        self.info["final_loss"] = float(sum(tail) / len(tail)) if tail else None
        self.info["camera"] = c.camera

    def check_training_data(self, data: PairSet | None) -> None:
        c: LearnedMetadataConfig = self.config  # type: ignore[assignment]
        if data is not None and data.min_side < c.crop:
            raise ValueError(
                f"crop: {c.crop} is larger than the smallest training image side "
                f"({data.min_side}); use a smaller crop"
            )

    # ------------------------------------------------------------------ coding

    def encode(self, raw: Array, srgb: Array, *, rate: int | None = None) -> bytes:
        """Learned metadata of one image at rate index ``rate`` (default ``config.rate``).

        Args:
            raw: ``(4, H/2, W/2)`` (or ``(1, 4, H/2, W/2)``) packed RAW in ``[0, 1]``.
            srgb: ``(3, H, W)`` (or with a batch of 1) sRGB in ``[0, 1]``; ``H, W`` up to
                131070.
            rate: rate index ``0 .. rates - 1`` (0 = fewest bytes).

        Returns:
            The stream: a 20-byte header, the ANS payload, a CRC-32 (see
            :mod:`rawkit.io.bitstream`).
        """
        c: LearnedMetadataConfig = self.config  # type: ignore[assignment]
        rate = c.rate if rate is None else rate
        self.net._rate_index(rate)  # noqa: SLF001 - checks before work
        check_srgb(srgb)
        _check_packed_for(raw, srgb)
        self._check_fitted()
        x, r = _as_batch(srgb, 3), _as_batch(raw, 4)
        return self._encode(r, x, rate)

    def _encode_metadata(self, raw: torch.Tensor, srgb: torch.Tensor) -> bytes:
        return self._encode(raw, srgb, self.config.rate)  # type: ignore[attr-defined]

    def _encode(self, raw: torch.Tensor, srgb: torch.Tensor, rate: int) -> bytes:
        if srgb.shape[0] != 1:
            raise ValueError(
                f"srgb: expected one image (metadata is per image), got {srgb.shape[0]}"
            )
        h, w = raw.shape[-2:]
        if h > 0xFFFF or w > 0xFFFF:
            raise ValueError(f"raw: expected at most 65535 packed sites a side, got {(h, w)}")
        dev = self.device
        x, r = srgb.to(dev, torch.float32), raw.to(dev, torch.float32)
        code = self.net.compress(r, x, self.blind(x), rate=int(rate))
        header = MetadataHeader(
            rate=int(rate), shape=(int(h), int(w)), model_tag=self.net.model_tag(), check=code.check
        )
        return pack_metadata(code.payload, header)

    def estimated_bits(self, raw: Array, srgb: Array, *, rate: int) -> float:
        """The model's estimate :math:`-\\sum \\log_2 p(s)` of the payload's bits."""
        check_srgb(srgb)
        _check_packed_for(raw, srgb)
        x, r = _as_batch(srgb, 3).to(self.device), _as_batch(raw, 4).to(self.device)
        return self.net.compress(r, x, self.blind(x), rate=rate).bits

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        assert metadata is not None  # reconstruct() checks it  # noqa: S101
        header, payload = unpack_metadata(metadata)
        if srgb.shape[0] != 1:
            raise ValueError(f"srgb: expected one image for its metadata, got {srgb.shape[0]}")
        want = (srgb.shape[-2] // 2, srgb.shape[-1] // 2)
        if header.shape != want:
            raise BitstreamError(
                f"metadata: made for an image of {2 * header.shape[0]}x{2 * header.shape[1]} "
                f"pixels, got sRGB of {srgb.shape[-2]}x{srgb.shape[-1]}"
            )
        if header.model_tag != self.net.model_tag():
            raise BitstreamError(
                f"metadata: made by other weights (model tag {header.model_tag:04x}, these "
                f"weights are {self.net.model_tag():04x})"
            )
        if header.rate >= self.net.rates:
            raise BitstreamError(f"metadata: rate index {header.rate} is not one of this model's")
        out = self.net.decompress(
            payload, srgb, self.blind(srgb), rate=header.rate, check=header.check
        ).raw
        return out.clamp(0.0, 1.0)

    def decode(self, srgb: Array, metadata: bytes) -> Array:
        """Packed RAW ``(4, H/2, W/2)`` in ``[0, 1]`` from sRGB and its metadata
        (:meth:`reconstruct` with ``metadata=``; the estimate is clamped to ``[0, 1]``)."""
        return self.reconstruct(srgb, metadata=metadata)


# ---------------------------------------------------------------------- files (CLI)


def encode_files(
    raw_path: str | os.PathLike[str],
    srgb_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    rate: int | None = None,
    pipeline: LearnedMetadataPipeline | None = None,
    overwrite: bool = False,
) -> Path:
    """``rawkit metadata encode RAW SRGB -o META``: learned metadata of a RAW file and its photo.

    Args:
        raw_path: the camera RAW or DNG (read with :func:`rawkit.io.read_raw`, packed to
            ``[R, Gr, Gb, B]``).
        srgb_path: its sRGB photo (PNG or JPEG) of the same size.
        out: the metadata file to write (atomically).
        rate: rate index (default the pipeline's ``config.rate``).
        pipeline: the codec (default :func:`rawkit.pipelines.pretrained`).
        overwrite: replace an existing ``out``.

    Returns:
        The written path.

    Raises:
        FileExistsError: ``out`` exists and ``overwrite`` is False (checked first).
        ValueError: the photo and the RAW differ in size; bad ``rate``.
    """
    dest = check_writable(out, overwrite=overwrite)
    pipe = _pipeline(pipeline)
    if rate is not None:
        pipe.net._rate_index(rate)  # noqa: SLF001 - fail before reading files
    ri = read_raw(raw_path)
    srgb = read_image(srgb_path).image
    if srgb.shape[0] != 3:
        raise ValueError(f"srgb_path: expected an RGB photo, got {srgb.shape[0]} channels")
    if srgb.shape[-2:] != ri.mosaic.shape[-2:]:
        raise ValueError(
            f"srgb_path: the photo is {srgb.shape[-2]}x{srgb.shape[-1]} pixels but the RAW is "
            f"{ri.mosaic.shape[-2]}x{ri.mosaic.shape[-1]}; expected the same size"
        )
    packed = pack(ri.mosaic, pattern=ri.pattern)
    data = pipe.encode(packed, srgb, rate=rate)
    with atomic_write(dest, overwrite=overwrite) as f:
        f.write(data)
    return dest


def decode_files(
    srgb_path: str | os.PathLike[str],
    meta_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    pipeline: LearnedMetadataPipeline | None = None,
    overwrite: bool = False,
) -> Path:
    """``rawkit metadata decode SRGB META -o OUT.dng``: the RAW from a photo and its metadata,
    written as a DNG (:func:`rawkit.io.dng_colour.write_reconstruction_dng`, RGGB).

    Raises:
        FileExistsError: ``out`` exists and ``overwrite`` is False (checked first).
        rawkit.io.bitstream.BitstreamError: the metadata is truncated, corrupt, of another
            model or for another image size.
    """
    dest = check_writable(out, overwrite=overwrite)
    pipe = _pipeline(pipeline)
    srgb = read_image(srgb_path).image
    if srgb.shape[0] != 3:
        raise ValueError(f"srgb_path: expected an RGB photo, got {srgb.shape[0]} channels")
    meta = Path(meta_path).read_bytes()
    packed = pipe.reconstruct(srgb, metadata=meta)
    write_reconstruction_dng(dest, packed, srgb, pattern="RGGB", overwrite=overwrite)
    return dest


def _pipeline(pipeline: LearnedMetadataPipeline | None) -> LearnedMetadataPipeline:
    if pipeline is None:
        from rawkit.pipelines import pretrained

        pipeline = pretrained("learned_metadata")  # type: ignore[assignment]
    if not isinstance(pipeline, LearnedMetadataPipeline):
        raise TypeError(
            f"pipeline: expected a LearnedMetadataPipeline, got {type(pipeline).__name__}"
        )
    return pipeline
