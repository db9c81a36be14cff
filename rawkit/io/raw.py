"""Read camera RAW and DNG files through LibRaw (rawpy).

:func:`read_raw` returns a :class:`RawImage`: the visible sensor area as integers and as
linear RAW, with the metadata an ISP needs.  :func:`read_camera` turns the same metadata
into a :class:`rawkit.isp.camera.CameraModel`.

Where the values come from:

======================  ===================================================================
field                   source
======================  ===================================================================
``raw``                 rawpy ``raw_image_visible`` (a copy), cropped to even ``H, W``
``pattern``             rawpy ``raw_colors_visible`` (2x2 tile) + ``color_desc``
``black_level``         rawpy ``black_level_per_channel``, re-indexed to ``[R, Gr, Gb, B]``
``white_level``         rawpy ``white_level``
``as_shot_neutral``     DNG ``AsShotNeutral``; else ``1 / camera_whitebalance``, G = 1
``color_matrix``        DNG ``ColorMatrix1`` (``ColorMatrix2`` if only that one is D65);
                        else LibRaw's built-in XYZ -> camera table (``rgb_xyz_matrix``)
``cam_to_srgb``         rawpy ``color_matrix`` (LibRaw's camera -> linear sRGB)
``camera_name``         DNG ``UniqueCameraModel``; else TIFF ``Make`` + ``Model``; else ""
``flip``                rawpy ``sizes.flip`` (LibRaw's code for the file's orientation)
======================  ===================================================================

**Orientation.**  By default (``orientation="display"``) the mosaic is turned the way
LibRaw turns its rendered image (TIFF/EXIF ``Orientation``, LibRaw's ``flip``: 3 = 180
degrees, 5 = 90 degrees counter-clockwise, 6 = 90 degrees clockwise), and ``pattern`` is
the pattern of the turned mosaic, so that rendering ``mosaic`` with ``pattern`` gives
LibRaw's picture the right way up.  Rotating a Bayer mosaic keeps it a Bayer mosaic
(only the pattern changes), so nothing is interpolated: the values are the sensor's,
moved.  ``orientation="sensor"`` returns the data as stored (``flip`` then says what a
viewer would do); :func:`apply_flip` turns any ``(*, H, W)`` array, a mosaic or an
image, the way the file says.

**Levels.**  The data are checked against the file's own white level (and, for DNG,
its ``BitsPerSample``): a value above them means a wrong header or corrupt data, and
raises :class:`FileFormatError` unless ``clip=True`` asks to saturate such values at
the white level.  A DNG ``WhiteLevel`` of 0 raises (LibRaw would silently use 65535).

**Colour matrices LibRaw does not expose.**  For some cameras (the Kodak DC50 among
them) rawpy's ``color_matrix`` and ``rgb_xyz_matrix`` are all zero although LibRaw
renders with a real matrix.  Then :func:`read_raw` recovers it: it renders the file
twice with LibRaw, linear (gamma 1, no auto-brightening, 16 bits, half size), once in
camera RGB (``output_color=raw``) and once in sRGB, and fits the 3x3 matrix that maps
the first to the second by least squares over the pixels that are unsaturated in both
(LibRaw's own output is linear in its input, so the fit is exact up to 16-bit
rounding).  That matrix is ``cam_to_srgb``; ``color_matrix`` is derived from it as
LibRaw does the reverse (``cam_rgb = xyz_to_cam @ SRGB_TO_XYZ``, rows summing to 1,
D65).  ``matrix_source`` says where the matrices came from.  If the fit is not exact
(relative residual above 1e-3) the file is refused with a message saying so.

Only Bayer sensors with R, G, B filters are supported; X-Trans, four-colour (CMYG) and
linear (demosaiced) files raise :class:`UnsupportedRawError`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import rawpy

from rawkit._checks import check_bool, check_choice
from rawkit.cfa.packing import pack, unpack
from rawkit.cfa.pattern import PATTERNS, Pattern, channel_sites
from rawkit.io._atomic import PathLike
from rawkit.io._files import FileFormatError, check_readable, describe_format, sniff_format
from rawkit.io._tiff_tags import TIFF_EXTENSIONS, TiffTags, read_tiff_tags
from rawkit.io.dng import DNG_ILLUMINANTS, LIBRAW_MIN_SIZE, illuminant_name
from rawkit.isp.camera import CameraModel
from rawkit.isp.color import SRGB_TO_XYZ
from rawkit.isp.levels import normalize_levels

__all__ = [
    "FLIPS",
    "MatrixSource",
    "Orientation",
    "RawImage",
    "UnsupportedRawError",
    "apply_flip",
    "read_camera",
    "read_raw",
]

#: LibRaw ``flip`` codes rawkit applies: 0 none, 3 = 180 degrees, 5 = 90 degrees
#: counter-clockwise, 6 = 90 degrees clockwise (bit 1: mirror columns, bit 2: mirror
#: rows, bit 4: transpose, applied in that order, as LibRaw does).
FLIPS: tuple[int, ...] = (0, 3, 5, 6)
Orientation = Literal["display", "sensor"]
MatrixSource = Literal["dng", "libraw", "fitted"]

_NOT_RAW = {"png", "jpeg", "npy", "zip", "gif", "bmp"}
_RAW_MAGIC = {"raf", "orf", "rw2", "cr3"}  # TIFF is left out: LibRaw does not read plain TIFFs


class UnsupportedRawError(FileFormatError):
    """A readable RAW file that rawkit cannot represent (X-Trans, CMYG, linear DNG...)."""


Matrix3 = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]


@dataclasses.dataclass(frozen=True, eq=False)
class RawImage:
    """A Bayer RAW image and its metadata, as read by :func:`read_raw`.

    Attributes:
        mosaic: ``(1, H, W)`` float32 NumPy array, linear RAW
            ``(raw - black) / (white - black)`` with the black level of each pixel's
            2x2 site.  **Not clipped**: sensor noise below black gives negative values,
            and data above ``white_level`` (possible in some camera files) gives values
            above 1.  (LibRaw clips below black at 0; apply ``np.clip`` if you want that.)
        raw: ``(1, H, W)`` uint16 sensor values of the visible area (``H, W`` even: an odd
            last row or column is dropped, which does not change the pattern).
        pattern: Bayer pattern of ``raw`` and ``mosaic``, e.g. ``"GRBG"``.
        black_level: 4 black levels for the packed channels ``[R, Gr, Gb, B]``.
        white_level: saturation value.
        bit_depth: bits needed for ``white_level`` (``int(white_level).bit_length()``).
        as_shot_neutral: camera RGB of white under the scene light, ``(R, G, B)`` with
            ``G = 1`` for camera files (DNG files: the tag as stored); None if unknown.
        color_matrix: ``3x3`` XYZ -> camera matrix (DNG ``ColorMatrix``), or None.
        calibration_illuminant: EXIF LightSource code of ``color_matrix`` (21 = D65), or
            None.  LibRaw's built-in tables are D65 matrices.
        cam_to_srgb: ``3x3`` camera -> linear sRGB matrix that LibRaw renders with
            (fitted to LibRaw's output where rawpy exposes none; see the module notes).
        camera_name: camera model name, "" if the file does not say.
        path: the file read.
        flip: LibRaw's orientation code of the file (one of :data:`FLIPS`; 0 = as stored).
        orientation: ``"display"`` if ``flip`` has been applied to ``raw``, ``mosaic``
            and ``pattern``; ``"sensor"`` if they are as stored.
        matrix_source: where ``color_matrix`` and ``cam_to_srgb`` come from: ``"dng"``
            (DNG tags), ``"libraw"`` (LibRaw's tables) or ``"fitted"`` (recovered from
            LibRaw's renders).
    """

    mosaic: np.ndarray
    raw: np.ndarray
    pattern: Pattern
    black_level: tuple[float, float, float, float]
    white_level: float
    bit_depth: int
    as_shot_neutral: tuple[float, float, float] | None
    color_matrix: Matrix3 | None
    calibration_illuminant: int | None
    cam_to_srgb: Matrix3
    camera_name: str
    path: Path
    flip: int = 0
    orientation: Orientation = "display"
    matrix_source: MatrixSource = "libraw"

    @property
    def height(self) -> int:
        """``H`` of the mosaic."""
        return int(self.raw.shape[-2])

    @property
    def width(self) -> int:
        """``W`` of the mosaic."""
        return int(self.raw.shape[-1])


def _check_content(p: Path) -> str | None:
    fmt = sniff_format(p)
    suffix = p.suffix.lower()
    if fmt in _NOT_RAW:
        raise FileFormatError(
            p,
            f"content is {describe_format(fmt)}, not a RAW file as the extension {p.suffix!r} says",
        )
    if suffix in TIFF_EXTENSIONS and fmt != "tiff":
        raise FileFormatError(
            p,
            f"content is {describe_format(fmt)}, not a TIFF-based DNG as the extension {p.suffix!r} says",
        )
    return fmt


def _pattern_from_colors(p: Path, colors: np.ndarray, desc: str) -> tuple[Pattern, np.ndarray]:
    h, w = colors.shape
    if h < 2 or w < 2:
        raise UnsupportedRawError(p, f"image too small ({h}x{w})")
    tile = colors[:2, :2]
    for dy in range(2):
        for dx in range(2):
            if not (colors[dy::2, dx::2] == tile[dy, dx]).all():
                raise UnsupportedRawError(
                    p,
                    "colour filter array does not repeat every 2x2 pixels (X-Trans or another non-Bayer CFA)",
                )
    try:
        letters = "".join(desc[int(i)] for i in tile.reshape(-1))
    except IndexError as e:
        raise UnsupportedRawError(
            p, f"unexpected colour indices {tile.tolist()} for colours {desc!r}"
        ) from e
    if letters not in PATTERNS:
        raise UnsupportedRawError(
            p, f"CFA {letters!r} (colours {desc!r}) is not an RGB Bayer pattern {list(PATTERNS)}"
        )
    return cast(Pattern, letters), tile


def _libraw_message(e: Exception) -> str:
    arg = e.args[0] if e.args else ""
    return arg.decode("ascii", "replace") if isinstance(arg, bytes) else str(arg)


def _fit_render_matrix(p: Path) -> np.ndarray:
    """LibRaw's camera -> sRGB matrix, fitted to two linear LibRaw renders (module notes)."""
    opts = {"gamma": (1, 1), "no_auto_bright": True, "output_bps": 16, "half_size": True,
            "user_flip": 0}  # fmt: skip
    with rawpy.imread(str(p)) as r:
        cam = r.postprocess(output_color=rawpy.ColorSpace.raw, **opts)
    with rawpy.imread(str(p)) as r:
        srgb = r.postprocess(output_color=rawpy.ColorSpace.sRGB, **opts)
    a = cam.reshape(-1, 3).astype(np.float64)
    b = srgb.reshape(-1, 3).astype(np.float64)
    # Keep pixels that no clipping touched: below saturation in both, above 0 in sRGB.
    ok = (a.max(1) < 0.98 * 65535) & (b.max(1) < 0.98 * 65535) & (b.min(1) > 64)
    if ok.sum() < 64:
        raise UnsupportedRawError(
            p,
            "LibRaw exposes no colour matrix for this camera and too few unsaturated pixels "
            f"({int(ok.sum())}) to recover it from its renders",
        )
    m, *_ = np.linalg.lstsq(a[ok], b[ok], rcond=None)
    resid = np.abs(a[ok] @ m - b[ok]).max() / b[ok].max()
    if not resid < 1e-3:
        raise UnsupportedRawError(
            p,
            "LibRaw exposes no colour matrix for this camera and its renders do not fit a "
            f"3x3 matrix (relative residual {resid:.2g})",
        )
    return m.T


def _xyz_to_cam_from(cam_to_srgb: np.ndarray) -> np.ndarray:
    """LibRaw's ``cam_xyz`` from its ``rgb_cam``: ``cam_rgb = inv(rgb_cam)`` (rows sum to 1)."""
    cam_rgb = np.linalg.inv(cam_to_srgb)
    cam_rgb = cam_rgb / cam_rgb.sum(axis=1, keepdims=True)
    return cam_rgb @ np.linalg.inv(np.asarray(SRGB_TO_XYZ, dtype=np.float64))


def _libraw_read(p: Path, *, is_dng: bool = False, problem: str = "") -> dict[str, Any]:
    try:
        with rawpy.imread(str(p)) as r:
            if r.num_colors != 3 or r.raw_type != rawpy.RawType.Flat:
                raise UnsupportedRawError(
                    p,
                    f"not a Bayer RAW (LibRaw reports {r.num_colors} colours, raw type {r.raw_type.name})",
                )
            desc = r.color_desc.decode("ascii", "replace")
            colors = np.array(r.raw_colors_visible, copy=True)
            pattern, tile = _pattern_from_colors(p, colors, desc)
            per_channel = list(r.black_level_per_channel)
            black = tuple(
                float(per_channel[int(tile[dy, dx])]) for dy, dx in channel_sites(pattern)
            )
            raw = np.array(r.raw_image_visible, dtype=np.uint16, copy=True)
            return {
                "raw": raw,
                "pattern": pattern,
                "black": black,
                "white": float(r.white_level),
                "cam_mul": np.asarray(r.camera_whitebalance, dtype=np.float64),
                "rgb_cam": np.asarray(r.color_matrix, dtype=np.float64)[:3, :3],
                "xyz_cam": np.asarray(r.rgb_xyz_matrix, dtype=np.float64)[:3, :3],
                "colors": colors,
                "desc": desc,
                "flip": int(r.sizes.flip),
            }
    except FileFormatError:
        raise
    except rawpy.LibRawFileUnsupportedError as e:
        fmt = sniff_format(p)
        if problem or fmt in _RAW_MAGIC:
            # The first bytes say RAW, but neither LibRaw nor tifffile can parse the file.
            why = f"; tifffile: {problem}" if problem else ""
            raise FileFormatError(
                p,
                f"truncated or corrupt file: it starts like {describe_format(fmt)} but LibRaw "
                f"cannot parse it ({_libraw_message(e)}{why})",
            ) from e
        hint = (
            f"; LibRaw refuses DNGs under {LIBRAW_MIN_SIZE}x{LIBRAW_MIN_SIZE} pixels"
            if is_dng
            else ""
        )
        raise FileFormatError(
            p, f"not a RAW file that LibRaw can read ({_libraw_message(e)}{hint})"
        ) from e
    except (rawpy.LibRawIOError, rawpy.LibRawDataError) as e:
        raise FileFormatError(
            p,
            f"LibRaw could not read the image data: truncated or corrupt file ({_libraw_message(e)})",
        ) from e
    except rawpy.LibRawError as e:
        raise FileFormatError(p, f"LibRaw failed: {type(e).__name__}: {_libraw_message(e)}") from e
    except NotImplementedError as e:  # rawpy: a filter layout it cannot describe
        raise UnsupportedRawError(
            p, f"colour filter layout that rawpy cannot describe ({e}); corrupt or exotic file"
        ) from e


def _matrix3(m: np.ndarray) -> Matrix3:
    return tuple(tuple(float(v) for v in row) for row in m)  # type: ignore[return-value]


def apply_flip(x: np.ndarray, flip: int) -> np.ndarray:
    """Turn the last two axes ``(H, W)`` of an array the way LibRaw's ``flip`` code says.

    Bit 1 mirrors the columns, bit 2 the rows, bit 4 then transposes (dcraw/LibRaw's
    order): 3 is a 180-degree turn, 6 a quarter turn clockwise, 5 counter-clockwise.
    Works on mosaics ``(*, H, W)`` and on channel-first images ``(*, C, H, W)`` alike;
    returns a view.  Rotating a Bayer mosaic changes its pattern: turn a 2x2 tile of
    colour names the same way to get the new one (as :func:`read_raw` does).

    Args:
        x: array with at least 2 dimensions.
        flip: one of :data:`FLIPS`.

    Returns:
        The turned array, ``(*, W, H)`` for 5 and 6.

    Example:
        >>> import numpy as np
        >>> apply_flip(np.array([[1, 2], [3, 4]]), 6).tolist()
        [[3, 1], [4, 2]]
    """
    if not isinstance(x, np.ndarray) or x.ndim < 2:
        raise TypeError(f"x: expected a NumPy array with >= 2 dims, got {type(x).__name__}")
    check_choice(flip, FLIPS, "flip")
    if flip & 1:
        x = x[..., :, ::-1]
    if flip & 2:
        x = x[..., ::-1, :]
    if flip & 4:
        x = np.swapaxes(x, -1, -2)
    return x


def read_raw(
    path: PathLike, *, orientation: Orientation = "display", clip: bool = False
) -> RawImage:
    """Read a Bayer RAW or DNG file with LibRaw: sensor data, linear mosaic and metadata.

    Args:
        path: a camera RAW (``.dng``, ``.nef``, ``.cr2``, ``.arw``, ``.kdc``, ...) that
            LibRaw opens.
        orientation: ``"display"`` (default): mosaic and pattern turned the way the file
            says (TIFF ``Orientation``), like LibRaw's render; ``"sensor"``: as stored.
            See the module notes.
        clip: if False (default) sensor values above the white level (or above what
            the DNG's ``BitsPerSample`` holds) raise; if True they are saturated at
            the white level, in ``raw`` and ``mosaic``.

    Returns:
        :class:`RawImage` with ``mosaic`` ``(1, H, W)`` float32 (black subtracted per site
        and divided by ``white - black``, not clipped below black), ``raw`` ``(1, H, W)``
        uint16, ``pattern``, levels, neutral, colour matrices, camera name, ``flip``.

    Raises:
        FileNotFoundError: no such file.
        FileFormatError: empty, truncated, not a RAW file, content that does not
            match the extension (a PNG named ``.dng``), data above the white level or
            bit depth the file declares, a white level of 0.  An ``OSError``.
        UnsupportedRawError: a RAW that is not an RGB Bayer mosaic (X-Trans, CMYG,
            linear DNG), or one whose colour matrix can be neither read nor recovered.
            A :class:`FileFormatError`.
        TypeError, ValueError: bad ``orientation`` or ``clip``.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_dng
        >>> raw = np.full((1, 32, 32), 576, np.uint16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_dng(pathlib.Path(d) / "a.dng", raw, pattern="GRBG", black_level=64,
        ...                   white_level=1088, as_shot_neutral=[0.5, 1, 0.7],
        ...                   color_matrix=np.eye(3))
        ...     img = read_raw(p)
        >>> img.pattern, img.mosaic.shape, float(img.mosaic.max()), img.black_level
        ('GRBG', (1, 32, 32), 0.5, (64.0, 64.0, 64.0, 64.0))
    """
    check_choice(orientation, ["display", "sensor"], "orientation")
    check_bool(clip, "clip")
    p = check_readable(path, "a RAW file")
    fmt = _check_content(p)
    tags = read_tiff_tags(p) if fmt == "tiff" else TiffTags()
    lr = _libraw_read(p, is_dng=tags.is_dng, problem=tags.problem)
    raw = lr["raw"]
    h, w = raw.shape
    he, we = h - h % 2, w - w % 2
    if he == 0 or we == 0:
        raise UnsupportedRawError(p, f"visible area too small ({h}x{w})")
    raw = raw[:he, :we]
    black, white = lr["black"], lr["white"]
    if tags.white_tag is not None and tags.white_tag <= 0:
        raise FileFormatError(p, f"declares WhiteLevel {tags.white_tag:g}; expected a level > 0")
    if not all(b < white for b in black):
        raise FileFormatError(p, f"black levels {black} are not below the white level {white}")
    limit, why = white, f"the white level {white:g}"
    if tags.bits is not None and 0 < tags.bits < 16 and 2**tags.bits - 1 < limit:
        limit, why = float(2**tags.bits - 1), f"BitsPerSample {tags.bits} (max {2**tags.bits - 1})"
    top = int(raw.max())
    if top > limit:
        if not clip:
            n = int((raw > limit).sum())
            raise FileFormatError(
                p,
                f"{n} sensor values above {why} the file declares (max {top}): a wrong header "
                "or corrupt data; pass clip=True to saturate them",
            )
        raw = np.minimum(raw, np.uint16(limit))

    flip = lr["flip"] if lr["flip"] in FLIPS else 0
    colors = lr["colors"][:he, :we]
    pattern = lr["pattern"]
    if orientation == "display" and flip:
        raw = apply_flip(raw, flip)
        pattern, _ = _pattern_from_colors(p, apply_flip(colors, flip), lr["desc"])
    raw = np.ascontiguousarray(raw)[None]
    packed = pack(raw.astype(np.float32), pattern=pattern)
    mosaic = unpack(
        normalize_levels(packed, black_level=list(black), white_level=white), pattern=pattern
    )

    if tags.neutral is not None:
        neutral: tuple[float, float, float] | None = tuple(float(v) for v in tags.neutral)  # type: ignore[assignment]
    else:
        mul = lr["cam_mul"][:3]
        neutral = tuple(float(mul[1] / v) for v in mul) if (mul > 0).all() else None  # type: ignore[assignment]
    cam_to_srgb = lr["rgb_cam"]
    source: MatrixSource = "libraw"
    if tags.color_matrix is not None:
        color_matrix: Matrix3 | None = _matrix3(tags.color_matrix)
        illuminant = tags.illuminant
        source = "dng"
    elif np.any(lr["xyz_cam"]):
        color_matrix, illuminant = _matrix3(lr["xyz_cam"]), DNG_ILLUMINANTS["D65"]
    else:
        color_matrix, illuminant = None, None
    if not np.any(cam_to_srgb):
        cam_to_srgb = _fit_render_matrix(p)
        source = "fitted"
        if color_matrix is None:
            color_matrix = _matrix3(_xyz_to_cam_from(cam_to_srgb))
            illuminant = DNG_ILLUMINANTS["D65"]
    return RawImage(
        mosaic=np.ascontiguousarray(mosaic, dtype=np.float32),
        raw=raw,
        pattern=pattern,
        black_level=black,
        white_level=white,
        bit_depth=int(np.ceil(white)).bit_length(),
        as_shot_neutral=neutral,
        color_matrix=color_matrix,
        calibration_illuminant=illuminant,
        cam_to_srgb=_matrix3(cam_to_srgb),
        camera_name=tags.name,
        path=p,
        flip=flip,
        orientation=orientation,
        matrix_source=source,
    )


def read_camera(path: PathLike, *, orientation: Orientation = "display") -> CameraModel:
    """The :class:`~rawkit.isp.camera.CameraModel` of a Bayer RAW/DNG file.

    Pattern, bit depth (from the white level), per-channel black levels, white level,
    ``xyz_to_cam`` (the file's colour matrix) and its calibration illuminant come from
    :func:`read_raw`; the white-balance ranges and noise model are CameraModel's defaults
    (a single file cannot tell them).

    Args:
        path: as for :func:`read_raw`.
        orientation: as for :func:`read_raw` (it decides ``pattern``).

    Returns:
        A validated :class:`CameraModel`, named after the file's camera (or its file name).

    Raises:
        Everything :func:`read_raw` raises, and
        FileFormatError: the file has no colour matrix.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_dng
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_dng(pathlib.Path(d) / "a.dng", np.zeros((32, 32), np.uint16),
        ...                   pattern="BGGR", black_level=[64, 65, 66, 67], white_level=4095,
        ...                   as_shot_neutral=[0.5, 1, 0.7], color_matrix=np.eye(3),
        ...                   camera_name="toy cam")
        ...     cam = read_camera(p)
        >>> cam.name, cam.pattern, cam.bit_depth, cam.black_level, cam.calibration_illuminant
        ('toy cam', 'BGGR', 12, (64.0, 65.0, 66.0, 67.0), 'D65')
    """
    img = read_raw(path, orientation=orientation)
    if img.color_matrix is None:
        raise FileFormatError(
            img.path,
            "has no colour matrix (no DNG ColorMatrix, none in LibRaw's tables, and none "
            "recoverable from LibRaw's renders)",
        )
    illuminant = (
        "D65" if img.calibration_illuminant is None else illuminant_name(img.calibration_illuminant)
    )
    return CameraModel(
        name=img.camera_name or img.path.stem,
        pattern=img.pattern,
        bit_depth=img.bit_depth,
        black_level=img.black_level,
        white_level=img.white_level,
        xyz_to_cam=img.color_matrix,
        calibration_illuminant=illuminant,
    )
