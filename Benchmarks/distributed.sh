#!/usr/bin/env bash
# Data-parallel speed on one machine: training images/s of mnist002 as 2 MPI ranks x 1 thread
# (`cnnc compile --distributed mpi`, mpirun -np 2) against 1 process x 2 threads (the plain package), and 1 rank
# x 1 thread, runs interleaved so that machine drift cancels out (issue #16's bar: 2 ranks reach 90% of 1 process
# with 2 threads). Also prints what the projection in the README needs: parameters, bytes per step, step time.
# Not part of the test suite or CI. CNNC=path/to/cnnc skips building cnnc.
#
#   RUNS=3 IMAGES=12800 BATCH=64 bash Benchmarks/distributed.sh [mnist002]
set -euo pipefail
cd "$(dirname "$0")/.."
net=${1:-mnist002}
runs=${RUNS:-3}
batch=${BATCH:-64}
images=${IMAGES:-12800}
work=.build-bench
data=/usr/share/datasets/fashion-mnist
root=(); if [ "$(id -u)" -eq 0 ]; then root=(--allow-run-as-root); fi

if [ -z "${CNNC:-}" ]; then
  swift build -c release --product cnnc >/dev/null
  CNNC=$(swift build -c release --show-bin-path)/cnnc
fi
mkdir -p "$work"
"$CNNC" compile "Examples/$net.cnn" --target cpu -o "$work/$net-cpu" >/dev/null
"$CNNC" compile "Examples/$net.cnn" --target cpu --distributed mpi -o "$work/$net-mpi" >/dev/null
swift build -c release --package-path "$work/$net-cpu" >/dev/null
swift build -c release --package-path "$work/$net-mpi" >/dev/null

common=(--data "$data" --limit "$images" --epochs 1 --batch "$batch" --metrics "$work/distributed.json")
speed() {  # images/s of one epoch: $1 = plain|mpi, $2 = ranks, $3 = threads
  if [ "$1" = plain ]; then
    "$work/$net-cpu/.build/release/train" "${common[@]}" --threads "$3" >/dev/null 2>&1
  else
    mpirun "${root[@]}" -np "$2" "$work/$net-mpi/.build/release/train" "${common[@]}" --threads "$3" </dev/null >/dev/null 2>&1
  fi
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["epochs"][0]["images_per_second"])' \
    "$work/distributed.json"
}
plain2=(); ranks2=(); ranks1=()
for ((r = 0; r < runs; r++)); do
  plain2+=("$(speed plain 1 2)")
  ranks2+=("$(speed mpi 2 1)")
  ranks1+=("$(speed mpi 1 1)")
done
params=$("$work/$net-cpu/.build/release/train" --help | sed -n 's/.* \([0-9]*\) parameters.*/\1/p')
python3 - "$net" "$batch" "$runs" "$params" "${plain2[@]}" "${ranks2[@]}" "${ranks1[@]}" <<'PY'
import statistics, sys
net, batch, n, params = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
v = [float(x) for x in sys.argv[5:]]
plain2, ranks2, ranks1 = v[:n], v[n:2 * n], v[2 * n:]
m = statistics.median
print(f"{net}, batch {batch}, {n} interleaved runs each (median images/s; all runs):")
print(f"  1 process x 2 threads  {m(plain2):8.0f}   {' '.join(f'{x:.0f}' for x in plain2)}")
print(f"  2 ranks x 1 thread     {m(ranks2):8.0f}   {' '.join(f'{x:.0f}' for x in ranks2)}")
print(f"  1 rank x 1 thread      {m(ranks1):8.0f}   {' '.join(f'{x:.0f}' for x in ranks1)}")
print(f"  2 ranks / 1 process x 2 threads: {100 * m(ranks2) / m(plain2):.1f}%")
grad = params * 4
print(f"  parameters {params}, gradient {grad / 1e6:.2f} MB; per step each of N ranks sends and receives "
      f"about 2 (N-1)/N x {grad / 1e6:.2f} MB")
print(f"  step time of 1 rank x 1 thread at batch {batch}: {1e3 * batch / m(ranks1):.1f} ms")
PY
