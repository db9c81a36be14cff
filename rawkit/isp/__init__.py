"""Forward ISP ops with exact inverses, camera models, and ``process`` / ``unprocess``.

Every op is one PyTorch function (NumPy in -> NumPy out), differentiable unless it
rounds, and paired with its inverse:

==========================  =======================================  =======================================
step                        forward                                  inverse
==========================  =======================================  =======================================
black / white level         :func:`normalize_levels`                 :func:`denormalize_levels`
lens shading                :func:`lens_shading`                     :func:`invert_lens_shading`
white balance               :func:`white_balance`                    :func:`invert_white_balance`,
                                                                     :func:`safe_invert_white_balance`
exposure                    :func:`apply_exposure`                   :func:`invert_exposure`
highlight clipping (lossy)  :func:`clip_highlights`                  :func:`invert_clip_highlights`
colour correction           :func:`camera_to_srgb`                   :func:`srgb_to_camera`
tone curve                  :func:`smoothstep`                       :func:`inverse_smoothstep`
transfer function           :func:`srgb_oetf`, :func:`gamma_encode`  :func:`srgb_eotf`, :func:`gamma_decode`
sensor noise                :func:`add_noise`                        (none: seeded, not invertible)
camera look (tone, colour)  :func:`apply_look`                       :func:`invert_look`
==========================  =======================================  =======================================

:func:`process` / :func:`unprocess` compose them; :class:`CameraModel` and
:func:`builtin_camera` describe cameras; :func:`random_params` samples renders.
"""

from rawkit.isp._common import LAYOUTS, Layout
from rawkit.isp.camera import (
    BUILTIN_CAMERAS,
    CameraFit,
    CameraModel,
    Illuminant,
    builtin_camera,
    builtin_camera_fit,
    daylight_xy,
    illuminant_xy,
    xy_to_xyz,
)
from rawkit.isp.color import (
    BRADFORD,
    CONVENTIONS,
    SRGB_TO_XYZ,
    Convention,
    apply_color_matrix,
    bradford_matrix,
    camera_to_srgb,
    solve_color_matrix,
    srgb_to_camera,
    srgb_to_camera_matrix,
)
from rawkit.isp.exposure import (
    apply_exposure,
    clip_highlights,
    invert_clip_highlights,
    invert_exposure,
)
from rawkit.isp.lens import invert_lens_shading, lens_shading, lens_shading_gain
from rawkit.isp.levels import check_levels, denormalize_levels, normalize_levels
from rawkit.isp.look import (
    LUMA_709,
    CameraLook,
    apply_look,
    camera_look,
    inverse_tone_curve,
    invert_look,
    look_matrix,
    tone_curve,
)
from rawkit.isp.noise import BROOKS_NOISE, add_noise, noise_variance, sample_noise_levels
from rawkit.isp.pipeline import (
    ISPParams,
    Transfer,
    default_params,
    preview,
    process,
    random_params,
    roundtrip_mask,
    unprocess,
)
from rawkit.isp.tone import inverse_smoothstep, smoothstep
from rawkit.isp.transfer import GAMMA_EPS, gamma_decode, gamma_encode, srgb_eotf, srgb_oetf
from rawkit.isp.white_balance import (
    gains_from_neutral,
    invert_white_balance,
    safe_gains_exact_mask,
    safe_invert_white_balance,
    white_balance,
)

__all__ = [
    "BRADFORD",
    "BROOKS_NOISE",
    "CONVENTIONS",
    "Convention",
    "bradford_matrix",
    "BUILTIN_CAMERAS",
    "LUMA_709",
    "CameraLook",
    "apply_look",
    "camera_look",
    "invert_look",
    "inverse_tone_curve",
    "look_matrix",
    "tone_curve",
    "GAMMA_EPS",
    "LAYOUTS",
    "SRGB_TO_XYZ",
    "CameraFit",
    "CameraModel",
    "ISPParams",
    "Illuminant",
    "Layout",
    "Transfer",
    "add_noise",
    "apply_color_matrix",
    "apply_exposure",
    "builtin_camera",
    "builtin_camera_fit",
    "camera_to_srgb",
    "check_levels",
    "clip_highlights",
    "daylight_xy",
    "default_params",
    "denormalize_levels",
    "gains_from_neutral",
    "gamma_decode",
    "gamma_encode",
    "illuminant_xy",
    "inverse_smoothstep",
    "invert_clip_highlights",
    "invert_exposure",
    "invert_lens_shading",
    "invert_white_balance",
    "lens_shading",
    "lens_shading_gain",
    "noise_variance",
    "normalize_levels",
    "preview",
    "process",
    "random_params",
    "roundtrip_mask",
    "safe_gains_exact_mask",
    "safe_invert_white_balance",
    "sample_noise_levels",
    "smoothstep",
    "solve_color_matrix",
    "srgb_eotf",
    "srgb_oetf",
    "srgb_to_camera",
    "srgb_to_camera_matrix",
    "unprocess",
    "white_balance",
    "xy_to_xyz",
]
