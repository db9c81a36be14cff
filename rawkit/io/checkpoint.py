"""Model checkpoints: weights + configuration + the rawkit version, loaded safely.

A checkpoint is a ``torch.save`` archive holding only tensors and plain Python values::

    {"format": "rawkit.checkpoint", "format_version": 1,
     "rawkit_version": "0.1.0", "torch_version": "2.13.0",
     "model_class": "UNet",            # or None when a bare state_dict was saved
     "config": {...},                  # the caller's settings (plain values only)
     "state_dict": {name: tensor}}     # on the CPU

Loading uses ``torch.load(..., weights_only=True)``, which never runs arbitrary pickled
code: a file holding other Python objects is refused.  Loading weights into a network
of another architecture fails before anything is copied, with a message that lists the
missing keys, the unexpected keys and every shape mismatch.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rawkit import __version__
from rawkit.io._atomic import PathLike, atomic_write, check_writable
from rawkit.io._files import FileFormatError, check_readable, describe_format, sniff_format

__all__ = [
    "CHECKPOINT_FORMAT_VERSION",
    "Checkpoint",
    "CheckpointMismatchError",
    "load_checkpoint",
    "load_weights",
    "save_checkpoint",
]

#: Version of the checkpoint layout written by :func:`save_checkpoint`.
CHECKPOINT_FORMAT_VERSION = 1
_FORMAT = "rawkit.checkpoint"
_KEYS = (
    "format",
    "format_version",
    "rawkit_version",
    "torch_version",
    "model_class",
    "config",
    "state_dict",
)


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit a model (missing/unexpected keys, shape mismatch)."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint.

    Attributes:
        state_dict: parameter and buffer tensors by name.
        config: the configuration saved with them (plain Python values).
        rawkit_version: the rawkit version that wrote the file.
        torch_version: the torch version that wrote the file.
        model_class: class name of the saved model, or None.
        path: the file it came from (None if built in memory).
    """

    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]
    rawkit_version: str
    torch_version: str
    model_class: str | None = None
    path: Path | None = None


