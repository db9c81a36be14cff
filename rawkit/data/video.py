"""Synthetic RAW videos: a camera moving over a photo, with the true optical flow.

:func:`synthesize_video` films a photo with a virtual camera: every frame ``t`` shows
the photo through a similarity warp (pan, zoom, rotation, hand shake), and an
occluding object (a disc cut from another part of the photo, turned upside down) moves
across the frames on its own.  Because the warps are known, so is the flow.

**Coordinates.** Pixel ``(x, y)`` of a frame has its centre at the integer coordinates
``x`` (column) and ``y`` (row).  Frame ``t`` shows the photo point

.. math::  q = s_t R(\\theta_t)\\,(p - c_f) + c_t

for the frame pixel ``p``, with ``c_f = ((w-1)/2, (h-1)/2)`` the frame's centre; the
``(2, 3)`` matrices are :attr:`SyntheticVideo.warps`.  The photo is sampled bilinearly
(``torch.nn.functional.grid_sample``, ``align_corners=True``, so ``-1`` and ``1`` are
the centres of the corner pixels).

**Flow convention: backward flow**, the one a backward warp uses.  ``flow[t - 1]``
(for ``t = 1 .. T-1``) is ``(2, h, w)`` with channels ``(dx, dy)``: for each pixel
``p`` of frame ``t``, ``p + flow[t - 1][:, p]`` is where the same scene point was in
frame ``t - 1``.  So ``frame[t](p) ~ frame[t-1](p + flow(p))`` (e.g.
``cv2.remap(frame_prev, x + dx, y + dy, cv2.INTER_LINEAR)``).

* background pixels: ``p' = A_{t-1}^{-1}(A_t(p))``, exactly, from the two warps;
* pixels on the object: ``p' = p + o_{t-1} - o_t`` (the object translates by its
  centre ``o_t``).

**Validity.** ``valid[t - 1]`` is False where ``p'`` is not visible in frame ``t - 1``:
outside the frame, or a background point hidden by the object in frame ``t - 1``; and
also where a bilinear sample at ``p'`` would straddle the object's edge (within 1.5
pixels of it).  There the flow is still the true motion, but frame ``t - 1`` does not
show it.

**The camera.** One set of ISP parameters per video (:func:`rawkit.isp.random_params`,
as a camera keeps its settings through a clip); each frame is unprocessed, gets its own
sensor noise and is quantised (the RAW frames), then rendered by
:func:`rawkit.isp.process` (the sRGB frames), as in :func:`rawkit.data.synthesize`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rawkit.cfa import pack
from rawkit.data.synth import (
    capture_raw,
    check_seed,
    linearize_raw,
    load_input_photo,
    quantise_srgb,
    resolve_camera,
)
from rawkit.isp import CameraModel, ISPParams, process, random_params

__all__ = ["MOTIONS", "Motion", "SyntheticVideo", "synthesize_video"]

#: Camera trajectories of the synthetic videos.
Motion = Literal["pan", "zoom", "rotate", "shake", "mixed", "static"]
#: Every value of ``Motion``.
MOTIONS: tuple[str, ...] = ("pan", "zoom", "rotate", "shake", "mixed", "static")

_EDGE = 1.5  # pixels: a bilinear sample's support reaches this far (sqrt(2) rounded up)


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticVideo:
    """A synthetic RAW video made by :func:`synthesize_video` (NumPy arrays, frozen).

    Attributes:
        srgb: ``(T, 3, h, w)`` float32 sRGB frames in ``[0, 1]`` (renders of ``raw``).
        mosaic: ``(T, 1, h, w)`` float32 linear RAW frames in ``[0, 1]``.
        packed: ``(T, 4, h/2, w/2)`` float32, ``[R, Gr, Gb, B]``.
        raw: ``(T, 1, h, w)`` uint16 sensor values.
        flow: ``(T-1, 2, h, w)`` float32 backward flow ``(dx, dy)`` from frame ``t`` to
            frame ``t - 1`` (module docstring).
        valid: ``(T-1, 1, h, w)`` bool, where ``flow`` points at a visible pixel.
        scene: ``(T, 3, h, w)`` float32, the photo as the virtual camera saw it (before
            the RAW camera: no noise, no colour processing).
        occluder: ``(T, 1, h, w)`` bool, where the object covers the frame.
        warps: ``(T, 2, 3)`` float64, frame pixel ``(x, y, 1)`` -> photo pixel.
        object_centres: ``(T, 2)`` float64, the object's centre ``(x, y)`` per frame.
        object_radius: the object's radius in pixels (0 without an object).
        pattern, camera, params: the Bayer pattern, camera model and ISP parameters.
        motion, seed, photo: how it was made (``photo`` is ``""`` for an array).
    """

    srgb: np.ndarray
    mosaic: np.ndarray
    packed: np.ndarray
    raw: np.ndarray
    flow: np.ndarray
    valid: np.ndarray
    scene: np.ndarray
    occluder: np.ndarray
    warps: np.ndarray
    object_centres: np.ndarray
    object_radius: float
    pattern: str
    camera: CameraModel
    params: ISPParams
    motion: str
    seed: int
    photo: str


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def _sign(g: torch.Generator) -> float:
    return 1.0 if float(torch.rand((), generator=g, dtype=torch.float64)) < 0.5 else -1.0


def _trajectory(motion: str, n: int, g: torch.Generator) -> dict[str, np.ndarray]:
    """Relative camera motion: centre offsets ``(n, 2)``, log-scales ``(n,)``, angles ``(n,)``."""
    t = np.arange(n, dtype=np.float64)
    shift = np.zeros((n, 2))
    log_scale = np.zeros(n)
    angle = np.zeros(n)
    kinds = {"pan", "zoom", "rotate", "shake"} if motion == "mixed" else {motion}
    if "pan" in kinds:  # steady pan, 1.5-4 px per frame in a random direction
        speed, phi = _uniform(g, 1.5, 4.0), _uniform(g, 0.0, 2 * math.pi)
        shift += np.outer(t, [speed * math.cos(phi), speed * math.sin(phi)])
    if "zoom" in kinds:  # 1-3 % per frame, in or out
        log_scale += _sign(g) * _uniform(g, 0.01, 0.03) * t
    if "rotate" in kinds:  # 0.5-2 degrees per frame
        angle += _sign(g) * math.radians(_uniform(g, 0.5, 2.0)) * t
    if "shake" in kinds:  # hand shake: independent jitter, 1.5 px and 0.3 degrees RMS
        jitter = torch.randn((n, 3), generator=g, dtype=torch.float64).numpy()
        shift += 1.5 * jitter[:, :2]
        angle += math.radians(0.3) * jitter[:, 2]
    return {"shift": shift, "log_scale": log_scale, "angle": angle}


def _warps(traj: dict[str, np.ndarray], k: float, h: int, w: int) -> np.ndarray:
    """``(n, 2, 3)`` frame -> photo matrices for motion amplitudes scaled by ``k``, centred at 0."""
    s = np.exp(k * traj["log_scale"])
    a = k * traj["angle"]
    rot = np.stack(
        [np.stack([np.cos(a), -np.sin(a)], -1), np.stack([np.sin(a), np.cos(a)], -1)], -2
    )
    lin = s[:, None, None] * rot
    cf = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = k * traj["shift"] - lin @ cf
    return np.concatenate([lin, offset[:, :, None]], axis=-1)


def _corners(warps: np.ndarray, h: int, w: int) -> np.ndarray:
    c = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], dtype=np.float64)
    return np.einsum("nij,kj->nki", warps, c).reshape(-1, 2)


def _fit(traj: dict[str, np.ndarray], h: int, w: int, big_h: int, big_w: int) -> np.ndarray:
    """Scale the motion down until every frame lies inside the photo, then centre it."""
    margin = 2.0
    for k in [0.85**i for i in range(40)] + [0.0]:
        warps = _warps(traj, k, h, w)
        pts = _corners(warps, h, w)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        if hi[0] - lo[0] <= big_w - 1 - 2 * margin and hi[1] - lo[1] <= big_h - 1 - 2 * margin:
            centre = np.array([(big_w - 1) / 2, (big_h - 1) / 2]) - (lo + hi) / 2
            warps[:, :, 2] += centre
            return warps
    raise ValueError(
        f"size: frames of {h}x{w} do not fit in the {big_h}x{big_w} photo; use a smaller size"
    )


def _grid(points: torch.Tensor, big_h: int, big_w: int) -> torch.Tensor:
    """Photo pixel coordinates ``(..., 2)`` -> grid_sample's [-1, 1] (align_corners=True)."""
    scale = torch.tensor([2.0 / (big_w - 1), 2.0 / (big_h - 1)], dtype=points.dtype)
    return points * scale - 1.0


