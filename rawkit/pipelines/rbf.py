r"""Uniform-sampling metadata with RBF interpolation as a pipeline: ``"rbf_metadata"``.

The classic metadata method that "zero metadata" claims are measured against
(:mod:`rawkit.pipelines.baselines`): the camera stores the RAW values of one packed
site per ``spacing x spacing`` pixels at its bit depth
(:func:`~rawkit.pipelines.baselines.uniform_sampling_metadata`), and the reconstruction
fits a radial basis function from each site's colour and position to them
(:func:`~rawkit.pipelines.baselines.rbf_reconstruct`).

**The bytes.**  :meth:`~rawkit.pipelines.base.Pipeline.encode_metadata` returns what
the camera would store: a 10-byte header (magic ``b"RK"``, images ``B``, packed height
``h`` and width ``w`` as little-endian uint16, ``spacing`` and ``bit_depth`` as uint8)
and then, per image, the ``4 x N`` sample values as ``bit_depth``-bit unsigned integers
packed MSB first (``numpy.packbits``), padded to whole bytes.  Sample positions follow
from the grid, so they cost nothing.  Its length is the metadata size the quality
bench reports.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> srgb = rng.random((3, 64, 64)).astype(np.float32)
    >>> raw = rng.random((4, 32, 32)).astype(np.float32)
    >>> pipe = RBFMetadata(RBFMetadataConfig(spacing=16, bit_depth=14))
    >>> meta = pipe.encode_metadata(raw, srgb)
    >>> len(meta), pipe.reconstruct(srgb, metadata=meta).shape
    (122, (4, 32, 32))
"""

from __future__ import annotations

import dataclasses
import math
import struct
from typing import Any

import numpy as np
import torch

from rawkit.data.synth import RENDERS, resolve_camera
from rawkit.isp import BUILTIN_CAMERAS
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting
from rawkit.pipelines.baselines import (
    RBF_KERNELS,
    SampledMetadata,
    rbf_reconstruct,
    typical_params,
    uniform_sampling_metadata,
)

__all__ = ["RBFMetadata", "RBFMetadataConfig", "decode_samples", "encode_samples"]

_HEADER = struct.Struct("<2sHHHBB")
_MAGIC = b"RK"


@dataclasses.dataclass(frozen=True)
class RBFMetadataConfig(PipelineConfig):
    """Settings of :class:`RBFMetadata` (sampling, bytes and interpolation)."""

    spacing: int = setting(
        16, "pixels between samples along each axis (16: 1 per 256 px)", minimum=2, even=True
    )
    bit_depth: int = setting(
        14, "bits per stored RAW value (the camera's ADC depth)", minimum=1, maximum=16
    )
    colour: str = setting(
        "camera", "RBF colour feature: blind inverse's camera RGB, or linear sRGB",
        choices=("camera", "srgb"),
    )  # fmt: skip
    camera: str = setting("nikon_d5100", "camera of the blind inverse", choices=BUILTIN_CAMERAS)
    render: str = setting("rawkit", "ISP whose typical render is inverted", choices=RENDERS)
    kernel: str = setting("thin_plate_spline", "RBF kernel", choices=RBF_KERNELS)
    spatial_weight: float = setting(
        0.3, "weight of position against colour (0: colour only)", minimum=0.0
    )
    smoothing: float = setting(
        0.1, "RBF smoothing (0: interpolate the samples exactly)", minimum=0.0
    )
    neighbors: int = setting(0, "nearest samples per evaluation (0: all)", minimum=0)


def encode_samples(metas: list[SampledMetadata]) -> bytes:
    """The bytes of one or more images' samples (module notes).

    Example:
        >>> m = uniform_sampling_metadata(np.full((4, 16, 24), 0.5), spacing=16, bit_depth=10)
        >>> b = encode_samples([m])
        >>> len(b), decode_samples(b)[0].values[0].tolist() == m.values[0].tolist()
        (40, True)
    """
    first = metas[0]
    (h, w), spacing, depth = first.shape, first.spacing, first.bit_depth
    out = [_HEADER.pack(_MAGIC, len(metas), h, w, spacing, depth)]
    levels = 2**depth - 1
    for m in metas:
        q = np.round(m.values.astype(np.float64) * levels).astype(">u2")  # (N, 4)
        bits = np.unpackbits(q.reshape(-1).view(np.uint8)).reshape(-1, 16)[:, 16 - depth :]
        out.append(np.packbits(bits.reshape(-1)).tobytes())
    return b"".join(out)


