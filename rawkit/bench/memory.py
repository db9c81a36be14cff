"""Peak memory of a tiled PriorRAW reconstruction at camera size, measured in a fresh
subprocess (the figure behind "bounded memory" in :func:`rawkit.pipelines.priorraw.reconstruct`).

Example:
    >>> m = reconstruction_peak_memory(96, 160, tile=64, overlap=16, bank_size=50)
    >>> m["peak_mb"] >= m["peak_before_input_mb"]
    True
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["reconstruction_peak_memory"]

_MEMORY_SCRIPT = """
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
from rawkit.nets import PixelSearchEncoder, PriorRAWNet
from rawkit.pipelines import priorraw
from rawkit.prior import PriorBank

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

g = torch.Generator().manual_seed(0)
enc = PixelSearchEncoder(dim=8, width=8, blocks=1, seed=0).eval().requires_grad_(False)
bank = PriorBank(torch.nn.functional.normalize(torch.randn({k}, 8, generator=g), dim=1).numpy(),
                 torch.rand({k}, 3, generator=g).numpy(), torch.rand({k}, 4, generator=g).numpy())
net = PriorRAWNet(feature_dim=8, width=8, depth=4, heads=1, seed=0,
                  temperature=float(enc.temperature.detach())).eval()
base = peak_mb()
srgb = np.random.default_rng(0).random((3, {h}, {w}), dtype=np.float32)
with_input = peak_mb()
t0 = time.perf_counter()
raw = priorraw.reconstruct(srgb, model=net, encoder=enc, bank=bank, tile={tile}, overlap={overlap})
seconds = time.perf_counter() - t0
print(json.dumps({{"height": {h}, "width": {w}, "tile": {tile}, "overlap": {overlap}, "bank": {k},
                  "input_mb": srgb.nbytes / 2**20, "output_mb": raw.nbytes / 2**20,
                  "peak_before_input_mb": base, "peak_with_input_mb": with_input,
                  "peak_mb": peak_mb(), "seconds": seconds}}))
"""


def reconstruction_peak_memory(
    height: int = 4000,
    width: int = 6000,
    *,
    tile: int = 512,
    overlap: int = 32,
    bank_size: int = 5000,
    threads: int = 1,
) -> dict[str, Any]:
    """Peak memory of a tiled PriorRAW reconstruction, measured in a fresh subprocess.

    A tiny full PriorRAW (encoder ``dim=8, width=8``, reconstructor ``width=8, depth=4``,
    random weights, a ``bank_size``-entry bank) reconstructs a random float32 sRGB of
    ``height x width`` (default 24 MP) with :func:`rawkit.pipelines.priorraw.reconstruct`.
    The peak is the process's resident-set high-water mark,
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, read after imports and model set-up,
    after allocating the input, and at the end.

    Returns:
        ``height, width, tile, overlap, bank, input_mb, output_mb, peak_before_input_mb,
        peak_with_input_mb, peak_mb, seconds`` (MiB and seconds).

    Raises:
        RuntimeError: the subprocess failed (its stderr is in the message).
    """
    import subprocess
    import sys

    for name, v in (("height", height), ("width", width), ("tile", tile), ("overlap", overlap)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v % 2:
            raise ValueError(f"{name}: expected an even int >= 0, got {v!r}")
    code = _MEMORY_SCRIPT.format(
        h=height, w=width, tile=tile, overlap=overlap, k=bank_size, threads=threads
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"memory measurement failed:\n{run.stderr[-2000:]}")
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))
