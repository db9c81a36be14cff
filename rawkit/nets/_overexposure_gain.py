r"""Global exposure gain of the overexposure fusion: image statistics -> log-gain, by ridge.

No sRGB-only method knows the exposure an image was rendered with, and on the
overexposed split it varies by a factor of ~5 (the exposure is raised until 5-30 % of
the pixels clip) while the RAW stays the same.  A network trained on small crops
cannot tell a crop of an overexposed image from one of a normal image and hedges,
overestimating the RAW of overexposed images by ~1.5x on average (measured; see
:mod:`rawkit.bench.overexposure`).  Whole-image statistics can: how much of the image
clips and how the brightness is distributed.  :class:`rawkit.nets.OverexposureFusionNet`
therefore scales its base by a global gain :math:`e^{w^\top f(x)}`, with

* :func:`exposure_features` :math:`f(x)`: a constant 1, the shares of pixels whose
  largest channel :math:`v` reaches 0.95 and 0.998, the mean of :math:`v`, its 25th,
  50th, 75th and 90th percentiles, and the mean of all channels (9 numbers);
* :func:`fit_log_gain` :math:`w`: ridge regression (:math:`\lambda = 10^{-2}`) of each
  training image's log-gain, the least-squares gain between the base and the truth
  over the pixels outside the overexposure mask, on :math:`f`.

A closed-form fit, made once by the pipeline before the branches train: it is what a
network would need many steps and whole images (not crops) to learn.
"""

from __future__ import annotations

import torch

__all__: list[str] = []

#: Names of the entries of :func:`exposure_features`, in order.
FEATURES = ("one", "share_095", "share_0998", "mean_max", "p25", "p50", "p75", "p90", "mean")
#: Largest number of pixels the percentiles are taken over (larger images are strided).
_MAX_PIXELS = 1 << 22


def exposure_features(srgb: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` sRGB in [0, 1] -> ``(N, 9)`` float64 statistics (module notes)."""
    x = srgb.detach().to(torch.float64)
    v = x.amax(dim=-3).flatten(1)
    step = max(1, -(-v.shape[1] // _MAX_PIXELS))
    q = torch.quantile(v[:, ::step], torch.tensor([0.25, 0.5, 0.75, 0.9], dtype=v.dtype), dim=1)
    cols = [
        torch.ones_like(v[:, 0]),
        (v >= 0.95).to(v.dtype).mean(1),
        (v >= 0.998).to(v.dtype).mean(1),
        v.mean(1),
        *q,
        x.flatten(1).mean(1),
    ]
    return torch.stack(cols, dim=1)


def fit_log_gain(
    features: torch.Tensor, targets: torch.Tensor, *, ridge: float = 1e-2
) -> torch.Tensor:
    r"""Ridge regression :math:`w = (F^\top F + \lambda I)^{-1} F^\top y` -> ``(9,)`` float64."""
    f = features.to(torch.float64)
    y = targets.to(torch.float64)
    a = f.T @ f + ridge * torch.eye(f.shape[1], dtype=f.dtype)
    return torch.linalg.solve(a, f.T @ y)


def log_gain_target(
    base: torch.Tensor, truth: torch.Tensor, weight: torch.Tensor
) -> torch.Tensor | None:
    """Log of the ``weight``-weighted least-squares gain ``k`` minimising ``|k base - truth|^2``.

    ``base``, ``truth``: ``(3, H, W)``; ``weight``: ``(1, H, W)`` >= 0.  ``None`` when
    the weighted base is zero (no pixel to fit on).
    """
    b, t, w = (v.to(torch.float64) for v in (base, truth, weight))
    den = (w * b * b).sum()
    num = (w * b * t).sum()
    if float(den) <= 0 or float(num) <= 0:
        return None
    return torch.log(num / den)
