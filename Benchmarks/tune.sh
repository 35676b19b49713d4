#!/usr/bin/env bash
# The gain of `cnnc compile --tune` over the untuned build of the same network: both trainers built, then their
# training epochs run interleaved (untuned, tuned, untuned, ...) so that machine drift falls on both alike. Not part
# of the test suite or CI.
#
#   RUNS=5 BATCH=64 IMAGES=12800 THREADS=1 TUNE_SECONDS=20 bash Benchmarks/tune.sh mnist002
# The Fashion-MNIST nets read Fashion-MNIST; a 32x32x3 net (resnet8) reads random images written once to a CSV
# file, as Benchmarks/compare.sh does. The tuned package keeps its tuning.json in .build-bench/NET-tuned/.
set -euo pipefail
cd "$(dirname "$0")/.."
net=${1:-mnist002}
runs=${RUNS:-5}
batch=${BATCH:-64}
images=${IMAGES:-12800}
threads=${THREADS:-1}
seconds=${TUNE_SECONDS:-20}
work=.build-bench
data=/usr/share/datasets/fashion-mnist

mkdir -p "$work"
if grep -q '^input 32x32x3' "Examples/$net.cnn"; then
  data=$work/random-32x32x3-$images.csv
  if [ ! -s "$data" ]; then
    python3 Benchmarks/random_images.py "$images" > "$data.part"
    mv "$data.part" "$data"
  fi
fi

swift build -c release --product cnnc >/dev/null
cnnc=$(swift build -c release --show-bin-path)/cnnc
"$cnnc" compile "Examples/$net.cnn" --target cpu -o "$work/$net-untuned" --force >/dev/null
"$cnnc" compile "Examples/$net.cnn" --target cpu -o "$work/$net-tuned" --force --tune --tune-seconds "$seconds" >&2
for v in untuned tuned; do swift build -c release --package-path "$work/$net-$v" >/dev/null; done

untuned=(); tuned=()
for ((r = 0; r < runs; r++)); do
  for v in untuned tuned; do
    "$work/$net-$v/.build/release/train" --data "$data" --limit "$images" --epochs 1 --batch "$batch" \
      --threads "$threads" --metrics "$work/tune.json" >/dev/null 2>&1
    speed=$(python3 -c 'import json; print(json.load(open("'"$work"'/tune.json"))["epochs"][0]["images_per_second"])')
    if [ $v = untuned ]; then untuned+=("$speed"); else tuned+=("$speed"); fi
  done
done
python3 - "$net" "$batch" "$threads" "${#untuned[@]}" "${untuned[@]}" "${tuned[@]}" <<'PY'
import statistics, sys
net, batch, threads, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
untuned = [float(v) for v in sys.argv[5:5 + n]]
tuned = [float(v) for v in sys.argv[5 + n:]]
ratios = sorted(b / a for a, b in zip(untuned, tuned))
print(f"{net}, batch {batch}, {threads} thread(s), {n} interleaved runs (training images/s, median and range)")
print(f"  untuned  {statistics.median(untuned):8.0f}  ({min(untuned):.0f}-{max(untuned):.0f})")
print(f"  tuned    {statistics.median(tuned):8.0f}  ({min(tuned):.0f}-{max(tuned):.0f})")
print(f"  gain     {statistics.median(ratios):8.3f}x ({ratios[0]:.3f}-{ratios[-1]:.3f}, per run pair)")
PY
