"""Photo in, RAW file out: what ``rawkit reconstruct`` and ``rawkit render`` do.

:func:`plan_photo_jobs` checks *everything* a batch needs before any reconstruction
starts: every input decodes as a photo, every output name has a known format, no output
exists unless ``overwrite``, the output folder exists (or can be made) and every size
fits the chosen format.  :func:`reconstruct_photo` then runs one job: read the photo
upright (:func:`rawkit.io.read_photo`), crop to an even size, reconstruct packed RAW
with a registered pipeline, and write

* ``.dng``: a Bayer DNG whose ``AsShotNeutral``, ``ColorMatrix1`` and white level are
  fitted to the photo (:func:`rawkit.io.write_reconstruction_dng`), so a raw editor
  rendering "as shot" shows the photo's colours (not the fixed D65 cast a constant
  neutral gives);
* ``.npy``: the AIM 2022 layout (:func:`rawkit.io.write_aim22_raw`);
* ``.png``: the 16-bit Bayer mosaic.

**Default method.** For a photo from an unknown camera the default is
``blind_unprocess`` with ``render="libraw"``: the exact inverse of the LibRaw pipeline
a DNG reader applies (sRGB curve, colour matrix, white balance), so the DNG renders back
to the photo up to demosaicing.  The learned methods reconstruct the *benchmark
camera's* RAW, whose own tone curve and colour look no DNG reader applies; use them
with ``--method`` when that camera is what you want.

:func:`render_raw_file` is the other direction: rawkit's forward ISP (LibRaw
convention, :func:`rawkit.isp.process`) on a DNG or camera RAW file, written as PNG.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from rawkit._checks import check_bool
from rawkit.io import (
    LIBRAW_MIN_SIZE,
    PHOTO_EXTENSIONS,
    check_writable,
    read_photo,
    write_aim22_raw,
    write_image,
    write_reconstruction_dng,
)
from rawkit.pipelines.base import Pipeline

__all__ = [
    "DEFAULT_PHOTO_METHOD",
    "RAW_OUTPUTS",
    "PhotoJob",
    "PhotoResult",
    "default_photo_pipeline",
    "plan_photo_jobs",
    "reconstruct_photo",
    "render_raw_file",
]

#: The registered method ``rawkit reconstruct`` uses when none is named (module notes).
DEFAULT_PHOTO_METHOD = "blind_unprocess"
#: Output formats of :func:`reconstruct_photo`, by extension.
RAW_OUTPUTS: dict[str, str] = {
    ".dng": "Bayer DNG",
    ".npy": "AIM 2022 packed RAW",
    ".png": "16-bit Bayer mosaic",
}


@dataclasses.dataclass(frozen=True)
class PhotoJob:
    """One checked input/output pair (made by :func:`plan_photo_jobs`).

    Attributes:
        src: the photo.
        dest: the RAW file to write.
        size: ``(H, W)`` of the upright photo.
    """

    src: Path
    dest: Path
    size: tuple[int, int]


@dataclasses.dataclass(frozen=True)
class PhotoResult:
    """What :func:`reconstruct_photo` did.

    Attributes:
        dest: the file written.
        notes: changes made to the input (grey, alpha, orientation, odd size cropped).
        colour: the fitted DNG colour tags (``None`` for ``.npy``/``.png``).
    """

    dest: Path
    notes: tuple[str, ...]
    colour: Any = None


def default_photo_pipeline() -> Pipeline:
    """The pipeline for photos from an unknown camera (module notes).

    Example:
        >>> default_photo_pipeline().config.render
        'libraw'
    """
    from rawkit.pipelines import get

    cls = get(DEFAULT_PHOTO_METHOD)
    return cls(cls.Config.from_dict({"render": "libraw"}))


def _dest_for(src: Path, out: Path, many: bool, fmt: str) -> Path:
    if many or out.is_dir() or out.suffix.lower() not in RAW_OUTPUTS:
        return out / f"{src.stem}{fmt}"
    return out


def plan_photo_jobs(
    inputs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    format: str = ".dng",
    overwrite: bool = False,
) -> list[PhotoJob]:
    """Check a batch of photo -> RAW jobs before any work; return the jobs.

    ``out`` is the output file when there is one input and ``out`` ends in a RAW
    extension (:data:`RAW_OUTPUTS`); otherwise it is a folder (created by
    :func:`reconstruct_photo` if missing; a name with a dot is fine) that receives
    ``<stem><format>`` per input.

    Args:
        inputs: photo files (PNG/JPEG/TIFF, see :func:`rawkit.io.read_photo`).
        out: output file or folder.
        format: extension for outputs inside a folder: ``".dng"``, ``".npy"`` or ``".png"``.
        overwrite: allow replacing existing outputs.

    Returns:
        One :class:`PhotoJob` per input, in order.

    Raises:
        ValueError: no inputs, an unknown output extension or ``format``, two inputs with
            the same output, a photo too small for a DNG (LibRaw opens nothing under
            22 px) or smaller than 2x2.
        FileExistsError: an output exists and ``overwrite`` is False.
        FileNotFoundError, rawkit.io.FileFormatError: an input is missing or not a photo.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_image
        >>> with tempfile.TemporaryDirectory() as d:
        ...     src = write_image(pathlib.Path(d) / "a.png", np.zeros((3, 32, 48)))
        ...     jobs = plan_photo_jobs([src], pathlib.Path(d) / "out.v2")
        >>> jobs[0].dest.name, jobs[0].size
        ('a.dng', (32, 48))
    """
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise ValueError(f"inputs: expected one or more photo files, got {inputs!r}")
    if format not in RAW_OUTPUTS:
        raise ValueError(f"format: expected one of {sorted(RAW_OUTPUTS)}, got {format!r}")
    overwrite = check_bool(overwrite, "overwrite")
    out_p = Path(out)
    many = len(inputs) > 1
    if not many and out_p.suffix and out_p.suffix.lower() not in RAW_OUTPUTS and not out_p.is_dir():
        if out_p.suffix.lower() in PHOTO_EXTENSIONS or out_p.suffix.lower() in (".tif", ".tiff"):
            raise ValueError(
                f"out: {out_p.name} would be a {out_p.suffix} file; RAW outputs are "
                f"{', '.join(sorted(RAW_OUTPUTS))} (or give a folder)"
            )
    if out_p.exists() and not out_p.is_dir() and many:
        raise ValueError(f"out: with several inputs, -o must be a folder; {out_p} is a file")
    jobs: list[PhotoJob] = []
    seen: dict[Path, Path] = {}
    for item in inputs:
        src = Path(item)
        photo = read_photo(src)  # decodes: refuses missing, corrupt or mislabelled files
        h, w = photo.image.shape[-2:]
        dest = _dest_for(src, out_p, many, format)
        if dest in seen:
            raise ValueError(f"inputs: {seen[dest]} and {src} would both write {dest}")
        seen[dest] = src
        if h < 2 or w < 2:
            raise ValueError(f"{src}: {w}x{h} pixels; a Bayer RAW needs at least 2x2")
        if dest.suffix.lower() == ".dng" and min(h - h % 2, w - w % 2) < LIBRAW_MIN_SIZE:
            raise ValueError(
                f"{src}: {w}x{h} pixels is too small for a DNG (raw readers open nothing "
                f"under {LIBRAW_MIN_SIZE} px); write .npy or .png instead"
            )
        if dest.parent.exists():
            check_writable(dest, overwrite=overwrite)
        jobs.append(PhotoJob(src, dest, (h, w)))
    return jobs


def _pattern_of(pipe: Pipeline) -> str:
    camera = getattr(pipe.config, "camera", None)
    if isinstance(camera, str):
        from rawkit.data.synth import resolve_camera

        try:
            return resolve_camera(camera).pattern
        except (ValueError, TypeError):
            pass
    return "RGGB"


def _camera_rgb(pipeline: Pipeline, srgb: np.ndarray, packed: np.ndarray) -> np.ndarray:
    """Full-resolution camera RGB for a linear DNG (see :func:`reconstruct_photo`)."""
    from rawkit.pipelines.blind import BlindUnprocess

    if isinstance(pipeline, BlindUnprocess):
        return pipeline.camera_rgb(srgb)
    from rawkit.cfa import demosaic, unpack

    pattern = _pattern_of(pipeline)
    return np.asarray(demosaic(unpack(packed, pattern=pattern), pattern=pattern, method="menon"))


def reconstruct_photo(
    job: PhotoJob,
    pipeline: Pipeline,
    *,
    dng: str = "bayer",
    overwrite: bool = False,
    progress: bool = False,
) -> PhotoResult:
    """Run one job of :func:`plan_photo_jobs` with ``pipeline`` (module notes).

    An odd height or width loses its last row or column (a Bayer mosaic has whole 2x2
    tiles); the note says so.  Methods that store metadata cannot run here (a photo
    alone carries none).

    ``dng="bayer"`` (default) writes the reconstructed mosaic: what a camera stores, but a
    reader must demosaic it, which costs fine detail (on a detailed 640x427 photo the
    render-back drops to ~23 dB with LibRaw's AHD even for an exact inverse).
    ``dng="linear"`` writes full-resolution camera RGB as a linear DNG instead: the
    blind inverse's own camera RGB (no demosaicing anywhere, renders back to the
    photo), or, for other methods, their mosaic demosaiced by Menon (2007).

    Returns:
        :class:`PhotoResult`.

    Raises:
        ValueError: a metadata method, or the photo changed since it was planned.
        FileExistsError: the output appeared meanwhile and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_image, read_raw
        >>> rng = np.random.default_rng(0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     src = write_image(pathlib.Path(d) / "a.png", rng.uniform(0.1, 0.9, (3, 33, 48)))
        ...     job = plan_photo_jobs([src], pathlib.Path(d) / "a.dng")[0]
        ...     res = reconstruct_photo(job, default_photo_pipeline())
        ...     print(res.dest.name, read_raw(res.dest).mosaic.shape, res.notes)
        a.dng (1, 32, 48) ('odd size: the last row was dropped (33 -> 32)',)
    """
    if not isinstance(job, PhotoJob):
        raise TypeError(f"job: expected a PhotoJob from plan_photo_jobs, got {type(job).__name__}")
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"pipeline: expected a rawkit Pipeline, got {type(pipeline).__name__}")
    if pipeline.stores_metadata:
        raise ValueError(
            f"pipeline: {pipeline.name} needs per-image metadata, which a photo does not carry"
        )
    if dng not in ("bayer", "linear"):
        raise ValueError(f"dng: expected 'bayer' or 'linear', got {dng!r}")
    photo = read_photo(job.src)
    img = photo.image
    h, w = img.shape[-2:]
    if (h, w) != job.size:
        raise ValueError(f"{job.src}: changed since it was checked ({job.size} -> {(h, w)})")
    notes = list(photo.notes)
    if h % 2:
        notes.append(f"odd size: the last row was dropped ({h} -> {h - 1})")
    if w % 2:
        notes.append(f"odd size: the last column was dropped ({w} -> {w - 1})")
    srgb = np.ascontiguousarray(img[:, : h - h % 2, : w - w % 2])
    kw: dict[str, Any] = {"progress": progress} if pipeline.tileable else {}
    packed = np.asarray(pipeline.reconstruct(srgb, **kw), dtype=np.float32)
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    suffix = job.dest.suffix.lower()
    colour = None
    if suffix == ".dng":
        data = _camera_rgb(pipeline, srgb, packed) if dng == "linear" else packed
        _, colour = write_reconstruction_dng(
            job.dest, data, srgb, pattern=_pattern_of(pipeline),
            camera_name=f"rawkit {pipeline.name}", overwrite=overwrite,
        )  # fmt: skip
        arr = np.asarray(data)
        n_out = int((arr < 0).sum() + (arr > colour.exposure_scale).sum())
        if n_out:
            notes.append(
                f"{n_out} RAW values below 0 or above the DNG's white level were stored at "
                "0 or the white level (every reader clips them there when rendering)"
            )
    elif suffix == ".npy":
        write_aim22_raw(job.dest, np.clip(packed, 0.0, 1.0), overwrite=overwrite)
        if float(packed.min()) < 0 or float(packed.max()) > 1:
            notes.append("RAW values outside [0, 1] were clipped to fit the AIM 2022 format")
    else:
        from rawkit.cfa import unpack

        mosaic = unpack(packed, pattern=_pattern_of(pipeline))
        if float(mosaic.min()) < 0 or float(mosaic.max()) > 1:
            notes.append("RAW values outside [0, 1] were clipped to fit a 16-bit PNG")
        write_image(job.dest, np.clip(mosaic, 0, 1), bit_depth=16, overwrite=overwrite)
    return PhotoResult(job.dest, tuple(notes), colour)


def render_raw_file(
    src: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> Path:
    """Render a DNG or camera RAW file to an sRGB PNG with rawkit's forward ISP.

    The file's own black/white levels, as-shot white balance and colour matrix drive
    :func:`rawkit.isp.process` in LibRaw's convention (bilinear demosaic, sRGB curve, no
    tone curve), so the result matches LibRaw's render of the same file.  Written as a
    16-bit PNG (``.png``) or 8-bit JPEG (``.jpg``).

    Raises:
        ValueError: ``dest`` is not ``.png``/``.jpg``/``.jpeg``.
        FileExistsError: ``dest`` exists and ``overwrite`` is False.
        FileNotFoundError, rawkit.io.FileFormatError: ``src`` missing or unreadable.

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> from rawkit.io import write_dng, read_image
        >>> with tempfile.TemporaryDirectory() as d:
        ...     raw = write_dng(pathlib.Path(d) / "a.dng", np.full((1, 32, 32), 900, np.uint16),
        ...                     pattern="RGGB", black_level=0, white_level=1023,
        ...                     as_shot_neutral=[1, 1, 1], color_matrix=np.eye(3))
        ...     png = render_raw_file(raw, pathlib.Path(d) / "a.png")
        ...     print(png.name, read_image(png).image.shape)
        a.png (3, 32, 32)
    """
    import torch

    from rawkit.io import read_camera, read_raw
    from rawkit.isp import ISPParams, gains_from_neutral, process

    out = Path(dest)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"dest: expected a .png or .jpg file name, got {out.name!r}")
    check_writable(out, overwrite=check_bool(overwrite, "overwrite"))
    raw = read_raw(src)
    camera = read_camera(src)
    params = ISPParams(
        wb_gains=gains_from_neutral(list(raw.as_shot_neutral or (1.0, 1.0, 1.0))),
        xyz_to_cam=torch.as_tensor(np.asarray(camera.xyz_to_cam), dtype=torch.float64),
    )
    mosaic = torch.from_numpy(np.asarray(raw.mosaic, dtype=np.float64))
    rgb = process(mosaic, camera=camera, params=params, convention="libraw").numpy()
    bits = 16 if out.suffix.lower() == ".png" else 8
    return write_image(out, rgb, bit_depth=bits, overwrite=overwrite)
