#!/usr/bin/env bash
# Training and inference throughput of cnnc's CPU target, and its share of the machine's FMA peak.
#
#   bash Benchmarks/run.sh [NET.cnn ...]       (default: Examples/mnist002.cnn)
#   BATCHES="32 64 128" RUNS=5 LIMIT=12800 THREADS=2 bash Benchmarks/run.sh Examples/mnist002.cnn Examples/lenet5.cnn
#
# For each network: compile with cnnc, build the trainer in release mode, then RUNS times per batch size train one
# epoch over the first LIMIT Fashion-MNIST images (training images/s from the trainer's metrics: evaluation
# excluded, batch gathering included). Right before each run, Benchmarks/fmapeak.c measures the FMA peak on the
# same threads, so that each run's share of the peak is taken against the machine as it was then (this kind of
# machine drifts by a third over minutes). Prints the median and range of images/s, the GFLOP/s of the median
# (training FLOPs per image from `cnnc report`), and the median of the per-run shares of the peak. Then the
# forward-only (inference) images/s at batch INFER_BATCH (default 256) over the 10,000 test images, median of RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(Examples/mnist002.cnn)
batches=${BATCHES:-64}
runs=${RUNS:-5}
limit=${LIMIT:-12800}
threads=${THREADS:-$(nproc)}
infer_batch=${INFER_BATCH:-256}
data=${DATA:-/usr/share/datasets/fashion-mnist}
work=.build-bench
mkdir -p "$work"

[ -d "$data" ] || { echo "error: no data at $data (run scripts/setup.sh)" >&2; exit 1; }
swift build -c release --product cnnc >/dev/null
cnnc=$(swift build -c release --show-bin-path)/cnnc
cc -O2 -march=native -pthread Benchmarks/fmapeak.c -o "$work/fmapeak"
metric() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$work/metrics.json" "$1"; }

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $threads threads;" \
     "fp32 FMA peak now $("$work/fmapeak" "$threads") GFLOP/s (Benchmarks/fmapeak.c)"
printf '%-10s %5s %12s %18s %9s %12s %10s\n' network batch "img/s (med)" "range" "GFLOP/s" "peak (med)" "share"

for net in "${nets[@]}"; do
  name=$(basename "$net" .cnn)
  flops=$("$cnnc" report "$net" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["training_flops"])')
  "$cnnc" compile "$net" --target cpu -o "$work/$name-cpu" >/dev/null
  swift build -c release --package-path "$work/$name-cpu" >/dev/null
  train="$work/$name-cpu/.build/release/train"
  for batch in $batches; do
    results=()
    for ((r = 0; r < runs; r++)); do
      peak=$("$work/fmapeak" "$threads" 5)
      "$train" --data "$data" --limit "$limit" --epochs 1 --batch "$batch" --threads "$threads" \
        --metrics "$work/metrics.json" >/dev/null 2>&1
      results+=("$(metric 'm["epochs"][0]["images_per_second"]'):$peak")
    done
    python3 - "$name" "$batch" "$flops" "${results[@]}" <<'PY'
import statistics, sys
name, batch, flops = sys.argv[1], sys.argv[2], float(sys.argv[3])
runs = [tuple(float(v) for v in r.split(":")) for r in sys.argv[4:]]
ips = sorted(r[0] for r in runs)
peaks = [r[1] for r in runs]
shares = [ips_ * flops * 1e-9 / peak for ips_, peak in runs]
med = statistics.median(ips)
print(f"{name:<10} {batch:>5} {med:12.0f} {ips[0]:8.0f}-{ips[-1]:<9.0f} {med * flops * 1e-9:9.1f} "
      f"{statistics.median(peaks):12.1f} {100 * statistics.median(shares):9.1f}%")
PY
  done
  inference=()
  for ((r = 0; r < runs; r++)); do
    "$train" --data "$data" --epochs 0 --batch "$infer_batch" --threads "$threads" --metrics "$work/metrics.json" >/dev/null 2>&1
    inference+=("$(metric 'm["final"]["inference_images_per_second"]')")
  done
  python3 - "$name" "$infer_batch" "${inference[@]}" <<'PY'
import statistics, sys
ips = sorted(float(v) for v in sys.argv[3:])
print(f"{sys.argv[1]:<10} {sys.argv[2]:>5} {statistics.median(ips):12.0f} {ips[0]:8.0f}-{ips[-1]:<9.0f}  inference (forward only, test set)")
PY
done
