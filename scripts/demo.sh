#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build cnnc, print the report of the built-in
# default network, compile it for the CPU, build the generated trainer and train it for one epoch on
# Fashion-MNIST. NET=path/to/net.cnn EPOCHS=N override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
net=${NET:-Examples/mnist002.cnn}
epochs=${EPOCHS:-1}
name=$(basename "$net" .cnn)
out=.build-demo/$name-cpu
# Results live beside the package, not in it: the package folder holds what cnnc generated (and .build).
results=.build-demo/$name-results

bash scripts/setup.sh
swift build -c release --product cnnc
cnnc=$(swift build -c release --show-bin-path)/cnnc

echo; echo "== cnnc report $net"
"$cnnc" report "$net"
echo; echo "== cnnc compile $net --target cpu -o $out"
mkdir -p .build-demo "$results"
"$cnnc" compile "$net" --target cpu -o "$out"
swift build -c release --package-path "$out"
echo; echo "== $out/.build/release/train --data /usr/share/datasets/fashion-mnist --epochs $epochs"
"$out/.build/release/train" --data /usr/share/datasets/fashion-mnist --epochs "$epochs" --metrics "$results/metrics.json"