def decode_samples(data: bytes) -> list[SampledMetadata]:
    """Inverse of :func:`encode_samples`; a truncated or foreign stream raises ValueError."""
    if len(data) < _HEADER.size:
        raise ValueError(f"metadata: {len(data)} bytes is shorter than the header")
    magic, b, h, w, spacing, depth = _HEADER.unpack_from(data)
    if magic != _MAGIC or not 1 <= depth <= 16 or spacing < 2 or spacing % 2:
        raise ValueError("metadata: not uniform-sampling metadata (bad header)")
    ref = uniform_sampling_metadata(
        np.zeros((4, h, w), np.float32), spacing=spacing, bit_depth=depth
    )
    n = len(ref) * 4
    per = math.ceil(n * depth / 8)
    if len(data) != _HEADER.size + b * per:
        raise ValueError(
            f"metadata: expected {_HEADER.size + b * per} bytes for {b} image(s), got {len(data)}"
        )
    out, levels = [], float(2**depth - 1)
    for i in range(b):
        chunk = np.frombuffer(data, np.uint8, per, _HEADER.size + i * per)
        bits = np.unpackbits(chunk)[: n * depth].reshape(n, depth)
        weights = 1 << np.arange(depth - 1, -1, -1, dtype=np.int64)
        q = (bits.astype(np.int64) * weights).sum(1).reshape(-1, 4)
        vals = (q / levels).astype(np.float32)
        out.append(SampledMetadata(ref.positions, vals, (h, w), spacing, depth))
    return out


@register
class RBFMetadata(Pipeline):
    """Uniform-sampling metadata + RBF interpolation (module notes)."""

    name = "rbf_metadata"
    Config = RBFMetadataConfig
    learned = False
    stores_metadata = True
    tileable = False
    description = "uniform-sampling metadata (1 sample per 256 px) + RBF interpolation"
    variants = {"rbf_srgb": {"colour": "srgb"}, "rbf": {}}
    config: RBFMetadataConfig

    def _encode_metadata(self, raw: torch.Tensor, srgb: torch.Tensor) -> bytes:
        c = self.config
        a = raw.detach().cpu().numpy()
        if a.min() < 0 or a.max() > 1:
            raise ValueError(f"raw: expected values in [0, 1], got [{a.min():.4g}, {a.max():.4g}]")
        metas = [uniform_sampling_metadata(x, spacing=c.spacing, bit_depth=c.bit_depth) for x in a]
        return encode_samples(metas)

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        c = self.config
        metas = decode_samples(metadata or b"")
        if len(metas) != srgb.shape[0] or metas[0].shape != (
            srgb.shape[-2] // 2,
            srgb.shape[-1] // 2,
        ):
            raise ValueError(
                f"metadata: holds {len(metas)} image(s) of packed size {metas[0].shape}, "
                f"expected {srgb.shape[0]} of {(srgb.shape[-2] // 2, srgb.shape[-1] // 2)}"
            )
        kw: dict[str, Any] = {"kernel": c.kernel, "spatial_weight": c.spatial_weight,
                              "smoothing": c.smoothing, "neighbors": c.neighbors or None}  # fmt: skip
        if c.colour == "camera":
            camera = resolve_camera(c.camera)
            kw.update(camera=camera, params=typical_params(camera, render=c.render))  # type: ignore[arg-type]
        s = srgb.detach().cpu().numpy()
        out = [np.asarray(rbf_reconstruct(x, m, **kw)) for x, m in zip(s, metas, strict=True)]
        return torch.from_numpy(np.stack(out)).to(srgb.device)
