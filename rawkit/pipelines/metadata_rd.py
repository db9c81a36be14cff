r"""Rate-distortion of per-image metadata: learned metadata against the classic baselines.

Three ways to spend ``n`` bytes per image on recovering its RAW, all decoded with the sRGB:

* **learned metadata** (:class:`rawkit.pipelines.learned_metadata.LearnedMetadataPipeline`),
  one model at every rate index;
* **uniform-sampling RBF metadata** (:func:`rawkit.pipelines.uniform_sampling_metadata` +
  :func:`rawkit.pipelines.rbf_reconstruct` in camera RGB): one RAW quad per
  ``spacing x spacing`` pixels at 14 bits; its curve over ``spacing`` is interpolated
  (in log bytes) to the learned codec's bytes;
* **a plain codec on the RAW residual** (:func:`webp_residual_encode`): the residual
  ``r - b`` of the RAW against the blind estimate ``b`` (:func:`rawkit.data.generic_inverse`),
  the four planes tiled 2 x 2 into one grey image, downsampled by ``d``, scaled to 8 bits
  and coded with WebP through OpenCV; the encoder picks the ``(d, quality)`` with the best
  PSNR within the byte budget (it has the RAW, so this is fair to the baseline).

Bits per pixel are ``8 * bytes / (H W)`` over the sRGB pixels; PSNR is on the packed RAW
in ``[0, 1]`` (:func:`rawkit.metrics.psnr`).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> base = rng.random((4, 16, 24)).astype(np.float32) * 0.5
    >>> raw = base + 0.1
    >>> data = webp_residual_encode(raw, base, max_bytes=200)
    >>> len(data) <= 200
    True
    >>> rec = webp_residual_decode(data, base)
    >>> rec.shape, bool(np.abs(rec - raw).max() < 0.01)
    ((4, 16, 24), True)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import torch

from rawkit.metrics import psnr

__all__ = [
    "interpolate_psnr",
    "rate_distortion",
    "rbf_curve",
    "webp_residual_decode",
    "webp_residual_encode",
]

_HEAD = struct.Struct("<Be")  # downsample factor, float16 scale


def _tile(res: np.ndarray) -> np.ndarray:
    return np.concatenate([np.concatenate(res[:2], 1), np.concatenate(res[2:], 1)], 0)


def _untile(img: np.ndarray, h: int, w: int) -> np.ndarray:
    return np.stack([img[:h, :w], img[:h, w:], img[h:, :w], img[h:, w:]])


def _code(res: np.ndarray, d: int, q: int) -> tuple[bytes, np.ndarray]:
    _, h, w = res.shape
    small = np.stack(
        [cv2.resize(p, (max(1, w // d), max(1, h // d)), interpolation=cv2.INTER_AREA) for p in res]
    )
    scale = float(np.float16(max(float(np.abs(small).max()), 1e-6) / 127.0))
    while np.abs(small).max() / scale > 127.49:  # float16 rounding made it too small
        scale = float(np.nextafter(np.float16(scale), np.float16(np.inf)))
    img = np.clip(np.round(128 + small / scale), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".webp", _tile(img), [cv2.IMWRITE_WEBP_QUALITY, int(q)])
    if not ok:
        raise RuntimeError("OpenCV could not encode WebP")
    data = _HEAD.pack(d, scale) + buf.tobytes()
    return data, webp_residual_decode(data, np.zeros_like(res))


def webp_residual_encode(
    raw: np.ndarray, base: np.ndarray, *, max_bytes: int, factors: Sequence[int] = (1, 2, 4, 8, 16)
) -> bytes:
    """The plain-codec baseline: the best WebP of the residual ``raw - base`` within a budget.

    Args:
        raw: ``(4, h, w)`` true packed RAW in ``[0, 1]``.
        base: ``(4, h, w)`` the decoder's blind estimate.
        max_bytes: byte budget (3-byte header + WebP); the smallest file if none fits.
        factors: downsampling factors tried.

    Returns:
        The bytes: downsample factor (uint8), scale (float16), the WebP file.
    """
    raw, base = np.asarray(raw, np.float32), np.asarray(base, np.float32)
    if raw.shape != base.shape or raw.ndim != 3 or raw.shape[0] != 4:
        raise ValueError(
            f"raw, base: expected two (4, h, w) arrays, got {raw.shape} and {base.shape}"
        )
    res = raw - base
    best: tuple[float, bytes] | None = None
    smallest: bytes | None = None
    for d in factors:
        lo, hi, fit = 1, 100, None
        while lo <= hi:  # largest quality within the budget
            q = (lo + hi) // 2
            data, rec = _code(res, d, q)
            if smallest is None or len(data) < len(smallest):
                smallest = data
            if len(data) <= max_bytes:
                fit, lo = (data, rec), q + 1
            else:
                hi = q - 1
        if fit is not None:
            mse = float(np.mean((fit[1] - res) ** 2))
            if best is None or mse < best[0]:
                best = (mse, fit[0])
    assert smallest is not None  # noqa: S101
    return best[1] if best is not None else smallest


def webp_residual_decode(data: bytes, base: np.ndarray) -> np.ndarray:
    """Decode :func:`webp_residual_encode`: ``base`` + the upsampled residual, ``(4, h, w)``
    (not clipped)."""
    base = np.asarray(base, np.float32)
    d, scale = _HEAD.unpack_from(data)
    img = cv2.imdecode(np.frombuffer(data[_HEAD.size :], np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError("data: not a WebP residual")
    _, h, w = base.shape
    small = _untile(img.astype(np.float32), img.shape[0] // 2, img.shape[1] // 2)
    res = np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in small])
    return base + (res - 128.0) * float(scale)


def rbf_curve(
    pairs: Sequence[Any], *, camera: Any, spacings: Sequence[int] = (8, 12, 16, 24, 32, 48, 64, 96)
) -> list[dict[str, float]]:
    """Mean bytes, bits per pixel and PSNR of uniform-sampling RBF metadata per spacing.

    Args:
        pairs: items with ``srgb`` ``(3, H, W)`` and ``packed`` ``(4, H/2, W/2)`` (NumPy).
        camera: the camera model (the RBF fits in camera RGB).
        spacings: even sample spacings in pixels.
    """
    from rawkit.pipelines.baselines import rbf_reconstruct, uniform_sampling_metadata

    rows = []
    for s in spacings:
        b, p, n = [], [], []
        for pair in pairs:
            m = uniform_sampling_metadata(np.asarray(pair.packed), spacing=s, bit_depth=14)
            rec = rbf_reconstruct(np.asarray(pair.srgb), m, camera=camera)
            b.append(m.nbytes)
            n.append(pair.srgb.shape[-1] * pair.srgb.shape[-2])
            p.append(
                float(
                    psnr(
                        torch.as_tensor(np.clip(rec, 0, 1)),
                        torch.as_tensor(pair.packed),
                        data_range=1.0,
                    )
                )
            )
        rows.append({"spacing": s, "bytes": float(np.mean(b)), "bpp": float(np.mean(8 * np.array(b) / np.array(n))),
                     "psnr": float(np.mean(p))})  # fmt: skip
    return rows


def interpolate_psnr(curve: Sequence[dict[str, float]], bpp: float) -> float:
    """PSNR of a ``[{"bpp", "psnr"}]`` curve at ``bpp`` (linear in log bpp; NaN outside)."""
    pts = sorted((math.log(r["bpp"]), r["psnr"]) for r in curve)
    x = math.log(bpp)
    if x < pts[0][0] or x > pts[-1][0]:
        return float("nan")
    return float(np.interp(x, [a for a, _ in pts], [b for _, b in pts]))


def rate_distortion(
    pipe: Any, pairs: Sequence[Any], *, spacings: Sequence[int] = (8, 12, 16, 24, 32, 48, 64, 96)
) -> dict[str, Any]:
    """The RD table of a learned-metadata pipeline against RBF and WebP-residual metadata.

    Args:
        pipe: a :class:`~rawkit.pipelines.learned_metadata.LearnedMetadataPipeline`.
        pairs: test items with NumPy ``srgb`` ``(3, H, W)`` and ``packed`` ``(4, H/2, W/2)``.
        spacings: RBF sample spacings of the RBF curve.

    Returns:
        ``{"rows": [...], "rbf": [...], "blind_psnr": float}``; one row per rate index with
        mean ``bytes``, ``bpp``, ``psnr``, the WebP residual's ``webp_bytes``/``webp_psnr``
        at each image's bytes, ``rbf_psnr_equal_bpp`` (interpolated), and the payload's
        bytes against the model's estimate (``payload_bytes``, ``est_payload_bytes``).
    """
    from rawkit.io.bitstream import OVERHEAD_BYTES

    def score(a: Any, b: Any) -> float:
        x = torch.as_tensor(np.clip(np.asarray(a, np.float32), 0, 1))
        return float(psnr(x, torch.as_tensor(np.asarray(b, np.float32)), data_range=1.0))

    rows = []
    for t in range(pipe.net.rates):
        acc: dict[str, list[float]] = {}
        for p in pairs:
            meta = pipe.encode(p.packed, p.srgb, rate=t)
            base = pipe.blind(torch.from_numpy(np.asarray(p.srgb, np.float32))[None])[0].numpy()
            web = webp_residual_encode(p.packed, base, max_bytes=len(meta))
            vals = {
                "bytes": len(meta),
                "bpp": 8 * len(meta) / (p.srgb.shape[-1] * p.srgb.shape[-2]),
                "psnr": score(pipe.reconstruct(p.srgb, metadata=meta), p.packed),
                "webp_bytes": len(web),
                "webp_psnr": score(webp_residual_decode(web, base), p.packed),
                "payload_bytes": len(meta) - OVERHEAD_BYTES,
                "est_payload_bytes": pipe.estimated_bits(p.packed, p.srgb, rate=t) / 8,
            }
            for k, v in vals.items():
                acc.setdefault(k, []).append(float(v))
        rows.append({"rate": t, **{k: float(np.mean(v)) for k, v in acc.items()}})
    camera = pipe.camera
    rbf = rbf_curve(pairs, camera=camera, spacings=spacings)
    for r in rows:
        r["rbf_psnr_equal_bpp"] = interpolate_psnr(rbf, r["bpp"])
    blind = [
        score(
            pipe.blind(torch.from_numpy(np.asarray(p.srgb, np.float32))[None])[0].numpy(), p.packed
        )
        for p in pairs
    ]
    return {"rows": rows, "rbf": rbf, "blind_psnr": float(np.mean(blind))}
