"""The ``rawkit`` command line.

``rawkit demo``
    The main job.  Until the reconstruction pipelines land it demonstrates the CFA
    layer on a photo that scikit-image ships: mosaic it with every Bayer pattern,
    demosaic with bilinear, Malvar and Menon, print a PSNR table, round-trip RAW10/12/14
    bit-packing, and write a figure with error maps.
``rawkit bench speed``
    Speed ratios against peers timed in the same run (table; ``--json PATH``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _atomic_savefig(fig: object, path: Path, *, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def demo(out_dir: Path, *, overwrite: bool = False, size: int = 256) -> dict[str, float]:
    """Demonstrate the CFA layer on scikit-image's astronaut photo; returns the PSNRs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from skimage import data
    from tqdm import tqdm

    from rawkit.cfa import PATTERNS, demosaic, mosaic, pack, pack_bits, unpack, unpack_bits

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
    fig, axes = plt.subplots(2, 5, figsize=(15, 6.4))
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
    plt.close(fig)
    print(f"\nfigure written to {path}")
    return psnr


def _bench(args: argparse.Namespace) -> int:
    from rawkit.bench.harness import format_table, speed_suites, write_json

    suites = speed_suites()
    chosen = args.suite or sorted(suites)
    unknown = [s for s in chosen if s not in suites]
    if unknown:
        print(f"--suite: unknown {unknown}; expected some of {sorted(suites)}", file=sys.stderr)
        return 2
    if args.json and Path(args.json).exists() and not args.overwrite:
        print(f"--json: {args.json} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    records = []
    for name in chosen:
        print(
            f"running suite {name!r} at {args.megapixels} MP, {args.repeats} repeats ...",
            flush=True,
        )
        records += suites[name](megapixels=args.megapixels, repeats=args.repeats)
    print(format_table(records))
    print(
        "ratio = rawkit time / peer time, medians, interleaved in one run (below 1: rawkit faster)"
    )
    if args.json:
        print(f"wrote {write_json(records, args.json, overwrite=args.overwrite)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rawkit`` command."""
    parser = argparse.ArgumentParser(
        prog="rawkit", description="Reverse image signal processing toolkit."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_demo = sub.add_parser("demo", help="run the main demonstration and write a figure")
    p_demo.add_argument(
        "-o", "--out", default="rawkit-demo", help="output folder (default: rawkit-demo)"
    )
    p_demo.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p_demo.add_argument(
        "--size", type=int, default=256, help="side of the photo crop (even, default 256)"
    )

    p_bench = sub.add_parser("bench", help="benchmarks")
    bsub = p_bench.add_subparsers(dest="kind", required=True)
    p_speed = bsub.add_parser("speed", help="speed ratios against peers timed in the same run")
    p_speed.add_argument("--suite", action="append", help="suite to run (repeatable; default: all)")
    p_speed.add_argument("--megapixels", type=float, default=12.0, help="image size (default 12)")
    p_speed.add_argument(
        "--repeats", type=int, default=5, help="timed repeats per entry (default 5)"
    )
    p_speed.add_argument("--json", help="also write the records to this JSON file")
    p_speed.add_argument("--overwrite", action="store_true", help="replace an existing --json file")

    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.size < 64 or args.size % 2:
            parser.error(f"--size: expected an even number >= 64, got {args.size}")
        try:
            demo(Path(args.out), overwrite=args.overwrite, size=args.size)
        except FileExistsError as e:
            print(f"rawkit demo: {e}", file=sys.stderr)
            return 2
        return 0
    if args.command == "bench":
        return _bench(args)
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
