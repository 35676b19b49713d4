#!/usr/bin/env bash
# fashion_bn's test accuracy after training, cnnc next to the same network in PyTorch (Benchmarks/pytorch_reference.py,
# class FashionBN) with the same hyperparameters: 10 epochs over all 60,000 Fashion-MNIST training images, batch 64,
# SGD lr 0.05, momentum 0.9, cosine schedule per step (SCHEDULE=constant for none). Each side prints its test accuracy after every epoch. Not part of the test suite or CI
# (about 15-30 minutes on 2 cores).
#
#   EPOCHS=10 THREADS=2 bash Benchmarks/accuracy.sh [fashion_bn]
#   EPOCHS=15 bash Benchmarks/accuracy.sh fashion_aug     (normalize, augment hflip crop=2, AdamW, cosine)
set -euo pipefail
cd "$(dirname "$0")/.."
net=${1:-fashion_bn}
epochs=${EPOCHS:-10}
threads=${THREADS:-$(nproc)}
lr=${LR:-0.05}
schedule=${SCHEDULE:-cosine}
venv=${VENV:-.venv-bench}
work=.build-bench
data=/usr/share/datasets/fashion-mnist
[ -x "$venv/bin/python" ] || { echo "error: no $venv; see Benchmarks/compare.sh (INSTALL=1)" >&2; exit 1; }

swift build -c release --product cnnc >/dev/null
cnnc=$(swift build -c release --show-bin-path)/cnnc
mkdir -p "$work"
rm -rf "$work/$net-accuracy"
"$cnnc" compile "Examples/$net.cnn" --target cpu -o "$work/$net-accuracy" >/dev/null
swift build -c release --package-path "$work/$net-accuracy" >/dev/null

if [ "$net" = fashion_aug ]; then
  # The network's own train statement (AdamW lr 0.001, weight decay 0.05, cosine), normalize and augment.
  echo "== cnnc: $net, $epochs epochs, its train, normalize and augment statements, $threads threads"
  "$work/$net-accuracy/.build/release/train" --data "$data" --epochs "$epochs" --threads "$threads" \
    --metrics "$work/$net-accuracy.json" --plot "$work/$net-accuracy.svg" | grep -E "^epoch|test accuracy"
  echo "== PyTorch: the same network and hyperparameters"
  "$venv/bin/python" Benchmarks/pytorch_reference.py "$net" --accuracy --epochs "$epochs" --batch 64 --lr 0.001 \
    --optimizer adamw --weight-decay 0.05 --schedule cosine --normalize 0.2860 0.3530 --hflip --crop 2 \
    --threads "$threads"
  exit 0
fi
echo "== cnnc: $net, $epochs epochs, batch 64, lr $lr, momentum 0.9, $threads threads"
"$work/$net-accuracy/.build/release/train" --data "$data" --epochs "$epochs" --batch 64 --lr "$lr" --momentum 0.9 \
  --schedule "$schedule" --threads "$threads" --metrics "$work/$net-accuracy.json" | grep -E "^epoch|test accuracy"
echo "== PyTorch: the same network and hyperparameters"
"$venv/bin/python" Benchmarks/pytorch_reference.py "$net" --accuracy --epochs "$epochs" --batch 64 --lr "$lr" \
  --momentum 0.9 --schedule "$schedule" --threads "$threads"
