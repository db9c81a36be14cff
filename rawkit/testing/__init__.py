"""Property-testing kit for RAW pipelines: hypothesis strategies and assertions.

Public API, documented, used by rawkit's own tests.  Depends only on ``rawkit.cfa``
and ``rawkit.isp`` (and hypothesis).
"""

from rawkit.testing.assertions import (
    TOLERANCES,
    assert_close,
    assert_invertible,
    assert_numpy_torch_agree,
    tolerance,
)
from rawkit.testing.isp import (
    ISP_TOLERANCES,
    camera_models,
    isp_params,
    isp_tolerance,
    srgb_images,
)
from rawkit.testing.strategies import (
    batch_shapes,
    bit_depths,
    mosaics,
    packed_raws,
    patterns,
    rgb_images,
)

__all__ = [
    "ISP_TOLERANCES",
    "TOLERANCES",
    "assert_close",
    "assert_invertible",
    "assert_numpy_torch_agree",
    "batch_shapes",
    "bit_depths",
    "camera_models",
    "isp_params",
    "isp_tolerance",
    "mosaics",
    "packed_raws",
    "patterns",
    "rgb_images",
    "srgb_images",
    "tolerance",
]
