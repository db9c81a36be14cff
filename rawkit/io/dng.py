"""Write Bayer RAW data as a DNG file that LibRaw (rawpy) opens and renders.

The file is a single uncompressed 16-bit CFA image (one TIFF page, ``NewSubfileType``
0) with the tags the DNG 1.4 specification asks for and LibRaw needs:

======================  =====  =====================================================
tag                     code   value
======================  =====  =====================================================
PhotometricInterp.      262    32803 (CFA)
CFARepeatPatternDim     33421  (2, 2)
CFAPattern              33422  the 2x2 tile row by row, 0 = R, 1 = G, 2 = B
DNGVersion              50706  1.4.0.0
UniqueCameraModel       50708  ``camera_name``
CFAPlaneColor           50710  (0, 1, 2)
BlackLevelRepeatDim     50713  (2, 2)
BlackLevel              50714  one black level per 2x2 site, row by row
WhiteLevel              50717  ``white_level``
ColorMatrix1            50721  ``color_matrix`` (XYZ -> camera), 9 SRATIONAL
AsShotNeutral           50728  ``as_shot_neutral`` (camera RGB of white), 3 RATIONAL
CalibrationIlluminant1  50778  EXIF light source of ``color_matrix`` (21 = D65)
======================  =====  =====================================================

Notes:
    * Uncompressed on purpose: LibRaw rejects tifffile's deflate-compressed CFA data.
    * Samples are always stored in 16 bits (``BitsPerSample`` 16); ``bit_depth`` only
      documents and checks the sensor's range.
    * Rationals use the exact fraction nearest to each float with a 32-bit numerator
      and denominator, so the matrix and neutral read back to within ~1e-9.
    * LibRaw refuses images narrower or lower than 22 pixels; :func:`write_dng` does too,
      so that every file it writes can be read back with :func:`rawkit.io.read_raw`.

Reference: Adobe, *Digital Negative (DNG) Specification*, version 1.4.0.0 (2012).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
import torch

from rawkit import __version__
from rawkit._checks import check_tensor_like
from rawkit._tensor import Array
from rawkit.cfa.pattern import Pattern, channel_sites, check_pattern
from rawkit.io._atomic import PathLike, atomic_write, check_writable

__all__ = [
    "DNG_ILLUMINANTS",
    "LIBRAW_MIN_SIZE",
    "illuminant_code",
    "illuminant_name",
    "write_dng",
    "write_linear_dng",
]

#: EXIF ``LightSource`` codes of the CIE illuminants a DNG colour matrix is calibrated for.
DNG_ILLUMINANTS: dict[str, int] = {
    "A": 17,
    "B": 18,
    "C": 19,
    "D55": 20,
    "D65": 21,
    "D75": 22,
    "D50": 23,
}
#: LibRaw does not open images smaller than this in either dimension.
LIBRAW_MIN_SIZE = 22

_CFA_CODE = {"R": 0, "G": 1, "B": 2}
_INT32_MAX = 2**31 - 1
_UINT32_MAX = 2**32 - 1


def illuminant_code(illuminant: int | str) -> int:
    """EXIF ``LightSource`` code of an illuminant name (``"D65"`` -> 21); ints pass through.

    Example:
        >>> illuminant_code("D65"), illuminant_code(17)
        (21, 17)
    """
    if isinstance(illuminant, str):
        if illuminant not in DNG_ILLUMINANTS:
            raise ValueError(
                f"calibration_illuminant: expected one of {list(DNG_ILLUMINANTS)} or an EXIF "
                f"LightSource code 0-255, got {illuminant!r}"
            )
        return DNG_ILLUMINANTS[illuminant]
    if (
        isinstance(illuminant, bool)
        or not isinstance(illuminant, (int, np.integer))
        or not 0 <= illuminant <= 255
    ):
        raise ValueError(
            f"calibration_illuminant: expected an EXIF LightSource code 0-255, got {illuminant!r}"
        )
    return int(illuminant)


def illuminant_name(code: int) -> str:
    """Name of an EXIF ``LightSource`` code (21 -> ``"D65"``); unnamed codes as ``"exif:<code>"``.

    Example:
        >>> illuminant_name(21), illuminant_name(3)
        ('D65', 'exif:3')
    """
    for name, c in DNG_ILLUMINANTS.items():
        if c == code:
            return name
    return f"exif:{int(code)}"


def _rational(value: float, *, signed: bool, name: str) -> tuple[int, int]:
    """The fraction nearest to ``value`` whose numerator and denominator fit 32 bits."""
    limit = _INT32_MAX if signed else _UINT32_MAX
    v = float(value)
    if not np.isfinite(v) or abs(v) >= limit or (not signed and v < 0):
        kind = "finite" if signed else "finite, non-negative"
        raise ValueError(f"{name}: expected {kind} values below {limit} in magnitude, got {v}")
    max_den = max(1, min(limit, int(limit // max(abs(v), 1.0))))
    f = Fraction(v).limit_denominator(max_den)
    return f.numerator, f.denominator


def _as_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: expected numbers, got {x!r}") from e


def _check_raw(raw: Array) -> np.ndarray:
    check_tensor_like(raw, "raw")
    is_uint16 = (
        raw.dtype == torch.uint16 if isinstance(raw, torch.Tensor) else raw.dtype == np.uint16
    )
    if not is_uint16:
        raise TypeError(
            f"raw: expected uint16 sensor values, got {raw.dtype} (convert linear RAW with "
            "rawkit.isp.denormalize_levels first)"
        )
    if raw.ndim == 3 and raw.shape[0] == 1:
        raw = raw[0]
    if raw.ndim != 2:
        raise ValueError(f"raw: expected shape (1, H, W) or (H, W), got {tuple(raw.shape)}")
    arr = raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw)
    h, w = arr.shape
    if h % 2 or w % 2:
        raise ValueError(f"raw: a Bayer mosaic needs even height and width, got H={h}, W={w}")
    if h < LIBRAW_MIN_SIZE or w < LIBRAW_MIN_SIZE:
        raise ValueError(
            f"raw: expected H, W >= {LIBRAW_MIN_SIZE} (LibRaw does not open smaller images), got H={h}, W={w}"
        )
    return np.ascontiguousarray(arr)


def _check_black(black_level: Any, white_level: int) -> list[int]:
    b = _as_numpy(black_level, "black_level").reshape(-1).astype(np.float64)
    if b.size == 1:
        b = np.repeat(b, 4)
    if b.size != 4:
        raise ValueError(
            f"black_level: expected a scalar or 4 values [R, Gr, Gb, B], got {b.size} values"
        )
    if not np.isfinite(b).all() or (b != np.round(b)).any():
        raise ValueError(f"black_level: expected integer values, got {b.tolist()}")
    if (b < 0).any() or (b >= white_level).any():
        raise ValueError(
            f"black_level: expected 0 <= black < white_level={white_level}, got {b.tolist()}"
        )
    return [int(v) for v in b]


def _check_white(white_level: Any, bit_depth: int | None) -> int:
    if bit_depth is not None and (
        isinstance(bit_depth, bool) or not isinstance(bit_depth, int) or not 1 <= bit_depth <= 16
    ):
        raise ValueError(f"bit_depth: expected None or an int in [1, 16], got {bit_depth!r}")
    if isinstance(white_level, bool) or not isinstance(
        white_level, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"white_level: expected a number, got {type(white_level).__name__}")
    if float(white_level) != round(float(white_level)) or not 1 <= white_level <= 65535:
        raise ValueError(f"white_level: expected an integer in [1, 65535], got {white_level!r}")
    w = int(white_level)
    if bit_depth is not None and w > 2**bit_depth - 1:
        raise ValueError(f"white_level: expected <= 2**bit_depth - 1 = {2**bit_depth - 1}, got {w}")
    return w


def _check_neutral(as_shot_neutral: Any) -> list[float]:
    n = _as_numpy(as_shot_neutral, "as_shot_neutral").reshape(-1).astype(np.float64)
    if n.size != 3 or not np.isfinite(n).all() or (n <= 0).any():
        raise ValueError(
            f"as_shot_neutral: expected 3 positive finite values (camera R, G, B), got {n.tolist()}"
        )
    return n.tolist()


def _check_matrix(color_matrix: Any) -> list[float]:
    m = _as_numpy(color_matrix, "color_matrix").astype(np.float64)
    if m.shape != (3, 3):
        raise ValueError(f"color_matrix: expected shape (3, 3) (XYZ -> camera), got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("color_matrix: expected finite values, got NaN or Inf")
    if np.linalg.cond(m) > 1e12:
        raise ValueError(
            f"color_matrix: matrix is singular or nearly so (condition number {np.linalg.cond(m):.3g})"
        )
    return m.reshape(-1).tolist()


def _check_name(camera_name: Any) -> str:
    if not isinstance(camera_name, str) or not camera_name.strip():
        raise ValueError(f"camera_name: expected a non-empty str, got {camera_name!r}")
    if not camera_name.isascii() or not camera_name.isprintable():
        raise ValueError(
            f"camera_name: expected printable ASCII (a TIFF ASCII tag), got {camera_name!r}"
        )
    return camera_name


def _flat_rationals(values: list[float], *, signed: bool, name: str) -> list[int]:
    out: list[int] = []
    for v in values:
        out.extend(_rational(v, signed=signed, name=name))
    return out


#: Extensions of other formats that a DNG must not be written under.
_OTHER_FORMATS = {".png", ".jpg", ".jpeg", ".npy", ".npz", ".pt", ".gif", ".bmp", ".webp", ".json"}


def _write_tiff(
    dest: Path, data: np.ndarray, *, overwrite: bool, extratags: list[Any], **layout: Any
) -> None:
    """Write ``data`` atomically as the one uncompressed full-resolution image of a
    TIFF/DNG file, with the DNG ``extratags`` and ``layout`` (photometric, planarconfig)."""
    with atomic_write(dest, overwrite=overwrite) as f:
        tifffile.imwrite(
            f,
            data,
            subfiletype=0,
            compression=None,
            software=f"rawkit {__version__}",
            metadata=None,
            extratags=extratags,
            **layout,
        )


def write_dng(
    path: PathLike,
    raw: Array,
    *,
    pattern: Pattern,
    black_level: float | list[float] | Array,
    white_level: int,
    as_shot_neutral: list[float] | Array,
    color_matrix: list[list[float]] | Array,
    calibration_illuminant: int | str = 21,
    camera_name: str = "rawkit",
    bit_depth: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a uint16 Bayer mosaic as an uncompressed DNG that LibRaw renders; atomic.

    ``read_raw(write_dng(path, raw, ...))`` gives back ``raw`` bit for bit, with the same
    pattern, levels, neutral and matrix (rationals to within ~1e-9).

    Args:
        path: destination (``.dng`` by convention); its folder must exist.
        raw: ``(1, H, W)`` or ``(H, W)`` **uint16** sensor values (NumPy or torch), ``H``
            and ``W`` even and at least 22, every value ``<= white_level``.  Float linear
            RAW is refused: convert it explicitly with
            ``rawkit.isp.denormalize_levels(x, black_level=..., white_level=...)``.
        pattern: Bayer pattern of ``raw`` (``"RGGB"``, ``"GRBG"``, ``"GBRG"``, ``"BGGR"``).
        black_level: integer black level, a scalar or 4 values for the packed channels
            ``[R, Gr, Gb, B]``; ``0 <= black < white_level``.
        white_level: integer saturation value in ``[1, 65535]``.
        as_shot_neutral: 3 positive values, the camera RGB of a white surface under the
            scene light (DNG ``AsShotNeutral``; white-balance gains are its inverse).
        color_matrix: ``3x3`` XYZ -> camera matrix (DNG ``ColorMatrix1``), invertible.
        calibration_illuminant: the illuminant ``color_matrix`` is for: an EXIF
            LightSource code or a name from :data:`DNG_ILLUMINANTS` (default 21 = D65).
        camera_name: ``UniqueCameraModel``, printable ASCII.
        bit_depth: optional sensor bit depth; if given, ``white_level`` must be
            ``<= 2**bit_depth - 1``.  The file always stores 16-bit samples.
        overwrite: replace an existing file (default: raise FileExistsError).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``raw`` is not uint16, or an argument has the wrong type.
        ValueError: bad shape (odd or < 22), values above ``white_level``, bad levels,
            neutral, matrix, illuminant, name or bit depth.
        FileExistsError: the file exists and ``overwrite`` is False.
        FileNotFoundError: the destination's folder does not exist.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> raw = np.full((1, 32, 32), 512, np.uint16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_dng(pathlib.Path(d) / "a.dng", raw, pattern="GRBG", black_level=64,
        ...                   white_level=1023, as_shot_neutral=[0.5, 1, 0.7],
        ...                   color_matrix=np.eye(3), bit_depth=10)
        ...     print(p.name, p.stat().st_size > raw.nbytes)
        a.dng True
    """
    dest = check_writable(path, overwrite=overwrite)
    if dest.suffix.lower() in _OTHER_FORMATS:
        raise ValueError(
            f"path: a DNG file needs a .dng name, got {dest.suffix!r} ({dest}); a viewer "
            "would take the file for another format"
        )
    data = _check_raw(raw)
    check_pattern(pattern)
    white = _check_white(white_level, bit_depth)
    black = _check_black(black_level, white)
    neutral = _check_neutral(as_shot_neutral)
    matrix = _check_matrix(color_matrix)
    illuminant = illuminant_code(calibration_illuminant)
    name = _check_name(camera_name)
    top = int(data.max())
    if top > white:
        n = int((data > white).sum())
        raise ValueError(f"raw: {n} values above white_level={white} (max {top})")

    black_sites = [[0, 0], [0, 0]]
    for k, (dy, dx) in enumerate(channel_sites(pattern)):
        black_sites[dy][dx] = black[k]
    extratags = [
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, bytes(_CFA_CODE[c] for c in pattern), True),
        (50706, "B", 4, (1, 4, 0, 0), True),
        (50708, "s", 0, name, True),
        (50710, "B", 3, (0, 1, 2), True),
        (50713, "H", 2, (2, 2), True),
        (50714, "H", 4, tuple(black_sites[0] + black_sites[1]), True),
        (50717, "H", 1, white, True),
        (50721, "2i", 9, tuple(_flat_rationals(matrix, signed=True, name="color_matrix")), True),
        (
            50728,
            "2I",
            3,
            tuple(_flat_rationals(neutral, signed=False, name="as_shot_neutral")),
            True,
        ),
        (50778, "H", 1, illuminant, True),
    ]
    _write_tiff(
        dest, data, overwrite=overwrite, extratags=extratags, photometric=tifffile.PHOTOMETRIC.CFA
    )
    return dest


