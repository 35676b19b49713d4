"""The networks of Examples/ in PyTorch, trained the way cnnc's trainer trains them, to compare speed.

    python pytorch_reference.py NET [--batch 64] [--images 12800] [--threads 2]
    python pytorch_reference.py fashion_bn --accuracy --epochs 10 --lr 0.05

Trains NET (written out by hand below to match Examples/NET.cnn) for one pass over the first IMAGES training images,
shuffled, with SGD (lr 0.01, momentum 0.9) and cross-entropy, and prints the training images per second (data
gathering included, like cnnc's metrics). The Fashion-MNIST nets read Fashion-MNIST; resnet8 (32x32x3 inputs) reads
random images, as speed does not depend on the values. With --accuracy it trains for --epochs passes over all
training images and prints the test accuracy after each. Needs torch and numpy; see Benchmarks/compare.sh, which
installs them into a private virtual environment when asked.
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


def fashion_aug():
    # Examples/fashion_aug.cnn (fashion.cnn's layers): the input normalization and augmentation are the training
    # loop's (--normalize, --augment), as cnnc's trainer applies them to the samples.
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def lenet5():
    # Examples/lenet5.cnn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


class FashionBN(nn.Module):
    """Examples/fashion_bn.cnn: conv-batchnorm-relu layers, a residual block with an identity shortcut, dropout."""

    def __init__(self):
        super().__init__()
        def conv_bn(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
        self.stem = nn.Sequential(*conv_bn(1, 32), nn.ReLU(), nn.MaxPool2d(2))
        self.body = nn.Sequential(*conv_bn(32, 32), nn.ReLU(), *conv_bn(32, 32))
        self.head = nn.Sequential(nn.MaxPool2d(2), *conv_bn(32, 64), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(3136, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.3),
                                  nn.Linear(128, 10))

    def forward(self, x):
        x = self.stem(x)
        return self.head(torch.relu(self.body(x) + x))


class ResNet8(nn.Module):
    """Examples/resnet8.cnn: stem, three stages of one residual block each (16, 32, 64 channels; the last two halve
    the image and take a projection shortcut), global average pooling, dense."""

    def __init__(self):
        super().__init__()
        def conv_bn(cin, cout, k, stride, pad):
            return [nn.Conv2d(cin, cout, k, stride=stride, padding=pad, bias=False), nn.BatchNorm2d(cout)]
        self.stem = nn.Sequential(*conv_bn(3, 16, 3, 1, 1), nn.ReLU())
        self.blocks = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        for cin, cout, stride in [(16, 16, 1), (16, 32, 2), (32, 64, 2)]:
            self.blocks.append(nn.Sequential(*conv_bn(cin, cout, 3, stride, 1), nn.ReLU(),
                                             *conv_bn(cout, cout, 3, 1, 1)))
            self.shortcuts.append(nn.Identity() if stride == 1 else nn.Sequential(*conv_bn(cin, cout, 1, stride, 0)))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        x = self.stem(x)
        for block, shortcut in zip(self.blocks, self.shortcuts):
            x = torch.relu(block(x) + shortcut(x))
        return self.head(x)


NETS = {"mnist002": mnist002, "lenet5": lenet5, "fashion_bn": FashionBN, "resnet8": ResNet8, "fashion_aug": fashion_aug}
INPUTS = {"resnet8": (3, 32, 32)}


def load(path, count):
    with gzip.open(path + "/train-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)[:count]
    with gzip.open(path + "/train-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)[:count]
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def load_test(path):
    with gzip.open(path + "/t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(path + "/t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(images.astype(np.float32) / 255), torch.from_numpy(labels.astype(np.int64))


def accuracy(model, x, y, batch=1000):
    model.eval()
    with torch.no_grad():
        hits = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item() for i in range(0, len(x), batch))
    model.train()
    return hits / len(x)


def augment(x, crop, hflip):
    # torchvision's RandomCrop(28, padding=crop) then RandomHorizontalFlip, per sample, on images in [0, 1].
    n, c, h, w = x.shape
    if crop:
        padded = nn.functional.pad(x, (crop, crop, crop, crop))
        dy, dx = torch.randint(0, 2 * crop + 1, (n,)), torch.randint(0, 2 * crop + 1, (n,))
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if hflip:
        flip = torch.rand(n) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x


def train_for_accuracy(model, opt, loss_fn, a):
    x, y = load(a.data, 60000)
    tx, ty = load_test(a.data)
    mean, std = a.normalize
    tx = (tx - mean) / std
    steps = a.epochs * ((len(x) + a.batch - 1) // a.batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if a.schedule == "cosine" else None
    for epoch in range(a.epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), a.batch):
            idx = order[i:i + a.batch]
            batch = (augment(x[idx], a.crop, a.hflip) - mean) / std
            opt.zero_grad(set_to_none=True)
            loss_fn(model(batch), y[idx]).backward()
            opt.step()
            if schedule:
                schedule.step()
        print(f"epoch {epoch + 1} test accuracy {accuracy(model, tx, ty):.4f}", flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("net", choices=sorted(NETS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--images", type=int, default=12800)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--accuracy", action="store_true", help="train --epochs epochs and print the test accuracy")
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                   help="with --accuracy: the learning rate per step (cosine: CosineAnnealingLR, T_max = all steps)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    p.add_argument("--weight-decay", type=float, default=None, help="default: 0 for sgd, 0.01 for adamw")
    p.add_argument("--normalize", type=float, nargs=2, default=(0.0, 1.0), metavar=("MEAN", "STD"),
                   help="with --accuracy: (x - MEAN) / STD after scaling to [0, 1]")
    p.add_argument("--hflip", action="store_true", help="with --accuracy: random horizontal flips")
    p.add_argument("--crop", type=int, default=0, help="with --accuracy: random crops after zero padding P")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = NETS[a.net]()
    if a.optimizer == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=a.lr,
                                weight_decay=0.01 if a.weight_decay is None else a.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay or 0)
    loss_fn = nn.CrossEntropyLoss()
    if a.accuracy:
        train_for_accuracy(model, opt, loss_fn, a)
        return
    if a.net in INPUTS:
        x, y = torch.rand(a.images, *INPUTS[a.net]), torch.randint(0, 10, (a.images,))
    else:
        x, y = load(a.data, a.images)
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
