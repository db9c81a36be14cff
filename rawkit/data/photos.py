"""The bundled photographs: the Kodak suite and scikit-image's photos, with fixed splits.

Real RAW captures cannot be downloaded here, so rawkit makes its data from real
photographs: the 24 photos of the **Kodak Lossless True Color Image Suite**, shipped
inside rawkit (``rawkit/data/kodak/``, with their provenance in ``README.md`` and
SHA-256 sums in ``SHA256SUMS``), and the colour photos that scikit-image and matplotlib
install with themselves.  Every photo is a file on disk read with
:func:`rawkit.io.read_image`; nothing is fetched (scikit-image's other data sets need
``pooch`` and the network, and are not used).

===========================  =======================  ===========  ==========================
name                         file (package)           H x W        scene
===========================  =======================  ===========  ==========================
``kodim01`` ... ``kodim24``  kodimNN.png (rawkit)     512 x 768    Kodak suite (or 768 x 512)
``astronaut``                astronaut.png (skimage)  512 x 512    portrait, NASA
``chelsea``                  chelsea.png (skimage)    300 x 451    cat
``coffee``                   coffee.png (skimage)     400 x 600    coffee cup
``rocket``                   rocket.jpg (skimage)     427 x 640    rocket lifting off
``motorcycle_left``          motorcycle_left.png      500 x 741    Middlebury 2014 stereo
``motorcycle_right``         motorcycle_right.png     500 x 741    (same scene, right view)
``grace_hopper``             grace_hopper.jpg (mpl)   600 x 512    portrait
``hubble_deep_field``        hubble_deep_field.jpg    872 x 1000   galaxies (out of domain)
``immunohistochemistry``     ihc.png (skimage)        512 x 512    microscope (out of domain)
``retina``                   retina.jpg (skimage)     1411 x 1411  fundus (out of domain)
===========================  =======================  ===========  ==========================

Left out on purpose: scikit-image's ``colorwheel`` (a synthetic colour wheel, not a
photograph), ``logo`` (a graphic with an alpha channel), ``cat`` (the same image as
``chelsea``) and the grey-level images.

**Splits are by scene, never by crop**: the two motorcycle views are one scene and
always share a split.  The Kodak photos, sorted by name, were shuffled once with
``numpy.random.default_rng(SPLIT_SEED).permutation`` (``SPLIT_SEED = 0``): the first
four are test, the next four validation, the other sixteen train.  The natural
scikit-image / matplotlib photos keep the assignment of earlier rawkit versions
(four train scenes, the motorcycle validation, ``coffee`` test).  The three
non-photographic images -- a deep-space image, a microscope slide and a fundus
photograph -- are in none of these: they form the ``"ood"`` (out of domain) split,
reported on their own and never mixed into headline means.  The result is written
out in :data:`SPLITS` so that it never changes with a NumPy version (a test checks
the Kodak part against the shuffle):

* train (20): ``kodim01, 02, 04, 06, 08, 09, 10, 13, 14, 15, 16, 17, 18, 20, 21, 24``,
  ``astronaut``, ``chelsea``, ``grace_hopper``, ``rocket``
* val (6): ``kodim03, 07, 12, 23``, ``motorcycle_left``, ``motorcycle_right``
* test (5): ``kodim05, 11, 19, 22``, ``coffee``
* ood (3): ``hubble_deep_field``, ``immunohistochemistry``, ``retina``
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rawkit.io import read_image

__all__ = [
    "PHOTOS",
    "SPLITS",
    "SPLIT_DESCRIPTIONS",
    "SPLIT_SEED",
    "PhotoInfo",
    "Split",
    "StereoPair",
    "load_photo",
    "load_stereo_pair",
    "photo_info",
    "photo_names",
    "photo_path",
    "split_of",
]

#: Photo splits (by scene): train, validation, test, out-of-domain, or all.
Split = Literal["train", "val", "test", "ood", "all"]

#: Seed of the one-off shuffle that made :data:`SPLITS` (see the module docstring).
SPLIT_SEED = 0


@dataclasses.dataclass(frozen=True)
class PhotoInfo:
    """Where a bundled photo comes from.

    Attributes:
        name: the photo's name in rawkit (``"astronaut"``).
        package: the package that ships the file (``"rawkit"``, ``"scikit-image"`` or
            ``"matplotlib"``).
        file: the file name inside that package's data folder.
        scene: the scene it shows; photos of one scene share a split.
        description: a few words on the content and its origin.
    """

    name: str
    package: str
    file: str
    scene: str
    description: str


_SK, _MPL, _RK = "scikit-image", "matplotlib", "rawkit"
_KODAK = tuple(f"kodim{i:02d}" for i in range(1, 25))
_INFO: tuple[PhotoInfo, ...] = tuple(
    PhotoInfo(k, _RK, f"kodak/{k}.png", k,
              f"Kodak Lossless True Color Image Suite, photo {k[-2:]} (Eastman Kodak, unrestricted use)")
    for k in _KODAK
) + (
    PhotoInfo("astronaut", _SK, "astronaut.png", "astronaut",
              "Portrait of astronaut Eileen Collins (NASA, public domain)"),
    PhotoInfo("chelsea", _SK, "chelsea.png", "chelsea", "Chelsea the cat (CC0)"),
    PhotoInfo("coffee", _SK, "coffee.png", "coffee", "A cup of coffee (CC0)"),
    PhotoInfo("rocket", _SK, "rocket.jpg", "rocket",
              "Falcon 9 carrying DSCOVR lifting off (SpaceX, public domain)"),
    PhotoInfo("motorcycle_left", _SK, "motorcycle_left.png", "motorcycle",
              "Middlebury 2014 stereo 'Motorcycle', left view (with ground-truth disparity)"),
    PhotoInfo("motorcycle_right", _SK, "motorcycle_right.png", "motorcycle",
              "Middlebury 2014 stereo 'Motorcycle', right view"),
    PhotoInfo("hubble_deep_field", _SK, "hubble_deep_field.jpg", "hubble_deep_field",
              "Hubble eXtreme Deep Field (NASA/ESA)"),
    PhotoInfo("immunohistochemistry", _SK, "ihc.png", "immunohistochemistry",
              "Immunohistochemical staining of colonic glands, through a microscope"),
    PhotoInfo("retina", _SK, "retina.jpg", "retina",
              "Fundus photograph of a human retina (CC0)"),
    PhotoInfo("grace_hopper", _MPL, "grace_hopper.jpg", "grace_hopper",
              "Portrait of Rear Admiral Grace Hopper (US Navy, public domain)"),
)  # fmt: skip

#: Names of the bundled photos, in a fixed order.
PHOTOS: tuple[str, ...] = tuple(i.name for i in _INFO)

#: The fixed train / val / test split by scene (see the module docstring).
SPLITS: dict[str, tuple[str, ...]] = {
    "train": (
        "kodim01", "kodim02", "kodim04", "kodim06", "kodim08", "kodim09", "kodim10", "kodim13",
        "kodim14", "kodim15", "kodim16", "kodim17", "kodim18", "kodim20", "kodim21", "kodim24",
        "astronaut", "chelsea", "grace_hopper", "rocket",
    ),
    "val": ("kodim03", "kodim07", "kodim12", "kodim23", "motorcycle_left", "motorcycle_right"),
    "test": ("kodim05", "kodim11", "kodim19", "kodim22", "coffee"),
    "ood": ("hubble_deep_field", "immunohistochemistry", "retina"),
}  # fmt: skip

#: The splits' meaning: ``"ood"`` is out of domain (not photographs of everyday scenes).
SPLIT_DESCRIPTIONS: dict[str, str] = {
    "train": "training photos (16 Kodak + 4 natural scikit-image/matplotlib photos)",
    "val": "validation photos (4 Kodak + the motorcycle stereo scene)",
    "test": "test photos (4 Kodak + coffee)",
    "ood": "out of domain: deep-space, microscope and fundus images, reported separately",
}


def photo_info(name: str) -> PhotoInfo:
    """The :class:`PhotoInfo` of a bundled photo.

    Raises:
        ValueError: unknown name (the message lists the names).

    Example:
        >>> photo_info("retina").file
        'retina.jpg'
    """
    for info in _INFO:
        if info.name == name:
            return info
    raise ValueError(f"name: expected one of {list(PHOTOS)}, got {name!r}")


def photo_names(split: Split = "all") -> tuple[str, ...]:
    """The photos of a split, ``"all"`` for every photo (in :data:`PHOTOS` order).

    Example:
        >>> photo_names("val")
        ('kodim03', 'kodim07', 'kodim12', 'kodim23', 'motorcycle_left', 'motorcycle_right')
        >>> len(photo_names()), len(photo_names("ood"))
        (34, 3)
    """
    if split == "all":
        return PHOTOS
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {[*SPLITS, 'all']}, got {split!r}")
    return SPLITS[split]


def split_of(name: str) -> str:
    """The split (``"train"``, ``"val"``, ``"test"`` or ``"ood"``) a photo belongs to.

    Example:
        >>> split_of("coffee"), split_of("hubble_deep_field")
        ('test', 'ood')
    """
    photo_info(name)
    return next(s for s, names in SPLITS.items() if name in names)


def photo_path(name: str) -> Path:
    """The file of a bundled photo inside its installed package (never downloaded).

    Raises:
        ValueError: unknown name.
        FileNotFoundError: the package is installed without its data file.

    Example:
        >>> photo_path("chelsea").name, photo_path("kodim01").name
        ('chelsea.png', 'kodim01.png')
    """
    info = photo_info(name)
    if info.package == _RK:
        path = Path(__file__).parent / info.file
    elif info.package == _MPL:
        import matplotlib.cbook

        # A path inside matplotlib's own mpl-data/sample_data folder (no network).
        path = Path(matplotlib.cbook.get_sample_data(info.file, asfileobj=False))
    else:
        import skimage.data

        path = Path(skimage.data.__file__).parent / info.file
    if not path.is_file():
        raise FileNotFoundError(
            2, f"bundled photo {name!r} is missing from {info.package}", str(path)
        )
    return path


@functools.lru_cache(maxsize=40)
def _decode(name: str) -> np.ndarray:
    image, depth = read_image(photo_path(name))
    if image.shape[0] != 3 or depth != 8:
        raise ValueError(f"{name}: expected an 8-bit RGB file, got {image.shape[0]} channels")
    image.setflags(write=False)
    return image


def _resize_area(x: np.ndarray, h: int, w: int) -> np.ndarray:
    t = torch.from_numpy(np.array(x, dtype=np.float32))[None]
    return F.interpolate(t, size=(h, w), mode="area")[0].numpy()


def load_photo(name: str, *, max_side: int | None = None, even: bool = True) -> np.ndarray:
    """Load a bundled photo as sRGB ``(3, H, W)`` float32 in ``[0, 1]`` (a fresh array).

    Args:
        name: one of :data:`PHOTOS`.
        max_side: if given, shrink the photo (area averaging, aspect kept) so that its
            longer side is at most ``max_side`` pixels; never enlarged.
        even: if True (default), drop the last row and/or column of an odd-sized photo,
            so that it can be mosaicked (Bayer RAW needs even ``H`` and ``W``).

    Returns:
        ``(3, H, W)`` float32 NumPy array, the file's 8-bit values divided by 255
        (or their area averages when shrunk).

    Raises:
        ValueError: unknown name, ``max_side`` < 2.

    Example:
        >>> load_photo("chelsea").shape
        (3, 300, 450)
        >>> load_photo("coffee", max_side=128).shape
        (3, 84, 128)
    """
    photo_info(name)
    x = _decode(name)
    if max_side is not None:
        if isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 2:
            raise ValueError(f"max_side: expected an int >= 2 or None, got {max_side!r}")
        h, w = x.shape[-2:]
        scale = max_side / max(h, w)
        if scale < 1:
            x = _resize_area(x, max(2, math.floor(h * scale)), max(2, math.floor(w * scale)))
    if even:
        h, w = x.shape[-2:]
        x = x[:, : h - h % 2, : w - w % 2]
    return np.array(x, dtype=np.float32, copy=True)


@dataclasses.dataclass(frozen=True, eq=False)
class StereoPair:
    """The Middlebury 2014 "Motorcycle" stereo pair that scikit-image ships.

    Attributes:
        left, right: ``(3, H, W)`` float32 sRGB in ``[0, 1]`` (500 x 741).
        disparity: ``(H, W)`` float32 in pixels on the left view's grid:
            ``left[:, y, x]`` shows the scene point seen at ``right[:, y, x - d]`` with
            ``d = disparity[y, x]``; NaN where it is unknown (the file's infinities).
    """

    left: np.ndarray
    right: np.ndarray
    disparity: np.ndarray


def load_stereo_pair() -> StereoPair:
    """The rectified motorcycle stereo pair with its ground-truth disparity (full size).

    Example:
        >>> pair = load_stereo_pair()
        >>> pair.left.shape, pair.disparity.shape
        ((3, 500, 741), (500, 741))
    """
    import skimage.data

    path = Path(skimage.data.__file__).parent / "motorcycle_disp.npz"
    with np.load(path, allow_pickle=False) as f:
        disparity = np.array(f["arr_0"], dtype=np.float32)
    disparity[~np.isfinite(disparity)] = np.nan
    left = load_photo("motorcycle_left", even=False)
    right = load_photo("motorcycle_right", even=False)
    return StereoPair(left=left, right=right, disparity=disparity)
