#!/usr/bin/env bash
# Training throughput of cnnc's CPU target, and its share of the machine's FMA peak.
#
#   bash Benchmarks/run.sh [NET.cnn ...]       (default: Examples/mnist002.cnn)
#   BATCHES="32 64 128" RUNS=5 LIMIT=12800 bash Benchmarks/run.sh
#
# For each network: compile with cnnc, build the trainer in release mode, train one epoch over the first LIMIT
# Fashion-MNIST images RUNS times per batch size, and print the median and range of the training images/s
# (from the trainer's metrics: evaluation excluded), the GFLOP/s that makes with the network's training FLOPs
# per image (cnnc report), and the share of the FMA peak measured by Benchmarks/fmapeak.c on all cores.
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(Examples/mnist002.cnn)
batches=${BATCHES:-64}
runs=${RUNS:-5}
limit=${LIMIT:-12800}
threads=${THREADS:-$(nproc)}
data=${DATA:-/usr/share/datasets/fashion-mnist}
work=.build-bench
mkdir -p "$work"

[ -d "$data" ] || { echo "error: no data at $data (run scripts/setup.sh)" >&2; exit 1; }
swift build -c release --product cnnc >/dev/null
cnnc=$(swift build -c release --show-bin-path)/cnnc
cc -O2 -march=native -pthread Benchmarks/fmapeak.c -o "$work/fmapeak"
peak=$("$work/fmapeak" "$threads")
echo "machine: $(nproc) cores, fp32 FMA peak $peak GFLOP/s on $threads threads (Benchmarks/fmapeak.c)"
printf '%-10s %5s %12s %18s %9s %7s\n' network batch "img/s (med)" "range" "GFLOP/s" "peak"

for net in "${nets[@]}"; do
  name=$(basename "$net" .cnn)
  flops=$("$cnnc" report "$net" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["training_flops"])')
  "$cnnc" compile "$net" --target cpu -o "$work/$name-cpu" >/dev/null
  swift build -c release --package-path "$work/$name-cpu" >/dev/null
  for batch in $batches; do
    results=()
    for ((r = 0; r < runs; r++)); do
      "$work/$name-cpu/.build/release/train" --data "$data" --limit "$limit" --epochs 1 --batch "$batch" \
        --threads "$threads" --metrics "$work/metrics.json" >/dev/null 2>&1
      results+=("$(python3 -c 'import json; print(json.load(open("'"$work"'/metrics.json"))["epochs"][0]["images_per_second"])')")
    done
    python3 - "$name" "$batch" "$flops" "$peak" "${results[@]}" <<'PY'
import statistics, sys
name, batch, flops, peak = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
ips = sorted(float(x) for x in sys.argv[5:])
med = statistics.median(ips)
gflops = med * flops * 1e-9
print(f"{name:<10} {batch:>5} {med:12.0f} {ips[0]:8.0f}-{ips[-1]:<9.0f} {gflops:9.1f} {100 * gflops / peak:6.1f}%")
PY
  done
done
