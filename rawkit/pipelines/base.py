r"""The pipeline contract: one interface for every method, a registry, one save format.

A reverse-ISP method is a subclass of :class:`Pipeline` with a frozen
:class:`PipelineConfig` and five small hooks; everything a user calls is implemented
once here, so it validates, converts and tiles the same way for every method:

=============================  ==============================================================
public (here, once)            what the subclass implements
=============================  ==============================================================
``cls.fit(data, config)``      ``_fit(pairs, *, seed, progress)``: train in place
``p.reconstruct(srgb)``        ``_reconstruct(srgb (B,3,H,W), *, metadata) -> (B,4,H/2,W/2)``
``p.encode_metadata(raw,..)``  ``_encode_metadata(raw (B,4,h,w), srgb) -> bytes``
``p.save(folder)``             ``state_tensors() -> {name: tensor}``
``Pipeline.load(folder)``      ``load_state_tensors({name: tensor})``
=============================  ==============================================================

**Validation before work.**  Public methods check every argument (types, shapes,
dtypes, finiteness, seeds, output paths) before any training, inference or writing,
and raise ``TypeError``/``ValueError``/``OSError`` subclasses naming the argument.
Training data is converted once into a :class:`rawkit.data.PairSet`.

**Tiled inference.**  :meth:`Pipeline.reconstruct` runs ``_reconstruct`` on
overlapping tiles (:func:`rawkit.pipelines.tiling.tiled_apply`) when the class sets
``tileable = True`` (convolutional methods), so any image size fits in bounded memory;
methods whose output depends on the whole image (per-image metadata, position-dependent
inverses) set ``tileable = False``.

**One save format** (``format_version`` :data:`FORMAT_VERSION`): a folder with

* ``pipeline.json``: ``format`` (:data:`FORMAT`), ``format_version``, ``pipeline`` (the
  registry name), ``config`` (:meth:`PipelineConfig.to_dict`), ``rawkit_version``,
  ``weights`` (file name, SHA-256, storage dtype) and free ``info`` notes;
* ``weights.safetensors``: the learned tensors (:meth:`Pipeline.state_tensors`) in the
  `safetensors <https://github.com/huggingface/safetensors>`_ format: no pickle, nothing
  executable, checked against the SHA-256 before it is parsed.  ``save(..., dtype=
  "float16")`` halves it for shipping; floating tensors come back as float32.

Both files are written atomically (:func:`rawkit.io.atomic_write`), the weights first,
so a folder with a ``pipeline.json`` is complete.  Version 3 added the networks'
``base`` settings (:mod:`rawkit.nets.base`); a version-2 folder loads with what it implied
(``PipelineConfig.V2_DEFAULTS``: ``base="none"``, the papers' heads; the video pipeline's
``base="warped"``, the paper's formulation).

Example:
    >>> import dataclasses, torch
    >>> @dataclasses.dataclass(frozen=True)
    ... class HalfConfig(PipelineConfig):
    ...     gain: float = 1.0
    >>> class Half(Pipeline):  # a toy: every packed site is the mean of its 2x2 block
    ...     name, Config, learned = "doc_half", HalfConfig, False
    ...     def _reconstruct(self, srgb, *, metadata):
    ...         m = torch.nn.functional.avg_pool2d(srgb, 2) * self.config.gain
    ...         return torch.cat([m[:, :1], m[:, 1:2], m[:, 1:2], m[:, 2:]], 1)
    >>> Half().reconstruct(torch.rand(2, 3, 8, 10)).shape
    torch.Size([2, 4, 4, 5])
    >>> HalfConfig.from_dict({"gain": 2.0})
    HalfConfig(gain=2.0)
"""

from __future__ import annotations

import abc
import errno
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch

