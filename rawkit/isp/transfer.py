"""Transfer functions: the exact piecewise sRGB curve (IEC 61966-2-1) and a plain gamma.

Naming follows the ISP direction: :func:`srgb_oetf` encodes linear light into sRGB code
values (colour-science's ``cctf_encoding(..., function="sRGB")``, the inverse EOTF of
the standard) and :func:`srgb_eotf` decodes them back (``cctf_decoding``).

sRGB (IEC 61966-2-1:1999):

.. math::
    V = \\begin{cases} 12.92\\,L & L \\le 0.0031308 \\\\
                       1.055\\,L^{1/2.4} - 0.055 & L > 0.0031308 \\end{cases}

Values outside [0, 1] are not clipped: below the threshold (including negatives) the
linear segment applies, above 1 the power law continues.
"""

from __future__ import annotations

import math

import torch

from rawkit._checks import check_dtype, check_finite, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = ["GAMMA_EPS", "gamma_decode", "gamma_encode", "srgb_eotf", "srgb_oetf"]

_L_KNEE = 0.0031308
_V_KNEE = 12.92 * _L_KNEE  # 0.040449936: where the two encoded segments meet
#: Smallest value :func:`gamma_encode` raises to a power (Brooks et al. 2019 use 1e-8).
GAMMA_EPS = 1e-8


def _check(x: object, name: str) -> None:
    check_tensor_like(x, name)
    check_dtype(x, ["float"], name)  # type: ignore[arg-type]
    check_finite(x, name)  # type: ignore[arg-type]


# Powers are computed as exp(e log x): vectorised passes, about twice as fast as ``pow``
# on the CPU and within 1e-7 of it in float32 (1e-15 in float64) on [0, 1].
_LOG_1055 = math.log(1.055)


def _check_gamma(gamma: float) -> None:
    if (
        isinstance(gamma, bool)
        or not isinstance(gamma, (int, float))
        or not gamma > 0
        or gamma == float("inf")
    ):
        raise ValueError(f"gamma: expected a finite number > 0, got {gamma!r}")


@numpy_compat
def srgb_oetf(linear: Array) -> Array:
    """Encode linear light as sRGB code values (the piecewise IEC 61966-2-1 curve).

    Args:
        linear: any shape, floating, finite; usually in [0, 1].  Not clipped.

    Returns:
        Same shape/dtype/device.  Agrees with ``colour.cctf_encoding(L, function="sRGB")``
        to 1e-6 (float64: 1e-12).  Differentiable everywhere (the power branch is fed
        ``max(L, 0.0031308)``, so its gradient never sees 0).

    Raises:
        ValueError: NaN/Inf.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> srgb_oetf(np.array([0.0, 0.18, 1.0])).round(4).tolist()
        [0.0, 0.4614, 1.0]
    """
    _check(linear, "linear")
    # Clamp inside the power branch: pow(0, 1/2.4) has an infinite gradient, and torch.where
    # back-propagates through both branches.
    # 1.055 L^(1/2.4) = exp(log(L) / 2.4 + log 1.055): one fused add instead of a multiply.
    power = torch.exp(
        torch.add(_LOG_1055, torch.log(torch.clamp(linear, min=_L_KNEE)), alpha=1 / 2.4)
    )
    # The branch is chosen at the standard's knee (not as the smaller of the two segments:
    # they cross about 1e-9 away from it, which would break the exact inverse there).
    return torch.where(linear <= _L_KNEE, 12.92 * linear, power - 0.055)


@numpy_compat
def srgb_eotf(encoded: Array) -> Array:
    """Decode sRGB code values to linear light: the inverse of :func:`srgb_oetf`.

    The knee is at ``12.92 * 0.0031308`` (where the encoding's two segments meet, as in
    colour-science), so the pair is inverse to float rounding everywhere.

    Args:
        encoded: any shape, floating, finite; usually in [0, 1].  Not clipped.

    Returns:
        Same shape/dtype/device; agrees with ``colour.cctf_decoding(V, function="sRGB")``.
        Differentiable.

    Raises:
        ValueError: NaN/Inf.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> srgb_eotf(np.array([0.0, 0.5, 1.0])).round(4).tolist()
        [0.0, 0.214, 1.0]
    """
    _check(encoded, "encoded")
    # ((V + 0.055) / 1.055)^2.4 = exp(2.4 log(V + 0.055) - 2.4 log 1.055)
    power = torch.exp(
        torch.add(-2.4 * _LOG_1055, torch.log(torch.clamp(encoded, min=_V_KNEE) + 0.055), alpha=2.4)
    )
    return torch.where(encoded <= _V_KNEE, encoded / 12.92, power)


@numpy_compat
def gamma_encode(linear: Array, *, gamma: float = 2.2) -> Array:
    """Plain gamma compression ``max(L, 1e-8) ** (1 / gamma)`` (Brooks et al. 2019).

    Args:
        linear: any shape, floating, finite, meant to be >= 0.
        gamma: exponent > 0 (2.2 in Brooks et al.).

    Returns:
        Same shape/dtype/device.  Values below :data:`GAMMA_EPS` (negatives included) are
        raised to the power as ``GAMMA_EPS``, which keeps the gradient finite; so the inverse
        :func:`gamma_decode` is exact only for ``L >= GAMMA_EPS``.  Differentiable.

    Raises:
        ValueError: NaN/Inf, ``gamma <= 0``.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> gamma_encode(np.array([0.25, 1.0]), gamma=2.0).tolist()
        [0.5, 1.0]
    """
    _check(linear, "linear")
    _check_gamma(gamma)
    return torch.clamp(linear, min=GAMMA_EPS) ** (1.0 / gamma)


@numpy_compat
def gamma_decode(encoded: Array, *, gamma: float = 2.2) -> Array:
    """Plain gamma expansion ``max(V, 0) ** gamma``: inverse of :func:`gamma_encode`.

    Args:
        encoded: any shape, floating, finite, meant to be >= 0 (negatives decode to 0).
        gamma: exponent > 0.

    Returns:
        Same shape/dtype/device.  Differentiable (gradient 0 below 0).

    Raises:
        ValueError: NaN/Inf, ``gamma <= 0``.  TypeError: not a floating array.

    Example:
        >>> import numpy as np
        >>> gamma_decode(np.array([0.5, 1.0]), gamma=2.0).tolist()
        [0.25, 1.0]
    """
    _check(encoded, "encoded")
    _check_gamma(gamma)
    return torch.clamp(encoded, min=0.0) ** gamma
