"""Files: camera RAW and DNG, the AIM22 challenge format, PNG/JPEG images, checkpoints.

This is the only place where rawkit touches files and file layouts: images are
``(H, W, C)`` on disk and ``(*, C, H, W)`` in memory (:func:`to_hwc`, :func:`from_hwc`),
sensor data is uint16 on disk and linear float in memory.

Readers return NumPy arrays (wrap them with ``torch.from_numpy``, no copy); writers
accept NumPy arrays or tensors.  Every writer is atomic (temporary file + rename) and
refuses to replace an existing file unless ``overwrite=True``.  Files that are missing,
empty, truncated or not what their extension says raise ``OSError`` subclasses
(:class:`FileNotFoundError`, :class:`FileFormatError`) naming the path and the problem;
data that breaks a format's rules (dtype, shape, range) raises :class:`ValueError`.

- :func:`read_raw`, :func:`read_camera` -- Bayer RAW/DNG through LibRaw (rawpy).
- :func:`write_dng` -- uint16 mosaic + metadata -> a DNG that LibRaw renders.
- :func:`fit_dng_colour`, :func:`write_reconstruction_dng` -- a reconstruction's DNG with
  the neutral, colour matrix and exposure fitted so that it renders back to its photo.
- :func:`read_aim22_raw`, :func:`write_aim22_raw`, :func:`read_aim22_rgb`,
  :func:`write_aim22_rgb`, :func:`aim22_pairs`, :func:`aim22_val_rgb` -- AIM 2022.
- :func:`read_image`, :func:`write_image` -- PNG 8/16-bit, JPEG with quality.
- :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`load_weights` -- weights.
- :func:`atomic_write`, :func:`check_writable` -- the atomic, no-clobber writing that
  every rawkit writer uses (for writers outside ``rawkit.io``).
"""

from rawkit.io._atomic import atomic_write, check_writable
from rawkit.io._files import FileFormatError
from rawkit.io.aim22 import (
    AIM22_MAX,
    aim22_pairs,
    aim22_val_rgb,
    read_aim22_raw,
    read_aim22_rgb,
    write_aim22_raw,
    write_aim22_rgb,
)
from rawkit.io.checkpoint import (
    CHECKPOINT_FORMAT_VERSION,
    Checkpoint,
    CheckpointMismatchError,
    load_checkpoint,
    load_weights,
    save_checkpoint,
)
from rawkit.io.dng import (
    DNG_ILLUMINANTS,
    LIBRAW_MIN_SIZE,
    illuminant_code,
    illuminant_name,
    write_dng,
    write_linear_dng,
)
from rawkit.io.dng_colour import DngColour, fit_dng_colour, write_reconstruction_dng
from rawkit.io.images import (
    IMAGE_EXTENSIONS,
    PHOTO_EXTENSIONS,
    LoadedImage,
    Photo,
    from_hwc,
    read_image,
    read_photo,
    to_hwc,
    write_image,
)
from rawkit.io.raw import RawImage, UnsupportedRawError, apply_flip, read_camera, read_raw

__all__ = [
    "DngColour",
    "PHOTO_EXTENSIONS",
    "Photo",
    "read_photo",
    "fit_dng_colour",
    "write_reconstruction_dng",
    "write_linear_dng",
    "AIM22_MAX",
    "CHECKPOINT_FORMAT_VERSION",
    "DNG_ILLUMINANTS",
    "IMAGE_EXTENSIONS",
    "LIBRAW_MIN_SIZE",
    "Checkpoint",
    "CheckpointMismatchError",
    "FileFormatError",
    "LoadedImage",
    "RawImage",
    "UnsupportedRawError",
    "aim22_pairs",
    "aim22_val_rgb",
    "apply_flip",
    "atomic_write",
    "check_writable",
    "from_hwc",
    "illuminant_code",
    "illuminant_name",
    "load_checkpoint",
    "load_weights",
    "read_aim22_raw",
    "read_aim22_rgb",
    "read_camera",
    "read_image",
    "read_raw",
    "save_checkpoint",
    "to_hwc",
    "write_aim22_raw",
    "write_aim22_rgb",
    "write_dng",
    "write_image",
]
