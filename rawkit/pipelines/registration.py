"""The registry of pipelines: ``@register`` a :class:`~rawkit.pipelines.base.Pipeline`
subclass under its ``name``, look the registered ones up, discover them.

A new method is one module (or package) under :mod:`rawkit.pipelines` with one
``@register``: :func:`discover` imports every public module of the package once, on
the first read of the registry (:func:`rawkit.pipelines.available`, :func:`rawkit.pipelines.get`,
``Pipeline.load``), so no import list needs editing.  All four names are re-exported by
:mod:`rawkit.pipelines.base` and :mod:`rawkit.pipelines`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from rawkit.pipelines.configs import PipelineConfig

if TYPE_CHECKING:
    from rawkit.pipelines.base import Pipeline

__all__ = ["discover", "register", "registry", "unregister"]

P = TypeVar("P", bound="Pipeline")

_REGISTRY: dict[str, type[Pipeline]] = {}


_DISCOVERED = False


def discover() -> None:
    """Import every module and package of :mod:`rawkit.pipelines` (once), so that each
    ``@register`` has run: a new pipeline needs no list to be edited anywhere."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import importlib
    import pkgutil

    import rawkit.pipelines as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"rawkit.pipelines.{info.name}")
    _DISCOVERED = True


def registry() -> Mapping[str, type[Pipeline]]:
    """The registered pipelines by name (a read-only view, without discovery).

    Example:
        >>> "blind_unprocess" in registry()
        True
    """
    from types import MappingProxyType

    return MappingProxyType(_REGISTRY)


def register(cls: type[P]) -> type[P]:
    """Class decorator: add a :class:`~rawkit.pipelines.base.Pipeline` subclass to the
    registry under ``cls.name``.

    Checks the class attributes (``name`` a lower-case identifier, ``Config`` a frozen
    :class:`~rawkit.pipelines.base.PipelineConfig` dataclass, ``learned``,
    ``stores_metadata``, ``tileable``, ``validates`` bools, ``description`` a non-empty
    line).  Registering another class under a taken name raises; registering the same
    class again (a module reload) replaces it.

    Raises:
        TypeError, ValueError: a class that does not fulfil the contract.

    Example:
        >>> from rawkit.pipelines.base import Pipeline, PipelineConfig
        >>> @register
        ... class Grey(Pipeline):  # RAW = the green of each 2x2 block, four times
        ...     name, Config, learned, description = "doc_grey", PipelineConfig, False, "a toy"
        ...     def _reconstruct(self, srgb, *, metadata):
        ...         return srgb[:, 1:2, ::2, ::2].expand(-1, 4, -1, -1)
        >>> registry()["doc_grey"] is Grey
        True
        >>> unregister("doc_grey")
    """
    from rawkit.pipelines.base import Pipeline  # base imports this module

    if not (isinstance(cls, type) and issubclass(cls, Pipeline)):
        raise TypeError(f"register: expected a Pipeline subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"{cls.__name__}.name: expected a lower-case identifier, got {name!r}")
    cfg = getattr(cls, "Config", None)
    if not (
        isinstance(cfg, type)
        and issubclass(cfg, PipelineConfig)
        and dataclasses.is_dataclass(cfg)
        and cfg.__dataclass_params__.frozen  # type: ignore[attr-defined]
    ):
        raise TypeError(
            f"{cls.__name__}.Config: expected a frozen dataclass subclass of PipelineConfig, "
            f"got {cfg!r}"
        )
    for attr in ("learned", "stores_metadata", "tileable", "validates"):
        if not isinstance(getattr(cls, attr, None), bool):
            raise TypeError(f"{cls.__name__}.{attr}: expected a bool")
    if not isinstance(cls.description, str) or not cls.description.strip():
        raise ValueError(f"{cls.__name__}.description: expected a one-line description")
    if cls.stores_metadata and cls._encode_metadata is Pipeline._encode_metadata:
        raise TypeError(
            f"{cls.__name__}: stores_metadata is True, so it must implement _encode_metadata"
        )
    if getattr(cls, "__abstractmethods__", None):
        raise TypeError(
            f"{cls.__name__}: implement {sorted(cls.__abstractmethods__)} before registering"
        )
    old = _REGISTRY.get(name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(
            f"register: the name {name!r} is taken by {old.__module__}.{old.__qualname__}"
        )
    _REGISTRY[name] = cls
    return cls


def unregister(name: str) -> None:
    """Remove a pipeline from the registry (for test suites that register toy pipelines).

    Raises:
        ValueError: ``name`` is not registered.

    Example:
        >>> unregister("no_such_pipeline")
        Traceback (most recent call last):
        ...
        ValueError: name: 'no_such_pipeline' is not registered; registered: [...]
    """
    if name not in _REGISTRY:
        raise ValueError(f"name: {name!r} is not registered; registered: {sorted(_REGISTRY)}")
    del _REGISTRY[name]
