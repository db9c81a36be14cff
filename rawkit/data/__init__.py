"""Data: the bundled photographs, synthetic RAW/sRGB pairs and videos, torch Datasets.

Real RAW captures cannot be downloaded here, so rawkit makes honest data from real
photographs that installed packages ship (DESIGN.md, "Data"):

- :data:`PHOTOS`, :func:`load_photo`, :data:`SPLITS` -- the bundled colour photos (the Kodak suite
  and scikit-image's photos) with fixed train/val/test/out-of-domain splits by scene; :func:`load_stereo_pair` -- the Middlebury stereo
  pair with its ground-truth disparity.
- :func:`synthesize` -- (preset ``"default"``: the benchmark camera, one fixed rendering
  plus the camera's look; ``"hard"``: every render drawn at random, :mod:`rawkit.data.presets`)
  a photo unprocessed into a camera's Bayer RAW, with noise and
  quantisation, rendered back to sRGB by rawkit's ISP or by LibRaw (through a DNG).
- :func:`oracle_inverse` / :func:`generic_inverse` -- the two reference inverses (each
  pair's true parameters; blind generic ISP).
- :func:`synthesize_video` -- a virtual camera moving over a photo (pan, zoom, rotation,
  hand shake, an occluding object): sRGB and RAW frames and the true backward flow.
- :func:`libraw_crosscheck` -- rawkit's ISP against LibRaw's on a DNG made from a photo.
- :class:`PairSet` of :class:`Pair` -- training data as one checked, typed object
  (:meth:`PairSet.from_any` converts pairs, tuples, dicts or a dataset once).
- Datasets: :class:`SyntheticPairs`, :class:`AIM22Pairs`, :class:`PairedFolder`,
  :class:`RawVideoFolder`, with Bayer-aware :func:`crop_sample`, :func:`flip_sample`
  and :func:`random_crop_flip`.
"""

from rawkit.data.benchmark import (
    BENCHMARK_CAMERA,
    SPLIT_INDEX,
    benchmark_pairs,
    pair_seed,
    synthetic_pairs,
)
from rawkit.data.crosscheck import NEUTRALS, Neutral, libraw_crosscheck
from rawkit.data.datasets import (
    AIM22Pairs,
    PairedFolder,
    RawVideoFolder,
    SyntheticPairs,
    crop_sample,
    flip_sample,
    random_crop_flip,
)
from rawkit.data.pairs import Pair, PairSet
from rawkit.data.photos import (
    PHOTOS,
    SPLIT_DESCRIPTIONS,
    SPLIT_SEED,
    SPLITS,
    PhotoInfo,
    Split,
    StereoPair,
    load_photo,
    load_stereo_pair,
    photo_info,
    photo_names,
    photo_path,
    split_of,
)
from rawkit.data.presets import (
    DATA_PRESETS,
    DEFAULT_NOISE,
    Capture,
    benchmark_look,
    draw_capture,
    look_seed,
)
from rawkit.data.references import generic_inverse, oracle_inverse
from rawkit.data.synth import (
    LIBRAW_RENDER,
    RENDERS,
    Render,
    SyntheticPair,
    capture_raw,
    check_seed,
    libraw_params,
    libraw_render,
    linearize_raw,
    load_input_photo,
    quantise_srgb,
    resolve_camera,
    synthesize,
    write_pair_dng,
)
from rawkit.data.video import MOTIONS, Motion, SyntheticVideo, synthesize_video

__all__ = [
    "BENCHMARK_CAMERA",
    "SPLIT_INDEX",
    "benchmark_pairs",
    "pair_seed",
    "synthetic_pairs",
    "DATA_PRESETS",
    "DEFAULT_NOISE",
    "Capture",
    "benchmark_look",
    "capture_raw",
    "check_seed",
    "draw_capture",
    "generic_inverse",
    "linearize_raw",
    "load_input_photo",
    "look_seed",
    "oracle_inverse",
    "quantise_srgb",
    "LIBRAW_RENDER",
    "MOTIONS",
    "NEUTRALS",
    "PHOTOS",
    "RENDERS",
    "SPLITS",
    "SPLIT_DESCRIPTIONS",
    "SPLIT_SEED",
    "AIM22Pairs",
    "Motion",
    "Neutral",
    "Pair",
    "PairSet",
    "PairedFolder",
    "PhotoInfo",
    "RawVideoFolder",
    "Render",
    "Split",
    "StereoPair",
    "SyntheticPair",
    "SyntheticPairs",
    "SyntheticVideo",
    "crop_sample",
    "flip_sample",
    "libraw_crosscheck",
    "libraw_params",
    "libraw_render",
    "load_photo",
    "load_stereo_pair",
    "photo_info",
    "photo_names",
    "photo_path",
    "random_crop_flip",
    "resolve_camera",
    "split_of",
    "synthesize",
    "synthesize_video",
    "write_pair_dng",
]
