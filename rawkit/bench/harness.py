"""Speed-benchmark harness: every figure is a ratio to a peer timed in the same run.

These machines are shared and noisy, so an absolute time means little; a ratio to a
well-known peer (``np.copy``, colour-demosaicing, OpenCV, LibRaw, faiss, ``torch.mm``)
timed *interleaved* with rawkit in the same process is what rawkit reports.

A suite is a function ``suite(*, megapixels: float, repeats: int) -> list[SpeedRecord]``
registered with :func:`register_speed`.  :func:`run_speed` (what ``rawkit bench speed``
calls) runs the chosen suites once per thread setting -- by default one thread *and*
torch's default thread count, the setting a user gets -- with rawkit and its peer held
to the same count (torch, OpenCV, faiss and the BLAS/OpenMP pools NumPy links, through
:func:`thread_count`), so a row compares like with like.  Each row carries its goal
(``ratio <= goal``) and whether this run met it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "SpeedRecord",
    "SpeedSuite",
    "compare",
    "default_threads",
    "format_table",
    "register_speed",
    "run_speed",
    "speed_suites",
    "thread_count",
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
        note: optional free text (memory, accuracy, ...).
        goal: the ratio rawkit aims to stay at or below; None: reported only.
        threads: intra-op threads both sides ran with (0: not recorded).
    """

    name: str
    size: str
    rawkit_s: float
    peer: str
    peer_s: float
    ratio: float
    note: str = ""
    goal: float | None = None
    threads: int = 0

    @property
    def met(self) -> bool | None:
        """Whether ``ratio <= goal`` (None without a goal)."""
        return None if self.goal is None else self.ratio <= self.goal


SpeedSuite = Callable[..., list[SpeedRecord]]
_SUITES: dict[str, SpeedSuite] = {}
_DEFAULT_THREADS: int | None = None


def register_speed(name: str) -> Callable[[SpeedSuite], SpeedSuite]:
    """Decorator registering a speed suite under ``name``."""

    def deco(fn: SpeedSuite) -> SpeedSuite:
        _SUITES[name] = fn
        return fn

    return deco


def speed_suites() -> dict[str, SpeedSuite]:
    """All registered suites (importing the modules that define them)."""
    import importlib

    for mod in (
        "rawkit.bench.speed_cfa",
        "rawkit.bench.speed_isp",
        "rawkit.bench.speed_search",
        "rawkit.bench.speed_video",
    ):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a suite module not written yet
            if e.name != mod:
                raise
    return dict(_SUITES)


def default_threads() -> int:
    """torch's intra-op thread count as this process started (what a user gets)."""
    global _DEFAULT_THREADS
    if _DEFAULT_THREADS is None:
        import torch

        _DEFAULT_THREADS = torch.get_num_threads()
    return _DEFAULT_THREADS


@contextlib.contextmanager
def thread_count(n: int) -> Iterator[None]:
    """Hold every thread pool rawkit and its peers use to ``n`` threads, then restore.

    Sets torch's intra-op threads, OpenCV's, faiss's OpenMP threads (only if ``cv2`` /
    ``faiss`` are imported already) and, through ``threadpoolctl`` where installed, the
    BLAS/OpenMP pools NumPy and SciPy link.  Set once per call, never nested per op.
    """
    import torch

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads: expected an int >= 1, got {n!r}")
    default_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    cv2 = sys.modules.get("cv2")
    cv_before = cv2.getNumThreads() if cv2 is not None else None
    if cv2 is not None:
        cv2.setNumThreads(n)
    faiss = sys.modules.get("faiss")
    faiss_before = faiss.omp_get_max_threads() if faiss is not None else None
    if faiss is not None:
        faiss.omp_set_num_threads(n)
    with contextlib.ExitStack() as stack:
        try:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=n))
        except ImportError:  # optional: only the BLAS pools stay as they are
            pass
        try:
            yield
        finally:
            torch.set_num_threads(before)
            if cv2 is not None and cv_before is not None:
                cv2.setNumThreads(cv_before)
            if faiss is not None and faiss_before is not None:
                faiss.omp_set_num_threads(faiss_before)


