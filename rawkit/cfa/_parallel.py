"""Chunked loops that stay fast on a loaded machine (private to ``rawkit.cfa``).

A loop of many small torch ops over chunks of an image runs one OpenMP parallel region
per op; when other processes share the cores, every region waits at its barrier for
a descheduled thread, and the loop can run tens of times slower than on one thread.
:func:`run_chunks` instead hands whole chunks to a pool of worker threads, each running
its ops on one intra-op thread, so a stalled worker delays only its own chunk.  The
thread count is read once per call (``torch.get_num_threads()``, which ``rawkit bench
speed --threads`` and the user set); with one thread, or off the CPU, the loop runs
in the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")


def run_chunks(fn: Callable[[T], None], items: Sequence[T], *, device: torch.device) -> None:
    """Call ``fn(item)`` for every item, in parallel over chunks where that pays.

    ``fn`` must write disjoint outputs (nothing is returned).  Workers run in the
    caller's grad and inference modes (both are per thread in torch).
    """
    threads = torch.get_num_threads()
    if threads == 1 or device.type != "cpu" or len(items) < 2:
        for item in items:
            fn(item)
        return
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def work(item: T) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            fn(item)

    one = lambda: torch.set_num_threads(1)  # noqa: E731  (OpenMP's count is per thread)
    with ThreadPoolExecutor(min(threads, len(items)), initializer=one) as pool:
        list(pool.map(work, items))
    torch.set_num_threads(threads)  # the workers' setting must not leak into the caller


#: Bytes a band of :func:`run_rows` writes: large enough that the Python call per band
#: costs nothing, small enough that a few bands per thread balance the load.
_BAND_BYTES = 4 << 20


def run_rows(
    kernel: Callable[..., object],
    rows: int,
    row_bytes: int,
    *args: object,
    device: torch.device,
    threads: bool = True,
) -> object:
    """Call ``kernel(*args, r0, r1)`` over bands ``[r0, r1)`` covering ``range(rows)``.

    ``kernel`` is a compiled loop of :mod:`rawkit.cfa._kernels` that writes rows
    ``[r0, r1)`` of its output only (so bands are independent) and releases the GIL;
    the bands run on :func:`run_chunks`'s single-threaded workers.  ``row_bytes`` (the
    bytes one row writes) sizes the bands.  ``threads=False`` runs the kernel once over all
    rows in the caller's thread: for pure memory moves, where one core already reaches the speed of
    ``np.copy`` and more threads only contend for the same memory (and for the cores,
    on a loaded machine); then the kernel's return value is returned (None otherwise).
    """
    if rows <= 0:
        return None
    step = max(1, _BAND_BYTES // max(1, row_bytes))
    if not threads:
        return kernel(*args, 0, rows)
    if torch.get_num_threads() > 1:  # at least two bands per thread where there are rows
        step = min(step, max(1, -(-rows // (2 * torch.get_num_threads()))))
    run_chunks(
        lambda r0: kernel(*args, r0, min(rows, r0 + step)), range(0, rows, step), device=device
    )
    return None
