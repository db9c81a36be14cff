"""scikit-image's SSIM, set up as Wang et al. (2004) define it: the independent reference
that the SSIM tests of rawkit.metrics and rawkit.losses compare against.

Gaussian window (sigma 1.5) and population covariances, as in the paper and in rawkit.
"""

import numpy as np
from skimage.metrics import structural_similarity


def sk_ssim_map(x: np.ndarray, y: np.ndarray, data_range: float) -> np.ndarray:
    """The full SSIM map of two ``(H, W)`` images, borders included."""
    _, full = structural_similarity(
        x, y, gaussian_weights=True, use_sample_covariance=False, data_range=data_range,
        full=True,
    )  # fmt: skip
    return full


def sk_ssim_per_channel(x: np.ndarray, y: np.ndarray, data_range: float) -> np.ndarray:
    """The SSIM of each channel of two ``(C, H, W)`` images, shape ``(C,)``."""
    return np.array(
        [
            structural_similarity(
                x[c], y[c], gaussian_weights=True, use_sample_covariance=False,
                data_range=data_range,
            )
            for c in range(x.shape[0])
        ]
    )  # fmt: skip
