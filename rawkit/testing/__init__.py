"""Property-testing kit for RAW pipelines: hypothesis strategies and assertions.

Public API, documented, used by rawkit's own tests: strategies for valid data, for
hostile data (:func:`bad_arrays`, :func:`bad_scalars`, :func:`assert_refuses`), and
invertibility assertions.  Depends only on ``rawkit.cfa``
and ``rawkit.isp`` (and hypothesis).
"""

from rawkit.testing.assertions import (
    TOLERANCES,
    assert_close,
    assert_invertible,
    assert_numpy_torch_agree,
    tolerance,
)
from rawkit.testing.bad_inputs import (
    ARRAY_KINDS,
    SCALAR_KINDS,
    BadInput,
    assert_refuses,
    bad_arrays,
    bad_scalars,
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
    "ARRAY_KINDS",
    "ISP_TOLERANCES",
    "SCALAR_KINDS",
    "TOLERANCES",
    "BadInput",
    "assert_close",
    "assert_invertible",
    "assert_numpy_torch_agree",
    "assert_refuses",
    "bad_arrays",
    "bad_scalars",
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
