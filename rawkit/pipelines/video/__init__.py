r"""Video de-rendering from one RAW frame: the FAGDN pipeline (CVPR 2024, ``002_*``).

A camera stores the sRGB video and **one** RAW frame, the first (Eq. 3:
:math:`\varepsilon = y_1`); every later RAW frame is recovered by a chain (Fig. 3):

.. math::  o_{t\to t+1} = \Theta(x_t, x_{t+1}),\qquad
           \hat y_{t+1} = \mathrm{FAGDN}(x_t, \hat y_t, x_{t+1}, o_{t\to t+1}),
           \qquad \hat y_1 = y_1,

with the flow :math:`\Theta` of :func:`rawkit.flow.estimate_flow` (or any callable of
its signature) and the network :class:`rawkit.nets.FAGDN`.  With
``keyframe_interval = K > 0`` the camera also stores the RAW of frames ``K, 2K, ...``
(0-based), the paper's stated future work (Sec. 5.5): the chain restarts there.

**Added to the paper: a calibrated base** (``VideoConfig(base="keyframe")``, the
config's default).  In the paper every step starts from the warped previous RAW, so
errors accumulate along the chain: the shipped FAGDN (the paper's formulation, 12,000
CPU steps) falls from 38.4 dB at frame 2 to 24.0 dB at frame 30 on the synthetic test
videos (``python -m rawkit.bench.video``).  A camera keeps its illuminant, white
balance, exposure and lens through a clip, so the stored keyframe calibrates the inverse
ISP of the whole video (:mod:`~rawkit.pipelines.video.calibrate`: a 3 x 3 colour map
and a lens-shading strength fitted by least squares on the keyframe pair), and the
calibrated inverse :math:`b_{t+1} = B(x_{t+1})` of each frame depends on that frame
alone: it cannot drift.  FAGDN can take :math:`b_{t+1}` as one more input of its
current branch and predict a correction, :math:`\hat y_{t+1} = b_{t+1} +
\mathrm{FAGDN}(\dots)`, zero before training.  ``network=False`` runs the calibrated
base alone (no flow, no network: the fast path, :meth:`VideoPipeline.base_only`);
``base="warped"`` is the paper's formulation, kept with its Table 3 ablations as
:attr:`VideoPipeline.variants`.

Measured (30-frame chains, the five test videos, packed RAW): the calibrated base alone
53.1 dB, equal to the inverse with each video's true ISP parameters (53.1 dB), with no
drift beyond the content's; the shipped FAGDN chain (:meth:`VideoPipeline.shipped`)
29.3 dB; the base plus a FAGDN correction trained for 2,000 CPU steps 52.0 dB (the
correction costs 1.1 dB).  On these videos the previous RAW, even warped along the true
flow, is ~20 dB below the calibrated inverse of the current sRGB (each frame has its own
sensor noise, which the sRGB carries, and warping resamples each Bayer plane): the
reference frame has little to add.  ``rawkit derender-video`` runs the base by default.
The base fits rawkit's renderer exactly; a camera whose rendering the ten-number model
misses leaves a network more to do (not measured: no such video here).

Modules:

* :mod:`~rawkit.pipelines.video.pipeline` -- :class:`VideoConfig`, :class:`VideoPipeline`
  (registry name ``"video"``).  ``fit(data, val_data=...)``: ``data`` are the **frames
  of videos in temporal order** (:func:`video_pairs`); training samples pairs of
  consecutive frames with the *true* previous RAW as reference (``rollout``: the
  network's own), flows from the configured estimator
  (computed once), each video's base calibrated on its first frame, random crops at
  even offsets (the Bayer phase is kept), Adam, a cosine schedule, and the loss of
  Eq. (8) (:func:`rawkit.losses.multiscale_loss`, L2 + SSIM, :math:`\lambda = 0.5`);
  with ``val_data`` the whole chain of each validation video is scored every
  ``val_every`` steps and the best weights are kept (``info["curve"]``).
* :mod:`~rawkit.pipelines.video.chain` -- :func:`derender_frames`, the streaming chain
  (frames in, RAW frames out, a few frames in memory).
* :mod:`~rawkit.pipelines.video.calibrate` -- :func:`calibrate_inverse`,
  :class:`KeyframeInverse`.
* :mod:`~rawkit.pipelines.video.keyframes` -- the stored keyframes as bytes (16-bit,
  with a CRC-32): :func:`encode_keyframes`, :func:`decode_keyframes`.
* :mod:`~rawkit.pipelines.video.frames` -- :func:`synthetic_videos`,
  :func:`video_pairs`, :func:`read_video_frames` (an sRGB video file through OpenCV or
  a folder of frames, one at a time), :func:`quality_over_time` and
  :func:`plot_quality_over_time` (Fig. 8).

Example:
    >>> v = synthetic_videos("test", n_frames=3, size=(32, 48))[0]
    >>> pipe = VideoPipeline(VideoConfig(network=False))
    >>> raw = pipe.reconstruct(v.srgb, metadata=pipe.encode_metadata(v.packed, v.srgb))
    >>> bool(quality_over_time(raw, v.packed)[1:].min() > 35)
    True
"""

from rawkit.pipelines.video import calibrate, chain, frames, keyframes, pipeline
from rawkit.pipelines.video.calibrate import KeyframeInverse, calibrate_inverse
from rawkit.pipelines.video.chain import derender_frames
from rawkit.pipelines.video.frames import (
    plot_quality_over_time,
    quality_over_time,
    read_video_frames,
    synthetic_videos,
    video_pairs,
)
from rawkit.pipelines.video.keyframes import decode_keyframes, encode_keyframes, keyframe_indices
from rawkit.pipelines.video.pipeline import VideoConfig, VideoPipeline

__all__ = [
    "KeyframeInverse",
    "VideoConfig",
    "VideoPipeline",
    "calibrate",
    "calibrate_inverse",
    "chain",
    "decode_keyframes",
    "derender_frames",
    "encode_keyframes",
    "frames",
    "keyframe_indices",
    "keyframes",
    "pipeline",
    "plot_quality_over_time",
    "quality_over_time",
    "read_video_frames",
    "synthetic_videos",
    "video_pairs",
]
