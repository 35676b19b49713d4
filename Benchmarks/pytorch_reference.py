"""The networks of Examples/ in PyTorch, trained the way cnnc's trainer trains them, to compare speed.

    python pytorch_reference.py NET [--batch 64] [--images 12800] [--threads 2]

Trains NET (mnist002 or lenet5, written out by hand below to match the .cnn files) for one pass over the first
IMAGES Fashion-MNIST training images, shuffled, with SGD (lr 0.01, momentum 0.9) and cross-entropy, and prints the
training images per second (data gathering included, like cnnc's metrics). Needs torch and numpy; see
Benchmarks/compare.sh, which installs them into a private virtual environment when asked.
"""
import argparse
import gzip
import time

import numpy as np
import torch
import torch.nn as nn


class ElementBias(nn.Module):
    """cnnc's `bias element`: one learnable value per element of its input."""

    def __init__(self, c, h, w):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(c, h, w))

    def forward(self, x):
        return x + self.bias


def mnist002():
    # Examples/mnist002.cnn: conv (no bias) + element bias + relu, SAME 3x3/2 max pools (pad bottom/right).
    pad = nn.ZeroPad2d((0, 1, 0, 1))  # SAME for 3x3/2 on even sizes; -inf padding is what cnnc does, zero
    # padding after ReLU is equivalent since every value is >= 0.
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, bias=False), ElementBias(16, 28, 28), nn.ReLU(),
        pad, nn.MaxPool2d(3, 2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), ElementBias(32, 14, 14), nn.ReLU(),
        pad, nn.MaxPool2d(3, 2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), ElementBias(64, 7, 7), nn.ReLU(),
        nn.Flatten(), nn.Linear(3136, 100), nn.ReLU(), nn.Linear(100, 10))


def lenet5():
    # Examples/lenet5.cnn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def load(path, count):
    with gzip.open(path + "/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(path + "/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("net", choices=["mnist002", "lenet5"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=12800)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x, y = load(a.data, a.images)
    model = {"mnist002": mnist002, "lenet5": lenet5}[a.net]()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(x))
    for i in range(0, 5 * a.batch, a.batch):  # warm-up
        idx = order[i:i + a.batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    start = time.perf_counter()
    for i in range(0, len(x), a.batch):
        idx = order[i:i + a.batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    print(f"{len(x) / seconds:.0f}")


if __name__ == "__main__":
    main()
