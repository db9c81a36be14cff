r"""The blind analytic inverse as a pipeline: ``"blind_unprocess"``, the smallest real one.

Brooks et al.'s ``unprocess`` (:func:`rawkit.isp.unprocess`) with the camera model known
and the per-image render unknown: it inverts :func:`rawkit.pipelines.typical_params`,
the average render of the benchmark's ISP (:func:`rawkit.pipelines.blind_unprocess` does
the work).  Nothing is learned and nothing is stored per image, so the class only
declares its settings and implements ``_reconstruct``; fitting, checking, NumPy
conversion and saving come from :class:`~rawkit.pipelines.base.Pipeline`.  It is not
tileable with ``render="rawkit"``: the lens-shading inverse depends on the position in the
whole image; with ``render="libraw"`` (no lens shading) it runs tile by tile, exactly.

Example:
    >>> import numpy as np
    >>> pipe = BlindUnprocess(BlindUnprocessConfig(camera="nikon_d5100"))
    >>> raw = pipe.reconstruct(np.full((3, 8, 12), 0.5, np.float32))
    >>> raw.shape, raw.dtype, bool(((raw >= 0) & (raw <= 1)).all())
    ((4, 4, 6), dtype('float32'), True)
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from rawkit._tensor import to_numpy, to_tensor
from rawkit.data.synth import RENDERS, resolve_camera
from rawkit.isp import BUILTIN_CAMERAS, unprocess
from rawkit.pipelines.base import Pipeline, PipelineConfig, register, setting
from rawkit.pipelines.baselines import blind_unprocess, typical_params

__all__ = ["BlindUnprocess", "BlindUnprocessConfig"]


@dataclasses.dataclass(frozen=True)
class BlindUnprocessConfig(PipelineConfig):
    """Settings of :class:`BlindUnprocess`."""

    camera: str = setting("nikon_d5100", "built-in camera model", choices=BUILTIN_CAMERAS)
    render: str = setting("rawkit", "ISP that rendered the sRGB", choices=RENDERS)


@register
class BlindUnprocess(Pipeline):
    """Blind inverse ISP with the typical render of ``config.render`` (module notes)."""

    name = "blind_unprocess"
    Config = BlindUnprocessConfig
    learned = False
    description = "blind analytic inverse ISP (Brooks et al. unprocess, typical render)"
    tileable = False
    config: BlindUnprocessConfig

    def __init__(self, config: BlindUnprocessConfig | None = None) -> None:
        super().__init__(config)
        params = typical_params(resolve_camera(self.config.camera), render=self.config.render)  # type: ignore[arg-type]
        # Without lens shading every step is per pixel (the mosaic keeps its phase on the
        # even tile grid), so tiles give the whole-image result in bounded memory.
        self.tileable = params.lens_shading == 0  # type: ignore[misc]

    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        camera = resolve_camera(self.config.camera)
        params = typical_params(camera, render=self.config.render)  # type: ignore[arg-type]
        raw = blind_unprocess(srgb.double(), camera=camera, params=params)
        return raw.float()  # type: ignore[union-attr]

    def camera_rgb(self, srgb: np.ndarray) -> np.ndarray:
        """Full-resolution camera RGB ``(3, H, W)`` of the same inverse, before mosaicing.

        What a linear DNG stores (:func:`rawkit.pipelines.photo.reconstruct_photo`):
        the inverse's own per-pixel camera values, with no demosaicing anywhere.
        ``srgb``: ``(3, H, W)`` float32 in ``[0, 1]``; computed in float32.
        """
        camera = resolve_camera(self.config.camera)
        params = typical_params(camera, render=self.config.render)  # type: ignore[arg-type]
        rgb, _ = unprocess(to_tensor(srgb), camera=camera, params=params, layout="rgb")
        return to_numpy(rgb)