def _check_config(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_config(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: expected str keys, got {type(k).__name__} key {k!r}")
            _check_config(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"{where}: expected None, bool, int, float, str, list, tuple or dict, got {type(value).__name__} "
        "(checkpoints hold plain values only, so that loading never unpickles objects)"
    )


def save_checkpoint(
    path: PathLike,
    model: nn.Module | Mapping[str, torch.Tensor],
    *,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a model's weights with its configuration and the rawkit version, atomically.

    Tensors are detached, copied to the CPU and stored without sharing storage, so the
    file loads on any machine and holds only what the model uses.

    Args:
        path: destination (``.pt`` by convention); its folder must exist.
        model: an ``nn.Module`` (its ``state_dict()`` is saved) or a ``{name: tensor}``
            mapping.
        config: settings needed to rebuild the model (e.g. channel counts): a dict with
            str keys and values that are None, bool, int, float, str, or lists, tuples
            and dicts of those.
        overwrite: replace an existing file (default: raise FileExistsError).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``model`` is neither a module nor a mapping of tensors; ``config``
            holds anything but plain values.
        FileExistsError: the file exists and ``overwrite`` is False.

    Example:
        >>> import tempfile, pathlib, torch
        >>> net = torch.nn.Linear(3, 2)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(pathlib.Path(d) / "net.pt", net, config={"in": 3, "out": 2})
        ...     ck = load_checkpoint(p)
        >>> ck.config, sorted(ck.state_dict), ck.model_class
        ({'in': 3, 'out': 2}, ['bias', 'weight'], 'Linear')
    """
    dest = check_writable(path, overwrite=overwrite)
    if isinstance(model, nn.Module):
        state = model.state_dict()
        model_class: str | None = type(model).__qualname__
    elif isinstance(model, Mapping):
        state, model_class = dict(model), None
    else:
        raise TypeError(
            f"model: expected an nn.Module or a mapping of tensors, got {type(model).__name__}"
        )
    tensors: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise TypeError(
                f"model: expected str -> Tensor entries, got {k!r} -> {type(v).__name__}"
            )
        tensors[k] = v.detach().to("cpu", copy=True).contiguous()
    cfg = dict(config) if config is not None else {}
    _check_config(cfg, "config")
    payload = {
        "format": _FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "rawkit_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "model_class": model_class,
        "config": cfg,
        "state_dict": tensors,
    }
    with atomic_write(dest, overwrite=overwrite) as f:
        torch.save(payload, f)
    return dest


def _check_map_location(map_location: Any) -> torch.device:
    if not isinstance(map_location, (str, torch.device)):
        raise TypeError(
            f"map_location: expected a device or a device string such as 'cpu', got "
            f"{type(map_location).__name__}"
        )
    try:
        device = torch.device(map_location)
    except (RuntimeError, ValueError) as e:
        raise ValueError(
            f"map_location: expected a device string such as 'cpu' or 'cuda:0', got "
            f"{map_location!r}"
        ) from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"map_location: {device} requested but no CUDA device is available")
    return device


def load_checkpoint(path: PathLike, *, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`, never unpickling objects.

    Args:
        path: the checkpoint file.
        map_location: device for the tensors (default ``"cpu"``).

    Returns:
        :class:`Checkpoint`.

    Raises:
        TypeError, ValueError: ``map_location`` is not a device or a device string
            (checked before the file is opened, so it is never blamed on the file).
        FileNotFoundError: missing file.
        FileFormatError: empty, truncated or corrupt file, not a PyTorch archive, a file
            holding arbitrary Python objects (refused by ``weights_only=True``), not a
            rawkit checkpoint, or one from a newer rawkit format.  An ``OSError``.

    Example:
        >>> import tempfile, pathlib, torch
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(pathlib.Path(d) / "w.pt", {"w": torch.ones(2)})
        ...     print(load_checkpoint(p).state_dict["w"])
        tensor([1., 1.])
    """
    location = _check_map_location(map_location)
    p = check_readable(path, "a rawkit checkpoint")
    fmt = sniff_format(p)
    if fmt != "zip":
        raise FileFormatError(
            p, f"content is {describe_format(fmt)}, not a PyTorch checkpoint archive"
        )
    try:
        obj = torch.load(p, map_location=location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise FileFormatError(
            p,
            f"refused: the file holds Python objects that weights_only loading does not unpickle ({e})",
        ) from e
    except Exception as e:  # a corrupt archive fails anywhere in torch's reader
        raise FileFormatError(
            p, f"truncated or corrupt checkpoint ({type(e).__name__}: {e})"
        ) from e
    if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
        raise FileFormatError(
            p,
            "not a rawkit checkpoint (no 'format': 'rawkit.checkpoint' entry; a bare state_dict?)",
        )
    missing = [k for k in _KEYS if k not in obj]
    if missing:
        raise FileFormatError(p, f"incomplete rawkit checkpoint: missing {missing}")
    version = obj["format_version"]
    if not isinstance(version, int) or version > CHECKPOINT_FORMAT_VERSION:
        raise FileFormatError(
            p,
            f"checkpoint format {version!r} written by rawkit {obj['rawkit_version']}; this rawkit "
            f"({__version__}) reads format <= {CHECKPOINT_FORMAT_VERSION}",
        )
    state = obj["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FileFormatError(p, "state_dict entry is not a mapping of tensors")
    return Checkpoint(
        state_dict=dict(state),
        config=obj["config"],
        rawkit_version=str(obj["rawkit_version"]),
        torch_version=str(obj["torch_version"]),
        model_class=obj["model_class"],
        path=p,
    )


def _listing(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


def load_weights(
    model: nn.Module, source: Checkpoint | PathLike, *, strict: bool = True
) -> Checkpoint:
    """Load a checkpoint's weights into ``model`` (in place), checking that they fit first.

    Args:
        model: the network; its parameters keep their device and dtype.
        source: a :class:`Checkpoint` or a path to one.
        strict: require the same key sets (default).  With ``strict=False`` missing and
            unexpected keys are skipped, but shape mismatches still raise.

    Returns:
        The :class:`Checkpoint` (for its ``config``).

    Raises:
        CheckpointMismatchError: (a ``ValueError``) keys or shapes do not fit; the message
            names the missing keys, the unexpected keys and each shape mismatch.  The
            model is left unchanged.
        TypeError: ``model`` is not an ``nn.Module``.
        OSError: the errors of :func:`load_checkpoint` (missing, unreadable or
            malformed file) pass through.

    Example:
        >>> import tempfile, pathlib, torch
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = save_checkpoint(pathlib.Path(d) / "w.pt", torch.nn.Linear(3, 2))
        ...     _ = load_weights(torch.nn.Linear(3, 2), p)
        ...     try:
        ...         load_weights(torch.nn.Linear(4, 2), p)
        ...     except CheckpointMismatchError as e:
        ...         print(str(e).split(": ", 1)[1])
        shape mismatches: weight: checkpoint (2, 3) vs model (2, 4)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    ck = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    own = model.state_dict()
    theirs = ck.state_dict
    missing = [k for k in own if k not in theirs]
    unexpected = [k for k in theirs if k not in own]
    shapes = [
        f"{k}: checkpoint {tuple(theirs[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in theirs and tuple(theirs[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys (in the model, not in the checkpoint): {_listing(missing)}")
    if strict and unexpected:
        problems.append(
            f"unexpected keys (in the checkpoint, not in the model): {_listing(unexpected)}"
        )
    if shapes:
        problems.append(f"shape mismatches: {_listing(shapes)}")
    if problems:
        src = f"checkpoint {ck.path}" if ck.path is not None else "checkpoint"
        saved = f" (saved from {ck.model_class})" if ck.model_class else ""
        raise CheckpointMismatchError(
            f"{src}{saved} does not fit {type(model).__qualname__}: " + "; ".join(problems)
        )
    model.load_state_dict({k: v for k, v in theirs.items() if k in own}, strict=strict)
    return ck