def compare(
    name: str,
    size: str,
    rawkit_fn: Callable[[], Any],
    peer: str,
    peer_fn: Callable[[], Any],
    *,
    repeats: int = 5,
    note: str = "",
    goal: float | None = None,
    warmup: int = 2,
) -> SpeedRecord:
    """Time ``rawkit_fn`` and ``peer_fn`` interleaved; medians and their ratio.

    Both are called ``warmup`` times first (allocator, caches, lazy imports and thread
    pools settle, so the first row of a run is not penalised), then ``repeats`` times
    each, alternating which goes first, so that a burst of load hits both alike.
    """
    if repeats < 1:
        raise ValueError(f"repeats: expected >= 1, got {repeats}")
    for _ in range(max(0, warmup)):
        rawkit_fn()
        peer_fn()
    a: list[float] = []
    b: list[float] = []
    pair = ((rawkit_fn, a), (peer_fn, b))
    for i in range(repeats):
        for fn, acc in pair if i % 2 == 0 else pair[::-1]:
            gc.collect()
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    ra, rb = sorted(a)[len(a) // 2], sorted(b)[len(b) // 2]
    return SpeedRecord(name, size, ra, peer, rb, ra / rb, note, goal)


def run_speed(
    suites: Sequence[str] | None = None,
    *,
    megapixels: float = 12.0,
    repeats: int = 5,
    threads: Sequence[int] | int | None = None,
    progress: bool = True,
) -> list[SpeedRecord]:
    """Run speed suites at each thread count; records carry ``threads``.

    Args:
        suites: names of registered suites (default: all).
        megapixels, repeats: passed to every suite.
        threads: one count, several, or None for ``(1, default_threads())`` (one
            thread, then what a user gets; just one row set where they coincide).
        progress: print one line per suite and thread count.
    """
    import torch

    available = speed_suites()
    chosen = list(available) if suites is None else list(suites)
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise ValueError(f"suites: unknown {unknown}; expected some of {sorted(available)}")
    if threads is None:
        counts = sorted({1, default_threads()})
    else:
        counts = [threads] if isinstance(threads, int) else list(threads)
    # One throw-away pass over a large buffer: the process's first big allocations and
    # torch's thread-pool start-up are paid here, not by the first row.
    buf = torch.empty(1 << 23)
    buf.fill_(0).add_(1)
    del buf
    records: list[SpeedRecord] = []
    for name in chosen:
        for n in counts:
            if progress:
                print(
                    f"running suite {name!r} at {megapixels} MP, {repeats} repeats, {n} thread(s) ...",
                    flush=True,
                )
            with thread_count(n):
                recs = available[name](megapixels=megapixels, repeats=repeats)
            records += [dataclasses.replace(r, threads=n) for r in recs]
    return records


def format_table(records: list[SpeedRecord]) -> str:
    """A plain-text table of records, one line each: ratio, goal and whether it was met."""
    head = (
        f"{'name':34s} {'size':>11s} {'thr':>3s} {'rawkit s':>9s} {'peer':32s} {'peer s':>9s}"
        f" {'ratio':>7s} {'goal':>7s} {'met':>4s}  note"
    )
    lines = [head, "-" * len(head)]
    for r in records:
        goal = "report" if r.goal is None else f"<={r.goal:g}"
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append(
            f"{r.name:34s} {r.size:>11s} {r.threads or '':>3} {r.rawkit_s:9.4f} {r.peer:32s}"
            f" {r.peer_s:9.4f} {r.ratio:7.3f} {goal:>7s} {met:>4s}  {r.note}"
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
            json.dump([dict(dataclasses.asdict(r), met=r.met) for r in records], f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
