"""Hostile inputs for testing that a function refuses them at its boundary (public API).

rawkit's rule (DESIGN.md "Errors"): bad input raises a ``ValueError`` or ``TypeError``
(``OSError`` for files) *before any work*, with a message naming the argument.  These
strategies make the bad inputs; :func:`assert_refuses` checks the refusal.  Use them on
your own functions::

    from hypothesis import given
    from rawkit.testing import assert_refuses, bad_arrays

    @given(bad=bad_arrays(np.zeros((1, 8, 8), np.float32)))
    def test_my_op_refuses(bad):
        assert_refuses(lambda x: my_op(x, pattern="RGGB"), bad.value, name="x")

Each drawn item is a :class:`BadInput`: a short ``label`` (``"nan"``, ``"bool"``...) for
test ids and messages, and the ``value``.  Array kinds are derived from a *valid*
example (``like``) so that only one thing is wrong at a time:

=============  =====================================================================
kind           what it is
=============  =====================================================================
``nan``        ``like`` (as float) with NaN at one drawn position
``inf``        ``like`` (as float) with +Inf or -Inf at one drawn position
``bool``       ``like`` cast to bool
``complex``    ``like`` cast to complex64
``flat``       ``like`` flattened to 1-D (wrong number of dimensions)
``list``       ``like.tolist()`` (a Python list, not an array)
``str``        a string
``none``       ``None``
=============  =====================================================================

Scalar kinds (:func:`bad_scalars`) depend on what the parameter is: a ``bool`` gets
strings such as ``"False"`` (truthy!) and ints; an ``int`` gets floats, bools and
strings; a ``float`` gets NaN, Inf, bools and strings; ``"positive"`` also gets 0 and
negative numbers; ``"probability"`` numbers outside ``[0, 1]``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from hypothesis import strategies as st

__all__ = [
    "ARRAY_KINDS",
    "SCALAR_KINDS",
    "BadInput",
    "assert_refuses",
    "bad_arrays",
    "bad_scalars",
]

#: The array kinds of :func:`bad_arrays`, in order.
ARRAY_KINDS: tuple[str, ...] = ("nan", "inf", "bool", "complex", "flat", "list", "str", "none")
#: The parameter kinds of :func:`bad_scalars`.
SCALAR_KINDS: tuple[str, ...] = ("bool", "int", "float", "positive", "probability")

ScalarKind = Literal["bool", "int", "float", "positive", "probability"]


@dataclass(frozen=True)
class BadInput:
    """A hostile value and a short label saying what is wrong with it."""

    label: str
    value: Any

    def __repr__(self) -> str:
        return f"BadInput({self.label})"


def _as_numpy(like: Any) -> tuple[np.ndarray, bool]:
    if isinstance(like, torch.Tensor):
        return like.detach().cpu().numpy(), True
    if isinstance(like, np.ndarray):
        return like, False
    raise TypeError(f"like: expected a numpy.ndarray or torch.Tensor, got {type(like).__name__}")


def _back(a: np.ndarray, torch_out: bool) -> Any:
    return torch.from_numpy(np.ascontiguousarray(a)) if torch_out else a


def _float_version(a: np.ndarray) -> np.ndarray:
    return a.astype(a.dtype if np.issubdtype(a.dtype, np.floating) else np.float32, copy=True)


def bad_arrays(
    like: np.ndarray | torch.Tensor, *, kinds: Sequence[str] = ARRAY_KINDS
) -> st.SearchStrategy[BadInput]:
    """Bad versions of a valid array ``like``: NaN, Inf, bool, complex, wrong rank, not an array.

    Args:
        like: a valid, non-empty input of the function under test (NumPy or torch; the
            array kinds come back in the same library).
        kinds: which kinds to draw (see the module table); default all.

    Returns:
        A strategy of :class:`BadInput`.

    Example:
        >>> import numpy as np
        >>> from hypothesis import find
        >>> bad = find(bad_arrays(np.zeros((1, 4, 4)), kinds=["nan"]), lambda b: True)
        >>> bad.label, int(np.isnan(bad.value).sum())
        ('nan', 1)
    """
    a, torch_out = _as_numpy(like)
    if a.size == 0:
        raise ValueError(f"like: expected a non-empty example, got shape {a.shape}")
    unknown = [k for k in kinds if k not in ARRAY_KINDS]
    if unknown or not kinds:
        raise ValueError(f"kinds: expected a non-empty subset of {list(ARRAY_KINDS)}, got {kinds}")

    def poke(value: float) -> Callable[[int], BadInput]:
        def make(i: int) -> BadInput:
            f = _float_version(a)
            f.reshape(-1)[i] = value
            return BadInput("nan" if math.isnan(value) else "inf", _back(f, torch_out))

        return make

    options: list[st.SearchStrategy[BadInput]] = []
    index = st.integers(0, a.size - 1)
    for k in kinds:
        if k == "nan":
            options.append(index.map(poke(float("nan"))))
        elif k == "inf":
            options.append(
                st.sampled_from([math.inf, -math.inf]).flatmap(lambda v: index.map(poke(v)))
            )
        elif k == "bool":
            options.append(st.just(BadInput("bool", _back(a.astype(bool), torch_out))))
        elif k == "complex":
            options.append(st.just(BadInput("complex", _back(a.astype(np.complex64), torch_out))))
        elif k == "flat":
            options.append(st.just(BadInput("flat", _back(a.reshape(-1), torch_out))))
        elif k == "list":
            options.append(st.just(BadInput("list", a.tolist())))
        elif k == "str":
            options.append(st.just(BadInput("str", "not an array")))
        else:
            options.append(st.just(BadInput("none", None)))
    return st.one_of(options)


_SCALARS: dict[str, list[BadInput]] = {
    "bool": [BadInput("str 'False'", "False"), BadInput("int 1", 1), BadInput("None", None)],
    "int": [
        BadInput("float 2.5", 2.5),
        BadInput("bool True", True),
        BadInput("str '3'", "3"),
        BadInput("None", None),
    ],
    "float": [
        BadInput("nan", float("nan")),
        BadInput("inf", float("inf")),
        BadInput("bool True", True),
        BadInput("str '1'", "1"),
    ],
}
_SCALARS["positive"] = [*_SCALARS["float"], BadInput("zero", 0.0), BadInput("negative", -1.0)]
_SCALARS["probability"] = [*_SCALARS["float"], BadInput("-0.5", -0.5), BadInput("1.5", 1.5)]


def bad_scalars(kind: ScalarKind) -> st.SearchStrategy[BadInput]:
    """Bad values for a scalar parameter of the given kind (see the module notes).

    Example:
        >>> from hypothesis import find
        >>> find(bad_scalars("bool"), lambda b: isinstance(b.value, str)).value
        'False'
    """
    if kind not in _SCALARS:
        raise ValueError(f"kind: expected one of {list(SCALAR_KINDS)}, got {kind!r}")
    return st.sampled_from(_SCALARS[kind])


def assert_refuses(
    call: Callable[[Any], Any],
    value: Any,
    *,
    name: str,
    allowed: tuple[type[BaseException], ...] = (ValueError, TypeError, OSError),
) -> BaseException:
    """Assert that ``call(value)`` raises one of ``allowed`` with ``name`` in its message.

    ``name`` is matched as a whole word (``"x"`` does not match inside ``"index"``).
    Returns the exception.  Raises ``AssertionError`` if ``call`` returns, raises
    something else (e.g. torch's ``RuntimeError``, ``IndexError``), or raises without
    naming the argument.

    Example:
        >>> import math
        >>> def f(x):
        ...     if not math.isfinite(x):
        ...         raise ValueError(f"x: expected a finite number, got {x}")
        >>> type(assert_refuses(f, float("nan"), name="x")).__name__
        'ValueError'
    """
    try:
        out = call(value)
    except allowed as e:
        msg = str(e)
        if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", msg):
            raise AssertionError(
                f"{type(e).__name__} does not name the argument {name!r}: {msg}"
            ) from e
        return e
    except Exception as e:
        raise AssertionError(
            f"expected {' or '.join(t.__name__ for t in allowed)} naming {name!r}, got "
            f"{type(e).__name__}: {e}"
        ) from e
    raise AssertionError(f"accepted a bad {name!r} and returned {type(out).__name__}")
