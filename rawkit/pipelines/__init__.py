"""The papers' full pipelines behind one interface and a registry.

Design (DESIGN.md, "Pipelines"):

* **One interface** (:mod:`rawkit.pipelines.base`).  Every method - blind or learned,
  with or without stored metadata - is a :class:`Pipeline` subclass with a frozen
  :class:`PipelineConfig`.  The public methods are written once, in the base class:
  ``cls.fit(data, config, *, seed, progress)`` (training data converted once into a
  :class:`rawkit.data.PairSet`), ``p.reconstruct(srgb, *, metadata, tile)`` (NumPy in,
  NumPy out, ``(*, 3, H, W) -> (*, 4, H/2, W/2)``, shared tiled inference),
  ``p.encode_metadata(raw, srgb) -> bytes`` (methods that store metadata; its length
  is the bench's metadata size), ``p.save(folder)`` / ``Pipeline.load(folder)``.  A
  subclass implements ``_fit``, ``_reconstruct`` and, where they apply,
  ``_encode_metadata`` and ``state_tensors``/``load_state_tensors``.  Everything is
  validated before any work.
* **One save format**: ``pipeline.json`` (format, format version, pipeline name,
  config, rawkit version, SHA-256 of the weights) + ``weights.safetensors`` (no
  pickle; optional float16 storage for shipping).  Folders of the previous
  ``PriorRAWPipeline`` format are refused with a message naming their version.
* **A registry**: ``@register`` adds a class under its ``name``; :func:`available`
  lists the names, :func:`get` returns a class, :func:`pretrained` loads shipped
  weights from ``rawkit/weights/<name>/``.  Modules of this package are discovered
  and imported on first use of the registry, so a new method is one module (or
  package) with one ``@register`` and its tests: the CLI (``rawkit train | reconstruct
  | bench quality | demo``) and the bench iterate the registry and build their options
  from the config dataclass, so neither needs an edit.
* **Configs hold every training setting once.**  Function defaults, CLI options and
  bench presets read them; a paper's ablation rows are named config changes
  (``Pipeline.variants``), not classes.
* **Training** runs through :func:`rawkit.engine.train` (seeded, bit-exact resume,
  DDP under ``torchrun``); files through :func:`rawkit.io.atomic_write`.

Registered here: ``blind_unprocess`` (:mod:`~rawkit.pipelines.blind`),
``rbf_metadata`` (:mod:`~rawkit.pipelines.rbf`), ``srgb_unet``
(:mod:`~rawkit.pipelines.unet_baseline`), ``priorraw`` (the package
:mod:`~rawkit.pipelines.priorraw`, one module per algorithm), plus every other module
of the package that registers a pipeline (found by :func:`~rawkit.pipelines.registration.discover`
when the registry is first read: no import list to extend here).

Example:
    >>> from rawkit.pipelines import available, get
    >>> {"blind_unprocess", "priorraw", "rbf_metadata", "srgb_unet"} <= set(available())
    True
    >>> get("priorraw").variants["cluster_group"]
    {'ablation': 'assembled'}
"""

import errno
import os
from pathlib import Path

from rawkit.pipelines import baselines, blind, priorraw, rbf, tiling, unet_baseline, video
from rawkit.pipelines._common import RandomCrops, TrainResult, module_id
from rawkit.pipelines.base import (
    NotFittedError,
    Pipeline,
    PipelineConfig,
    PipelineConfigError,
    PipelineFormatError,
    discover,
    register,
    registry,
)
from rawkit.pipelines.baselines import (
    SampledMetadata,
    blind_unprocess,
    rbf_reconstruct,
    typical_params,
    uniform_sampling_metadata,
)
from rawkit.pipelines.blind import BlindUnprocess, BlindUnprocessConfig
from rawkit.pipelines.priorraw import TABLE1, PriorRAW, PriorRAWConfig
from rawkit.pipelines.rbf import RBFMetadata, RBFMetadataConfig
from rawkit.pipelines.tiling import tiled_apply
from rawkit.pipelines.unet_baseline import (
    SRGBUNet,
    SRGBUNetConfig,
    predict,
    train_unet,
    write_submission,
)

__all__ = [
    "TABLE1",
    "WEIGHTS_DIR",
    "BlindUnprocess",
    "BlindUnprocessConfig",
    "NotFittedError",
    "Pipeline",
    "PipelineConfig",
    "PipelineConfigError",
    "PipelineFormatError",
    "PriorRAW",
    "PriorRAWConfig",
    "RBFMetadata",
    "RBFMetadataConfig",
    "RandomCrops",
    "SRGBUNet",
    "SRGBUNetConfig",
    "SampledMetadata",
    "TrainResult",
    "available",
    "baselines",
    "blind",
    "blind_unprocess",
    "get",
    "module_id",
    "predict",
    "pretrained",
    "priorraw",
    "rbf",
    "rbf_reconstruct",
    "register",
    "registry",
    "tiled_apply",
    "tiling",
    "train_unet",
    "typical_params",
    "uniform_sampling_metadata",
    "unet_baseline",
    "video",
    "write_submission",
]

#: Where shipped, converged weights live: ``rawkit/weights/<name>/`` (a saved pipeline).
WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def available() -> list[str]:
    """The names of the registered pipelines, sorted.

    Example:
        >>> "blind_unprocess" in available()
        True
    """
    discover()
    return sorted(registry())


def get(name: str) -> type[Pipeline]:
    """The pipeline class registered under ``name``.

    Raises:
        TypeError: ``name`` is not a str.
        ValueError: an unknown name (the message lists the registered ones).

    Example:
        >>> get("blind_unprocess").learned
        False
    """
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str, got {type(name).__name__}")
    discover()
    reg = registry()
    if name not in reg:
        raise ValueError(f"name: unknown pipeline {name!r}; expected one of {sorted(reg)}")
    return reg[name]


def pretrained(name: str) -> Pipeline:
    """The pipeline ``name`` with its shipped weights (``rawkit/weights/<name>/``).

    Methods that learn nothing need no weights: their default configuration is
    returned.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: no weights are shipped for a learned pipeline (the message
            says how to train them).

    Example:
        >>> type(pretrained("blind_unprocess")).__name__
        'BlindUnprocess'
    """
    cls = get(name)
    if not cls.learned:
        return cls()
    folder = WEIGHTS_DIR / name
    if not (folder / "pipeline.json").is_file():
        raise FileNotFoundError(
            errno.ENOENT,
            f"no shipped weights for pipeline {name!r} in this rawkit; train them with "
            f"`rawkit train {name} -o FOLDER` (or {cls.__name__}.fit(data)) and load them "
            "with rawkit.pipelines.Pipeline.load(FOLDER)",
            os.fspath(folder),
        )
    return Pipeline.load(folder)