def _invert(warp: np.ndarray) -> np.ndarray:
    lin_inv = np.linalg.inv(warp[:, :2])
    return np.concatenate([lin_inv, -(lin_inv @ warp[:, 2])[:, None]], axis=-1)


def synthesize_video(
    photo: str | np.ndarray | torch.Tensor,
    *,
    n_frames: int,
    motion: Motion = "mixed",
    seed: int,
    camera: CameraModel | str = "nikon_d5100",
    size: tuple[int, int] = (128, 192),
    occluder: bool = True,
    noise: bool = True,
    srgb_bits: int | None = 8,
) -> SyntheticVideo:
    """Film a photo with a moving camera: sRGB and RAW frames and the true backward flow.

    See the module docstring for the geometry, the flow convention and the validity mask.

    Args:
        photo: a bundled photo's name or sRGB ``(3, H, W)`` float in ``[0, 1]`` (larger
            than the frames).
        n_frames: ``T >= 2``.
        motion: ``"pan"`` (1.5-4 px/frame), ``"zoom"`` (1-3 %/frame), ``"rotate"``
            (0.5-2 degrees/frame), ``"shake"`` (hand shake: 1.5 px, 0.3 degrees RMS
            per frame), ``"mixed"`` (all four) or ``"static"``; amplitudes drawn from
            ``seed`` and scaled down if the frames would leave the photo.
        seed: int >= 0: trajectory, object, ISP parameters and noise.  Same seed, same bytes.
        camera: a :class:`~rawkit.isp.CameraModel` or a built-in camera's name.
        size: ``(h, w)`` of the frames, both even.
        occluder: add the moving object (default True).
        noise: add sensor noise to the RAW frames (default True).
        srgb_bits: quantise the sRGB frames to 8 (default) or 16 bits, None for floats.

    Returns:
        A :class:`SyntheticVideo`.

    Raises:
        ValueError: ``n_frames < 2``, unknown ``motion``, odd or too large ``size``,
            bad seed.
        TypeError: wrong argument types.

    Example:
        >>> v = synthesize_video("astronaut", n_frames=3, motion="pan", seed=0, size=(32, 48))
        >>> v.srgb.shape, v.raw.shape, v.flow.shape, v.valid.dtype
        ((3, 3, 32, 48), (3, 1, 32, 48), (2, 2, 32, 48), dtype('bool'))
    """
    seed = check_seed(seed)
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 2:
        raise ValueError(f"n_frames: expected an int >= 2, got {n_frames!r}")
    if motion not in MOTIONS:
        raise ValueError(f"motion: expected one of {list(MOTIONS)}, got {motion!r}")
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError) as e:
        raise TypeError(f"size: expected (height, width), got {size!r}") from e
    if h < 2 or w < 2 or h % 2 or w % 2:
        raise ValueError(f"size: expected an even height and width >= 2, got {size!r}")
    if srgb_bits is not None and srgb_bits not in (8, 16):
        raise ValueError(f"srgb_bits: expected 8, 16 or None, got {srgb_bits!r}")
    cam = resolve_camera(camera)
    src, name = load_input_photo(photo, None, even=False)
    big_h, big_w = src.shape[-2:]
    g = torch.Generator().manual_seed(seed)

    warps = _fit(_trajectory(motion, n_frames, g), h, w, big_h, big_w)

    yy, xx = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    pix = torch.stack([xx, yy, torch.ones_like(xx)], dim=-1)  # (h, w, 3): (x, y, 1)
    wt = torch.from_numpy(warps)
    bg_points = torch.einsum("nij,hwj->nhwi", wt, pix)  # (T, h, w, 2) photo coordinates

    centres, radius, patch_centre = _object_path(occluder, n_frames, h, w, big_h, big_w, g)
    ct = torch.from_numpy(centres)
    rel = pix[None, :, :, :2] - ct[:, None, None, :]  # (T, h, w, 2) offset from the object centre
    dist = rel.norm(dim=-1)
    on_object = dist <= radius
    obj_points = torch.from_numpy(patch_centre)[None, None, None] - rel
    points = torch.where(on_object[..., None], obj_points, bg_points)

    image = torch.from_numpy(src).to(torch.float64)[None].expand(n_frames, -1, -1, -1)
    scene = F.grid_sample(
        image, _grid(points, big_h, big_w), mode="bilinear", padding_mode="border",
        align_corners=True,
    ).to(torch.float32).clamp(0.0, 1.0).numpy()  # fmt: skip

    flow, valid = _flow(warps, centres, radius, pix, dist, on_object, h, w)

    params = random_params(cam, generator=g)
    raw = capture_raw(
        scene, camera=cam, params=params, generator=g, noise=noise, convention="libraw"
    )
    mosaic = linearize_raw(raw, cam)
    srgb = np.asarray(process(mosaic, camera=cam, params=params))
    return SyntheticVideo(
        srgb=quantise_srgb(srgb, srgb_bits),
        mosaic=mosaic,
        packed=np.ascontiguousarray(pack(mosaic, pattern=cam.pattern)),
        raw=raw,
        flow=flow,
        valid=valid,
        scene=scene,
        occluder=on_object[:, None].numpy(),
        warps=warps,
        object_centres=centres,
        object_radius=radius,
        pattern=cam.pattern,
        camera=cam,
        params=params,
        motion=motion,
        seed=seed,
        photo=name,
    )


