"""Sensor noise: heteroscedastic shot + read noise (Brooks et al. 2019, Sec. 3.1 and 4.1).

A RAW value ``x`` (linear, [0, 1]) observed by the sensor is ``y ~ N(x, shot * x + read)``:
Poisson photon noise approximated by a variance proportional to the signal, plus
signal-independent read noise.  Brooks et al. sample the levels of a real camera as

.. math::  \\log \\lambda_{shot} \\sim U(\\log 10^{-4}, \\log 0.012), \\quad
           \\log \\lambda_{read} \\sim N(2.18 \\log \\lambda_{shot} + 1.20,\\ 0.26^2).

Noise is not invertible, but it is reproducible: every sampler takes ``generator=``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rawkit._checks import check_dtype, check_finite, check_tensor_like
from rawkit._tensor import Array, numpy_compat

__all__ = ["BROOKS_NOISE", "add_noise", "noise_variance", "sample_noise_levels"]

#: Brooks et al.'s noise model: (min shot, max shot, read slope, read intercept, read std).
BROOKS_NOISE: tuple[float, float, float, float, float] = (1e-4, 0.012, 2.18, 1.20, 0.26)


def _level(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{name}: expected a finite number >= 0, got {value!r}")
    return float(value)


def _check_generator(generator: Any) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator: expected a torch.Generator, got {type(generator).__name__}")


@numpy_compat
def noise_variance(x: Array, *, shot_noise: float, read_noise: float) -> Array:
    """Per-pixel noise variance ``shot_noise * max(x, 0) + read_noise``.

    Args:
        x: linear RAW, any shape, floating, finite.
        shot_noise, read_noise: variances' coefficients, >= 0.

    Returns:
        Same shape/dtype/device.  Differentiable.

    Example:
        >>> import numpy as np
        >>> noise_variance(np.array([0.0, 0.5]), shot_noise=0.01, read_noise=0.001).tolist()
        [0.001, 0.006]
    """
    check_tensor_like(x, "x")
    check_dtype(x, ["float"], "x")
    check_finite(x, "x")
    return _level(shot_noise, "shot_noise") * torch.clamp(x, min=0.0) + _level(
        read_noise, "read_noise"
    )


@numpy_compat
def add_noise(
    x: Array, *, shot_noise: float, read_noise: float, generator: torch.Generator
) -> Array:
    """Add heteroscedastic Gaussian noise ``N(0, shot_noise * x + read_noise)``.

    Args:
        x: linear RAW, any shape, floating, finite (negative values count as 0 signal).
        shot_noise, read_noise: >= 0 (see :func:`sample_noise_levels`).
        generator: a ``torch.Generator`` on ``x``'s device; the same seed gives the same noise.

    Returns:
        Same shape/dtype/device, **not clipped** (noise can go below 0 and above 1, as on
        a sensor before its ADC).  Differentiable in ``x`` for a fixed noise draw.

    Raises:
        ValueError: negative levels, NaN/Inf.  TypeError: not floating, no generator.

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> y = add_noise(torch.full((1, 2, 2), 0.5), shot_noise=0.0, read_noise=0.0, generator=g)
        >>> y.unique().tolist()
        [0.5]
    """
    _check_generator(generator)
    var = noise_variance(x, shot_noise=shot_noise, read_noise=read_noise)
    z = torch.randn(x.shape, dtype=x.dtype, device=x.device, generator=generator)
    pos = var > 0
    # sqrt has an infinite gradient at 0 (zero signal, zero read noise): feed it 1 there and mask.
    std = torch.where(
        pos, torch.sqrt(torch.where(pos, var, torch.ones_like(var))), torch.zeros_like(var)
    )
    return x + std * z


def sample_noise_levels(
    *,
    generator: torch.Generator,
    model: tuple[float, float, float, float, float] = BROOKS_NOISE,
) -> tuple[float, float]:
    """Sample ``(shot_noise, read_noise)`` as Brooks et al. (2019) do.

    Args:
        generator: a CPU ``torch.Generator``.
        model: ``(shot_min, shot_max, read_slope, read_intercept, read_std)``, default
            :data:`BROOKS_NOISE`.

    Returns:
        Two floats, ``shot_noise`` log-uniform in ``[shot_min, shot_max]`` and
        ``read_noise = exp(slope * log(shot) + intercept + N(0, std^2))``.

    Raises:
        TypeError: no generator.  ValueError: a malformed ``model``.

    Example:
        >>> import torch
        >>> shot, read = sample_noise_levels(generator=torch.Generator().manual_seed(0))
        >>> 1e-4 <= shot <= 0.012 and read > 0
        True
    """
    _check_generator(generator)
    lo, hi, slope, intercept, std = model
    if not 0 < lo <= hi or std < 0:
        raise ValueError(f"model: expected 0 < shot_min <= shot_max and read_std >= 0, got {model}")
    u = torch.rand(1, generator=generator, dtype=torch.float64)
    n = torch.randn(1, generator=generator, dtype=torch.float64)
    log_shot = math.log(lo) + float(u) * (math.log(hi) - math.log(lo))
    log_read = slope * log_shot + intercept + std * float(n)
    return math.exp(log_shot), math.exp(log_read)
