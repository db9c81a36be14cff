"""The one save format of every pipeline: ``pipeline.json`` + ``weights.safetensors``.

``pipeline.json`` holds ``format`` (:data:`FORMAT`), ``format_version``
(:data:`FORMAT_VERSION`), ``pipeline`` (the registry name), ``config``,
``rawkit_version``, ``weights`` (file, SHA-256, storage dtype) and free ``info``; the
weights are a safetensors file (no pickle), checked against the SHA-256 before parsing.
:meth:`rawkit.pipelines.Pipeline.save` / ``load`` use these helpers.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawkit import __version__
from rawkit.io import FileFormatError

__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "STORAGE_DTYPES",
    "WEIGHTS_FILE",
    "PipelineFormatError",
    "read_description",
]

#: ``format`` of ``pipeline.json``.
FORMAT = "rawkit.pipeline"
#: Version of the folder layout written by :meth:`Pipeline.save`.  Version 1 was the
#: ``rawkit.PriorRAWPipeline`` folder (``torch.save`` checkpoints), no longer read.
FORMAT_VERSION = 3
#: File names of a saved pipeline folder.
CONFIG_FILE = "pipeline.json"
WEIGHTS_FILE = "weights.safetensors"
#: Storage dtypes of floating weights.
STORAGE_DTYPES = ("float32", "float16")
_OLD_FORMATS = {"rawkit.PriorRAWPipeline": 1}


class PipelineFormatError(FileFormatError):
    """A saved pipeline folder that this rawkit cannot read (old format, corrupt weights)."""


def read_description(folder: Path) -> dict[str, Any]:
    """Read and check a saved pipeline's ``pipeline.json`` (format and version).

    Example:
        >>> import tempfile
        >>> from rawkit.pipelines import BlindUnprocess
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = BlindUnprocess().save(d)
        ...     doc = read_description(Path(d))
        >>> doc["pipeline"], doc["format_version"] == FORMAT_VERSION
        ('blind_unprocess', True)
    """
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            errno.ENOENT, f"not a saved rawkit pipeline (no {CONFIG_FILE})", os.fspath(folder)
        )
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PipelineFormatError(path, f"not valid JSON ({e})") from e
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if fmt in _OLD_FORMATS:
        version = doc.get("version", _OLD_FORMATS[fmt])
        raise PipelineFormatError(
            path,
            f"a {fmt} folder, format version {version}, written by an older rawkit; "
            f"this rawkit reads {FORMAT} format version {FORMAT_VERSION} only. Retrain with "
            "`rawkit train priorraw -o FOLDER` (or Pipeline.fit) and save again.",
        )
    if fmt != FORMAT:
        raise PipelineFormatError(path, f"expected format {FORMAT!r}, got {fmt!r}")
    version = doc.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 2:
        raise PipelineFormatError(
            path,
            f"format version {version!r}; this rawkit ({__version__}) reads "
            f"{FORMAT} versions 2 to {FORMAT_VERSION}",
        )
    for key in ("pipeline", "config", "weights"):
        if key not in doc:
            raise PipelineFormatError(path, f"missing {key!r}")
    return doc


def read_weights(folder: Path, doc: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    from safetensors.torch import load as st_load

    w = doc["weights"]
    path = folder / str(w.get("file", WEIGHTS_FILE))
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "weights file missing", os.fspath(path))
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != w.get("sha256"):
        raise PipelineFormatError(
            path,
            f"SHA-256 {digest[:16]}... does not match {CONFIG_FILE} "
            f"({str(w.get('sha256'))[:16]}...): the file is corrupt or was replaced",
        )
    try:
        tensors = st_load(blob)
    except Exception as e:  # safetensors raises its own error type
        raise PipelineFormatError(path, f"not a safetensors file ({e})") from e
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}


def safetensors_bytes(tensors: Mapping[str, torch.Tensor]) -> bytes:
    from safetensors.torch import save as st_save

    return st_save(dict(tensors))


def jsonable(value: Any, name: str) -> Any:
    """``value`` if it survives a JSON round trip unchanged in kind; else TypeError."""
    try:
        text = json.dumps(value, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: expected JSON-able values, {e}") from e
    return json.loads(text)


def _plain(o: Any) -> Any:
    if isinstance(o, (np.integer, np.floating)):
        v = o.item()
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"non-finite {v}")
        return v
    if isinstance(o, tuple):
        return list(o)
    raise TypeError(f"cannot store a {type(o).__name__}")
