r"""An analytic starting point for the learned reconstructors: the blind generic inverse.

A network that maps sRGB to RAW from scratch must first learn the whole inverse ISP
(the sRGB transfer curve, the colour matrix, the white balance, the Bayer layout) before
it can learn what it is trained for: how one camera differs from the generic ISP (its
tone curve and colour look, its typical illuminant).  With ``base="generic_inverse"``
:class:`rawkit.nets.UNet` and :class:`rawkit.nets.PriorRAWNet` predict a **residual over
the blind generic inverse** instead::

    RAW_hat = GenericInverse(sRGB) + head(features)        head: 1x1 conv, zero-initialised

where ``GenericInverse`` is :func:`rawkit.data.generic_inverse` (Brooks et al. 2019's
unprocessing with the camera's colour matrix and LibRaw's generic settings: D65 white
balance, no tone curve, no gain), a fixed, parameter-free module.  The head starts at
zero, so an untrained network *is* the generic inverse and training only adds.  This is
rawkit's choice, not the papers' (the AIM 2022 baseline and PriorRAW regress the RAW
directly through a sigmoid); the shipped weights' cards (``rawkit/weights/*/card.json``)
give what it gains on the benchmark camera.  In evaluation mode (``net.eval()``, what the
pipelines run) the sum is clipped to the RAW's range ``[0, 1]``, as the sigmoid bounds the
papers' networks; in training mode it is not, so a prediction outside the range still
gets a gradient back into it (clipped in training too, a run on the benchmark camera died
at step 1,000 with every output at a bound and no gradient left).

Example:
    >>> import torch
    >>> base = GenericInverseBase(camera="nikon_d5100")
    >>> base(torch.full((1, 3, 4, 4), 0.5)).shape
    torch.Size([1, 4, 2, 2])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rawkit._checks import check_choice
from rawkit.data import generic_inverse, resolve_camera

__all__ = ["BASES", "GenericInverseBase", "make_base"]

#: What a reconstructor's output is added to: nothing, or the blind generic inverse.
BASES: tuple[str, ...] = ("none", "generic_inverse")


class GenericInverseBase(nn.Module):
    """The blind generic inverse of a built-in camera as a fixed module (module notes).

    Shapes:
        - input: ``(B, 3, H, W)`` sRGB in ``[0, 1]``, even ``H, W``, floating.
        - output: ``(B, 4, H/2, W/2)`` packed RAW ``[R, Gr, Gb, B]`` of the camera, in
          ``[0, 1]``, same dtype and device; no gradient flows through it.

    Args:
        camera: name of a built-in camera (:data:`rawkit.isp.BUILTIN_CAMERAS`): its colour
            matrix and Bayer pattern define the generic inverse.

    Example:
        >>> import torch
        >>> GenericInverseBase(camera="nikon_d5100")(torch.zeros(2, 3, 2, 2)).abs().max().item()
        0.0
    """

    def __init__(self, *, camera: str) -> None:
        super().__init__()
        if not isinstance(camera, str):
            raise TypeError(
                f"camera: expected a built-in camera's name, got {type(camera).__name__}"
            )
        self._model = resolve_camera(camera)  # raises on an unknown name
        self.camera = camera

    def extra_repr(self) -> str:
        return f"camera={self.camera!r}"

    def forward(self, srgb: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out = generic_inverse(srgb.detach().float(), camera=self._model)
        return torch.as_tensor(out).to(srgb.dtype)


def make_base(base: Any, camera: Any) -> GenericInverseBase | None:
    """The base module for a network's ``base``/``camera`` settings (``None`` for ``"none"``).

    Raises:
        ValueError: an unknown ``base``, or ``"generic_inverse"`` without a camera.

    Example:
        >>> make_base("none", None) is None
        True
    """
    check_choice(base, BASES, "base")
    if base == "none":
        if camera is not None:
            raise ValueError(f"camera: only used with base='generic_inverse', got {camera!r}")
        return None
    if camera is None:
        raise ValueError("camera: base='generic_inverse' needs a built-in camera's name, got None")
    return GenericInverseBase(camera=camera)
