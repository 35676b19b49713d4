#!/usr/bin/env bash
# Installs the system packages cnnc and its generated trainers need, idempotently.
# Debian 12: Vulkan loader and headers, shaderc and glslang (static archives), glslc,
# Mesa's lavapipe driver, the Khronos validation layer, zlib, libpng, Fashion-MNIST, and Graphviz
# (`cnnc graph --format svg`), and Open MPI (`cnnc compile --distributed mpi`: mpi.h, libmpi and mpirun).
set -euo pipefail

packages=(
  zlib1g-dev libpng-dev
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libshaderc-dev glslang-dev spirv-tools glslc
  dataset-fashion-mnist
  graphviz
  libopenmpi-dev openmpi-bin
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all system packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
