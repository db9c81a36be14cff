"""Alg. 1 with a reference set separate from the targets (``targets=``)."""

import pytest
import torch
import torch.nn.functional as F

from rawkit.pipelines import priorraw


def test_targets_are_assembled_from_other_scenes_of_the_whole_batch():
    g = torch.Generator().manual_seed(0)
    f = F.normalize(torch.randn(5, 6, 3, 4, generator=g), dim=1)
    raw = torch.rand(5, 4, 3, 4, generator=g)
    groups = torch.tensor([0, 1, 0, 2, 1])
    tau = 0.05
    loss = priorraw.alg1_loss(f, raw, groups, tau, targets=2)
    want = []
    for i in range(2):  # only the first two crops are targets
        refs = [j for j in range(5) if groups[j] != groups[i]]
        ft = f[i].flatten(1).T
        fr = torch.cat([f[j].flatten(1).T for j in refs])
        vr = torch.cat([raw[j].flatten(1).T for j in refs])
        out = torch.softmax(ft @ fr.T / tau, dim=1) @ vr
        want.append(((out.T.reshape(4, 3, 4) - raw[i]) ** 2).mean())
    torch.testing.assert_close(loss, torch.stack(want).mean())
    with pytest.raises(ValueError, match="targets"):
        priorraw.alg1_loss(f, raw, groups, tau, targets=6)


def test_train_encoder_checks_targets_before_training():
    g = torch.Generator().manual_seed(0)
    data = [
        (torch.rand(3, 16, 16, generator=g), torch.rand(4, 8, 8, generator=g), str(i))
        for i in range(3)
    ]
    enc = priorraw.build_encoder(dim=4, width=4, blocks=1)
    with pytest.raises(ValueError, match="targets"):
        priorraw.train_encoder(
            data, encoder=enc, steps=1, batch_size=3, crop=8, targets=3, progress=False
        )
    res = priorraw.train_encoder(
        data, encoder=enc, steps=2, batch_size=3, crop=8, targets=1, progress=False
    )
    assert len(res.history.train_loss) == 2
