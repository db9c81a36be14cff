"""The ``rawkit`` command line.

``rawkit demo``
    The main job: synthetic RAW/sRGB pairs from the bundled photos, PriorRAW and the
    baselines trained on the CPU in minutes, a PSNR/SSIM table, a figure and a DNG.
    ``rawkit demo --cfa`` tours the CFA layer instead (mosaic, demosaic, bit-packing).
``rawkit train -o DIR``
    Train PriorRAW (Alg. 1-3) or the sRGB-only U-Net on synthetic pairs made from the
    bundled photos, or on an AIM22 track folder; saves a pipeline folder.
``rawkit build-prior --pipeline DIR``
    (Re)build the prior bank of a trained pipeline from reference images (Alg. 2).
``rawkit reconstruct IN -o OUT --pipeline DIR``
    sRGB (.jpg/.png) in, RAW out: ``.dng`` (LibRaw opens it), ``.npy`` (AIM22 layout) or
    ``.png`` (16-bit mosaic).
``rawkit bench speed`` / ``rawkit bench quality``
    Speed ratios against peers timed in the same run; reconstruction quality table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def cfa_demo(out_dir: Path, *, overwrite: bool = False, size: int = 256) -> dict[str, float]:
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


def demo(
    out_dir: Path, *, overwrite: bool = False, preset: str = "demo", seed: int = 0
) -> list[Any]:
    """The main job: train PriorRAW and the baselines on synthetic pairs, compare, write files.

    Builds train/test pairs from the bundled photos (rawkit- and LibRaw-rendered), trains
    the sRGB-only U-Net and PriorRAW (Alg. 1-3) at an equal optimiser budget on the CPU,
    reconstructs the held-out photos with every method and baseline, prints the PSNR/SSIM
    table, and writes ``demo.png`` (sRGB, true RAW, reconstructions, error maps),
    ``priorraw.dng`` (PriorRAW's RAW of a held-out photo; LibRaw opens it) and
    ``quality.json``.  Returns the quality records.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import rawpy
    import torch

    from rawkit.bench.quality import (
        PRESETS,
        demo_data,
        evaluate,
        format_quality_table,
        reconstruct_all,
        train_methods,
        write_quality_json,
    )
    from rawkit.isp import preview

    files = [out_dir / "demo.png", out_dir / "priorraw.dng", out_dir / "quality.json"]
    clash = [str(f) for f in files if f.exists()]
    if clash and not overwrite:
        raise FileExistsError(f"{', '.join(clash)} exist(s); pass --overwrite to replace")
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = PRESETS[preset]  # the CLI restricts --preset to these names
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
        methods = train_methods(data, cfg, seed=seed)
        records = evaluate(methods, data)
        pair = data.test[cfg.renders[0]][0]
        est = reconstruct_all(methods, pair)
    finally:
        torch.set_num_threads(threads)
    print()
    print(format_quality_table(records))
    write_quality_json(records, files[2], config=cfg, overwrite=overwrite)

    def show(packed: np.ndarray) -> np.ndarray:
        img = preview(
            np.asarray(packed, np.float32), camera=data.camera, params=pair.params, layout="packed"
        )
        return np.moveaxis(np.asarray(img), 0, -1)

    labels = {"blind_unprocess": "blind unprocess", "rbf": "RBF metadata, 1/256 px",
              "srgb_unet": "sRGB-only U-Net", "non_local": "PriorRAW (no metadata)"}  # fmt: skip
    keys = [k for k in labels if k in est]
    fig, axes = plt.subplots(2, len(keys) + 2, figsize=(3.2 * (len(keys) + 2), 6.6))
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
        axes[0, j].set_title(f"{labels[k]}: {db:.2f} dB", fontsize=9)
        im = axes[1, j].imshow(err, cmap="magma", vmin=0, vmax=0.1)
        axes[1, j].set_title("|error| (mean of 4 planes)", fontsize=8)
        fig.colorbar(im, ax=axes[1, j], fraction=0.046)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("rawkit demo: RAW reconstructed from a held-out sRGB photo")
    _atomic_savefig(fig, files[0], overwrite=overwrite)
    plt.close(fig)
    best = "non_local" if "non_local" in est else keys[-1]
    _write_raw(files[1], np.clip(est[best], 0.0, 1.0), camera_name=cfg.camera, overwrite=overwrite)
    with rawpy.imread(str(files[1])) as r:
        shape = r.postprocess(no_auto_bright=True, output_bps=8).shape
    print(
        f"\nwrote {files[0]}, {files[2]} and {files[1]} (LibRaw renders it: {shape[1]}x{shape[0]})"
    )
    return records


def _training_pairs(source: str, *, camera: str, max_side: int, per_photo: int, seed: int) -> Any:
    """Synthetic pairs from the bundled train photos, or an AIM22 track folder path."""
    if source != "synthetic":
        if not Path(source).is_dir():
            raise FileNotFoundError(
                f"--data: {source} is not a folder (expected an AIM22 track folder)"
            )
        return source
    from tqdm import tqdm

    from rawkit.data import photo_names, synthesize

    names = photo_names("train")
    jobs = [(n, k) for n in names for k in range(per_photo)]
    return [
        synthesize(n, camera=camera, seed=seed + 1000 * i + k, max_side=max_side)
        for i, (n, k) in enumerate(tqdm(jobs, desc="synthetic pairs", leave=False))
    ]


def _train(args: argparse.Namespace) -> int:
    from rawkit.pipelines import PriorRAWPipeline, train_pipeline, train_unet

    out = Path(args.out)
    if (out / "pipeline.json").exists() and not args.overwrite:
        print(f"rawkit train: {out} already holds a pipeline; pass --overwrite", file=sys.stderr)
        return 2
    data = _training_pairs(args.data, camera=args.camera, max_side=args.max_side,
                           per_photo=args.pairs_per_photo, seed=args.seed)  # fmt: skip
    if args.method == "unet":
        res = train_unet(data, steps=args.steps, width=args.width, crop=args.crop, seed=args.seed)
        pipe = PriorRAWPipeline(model=res.model, info={"method": "unet", "steps": args.steps,
                                                       "camera": args.camera})  # fmt: skip
    else:
        if isinstance(data, str):
            from rawkit.data import AIM22Pairs

            data = AIM22Pairs(data)
        pipe = train_pipeline(
            data, ablation=args.ablation, steps=args.steps, encoder_steps=args.encoder_steps,
            n_clusters=args.clusters, group_size=args.group_size, width=args.width, seed=args.seed,
            crop=args.crop, encoder_crop=min(64, args.crop),
        )  # fmt: skip
        pipe.info["camera"] = args.camera
    pipe.save(out, overwrite=args.overwrite)
    print(f"saved {pipe.name} pipeline to {out}")
    return 0


def _build_prior(args: argparse.Namespace) -> int:
    from rawkit.pipelines import PriorRAWPipeline
    from rawkit.pipelines.priorraw import build_bank

    pipe = PriorRAWPipeline.load(args.pipeline)
    if pipe.encoder is None:
        print(
            f"rawkit build-prior: {args.pipeline} has no pixel-search encoder (a U-Net?)",
            file=sys.stderr,
        )
        return 2
    data = _training_pairs(args.reference, camera=pipe.info.get("camera", "nikon_d5100"),
                           max_side=args.max_side, per_photo=args.pairs_per_photo, seed=args.seed)  # fmt: skip
    if isinstance(data, str):
        from rawkit.data import AIM22Pairs

        data = AIM22Pairs(data)
    bank = build_bank(
        pipe.encoder, data, n_clusters=args.clusters, group_size=args.group_size, seed=args.seed
    )
    pipe = PriorRAWPipeline(model=pipe.model, encoder=pipe.encoder, bank=bank, info=pipe.info)
    pipe.save(args.pipeline, overwrite=True)
    print(f"bank of {len(bank)} entries written to {Path(args.pipeline) / 'bank.npz'}")
    return 0


def _write_raw(path: Path, packed: np.ndarray, *, camera_name: str, overwrite: bool) -> None:
    """Write packed RAW ``(4, h, w)`` in [0, 1] as .dng, .npy (AIM22) or .png (16-bit mosaic)."""
    import rawkit.io as rio
    from rawkit.cfa import unpack
    from rawkit.isp import builtin_camera, denormalize_levels, illuminant_xy

    suffix = path.suffix.lower()
    if suffix == ".npy":
        rio.write_aim22_raw(path, packed, overwrite=overwrite)
        return
    camera = builtin_camera(camera_name)
    mosaic = unpack(packed, pattern=camera.pattern)
    if suffix == ".dng":
        raw = denormalize_levels(
            mosaic, black_level=camera.black_level, white_level=camera.white_level
        )
        neutral = camera.neutral(illuminant_xy("daylight", cct=6504)).numpy()  # sRGB white (D65)
        rio.write_dng(path, raw, pattern=camera.pattern, black_level=camera.black_level,
                      white_level=camera.white_level, as_shot_neutral=neutral / neutral.max(),
                      color_matrix=camera.xyz_to_cam, camera_name=f"rawkit {camera.name}",
                      overwrite=overwrite)  # fmt: skip
    elif suffix == ".png":
        rio.write_image(path, mosaic, bit_depth=16, overwrite=overwrite)
    else:
        raise ValueError(f"-o/--out: expected a .dng, .npy or .png file name, got {path.name!r}")


def _reconstruct(args: argparse.Namespace) -> int:
    import rawkit.io as rio
    from rawkit.pipelines import PriorRAWPipeline

    inputs = [Path(p) for p in args.inputs]
    out = Path(args.out)
    if len(inputs) > 1 and out.suffix:
        print("rawkit reconstruct: with several inputs, -o must be a folder", file=sys.stderr)
        return 2
    pipe = PriorRAWPipeline.load(args.pipeline)
    camera = pipe.info.get("camera", "nikon_d5100")
    for src in inputs:
        srgb = rio.read_image(src).image
        if srgb.shape[0] != 3:
            print(
                f"rawkit reconstruct: {src}: expected an RGB image, got {srgb.shape[0]} channels",
                file=sys.stderr,
            )
            return 2
        h, w = srgb.shape[-2:]
        srgb = np.ascontiguousarray(
            srgb[:, : h - h % 2, : w - w % 2]
        )  # even size for the Bayer grid
        packed = pipe.reconstruct(srgb, tile=args.tile, progress=True)
        dest = out if out.suffix else out / f"{src.stem}.{args.format}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write_raw(dest, np.clip(packed, 0.0, 1.0), camera_name=camera, overwrite=args.overwrite)
        print(f"{src} -> {dest}")
    return 0


def _bench_quality(args: argparse.Namespace) -> int:
    from rawkit.bench.quality import format_quality_table, run_quality

    if args.json and Path(args.json).exists() and not args.overwrite:
        print(f"--json: {args.json} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    records = run_quality(
        args.preset, seed=args.seed, json_path=args.json, overwrite=args.overwrite
    )
    print(format_quality_table(records))
    if args.json:
        print(f"wrote {args.json}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    if args.kind == "quality":
        return _bench_quality(args)
    from rawkit.bench.harness import format_table, run_speed, speed_suites, write_json

    suites = speed_suites()
    chosen = args.suite or sorted(suites)
    unknown = [s for s in chosen if s not in suites]
    if unknown:
        print(f"--suite: unknown {unknown}; expected some of {sorted(suites)}", file=sys.stderr)
        return 2
    if args.json and Path(args.json).exists() and not args.overwrite:
        print(f"--json: {args.json} exists; pass --overwrite to replace it", file=sys.stderr)
        return 2
    if args.threads is not None and args.threads < 1:
        print(f"--threads: expected an int >= 1, got {args.threads}", file=sys.stderr)
        return 2
    records = run_speed(
        chosen, megapixels=args.megapixels, repeats=args.repeats, threads=args.threads
    )
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
        "--preset",
        default="demo",
        choices=["quick", "demo", "default"],
        help="data/training size (quick: seconds; demo: ~5 min on 2 cores)",
    )
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument(
        "--cfa",
        action="store_true",
        help="instead: the CFA layer tour (mosaic, demosaic, bit-packing) on one photo",
    )
    p_demo.add_argument(
        "--size", type=int, default=256, help="--cfa: side of the photo crop (even)"
    )

    p_train = sub.add_parser(
        "train", help="train PriorRAW or the sRGB-only U-Net and save a pipeline folder"
    )
    p_train.add_argument("-o", "--out", required=True, help="pipeline folder to write")
    p_train.add_argument("--method", choices=["priorraw", "unet"], default="priorraw")
    p_train.add_argument(
        "--data",
        default="synthetic",
        help="'synthetic' (pairs from the bundled train photos) or an AIM22 track folder",
    )
    p_train.add_argument(
        "--camera", default="nikon_d5100", help="built-in camera model of the synthetic data"
    )
    p_train.add_argument(
        "--ablation",
        default="non_local",
        choices=["srgb", "prior_raw", "reliable_attention", "non_local"],
        help="PriorRAW Table 1 row (default: the full model)",
    )
    p_train.add_argument("--steps", type=int, default=500, help="reconstructor optimiser steps")
    p_train.add_argument("--encoder-steps", type=int, default=300, help="Alg. 1 encoder steps")
    p_train.add_argument("--clusters", type=int, default=5000, help="prior bank entries (Alg. 2)")
    p_train.add_argument(
        "--group-size", type=int, default=10, help="reference pixels averaged per entry"
    )
    p_train.add_argument("--width", type=int, default=16, help="U-Net width")
    p_train.add_argument("--crop", type=int, default=96, help="training crop side (<= --max-side)")
    p_train.add_argument("--max-side", type=int, default=256, help="synthetic photo size")
    p_train.add_argument(
        "--pairs-per-photo", type=int, default=4, help="synthetic renders per photo"
    )
    p_train.add_argument("--seed", type=int, default=0)
    p_train.add_argument("--overwrite", action="store_true")

    p_bp = sub.add_parser("build-prior", help="(re)build a trained pipeline's prior bank (Alg. 2)")
    p_bp.add_argument("--pipeline", required=True, help="pipeline folder written by 'rawkit train'")
    p_bp.add_argument(
        "--reference",
        default="synthetic",
        help="'synthetic' (bundled train photos) or an AIM22 track folder",
    )
    p_bp.add_argument("--clusters", type=int, default=5000)
    p_bp.add_argument("--group-size", type=int, default=10)
    p_bp.add_argument("--max-side", type=int, default=256)
    p_bp.add_argument("--pairs-per-photo", type=int, default=4)
    p_bp.add_argument("--seed", type=int, default=0)

    p_rec = sub.add_parser(
        "reconstruct",
        help="reconstruct RAW from sRGB images with a trained pipeline",
        description=(
            "Reconstruct camera RAW from sRGB images (.jpg/.png) with a pipeline trained by "
            "'rawkit train'. The output kind follows the extension of -o: .dng (a DNG that "
            "LibRaw opens, with the pipeline camera's pattern, levels and colour matrix and a "
            "D65 as-shot neutral), .npy (AIM22 layout: (H/2, W/2, 4) uint16, white level 1024) "
            "or .png (the Bayer mosaic as a 16-bit grey image). With several inputs -o is a "
            "folder and --format picks the kind. Odd image sizes lose their last row/column."
        ),
    )
    p_rec.add_argument("inputs", nargs="+", help="sRGB .jpg/.png files")
    p_rec.add_argument("-o", "--out", required=True, help="output file (.dng/.npy/.png) or folder")
    p_rec.add_argument(
        "--pipeline", required=True, help="pipeline folder written by 'rawkit train'"
    )
    p_rec.add_argument(
        "--format", choices=["dng", "npy", "png"], default="dng", help="kind for a folder -o"
    )
    p_rec.add_argument("--tile", type=int, default=512, help="tile size of the tiled inference")
    p_rec.add_argument("--overwrite", action="store_true")

    p_bench = sub.add_parser("bench", help="benchmarks")
    bsub = p_bench.add_subparsers(dest="kind", required=True)
    p_speed = bsub.add_parser("speed", help="speed ratios against peers timed in the same run")
    p_speed.add_argument("--suite", action="append", help="suite to run (repeatable; default: all)")
    p_speed.add_argument("--megapixels", type=float, default=12.0, help="image size (default 12)")
    p_speed.add_argument(
        "--repeats", type=int, default=5, help="timed repeats per entry (default 5)"
    )
    p_speed.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for rawkit and its peers alike (default: both 1 and torch's default)",
    )
    p_speed.add_argument("--json", help="also write the records to this JSON file")
    p_speed.add_argument("--overwrite", action="store_true", help="replace an existing --json file")

    p_qual = bsub.add_parser(
        "quality", help="reconstruction quality of every method (PSNR/SSIM table)"
    )
    p_qual.add_argument(
        "--preset",
        default="default",
        choices=["quick", "demo", "default"],
        help="quick: seconds; demo: ~5 min; default: ~10-20 min on 2 cores",
    )
    p_qual.add_argument("--seed", type=int, default=0)
    p_qual.add_argument("--json", help="also write the records to this JSON file")
    p_qual.add_argument("--overwrite", action="store_true", help="replace an existing --json file")

    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.size < 64 or args.size % 2:
            parser.error(f"--size: expected an even number >= 64, got {args.size}")
        try:
            if args.cfa:
                cfa_demo(Path(args.out), overwrite=args.overwrite, size=args.size)
            else:
                demo(Path(args.out), overwrite=args.overwrite, preset=args.preset, seed=args.seed)
        except FileExistsError as e:
            print(f"rawkit demo: {e}", file=sys.stderr)
            return 2
        return 0
    if args.command == "bench":
        return _bench(args)
    handlers = {"train": _train, "build-prior": _build_prior, "reconstruct": _reconstruct}
    try:
        return handlers[args.command](args)
    except (FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"rawkit {args.command}: {e}", file=sys.stderr)
        return 2
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