from rawkit import __version__
from rawkit._checks import (
    check_bool,
    check_choice,
    check_dtype,
    check_finite,
    check_int,
    check_seed,
    check_tensor_like,
)
from rawkit._tensor import Array, to_numpy, to_tensor
from rawkit.data.pairs import PairSet
from rawkit.io import atomic_write
from rawkit.pipelines.configs import PipelineConfig, PipelineConfigError, field_type, setting
from rawkit.pipelines.registration import _REGISTRY, discover, register, registry, unregister
from rawkit.pipelines.saving import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    STORAGE_DTYPES,
    WEIGHTS_FILE,
    PipelineFormatError,
    jsonable,
    read_description,
    read_weights,
    safetensors_bytes,
)
from rawkit.pipelines.tiling import tiled_apply

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "NotFittedError",
    "Pipeline",
    "PipelineConfig",
    "PipelineConfigError",
    "PipelineFormatError",
    "WEIGHTS_FILE",
    "check_srgb",
    "discover",
    "field_type",
    "read_description",
    "register",
    "registry",
    "setting",
    "unregister",
]


P = TypeVar("P", bound="Pipeline")


class NotFittedError(ValueError):
    """A learned pipeline used before :meth:`Pipeline.fit` or :meth:`Pipeline.load`."""


# --------------------------------------------------------------------------- checks


def check_srgb(x: Any, name: str = "srgb") -> None:
    """A floating ``(*, 3, H, W)`` tensor or array with even ``H, W >= 2`` and finite values.

    Example:
        >>> check_srgb(np.zeros((3, 4, 6), np.float32))
        >>> check_srgb(np.zeros((3, 5, 6), np.float32))
        Traceback (most recent call last):
        ...
        ValueError: srgb: expected an even height and width >= 2 (one packed RAW site per 2x2 block), got H=5, W=6
    """
    check_tensor_like(x, name)
    check_dtype(x, ["float"], name)
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"{name}: expected shape (*, 3, H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    if h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(
            f"{name}: expected an even height and width >= 2 (one packed RAW site per 2x2 "
            f"block), got H={h}, W={w}"
        )
    check_finite(to_tensor(x) if isinstance(x, np.ndarray) else x, name)


