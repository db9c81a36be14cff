"""Bayer colour filter arrays: patterns, mosaicing, packing, demosaicing, bit-packing.

Layouts: RGB ``(*, 3, H, W)``, mosaic ``(*, 1, H, W)``, packed ``(*, 4, H/2, W/2)`` with
channels ``[R, Gr, Gb, B]`` for every pattern.  Every function accepts a torch tensor or a
NumPy array and returns the same kind.
"""

from rawkit.cfa.bitpack import pack_bits, unpack_bits
from rawkit.cfa.demosaic import DemosaicMethod, demosaic, demosaic_bilinear, demosaic_malvar
from rawkit.cfa.menon import demosaic_menon
from rawkit.cfa.packing import mosaic, pack, unpack
from rawkit.cfa.pattern import (
    CHANNELS,
    PATTERNS,
    Pattern,
    channel_sites,
    check_pattern,
    colour_at,
    pattern_after_crop,
    pattern_after_flip,
    pattern_after_rot180,
)

__all__ = [
    "CHANNELS",
    "PATTERNS",
    "DemosaicMethod",
    "Pattern",
    "channel_sites",
    "check_pattern",
    "colour_at",
    "demosaic",
    "demosaic_bilinear",
    "demosaic_malvar",
    "demosaic_menon",
    "mosaic",
    "pack",
    "pack_bits",
    "pattern_after_crop",
    "pattern_after_flip",
    "pattern_after_rot180",
    "unpack",
    "unpack_bits",
]
