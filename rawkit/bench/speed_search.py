"""Speed suite for ``rawkit.search`` and ``rawkit.prior``: assembly, top-k search, bank building.

Peers, timed in the same run (``rawkit bench speed``):

* softmax assembly (Eq. 3) against plain ``torch.mm`` of the same size: the two matrix
  products ``A = f_t f_r^T`` and ``A v`` on the whole ``M x N`` matrix (what a user
  would write), and the same two products chunked like rawkit (which isolates the cost
  of the softmax).  Both do the same multiply-adds, so the FLOP-rate ratio is
  ``peer_s / rawkit_s``: the goal is at least 0.7.  ``rawkit bench speed`` runs the
  suite at one thread and at torch's default count (the chunked loop runs a few small
  parallel regions per chunk, which suffer most when other processes share the cores).
  Forward + backward (training) is compared with torch's whole-matrix softmax.
* top-k search against calling faiss directly on the same prebuilt index and the same
  ``(M, C)`` float32 array (goal: at least 0.9 of its speed, ratio <= 1.11).
* building a prior bank (k-means + grouping + averaging) against raw faiss on the same
  data: ``faiss.Kmeans(..., spherical=True).train(x)`` (which subsamples to 256 points
  per centroid itself), then ``IndexFlatIP`` over all points searched with the
  centroids for the ``group_size`` nearest (goal: overhead at most 1.2x).

Sizes.  At ``megapixels=12`` the assembly uses ``M = 32,768`` target pixels (the
whole-matrix peer needs ``M x N x 4`` bytes, 655 MB; a 12 MP photo's 3 MP feature map
against 5,000 entries would need 60 GB, which is why rawkit chunks), top-k uses
``M = 131,072`` queries against 5,000 entries, and the bank is built from
``N = 524,288`` reference pixels of 32-d features (1/50 of the paper's 26,214,400)
into 5,000 clusters of 1,000; all sizes scale linearly with ``megapixels``.  To build
at the paper's scale set ``RAWKIT_BENCH_BANK_POINTS=paper`` (or any number of points);
``RAWKIT_BENCH_BANK_NITER`` sets the k-means iterations (default 10).  The paper's
scale needs about 8 GB of RAM (the faiss peer copies the 3.4 GB of features into its
index) and a few minutes on 2 cores.

Memory.  Peak memory is measured in a fresh subprocess per call: the kernel's
resident-set high-water mark (``VmHWM``) is reset through ``/proc/self/clear_refs``
just before the call, and the reported figure is the high-water mark minus the
resident set at that moment, i.e. the extra memory the call itself touched (page
granularity, all allocators, torch included).  Where ``/proc`` does not allow this
(not Linux), memory is reported as n/a.  The bank records are timed inside those
subprocesses too (one run each, data generation excluded).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np

from rawkit.bench.harness import SpeedRecord, compare, register_speed

__all__ = ["PAPER_BANK_POINTS", "bank_size", "measure_in_subprocess", "search_suite"]

#: The paper's reference set, 100 images of 512 x 512 feature pixels.
PAPER_BANK_POINTS = 26_214_400

_MEASURE = """
import gc, json, resource, time
def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def _status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None
{setup}
gc.collect()
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    rss0 = _status("VmRSS")
except OSError:
    rss0 = None
