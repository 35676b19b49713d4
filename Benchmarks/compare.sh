#!/usr/bin/env bash
# cnnc against PyTorch on the same network, data, batch and thread count, runs interleaved so that machine
# drift cancels out. Not part of the test suite or CI.
#
#   INSTALL=1 bash Benchmarks/compare.sh [mnist002|lenet5|fashion_bn|resnet8]
#                                    (INSTALL=1: create .venv-bench with torch from PyPI)
#   RUNS=5 BATCH=64 IMAGES=12800 THREADS=2 bash Benchmarks/compare.sh mnist002
# The Fashion-MNIST nets read Fashion-MNIST; resnet8 (32x32x3) reads random images written once to a CSV file
# (speed does not depend on the values; PyTorch draws its own random images).
set -euo pipefail
cd "$(dirname "$0")/.."
net=${1:-mnist002}
runs=${RUNS:-5}
batch=${BATCH:-64}
images=${IMAGES:-12800}
threads=${THREADS:-$(nproc)}
venv=${VENV:-.venv-bench}
work=.build-bench
data=/usr/share/datasets/fashion-mnist

if [ ! -x "$venv/bin/python" ]; then
  [ "${INSTALL:-0}" = 1 ] || { echo "error: no $venv; run with INSTALL=1 to install torch into it from PyPI" >&2; exit 1; }
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi

if [ "$net" = resnet8 ]; then
  data=$work/random-32x32x3-$images.csv
  if [ ! -s "$data" ]; then
    mkdir -p "$work"
    python3 Benchmarks/random_images.py "$images" > "$data.part"
    mv "$data.part" "$data"
  fi
fi

swift build -c release --product cnnc >/dev/null
cnnc=$(swift build -c release --show-bin-path)/cnnc
mkdir -p "$work"
"$cnnc" compile "Examples/$net.cnn" --target cpu -o "$work/$net-cpu" >/dev/null
swift build -c release --package-path "$work/$net-cpu" >/dev/null

ours=(); theirs=()
for ((r = 0; r < runs; r++)); do
  "$work/$net-cpu/.build/release/train" --data "$data" --limit "$images" --epochs 1 --batch "$batch" \
    --threads "$threads" --metrics "$work/compare.json" >/dev/null 2>&1
  ours+=("$(python3 -c 'import json; print(json.load(open("'"$work"'/compare.json"))["epochs"][0]["images_per_second"])')")
  theirs+=("$("$venv/bin/python" Benchmarks/pytorch_reference.py "$net" --batch "$batch" --images "$images" --threads "$threads")")
done
python3 - "$net" "$batch" "$threads" "${#ours[@]}" "${ours[@]}" "${theirs[@]}" <<'PY'
import statistics, sys
net, batch, threads, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ours = [float(v) for v in sys.argv[5:5 + n]]
theirs = [float(v) for v in sys.argv[5 + n:]]
ratios = sorted(a / b for a, b in zip(ours, theirs))
print(f"{net}, batch {batch}, {threads} threads, {n} interleaved runs (training images/s, median and range)")
print(f"  cnnc     {statistics.median(ours):8.0f}  ({min(ours):.0f}-{max(ours):.0f})")
print(f"  pytorch  {statistics.median(theirs):8.0f}  ({min(theirs):.0f}-{max(theirs):.0f})")
print(f"  ratio    {statistics.median(ratios):8.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f}, per run)")
PY
