"""Run by test_training.py as ``torchrun --standalone --nproc_per_node=2 THIS OUT_DIR``.

Trains the tiny problem with DDP on gloo three ways and saves every rank's result:
``A``: 8 steps in one call (train() creates the process group from torchrun's
environment); ``B``: 4 steps with checkpoints, then a resume to 8 from a fresh model
(the same process group, as a pipeline that trains several networks).
"""

import json
import sys
from pathlib import Path

import torch

if __name__ == "__main__":
    import _nets_train_problem as P

    from rawkit.engine import cleanup_distributed, distributed_context, train

    out = Path(sys.argv[1])
    rank = distributed_context().rank
    common = dict(
        batch_size=4, lr=0.05, seed=3, progress=False, val_data=P.data(10, seed=5), val_fn=P.val_fn
    )
    a = P.TinyNet()
    ha = train(a, P.loss_fn, P.data(), steps=8, **common)
    torch.save(a.state_dict(), out / f"A{rank}.pt")
    (out / f"A{rank}.json").write_text(json.dumps({"loss": ha.train_loss, "val": ha.val}))

    ck = out / "ck"
    train(
        P.TinyNet(), P.loss_fn, P.data(), steps=4, checkpoint_dir=ck, checkpoint_every=2, **common
    )
    b = P.TinyNet(seed=7)
    hb = train(b, P.loss_fn, P.data(), steps=8, checkpoint_dir=ck, checkpoint_every=2, **common)
    torch.save(b.state_dict(), out / f"B{rank}.pt")
    (out / f"B{rank}.json").write_text(json.dumps({"loss": hb.train_loss, "start": hb.start_step}))
    cleanup_distributed()