def _object_path(
    occluder: bool, n: int, h: int, w: int, big_h: int, big_w: int, g: torch.Generator
) -> tuple[np.ndarray, float, np.ndarray]:
    """Object centres ``(n, 2)`` in frame pixels, radius, and its texture's centre in the photo."""
    if not isinstance(occluder, bool):
        raise TypeError(f"occluder: expected a bool, got {type(occluder).__name__}")
    if not occluder:
        return np.full((n, 2), -1e9), 0.0, np.zeros(2)
    radius = _uniform(g, 0.12, 0.2) * min(h, w)
    start = np.array([_uniform(g, 0.2, 0.8) * (w - 1), _uniform(g, 0.2, 0.8) * (h - 1)])
    speed, phi = _uniform(g, 1.0, 3.0), _uniform(g, 0.0, 2 * math.pi)
    velocity = np.array([speed * math.cos(phi), speed * math.sin(phi)])
    centres = start + np.outer(np.arange(n), velocity)
    lo = radius + 1
    patch = np.array([_uniform(g, lo, big_w - 1 - lo), _uniform(g, lo, big_h - 1 - lo)])
    return centres, float(radius), patch


def _flow(
    warps: np.ndarray,
    centres: np.ndarray,
    radius: float,
    pix: torch.Tensor,
    dist: torch.Tensor,
    on_object: torch.Tensor,
    h: int,
    w: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The true backward flow ``(T-1, 2, h, w)`` and its validity ``(T-1, 1, h, w)``."""
    n = warps.shape[0]
    flows, valids = [], []
    for t in range(1, n):
        back = _compose(_invert(warps[t - 1]), warps[t])  # frame t pixel -> frame t-1 pixel
        bg = torch.einsum("ij,hwj->hwi", torch.from_numpy(back), pix)
        step = torch.from_numpy(centres[t - 1] - centres[t])
        obj = pix[..., :2] + step
        prev = torch.where(on_object[t][..., None], obj, bg)  # (h, w, 2)
        inside = (
            (prev[..., 0] >= 0) & (prev[..., 0] <= w - 1)
            & (prev[..., 1] >= 0) & (prev[..., 1] <= h - 1)
        )  # fmt: skip
        d_prev = (prev - torch.from_numpy(centres[t - 1])).norm(dim=-1)
        bg_ok = ~on_object[t] & (d_prev > radius + _EDGE)
        obj_ok = dist[t] <= radius - _EDGE
        flows.append((prev - pix[..., :2]).permute(2, 0, 1))
        valids.append((inside & (bg_ok | obj_ok))[None])
    flow = torch.stack(flows).to(torch.float32).numpy()
    valid = torch.stack(valids).numpy()
    return flow, valid


def _compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The affine map ``x -> a(b(x))`` of two ``(2, 3)`` matrices."""
    return np.concatenate([a[:, :2] @ b[:, :2], (a[:, :2] @ b[:, 2] + a[:, 2])[:, None]], axis=-1)