def _check_packed_for(raw: Any, srgb: Any) -> None:
    check_tensor_like(raw, "raw")
    check_dtype(raw, ["float"], "raw")
    want = (*srgb.shape[:-3], 4, srgb.shape[-2] // 2, srgb.shape[-1] // 2)
    if tuple(raw.shape) != want:
        raise ValueError(
            f"raw: expected packed RAW of shape {want} for srgb {tuple(srgb.shape)}, "
            f"got {tuple(raw.shape)}"
        )
    check_finite(to_tensor(raw) if isinstance(raw, np.ndarray) else raw, "raw")


def _as_batch(x: Array, channels: int) -> torch.Tensor:
    t = to_tensor(x) if isinstance(x, np.ndarray) else x
    return t.reshape(-1, channels, *t.shape[-2:]).to(torch.float32)


# --------------------------------------------------------------------------- pipeline


class Pipeline(abc.ABC):
    """Base class of every reverse-ISP method (module notes).

    Class attributes a subclass sets: ``name`` (registry key), ``Config`` (frozen
    :class:`PipelineConfig` subclass), ``learned`` (has trainable weights),
    ``stores_metadata`` (``encode_metadata`` returns bytes that ``reconstruct`` needs),
    ``description`` (one line for ``--help``), ``tileable`` (reconstruct tile by tile),
    ``tile``/``overlap`` (default tiling in sRGB pixels), ``variants`` (named config
    changes, e.g. a paper's ablation rows, that the bench can run as rows of its own).

    Instance attributes: ``config``; ``info``, a dict of JSON-able notes saved with the
    pipeline (camera, training times...); ``fitted``.
    """

    name: ClassVar[str]
    Config: ClassVar[type[PipelineConfig]]
    learned: ClassVar[bool] = True
    stores_metadata: ClassVar[bool] = False
    #: ``fit`` takes ``val_data`` (validation curve, best weights kept).
    validates: ClassVar[bool] = False
    description: ClassVar[str] = ""
    tileable: ClassVar[bool] = True
    tile: ClassVar[int] = 512
    overlap: ClassVar[int] = 32
    variants: ClassVar[Mapping[str, Mapping[str, Any]]] = {}

    def __init__(self, config: PipelineConfig | None = None) -> None:
        cfg = self.Config() if config is None else config
        if not isinstance(cfg, self.Config):
            raise TypeError(f"config: expected a {self.Config.__name__}, got {type(cfg).__name__}")
        self.config = cfg
        self.info: dict[str, Any] = {}
        self.fitted = not self.learned

    def __repr__(self) -> str:
        state = "" if self.fitted else ", not fitted"
        return f"{type(self).__name__}({self.config!r}{state})"

    # ------------------------------------------------------------------ hooks

    def _fit(self, data: PairSet, *, seed: int, progress: bool) -> None:  # noqa: B027
        """Train in place on checked data (no-op for methods without training)."""

    @abc.abstractmethod
    def _reconstruct(self, srgb: torch.Tensor, *, metadata: bytes | None) -> torch.Tensor:
        """``(B, 3, H, W)`` float32 sRGB (one tile, or the image) -> ``(B, 4, H/2, W/2)``."""

    def _encode_metadata(self, raw: torch.Tensor, srgb: torch.Tensor) -> bytes:
        """``(B, 4, h, w)`` packed RAW and its ``(B, 3, 2h, 2w)`` sRGB -> bytes.

        Only methods with ``stores_metadata`` implement it (:func:`register` checks that);
        for the others :meth:`encode_metadata` refuses before calling it.
        """
        raise ValueError(f"{type(self).__name__} stores no metadata (stores_metadata is False)")

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The learned tensors to save, by name (none for methods without training)."""
        return {}

    def load_state_tensors(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Load tensors produced by :meth:`state_tensors` (float32 on the CPU)."""
        if tensors:
            raise ValueError(
                f"{type(self).__name__} has no learned tensors, got {sorted(tensors)[:5]}"
            )

    def to(self: P, device: torch.device | str) -> P:
        """Move every network held as an attribute to ``device``; returns ``self``."""
        for v in vars(self).values():
            if isinstance(v, torch.nn.Module):
                v.to(device)
        return self

    @property
    def device(self) -> torch.device:
        """Where the pipeline's networks are (the CPU for methods without any)."""
        for v in vars(self).values():
            if isinstance(v, torch.nn.Module):
                for p in v.parameters():
                    return p.device
        return torch.device("cpu")

    # ------------------------------------------------------------------ public

    @classmethod
    def fit(
        cls: type[P],
        train_data: Any,
        config: PipelineConfig | None = None,
        *,
        seed: int = 0,
        progress: bool = True,
        val_data: Any = None,
    ) -> P:
        """Build a pipeline from ``config`` (default: ``cls.Config()``) and train it.

        Args:
            train_data: training pairs, anything :meth:`rawkit.data.PairSet.from_any`
                takes (converted and checked once); may be ``None`` for methods that do
                not learn.
            config: the settings.
            seed: seeds every random choice (initialisation, crops, clustering).
            progress: tqdm progress bars.
            val_data: validation pairs (what ``train_data`` takes), for the pipelines
                whose class says ``validates``: the whole-image PSNR on them is measured
                during training (``info["curve"]``) and the weights of the best
                validation PSNR are kept (``info["best_step"]``).

        Returns:
            The trained pipeline.

        Raises:
            TypeError, ValueError: bad data, config or seed (before any training);
                ``val_data`` for a pipeline that does not validate.
        """
        seed = check_seed(seed)
        progress = check_bool(progress, "progress")
        inst = cls(config)
        if train_data is None and cls.learned:
            raise ValueError(f"train_data: {cls.name} learns from data, got None")
        if val_data is not None and not cls.validates:
            raise ValueError(
                f"val_data: {cls.name} does not validate during training; expected None, "
                f"got {type(val_data).__name__}"
            )
        data = None if train_data is None else PairSet.from_any(train_data)
        val = None if val_data is None else PairSet.from_any(val_data)
        inst.check_training_data(data)
        if data is not None:
            if val is None:
                inst._fit(data, seed=seed, progress=progress)
            else:
                inst._fit(data, seed=seed, progress=progress, val=val)  # type: ignore[call-arg]
        inst.info.setdefault("seed", seed)
        inst.fitted = True
        return inst

    def check_training_data(self, data: PairSet | None) -> None:  # noqa: B027
        """Checks of the data against the config (e.g. crops that fit), before training."""

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise NotFittedError(
                f"{type(self).__name__}: not trained; use {type(self).__name__}.fit(data), "
                "Pipeline.load(folder) or rawkit.pipelines.pretrained(name)"
            )

    def reconstruct(
        self,
        srgb: Array,
        *,
        metadata: bytes | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        progress: bool = False,
    ) -> Array:
        """Packed RAW from sRGB: ``(*, 3, H, W) -> (*, 4, H/2, W/2)``.

        Args:
            srgb: float sRGB in ``[0, 1]``, even ``H, W``; a tensor or a NumPy array.
            metadata: the bytes :meth:`encode_metadata` returned for this image (methods
                with ``stores_metadata`` only, and then required).
            tile: tile side in sRGB pixels (even; default ``cls.tile``) for tileable
                methods; must be None for the others.
            overlap: overlap between tiles (even, < tile; default ``cls.overlap``).
            progress: a tqdm bar over the tiles.

        Returns:
            Packed RAW ``[R, Gr, Gb, B]`` float32, on ``srgb``'s device; NumPy for NumPy
            input.  Not differentiable (inference).

        Raises:
            TypeError, ValueError: bad input or settings; NotFittedError before training.
        """
        check_srgb(srgb)
        self._check_fitted()
        if self.stores_metadata:
            if not isinstance(metadata, (bytes, bytearray)):
                raise TypeError(
                    f"metadata: {self.name} needs the bytes from encode_metadata(raw, srgb), "
                    f"got {type(metadata).__name__}"
                )
            metadata = bytes(metadata)
        elif metadata is not None:
            raise ValueError(f"metadata: {self.name} stores no metadata; expected None")
        if not self.tileable and (tile is not None or overlap is not None):
            raise ValueError(
                f"tile, overlap: {self.name} reconstructs whole images (not tileable); "
                "expected None"
            )
        progress = check_bool(progress, "progress")
        is_np = isinstance(srgb, np.ndarray)
        x = _as_batch(srgb, 3)
        lead, (h, w) = tuple(srgb.shape[:-3]), tuple(srgb.shape[-2:])
        dev = self.device

        def run(t: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                out = self._reconstruct(t.to(dev), metadata=metadata)
            return out.to(t.device, torch.float32)

        if self.tileable:
            t = check_int(self.tile if tile is None else tile, "tile", minimum=2, even=True)
            o = check_int(
                self.overlap if overlap is None else overlap, "overlap", minimum=0, even=True
            )
            if o >= t:
                raise ValueError(f"overlap: expected less than tile ({t}), got {o}")
            out = tiled_apply(
                run, x, tile=t, overlap=o, downsample=2, multiple=2, progress=progress
            )
        else:
            out = run(x)
            if tuple(out.shape) != (x.shape[0], 4, h // 2, w // 2):
                raise ValueError(
                    f"{type(self).__name__}._reconstruct: expected shape "
                    f"{(x.shape[0], 4, h // 2, w // 2)}, got {tuple(out.shape)}"
                )
        out = out.reshape(*lead, 4, h // 2, w // 2)  # type: ignore[union-attr]
        return to_numpy(out) if is_np else out

    def encode_metadata(self, raw: Array, srgb: Array) -> bytes:
        """The per-image metadata a camera would store: bytes that :meth:`reconstruct` needs.

        Args:
            raw: the true packed RAW ``(*, 4, H/2, W/2)`` float in ``[0, 1]``.
            srgb: its sRGB ``(*, 3, H, W)``.

        Returns:
            The metadata; its length is what the quality bench reports as bytes.

        Raises:
            ValueError: a method that stores no metadata, or mismatched shapes.
        """
        if not self.stores_metadata:
            raise ValueError(f"{self.name} stores no metadata (stores_metadata is False)")
        check_srgb(srgb)
        _check_packed_for(raw, srgb)
        self._check_fitted()
        out = self._encode_metadata(_as_batch(raw, 4), _as_batch(srgb, 3))
        if not isinstance(out, bytes):
            raise TypeError(
                f"{type(self).__name__}._encode_metadata: expected bytes, got {type(out).__name__}"
            )
        return out

    # ------------------------------------------------------------------ files

    def save(
        self,
        folder: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        dtype: str = "float32",
    ) -> Path:
        """Write the pipeline to ``folder`` (created if missing) in the shared format.

        Args:
            folder: destination folder.
            overwrite: replace an existing ``pipeline.json``/``weights.safetensors``.
            dtype: storage of floating tensors, ``"float32"`` or ``"float16"`` (half
                the size, for shipping; loading returns float32).

        Returns:
            The folder.

        Raises:
            FileExistsError: the files exist and ``overwrite`` is false (nothing written).
            NotFittedError: an untrained learned pipeline.
        """
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"folder: expected a str or os.PathLike, got {type(folder).__name__}")
        overwrite = check_bool(overwrite, "overwrite")
        check_choice(dtype, STORAGE_DTYPES, "dtype")
        self._check_fitted()
        d = Path(folder)
        if d.exists() and not d.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "expected a folder", os.fspath(d))
        files = (d / WEIGHTS_FILE, d / CONFIG_FILE)
        if not overwrite:
            for f in files:
                if f.exists():
                    raise FileExistsError(
                        errno.EEXIST, "file exists; pass overwrite=True to replace it", os.fspath(f)
                    )
        tensors = self._checked_state()
        if dtype == "float16":
            tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
        blob = safetensors_bytes(tensors)
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "pipeline": self.name,
            "config": self.config.to_dict(),
            "rawkit_version": __version__,
            "weights": {
                "file": WEIGHTS_FILE,
                "sha256": hashlib.sha256(blob).hexdigest(),
                "dtype": dtype,
                "tensors": len(tensors),
            },
            "info": jsonable(self.info, "info"),
        }
        d.mkdir(parents=True, exist_ok=True)
        with atomic_write(files[0], overwrite=overwrite) as out:
            out.write(blob)
        with atomic_write(files[1], overwrite=overwrite) as out:
            out.write((json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())
        return d

    def _checked_state(self) -> dict[str, torch.Tensor]:
        tensors = self.state_tensors()
        if not isinstance(tensors, Mapping):
            raise TypeError(f"{type(self).__name__}.state_tensors: expected a dict of tensors")
        out = {}
        for k, v in tensors.items():
            if not isinstance(k, str) or not isinstance(v, torch.Tensor):
                raise TypeError(
                    f"{type(self).__name__}.state_tensors: expected str -> Tensor, got "
                    f"{type(k).__name__} -> {type(v).__name__}"
                )
            out[k] = v.detach().to("cpu").contiguous()
        return out

    @classmethod
    def load(
        cls: type[P], folder: str | os.PathLike[str], *, device: torch.device | str = "cpu"
    ) -> P:
        """Read a folder written by :meth:`save`.

        ``Pipeline.load`` returns an instance of whichever registered pipeline wrote the
        folder; ``SomePipeline.load`` also checks that it is that pipeline.

        Raises:
            FileNotFoundError: no ``pipeline.json`` or weights file.
            PipelineFormatError: another or an older format (the message names its
                version), a newer version, weights that fail their SHA-256.
            PipelineConfigError: a config this rawkit does not know.
            ValueError: a pipeline name that is not registered, or not ``cls``'s.
        """
        if not isinstance(folder, (str, os.PathLike)):
            raise TypeError(f"folder: expected a str or os.PathLike, got {type(folder).__name__}")
        d = Path(folder)
        doc = read_description(d)
        discover()
        name = doc["pipeline"]
        if name not in _REGISTRY:
            raise ValueError(
                f"folder: {d} holds a {name!r} pipeline, which is not registered here; "
                f"registered: {sorted(_REGISTRY)}"
            )
        klass = _REGISTRY[name]
        if cls is not Pipeline and not issubclass(klass, cls):
            raise ValueError(f"folder: {d} holds a {name!r} pipeline, not a {cls.name!r} one")
        values = dict(doc["config"])
        if doc["format_version"] == 2:  # settings added since, as version 2 implied them
            values = {**klass.Config.V2_DEFAULTS, **values}
        config = klass.Config.from_dict(values)
        tensors = read_weights(d, doc)
        inst = klass(config)
        inst.load_state_tensors(tensors)
        inst.info = dict(doc.get("info") or {})
        inst.fitted = True
        return inst.to(device)  # type: ignore[return-value]
