"""The demonstrations behind ``rawkit demo``: the registered methods on held-out photos,
and ``rawkit demo --cfa``, a tour of the Bayer layer.

:func:`demo` reconstructs held-out synthetic pairs with every method of a quality preset
(:mod:`rawkit.bench.quality`), using the shipped weights of the learned methods unless
``train=True``, prints the table with its legend and writes a figure, a DNG and JSON.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["cfa_demo", "demo"]


def _atomic_savefig(fig: Any, path: Path, *, overwrite: bool) -> None:
    from rawkit.io import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(buf.getvalue())


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def cfa_demo(out_dir: Path, *, overwrite: bool = False, size: int = 256) -> dict[str, float]:
    """Demonstrate the CFA layer on scikit-image's astronaut photo; returns the PSNRs.

    Writes ``out_dir/cfa_demo.png`` (the folder is created; an existing file is kept
    unless ``overwrite``), checked before any work.
    """
    from matplotlib.figure import Figure  # no pyplot: a caller's backend is left alone
    from skimage import data
    from tqdm import tqdm

    from rawkit.cfa import PATTERNS, demosaic, mosaic, pack, pack_bits, unpack, unpack_bits
    from rawkit.io import check_writable

    out_dir.mkdir(parents=True, exist_ok=True)
    check_writable(out_dir / "cfa_demo.png", overwrite=overwrite)
    # The photo is 8-bit sRGB; here it only serves as a plausible colour image to mosaic.
    photo = data.astronaut()[:size, 100 : 100 + size].astype(np.float32) / 255.0
    rgb = np.ascontiguousarray(np.moveaxis(photo, -1, 0))
    methods = ("bilinear", "malvar", "menon")
    psnr: dict[str, float] = {}
    results: dict[str, np.ndarray] = {}
    print(f"rawkit demo: CFA layer on skimage.data.astronaut() crop {size}x{size}\n")
    print(f"{'pattern':8s}" + "".join(f"{m:>11s}" for m in methods) + "   (PSNR dB vs the photo)")
    for pattern in tqdm(PATTERNS, desc="patterns", leave=False):
        m = mosaic(rgb, pattern=pattern)
        if not np.array_equal(unpack(pack(m, pattern=pattern), pattern=pattern), m):
            raise RuntimeError("pack/unpack round trip failed")
        row = []
        for method in methods:
            est = demosaic(m, pattern=pattern, method=method)
            psnr[f"{pattern}/{method}"] = _psnr(np.clip(est, 0, 1), rgb)
            row.append(psnr[f"{pattern}/{method}"])
            if pattern == "RGGB":
                results[method] = est
        tqdm.write(f"{pattern:8s}" + "".join(f"{v:11.2f}" for v in row))

    sensor = np.round(m * 1023).astype(np.uint16)
    print("\nMIPI bit-packing of the 10-bit mosaic:")
    for depth in (10, 12, 14):
        packed = pack_bits(sensor, bit_depth=depth)
        ok = np.array_equal(unpack_bits(packed, bit_depth=depth), sensor)
        print(
            f"  RAW{depth}: {sensor.nbytes} bytes as uint16 -> {packed.nbytes} bytes, round trip exact: {ok}"
        )

    m = mosaic(rgb, pattern="RGGB")
    false_colour = np.zeros_like(rgb)
    for c, (dy, dx) in zip((0, 1, 1, 2), ((0, 0), (0, 1), (1, 0), (1, 1)), strict=True):
        false_colour[c, dy::2, dx::2] = m[0, dy::2, dx::2]
    z0, zn = size * 3 // 8, max(16, size // 4)
    zoom = (slice(z0, z0 + zn), slice(z0, z0 + zn))
    fig = Figure(figsize=(15, 6.4))
    axes = fig.subplots(2, 5)
    panels = [("photo", rgb), ("RGGB mosaic (false colour)", false_colour)]
    panels += [(f"{k} ({psnr['RGGB/' + k]:.1f} dB)", v) for k, v in results.items()]
    for ax, (title, img) in zip(axes[0], panels, strict=True):
        ax.imshow(np.clip(np.moveaxis(img, 0, -1)[zoom], 0, 1), interpolation="nearest")
        ax.set_title(title, fontsize=9)
    axes[1, 0].imshow(np.clip(np.moveaxis(rgb, 0, -1), 0, 1))
    axes[1, 0].set_title(f"whole crop (zoom: {zn}x{zn} at {z0},{z0})", fontsize=9)
    axes[1, 1].axis("off")
    for ax, (k, v) in zip(axes[1, 2:], results.items(), strict=True):
        im = ax.imshow(np.abs(v - rgb).mean(0)[zoom], cmap="magma", vmin=0, vmax=0.2)
        ax.set_title(f"|{k} - photo|, mean over RGB", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("rawkit.cfa: mosaic -> demosaic (bilinear, Malvar 2004, Menon 2007)")
    path = out_dir / "cfa_demo.png"
    _atomic_savefig(fig, path, overwrite=overwrite)
    print(f"\nfigure written to {path}")
    return psnr


def demo(
    out_dir: Path,
    *,
    overwrite: bool = False,
    preset: str = "demo",
    seed: int = 0,
    methods: Sequence[str] | None = None,
    train: bool = False,
) -> list[Any]:
    """The main job: compare the registered methods on held-out photos, write files.

    Learned methods use the weights shipped in ``rawkit/weights/`` (no training step);
    ``train=True`` (``rawkit demo --train``) trains every row from scratch at the
    preset's small scale instead, the teaching path.  Builds train/test pairs from the
    bundled photos, fits every row of the quality
    bench's preset (:func:`rawkit.bench.quality.method_configs`; ``methods`` picks
    registry names), reconstructs the held-out photos, prints the PSNR/SSIM table, and
    writes ``demo.png`` (sRGB, true RAW, reconstructions, error maps), ``priorraw.dng``
    (the best learned row's RAW of a held-out photo; LibRaw opens it) and
    ``quality.json``.  Returns the quality records.
    """
    import rawpy
    import torch
    from matplotlib.figure import Figure  # no pyplot: a caller's backend is left alone

    from rawkit.bench.quality import (
        METHODS,
        PRESETS,
        TABLE_LEGEND,
        demo_data,
        evaluate,
        format_quality_table,
        method_configs,
        reconstruct_all,
        train_methods,
        write_quality_json,
    )
    from rawkit.io import check_writable
    from rawkit.isp import preview

    cfg = PRESETS[preset]  # the CLI restricts --preset to these names
    method_configs(cfg, methods)  # every name and setting checked before any work
    files = [out_dir / "demo.png", out_dir / "priorraw.dng", out_dir / "quality.json"]
    out_dir.mkdir(parents=True, exist_ok=True)
    for f in files:
        check_writable(f, overwrite=overwrite)
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)  # small nets on a shared CPU: one thread is fastest
    try:
        print(
            f"rawkit demo ({preset}): synthetic pairs from the bundled photos, camera {cfg.camera}"
        )
        data = demo_data(cfg, seed=seed)
        print(
            f"  {len(data.train)} train pairs, "
            + ", ".join(f"{len(v)} test pairs rendered by {k}" for k, v in data.test.items())
        )
        tm = train_methods(data, cfg, seed=seed, methods=methods, shipped=not train)
        records = evaluate(tm, data)
        pair = data.test[cfg.renders[0]][0]
        est = reconstruct_all(tm, pair)
    finally:
        torch.set_num_threads(threads)
    print()
    print(TABLE_LEGEND)
    print()
    print(format_quality_table(records, goals=False))
    write_quality_json(records, files[2], config=cfg, overwrite=overwrite)

    def show(packed: np.ndarray) -> np.ndarray:
        img = preview(
            np.asarray(packed, np.float32), camera=data.camera, params=pair.params, layout="packed"
        )
        return np.moveaxis(np.asarray(img), 0, -1)

    keys = list(est)[:6]  # the figure shows at most six rows
    fig = Figure(figsize=(3.2 * (len(keys) + 2), 6.6))
    axes = fig.subplots(2, len(keys) + 2)
    axes[0, 0].imshow(np.moveaxis(pair.srgb, 0, -1))
    axes[0, 0].set_title(f"input sRGB ({pair.photo})", fontsize=9)
    axes[0, 1].imshow(show(pair.packed))
    axes[0, 1].set_title("true RAW (rendered for display)", fontsize=9)
    axes[1, 0].imshow(pair.packed[1], cmap="gray")
    axes[1, 0].set_title("true RAW, Gr plane (linear)", fontsize=9)
    axes[1, 1].axis("off")
    for j, k in enumerate(keys, start=2):
        err = np.abs(est[k] - pair.packed).mean(0)
        db = 10 * np.log10(1.0 / max(float(np.mean((est[k] - pair.packed) ** 2)), 1e-12))
        axes[0, j].imshow(show(np.clip(est[k], 0, 1)))
        label = textwrap.fill(METHODS.get(k, k), 26)
        axes[0, j].set_title(f"{label}\n{db:.2f} dB", fontsize=8)
        im = axes[1, j].imshow(err, cmap="magma", vmin=0, vmax=0.1)
        axes[1, j].set_title("|error| (mean of 4 planes)", fontsize=8)
        fig.colorbar(im, ax=axes[1, j], fraction=0.046)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("rawkit demo: RAW reconstructed from a held-out sRGB photo")
    _atomic_savefig(fig, files[0], overwrite=overwrite)
    learned = [k for k, p in tm.pipelines.items() if p.learned]
    best = "non_local" if "non_local" in est else (learned or list(est))[-1]
    from rawkit.data.synth import resolve_camera
    from rawkit.io import write_reconstruction_dng

    write_reconstruction_dng(files[1], est[best], np.asarray(pair.srgb),
                             pattern=resolve_camera(cfg.camera).pattern,
                             camera_name=f"rawkit {best}", overwrite=overwrite)  # fmt: skip
    with rawpy.imread(str(files[1])) as r:
        shape = r.postprocess(no_auto_bright=True, output_bps=8).shape
    print(
        f"\nwrote {files[0]}, {files[2]} and {files[1]} ({best}; LibRaw renders it: "
        f"{shape[1]}x{shape[0]})"
    )
    return records


# --------------------------------------------------------------------------- config options
