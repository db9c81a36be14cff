"""A tiny regression problem shared by test_training.py and the DDP worker script."""

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset


def data(n=32, seed=0):
    """``n`` pairs (x (3, 8, 8), y (2, 8, 8)) with ``y`` a fixed 1x1 conv of ``x``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 8, 8, generator=g)
    w = torch.randn(2, 3, 1, 1, generator=torch.Generator().manual_seed(99))
    return TensorDataset(x, F.conv2d(x, w))


class NoisyData(Dataset):
    """Items that draw from the global torch generator (augmentation noise)."""

    def __init__(self, base):
        self.base = base

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        x, y = self.base[i]
        return x + 0.01 * torch.randn(x.shape), y


class TinyNet(torch.nn.Sequential):
    def __init__(self, seed=1, dropout=0.0):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            super().__init__(
                torch.nn.Conv2d(3, 4, 3, padding=1),
                torch.nn.Tanh(),
                torch.nn.Dropout(dropout),
                torch.nn.Conv2d(4, 2, 1),
            )


def loss_fn(model, batch):
    x, y = batch
    return F.mse_loss(model(x), y)


def val_fn(model, batch):
    x, y = batch
    return {"mse": (model(x) - y).square().mean(dim=(1, 2, 3)), "batch_mse": loss_fn(model, batch)}
