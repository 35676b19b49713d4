#!/usr/bin/env bash
# This checkout's CPU trainer against an earlier revision's, on the same network, data, batch and thread count,
# runs interleaved so that machine drift cancels out: the check that a restructuring did not cost speed.
# Not part of the test suite or CI.
#
#   REV=5092e6f RUNS=5 THREADS=1 bash Benchmarks/versus.sh mnist002 lenet5
#
# Builds REV's cnnc in a detached worktree under .build-bench/ (once per revision), compiles each network with
# both compilers, builds both trainers in release mode, then RUNS times trains each for one epoch over the first
# IMAGES Fashion-MNIST images, alternating which goes first. Prints the median and range of training images/s
# (the trainer's metrics: evaluation excluded, batch gathering included) and of inference images/s (the final
# evaluation over the 10,000 test images at the same batch), and the median of the per-run ratios new/old.
set -euo pipefail
cd "$(dirname "$0")/.."
nets=("$@")
[ ${#nets[@]} -gt 0 ] || nets=(mnist002)
rev=${REV:-5092e6f}
runs=${RUNS:-5}
batch=${BATCH:-64}
images=${IMAGES:-12800}
threads=${THREADS:-$(nproc)}
data=${DATA:-/usr/share/datasets/fashion-mnist}
work=.build-bench
[ -d "$data" ] || { echo "error: no data at $data (run scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$work"

base="$work/base-$(git rev-parse --short "$rev")"
[ -d "$base" ] || git worktree add --detach "$base" "$rev" >/dev/null
(cd "$base" && swift build -c release --product cnnc >/dev/null)
old_cnnc=$(cd "$base" && swift build -c release --show-bin-path)/cnnc
swift build -c release --product cnnc >/dev/null
new_cnnc=$(swift build -c release --show-bin-path)/cnnc

metric() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

for net in "${nets[@]}"; do
  for side in old new; do
    cnnc_var=${side}_cnnc
    rm -rf "$work/$net-$side"
    "${!cnnc_var}" compile "Examples/$net.cnn" --target cpu -o "$work/$net-$side" >/dev/null
    swift build -c release --package-path "$work/$net-$side" >/dev/null
  done
  declare -A train=() infer=()
  for ((r = 0; r < runs; r++)); do
    order=(old new)
    ((r % 2)) && order=(new old)
    for side in "${order[@]}"; do
      "$work/$net-$side/.build/release/train" --data "$data" --limit "$images" --epochs 1 --batch "$batch" \
        --threads "$threads" --metrics "$work/versus.json" >/dev/null 2>&1
      train[$side]+="$(metric "$work/versus.json" 'm["epochs"][0]["images_per_second"]') "
      infer[$side]+="$(metric "$work/versus.json" 'm["final"]["inference_images_per_second"]') "
    done
  done
  python3 - "$net" "$batch" "$threads" "$runs" "$rev" "${train[old]}" "${train[new]}" "${infer[old]}" \
    "${infer[new]}" <<'PY'
import statistics, sys
net, batch, threads, runs, rev = sys.argv[1:6]
old_t, new_t, old_i, new_i = ([float(v) for v in a.split()] for a in sys.argv[6:10])
print(f"{net}, batch {batch}, {threads} threads, {runs} interleaved runs (images/s, median and range)")
for what, old, new in (("training", old_t, new_t), ("inference", old_i, new_i)):
    ratios = sorted(b / a for a, b in zip(old, new))
    print(f"  {what:9}  {rev:>8} {statistics.median(old):8.0f} ({min(old):.0f}-{max(old):.0f})"
          f"   this {statistics.median(new):8.0f} ({min(new):.0f}-{max(new):.0f})"
          f"   new/old {statistics.median(ratios):.3f} ({ratios[0]:.3f}-{ratios[-1]:.3f})")
PY
  unset train infer
done