def _colour_tags(
    as_shot_neutral: Any, color_matrix: Any, calibration_illuminant: Any, camera_name: Any
) -> list[tuple[int, str, int, Any, bool]]:
    """The checked UniqueCameraModel, ColorMatrix1, AsShotNeutral and illuminant tags."""
    neutral = _check_neutral(as_shot_neutral)
    matrix = _check_matrix(color_matrix)
    illuminant = illuminant_code(calibration_illuminant)
    name = _check_name(camera_name)
    return [
        (50708, "s", 0, name, True),
        (50721, "2i", 9, tuple(_flat_rationals(matrix, signed=True, name="color_matrix")), True),
        (50728, "2I", 3, tuple(_flat_rationals(neutral, signed=False, name="as_shot_neutral")),
         True),
        (50778, "H", 1, illuminant, True),
    ]  # fmt: skip


def write_linear_dng(
    path: PathLike,
    rgb: Array,
    *,
    white_level: int,
    as_shot_neutral: list[float] | Array,
    color_matrix: list[list[float]] | Array,
    calibration_illuminant: int | str = 21,
    camera_name: str = "rawkit",
    overwrite: bool = False,
) -> Path:
    """Write demosaiced camera RGB as a *linear* DNG (``LinearRaw``) that LibRaw renders.

    A linear DNG holds three camera-RGB samples per pixel (PhotometricInterpretation
    34892, DNG 1.4 section "LinearRaw"), so a reader applies white balance, colour
    matrix and tone curve but no demosaicing: a reconstruction that has full-resolution
    camera RGB renders back without demosaicing loss.  Same tags as :func:`write_dng`
    except the CFA ones; black level 0.

    Args:
        path: destination ``.dng`` (its folder must exist).
        rgb: ``(3, H, W)`` **uint16** camera RGB, ``H, W >= 22``, every value
            ``<= white_level``.
        white_level, as_shot_neutral, color_matrix: as in :func:`write_dng`.
        calibration_illuminant, camera_name, overwrite: as in :func:`write_dng`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``rgb`` not uint16.
        ValueError: bad shape, values above ``white_level``, bad tags.
        FileExistsError: exists and not ``overwrite``.

    Example:
        >>> import tempfile, pathlib, numpy as np, rawpy
        >>> rgb = np.full((3, 32, 32), 2000, np.uint16)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_linear_dng(pathlib.Path(d) / "a.dng", rgb, white_level=4095,
        ...                          as_shot_neutral=[0.5, 1, 0.7], color_matrix=np.eye(3))
        ...     with rawpy.imread(str(p)) as r:
        ...         print(r.raw_type, r.raw_image.shape[:2])
        RawType.Stack (32, 32)
    """
    dest = check_writable(path, overwrite=overwrite)
    if dest.suffix.lower() != ".dng":
        raise ValueError(f"path: a DNG file needs a .dng name, got {dest.suffix!r} ({dest})")
    check_tensor_like(rgb, "rgb")
    arr = rgb.detach().cpu().numpy() if isinstance(rgb, torch.Tensor) else np.asarray(rgb)
    if arr.dtype != np.uint16:
        raise TypeError(f"rgb: expected uint16 camera values, got {arr.dtype}")
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"rgb: expected shape (3, H, W), got {tuple(arr.shape)}")
    h, w = arr.shape[1:]
    if h < LIBRAW_MIN_SIZE or w < LIBRAW_MIN_SIZE:
        raise ValueError(
            f"rgb: expected H, W >= {LIBRAW_MIN_SIZE} (LibRaw does not open smaller images), "
            f"got H={h}, W={w}"
        )
    white = _check_white(white_level, None)
    tags = _colour_tags(as_shot_neutral, color_matrix, calibration_illuminant, camera_name)
    top = int(arr.max())
    if top > white:
        raise ValueError(
            f"rgb: {int((arr > white).sum())} values above white_level={white} (max {top})"
        )
    extratags = [(50706, "B", 4, (1, 4, 0, 0), True), (50717, "H", 1, white, True), *tags]
    _write_tiff(
        dest,
        np.ascontiguousarray(arr.transpose(1, 2, 0)),
        overwrite=overwrite,
        extratags=extratags,
        photometric=34892,
        planarconfig="contig",
    )
    return dest
