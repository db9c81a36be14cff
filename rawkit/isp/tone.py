"""Global tone curve: the smoothstep of Brooks et al. (2019) and its closed-form inverse.

Brooks et al., "Unprocessing Images for Learned Raw Denoising", CVPR 2019, Sec. 3.4:
``f(x) = 3x^2 - 2x^3`` on [0, 1], a gentle S-curve (darker shadows, brighter highlights,
``f(0) = 0``, ``f(1/2) = 1/2``, ``f(1) = 1``), monotone on [0, 1] only.  Its inverse is
``x = 1/2 - sin(asin(1 - 2y) / 3)``.

rawkit evaluates that inverse in an algebraically equal form that stays accurate near
``y = 0`` and ``y = 1`` (where ``1 - 2y`` cancels): with ``t = (2/3) asin(sqrt(y))``,
``1/2 - sin(pi/6 - t) = sin(t/2)^2 + (sqrt(3)/2) sin(t)``, and ``f^{-1}(y) = 1 - f^{-1}(1 - y)``
for ``y > 1/2``.

Note on order: rawkit's :func:`rawkit.isp.process` applies the tone curve to linear
values before the transfer function (camera order, as the issue specifies); Brooks et
al. apply it after gamma.  Both :func:`smoothstep` and its inverse work on either.
"""

from __future__ import annotations

import math

import torch

from rawkit._checks import check_dtype, check_finite, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = ["inverse_smoothstep", "smoothstep"]


def _check(x: object, name: str) -> None:
    check_tensor_like(x, name)
    check_dtype(x, ["float"], name)  # type: ignore[arg-type]
    check_finite(x, name)  # type: ignore[arg-type]


@numpy_compat
def smoothstep(x: Array) -> Array:
    """The smoothstep tone curve ``3x^2 - 2x^3`` (Brooks et al. 2019, Eq. in Sec. 3.4).

    Args:
        x: any shape, floating, finite.  Meant for [0, 1], where it is monotone; values
            outside go through the same polynomial (not clipped).

    Returns:
        Same shape/dtype/device.  Differentiable.

    Raises:
        ValueError: NaN/Inf.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> smoothstep(np.array([0.0, 0.25, 0.5, 1.0])).tolist()
        [0.0, 0.15625, 0.5, 1.0]
    """
    _check(x, "x")
    return x * x * (3.0 - 2.0 * x)


def _lower_inverse(y: torch.Tensor) -> torch.Tensor:
    """``f^{-1}(y)`` for ``y`` in [0, 1/2], accurate near 0."""
    pos = y > 0
    # sqrt has an infinite gradient at 0: feed it 1 there and mask the result (the true
    # derivative of f^{-1} at 0 is infinite; rawkit reports 0 rather than NaN).
    root = torch.where(
        pos, torch.sqrt(torch.where(pos, y, torch.ones_like(y))), torch.zeros_like(y)
    )
    t = (2.0 / 3.0) * torch.asin(root)
    return torch.sin(0.5 * t) ** 2 + (math.sqrt(3.0) / 2.0) * torch.sin(t)


@numpy_compat
def inverse_smoothstep(y: Array) -> Array:
    """The inverse of :func:`smoothstep` on [0, 1]: ``1/2 - sin(asin(1 - 2y) / 3)``.

    Args:
        y: any shape, floating, finite, in [0, 1] (raises otherwise: outside [0, 1] the
            curve has no inverse).

    Returns:
        Same shape/dtype/device, in [0, 1].  ``smoothstep(inverse_smoothstep(y)) == y`` to
        float rounding; ``inverse_smoothstep(smoothstep(x)) == x`` up to the curve's
        conditioning (``f'`` vanishes at 0 and 1, so errors near 1 grow like sqrt(eps)).
        Differentiable on (0, 1) (gradient reported as 0 at exactly 0 and 1, where the true
        derivative is infinite).

    Raises:
        ValueError: values outside [0, 1], NaN/Inf.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> inverse_smoothstep(np.array([0.0, 0.15625, 0.5, 1.0])).tolist()
        [0.0, 0.25, 0.5, 1.0]
    """
    _check(y, "y")
    if y.numel() and (float(y.detach().min()) < 0 or float(y.detach().max()) > 1):
        raise ValueError(f"y: expected values in [0, 1], got [{float(y.min())}, {float(y.max())}]")
    low = y <= 0.5
    f = _lower_inverse(torch.where(low, y, 1 - y))  # by symmetry f^-1(y) = 1 - f^-1(1 - y)
    return torch.where(low, f, 1 - f)
