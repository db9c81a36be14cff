"""The two reference inverses of every quality table: the oracle and the blind generic one.

* :func:`oracle_inverse` -- the inverse ISP with **each pair's true parameters** (its
  white balance, exposure, look...): the ceiling that no method without per-image
  information can pass.  On the default preset it loses only what the camera really
  lost (clipped highlights, noise, 8-bit quantisation).
* :func:`generic_inverse` -- the **blind generic inverse** (Brooks et al. 2019,
  "Unprocessing", run with generic settings): it knows the camera's colour matrix and
  LibRaw's generic pipeline (D65 white balance, no gain, no tone curve) but neither the
  scene's illuminant nor the camera's look.  Learned methods learn what it misses from
  pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rawkit.data.synth import SyntheticPair, resolve_camera
from rawkit.isp import CameraModel, ISPParams, default_params, invert_look, unprocess

__all__ = ["generic_inverse", "oracle_inverse"]


def oracle_inverse(pair: SyntheticPair) -> np.ndarray:
    """Packed RAW from ``pair.srgb`` with the pair's true parameters (the ceiling).

    Undoes the camera look (:func:`rawkit.isp.invert_look`) if the pair has one, then
    :func:`rawkit.isp.unprocess` with ``pair.params`` in ``pair.convention``.

    Args:
        pair: a :class:`~rawkit.data.SyntheticPair`.

    Returns:
        ``(4, H/2, W/2)`` float32 packed RAW ``[R, Gr, Gb, B]`` in [0, 1].

    Example:
        >>> from rawkit.data import synthesize
        >>> from rawkit.metrics import psnr
        >>> p = synthesize("kodim19", camera="nikon_d5100", seed=0, max_side=128)
        >>> o = float(psnr(oracle_inverse(p), p.packed, data_range=1.0))
        >>> b = float(psnr(generic_inverse(p.srgb, camera=p.camera), p.packed, data_range=1.0))
        >>> o > b + 3
        True
    """
    if not isinstance(pair, SyntheticPair):
        raise TypeError(f"pair: expected a rawkit.data.SyntheticPair, got {type(pair).__name__}")
    srgb = torch.from_numpy(pair.srgb.astype(np.float64))
    if pair.look is not None:
        srgb = invert_look(srgb, look=pair.look)
    raw, _ = unprocess(
        srgb, camera=pair.camera, params=pair.params, layout="packed", convention=pair.convention
    )
    return raw.to(torch.float32).numpy()


def generic_inverse(
    srgb: Any, *, camera: CameraModel | str, params: ISPParams | None = None
) -> Any:
    """Blind generic inverse ISP: :func:`rawkit.isp.unprocess` with generic settings.

    Args:
        srgb: ``(*, 3, H, W)`` float sRGB in [0, 1], ``H, W`` even (NumPy or torch).
        camera: the camera model (or a built-in camera's name): its colour matrix and
            Bayer pattern are known.
        params: the generic render; default :func:`rawkit.isp.default_params` (LibRaw's
            generic pipeline: D65 white balance, no gain, no tone curve, sRGB curve).

    Returns:
        Packed RAW ``(*, 4, H/2, W/2)`` in [0, 1] (NumPy for NumPy input).

    Example:
        >>> from rawkit.data import synthesize
        >>> p = synthesize("coffee", camera="nikon_d5100", seed=0, max_side=64)
        >>> generic_inverse(p.srgb, camera="nikon_d5100").shape
        (4, 21, 32)
    """
    cam = resolve_camera(camera)
    if params is None:
        params = default_params(cam)
    raw, _ = unprocess(srgb, camera=cam, params=params, layout="packed")
    return raw
