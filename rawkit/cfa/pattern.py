"""Bayer colour-filter-array patterns and how geometry changes them.

A pattern is one of the strings ``"RGGB"``, ``"GRBG"``, ``"GBRG"``, ``"BGGR"``: the
colours of the 2x2 tile read row by row from the top-left pixel.  Cropping by an odd
offset, flipping or rotating a mosaic moves a different colour to the top-left, so the
same sensor data is described by a different pattern afterwards; the functions here
say which.

Packed RAW always uses the canonical channel order ``[R, Gr, Gb, B]`` whatever the
pattern, where ``Gr`` is the green on red rows and ``Gb`` the green on blue rows.
"""

from __future__ import annotations

from typing import Literal, get_args

from rawkit._checks import check_bool, check_int

__all__ = [
    "Pattern",
    "PATTERNS",
    "CHANNELS",
    "check_pattern",
    "colour_at",
    "channel_sites",
    "pattern_after_crop",
    "pattern_after_flip",
    "pattern_after_rot180",
]

#: The four Bayer patterns, named by their 2x2 tile read row by row.
Pattern = Literal["RGGB", "GRBG", "GBRG", "BGGR"]
#: The four Bayer patterns rawkit supports.
PATTERNS: tuple[str, ...] = get_args(Pattern)
#: Canonical packed channel order.
CHANNELS: tuple[str, ...] = ("R", "Gr", "Gb", "B")


def check_pattern(pattern: object, name: str = "pattern") -> str:
    """Return ``pattern`` if it is a valid Bayer pattern, else raise.

    Raises:
        TypeError: ``pattern`` is not a string.
        ValueError: it is not one of :data:`PATTERNS` (case-sensitive).

    Example:
        >>> check_pattern("GRBG")
        'GRBG'
    """
    if not isinstance(pattern, str):
        raise TypeError(
            f"{name}: expected a pattern string {list(PATTERNS)}, got {type(pattern).__name__}"
        )
    if pattern not in PATTERNS:
        raise ValueError(f"{name}: expected one of {list(PATTERNS)}, got {pattern!r}")
    return pattern


def colour_at(pattern: Pattern, *, row: int, col: int) -> str:
    """The colour (``"R"``, ``"G"`` or ``"B"``) of pixel ``(row, col)`` of a mosaic.

    ``row`` and ``col`` are ints ``>= 0`` (a float such as ``3.0`` raises ``TypeError``).

    Example:
        >>> colour_at("RGGB", row=3, col=3)
        'B'
    """
    check_pattern(pattern)
    r = check_int(row, "row", minimum=0)
    c = check_int(col, "col", minimum=0)
    return pattern[2 * (r % 2) + (c % 2)]


def channel_sites(pattern: Pattern) -> tuple[tuple[int, int], ...]:
    """The 2x2-tile site ``(dy, dx)`` of each packed channel ``[R, Gr, Gb, B]``.

    Packed channel ``k`` holds ``mosaic[..., dy::2, dx::2]`` with ``(dy, dx)`` the
    ``k``-th site.  ``Gr`` is the green that shares rows with red.

    Example:
        >>> channel_sites("GRBG")
        ((0, 1), (0, 0), (1, 1), (1, 0))
    """
    check_pattern(pattern)
    ry, rx = divmod(pattern.index("R"), 2)
    # The tile is R at (ry, rx); Gr shares its row, Gb its column, B is diagonal.
    return ((ry, rx), (ry, 1 - rx), (1 - ry, rx), (1 - ry, 1 - rx))


def _from_sites(r_site: tuple[int, int]) -> str:
    ry, rx = r_site
    tile = [["G", "G"], ["G", "G"]]
    tile[ry][rx] = "R"
    tile[1 - ry][1 - rx] = "B"
    return "".join(tile[0] + tile[1])


def pattern_after_crop(pattern: Pattern, *, top: int, left: int) -> str:
    """The pattern of ``mosaic[..., top:, left:]`` (only the offset's parity matters).

    Example:
        >>> pattern_after_crop("RGGB", top=0, left=1)
        'GRBG'
        >>> pattern_after_crop("RGGB", top=1, left=1)
        'BGGR'
    """
    check_pattern(pattern)
    top = check_int(top, "top", minimum=0)
    left = check_int(left, "left", minimum=0)
    ry, rx = divmod(pattern.index("R"), 2)
    return _from_sites(((ry - top) % 2, (rx - left) % 2))


def pattern_after_flip(
    pattern: Pattern,
    *,
    horizontal: bool = False,
    vertical: bool = False,
    height: int = 2,
    width: int = 2,
) -> str:
    """The pattern of a mosaic flipped left-right (``horizontal``) and/or up-down.

    ``height`` and ``width`` are the mosaic's size: flipping an even-sized mosaic
    brings the last (odd) column/row to the front and so changes the pattern; an
    odd size would keep it (rawkit mosaics are always even-sized).  Both are ints
    ``>= 1``; ``horizontal`` and ``vertical`` are bools.

    Example:
        >>> pattern_after_flip("RGGB", horizontal=True)
        'GRBG'
        >>> pattern_after_flip("RGGB", horizontal=True, vertical=True)
        'BGGR'
    """
    check_pattern(pattern)
    vertical = check_bool(vertical, "vertical")
    horizontal = check_bool(horizontal, "horizontal")
    height = check_int(height, "height", minimum=1)
    width = check_int(width, "width", minimum=1)
    ry, rx = divmod(pattern.index("R"), 2)
    if vertical:
        ry = (height - 1 - ry) % 2
    if horizontal:
        rx = (width - 1 - rx) % 2
    return _from_sites((ry, rx))


def pattern_after_rot180(pattern: Pattern, *, height: int = 2, width: int = 2) -> str:
    """The pattern of an (even-sized) mosaic rotated by 180 degrees.

    Example:
        >>> pattern_after_rot180("GRBG")
        'GBRG'
    """
    return pattern_after_flip(pattern, horizontal=True, vertical=True, height=height, width=width)
