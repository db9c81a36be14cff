"""Pipeline configurations: frozen dataclasses with a JSON round trip and checked fields.

:func:`setting` declares a field with its default (written only there), its help text
and its rule; :class:`PipelineConfig` checks every field against its annotation and rule
through ``rawkit._checks`` when a config is made, rejects unknown keys in
:meth:`~PipelineConfig.from_dict`, and round-trips through JSON.  (Part of the pipeline
contract, :mod:`rawkit.pipelines.base`, which re-exports these names.)
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from rawkit._checks import check_bool, check_int, check_number, check_positive

__all__ = ["PipelineConfig", "PipelineConfigError", "field_type", "setting"]

C = TypeVar("C", bound="PipelineConfig")


class PipelineConfigError(ValueError):
    """A configuration that does not fit its dataclass (unknown key, bad value)."""


def setting(
    default: Any,
    help: str,  # noqa: A002
    *,
    choices: tuple[Any, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    even: bool = False,
    positive: bool = False,
) -> Any:
    """A config field with its ``--help`` text and its rule, read by the CLI and the checks.

    The default lives here only: command-line options and bench presets are built from
    the field.  :class:`PipelineConfig` checks every field against its annotation and
    rule (through ``rawkit._checks``): ``int`` fields with ``minimum``/``maximum``/
    ``even``, ``float`` fields finite (``positive``: ``> 0``), ``bool`` fields, and
    ``choices``.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class C(PipelineConfig):
        ...     crop: int = setting(64, "crop side", minimum=2, even=True)
        >>> C(crop=7)
        Traceback (most recent call last):
        ...
        ValueError: crop: expected an even int >= 2, got 7
    """
    meta = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum,
            "even": even, "positive": positive}  # fmt: skip
    if isinstance(default, (list, dict, set)):
        raise TypeError(f"default: expected an immutable value (use a tuple), got {default!r}")
    return dataclasses.field(default=default, metadata=meta)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_field(f: dataclasses.Field[Any], kind: Any, v: Any) -> None:
    m = f.metadata
    choices = m.get("choices")
    if choices is not None and v not in choices:
        raise PipelineConfigError(f"{f.name}: expected one of {list(choices)}, got {v!r}")
    if kind is bool:
        check_bool(v, f.name)
    elif kind is int:
        check_int(v, f.name, minimum=m.get("minimum"), maximum=m.get("maximum"),
                  even=bool(m.get("even")))  # fmt: skip
    elif kind is float:
        check_number(v, f.name, minimum=m.get("minimum"), maximum=m.get("maximum"))
        if m.get("positive"):
            check_positive(v, f.name)
    elif kind is str and not isinstance(v, str):
        raise TypeError(f"{f.name}: expected a str, got {type(v).__name__} {v!r}")


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """Base of every pipeline's settings: a frozen dataclass with a JSON round trip.

    Subclasses add fields with :func:`setting`, which records the help text and the
    rule every value is checked against; ``__post_init__`` may add rules that tie
    fields together.  Values are JSON scalars or tuples of
    them; ``from_dict`` turns JSON lists back into tuples.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Demo(PipelineConfig):
        ...     steps: int = 10
        ...     rows: tuple[str, ...] = ("a",)
        >>> Demo.from_json(Demo(steps=3).to_json())
        Demo(steps=3, rows=('a',))
        >>> Demo.from_dict({"step": 3})
        Traceback (most recent call last):
        ...
        rawkit.pipelines.configs.PipelineConfigError: config: unknown key(s) ['step'] for Demo; expected some of ['rows', 'steps']
    """

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON values (tuples become lists)."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """The settings as a JSON object (keys sorted)."""
        return json.dumps(
            {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, sort_keys=True
        )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names of the settings."""
        return tuple(f.name for f in dataclasses.fields(cls))

    #: Settings that a saved folder of format version 2 implied for fields it does not
    #: have (fields added later whose new default would change what the weights mean).
    V2_DEFAULTS: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_dict(cls: type[C], values: Mapping[str, Any]) -> C:
        """Build a config from a mapping; unknown keys and bad values are rejected.

        Raises:
            TypeError: ``values`` is not a mapping.
            PipelineConfigError: an unknown key, or a value the config's checks reject.
        """
        if not isinstance(values, Mapping):
            raise TypeError(f"config: expected a mapping, got {type(values).__name__}")
        known = cls.field_names()
        unknown = sorted(str(k) for k in values if k not in known)
        if unknown:
            raise PipelineConfigError(
                f"config: unknown key(s) {unknown} for {cls.__name__}; expected some of "
                f"{sorted(known)}"
            )
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        try:
            return cls(**kw)
        except PipelineConfigError:
            raise
        except (TypeError, ValueError) as e:
            raise PipelineConfigError(f"config ({cls.__name__}): {e}") from e

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        """Inverse of :meth:`to_json`."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as e:
            raise PipelineConfigError(f"config: not valid JSON ({e})") from e
        return cls.from_dict(values)

    def replace(self: C, **changes: Any) -> C:
        """A copy with some settings changed (unknown names rejected like :meth:`from_dict`)."""
        return type(self).from_dict({**self.to_dict(), **changes})

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (list, dict, set)):
                raise PipelineConfigError(
                    f"{f.name}: expected an immutable value (a tuple), got {type(v).__name__}"
                )
            _check_field(f, hints.get(f.name), v)


def field_type(config: type[PipelineConfig], name: str) -> Any:
    """The resolved type annotation of one config field."""
    return typing.get_type_hints(config)[name]
