"""Speed suite for ``rawkit.cfa``: packing, demosaicing and bit-packing on a 12 MP mosaic.

Peers, timed in the same run: ``np.copy`` of the same bytes (memory bound),
colour-demosaicing (the reference Python implementation) and OpenCV's Bayer conversion
(uint16 only: OpenCV has no floating-point Bayer demosaic).

The rows against ``np.copy`` and OpenCV take a few milliseconds each, and both sides
allocate a fresh output of tens of MB per call, which the C library sometimes serves
from memory it kept (no page faults: ~1.5 ms for 24 MB) and sometimes maps anew (~5 ms
for the same copy), at random for either side; so these rows are timed at least
:data:`FAST_REPEATS` times, which keeps their medians out of that noise.
"""

from __future__ import annotations

import functools
import gc
from typing import Any

import numpy as np

from rawkit.bench.harness import SpeedRecord, compare, register_speed

__all__ = ["cfa_suite"]

#: Goals (``ratio <= goal``) of the rows of this suite.
GOALS = {"layout": 1.5, "bits": 2.0, "colour-demosaicing": 0.2, "opencv": 2.0}
#: What the OpenCV row compares: the same frame, each side in its own sample type.
OPENCV_NOTE = (
    "same frame; OpenCV uint16 in/out (2+6 B/px), rawkit float32 in/out (4+12 B/px, 2x the"
    " bytes; rawkit demosaics floats only, OpenCV has no float Bayer path); nothing rescaled"
)
#: Fewest timed repeats of the millisecond rows (``np.copy`` and OpenCV peers).
FAST_REPEATS = 15


def _size(megapixels: float) -> tuple[int, int]:
    """An even 3:4 frame of about ``megapixels`` (12 MP -> 3000 x 4000)."""
    h = max(4, int(round((megapixels * 1e6 * 3 / 4) ** 0.5 / 2)) * 2)
    w = max(4, int(round(h * 4 / 3 / 2)) * 2)
    return h, w


@register_speed("cfa")
def cfa_suite(*, megapixels: float = 12.0, repeats: int = 5) -> list[SpeedRecord]:
    """Time the CFA layer against its peers; returns one record per comparison."""
    import colour_demosaicing as cd
    import cv2

    import rawkit.cfa

    # The harness collects garbage before every timed call (outside the timing); with
    # torch, numba and the peers loaded one full collection takes up to a second on a
    # loaded machine, hundreds of times per run.  Once every function has run (numba
    # loads its compiled code, the peers their lazy imports), the objects alive are set
    # aside for the suite's duration (gc.freeze), and put back afterwards.
    _warm_up(rawkit.cfa, cd, cv2)
    gc.freeze()
    try:
        return _rows(rawkit.cfa, cd, cv2, megapixels, repeats)
    finally:
        gc.unfreeze()


def _warm_up(cfa: Any, cd: Any, cv2: Any) -> None:
    """Call every function the suite times once, on an 8 x 8 mosaic."""
    m32 = np.random.default_rng(0).random((1, 8, 8), dtype=np.float32)
    m16 = (m32 * 1023).astype(np.uint16)
    for m in (m32, m16):
        for pattern in ("RGGB", "BGGR"):
            cfa.unpack(cfa.pack(m, pattern=pattern), pattern=pattern)
    cfa.demosaic_bilinear(m32, pattern="RGGB")
    cfa.demosaic_malvar(m32, pattern="RGGB")
    cd.demosaicing_CFA_Bayer_bilinear(m32[0], "RGGB")
    cd.demosaicing_CFA_Bayer_Malvar2004(m32[0], "RGGB")
    cv2.cvtColor(np.ascontiguousarray(m16[0]), cv2.COLOR_BayerBG2RGB)
    for depth in (10, 12, 14):
        cfa.unpack_bits(cfa.pack_bits(m16, bit_depth=depth), bit_depth=depth)


def _rows(cfa: Any, cd: Any, cv2: Any, megapixels: float, repeats: int) -> list[SpeedRecord]:
    pack, unpack, pack_bits, unpack_bits = cfa.pack, cfa.unpack, cfa.pack_bits, cfa.unpack_bits
    demosaic_bilinear, demosaic_malvar = cfa.demosaic_bilinear, cfa.demosaic_malvar

    h, w = _size(megapixels)
    size = f"{h}x{w}"
    rng = np.random.default_rng(0)
    m32 = rng.random((1, h, w), dtype=np.float32)
    m16 = rng.integers(0, 1024, (1, h, w), dtype=np.uint16)
    recs: list[SpeedRecord] = []
    lay = GOALS["layout"]
    fast = max(repeats, FAST_REPEATS)

    for pattern in ("RGGB", "BGGR"):
        recs.append(compare(f"pack float32 {pattern}", size, functools.partial(pack, m32, pattern=pattern),
                            "np.copy", lambda: np.copy(m32), repeats=fast, goal=lay))  # fmt: skip
        p32 = pack(m32, pattern=pattern)
        recs.append(compare(f"unpack float32 {pattern}", size, functools.partial(unpack, p32, pattern=pattern),
                            "np.copy", functools.partial(np.copy, p32), repeats=fast, goal=lay))  # fmt: skip
    recs.append(compare("pack uint16 RGGB", size, lambda: pack(m16, pattern="RGGB"),
                        "np.copy uint16", lambda: np.copy(m16), repeats=fast, goal=lay))  # fmt: skip
    p16 = pack(m16, pattern="RGGB")
    recs.append(compare("unpack uint16 RGGB", size, lambda: unpack(p16, pattern="RGGB"),
                        "np.copy uint16", lambda: np.copy(p16), repeats=fast, goal=lay))  # fmt: skip

    cd_rep = max(1, repeats // 2)  # colour-demosaicing is slow; fewer repeats keep the run short
    for name, fn, ref in (
        ("bilinear", demosaic_bilinear, cd.demosaicing_CFA_Bayer_bilinear),
        ("malvar", demosaic_malvar, cd.demosaicing_CFA_Bayer_Malvar2004),
    ):
        recs.append(compare(f"demosaic_{name} float32", size, functools.partial(fn, m32, pattern="RGGB"),
                            f"colour-demosaicing {name}", functools.partial(ref, m32[0], "RGGB"),
                            repeats=cd_rep, warmup=1, goal=GOALS["colour-demosaicing"]))  # fmt: skip
    m16b = np.ascontiguousarray(m16[0])
    m16f = m16.astype(np.float32)
    recs.append(compare("demosaic_bilinear float32", size, lambda: demosaic_bilinear(m16f, pattern="RGGB"),
                        "OpenCV Bayer bilinear uint16", lambda: cv2.cvtColor(m16b, cv2.COLOR_BayerBG2RGB),
                        repeats=fast, goal=GOALS["opencv"], note=OPENCV_NOTE))  # fmt: skip

    for depth in (10, 12, 14):
        w_group = 4 if depth != 12 else 2
        data16 = np.ascontiguousarray(m16[..., : (w // w_group) * w_group])
        packed = pack_bits(data16, bit_depth=depth)
        recs.append(compare(f"pack_bits RAW{depth}", size, functools.partial(pack_bits, data16, bit_depth=depth),
                            "np.copy uint16", functools.partial(np.copy, data16), repeats=fast,
                            goal=GOALS["bits"]))  # fmt: skip
        recs.append(compare(f"unpack_bits RAW{depth}", size,
                            functools.partial(unpack_bits, packed, bit_depth=depth),
                            "np.copy uint16", functools.partial(np.copy, data16), repeats=fast,
                            goal=GOALS["bits"]))  # fmt: skip
    return recs
