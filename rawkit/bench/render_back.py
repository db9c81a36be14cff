"""How well a reconstructed DNG renders back to its photo in LibRaw (``rawkit reconstruct``).

Photos that no one in this project made: matplotlib's ``grace_hopper.jpg`` and
scikit-learn's ``china.jpg`` / ``flower.jpg`` (needs scikit-learn, a dev dependency).
Each is reconstructed with :func:`rawkit.pipelines.photo.reconstruct_photo`, written as a
DNG, rendered by LibRaw "as shot" (``use_camera_wb``, ``no_auto_bright``, 16-bit, sRGB
curve, AHD demosaic) and compared with the photo: PSNR (dB) and mean CIEDE2000
(colour-science).  Run::

    python -m rawkit.bench.render_back [--method NAME] [--dng bayer|linear]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["render_back"]


def _photos(folder: Path) -> dict[str, Path]:
    import matplotlib.cbook as cbook
    from sklearn.datasets import load_sample_image

    from rawkit.io import write_image

    out = {"grace_hopper": Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))}
    for name in ("china", "flower"):  # scikit-learn ships them decoded: stored losslessly here
        img = load_sample_image(f"{name}.jpg").transpose(2, 0, 1) / 255.0
        out[name] = write_image(folder / f"{name}.png", img)
    return out


def render_back(method: str | None = None, *, dng: str = "bayer") -> list[dict[str, Any]]:
    """PSNR and mean CIEDE2000 of LibRaw's render of each photo's DNG (module notes).

    The result holds one dict per photo, with the keys ``photo``, ``psnr`` (dB) and
    ``de2000`` (mean CIEDE2000).
    """
    if dng not in ("bayer", "linear"):
        raise ValueError(f"dng: expected 'bayer' or 'linear', got {dng!r}")
    if method is not None and not isinstance(method, str):
        raise TypeError(f"method: expected a registered name or None, got {type(method).__name__}")
    import colour
    import rawpy

    from rawkit.io import read_photo
    from rawkit.pipelines import pretrained
    from rawkit.pipelines.photo import default_photo_pipeline, plan_photo_jobs, reconstruct_photo

    pipe = default_photo_pipeline() if method is None else pretrained(method)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rawkit-render-back-") as d:
        for name, src in _photos(Path(d)).items():
            job = plan_photo_jobs([src], Path(d) / f"{name}.dng")[0]
            res = reconstruct_photo(job, pipe, dng=dng)
            with rawpy.imread(str(res.dest)) as r:
                out = r.postprocess(
                    use_camera_wb=True, no_auto_bright=True, gamma=(2.4, 12.92), output_bps=16,
                    demosaic_algorithm=rawpy.DemosaicAlgorithm.AHD,
                )  # fmt: skip
            got = out.astype(np.float64) / 65535.0
            y = read_photo(src).image.astype(np.float64)
            h, w = got.shape[:2]
            want = y[:, :h, :w].transpose(1, 2, 0)
            psnr = 10 * np.log10(1.0 / np.mean((got - want) ** 2))
            lab = [colour.XYZ_to_Lab(colour.sRGB_to_XYZ(v)) for v in (got, want)]
            de = float(colour.delta_E(lab[0], lab[1], method="CIE 2000").mean())
            rows.append({"photo": name, "psnr": float(psnr), "de2000": de})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(prog="python -m rawkit.bench.render_back")
    parser.add_argument("--method", help="registered method (default: the photo default)")
    parser.add_argument("--dng", choices=["bayer", "linear"], default="bayer")
    args = parser.parse_args(argv)
    print(f"method {args.method or 'default (blind_unprocess, LibRaw convention)'}, {args.dng} DNG")
    print(f"{'photo':14s} {'PSNR dB':>8s} {'dE2000':>7s}")
    for r in render_back(args.method, dng=args.dng):
        print(f"{r['photo']:14s} {r['psnr']:8.2f} {r['de2000']:7.2f}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
