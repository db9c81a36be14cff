"""Speed-benchmark harness: every figure is a ratio to a peer timed in the same run.

These machines are shared and noisy, so an absolute time means little; a ratio to a
well-known peer (``np.copy``, colour-demosaicing, LibRaw, faiss, ``torch.mm``) timed
*interleaved* with rawkit in the same process is what rawkit reports.

A suite is a function ``suite(*, megapixels: float, repeats: int) -> list[SpeedRecord]``
registered with :func:`register_speed`; ``rawkit bench speed`` runs them all, prints a
table and can write the records as JSON.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "SpeedRecord",
    "SpeedSuite",
    "compare",
    "format_table",
    "register_speed",
    "speed_suites",
    "write_json",
]


@dataclasses.dataclass(frozen=True)
class SpeedRecord:
    """One timed comparison.

    Attributes:
        name: what rawkit did, e.g. ``"demosaic_malvar float32"``.
        size: the problem size in words, e.g. ``"3000x4000"``.
        rawkit_s: median seconds of rawkit's call.
        peer: what it was compared with, e.g. ``"colour-demosaicing Malvar2004"``.
        peer_s: median seconds of the peer's call.
        ratio: ``rawkit_s / peer_s`` (below 1: rawkit is faster).
        note: optional free text (goal, memory, ...).
    """

    name: str
    size: str
    rawkit_s: float
    peer: str
    peer_s: float
    ratio: float
    note: str = ""


SpeedSuite = Callable[..., list[SpeedRecord]]
_SUITES: dict[str, SpeedSuite] = {}


def register_speed(name: str) -> Callable[[SpeedSuite], SpeedSuite]:
    """Decorator registering a speed suite under ``name``."""

    def deco(fn: SpeedSuite) -> SpeedSuite:
        _SUITES[name] = fn
        return fn

    return deco


def speed_suites() -> dict[str, SpeedSuite]:
    """All registered suites (importing the modules that define them)."""
    import importlib

    for mod in ("rawkit.bench.speed_cfa", "rawkit.bench.speed_isp", "rawkit.bench.speed_search"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a suite module not written yet
            if e.name != mod:
                raise
    return dict(_SUITES)


def compare(
    name: str,
    size: str,
    rawkit_fn: Callable[[], Any],
    peer: str,
    peer_fn: Callable[[], Any],
    *,
    repeats: int = 5,
    note: str = "",
) -> SpeedRecord:
    """Time ``rawkit_fn`` and ``peer_fn`` interleaved; medians and their ratio.

    Both are called once to warm up, then ``repeats`` times each, alternating, so
    that a burst of load on the machine hits both alike.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    rawkit_fn()
    peer_fn()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        rawkit_fn()
        a.append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        peer_fn()
        b.append(time.perf_counter() - t0)
    ra, rb = sorted(a)[len(a) // 2], sorted(b)[len(b) // 2]
    return SpeedRecord(name, size, ra, peer, rb, ra / rb, note)


def format_table(records: list[SpeedRecord]) -> str:
    """A plain-text table of records, one line each."""
    head = f"{'name':34s} {'size':>11s} {'rawkit s':>9s} {'peer':32s} {'peer s':>9s} {'ratio':>7s}  note"
    lines = [head, "-" * len(head)]
    for r in records:
        lines.append(
            f"{r.name:34s} {r.size:>11s} {r.rawkit_s:9.4f} {r.peer:32s} {r.peer_s:9.4f} {r.ratio:7.3f}  {r.note}"
        )
    return "\n".join(lines)


def write_json(
    records: list[SpeedRecord], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write records as a JSON list, atomically; refuse to overwrite unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"path: {path} exists; pass overwrite=True (CLI: --overwrite) to replace it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump([dataclasses.asdict(r) for r in records], f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
