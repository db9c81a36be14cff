"""TIFF/DNG tags of camera RAW files, read with tifffile for :func:`rawkit.io.read_raw`.

LibRaw (rawpy) does not expose everything :func:`~rawkit.io.read_raw` needs: the DNG
colour tags (``ColorMatrix1/2``, ``CalibrationIlluminant1/2``, ``AsShotNeutral``,
``UniqueCameraModel``), the raw IFD's ``WhiteLevel`` and ``BitsPerSample``, and whether
any image strip runs past the end of the file.  :func:`read_tiff_tags` reads them from
the TIFF structure of DNGs and TIFF-based camera RAWs (NEF, CR2, ARW, ...).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from rawkit.io._files import FileFormatError
from rawkit.io.dng import DNG_ILLUMINANTS

#: File extensions that promise TIFF content (a DNG or a plain TIFF).
TIFF_EXTENSIONS = {".dng", ".tif", ".tiff"}


def _rationals(tag: Any) -> np.ndarray | None:
    if tag is None:
        return None
    v = np.asarray(tag.value, dtype=np.float64).reshape(-1, 2)
    if (v[:, 1] == 0).any():
        return None
    return v[:, 0] / v[:, 1]


def _ascii(tag: Any) -> str:
    if tag is None:
        return ""
    v = tag.value
    if isinstance(v, bytes):
        v = v.decode("ascii", "replace")
    return str(v).strip("\x00 ").strip()


def _walk_pages(pages: Any) -> Any:
    for page in pages:
        yield page
        sub = getattr(page, "pages", None)
        if sub is not None:
            yield from _walk_pages(sub)


@dataclasses.dataclass
class TiffTags:
    """What :func:`read_tiff_tags` found; ``None`` or ``""`` where the file does not say."""

    is_dng: bool = False
    color_matrix: np.ndarray | None = None
    illuminant: int | None = None
    neutral: np.ndarray | None = None
    name: str = ""
    white_tag: float | None = None  # DNG WhiteLevel of the raw IFD
    bits: int | None = None  # DNG BitsPerSample of the raw IFD
    problem: str = ""  # why tifffile could not parse a camera RAW (LibRaw has the last word)


@contextlib.contextmanager
def _quiet_tifffile() -> Iterator[list[str]]:
    """Collect tifffile's log records instead of printing them to stderr."""
    logger = logging.getLogger("tifffile")
    records: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    handler = _Collect(logging.DEBUG)
    old_propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


#: At most this many image file directories (SubIFDs included) are walked: real RAW
#: files have a handful, and a corrupt IFD chain can loop without end.
_MAX_IFDS = 64


def _all_pages(p: Path, tif: tifffile.TiffFile) -> list[Any]:
    pages = list(itertools.islice(_walk_pages(tif.pages), _MAX_IFDS + 1))
    if len(pages) > _MAX_IFDS:
        raise FileFormatError(
            p, f"corrupt TIFF structure: more than {_MAX_IFDS} image file directories (a loop?)"
        )
    return pages


def _raw_ifd_levels(pages: list[Any]) -> tuple[float | None, int | None]:
    """WhiteLevel and BitsPerSample of a DNG's main raw IFD (NewSubFileType 0, CFA)."""
    for page in pages:
        tags = page.tags
        sub = tags.get(254)
        photometric = tags.get(262)
        if (sub is None or int(sub.value) == 0) and photometric is not None:
            if int(photometric.value) in (32803, 34892):
                white = tags.get(50717)
                bits = tags.get(258)
                w = float(np.asarray(white.value).reshape(-1)[0]) if white is not None else None
                b = int(np.asarray(bits.value).reshape(-1)[0]) if bits is not None else None
                return w, b
    return None, None


def _check_strips(p: Path, pages: list[Any], *, slack: int = 0) -> None:
    """Raise if any image strip or tile of any IFD (SubIFDs too) runs past the end of file.

    ``slack``: bytes a strip may overrun the file (some cameras overstate the byte count
    of their last strip slightly; LibRaw reads such files).
    """
    size = p.stat().st_size + slack
    for page in pages:
        offsets = getattr(page, "dataoffsets", ()) or ()
        counts = getattr(page, "databytecounts", ()) or ()
        ends = [o + c for o, c in zip(offsets, counts, strict=False) if c]
        if ends and max(ends) > size:
            raise FileFormatError(
                p,
                f"truncated file: image data runs to byte {max(ends)} but the file has "
                f"{p.stat().st_size} bytes",
            )


def read_tiff_tags(p: Path) -> TiffTags:
    """Colour tags of IFD0 of a TIFF-based file and, for DNG/TIFF, a truncation check.

    For other TIFF-based camera RAWs (NEF, CR2, ARW, ...) a tifffile failure is not
    fatal: LibRaw, which knows their quirks, has the last word.
    """
    out = TiffTags()
    tiff_named = p.suffix.lower() in TIFF_EXTENSIONS
    try:
        with _quiet_tifffile(), tifffile.TiffFile(p) as tif:
            tags = tif.pages[0].tags
            out.is_dng = tags.get(50706) is not None
            # Image data past the end of the file: truncated, whatever the format (camera
            # RAWs other than DNG get a little slack for overstated strip byte counts).
            pages = _all_pages(p, tif)
            _check_strips(p, pages, slack=0 if out.is_dng or tiff_named else 4096)
            if out.is_dng:
                out.white_tag, out.bits = _raw_ifd_levels(pages)
            m1, m2 = _rationals(tags.get(50721)), _rationals(tags.get(50722))
            i1 = tags.get(50778)
            i2 = tags.get(50779)
            i1v = int(i1.value) if i1 is not None else None
            i2v = int(i2.value) if i2 is not None else None
            d65 = DNG_ILLUMINANTS["D65"]
            if m2 is not None and m2.size == 9 and i2v == d65 and i1v != d65:
                out.color_matrix, out.illuminant = m2.reshape(3, 3), i2v
            elif m1 is not None and m1.size == 9:
                out.color_matrix, out.illuminant = m1.reshape(3, 3), i1v
            neutral = _rationals(tags.get(50728))
            if neutral is not None and neutral.size == 3 and (neutral > 0).all():
                out.neutral = neutral
            name = _ascii(tags.get(50708))
            if not name:
                name = " ".join(s for s in (_ascii(tags.get(271)), _ascii(tags.get(272))) if s)
            out.name = name
    except FileFormatError:
        raise
    except Exception as e:  # tifffile raises TiffFileError, ValueError, struct.error, ...
        if tiff_named:
            raise FileFormatError(
                p, f"truncated or corrupt TIFF/DNG file ({type(e).__name__}: {e})"
            ) from e
        return TiffTags(problem=f"{type(e).__name__}: {e}")
    return out
