r"""Global exposure gain of the overexposure fusion: image statistics -> log-gain.

No sRGB-only method knows the exposure an image was rendered with, and on the
overexposed split it varies by a factor of ~5 (the exposure is raised until 5-30 % of
the pixels clip) while the RAW stays the same.  A network trained on small crops
cannot tell a crop of an overexposed image from one of a normal image and hedges,
overestimating the RAW of overexposed images by ~1.5x on average (measured; see
:mod:`rawkit.bench.overexposure`).  Whole-image statistics can: how much of the image
clips and how the brightness is distributed.  :class:`rawkit.nets.OverexposureFusionNet`
therefore scales its base by a global gain :math:`G(x) = e^{\ell(x)}`, with

* :func:`exposure_features` :math:`f(x)`: a constant 1, the shares of pixels whose
  largest channel :math:`v` reaches 0.95 and 0.998, the mean of :math:`v`, its 25th,
  50th, 75th and 90th percentiles, and the mean of all channels (9 numbers);
* a **gated** log-gain (:func:`gated_log_gain`)

  .. math:: \ell(x) = p(x)\, w^\top f(x) + (1 - p(x))\, c, \qquad p(x) = \sigma(u^\top f(x)),

  a mixture of two experts: a constant :math:`c` for images rendered as usual and a
  linear regression :math:`w^\top f` for overexposed ones, mixed by a logistic gate
  :math:`p` ("how overexposed does this image look").  A single linear regression
  fitted on a mixture of normal and overexposed images cannot be right on both: on
  the benchmark camera's normal test pairs it scaled normal images with a few percent
  of clipped sky by up to 0.7 and cost them 7 dB against no gain at all (27.95 vs
  35.13 dB), because overexposed images with as little clipping need such gains;
* :func:`fit_gated_gain`: :math:`(u, w, c)` maximise the **mean PSNR** of the gained
  base over the training images (normal and overexposed together), the measure the
  gain is judged by, rather than a least-squares fit of log-gains: a log-gain error of
  0.3 costs a normal image (35 dB) far more than an overexposed one (20 dB).  Each
  image's PSNR as a function of its log-gain is tabulated once on a grid
  (:data:`LOG_GAIN_GRID`) and interpolated; Adam (3,000 steps, learning rate 0.01) on
  standardised features with a ridge penalty :math:`10^{-2}` on the non-constant
  weights, from :math:`u = 0`, :math:`c` = the median of the images' least-squares
  log-gains (:func:`log_gain_target`) and :math:`w` their ridge regression
  (:func:`fit_log_gain`).  No label says which image is overexposed: the gate finds
  it.  The penalty was chosen on the validation pairs (``1e-3`` and ``1e-2`` tied
  there; the larger is kept).

A closed-form-sized fit (19 numbers), made once by the pipeline before the branches
train: it is what a network would need many steps and whole images (not crops) to
learn.
"""

from __future__ import annotations

import torch

__all__: list[str] = []

#: Log-gains at which each training image's PSNR is tabulated (:func:`fit_gated_gain`).
LOG_GAIN_GRID = torch.linspace(-3.0, 1.5, 226, dtype=torch.float64)
#: Largest number of values per image the PSNR table is computed over (strided).
_MAX_VALUES = 1 << 16

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


def gated_log_gain(
    features: torch.Tensor, weights: torch.Tensor, gate: torch.Tensor, normal: torch.Tensor
) -> torch.Tensor:
    r""":math:`\ell = \sigma(u^\top f)\, w^\top f + (1 - \sigma(u^\top f))\, c` -> ``(N,)`` (module notes).

    ``features`` ``(N, 9)``, ``weights`` :math:`w` and ``gate`` :math:`u` ``(9,)``,
    ``normal`` :math:`c` a scalar tensor; in their common dtype.
    """
    p = torch.sigmoid(features @ gate)
    return p * (features @ weights) + (1 - p) * normal


def psnr_table(base: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """PSNR (dB, range 1) of ``clamp(e**g base, 0, 1)`` against ``truth`` for each ``g`` of
    :data:`LOG_GAIN_GRID` -> ``(226,)`` float64 (values strided to at most 65,536)."""
    b, t = base.detach().flatten().double(), truth.detach().flatten().double()
    step = max(1, -(-b.numel() // _MAX_VALUES))
    b, t = b[::step], t[::step]
    rows = [
        ((b[None] * torch.exp(g[:, None])).clamp(0, 1) - t[None]).pow(2).mean(dim=-1)
        for g in LOG_GAIN_GRID.split(32)
    ]
    return -10 * torch.log10(torch.cat(rows).clamp_min(1e-12))


def _interp(table: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Rows of ``table`` ``(N, K)`` read at ``g`` ``(N,)`` (linear, clamped to the grid)."""
    grid = LOG_GAIN_GRID
    x = ((g - grid[0]) / (grid[1] - grid[0])).clamp(0, len(grid) - 1 - 1e-6)
    i = x.detach().floor().long()
    a = x - i
    lo = torch.gather(table, 1, i[:, None])[:, 0]
    hi = torch.gather(table, 1, (i + 1)[:, None])[:, 0]
    return lo * (1 - a) + hi * a


def fit_gated_gain(
    features: torch.Tensor,
    tables: torch.Tensor,
    targets: torch.Tensor,
    *,
    ridge: float = 1e-2,
    steps: int = 3000,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Fit the gated log-gain's :math:`(w, u, c)` by maximising the mean PSNR (module notes).

    Args:
        features: ``(N, 9)`` :func:`exposure_features` of the training images.
        tables: ``(N, 226)`` :func:`psnr_table` of each image's ungained base.
        targets: ``(N,)`` :func:`log_gain_target` of each image (the initialisation).
        ridge: penalty on the standardised non-constant weights of :math:`u` and :math:`w`.
        steps: Adam steps (learning rate 0.01).

    Returns:
        ``(w, u, c)`` in float64, for the raw (unstandardised) features.
    """
    f = features.detach().to(torch.float64)
    tab, y = tables.detach().to(torch.float64), targets.detach().to(torch.float64)
    mu = f[:, 1:].mean(0)
    sd = f[:, 1:].std(0).clamp_min(1e-6) if len(f) > 1 else torch.ones_like(mu)
    z = torch.cat([f[:, :1], (f[:, 1:] - mu) / sd], dim=1)

    def raw(v: torch.Tensor) -> torch.Tensor:  # weights of z -> weights of f
        return torch.cat([v[:1] - (v[1:] / sd * mu).sum(0, keepdim=True), v[1:] / sd])

    with torch.enable_grad():
        w = fit_log_gain(z, y, ridge=0.1).requires_grad_(True)
        u = torch.zeros_like(w, requires_grad=True)
        c = y.median().clone().requires_grad_(True)
        opt = torch.optim.Adam([w, u, c], lr=0.01)
        for _ in range(steps):
            g = gated_log_gain(z, w, u, c)
            loss = -_interp(tab, g).mean() + ridge * ((w[1:] ** 2).sum() + (u[1:] ** 2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return raw(w.detach()), raw(u.detach()), c.detach()
