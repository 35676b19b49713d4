#!/usr/bin/env python3
"""Runs a model exported by `cnnc export --format onnx` in ONNX Runtime and compares its probabilities with
the ones the generated trainer computed (`train --load W --dump-gradients DUMP`) for the same images.

    onnx_check.py MODEL.onnx --data PATH --dump DUMP.safetensors

--data is what the trainer read: a folder of MNIST-style IDX files (train-images-idx3-ubyte[.gz]) or a CSV
file (values in H,W,C order, then the label; optionally .gz). The dump holds the probabilities of the first
rows of that data, in file order. Prints one line,
    max_abs_diff X samples N classes K
and exits 0; any problem is one `error:` line on stderr and exit 1. Needs numpy and onnxruntime
(see Docs/export.md for a private venv).
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import onnxruntime as ort


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def open_maybe_gz(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx_images(folder, count):
    """The first `count` training images of an IDX folder, as float32 [count, H, W, 1]."""
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open_maybe_gz(path) as f:
                magic, n, h, w = struct.unpack(">IIII", f.read(16))
                if magic != 0x803 or n < count:
                    fail(f"{path}: not an IDX image file with {count} images")
                raw = f.read(count * h * w)
            return np.frombuffer(raw, dtype=np.uint8).astype(np.float32).reshape(count, h, w, 1)
    fail(f"{folder}: no train-images-idx3-ubyte[.gz]")


def read_csv_images(path, count, shape_hwc):
    """The first `count` rows of a CSV data set (label in the last column dropped), as [count, H, W, C]."""
    rows = []
    with open_maybe_gz(path) as f:
        for line in f:
            line = line.decode("utf-8").strip()
            if not line:
                continue
            rows.append([float(v) for v in line.split(",")[:-1]])
            if len(rows) == count:
                break
    if len(rows) < count:
        fail(f"{path}: fewer than {count} rows")
    return np.array(rows, dtype=np.float32).reshape((count,) + shape_hwc)


def read_probabilities(path):
    """The `probabilities` tensor of a trainer's gradient dump (safetensors), as float32 [N, K]."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        entry = header.get("probabilities")
        if entry is None or entry["dtype"] != "F32":
            fail(f"{path}: no F32 tensor 'probabilities'")
        begin, end = entry["data_offsets"]
        f.seek(8 + length + begin)
        data = f.read(end - begin)
    return np.frombuffer(data, dtype="<f4").reshape(entry["shape"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--dump", required=True)
    args = parser.parse_args()

    expected = read_probabilities(args.dump)
    count = expected.shape[0]
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    (model_input,) = session.get_inputs()
    _, c, h, w = model_input.shape
    if os.path.isdir(args.data):
        images = read_idx_images(args.data, count)
    else:
        images = read_csv_images(args.data, count, (h, w, c))
    batch = np.ascontiguousarray(images.transpose(0, 3, 1, 2))  # N,H,W,C (file order) -> N,C,H,W
    (probabilities,) = session.run(None, {model_input.name: batch})
    if probabilities.shape != expected.shape:
        fail(f"model output shape {probabilities.shape} differs from the trainer's {expected.shape}")
    diff = float(np.max(np.abs(probabilities.astype(np.float64) - expected.astype(np.float64))))
    print(f"max_abs_diff {diff:.3e} samples {count} classes {expected.shape[1]}")


if __name__ == "__main__":
    main()