c0, t0 = _cpu(), time.perf_counter()
{run}
seconds, cpu = time.perf_counter() - t0, _cpu() - c0
peak = None if rss0 is None else max(0, _status("VmHWM") - rss0)
print("RAWKIT-MEASURE " + json.dumps({{"seconds": seconds, "cpu_seconds": cpu, "peak_bytes": peak}}))
"""


def measure_in_subprocess(setup: str, run: str, *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``setup`` then time ``run`` in a fresh Python; seconds and extra peak memory.

    Returns ``{"seconds": float, "cpu_seconds": float, "peak_bytes": int | None}``: wall
    time, CPU time of all threads (user + system; less sensitive than wall time to
    other load on a shared machine) and the resident-set high-water mark during ``run``
    minus the resident set before it.
    """
    code = _MEASURE.format(setup=textwrap.dedent(setup), run=textwrap.dedent(run))
    import torch

    env = dict(os.environ)
    # The subprocess runs at the thread count the caller holds (rawkit bench speed sets it).
    env["OMP_NUM_THREADS"] = str(torch.get_num_threads())
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measurement subprocess failed:\n{proc.stderr[-2000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RAWKIT-MEASURE "))
    return json.loads(line.split(" ", 1)[1])


def _load() -> str:
    """The 1-minute load average, or n/a where the system does not report it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "n/a"


def _mib(b: int | None) -> str:
    return "n/a" if b is None else f"{b / 2**20:.0f} MiB"


def bank_size(megapixels: float) -> tuple[int, int, int]:
    """``(N, n_clusters, group_size)`` of the bank benchmark (see the module notes)."""
    env = os.environ.get("RAWKIT_BENCH_BANK_POINTS", "").strip().lower()
    if env:
        n = PAPER_BANK_POINTS if env == "paper" else int(env)
    else:
        n = max(1000, round(524_288 * megapixels / 12))
    return n, min(5000, max(1, n // 64)), min(1000, n)


def _assemble_records(megapixels: float, repeats: int) -> list[SpeedRecord]:
    import torch

    from rawkit.search import assemble, default_chunk_size

    m, n, c, v = max(1024, round(32_768 * megapixels / 12)), 5000, 32, 7
    gen = torch.Generator().manual_seed(0)
    f_t = torch.randn(m, c, generator=gen) / c**0.5
    f_r = torch.randn(n, c, generator=gen) / c**0.5
    vals = torch.rand(n, v, generator=gen)
    cs = default_chunk_size(n)
    size = f"M={m} N={n}"

    def rawkit_fn() -> Any:
        return assemble(f_t, f_r, vals, layout="points")

    def mm_whole() -> Any:
        return torch.mm(torch.mm(f_t, f_r.T), vals)

    def mm_chunked() -> Any:
        out = torch.empty(m, v)
        for j in range(0, m, cs):
            torch.mm(torch.mm(f_t[j : j + cs], f_r.T), vals, out=out[j : j + cs])
        return out

    setup = f"""
    import torch
    from rawkit.search import assemble
    g = torch.Generator().manual_seed(0)
    f_t = torch.randn({m}, {c}, generator=g); f_r = torch.randn({n}, {c}, generator=g)
    vals = torch.rand({n}, {v}, generator=g)
    assemble(f_t[:8], f_r, vals, layout="points"); torch.mm(torch.mm(f_t[:8], f_r.T), vals)  # warm up
    """
    mem_rk = measure_in_subprocess(setup, "out = assemble(f_t, f_r, vals, layout='points')")
    mem_mm = measure_in_subprocess(setup, "out = torch.mm(torch.mm(f_t, f_r.T), vals)")
    bound = cs * n * 4
    mem = f"peak +{_mib(mem_rk['peak_bytes'])} (chunk {cs}x{n}: {_mib(bound)}) vs mm +{_mib(mem_mm['peak_bytes'])}"
    recs = []
    r = compare("assemble softmax C=32 V=7", size, rawkit_fn, "torch.mm x2, whole MxN", mm_whole,
                repeats=repeats, goal=1 / 0.7)  # fmt: skip
    recs.append(dataclasses.replace(r, note=f"FLOP rate {1 / r.ratio:.2f}x mm (goal >= 0.7); {mem}"))  # fmt: skip
    r = compare("assemble softmax C=32 V=7", size, rawkit_fn, "torch.mm x2, same chunks", mm_chunked,
                repeats=repeats)  # fmt: skip
    recs.append(dataclasses.replace(r, note=f"FLOP rate {1 / r.ratio:.2f}x (softmax overhead)"))  # fmt: skip

    # Training: forward + backward, chunked backward vs torch's whole-matrix softmax.
    mb = max(256, m // 4)
    ft = f_t[:mb].clone().requires_grad_(True)
    fr = f_r.clone().requires_grad_(True)

    def rawkit_train() -> None:
        assemble(ft, fr, vals, layout="points").sum().backward()

    def torch_train() -> None:
        (torch.softmax(torch.mm(ft, fr.T), dim=1) @ vals).sum().backward()

    r = compare("assemble fwd+bwd (chunked)", f"M={mb} N={n}", rawkit_train,
                "torch softmax fwd+bwd, whole MxN", torch_train, repeats=max(1, repeats // 2))  # fmt: skip
    train_setup = (
        setup
        + f"""
    ft = f_t[:{mb}].clone().requires_grad_(True); fr = f_r.clone().requires_grad_(True)
    assemble(ft[:8], fr, vals, layout="points").sum().backward()  # warm up autograd
    (torch.softmax(ft[:8] @ fr.T, 1) @ vals).sum().backward()
    """
    )
    mem_rk = measure_in_subprocess(
        train_setup, "assemble(ft, fr, vals, layout='points').sum().backward()"
    )
    mem_mm = measure_in_subprocess(
        train_setup, "(torch.softmax(ft @ fr.T, 1) @ vals).sum().backward()"
    )
    mem = f"peak +{_mib(mem_rk['peak_bytes'])} vs torch +{_mib(mem_mm['peak_bytes'])}"
    recs.append(dataclasses.replace(r, note=f"report; {mem}"))
    return recs


def _topk_records(megapixels: float, repeats: int) -> list[SpeedRecord]:
    import faiss
    import torch

    from rawkit.search import build_index, topk, topk_assemble

    m, n, c, k = max(1024, round(131_072 * megapixels / 12)), 5000, 32, 8
    rng = np.random.default_rng(0)
    q = rng.standard_normal((m, c), dtype=np.float32)
    x = rng.standard_normal((n, c), dtype=np.float32)
    vals = torch.rand(n, 7, generator=torch.Generator().manual_seed(0))
    side = int(m**0.5)
    q_img = torch.from_numpy(np.ascontiguousarray(q[: side * side].T.reshape(1, c, side, side)))
    q_img_np = np.ascontiguousarray(q[: side * side])
    size = f"M={m} N={n} k={k}"
    flat = build_index(x)
    ivf = build_index(x, kind="ivf", seed=0)
    q_t, x_t = torch.from_numpy(q), torch.from_numpy(x)
    recs = []
    r = compare("topk flat, points (numpy)", size, lambda: topk(q, flat, k=k, layout="points"),
                "faiss IndexFlatIP.search", lambda: flat.search(q, k), repeats=repeats, goal=1 / 0.9)  # fmt: skip
    recs.append(dataclasses.replace(r, note=f"speed {1 / r.ratio:.2f}x faiss (goal >= 0.9)"))
    r = compare("topk flat, image (torch)", f"{side}x{side} N={n} k={k}", lambda: topk(q_img, flat, k=k),
                "faiss IndexFlatIP.search", lambda: flat.search(q_img_np, k), repeats=repeats, goal=1 / 0.9)  # fmt: skip
    recs.append(dataclasses.replace(r, note=f"speed {1 / r.ratio:.2f}x faiss (goal >= 0.9)"))
    nl, npb = faiss.extract_index_ivf(ivf).nlist, faiss.extract_index_ivf(ivf).nprobe
    r = compare(f"topk ivf nlist={nl} nprobe={npb}", size, lambda: topk(q, ivf, k=k, layout="points"),
                "faiss IndexIVFFlat.search", lambda: ivf.search(q, k), repeats=repeats, goal=1 / 0.9)  # fmt: skip
    recs.append(dataclasses.replace(r, note=f"speed {1 / r.ratio:.2f}x faiss (goal >= 0.9)"))
    r = compare("topk_assemble k=8 V=7", size,
                lambda: topk_assemble(q_t, x_t, vals, k=k, index=flat, layout="points"),
                "faiss IndexFlatIP.search", lambda: flat.search(q, k), repeats=repeats)  # fmt: skip
    recs.append(dataclasses.replace(r, note="report: search + gather + softmax"))
    return recs


def _bank_records(megapixels: float) -> list[SpeedRecord]:
    n, k, g = bank_size(megapixels)
    niter = int(os.environ.get("RAWKIT_BENCH_BANK_NITER", "10"))
    setup = f"""
    import numpy as np, faiss
    from rawkit.prior import build_prior_bank
    rng = np.random.default_rng(0)
    x = rng.standard_normal(({n}, 32), dtype=np.float32)
    srgb = rng.random(({n}, 3), dtype=np.float32)
    raw = rng.random(({n}, 4), dtype=np.float32)
    """
    run_rk = f"""
    bank = build_prior_bank(x, srgb, raw, n_clusters={k}, group_size={g}, niter={niter}, seed=0,
                            progress=False)
    """
    run_peer = f"""
    km = faiss.Kmeans(32, {k}, niter={niter}, spherical=True, seed=0, verbose=False)
    km.train(x)
    index = faiss.IndexFlatIP(32)
    index.add(x)
    D, I = index.search(km.centroids, {g})
    """
    # The two sides run one after the other (one run each): the machine's load average
    # around each says how comparable their wall times are (CPU time is less sensitive).
    load = [_load()]
    rk = measure_in_subprocess(setup, run_rk)
    load.append(_load())
    peer = measure_in_subprocess(setup, run_peer)
    load.append(_load())
    note = (
        f"{n}x32 -> {k}x{g}, niter={niter}; CPU {rk['cpu_seconds']:.1f}/{peer['cpu_seconds']:.1f} s"
        f" = {rk['cpu_seconds'] / peer['cpu_seconds']:.2f}; peak +{_mib(rk['peak_bytes'])} vs faiss "
        f"+{_mib(peer['peak_bytes'])}; load {load[0]}->{load[1]} (rawkit), ->{load[2]} (faiss)"
    )
    size = f"N={n}"
    ratio = rk["seconds"] / peer["seconds"]
    return [
        SpeedRecord(
            "build_prior_bank (1 run)",
            size,
            rk["seconds"],
            "faiss Kmeans + IndexFlatIP",
            peer["seconds"],
            ratio,
            note,
            goal=1.2,
        )  # fmt: skip
    ]


@register_speed("search")
def search_suite(*, megapixels: float = 12.0, repeats: int = 5) -> list[SpeedRecord]:
    """Time assembly, top-k search and bank building against torch.mm and raw faiss."""
    recs = _assemble_records(megapixels, repeats)
    recs += _topk_records(megapixels, repeats)
    recs += _bank_records(megapixels)
    return recs
