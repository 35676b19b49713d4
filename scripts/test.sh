#!/usr/bin/env bash
# The whole test suite on a fresh machine: system packages (idempotent), then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build --build-tests
swift test --skip-build
