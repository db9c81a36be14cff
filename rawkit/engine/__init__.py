"""The generic training engine: one small loop for every rawkit pipeline, seeded, resumable, DDP-ready.

It knows nothing about networks or images (it sits before :mod:`rawkit.nets` in the
dependency order): :mod:`~rawkit.engine.loop` holds :func:`train`,
:mod:`~rawkit.engine.state` the generators, checkpoints and history,
:mod:`~rawkit.engine.distributed` the ``torchrun`` process group.

:func:`train` runs ``steps`` optimiser steps of ``loss_fn(model, batch)`` over a
map-style :class:`~torch.utils.data.Dataset`, with a tqdm progress bar, periodic
validation, atomic checkpoints and exact resume, and it runs unchanged under
``torchrun`` with PyTorch DistributedDataParallel (DDP)::

    history = train(net, loss_fn, dataset, steps=500, batch_size=8, lr=1e-3, seed=0,
                    val_data=val_set, val_fn=val_fn, val_every=100,
                    checkpoint_dir="runs/unet", checkpoint_every=100)

    torchrun --nproc_per_node=2 my_script.py     # the same script, two processes

**The step function.**  ``loss_fn(model, batch)`` returns a scalar loss tensor; it is
the only task-specific code (the batch is whatever the dataset's items collate to,
moved to the device: tensors, and tuples, lists and dicts of them).  Call the
``model`` it receives (under DDP it is the DDP wrapper, whose forward synchronises the
gradients): ``lambda m, b: l2_ssim_loss(m(b[0]), b[1], data_range=1.0)``.
``val_fn(model, batch)`` returns a dict of metrics, each a 0-d tensor (a batch mean)
or a ``(B,)`` tensor of per-image values (e.g. :func:`rawkit.metrics.psnr`); they
are averaged over all validation images (or batches) of all processes.  Without
``val_fn`` validation reports the mean ``loss_fn`` over the validation batches.

**Randomness.**  Data order comes from :class:`~torch.utils.data.DistributedSampler`
(also with one process) seeded by ``seed`` and the epoch; the global torch, NumPy
and ``random`` generators are seeded with ``seed + rank`` at the start (for dropout,
augmentation in ``__getitem__``...) and the caller's generator states are restored
when :func:`train` returns.  The same seed gives the same weights.

**Checkpoints and resume.**  Every ``checkpoint_every`` steps and at the end, process 0
writes ``checkpoint_dir/step-000000100.pt`` with :func:`rawkit.io.save_checkpoint`
(atomic: temporary file, then rename), holding the model weights (``"model/..."``
keys), the optimiser and scheduler state, the step, the history, and the generator
states of every process.  It keeps the ``keep_last`` newest and, at the end, writes
the bare weights to ``checkpoint_dir/model.pt`` (:func:`rawkit.io.load_weights` reads
it; the config is ``model.config`` when the model has one).  With ``resume=True`` a
later call continues from the newest checkpoint: the same settings give exactly the
weights of an uninterrupted run (with ``num_workers=0``, or with datasets whose items
do not draw from the global generators in worker processes).  ``steps`` may be raised
to train further.

**Distributed.**  Under ``torchrun`` (``WORLD_SIZE > 1`` in the environment) the
process group is initialised from the environment (``env://``): NCCL when training on
CUDA (each process on ``cuda:LOCAL_RANK``), gloo on the CPU.  Each process gets a
shard of every epoch, ``batch_size`` is per process (the effective batch is
``batch_size x WORLD_SIZE``), the losses of the history are averaged over processes,
validation is sharded and reduced exactly, and only process 0 prints and writes.
The group that :func:`train` (or :func:`init_distributed`) creates stays for later calls
(a pipeline trains several networks in one process: re-creating a group under
torchrun is not reliable) and is destroyed at interpreter exit, or earlier by
:func:`cleanup_distributed`.
"""

from rawkit.engine.distributed import (
    DistInfo,
    cleanup_distributed,
    distributed_context,
    init_distributed,
)
from rawkit.engine.loop import LossFn, NonFiniteLossError, ValFn, train
from rawkit.engine.state import (
    CHECKPOINT_PATTERN,
    TrainHistory,
    TrainingState,
    latest_checkpoint,
    load_training_state,
)

__all__ = [
    "CHECKPOINT_PATTERN",
    "DistInfo",
    "LossFn",
    "NonFiniteLossError",
    "TrainHistory",
    "TrainingState",
    "ValFn",
    "cleanup_distributed",
    "distributed_context",
    "init_distributed",
    "latest_checkpoint",
    "load_training_state",
    "train",
]
