"""Synthetic RAW/sRGB pairs from real photographs, rendered by rawkit or by LibRaw.

:func:`synthesize` makes one pair the way Brooks et al. (2019, "Unprocessing Images for
Learned Raw Denoising", Sec. 3) make theirs, then renders it with a real ISP:

1. draw the scene's capture from ``seed`` for the ``preset``
   (:func:`rawkit.data.draw_capture`): the benchmark camera (``"default"``: one fixed
   LibRaw-like rendering plus the camera's look, a mostly-daylight illuminant, white
   balance with a small estimation error, no digital gain, an exposure that makes
   highlights clip, daylight noise) or the randomised ``"hard"`` design
   (:func:`rawkit.isp.random_params`);
2. unprocess the photo into the camera's linear RAW (:func:`rawkit.isp.unprocess`) and
   scale it by the capture's ``scene_exposure`` (the light reaching the sensor);
3. add sensor noise (:func:`rawkit.isp.add_noise`), saturate at the sensor's range and
   quantise to the camera's integers (:func:`rawkit.isp.denormalize_levels`): ``raw``
   (:func:`capture_raw`);
4. render the sRGB from that RAW, either

   * ``render="rawkit"``: :func:`rawkit.isp.process` with the same parameters, or
   * ``render="libraw"``: write the RAW as a DNG (:func:`rawkit.io.write_dng`, with
     ``AsShotNeutral = 1 / wb_gains`` and the camera's ``ColorMatrix1``) and let LibRaw
     render it (:func:`libraw_render`), an ISP that nobody here wrote.  LibRaw has no
     tone curve and no lens-shading model, so for this render the ``"hard"`` parameters
     are drawn with those two switched off (``tone=False, lens_shading=0``) and the
     exposure is passed to LibRaw as ``exp_shift``; then ``process(pair.raw,
     camera=camera, params=pair.params)`` reproduces LibRaw's image to about 70-80 dB;

   then the camera's look, if the preset has one (:func:`rawkit.isp.apply_look`);
5. quantise the sRGB to ``srgb_bits`` (8 by default, like a camera JPEG).

The same ``seed`` gives the same bytes (every draw comes from one ``torch.Generator``).
So the sRGB really has lost information, as a camera's does: the colour cast is
corrected, highlights are clipped (:attr:`SyntheticPair.clipped_fraction`), the noise is
rendered and the values are quantised.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from rawkit.cfa import pack, unpack
from rawkit.data.presets import DATA_PRESETS, benchmark_look, draw_capture
from rawkit.io import FileFormatError, write_dng
from rawkit.io._atomic import PathLike
from rawkit.isp import (
    CameraLook,
    CameraModel,
    ISPParams,
    add_noise,
    apply_look,
    builtin_camera,
    denormalize_levels,
    normalize_levels,
    process,
    unprocess,
)
from rawkit.isp.color import CONVENTIONS, Convention

__all__ = [
    "LIBRAW_RENDER",
    "RENDERS",
    "Render",
    "SyntheticPair",
    "capture_raw",
    "check_seed",
    "libraw_params",
    "libraw_render",
    "linearize_raw",
    "load_input_photo",
    "quantise_srgb",
    "resolve_camera",
    "synthesize",
    "write_pair_dng",
]

#: Who renders the sRGB of a synthetic pair: rawkit's ISP or LibRaw.
Render = Literal["rawkit", "libraw"]
#: Every value of ``Render``.
RENDERS: tuple[str, ...] = ("rawkit", "libraw")

#: The ``rawpy`` ``postprocess`` settings under which LibRaw's render is rawkit's
#: ``process(convention="libraw")`` with the parameters of :func:`libraw_params`:
#: camera white balance from ``AsShotNeutral``, no automatic brightening, the sRGB
#: curve, 16-bit output, LINEAR (bilinear) demosaic, highlights clipped, and
#: ``adjust_maximum_thr=0`` (the default 0.75 lowers the white level to the data's maximum).
LIBRAW_RENDER: dict[str, Any] = {
    "use_camera_wb": True,
    "no_auto_bright": True,
    "gamma": (2.4, 12.92),
    "output_bps": 16,
    "demosaic_algorithm": "LINEAR",
    "adjust_maximum_thr": 0.0,
    "highlight_mode": "Clip",
}


def resolve_camera(camera: CameraModel | str) -> CameraModel:
    """A :class:`~rawkit.isp.CameraModel`, or the name of a built-in one, as a model.

    Example:
        >>> resolve_camera("nikon_d5100").pattern
        'RGGB'
    """
    if isinstance(camera, CameraModel):
        return camera
    if isinstance(camera, str):
        from rawkit.isp import BUILTIN_CAMERAS

        if camera not in BUILTIN_CAMERAS:
            raise ValueError(
                f"camera: expected a rawkit.isp.CameraModel or one of {list(BUILTIN_CAMERAS)}, "
                f"got {camera!r}"
            )
        return builtin_camera(camera)  # type: ignore[arg-type]
    raise TypeError(
        f"camera: expected a rawkit.isp.CameraModel or a built-in camera name, got {type(camera).__name__}"
    )


def libraw_params(params: ISPParams) -> ISPParams:
    """``params`` restricted to what LibRaw's render can do (see :data:`LIBRAW_RENDER`).

    Tone curve and lens-shading correction off, bilinear demosaic, sRGB transfer,
    clipping on; white balance, exposure (LibRaw's ``exp_shift``), colour matrix and
    noise levels kept.

    Example:
        >>> import torch
        >>> from rawkit.isp import random_params
        >>> p = random_params(builtin_camera("nikon_d5100"), generator=torch.Generator().manual_seed(0))
        >>> q = libraw_params(p)
        >>> (p.tone, q.tone), q.lens_shading, q.exposure == p.exposure
        ((True, False), 0.0, True)
    """
    if not isinstance(params, ISPParams):
        raise TypeError(f"params: expected a rawkit.isp.ISPParams, got {type(params).__name__}")
    return params.replace(
        tone=False,
        lens_shading=0.0,
        demosaic="bilinear",
        transfer="srgb",
        clip=True,
        white_balance=True,
        color_correction=True,
    )


def _neutral(params: ISPParams) -> np.ndarray:
    """``AsShotNeutral``: the inverse gains, largest channel 1."""
    g = params.wb_gains.detach().to(torch.float64).cpu().numpy()
    if g.ndim != 1:
        raise ValueError(f"params: expected one set of wb_gains (3,), got {g.shape}")
    n = 1.0 / g
    return n / n.max()


def libraw_render(dng: PathLike, *, exposure: float = 1.0, half_size: bool = False) -> np.ndarray:
    """Render a DNG (or any RAW) with LibRaw through rawpy, with :data:`LIBRAW_RENDER`.

    Args:
        dng: the file.
        exposure: linear exposure gain before demosaicing (LibRaw's ``exp_shift``,
            ``exp_preserve_highlights=0``), in ``[0.25, 8]``; 1 = off.
        half_size: LibRaw's half-size mode (one pixel per 2x2 tile, no demosaic).

    Returns:
        sRGB ``(3, H, W)`` float64 in ``[0, 1]``: LibRaw's 16-bit output divided by 65535.

    Raises:
        ValueError: ``exposure`` outside ``[0.25, 8]``.
        FileNotFoundError: no such file.
        rawkit.io.FileFormatError: LibRaw cannot read or render it (an ``OSError``).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> cam = builtin_camera("nikon_d5100")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_dng(pathlib.Path(d) / "grey.dng", np.full((1, 32, 32), 4000, np.uint16),
        ...                   pattern="RGGB", black_level=0, white_level=16383,
        ...                   as_shot_neutral=[1, 1, 1], color_matrix=cam.color_matrix())
        ...     out = libraw_render(p)
        >>> out.shape, round(float(out.std(axis=0).max()), 3)
        ((3, 32, 32), 0.0)
    """
    import rawpy

    if (
        isinstance(exposure, bool)
        or not isinstance(exposure, (int, float))
        or not (0.25 <= exposure <= 8)
    ):
        raise ValueError(
            f"exposure: expected a number in [0.25, 8] (LibRaw's range), got {exposure!r}"
        )
    kw = dict(LIBRAW_RENDER)
    kw["demosaic_algorithm"] = rawpy.DemosaicAlgorithm.LINEAR
    kw["highlight_mode"] = rawpy.HighlightMode.Clip
    if exposure != 1:
        kw["exp_shift"] = float(exposure)
        kw["exp_preserve_highlights"] = 0.0
    path = Path(dng)
    if not path.is_file():
        raise FileNotFoundError(2, "no such RAW file", str(path))
    try:
        with rawpy.imread(str(path)) as r:
            out = r.postprocess(half_size=half_size, **kw)
    except rawpy.LibRawError as e:
        raise FileFormatError(path, f"LibRaw could not render it ({type(e).__name__}: {e})") from e
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float64) / 65535.0


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticPair:
    """A synthetic RAW/sRGB pair made by :func:`synthesize` (NumPy arrays, frozen).

    Attributes:
        srgb: ``(3, H, W)`` float32 sRGB in ``[0, 1]``, the render of ``raw``, quantised
            to ``srgb_bits``.
        mosaic: ``(1, H, W)`` float32 linear RAW in ``[0, 1]`` (``raw`` normalised with the
            camera's levels).
        packed: ``(4, H/2, W/2)`` float32, ``mosaic`` packed as ``[R, Gr, Gb, B]``.
        raw: ``(1, H, W)`` uint16 sensor values (what a RAW file stores).
        pattern: the Bayer pattern of ``mosaic`` and ``raw`` (the camera's).
        camera: the :class:`~rawkit.isp.CameraModel`.
        params: the :class:`~rawkit.isp.ISPParams` of the unprocessing and the render.
        render: ``"rawkit"`` or ``"libraw"``.
        convention: the colour convention of the unprocessing and of rawkit's render.
        seed: the seed.
        photo: the photo's name, or ``""`` for an array.
        srgb_bits: the sRGB's quantisation (8, 16, or None for none).
        preset: the data preset (``"default"`` or ``"hard"``, :data:`rawkit.data.DATA_PRESETS`).
        scene_exposure: the linear factor of the light on the sensor (step 2).
        look: the camera look applied after the render, or None.
    """

    srgb: np.ndarray
    mosaic: np.ndarray
    packed: np.ndarray
    raw: np.ndarray
    pattern: str
    camera: CameraModel
    params: ISPParams
    render: str
    convention: str
    seed: int
    photo: str
    srgb_bits: int | None
    preset: str = "default"
    scene_exposure: float = 1.0
    look: CameraLook | None = None

    @property
    def clipped_fraction(self) -> float:
        """Share of RAW pixels at the sensor's white level (clipped highlights)."""
        return float((self.raw >= int(self.camera.white_level)).mean())

    @property
    def as_shot_neutral(self) -> np.ndarray:
        """``(3,)`` the camera's neutral ``1 / wb_gains`` (max 1), as the DNG stores it."""
        return _neutral(self.params)


def load_input_photo(
    photo: Any, max_side: int | None, *, even: bool = True
) -> tuple[np.ndarray, str]:
    """A bundled photo by name, or a checked ``(3, H, W)`` float sRGB array, as float32.

    Returns ``(srgb, name)`` with ``name = ""`` for an array.  Raises ``TypeError`` /
    ``ValueError`` naming ``photo`` (wrong type, shape, odd size when ``even``, values
    outside [0, 1]) or ``max_side`` (only for names).

    Example:
        >>> x, name = load_input_photo("coffee", 32)
        >>> x.shape, name
        ((3, 20, 32), 'coffee')
    """
    if isinstance(photo, str):
        from rawkit.data.photos import load_photo

        return load_photo(photo, max_side=max_side, even=even), photo
    if isinstance(photo, torch.Tensor):
        photo = photo.detach().cpu().numpy()
    if not isinstance(photo, np.ndarray):
        raise TypeError(
            f"photo: expected a bundled photo's name or a (3, H, W) array, got {type(photo).__name__}"
        )
    if photo.ndim != 3 or photo.shape[0] != 3:
        raise ValueError(f"photo: expected shape (3, H, W), got {photo.shape}")
    if not np.issubdtype(photo.dtype, np.floating):
        raise TypeError(f"photo: expected float sRGB in [0, 1], got dtype {photo.dtype}")
    if max_side is not None:
        raise ValueError("max_side: only for a bundled photo given by name; resize arrays yourself")
    h, w = photo.shape[-2:]
    if even and (h % 2 or w % 2):
        raise ValueError(f"photo: a Bayer RAW needs even height and width, got H={h}, W={w}")
    if not np.isfinite(photo).all() or photo.min() < 0 or photo.max() > 1:
        raise ValueError("photo: expected finite sRGB values in [0, 1]")
    return np.ascontiguousarray(photo, dtype=np.float32), ""


def check_seed(seed: Any) -> int:
    """``seed`` as an int, or ``ValueError`` naming it (expects an int >= 0).

    Example:
        >>> check_seed(3)
        3
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed!r}")
    return int(seed)


def quantise_srgb(x: np.ndarray, bits: int | None) -> np.ndarray:
    """Round sRGB in [0, 1] to ``bits`` (8 or 16) as a camera file does; None: float32 as is.

    Example:
        >>> quantise_srgb(np.array([0.5]), 8).tolist()
        [0.501960813999176]
    """
    if bits is None:
        return x.astype(np.float32)
    scale = float(2**bits - 1)
    return (np.round(np.clip(x, 0.0, 1.0) * scale) / scale).astype(np.float32)


def _black(camera: CameraModel) -> float | list[float]:
    """The camera's black level(s) for the packed channels ``[R, Gr, Gb, B]``."""
    b = camera.black_level
    return list(b) if isinstance(b, tuple) else b


def capture_raw(
    srgb: np.ndarray,
    *,
    camera: CameraModel,
    params: ISPParams,
    generator: torch.Generator,
    noise: bool,
    convention: Convention,
    scene_exposure: float = 1.0,
) -> np.ndarray:
    """sRGB ``(*, 3, H, W)`` -> the camera's uint16 mosaic ``(*, 1, H, W)``: steps 2-3.

    Unprocess with ``params``, scale by ``scene_exposure`` (> 0), add noise from
    ``generator`` (if ``noise``), clip at the sensor's range and quantise.

    Example:
        >>> from rawkit.isp import builtin_camera, default_params
        >>> cam = builtin_camera("nikon_d5100")
        >>> raw = capture_raw(np.full((3, 4, 4), 0.9, np.float32), camera=cam, params=default_params(cam),
        ...                   generator=torch.Generator(), noise=False, convention="libraw", scene_exposure=2.0)
        >>> int(raw.max()) == cam.white_level
        True
    """
    if not (isinstance(scene_exposure, (int, float)) and 0 < scene_exposure < math.inf):
        raise ValueError(f"scene_exposure: expected a finite number > 0, got {scene_exposure!r}")
    clean, _ = unprocess(
        torch.from_numpy(srgb), camera=camera, params=params, convention=convention
    )
    if scene_exposure != 1:
        clean = clean * scene_exposure
    if noise:
        clean = add_noise(
            clean, shot_noise=params.shot_noise, read_noise=params.read_noise, generator=generator
        )
    # Levels per packed channel (cameras may store one black level per 2x2 site); the
    # sensor saturates: values beyond [0, white] clip, as an ADC does.
    v = denormalize_levels(
        pack(clean, pattern=camera.pattern),
        black_level=_black(camera),
        white_level=camera.white_level,
        dtype=torch.int32,
        clip=True,
    )
    return unpack(v, pattern=camera.pattern).to(torch.uint16).numpy()


def linearize_raw(raw: np.ndarray, camera: CameraModel) -> np.ndarray:
    """uint16 mosaic ``(*, 1, H, W)`` -> linear float32 mosaic with the camera's levels.

    Example:
        >>> from rawkit.isp import builtin_camera
        >>> cam = builtin_camera("nikon_d5100")
        >>> float(linearize_raw(np.full((1, 2, 2), cam.white_level, np.uint16), cam).max())
        1.0
    """
    packed = pack(raw.astype(np.float32), pattern=camera.pattern)
    lin = normalize_levels(packed, black_level=_black(camera), white_level=camera.white_level)
    return np.ascontiguousarray(unpack(lin, pattern=camera.pattern), dtype=np.float32)


def _libraw_problems(params: ISPParams) -> list[str]:
    """What in ``params`` LibRaw's render cannot do (empty if nothing)."""
    problems = []
    if params.tone:
        problems.append("tone=True")
    if params.lens_shading != 0:
        problems.append(f"lens_shading={params.lens_shading}")
    if params.demosaic != "bilinear":
        problems.append(f"demosaic={params.demosaic!r}")
    if params.transfer != "srgb":
        problems.append(f"transfer={params.transfer!r}")
    for flag in ("clip", "white_balance", "color_correction"):
        if not getattr(params, flag):
            problems.append(f"{flag}=False")
    if not 0.25 <= params.exposure <= 8:
        problems.append(f"exposure={params.exposure} (LibRaw's range is [0.25, 8])")
    if params.wb_gains.ndim != 1 or params.xyz_to_cam.ndim != 2:
        problems.append("batched wb_gains or xyz_to_cam")
    return problems


def synthesize(
    photo: str | np.ndarray | torch.Tensor,
    *,
    camera: CameraModel | str,
    seed: int,
    render: Render = "rawkit",
    params: ISPParams | None = None,
    noise: bool = True,
    srgb_bits: int | None = 8,
    convention: Convention = "libraw",
    max_side: int | None = None,
    preset: str = "default",
) -> SyntheticPair:
    """Make a RAW/sRGB pair from a photo: unprocess, add noise, quantise, render.

    See the module docstring for the steps (Brooks et al. 2019, Sec. 3, then a real ISP).

    Args:
        photo: a bundled photo's name (:data:`rawkit.data.PHOTOS`) or sRGB
            ``(3, H, W)`` float in ``[0, 1]`` with ``H, W`` even (at least 22 for
            ``render="libraw"``: LibRaw's smallest image).
        camera: a :class:`~rawkit.isp.CameraModel` or a built-in camera's name.
        seed: int >= 0; everything random (parameters, noise) comes from
            ``torch.Generator().manual_seed(seed)``.  Same seed, same bytes.
        render: ``"rawkit"`` (:func:`rawkit.isp.process`) or ``"libraw"`` (a DNG
            rendered by LibRaw, :func:`libraw_render`).
        params: fixed ISP parameters instead of drawing them (the seed still draws the
            noise; ``scene_exposure`` is then 1 and the preset's look still applies).  With ``render="libraw"`` they must be LibRaw-renderable (tone curve
            and lens shading off: see :func:`libraw_params`); their ``exposure`` must lie
            in ``[0.25, 8]``.
        noise: add sensor noise at ``params``' levels (default True).
        srgb_bits: quantise the sRGB to this many bits (default 8); None keeps floats.
        convention: colour convention of the unprocessing and of rawkit's render
            (``"libraw"`` default, or ``"dng"``); must be ``"libraw"`` for
            ``render="libraw"``, which is LibRaw's.
        max_side: shrink a bundled photo to this longer side first
            (:func:`rawkit.data.load_photo`).
        preset: ``"default"`` (the benchmark camera: one fixed rendering with the
            camera's look) or ``"hard"`` (every render drawn at random); see
            :mod:`rawkit.data.presets`.

    Returns:
        A :class:`SyntheticPair`.

    Raises:
        ValueError: bad seed, render, convention, shape, or params LibRaw cannot render.
        TypeError: wrong argument types.

    Example:
        >>> pair = synthesize("chelsea", camera="nikon_d5100", seed=0, max_side=64)
        >>> pair.srgb.shape, pair.packed.shape, pair.raw.dtype, pair.pattern
        ((3, 42, 64), (4, 21, 32), dtype('uint16'), 'RGGB')
        >>> again = synthesize("chelsea", camera="nikon_d5100", seed=0, max_side=64)
        >>> again.srgb.tobytes() == pair.srgb.tobytes() and again.raw.tobytes() == pair.raw.tobytes()
        True
        >>> pair.preset, pair.params.exposure, pair.look is not None
        ('default', 1.0, True)
    """
    seed = check_seed(seed)
    if preset not in DATA_PRESETS:
        raise ValueError(f"preset: expected one of {list(DATA_PRESETS)}, got {preset!r}")
    if render not in RENDERS:
        raise ValueError(f"render: expected one of {list(RENDERS)}, got {render!r}")
    if convention not in CONVENTIONS:
        raise ValueError(f"convention: expected one of {list(CONVENTIONS)}, got {convention!r}")
    if render == "libraw" and convention != "libraw":
        raise ValueError(
            "convention: LibRaw renders with its own ('libraw') colour convention; "
            f"got convention={convention!r} with render='libraw'"
        )
    if srgb_bits is not None and srgb_bits not in (8, 16):
        raise ValueError(f"srgb_bits: expected 8, 16 or None, got {srgb_bits!r}")
    if not isinstance(noise, bool):
        raise TypeError(f"noise: expected a bool, got {type(noise).__name__}")
    cam = resolve_camera(camera)
    srgb_in, name = load_input_photo(photo, max_side)
    generator = torch.Generator().manual_seed(seed)
    capture = draw_capture(cam, generator=generator, preset=preset) if params is None else None
    scene_exposure, look = 1.0, None
    if capture is not None:
        params, scene_exposure, look = capture.params, capture.scene_exposure, capture.look
        if render == "libraw":
            params = libraw_params(params)
    elif not isinstance(params, ISPParams):
        raise TypeError(f"params: expected a rawkit.isp.ISPParams, got {type(params).__name__}")
    elif preset == "default":
        look = benchmark_look(cam)
    if render == "libraw" and (problems := _libraw_problems(params)):
        raise ValueError(
            f"params: LibRaw cannot render {', '.join(problems)}; use libraw_params(params)"
        )

    raw = capture_raw(
        srgb_in,
        camera=cam,
        params=params,
        generator=generator,
        noise=noise,
        convention=convention,
        scene_exposure=scene_exposure,
    )
    mosaic = linearize_raw(raw, cam)
    if render == "rawkit":
        srgb = np.asarray(process(mosaic, camera=cam, params=params, convention=convention))
    else:
        srgb = _render_libraw(raw, cam, params)
    if look is not None:
        srgb = apply_look(srgb.astype(np.float64), look=look)
    return SyntheticPair(
        srgb=quantise_srgb(np.asarray(srgb), srgb_bits),
        mosaic=mosaic,
        packed=np.ascontiguousarray(pack(mosaic, pattern=cam.pattern)),
        raw=raw,
        pattern=cam.pattern,
        camera=cam,
        params=params,
        render=render,
        convention=convention,
        seed=seed,
        photo=name,
        srgb_bits=srgb_bits,
        preset=preset,
        scene_exposure=scene_exposure,
        look=look,
    )


def write_pair_dng(
    path: PathLike,
    raw: np.ndarray,
    camera: CameraModel,
    params: ISPParams,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a uint16 mosaic as the DNG that LibRaw renders with ``params``' white balance.

    The file holds ``camera``'s pattern, levels, bit depth, name and colour matrix
    (``ColorMatrix1``, calibrated for ``camera.calibration_illuminant``) and
    ``AsShotNeutral = 1 / params.wb_gains`` (largest channel 1), through
    :func:`rawkit.io.write_dng`.

    Args:
        path: destination ``.dng``.
        raw: ``(1, H, W)`` or ``(H, W)`` uint16 sensor values (e.g. ``SyntheticPair.raw``).
        camera: the camera model.
        params: the ISP parameters whose white balance the file records.
        overwrite: replace an existing file.

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> pair = synthesize("coffee", camera="nikon_d5100", seed=1, max_side=48)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_pair_dng(pathlib.Path(d) / "pair.dng", pair.raw, pair.camera, pair.params)
        ...     print(libraw_render(p, exposure=pair.params.exposure).shape)
        (3, 32, 48)
    """
    return write_dng(
        path,
        raw,
        pattern=camera.pattern,  # type: ignore[arg-type]
        black_level=_black(camera),
        white_level=int(camera.white_level),
        as_shot_neutral=_neutral(params),
        color_matrix=camera.color_matrix(),
        calibration_illuminant=camera.calibration_illuminant,
        camera_name=camera.name if camera.name.isascii() and camera.name.strip() else "rawkit",
        bit_depth=camera.bit_depth,
        overwrite=overwrite,
    )


def _render_libraw(raw: np.ndarray, camera: CameraModel, params: ISPParams) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="rawkit-libraw-") as d:
        path = write_pair_dng(Path(d) / "pair.dng", raw, camera, params)
        out = libraw_render(path, exposure=params.exposure)
    if out.shape[-2:] != raw.shape[-2:]:
        raise RuntimeError(f"LibRaw rendered {out.shape} from a {raw.shape} mosaic")
    return out
